//! `opsdeck drill run` in simulation: the shipped runbooks (verdict, measured RTO/RPO against
//! their objectives, the step order, audit records carrying the run id and step), a stop
//! condition aborting and rolling back, and broken runbooks rejected at file:line:column (exit 2).

mod support;

use serde_json::Value;
use support::drill::{jsonl, report, step_names, text, DrillRun};

fn at(v: &Value) -> chrono::DateTime<chrono::Utc> {
    v.as_str()
        .unwrap_or_else(|| panic!("not a time: {v}"))
        .parse()
        .unwrap()
}

/// The steady state must have held before the drill, every act step's audit records carry the
/// run id and the step's name, and RTO is recovered_at − failure_at.
fn common_checks(run: &DrillRun, r: &Value) {
    assert!(
        r["steady_state"]["before"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["ok"] == true),
        "{r:#}"
    );
    let audit = run
        .dir
        .path()
        .join("drills")
        .join(format!("{}.audit.jsonl", r["run_id"].as_str().unwrap()));
    let records = jsonl(&audit);
    for s in r["steps"].as_array().unwrap() {
        if s["kind"] != "act" {
            assert!(s["audit_id"].is_null(), "{s}");
            continue;
        }
        let id = s["audit_id"].as_str().unwrap_or_else(|| panic!("{s}"));
        let mine: Vec<&Value> = records.iter().filter(|x| x["id"] == id).collect();
        assert_eq!(mine.len(), 2, "requested and ended records of {id}");
        for rec in mine {
            assert_eq!(rec["drill"]["run_id"], r["run_id"], "{rec}");
            assert_eq!(rec["drill"]["step"], s["name"], "{rec}");
        }
    }
    let m = &r["measured"];
    if let Some(rto) = m["rto_s"].as_f64() {
        let span = (at(&m["recovered_at"]) - at(&m["failure_at"])).num_seconds() as f64;
        assert!((rto - span).abs() < 1.0, "{m}");
    }
}

fn shipped(name: &str) -> (DrillRun, Value, std::process::Output) {
    let run = DrillRun::new();
    let out = run.run(&[&format!("fleets/drills/{name}")]);
    let r = report(&out);
    common_checks(&run, &r);
    (run, r, out)
}

