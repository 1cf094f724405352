//! The real console in a pseudo-terminal on KALDRIX (issue 8): the primary's region goes down,
//! the what-if shows the promotion by the failover order, `P` promotes us-west-2's replica, and
//! writes are restored — the result and the event log say when the promotion was accepted and
//! when it settled (what drills measure RTO with), as the audit's ended record does.

mod support;

use chrono::{DateTime, Utc};
use support::pty::Session;

#[test]
fn primary_outage_what_if_promote_and_writes_restored_with_the_settle_time() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    // 20 virtual seconds a second: the promoted instance's minute of "modifying" passes in a few
    // real seconds, and every wait below is for a whole condition.
    let args = [
        "--fleet",
        "fleets/kaldrix.toml",
        "--sim",
        "--seed",
        "7",
        "--start",
        "2026-11-22T14:00:00Z",
        "--speed",
        "20",
        "--no-mouse",
        "--audit-log",
        audit.to_str().unwrap(),
    ];
    let mut s = Session::start_with(&args, 40, 150, &[("USER", "oncall".to_string())]);
    s.wait_all(&["us-east-1", "us-west-2", "eu-west-1"]);
    // `4`: an outage in the focused region, the primary's.
    s.send(b"4");
    s.wait_all(&["writes down since"]);
    s.send(b"w");
    s.wait_all(&[
        "what-if: us-east-1 fails now",
        "WRITES    down since",
        "PROMOTE   kaldrix-production-db-usw2 in us-west-2",
    ]);
    s.send(b"\x1b");
    s.wait_gone("what-if: us-east-1 fails now");
    // The next region is us-west-2: promote its replica.
    s.send(b"\tP");
    s.wait_all(&[
        "plan: promote the replica in us-west-2",
        "type us-west-2 to run",
    ]);
    s.send(b"us-west-2\r");
    let result = s.wait_all(&["result: applied", "settled at"]);
    assert!(result.contains("accepted at"), "{result}");
    // The ended record is written before the result is shown.
    let lines = std::fs::read_to_string(&audit).unwrap();
    let ended: serde_json::Value = serde_json::from_str(lines.lines().last().unwrap()).unwrap();
    assert_eq!(ended["phase"], "ended", "{lines}");
    assert_eq!(ended["op"]["kind"], "promote");
    assert_eq!(ended["result"]["status"], "applied");
    let time = |k: &str| -> DateTime<Utc> {
        ended[k]
            .as_str()
            .unwrap_or_else(|| panic!("{k}: {ended}"))
            .parse()
            .unwrap()
    };
    let (accepted, settled) = (time("accepted_at"), time("settled_at"));
    // The model's instance is "modifying" for a minute after PromoteReadReplica.
    let took = (settled - accepted).num_seconds();
    assert!((60..=90).contains(&took), "settled {took} s after accepted");
    let settle_line = format!(
        "promote the replica in us-west-2: applied: accepted at {}, settled at {} (after {took} s)",
        accepted.format("%H:%M:%S UTC"),
        settled.format("%H:%M:%S UTC")
    );
    // Writes are restored: the status line no longer says they are down.
    s.send(b"\x1b");
    s.wait_gone("result: applied");
    s.wait_gone("writes down");
    // The event log holds when it was accepted and when it settled.
    s.send(b"e");
    s.wait_all(&[
        &settle_line,
        "promote the replica in us-west-2: accepted at",
    ]);
    s.send(b"q");
    assert!(s.wait_exit().success(), "opsdeck quits");
    support::pty::assert_restored(&s);
}
