//! The real console in a pseudo-terminal: drain the focused region from the keyboard. Keys typed
//! into the confirmation are text, not bindings ("q" does not quit); the result and the audit log
//! show the operation, and the audit file holds its two records.

mod support;

use support::pty::Session;

/// Wait until the screen shows `what`.
fn wait(s: &Session, what: &str) -> String {
    s.wait_for(what, |t| t.contains(what))
}

/// Send keys and give the console a moment to take them.
fn send(s: &mut Session, bytes: &[u8]) {
    s.send(bytes);
    std::thread::sleep(std::time::Duration::from_millis(100));
}

#[test]
fn drain_from_the_keyboard_with_a_typed_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let args = [
        "--seed",
        "5",
        "--start",
        "2026-11-22T14:00:00Z",
        "--no-mouse",
        "--audit-log",
        audit.to_str().unwrap(),
    ];
    let envs = [("USER", "oncall".to_string())];
    let mut s = Session::start_with(&args, 40, 120, &envs);
    wait(&s, "ap-southeast-1");
    send(&mut s, b"d");
    wait(&s, "plan: drain eu-west-1");
    wait(&s, "type eu-west-1 to run");
    // Typed text is not a binding: "q" lands in the input, and a wrong name runs nothing.
    send(&mut s, b"q\r");
    wait(&s, "`q` does not match `eu-west-1`: nothing ran");
    assert!(
        s.child.try_wait().unwrap().is_none(),
        "q in the dialog must not quit"
    );
    assert!(!audit.exists(), "nothing was recorded: nothing ran");
    send(&mut s, b"eu-west-1\r");
    wait(&s, "result: applied");
    wait(&s, "undo (u): restore eu-west-1 to weight 100");
    send(&mut s, b"\x1b");
    send(&mut s, b"a");
    let log = wait(&s, "audit log · 2 records");
    assert!(
        log.contains("drain eu-west-1") && log.contains("oncall (simulated fleet)"),
        "{log}"
    );
    send(&mut s, b"\x1b");
    send(&mut s, b"q");
    assert!(s.wait_exit().success(), "opsdeck quits");
    support::pty::assert_restored(&s);
    let lines = std::fs::read_to_string(&audit).unwrap();
    assert_eq!(lines.lines().count(), 2, "{lines}");
    assert!(
        lines.contains("\"phase\":\"requested\"") && lines.contains("\"status\":\"applied\""),
        "{lines}"
    );
}
