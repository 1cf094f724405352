//! The real binary on the command line: help, version, exit codes, the snapshot contract.

use serde_json::Value;
use std::process::{Command, Output};

const START: &str = "2026-11-22T12:00:00Z";

fn opsdeck(args: &[&str], state_dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(args)
        .env("OPSDECK_STATE_DIR", state_dir)
        .env("OPSDECK_CONFIG", state_dir.join("config"))
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env_remove("NO_COLOR")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run opsdeck")
}

fn json_snapshot(extra: &[&str]) -> Value {
    seeded_snapshot("3", extra)
}

fn seeded_snapshot(seed: &str, extra: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "snapshot", "--format", "json", "--start", START, "--seed", seed,
    ];
    args.extend_from_slice(extra);
    let out = opsdeck(&args, dir.path());
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("snapshot prints JSON")
}

#[test]
fn version_and_help() {
    let dir = tempfile::tempdir().unwrap();
    let out = opsdeck(&["--version"], dir.path());
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("opsdeck {}", env!("CARGO_PKG_VERSION"))
    );
    for args in [vec!["--help"], vec!["snapshot", "--help"]] {
        let out = opsdeck(&args, dir.path());
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("--fleet") && text.contains("Usage"),
            "{args:?}: {text}"
        );
    }
}

#[test]
fn bad_usage_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--speed", "0", "snapshot"],
        vec!["snapshot", "--format", "xml"],
        vec!["--scenario", "meteor", "snapshot"],
        vec!["--scenario", "outage@mars-east-1", "snapshot"],
        vec!["--start", "yesterday", "snapshot"],
        vec!["no-such-command"],
    ] {
        let out = opsdeck(&args, dir.path());
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stderr.is_empty(), "{args:?} says why");
    }
}

#[test]
fn broken_fleet_file_is_named_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prod.toml");
    std::fs::write(
        &path,
        "name = \"x\"\n[[region]]\nname = \"eu-west-1\"\nrole = primary\n",
    )
    .unwrap();
    let out = opsdeck(
        &["snapshot", "--sim", "--fleet", path.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:4:8:", path.display())), "{err}");
}

#[test]
fn snapshot_json_fills_the_contract_from_the_model() {
    let j = json_snapshot(&[]);
    assert_eq!(j["fleet"], "atlas-crm");
    assert_eq!(j["source"], "sim");
    assert_eq!(j["taken_at"], START);
    let regions = j["regions"].as_array().unwrap();
    assert_eq!(regions.len(), 3);
    for r in regions {
        let name = r["name"].as_str().unwrap();
        assert_eq!(r["status"], "ok", "{name} at a quiet start: {r}");
        for stat in ["p50", "p99"] {
            assert!(
                r["latency_ms"][stat].as_f64().unwrap() > 0.0,
                "{name} {stat}"
            );
        }
        assert!(r["latency_ms"]["p50"].as_f64() < r["latency_ms"]["p99"].as_f64());
        assert!(r["requests_per_s"].as_f64().unwrap() > 0.0);
        assert!(r["error_rate"].as_f64().unwrap() < 0.05);
        let hit = r["cache_hit_ratio"].as_f64().unwrap();
        assert!((0.8..=1.0).contains(&hit), "{name} cache {hit}");
        let ecs = &r["ecs"][0];
        assert!(ecs["desired"].as_i64().unwrap() >= 2);
        assert_eq!(ecs["running"], ecs["desired"]);
        assert!(ecs["pending"].is_i64());
        assert!(r["route53"]["weight"].is_i64());
        assert_eq!(r["route53"]["healthy"], true);
        assert!(r["cost"]["month_to_date_usd"].as_f64().unwrap() > 0.0);
        assert!(r["cost"]["forecast_usd"].as_f64() > r["cost"]["month_to_date_usd"].as_f64());
        assert_eq!(r["stale_s"], 0);
        assert_eq!(r["errors"], Value::Array(vec![]));
        if r["role"] == "primary" {
            assert_eq!(
                r["replica_lag_s"],
                Value::Null,
                "a primary has no replica lag"
            );
        } else {
            assert!(r["replica_lag_s"].as_f64().unwrap() >= 0.0, "{name} lag");
        }
    }
}

#[test]
fn snapshot_is_reproducible_under_a_seed() {
    assert_eq!(
        json_snapshot(&["--after", "10m"]),
        json_snapshot(&["--after", "10m"])
    );
    assert_ne!(
        json_snapshot(&["--after", "10m"]),
        seeded_snapshot("4", &["--after", "10m"])
    );
}

#[test]
fn outage_scenario_turns_its_region_crit() {
    let j = json_snapshot(&["--scenario", "outage@us-east-1", "--after", "3m"]);
    let r = &j["regions"][1];
    assert_eq!(r["name"], "us-east-1");
    assert_eq!(r["status"], "crit", "{r}");
    assert_eq!(
        r["route53"]["healthy"], false,
        "its health check failed: {r}"
    );
    // Its users went to the survivors.
    let before = json_snapshot(&["--after", "3m"]);
    for i in [0, 2] {
        let (was, now) = (
            before["regions"][i]["requests_per_s"].as_f64().unwrap(),
            j["regions"][i]["requests_per_s"].as_f64().unwrap(),
        );
        assert!(
            now > was * 1.2,
            "{} took over traffic: {was:.0} -> {now:.0} rps",
            j["regions"][i]["name"]
        );
    }
}

#[test]
fn table_format_and_other_fleets() {
    let dir = tempfile::tempdir().unwrap();
    let out = opsdeck(&["snapshot", "--start", START], dir.path());
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for name in [
        "eu-west-1",
        "us-east-1",
        "ap-southeast-1",
        "REGION",
        "p99 ms",
        "primary",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/fleets")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue; // fleets/drills/ holds the fleets' drill runbooks
        }
        let out = opsdeck(
            &[
                "snapshot",
                "--sim",
                "--fleet",
                path.to_str().unwrap(),
                "--format",
                "json",
                "--start",
                START,
            ],
            dir.path(),
        );
        assert!(
            out.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let j: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            j["regions"].as_array().unwrap().len() >= 3,
            "{}",
            path.display()
        );
    }
}

#[test]
fn logs_go_to_the_state_dir_never_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let out = opsdeck(
        &["snapshot", "--start", START, "--format", "json"],
        dir.path(),
    );
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log =
        std::fs::read_to_string(dir.path().join("opsdeck.log")).expect("log file in the state dir");
    assert!(log.contains("opsdeck starting"), "{log}");
}
