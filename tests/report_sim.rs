//! `opsdeck report` on the simulated fleet (issue 13): an incident scheduled on day 3 of the
//! window comes out as an incident with its times; the same seed and window give the same review
//! byte for byte (nothing depends on when it is made); the JSON holds the contract's keys; the
//! HTML refers to nothing outside itself; operations in the audit log are listed.

use chrono::{DateTime, Duration, Utc};
use opsdeck::fleet::health::Family;
use opsdeck::fleet::Fleet;
use opsdeck::report::{self, sim::Scheduled};
use opsdeck::source::Scenario;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const UNTIL: &str = "2026-11-29T00:00:00Z";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn opsdeck(args: &[&str], state_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(args)
        .env("OPSDECK_STATE_DIR", state_dir)
        .env("OPSDECK_CONFIG", state_dir.join("config"))
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run opsdeck")
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn an_incident_scheduled_on_day_three_is_reported_with_its_times() {
    let fleet = Fleet::builtin();
    let (from, until) = report::window(t(UNTIL), 7 * 86_400);
    let prev_from = from - (until - from);
    let start = from + Duration::days(2) + Duration::hours(10) + Duration::minutes(15);
    let end = start + Duration::minutes(45);
    let schedule = [Scheduled {
        region: "us-east-1".into(),
        scenario: Scenario::ErrorStorm,
        start,
        end,
    }];
    let run = report::sim::run(&fleet, 11, prev_from, from, until, &schedule).unwrap();
    let input = report::Input {
        fleet: fleet.clone(),
        source: opsdeck::fleet::SourceKind::Sim,
        from,
        until,
        series: run.series,
        cost: run.cost,
        previous_cost: run.previous_cost,
        actions: vec![],
        drills: vec![],
        api_calls: Default::default(),
        api_cost_usd: 0.0,
        notes: vec![],
    };
    let r = report::compute(&input);
    let us = r.regions.iter().find(|x| x.name == "us-east-1").unwrap();
    let storms: Vec<_> = us
        .incidents
        .iter()
        .filter(|i| i.metric == Family::ErrorRate)
        .collect();
    assert_eq!(storms.len(), 1, "{:?}", us.incidents);
    // Sampled every minute and judged like the console's alerts: crit at once, recovered at
    // the first good minute.
    assert_eq!(storms[0].start, start);
    assert_eq!(storms[0].end, Some(end));
    assert!(
        (0.08..=0.40).contains(&storms[0].peak),
        "an error storm is 15-27 % 5xx with noise: {}",
        storms[0].peak
    );
    // Only the injected incident in a calm week, and only in us-east-1.
    assert_eq!(us.incidents.len(), 1, "{:?}", us.incidents);
    for other in r.regions.iter().filter(|x| x.name != "us-east-1") {
        assert!(
            other.incidents.is_empty(),
            "{}: {:?}",
            other.name,
            other.incidents
        );
        assert_eq!(other.previous.incidents, 0);
    }
    // 45 minutes of ~20 % 5xx: the worst hour is that one, and the budget shows it.
    assert_eq!(
        us.worst_hours[0].hour,
        from + Duration::days(2) + Duration::hours(10)
    );
    assert!(us.availability.budget_remaining < other_budget(&r, "eu-west-1"));
    assert!(
        us.burn_rate_max.one_hour.unwrap() > 14.4,
        "{:?}",
        us.burn_rate_max
    );
    assert!(r.overall.incidents == 1 && r.previous.incidents == 0);
}

fn other_budget(r: &report::Report, name: &str) -> Option<f64> {
    r.regions
        .iter()
        .find(|x| x.name == name)
        .unwrap()
        .availability
        .budget_remaining
}

#[test]
fn the_same_seed_and_window_give_the_same_review_and_the_json_holds_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "report",
        "--until",
        UNTIL,
        "--since",
        "3d",
        "--seed",
        "5",
        "--format",
        "json",
        "--inject",
        "outage@ap-southeast-1/+30h/20m",
    ];
    let a = ok(opsdeck(&args, dir.path()));
    let b = ok(opsdeck(&args, dir.path()));
    assert_eq!(a, b, "two runs of one seed and window differ");
    let mut other = args.to_vec();
    other[6] = "6";
    assert_ne!(
        a,
        ok(opsdeck(&other, dir.path())),
        "the seed changes nothing"
    );
    let v: Value = serde_json::from_str(&a).unwrap();
    assert_eq!(v["fleet"], "atlas-crm");
    assert_eq!(v["source"], "sim");
    assert_eq!(v["from"], "2026-11-26T00:00:00Z");
    assert_eq!(v["until"], UNTIL);
    for k in [
        "availability",
        "latency_ms",
        "latency_stat",
        "latency_target",
    ] {
        assert!(
            v["slo"][k].is_number() || v["slo"][k].is_string(),
            "slo.{k}: {}",
            v["slo"]
        );
    }
    assert_eq!(v["slo"]["availability"], 0.995);
    let regions = v["regions"].as_array().unwrap();
    assert_eq!(regions.len(), 3);
    for r in regions {
        let att = r["availability"]["attained"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&att), "{att}");
        assert!(r["availability"]["budget_remaining"].is_number());
        assert!(r["latency"]["attained"].is_number());
        assert!(r["burn_rate_max"]["1h"].is_number() && r["burn_rate_max"]["6h"].is_number());
        assert!(r["incidents"].is_array() && r["worst_hours"].is_array());
        for k in [
            "window_usd",
            "month_to_date_usd",
            "forecast_usd",
            "budget_usd",
        ] {
            assert!(r["cost"][k].is_number(), "cost.{k}: {}", r["cost"]);
        }
        assert_eq!(r["hourly"].as_array().unwrap().len(), 72);
    }
    let ap = regions
        .iter()
        .find(|r| r["name"] == "ap-southeast-1")
        .unwrap();
    let outage = ap["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["metric"] == "error_rate")
        .expect("the outage is an incident");
    assert_eq!(outage["start"], "2026-11-27T06:00:00Z");
    assert_eq!(outage["peak"], 1.0);
    assert!(v["actions"].is_array() && v["drills"].as_array().unwrap().is_empty());
    assert!(v["previous"]["availability"].is_number());
    assert!(v["api_calls"].as_object().unwrap().is_empty());
}