#[test]
fn kaldrix_failover_passes_within_its_objectives() {
    let (_run, r, out) = shipped("kaldrix-failover.toml");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(r["verdict"], "pass", "{r:#}");
    assert_eq!(r["mode"], "simulation");
    assert_eq!(r["objectives"]["rto_s"], 900.0);
    assert_eq!(
        step_names(&r),
        [
            "lose us-east-1",
            "scale us-west-2",
            "scale eu-west-1",
            "promote us-west-2",
            "drain us-east-1",
            "recovered",
            "app team confirms writes in us-west-2"
        ]
    );
    let steps = r["steps"].as_array().unwrap();
    // The parallel group starts at one moment; the drain only once all of it has ended.
    let group = &steps[1..4];
    assert!(group
        .iter()
        .all(|s| s["started_at"] == steps[1]["started_at"]));
    let group_end = group.iter().map(|s| at(&s["ended_at"])).max().unwrap();
    assert!(at(&steps[4]["started_at"]) >= group_end);
    assert!(steps[..6].iter().all(|s| s["result"] == "ok"), "{r:#}");
    assert_eq!(steps[6]["result"], "skipped");
    let m = &r["measured"];
    let rto = m["rto_s"].as_f64().unwrap();
    // Nothing recovers before the survivors' new tasks run (they settle 60–90 s after the scale).
    assert!((60.0..=900.0).contains(&rto), "{m}");
    // The primary's region went down: the RPO is the last lag seen before replication stopped,
    // seen when the failure struck, and the what-if predicted it from the same reading.
    let rpo = m["rpo_s"].as_f64().unwrap();
    assert!(rpo > 0.0 && rpo <= 300.0, "{m}");
    assert_eq!(
        m["rpo_basis"],
        "last replica lag observed before replication stopped"
    );
    assert_eq!(m["rpo_observed_at"], m["failure_at"]);
    let predicted = r["predicted"]["rpo_s"].as_f64().unwrap();
    assert!((predicted - rpo).abs() < 0.1, "{r:#}");
    assert!(r["predicted"]["rto_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn crypto_erp_promotion_passes_with_the_manual_step_skipped() {
    let (_run, r, out) = shipped("crypto-erp-promotion.toml");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(r["verdict"], "pass", "{r:#}");
    assert_eq!(
        step_names(&r),
        [
            "lose eu-west-1",
            "promote crypto-erp-replica-us",
            "point DNS away from eu-west-1",
            "point the application at the new primary",
            "recovered"
        ]
    );
    assert_eq!(r["steps"][3]["kind"], "manual");
    assert_eq!(r["steps"][3]["result"], "skipped");
    let m = &r["measured"];
    assert!(m["rto_s"].as_f64().unwrap() <= r["objectives"]["rto_s"].as_f64().unwrap());
    assert!(m["rpo_s"].as_f64().unwrap() <= r["objectives"]["rpo_s"].as_f64().unwrap());
}

#[test]
fn richesreach_region_loss_passes_within_five_minutes() {
    let (_run, r, out) = shipped("richesreach-region-loss.toml");
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    assert_eq!(r["verdict"], "pass");
    assert_eq!(r["objectives"]["rto_s"], 300.0, "the fleet's budget");
    assert_eq!(
        step_names(&r),
        [
            "lose us-east-1",
            "scale eu-west-1",
            "scale ap-southeast-1",
            "promote eu-west-1",
            "recovered"
        ]
    );
    let m = &r["measured"];
    assert!(m["rto_s"].as_f64().unwrap() <= 300.0, "{m}");
    assert!(m["rpo_s"].as_f64().unwrap() <= 60.0, "{m}");
}

/// Atlas CRM's written procedure scales and drains but never promotes: writes stay down, and the
/// drill says so instead of passing.
#[test]
fn atlas_manual_failover_fails_because_writes_stay_down() {
    let (_run, r, out) = shipped("atlas-manual-failover.toml");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(r["verdict"], "fail", "{r:#}");
    let why = r["reasons"][0].as_str().unwrap();
    assert!(why.contains("writes_ok reads 0"), "{why}");
    assert!(r["measured"]["rto_s"].is_null(), "never recovered");
    assert!(r["measured"]["rpo_s"].is_null(), "no promotion");
    let steps = r["steps"].as_array().unwrap();
    assert_eq!(steps.last().unwrap()["result"], "timed out");
    assert_eq!(steps.len(), 4, "{r:#}");
    assert!(steps[..3].iter().all(|s| s["result"] == "ok"), "{r:#}");
    // Geolocation with a health check: Route53 itself has taken the dead region out, and the
    // drill's check step saw it (no drain: inverting a failing check would send Europe back).
    assert_eq!(steps[2]["kind"], "check", "{r:#}");
    assert!(text(&out.stderr).contains("fail"), "{}", text(&out.stderr));
}

#[test]
fn a_stop_condition_aborts_the_drill_and_rolls_back() {
    let run = DrillRun::new();
    let fleet = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fleets/kaldrix.toml");
    let book = run.file(
        "storm.toml",
        &format!(
            r#"name = "storm"
fleet = "{}"
[[steady_state]]
region = "*"
metric = "error_rate"
max = 0.02
[[stop_when]]
region = "us-west-2"
metric = "error_rate"
above = 0.1
for_s = 30
[[step]]
name = "scale eu-west-1"
act = {{ op = "scale", region = "eu-west-1", nodegroup = "kaldrix-api", desired = 4 }}
[[step]]
name = "storm in us-west-2"
inject = {{ scenario = "error-storm", region = "us-west-2" }}
[[step]]
name = "hold"
wait = {{ seconds = 600 }}
"#,
            fleet.display()
        ),
    );
    let out = run.run(&[book.to_str().unwrap()]);
    let r = report(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(r["verdict"], "aborted", "{r:#}");
    let stop = &r["stopped_by"];
    assert_eq!(stop["region"], "us-west-2");
    assert!(stop["value"].as_f64().unwrap() > 0.1);
    let steps = r["steps"].as_array().unwrap();
    assert_eq!(steps[2]["name"], "hold");
    assert_eq!(steps[2]["result"], "not finished");
    // Aborted some 30 s after the storm began, long before the 600 s wait ended.
    let storm = at(&steps[1]["started_at"]);
    let ended = at(&steps[2]["ended_at"]);
    assert!((ended - storm).num_seconds() >= 30 && (ended - storm).num_seconds() < 120);
    // The scale was undone through the pipeline, recorded as the undo of the scale's operation.
    let rollback = r["rollback"].as_array().unwrap();
    assert_eq!(rollback.len(), 1, "{r:#}");
    assert_eq!(rollback[0]["result"], "ok", "{r:#}");
    assert_eq!(rollback[0]["undo_of"], steps[0]["audit_id"]);
    let audit = run
        .dir
        .path()
        .join("drills")
        .join(format!("{}.audit.jsonl", r["run_id"].as_str().unwrap()));
    let undo: Vec<Value> = jsonl(&audit)
        .into_iter()
        .filter(|x| x["undo_of"] == steps[0]["audit_id"])
        .collect();
    assert_eq!(undo.len(), 2, "requested and ended");
    assert_eq!(
        undo[0]["op"]["desired"], 2,
        "back to the tasks it ran before"
    );
    assert_eq!(undo[1]["drill"]["step"], "rollback: scale eu-west-1");
    // The timeline says it all, on one clock.
    let tl = jsonl(&run.timelines()[0]);
    let kinds: Vec<&str> = tl.iter().map(|e| e["event"].as_str().unwrap()).collect();
    let pos = |k: &str| kinds.iter().position(|x| *x == k).unwrap();
    assert!(pos("stop_condition") < pos("rollback"));
    assert!(pos("rollback") < pos("drill_end"));
    assert_eq!(kinds[0], "drill_start");
    assert_eq!(*kinds.last().unwrap(), "drill_end");
}

/// A broken runbook is refused before anything runs: exit 2, file:line:column and the reason.
#[test]
fn broken_runbooks_are_rejected_at_file_line_column() {
    let run = DrillRun::new();
    let fleet = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fleets/kaldrix.toml");
    let head = format!("name = \"x\"\nfleet = \"{}\"\n", fleet.display());
    let cases: [(&str, &str, &str); 6] = [
        (
            "[[step]]\nname = \"a\"\nact = { op = \"reboot\", region = \"us-east-1\" }\n",
            ":5:14:",
            "unknown op `reboot`",
        ),
        (
            "[[step]]\nname = \"a\"\nact = { op = \"drain\", region = \"mars-1\" }\n",
            ":5:32:",
            "no region `mars-1`",
        ),
        (
            "[[step]]\nname = \"a\"\nwait = { seconds = 1 }\nparallel_with = \"b\"\n",
            ":6:17:",
            "`parallel_with` = `b` names no step",
        ),
        (
            "[[step]]\nname = \"a\"\nwait = { seconds = 1 }\nparallel_with = \"b\"\n[[step]]\nname = \"b\"\nwait = { seconds = 1 }\nparallel_with = \"a\"\n",
            ":6:17:",
            "cycle: a → b → a",
        ),
        (
            "[[steady_state]]\nregion = \"*\"\nmetric = \"p42\"\nmax = 1.0\n[[step]]\nname = \"a\"\nwait = { seconds = 1 }\n",
            ":5:10:",
            "unknown metric `p42`",
        ),
        (
            "[[step]]\nname = \"a\"\nact = { op = \"drain\", region = \"us-east-1\" }\noverride = [\"cooldown\"]\n",
            ":6:13:",
            "rule `cooldown` cannot be overridden",
        ),
    ];
    for (i, (body, place, why)) in cases.iter().enumerate() {
        let book = run.file(&format!("bad{i}.toml"), &format!("{head}{body}"));
        let out = run.run(&[book.to_str().unwrap()]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "case {i}: {err}");
        assert!(
            err.contains(&format!("bad{i}.toml{place}")) && err.contains(why),
            "case {i}: {err}"
        );
        assert!(out.stdout.is_empty(), "nothing ran: {}", text(&out.stdout));
    }
    assert!(run.timelines().is_empty(), "no drill started");
}

/// `--report FILE` by extension: JSON (the printed report), Markdown, and one self-contained
/// HTML file with the timeline and the key metrics as inline SVG.
#[test]
fn reports_are_written_as_json_markdown_and_self_contained_html() {
    let run = DrillRun::new();
    let book = "fleets/drills/kaldrix-failover.toml";
    let json_file = run.dir.path().join("r.json");
    let out = run.run(&[book, "--report", json_file.to_str().unwrap()]);
    let printed = report(&out);
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&json_file).unwrap()).unwrap();
    assert_eq!(written, printed);

    let md_file = run.dir.path().join("r.md");
    run.run(&[book, "--report", md_file.to_str().unwrap()]);
    let md = std::fs::read_to_string(&md_file).unwrap();
    assert!(md.starts_with("# Drill: kaldrix: lose us-east-1\n"), "{md}");
    assert!(md.contains("**Verdict: PASS**"), "{md}");
    assert!(md.contains("| RTO | 900 s |"), "{md}");
    for name in step_names(&printed) {
        assert!(md.contains(&format!("| {name} |")), "{name}: {md}");
    }

    let html_file = run.dir.path().join("r.html");
    run.run(&[book, "--report", html_file.to_str().unwrap()]);
    let html = std::fs::read_to_string(&html_file).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("PASS") && html.contains("kaldrix: lose us-east-1"));
    // The steps' bars and a line per region for each charted metric.
    assert!(html.matches("<rect").count() >= step_names(&printed).len());
    for metric in ["p99", "error_rate", "requests_per_s"] {
        assert!(html.contains(&format!("<h3>{metric}</h3>")), "{metric}");
    }
    assert!(
        html.matches("<polyline").count() >= 3 * 3,
        "three regions, three metrics"
    );
    // Nothing fetched from anywhere: no script, no links, no URL but the SVG namespace.
    assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("href="));
    assert_eq!(
        html.matches("http").count(),
        html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );

    let bad = run.run(&[book, "--report", "r.pdf"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains(".md, .html or .json"));
}

/// The runbook the README shows is a valid runbook for the KALDRIX fleet: it runs to a verdict
/// (exit 0 or 1), never "bad runbook" (exit 2).
#[test]
fn the_readme_s_runbook_example_runs_on_kaldrix() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = &readme[readme.find("### DR drills").expect("a DR drills section")..];
    let start = section.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let example = &section[start..start + section[start..].find("```").unwrap()];
    assert!(example.contains("[[step]]"), "{example}");
    let run = DrillRun::new();
    let fleet = concat!(env!("CARGO_MANIFEST_DIR"), "/fleets/kaldrix.toml");
    let path = run.file("readme.toml", example);
    let out = run.run(&[path.to_str().unwrap(), "--fleet", fleet]);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(report(&out)["drill"], "kaldrix: lose us-east-1");
}
