//! The detail view's 7-day window in the real binary (issue 13 §6): `]` past 24 h switches the
//! charts to 7 days, read off the loop (the model's week on the simulated fleet), drawn with the
//! days on the x axis; `[` goes back to 24 h.

mod support;

use support::pty::{assert_restored, Session};

#[test]
fn the_window_key_switches_the_detail_charts_to_7_days_and_back() {
    let mut s = Session::start(
        &[
            "--seed",
            "5",
            "--start",
            "2026-11-22T12:00:00Z",
            "--no-mouse",
        ],
        40,
        160,
    );
    s.wait_all(&["eu-west-1", "us-east-1", "ap-southeast-1"]);
    s.send(b"\r");
    s.wait_all(&["[1h]", " 5xx % "]);
    s.send(b"]");
    s.wait_for("the 6 h window", |t| t.contains("[6h]"));
    s.send(b"]");
    s.wait_for("the 24 h window", |t| t.contains("[24h]"));
    s.send(b"]");
    // The week that ends at 12:00 on Sunday 22 November, read: its tab line and charts with the
    // days (Sunday 15th … Sunday 22nd) on the axis.
    let week = s.wait_for("the 7-day charts", |t| {
        t.contains("[7d]")
            && t.contains("to Sun 12:00 UTC · read Sun 12:")
            && t.contains(" 5xx % ")
            && t.contains("Sun 15")
            && t.contains("Sun 22")
    });
    assert!(!week.contains("reading the 7 days"), "{week}");
    s.send(b"[");
    s.wait_for("back to 24 h", |t| {
        t.contains("[24h]") && !t.contains("Sun 15") && !t.contains("read Sun")
    });
    s.send(b"q");
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    assert_restored(&s);
}
