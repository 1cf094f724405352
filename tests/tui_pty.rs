//! The real binary in a pseudo-terminal: start, navigate, open help, resize, quit — and the
//! terminal is restored.

mod support;

use support::pty::{assert_restored, size, Session};

#[test]
fn start_navigate_help_resize_quit() {
    let mut s = Session::start(
        &[
            "--seed",
            "5",
            "--start",
            "2026-11-22T12:00:00Z",
            "--no-mouse",
        ],
        30,
        100,
    );
    let first = s.wait_for("the overview with three regions", |t| {
        t.contains("eu-west-1")
            && t.contains("us-east-1")
            && t.contains("ap-southeast-1")
            && t.contains("p99")
    });
    assert!(
        first.contains("atlas-crm"),
        "status line names the fleet:\n{first}"
    );

    // navigate: next region, open its detail view
    s.send(b"\t");
    s.send(b"\r");
    s.wait_for("detail view of us-east-1", |t| {
        t.contains("us-east-1") && !t.contains("ap-southeast-1") && t.contains("15m")
    });
    s.send(b"\x1b");
    s.wait_for("back on the overview", |t| t.contains("ap-southeast-1"));

    // help overlay from the keymap
    s.send(b"?");
    let help = s.wait_for("help overlay", |t| t.contains("show / hide this help"));
    assert!(
        help.contains("focus next region") && help.contains("quit"),
        "help lists the keymap's actions:\n{help}"
    );
    s.send(b"?");
    s.wait_for("help closed", |t| !t.contains("show / hide this help"));

    // resize: the frame is redrawn at the new size
    s.master.resize(size(45, 150)).unwrap();
    s.screen.lock().unwrap().parser.set_size(45, 150);
    s.wait_for("a redraw that uses the wider screen", |t| {
        t.lines().any(|l| l.trim_end().chars().count() > 100)
    });

    s.send(b"q");
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    assert_restored(&s);
}

#[test]
fn terminal_restored_on_sigterm() {
    let mut s = Session::start(&["--seed", "5", "--start", "2026-11-22T12:00:00Z"], 24, 80);
    s.wait_for("the overview", |t| t.contains("eu-west-1"));
    let pid = s.child.process_id().expect("pid");
    let rc = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(rc.success());
    s.wait_exit();
    assert_restored(&s);
}

#[test]
fn ctrl_c_quits_with_the_vim_keymap_too() {
    let mut s = Session::start(
        &["--keymap", "vim", "--start", "2026-11-22T12:00:00Z"],
        24,
        80,
    );
    s.wait_for("the overview", |t| t.contains("eu-west-1"));
    s.send(b"\x03");
    assert!(s.wait_exit().success());
    assert_restored(&s);
}