#[test]
fn the_html_refers_to_nothing_outside_itself_and_the_markdown_has_every_part() {
    let dir = tempfile::tempdir().unwrap();
    let html_path = dir.path().join("r.html");
    let common = ["report", "--until", UNTIL, "--since", "2d", "--seed", "3"];
    let mut args = common.to_vec();
    args.extend(["--format", "html", "--out", html_path.to_str().unwrap()]);
    assert_eq!(
        ok(opsdeck(&args, dir.path())),
        "",
        "--out writes the file, not stdout"
    );
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    for bad in [
        "http://", "https://", "//", "<script", "<link", "@import", "url(",
    ] {
        assert!(!html.contains(bad), "the HTML holds `{bad}`");
    }
    // Six inline charts (five series and the heatmap) drawn as SVG.
    assert_eq!(html.matches("<svg").count(), 6);
    assert!(html.contains("<polyline") || html.contains("<path"));
    let md = ok(opsdeck(&common, dir.path()));
    for part in [
        "# Weekly ops review — atlas-crm",
        "## Headline (week over week)",
        "## Regions, least budget left first",
        "## Incidents",
        "## Worst hours",
        "## Actions",
        "## Drills",
        "## Cost",
        "| eu-west-1 |",
    ] {
        assert!(md.contains(part), "the Markdown lacks `{part}`:\n{md}");
    }
}

