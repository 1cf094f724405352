//! Per-region thresholds (issue 11, point 4): `[[region]] thresholds = { latency_ms = 50.0 }`
//! overrides the fleet's for that region, and every verdict about the region — status, breach,
//! alert line, worst region, snapshot, the simulator's calibration, the what-if — uses it.

mod common;

use common::Profile;
use opsdeck::app::snapshot;
use opsdeck::fleet::{Fleet, FleetError, Status};
use opsdeck::source::sim::SimFleet;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const FIXTURE: &str = "tests/fixtures/fleets/region-targets.toml";
const START: &str = "2026-11-22T12:00:00Z";

/// RichesReach with its targets: us-east-1 50 ms, eu-west-1 the fleet's 100 ms, ap-southeast-1
/// 150 ms.
fn fleet() -> Fleet {
    Fleet::load(Path::new(FIXTURE)).expect("fixture fleet loads")
}

/// The same fleet judged by the fleet-wide threshold alone.
fn fleet_wide_only() -> Fleet {
    let mut f = fleet();
    for r in &mut f.regions {
        r.thresholds = Default::default();
    }
    f
}

/// An hour of readings: the threshold statistic (Average) at about 70 ms in us-east-1 and
/// eu-west-1, about 130 ms in ap-southeast-1 (±6 %), everything else healthy.
fn state(fleet: Fleet) -> opsdeck::app::State {
    let mut profiles: Vec<Profile> = (0..fleet.regions.len()).map(Profile::healthy).collect();
    for (p, ms) in profiles.iter_mut().zip([70.0, 70.0, 130.0]) {
        p.p99 = ms;
        p.p50 = ms * 0.5;
        p.error_rate = 0.002;
    }
    common::run(fleet, &profiles)
}

fn region<'a>(state: &'a opsdeck::app::State, name: &str) -> &'a opsdeck::app::RegionView {
    &state.regions[state.region_index(name).unwrap()]
}

fn latency_breach(state: &opsdeck::app::State, name: &str) -> Option<String> {
    region(state, name)
        .breaches
        .iter()
        .find(|b| b.family == opsdeck::fleet::health::Family::Latency)
        .map(|b| b.message.clone())
}

#[test]
fn the_accessor_puts_a_regions_keys_over_the_fleets() {
    let f = fleet();
    assert_eq!(f.thresholds.latency_ms, 100.0);
    assert_eq!(f.thresholds_for("us-east-1").latency_ms, 50.0);
    assert_eq!(f.thresholds_for("eu-west-1").latency_ms, 100.0);
    assert_eq!(f.thresholds_for("ap-southeast-1").latency_ms, 150.0);
    // Keys the region leaves out are the fleet's.
    assert_eq!(
        f.thresholds_for("us-east-1").error_rate,
        f.thresholds.error_rate
    );
}

