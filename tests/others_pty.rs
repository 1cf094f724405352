//! Who is doing what, in two real consoles (issue 10 §4): alice and bob each run opsdeck on one
//! fleet from one machine (one state directory, one audit log). Alice drains eu-west-1 and her
//! operation is held between execute and verify (a test hook): bob's console shows that she holds
//! the fleet's lease and what for; once her drain ends, bob's console shows its result.

mod support;

use opsdeck::ops::pipeline::HOLD_WHILE_FILE_ENV;
use support::pty::Session;

#[test]
fn a_second_console_shows_the_first_ones_lease_and_its_result() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let hold = dir.path().join("hold");
    std::fs::write(&hold, "").unwrap();
    let args = [
        "--seed",
        "5",
        "--start",
        "2026-11-22T14:00:00Z",
        "--no-mouse",
        "--audit-log",
        audit.to_str().unwrap(),
    ];
    let state = dir.path().to_str().unwrap().to_string();
    let mut alice = Session::start_with(
        &args,
        40,
        200,
        &[
            ("USER", "alice".to_string()),
            ("OPSDECK_STATE_DIR", state.clone()),
            (HOLD_WHILE_FILE_ENV, hold.to_str().unwrap().to_string()),
        ],
    );
    let mut bob = Session::start_with(
        &args,
        40,
        200,
        &[("USER", "bob".to_string()), ("OPSDECK_STATE_DIR", state)],
    );
    bob.wait_all(&["ap-southeast-1"]);
    alice.wait_all(&["ap-southeast-1"]);
    alice.send(b"d");
    alice.wait_all(&[
        "plan: drain eu-west-1",
        "survivor-capacity blocks; type survivor-capacity to override it",
    ]);
    alice.send(b"survivor-capacity\r");
    alice.wait_all(&["type eu-west-1 to run"]);
    alice.send(b"eu-west-1\r");
    // Accepted, and held before verify: she holds the lease, and bob's console says so.
    alice.wait_all(&["accepted at"]);
    let lease = "alice (simulated fleet) holds the lease: drain eu-west-1 since 14:0";
    bob.wait_all(&[lease]);
    std::fs::remove_file(&hold).unwrap();
    alice.wait_all(&["result: applied"]);
    // Her drain ended: bob's console shows what she did (the event log and the status line).
    let done = "alice (simulated fleet) drained eu-west-1";
    let screen = bob.wait_for("alice's result twice", |t| t.matches(done).count() >= 2);
    assert!(
        screen.contains(lease),
        "the lease stays in the event log:\n{screen}"
    );
    bob.send(b"q");
    assert!(bob.wait_exit().success(), "bob's opsdeck quits");
    alice.send(b"\x1b");
    alice.wait_gone("result: applied");
    alice.send(b"q");
    assert!(alice.wait_exit().success(), "alice's opsdeck quits");
}