#[test]
fn operations_in_the_window_come_from_the_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let audit = audit.to_str().unwrap();
    // A scale-out on the simulated fleet on day 2 of the window (virtual time), and one before it.
    for start in ["2026-11-20T09:30:00Z", "2026-11-27T09:30:00Z"] {
        ok(opsdeck(
            &[
                "act",
                "scale",
                "--region",
                "us-east-1",
                "--service",
                "api",
                "--desired",
                "4",
                "--execute",
                "--confirm",
                "us-east-1",
                "--start",
                start,
                "--audit-log",
                audit,
            ],
            dir.path(),
        ));
    }
    let out = ok(opsdeck(
        &[
            "report",
            "--until",
            UNTIL,
            "--since",
            "2d",
            "--calm",
            "--format",
            "json",
            "--audit-log",
            audit,
        ],
        dir.path(),
    ));
    let v: Value = serde_json::from_str(&out).unwrap();
    let actions = v["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0]["op"], "scale");
    assert!(actions[0]["summary"].as_str().unwrap().contains("to 4"));
    assert_eq!(actions[0]["region"], "us-east-1");
    assert_eq!(actions[0]["time"], "2026-11-27T09:30:00Z");
    assert!(actions[0]["operator"]
        .as_str()
        .unwrap()
        .contains("simulated"));
    assert_eq!(actions[0]["result"], "applied");
}

#[test]
fn bad_flags_are_refused_with_exit_two() {
    let dir = tempfile::tempdir().unwrap();
    for (args, words) in [
        (&["report", "--until", "yesterday"][..], "--until"),
        (&["report", "--since", "40d"][..], "1h to 31d"),
        (
            &["report", "--inject", "storm@us-east-1/+1h/10m"][..],
            "unknown scenario",
        ),
        (
            &["report", "--inject", "outage@mars-1/+1h/10m"][..],
            "no region",
        ),
        (
            &[
                "report",
                "--until",
                UNTIL,
                "--inject",
                "outage@us-east-1/2026-12-10T00:00:00Z/10m",
            ][..],
            "must run between",
        ),
    ] {
        let out = opsdeck(args, dir.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(words), "{args:?}: {err}");
    }
}

#[test]
fn a_drill_run_in_the_window_is_listed_with_its_verdict() {
    let dir = tempfile::tempdir().unwrap();
    // A drill on the simulated fleet on day 1 of the window (virtual time); its timeline goes to
    // the state dir, where the review reads it.
    let drill = opsdeck(
        &[
            "drill",
            "run",
            "fleets/drills/atlas-manual-failover.toml",
            "--non-interactive",
            "--start",
            "2026-11-26T08:00:00Z",
        ],
        dir.path(),
    );
    assert!(
        dir.path().join("drills").read_dir().unwrap().count() >= 1,
        "no timeline: {}",
        String::from_utf8_lossy(&drill.stderr)
    );
    let out = ok(opsdeck(
        &[
            "report", "--until", UNTIL, "--since", "3d", "--calm", "--format", "json",
        ],
        dir.path(),
    ));
    let v: Value = serde_json::from_str(&out).unwrap();
    let drills = v["drills"].as_array().unwrap();
    assert_eq!(drills.len(), 1, "{drills:?}");
    assert_eq!(drills[0]["start"], "2026-11-26T08:00:00Z");
    assert_eq!(drills[0]["mode"], "simulation");
    // This runbook fails by design (its write-up has no database step).
    assert_eq!(drills[0]["verdict"], "fail", "{}", drills[0]);
    assert!(drills[0]["drill"].as_str().unwrap().contains("atlas-crm"));
    // Outside the window: not listed.
    let out = ok(opsdeck(
        &[
            "report",
            "--until",
            "2026-11-25T00:00:00Z",
            "--since",
            "1d",
            "--calm",
            "--format",
            "json",
        ],
        dir.path(),
    ));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(v["drills"].as_array().unwrap().is_empty());
}