#[test]
fn each_region_is_judged_by_its_own_target() {
    let s = state(fleet());
    // 70 ms: over us-east-1's 50 ms, under the fleet's warning level (80 ms).
    assert_eq!(region(&s, "us-east-1").status, Status::Crit);
    let us = latency_breach(&s, "us-east-1").expect("us-east-1 latency breach");
    assert!(us.ends_with("ms (crit > 50 ms)"), "{us}");
    // The same 70 ms in eu-west-1, which keeps the fleet's 100 ms: fine.
    assert_eq!(
        region(&s, "eu-west-1").status,
        Status::Ok,
        "{:?}",
        region(&s, "eu-west-1").breaches
    );
    // 130 ms: over the fleet's 100 ms, but only a warning against ap-southeast-1's own 150 ms.
    assert_eq!(region(&s, "ap-southeast-1").status, Status::Warn);
    let ap = latency_breach(&s, "ap-southeast-1").expect("ap-southeast-1 latency breach");
    assert!(ap.ends_with("ms (warn > 120 ms, crit > 150 ms)"), "{ap}");

    // The alert log names each region's own threshold, and says nothing of eu-west-1's latency.
    let lines: Vec<(String, String)> = s
        .events
        .iter()
        .filter(|e| e.text.contains("latency"))
        .map(|e| (e.region.clone().unwrap_or_default(), e.text.clone()))
        .collect();
    assert!(
        lines.iter().any(|(r, t)| r == "us-east-1"
            && t.starts_with("CRIT")
            && t.contains("(crit > 50 ms)")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|(r, t)| r == "ap-southeast-1"
            && t.starts_with("WARN")
            && t.contains("(warn > 120 ms, crit > 150 ms)")),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|(r, _)| r == "eu-west-1"), "{lines:?}");

    // The worst region is the one over its own target.
    assert_eq!(s.worst().expect("a worst region").region, "us-east-1");

    // The snapshot (JSON contract) says the same.
    let j: Value = serde_json::to_value(snapshot::build(&s)).unwrap();
    let by_name = |n: &str| {
        j["regions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == n)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_name("us-east-1")["status"], "crit");
    assert_eq!(by_name("eu-west-1")["status"], "ok");
    assert_eq!(by_name("ap-southeast-1")["status"], "warn");
    let breaches = by_name("us-east-1")["breaches"].to_string();
    assert!(breaches.contains("(crit > 50 ms)"), "{breaches}");
    assert_eq!(j["worst"]["region"], "us-east-1");
}

#[test]
fn without_the_overrides_the_same_readings_read_the_other_way() {
    let s = state(fleet_wide_only());
    assert_eq!(region(&s, "us-east-1").status, Status::Ok);
    assert_eq!(region(&s, "ap-southeast-1").status, Status::Crit);
    let ap = latency_breach(&s, "ap-southeast-1").unwrap();
    assert!(ap.ends_with("(crit > 100 ms)"), "{ap}");
}

#[test]
fn the_simulator_calibrates_each_region_to_its_own_target() {
    let f = fleet();
    let sim = SimFleet::new(&f, 7, chrono::Utc::now());
    let per_task = f.capacity.rps_per_task;
    for (name, target) in [
        ("us-east-1", 50.0),
        ("eu-west-1", 100.0),
        ("ap-southeast-1", 150.0),
    ] {
        // At rated capacity the threshold statistic equals the region's own target.
        let at_rated = sim
            .predicted_latency_ms(name, f.threshold_stat(), 4.0 * per_task, 4.0)
            .unwrap();
        assert!(
            (at_rated - target).abs() < 1e-6,
            "{name}: {at_rated} ms at rated capacity"
        );
    }
}

fn opsdeck(args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(args)
        .env("OPSDECK_STATE_DIR", dir.path())
        .env("OPSDECK_CONFIG", dir.path().join("config"))
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run opsdeck")
}

#[test]
fn the_simulated_fleet_is_within_each_regions_own_target_at_a_quiet_start() {
    let out = opsdeck(&[
        "snapshot", "--sim", "--fleet", FIXTURE, "--format", "json", "--start", START,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    for r in j["regions"].as_array().unwrap() {
        assert_eq!(r["status"], "ok", "{r}");
    }
}

#[test]
fn the_what_if_names_each_survivors_own_threshold() {
    let args = [
        "simulate",
        "--sim",
        "--fleet",
        FIXTURE,
        "--fail",
        "eu-west-1",
        "--start",
        START,
    ];
    let mut json = args.to_vec();
    json.extend(["--format", "json"]);
    let out = opsdeck(&json);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["threshold_ms"], 100.0);
    let own: Vec<(String, f64)> = j["survivors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["region"].as_str().unwrap().to_string(),
                s["threshold_ms"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        own,
        [
            ("us-east-1".to_string(), 50.0),
            ("ap-southeast-1".to_string(), 150.0)
        ]
    );
    let out = opsdeck(&args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("THRESHOLD Average 100 ms (us-east-1 50 ms, ap-southeast-1 150 ms)"),
        "{text}"
    );
}

/// The rejection of `text`: (line, column, message).
fn rejected(text: &str) -> (usize, usize, String) {
    match Fleet::parse(text, Path::new("f.toml")) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(FleetError::Invalid {
            line,
            column,
            message,
            ..
        }) => (line, column, message),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_bad_override_is_refused_where_it_stands() {
    let good = std::fs::read_to_string(FIXTURE).unwrap();
    let line_of =
        |text: &str, needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let col_of = |text: &str, needle: &str| {
        let l = text.lines().find(|l| l.contains(needle)).unwrap();
        l[..l.find(needle).unwrap()].chars().count() + 1
    };
    for (to, words) in [
        (
            "thresholds = { latency_ms = -50.0 }",
            &[
                "region us-east-1",
                "thresholds.latency_ms",
                "-50",
                "greater than 0",
            ][..],
        ),
        (
            "thresholds = { latency_ms = nan }",
            &["region us-east-1", "thresholds.latency_ms", "finite"][..],
        ),
        (
            "thresholds = { error_rate = 1.5 }",
            &[
                "region us-east-1",
                "thresholds.error_rate",
                "1.5",
                "between 0 and 1",
            ][..],
        ),
    ] {
        let text = good.replacen("thresholds = { latency_ms = 50.0 }", to, 1);
        let (line, column, message) = rejected(&text);
        assert_eq!(line, line_of(&text, to), "{to}: {message}");
        let key = to
            .trim_start_matches("thresholds = { ")
            .split(' ')
            .next()
            .unwrap();
        assert!(
            column >= col_of(&text, key),
            "{to}: column {column} is before the key `{key}`: {message}"
        );
        for w in words {
            assert!(message.contains(w), "{to}: `{message}` lacks `{w}`");
        }
    }
    // A key that is not a threshold is named too.
    let text = good.replacen(
        "thresholds = { latency_ms = 50.0 }",
        "thresholds = { latncy_ms = 50.0 }",
        1,
    );
    let (line, _, message) = rejected(&text);
    assert_eq!(line, line_of(&text, "latncy_ms"), "{message}");
    assert!(message.contains("latncy_ms"), "{message}");
    // The file path and position lead the error's text.
    let err = Fleet::parse(
        &good.replacen("latency_ms = 50.0", "latency_ms = -1.0", 1),
        Path::new("fleets/x.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with(&format!(
            "fleets/x.toml:{}:",
            line_of(&good, "latency_ms = 50.0")
        )),
        "{err}"
    );
}
