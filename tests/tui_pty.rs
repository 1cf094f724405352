//! The real binary in a pseudo-terminal: start, navigate, open help, resize, quit — and the
//! terminal is restored.

mod support;

use support::pty::{assert_restored, Session};

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
    // Three regions, and the status line names the fleet.
    s.wait_all(&[
        "eu-west-1",
        "us-east-1",
        "ap-southeast-1",
        "p99",
        "atlas-crm",
    ]);

    // navigate: next region, open its detail view
    s.send(b"\t");
    s.send(b"\r");
    s.wait_for("detail view of us-east-1", |t| {
        t.contains("us-east-1") && !t.contains("ap-southeast-1") && t.contains("15m")
    });
    s.send(b"\x1b");
    s.wait_for("back on the overview", |t| t.contains("ap-southeast-1"));

    // help overlay from the keymap: it lists the keymap's actions
    s.send(b"?");
    s.wait_all(&["show / hide this help", "focus next region", "quit"]);
    s.send(b"?");
    s.wait_gone("show / hide this help");

    // resize: the frame is redrawn at the new size
    s.resize(45, 150);
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

/// A theme or keymap file of the user's own that does not parse never keeps the console from
/// starting: the built-in default is used and the error, with file:line:column, is in the flash
/// line and the event log.
#[test]
fn a_broken_theme_or_keymap_file_of_your_own_falls_back_to_the_default() {
    let config = tempfile::tempdir().unwrap();
    for (sub, text) in [
        ("themes", "# mine\nok = \"nosuchcolour\"\n"),
        ("keymaps", "# mine\n[normal]\nnosuchaction = \"x\"\n"),
    ] {
        std::fs::create_dir_all(config.path().join(sub)).unwrap();
        std::fs::write(config.path().join(sub).join("mine.toml"), text).unwrap();
    }
    let envs = [(
        "OPSDECK_CONFIG",
        config.path().to_string_lossy().to_string(),
    )];
    let mut s = Session::start_with(
        &[
            "--theme",
            "mine",
            "--keymap",
            "mine",
            "--start",
            "2026-11-22T12:00:00Z",
            "--no-mouse",
        ],
        30,
        200,
        &envs,
    );
    // The console runs, and the flash line names the theme file's error and the fallback.
    s.wait_all(&[
        "ap-southeast-1",
        "mine.toml:2:",
        "using the built-in default theme",
    ]);
    // The event log has both, and the default keymap works (e opens the log).
    s.send(b"e");
    s.wait_all(&[
        "themes/mine.toml:2:",
        "using the built-in default theme",
        "keymaps/mine.toml:2:",
        "using the built-in default keymap",
    ]);
    s.send(b"q");
    assert!(s.wait_exit().success());
    assert_restored(&s);
}

/// The terminal goes away under a running console (its tmux server killed, its window closed):
/// the console ends without a panic, and its log file says it ended.
#[test]
fn a_dead_terminal_ends_the_console_quietly() {
    let s = Session::start(&["--start", "2026-11-22T12:00:00Z", "--no-mouse"], 24, 80);
    s.wait_all(&["eu-west-1", "ap-southeast-1"]);
    let mut gone = s.hang_up();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let status = loop {
        if let Some(status) = gone.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "opsdeck outlived its terminal"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let log = std::fs::read_to_string(gone.dir.path().join("opsdeck.log")).unwrap();
    assert_ne!(status.exit_code(), 101, "{status:?}\n{log}");
    assert!(!log.contains("panic"), "{log}");
    assert!(log.contains("opsdeck exiting"), "{log}");
}
