//! The drill walkthrough in the real console, in a pseudo-terminal (issue 12 §6): `D` lists the
//! runbooks beside the fleet file (only those of this fleet) on the live simulated fleet; the
//! Crypto-ERP promotion is opened and run step by step — each act step's plan confirmed by typing
//! its region, the manual step ticked — to its verdict; the timeline and the report it writes in
//! the state directory say what the panel said.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use support::pty::Session;

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("drills"))
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.to_string_lossy().ends_with(ext));
    v
}

/// The console on Crypto-ERP's simulated fleet, its state directory `state`, with `D` pressed,
/// the runbook opened and started, the outage injected and the promotion confirmed by typing its
/// region: the drill waits before its DNS step.
fn promoted(state: &Path) -> Session {
    // 30 virtual seconds a real second: the promotion's minute of "modifying" passes in two real
    // seconds; the waits below are for whole conditions, never for time.
    let args = [
        "--fleet",
        "fleets/crypto-erp.toml",
        "--sim",
        "--seed",
        "7",
        "--start",
        "2026-11-22T15:00:00Z",
        "--speed",
        "30",
        "--no-mouse",
    ];
    let envs = [
        ("USER", "oncall".to_string()),
        ("OPSDECK_STATE_DIR", state.display().to_string()),
    ];
    let mut s = Session::start_with(&args, 50, 160, &envs);
    s.wait_all(&["eu-west-1", "us-east-1"]);
    s.send(b"D");
    let list = s.wait_all(&[
        "RUNBOOKS",
        "crypto-erp: promote the US replica",
        "PAST RUNS",
    ]);
    // The runbooks of the other example fleets, in the same directory, are not this fleet's.
    assert!(!list.contains("kaldrix: "), "{list}");
    assert!(!list.contains("richesreach"), "{list}");
    s.send(b"\r");
    s.wait_all(&["drill: crypto-erp: promote the US replica", "enter start"]);
    s.send(b"\r");
    s.wait_all(&["NEXT  lose eu-west-1", "enter run next step"]);
    s.send(b"\r");
    s.wait_all(&["[✓] lose eu-west-1", "NEXT  promote crypto-erp-replica-us"]);
    s.send(b"\r");
    // The plan the pipeline made, and its typed confirmation.
    let confirm = s.wait_all(&[
        "CONFIRM  `promote crypto-erp-replica-us`",
        "type us-east-1 to run",
    ]);
    assert!(confirm.contains("since the failure"), "{confirm}");
    s.send(b"us-east-1\r");
    s.wait_all(&[
        "[✓] promote crypto-erp-replica-us",
        "NEXT  point DNS away from eu-west-1",
    ]);
    s
}

fn report(state: &Path) -> Value {
    let reports = files(state, ".json");
    assert_eq!(reports.len(), 1, "{reports:?}");
    serde_json::from_str(&std::fs::read_to_string(&reports[0]).unwrap()).unwrap()
}

#[test]
fn walkthrough_open_advance_tick_finish_writes_the_report() {
    let state = tempfile::tempdir().unwrap();
    let mut s = promoted(state.path());
    s.send(b"\r");
    s.wait_all(&[
        "CONFIRM  `point DNS away from eu-west-1`",
        "type eu-west-1 to run",
    ]);
    s.send(b"eu-west-1\r");
    s.wait_all(&[
        "[✓] point DNS away from eu-west-1",
        "NEXT  point the application at",
    ]);
    s.send(b"\r");
    s.wait_all(&[
        "MANUAL  `point the application at the new primary`",
        "t tick done",
    ]);
    s.send(b"t");
    s.wait_all(&[
        "[✓] point the application at the new primary",
        "NEXT  recovered",
    ]);
    s.send(b"\r");
    let end = s.wait_all(&["VERDICT PASS", "report "]);
    assert!(end.contains("[✓] recovered"), "{end}");

    let r = report(state.path());
    assert_eq!(r["verdict"], "pass", "{r:#}");
    assert_eq!(r["mode"], "simulation");
    let steps: Vec<(&str, &str)> = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["name"].as_str().unwrap(), x["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [
            ("lose eu-west-1", "ok"),
            ("promote crypto-erp-replica-us", "ok"),
            ("point DNS away from eu-west-1", "ok"),
            ("point the application at the new primary", "ok"),
            ("recovered", "ok"),
        ]
    );
    assert_eq!(r["steps"][3]["kind"], "manual");
    // Both act steps went through the pipeline: each has its audit record.
    assert!(r["steps"][1]["audit_id"].is_string(), "{r:#}");
    assert!(r["steps"][2]["audit_id"].is_string(), "{r:#}");
    let rto = r["measured"]["rto_s"].as_f64().unwrap();
    assert!(
        rto > 0.0 && rto <= r["objectives"]["rto_s"].as_f64().unwrap(),
        "{r:#}"
    );
    // The Markdown report beside it says the same verdict; the timeline ends with it.
    let md = files(state.path(), ".md");
    assert_eq!(md.len(), 1);
    assert!(std::fs::read_to_string(&md[0])
        .unwrap()
        .contains("**Verdict: PASS**"));
    let timeline = std::fs::read_to_string(r["timeline"].as_str().unwrap()).unwrap();
    let last: Value = serde_json::from_str(timeline.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "drill_end");
    assert_eq!(last["verdict"], "pass");

    // Back to the list: the run is a past run now, and opens read-only as its timeline.
    s.send(b"\x1b");
    s.wait_all(&["PAST RUNS", "simulation · pass"]);
    s.send(b"\x1b[B\r");
    let past = s.wait_all(&["drill run (read-only)", "TIMELINE", "drill end: pass"]);
    assert!(past.contains("VERDICT PASS"), "{past}");
    s.send(b"\x1b");
    s.wait_all(&["RUNBOOKS"]);
    s.send(b"\x1b");
    s.wait_gone("RUNBOOKS");
    s.send(b"q");
    assert!(s.wait_exit().success());
}

/// `A` at the DNS step aborts the drill: what it changed is rolled back (the promotion is
/// one-way: listed with what a person must do), the panel says so, the report says aborted.
#[test]
fn abort_in_the_console_rolls_back_and_the_report_says_aborted() {
    let state = tempfile::tempdir().unwrap();
    let mut s = promoted(state.path());
    s.send(b"A");
    let end = s.wait_all(&[
        "VERDICT ABORTED",
        "ROLLBACK",
        "one-way `promote crypto-erp-replica-us`",
    ]);
    assert!(end.contains("[ ] point DNS away from eu-west-1"), "{end}");
    let r = report(state.path());
    assert_eq!(r["verdict"], "aborted", "{r:#}");
    assert!(
        r["reasons"][0]
            .as_str()
            .unwrap()
            .contains("aborted by the operator"),
        "{r:#}"
    );
    let rollback: Vec<(&str, &str)> = r["rollback"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["step"].as_str().unwrap(), x["result"].as_str().unwrap()))
        .collect();
    assert_eq!(rollback, [("promote crypto-erp-replica-us", "one-way")]);
    assert!(r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["name"] != "point DNS away from eu-west-1"));
    s.send(b"\x1b");
    s.wait_all(&["PAST RUNS", "simulation · aborted"]);
    s.send(b"\x1b");
    s.wait_gone("RUNBOOKS");
    s.send(b"q");
    assert!(s.wait_exit().success());
}
