//! The cooldown reads the audit log from its end, and records are in clock order per process
//! only: a simulated fleet's records carry its virtual `--start` time (years back, perhaps) and
//! sit among other records of the same fleet. A record older than the cooldown window that
//! follows a newer one in the file must not end the look-back (that let a change inside the
//! cooldown go unseen: the operation ran).

use opsdeck::ops::audit::{last_change, AuditRecord};
use opsdeck::ops::AuditLog;
use std::path::Path;
use std::process::{Command, Output};

/// The built-in fleet with a ten-minute cooldown.
fn fleet(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("fleet.toml");
    let text = format!(
        "{}\n[guards]\ncooldown_s = 600\n",
        opsdeck::fleet::DEFAULT_FLEET
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `act scale` of `region`'s api service on the simulated fleet started at `start`.
fn scale(dir: &Path, start: &str, region: &str, desired: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(["act", "scale", "--region", region, "--service", "api"])
        .args(["--desired", desired, "--execute", "--confirm", region])
        .args(["--start", start, "--sim", "--fleet"])
        .arg(fleet(dir))
        .arg("--audit-log")
        .arg(dir.join("audit.jsonl"))
        .env("OPSDECK_STATE_DIR", dir.join("state"))
        .env("OPSDECK_CONFIG", dir.join("config"))
        .env("USER", "oncall")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env_remove("OPSDECK_TEST_PAUSE_BEFORE_VERIFY_MS")
        .env_remove("OPSDECK_TEST_CLOCK_OFFSET_S")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn an_older_record_after_a_recent_change_does_not_hide_it_from_the_cooldown() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let first = scale(d, "2026-11-22T14:00:00Z", "ap-southeast-1", "4");
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    // Another run of the same fleet, its virtual clock six years back, changes another region.
    let other = scale(d, "2020-01-01T00:00:00Z", "eu-west-1", "6");
    assert_eq!(other.status.code(), Some(0), "{}", text(&other));
    let times: Vec<String> = AuditLog::new(d.join("audit.jsonl"))
        .read()
        .unwrap()
        .iter()
        .map(|r| r.time.to_rfc3339())
        .collect();
    assert_eq!(times.len(), 4, "both runs recorded: {times:?}");
    assert!(times[2].starts_with("2020-"), "{times:?}");
    // Two minutes after the first change, ten minutes of cooldown: refused.
    let again = scale(d, "2026-11-22T14:02:00Z", "ap-southeast-1", "5");
    let says = text(&again);
    assert_ne!(
        again.status.code(),
        Some(0),
        "ran inside the cooldown: {says}"
    );
    assert!(
        says.contains("blocked by cooldown") && says.contains("changed 120 s ago"),
        "{says}"
    );
}

/// Records of the file, newest last, with their times and sources rewritten.
fn records_of(dir: &Path) -> Vec<AuditRecord> {
    let first = scale(dir, "2026-11-22T14:00:00Z", "ap-southeast-1", "4");
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    AuditLog::new(dir.join("audit.jsonl")).read().unwrap()
}

#[test]
fn the_newest_change_wins_wherever_it_sits_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let real = records_of(dir.path());
    assert_eq!(real.len(), 2, "a requested and an ended record");
    let (fleet, resource) = (real[0].fleet.clone(), real[0].plan.resource.clone());
    let now = chrono::Utc::now();
    let at = |r: &AuditRecord, t: chrono::DateTime<chrono::Utc>, id: &str| {
        let mut r = r.clone();
        r.time = t;
        r.id = id.to_string();
        r
    };
    let recent = now - chrono::Duration::seconds(60);
    let ancient = now - chrono::Duration::days(2200);
    let older = now - chrono::Duration::days(3);
    // A recent change (AWS, wall clock), then the same resource changed by a simulated run
    // whose clock is years back, then an old unrelated record, in file order.
    let log = AuditLog::new(dir.path().join("order.jsonl"));
    let mut written = Vec::new();
    for r in [
        at(&real[0], older, "a"),
        at(&real[1], older, "a"),
        at(&real[0], recent, "b"),
        at(&real[1], recent, "b"),
        at(&real[0], ancient, "c"),
        at(&real[1], ancient, "c"),
    ] {
        log.append(&r).unwrap();
        written.push(r);
    }
    let since = now - chrono::Duration::seconds(600);
    let found = log.last_change_since(&fleet, &resource, since).unwrap();
    assert_eq!(found, Some(recent));
    assert_eq!(found, last_change(&written, &fleet, &resource));
    // Only old records after it, of another resource: still seen.
    let mut other = at(&real[0], ancient, "d");
    other.plan.resource = "another".into();
    log.append(&other).unwrap();
    assert_eq!(
        log.last_change_since(&fleet, &resource, since).unwrap(),
        Some(recent)
    );
}
