//! The real console in a pseudo-terminal: drain the focused region from the keyboard. Keys typed
//! into the confirmation are text, not bindings ("q" does not quit); the result and the audit log
//! show the operation, and the audit file holds its two records.

mod support;

use support::pty::Session;

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
    // Every wait is for the whole screen the next step relies on; a key is sent only once the
    // screen shows that the key before it was taken (so Esc and the next key never arrive
    // together, which a terminal reads as Alt+key).
    s.wait_all(&["ap-southeast-1"]);
    s.send(b"d");
    // The survivors would be over their rated capacity: that override is typed first.
    s.wait_all(&[
        "plan: drain eu-west-1",
        "survivor-capacity blocks; type survivor-capacity to override it",
    ]);
    s.send(b"survivor-capacity\r");
    s.wait_all(&["type eu-west-1 to run"]);
    // Typed text is not a binding: "q" lands in the input, and a wrong name runs nothing.
    s.send(b"q\r");
    s.wait_all(&["`q` does not match `eu-west-1`: nothing ran"]);
    assert!(
        s.child.try_wait().unwrap().is_none(),
        "q in the dialog must not quit"
    );
    assert!(!audit.exists(), "nothing was recorded: nothing ran");
    s.send(b"eu-west-1\r");
    let undo = "undo (u): restore eu-west-1 to weight 100";
    s.wait_all(&["result: applied", undo]);
    s.send(b"\x1b");
    s.wait_gone(undo);
    s.send(b"a");
    s.wait_all(&[
        "audit log · 2 records",
        "drain eu-west-1",
        "oncall (simulated fleet)",
    ]);
    s.send(b"\x1b");
    s.wait_gone("audit log · 2 records");
    s.send(b"q");
    assert!(s.wait_exit().success(), "opsdeck quits");
    support::pty::assert_restored(&s);
    let lines = std::fs::read_to_string(&audit).unwrap();
    assert_eq!(lines.lines().count(), 2, "{lines}");
    assert!(
        lines.contains("\"phase\":\"requested\"") && lines.contains("\"status\":\"applied\""),
        "{lines}"
    );
}
