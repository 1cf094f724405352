//! A drill on the command line in a pseudo-terminal: a manual step asks on the terminal; `d`
//! records it done, `a` aborts the drill, which rolls back what it changed.

mod support;

use serde_json::Value;
use support::drill::START;
use support::pty::Session;

fn drill(report: &std::path::Path) -> Session {
    Session::start(
        &[
            "drill",
            "run",
            "fleets/drills/crypto-erp-promotion.toml",
            "--start",
            START,
            "--report",
            report.to_str().unwrap(),
        ],
        40,
        160,
    )
}

fn read(report: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap()
}

const PROMPT: &str = "[d]one / [s]kip / [a]bort";

#[test]
fn a_manual_step_ticked_on_the_terminal_is_recorded_done() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let mut s = drill(&report);
    let screen = s.wait_for("the manual step's prompt", |c| c.contains(PROMPT));
    assert!(screen.contains("MANUAL STEP `point the application at the new primary`"));
    s.send(b"d\r");
    assert!(s.wait_exit().success(), "{}", s.contents());
    let r = read(&report);
    assert_eq!(r["verdict"], "pass", "{r:#}");
    let manual = &r["steps"][3];
    assert_eq!(manual["kind"], "manual");
    assert_eq!(manual["result"], "ok");
}

#[test]
fn aborting_at_a_manual_step_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let mut s = drill(&report);
    s.wait_for("the manual step's prompt", |c| c.contains(PROMPT));
    s.send(b"a\r");
    let status = s.wait_exit();
    assert_eq!(status.exit_code(), 1, "{}", s.contents());
    let r = read(&report);
    assert_eq!(r["verdict"], "aborted", "{r:#}");
    assert!(r["reasons"][0]
        .as_str()
        .unwrap()
        .contains("aborted by the operator"));
    assert!(r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["name"] != "recovered"));
    // Newest first: the DNS change is undone through the pipeline (its guards judge the restore
    // of a region that is still down), the promotion is listed as one-way.
    let rollback: Vec<(&str, &str)> = r["rollback"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["step"].as_str().unwrap(), x["result"].as_str().unwrap()))
        .collect();
    assert_eq!(rollback.len(), 2, "{r:#}");
    assert_eq!(rollback[0].0, "point DNS away from eu-west-1");
    assert_eq!(rollback[1], ("promote crypto-erp-replica-us", "one-way"));
    assert!(r["rollback"][0]["undo_of"] == r["steps"][2]["audit_id"]);
}

/// Ctrl-C while the drill waits at a manual step: the drill ends `interrupted` (exit 1), nothing
/// is rolled back (the next `--mode rollback` does that), and the timeline's last event says so.
#[test]
fn ctrl_c_at_a_manual_step_ends_the_drill_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let mut s = drill(&report);
    s.wait_for("the manual step's prompt", |c| c.contains(PROMPT));
    // The terminal's interrupt character: the line discipline sends SIGINT to opsdeck.
    s.send(b"\x03");
    let status = s.wait_exit();
    assert_eq!(status.exit_code(), 1, "{}", s.contents());
    let r = read(&report);
    assert_eq!(r["verdict"], "interrupted", "{r:#}");
    assert!(
        r["reasons"][0].as_str().unwrap().contains("interrupted"),
        "{r:#}"
    );
    assert!(r["rollback"].as_array().unwrap().is_empty(), "{r:#}");
    let manual = &r["steps"][3];
    assert_eq!(manual["name"], "point the application at the new primary");
    assert_ne!(manual["result"], "ok", "{r:#}");
    let timeline = std::fs::read_to_string(r["timeline"].as_str().unwrap()).unwrap();
    let last: Value = serde_json::from_str(timeline.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "drill_end");
    assert_eq!(last["verdict"], "interrupted");
}
