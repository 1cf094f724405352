//! `override = [...]` on a runbook's act step (issue 12 §1), in simulation: promoting Crypto-ERP's
//! US replica while the primary still takes writes is blocked by `primary-takes-writes`; named in
//! `override`, the step runs and its audit records log the override; a rule not named there still
//! stops the drill.

mod support;

use serde_json::Value;
use support::drill::{jsonl, report, DrillRun};

fn promote(run: &DrillRun, file: &str, overrides: Option<&str>) -> (Value, Vec<Value>, i32) {
    let mut text = String::from(
        "name = \"promote while the primary writes\"\n\
         [[step]]\nname = \"promote us-east-1\"\nact = { op = \"promote\", region = \"us-east-1\" }\n",
    );
    if let Some(o) = overrides {
        text.push_str(&format!("override = [{o}]\n"));
    }
    let book = run.file(file, &text);
    let out = run.run(&[book.to_str().unwrap(), "--fleet", "fleets/crypto-erp.toml"]);
    let r = report(&out);
    let audit = run
        .dir
        .path()
        .join("drills")
        .join(format!("{}.audit.jsonl", r["run_id"].as_str().unwrap()));
    (r, jsonl(&audit), out.status.code().unwrap())
}

fn overrides(record: &Value) -> Vec<&str> {
    record["overrides"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect()
}

#[test]
fn a_named_override_lets_the_step_run_and_is_logged() {
    let run = DrillRun::new();
    let (r, records, code) = promote(&run, "named.toml", Some("\"primary-takes-writes\""));
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["verdict"], "pass", "{r:#}");
    assert_eq!(r["steps"][0]["result"], "ok", "{r:#}");
    let id = r["steps"][0]["audit_id"].as_str().unwrap();
    let mine: Vec<&Value> = records.iter().filter(|x| x["id"] == id).collect();
    assert_eq!(mine.len(), 2, "requested and ended: {records:#?}");
    for rec in mine {
        assert_eq!(rec["decision"], "execute", "{rec:#}");
        assert_eq!(overrides(rec), ["primary-takes-writes"], "{rec:#}");
        let guard = rec["guards"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["rule"] == "primary-takes-writes")
            .unwrap();
        assert_eq!(guard["passed"], false, "the rule did block");
        assert_eq!(guard["overridden"], true, "and was overridden");
        assert_eq!(rec["drill"]["step"], "promote us-east-1");
    }
}

#[test]
fn without_it_or_naming_another_rule_the_block_stops_the_drill() {
    let run = DrillRun::new();
    for (file, o) in [
        ("none.toml", None),
        ("other.toml", Some("\"replication-broken\"")),
    ] {
        let (r, records, code) = promote(&run, file, o);
        assert_eq!(code, 1, "{file}: {r:#}");
        assert_eq!(r["verdict"], "fail", "{file}: {r:#}");
        assert_eq!(r["steps"][0]["result"], "refused", "{file}: {r:#}");
        assert!(
            r["reasons"][0]
                .as_str()
                .unwrap()
                .contains("blocked by primary-takes-writes"),
            "{file}: {r:#}"
        );
        assert!(
            records
                .iter()
                .all(|x| x["decision"] == "refused" && overrides(x).is_empty()),
            "{file}: nothing executed, nothing overridden: {records:#?}"
        );
    }
}
