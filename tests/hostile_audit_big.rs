//! Issue 9, point 3 (c): what the guards need is read from the end of the audit log, never all of
//! it. A 100,000-record log is generated from real records; the guard queries answer from its
//! newest part and the bytes they read stay bounded, whatever the size of the file.

use opsdeck::ops::audit::file::{scan_back, CHUNK, LOOKBACK};
use opsdeck::ops::audit::tail::VIEW_RECORDS;
use opsdeck::ops::AuditLog;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Bytes this process has read through read(2) and friends, from /proc/self/io.
fn rchar() -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").unwrap();
    io.lines()
        .find_map(|l| l.strip_prefix("rchar: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// A drain and a scale of the simulated fleet, as the real binary records them: four lines.
fn real_records(dir: &Path) -> Vec<String> {
    let audit = dir.join("seed.jsonl");
    for args in [
        &[
            "act",
            "drain",
            "--region",
            "us-east-1",
            "--execute",
            "--confirm",
            "us-east-1",
            "--override",
            "survivor-capacity",
            "--confirm-override",
            "survivor-capacity",
        ][..],
        &[
            "act",
            "scale",
            "--region",
            "ap-southeast-1",
            "--service",
            "api",
            "--desired",
            "4",
            "--execute",
            "--confirm",
            "ap-southeast-1",
        ][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
            .args(args)
            .args(["--start", "2026-11-22T14:00:00Z", "--audit-log"])
            .arg(&audit)
            .env("OPSDECK_STATE_DIR", dir)
            .env("OPSDECK_CONFIG", dir.join("config"))
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_PROFILE")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = std::fs::read_to_string(&audit).unwrap();
    text.lines().map(String::from).collect()
}

/// `audit.jsonl` in `dir`: `rounds` × the four seed records (a drain and a scale, under other
/// ids, a month earlier), then the lines of `tail` as they are.
fn big_log(dir: &Path, seed: &[String], rounds: usize, tail: &[Vec<u8>]) -> PathBuf {
    let (drain, scale) = (&seed[..2], &seed[2..]);
    let path = dir.join("audit.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let (drain_id, scale_id) = (id(&drain[0]), id(&scale[0]));
    for i in 0..rounds {
        for line in drain.iter().chain(scale) {
            let old = line
                .replace(&drain_id, &format!("old-d-{i}"))
                .replace(&scale_id, &format!("old-s-{i}"))
                .replace("2026-11-22T14:", "2026-10-01T14:");
            writeln!(out, "{old}").unwrap();
        }
    }
    for line in tail {
        out.write_all(line).unwrap();
        out.write_all(b"\n").unwrap();
    }
    drop(out);
    path
}

fn id(line: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    v["id"].as_str().unwrap().to_string()
}

#[test]
fn guard_queries_read_only_the_end_of_a_100k_record_log() {
    let dir = tempfile::tempdir().unwrap();
    let seed = real_records(dir.path());
    assert_eq!(seed.len(), 4);
    let scale = &seed[2..];
    let scale_id = id(&scale[0]);
    // 99,996 old records (drains and scales under other ids), then the four real ones.
    let tail: Vec<Vec<u8>> = seed.iter().map(|l| l.clone().into_bytes()).collect();
    let path = big_log(dir.path(), &seed, 24_999, &tail);
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(
        size > 4 * LOOKBACK,
        "a log much larger than the lookback: {size} bytes"
    );

    let log = AuditLog::new(&path);
    let before = rchar();
    let weight = log.recorded_weight_of("atlas-crm", "us-east-1").unwrap();
    let last = log
        .last_reversible_of("atlas-crm", opsdeck::fleet::SourceKind::Sim)
        .unwrap()
        .unwrap();
    let now = chrono::Utc::now();
    let changed = log
        .last_change_since(
            "atlas-crm",
            &last.plan.resource,
            now - chrono::Duration::days(3650),
        )
        .unwrap();
    let open = log.unended().unwrap();
    let read = rchar() - before;

    assert_eq!(
        weight,
        Some(100),
        "the newest drain recorded the weight before it"
    );
    assert_eq!(
        last.id, scale_id,
        "the newest reversible operation is the scale"
    );
    let requested: serde_json::Value = serde_json::from_str(&scale[0]).unwrap();
    let requested_at: chrono::DateTime<chrono::Utc> =
        requested["time"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        changed,
        Some(requested_at),
        "the scale's request is the last change"
    );
    assert!(open.is_empty(), "every operation has its ended record");
    // Two queries stop at the newest records; the last change (records are in clock order per
    // process only, tests/hostile_audit_order.rs) and the interrupted-operation check read the
    // whole lookback, never more.
    assert!(
        read <= 2 * LOOKBACK + 2 * CHUNK as u64 + 64 * 1024,
        "read {read} bytes of a {size}-byte log"
    );
    let stats = scan_back(&path, LOOKBACK, |_| false).unwrap();
    assert_eq!(
        stats.bytes_read, CHUNK as u64,
        "the newest record is in the last chunk"
    );
}

/// The console's audit view (`AuditLog::read_last`, what the console's loop calls when the view
/// opens) reads the newest records from the end of a 50,000-record log: the bytes it reads are
/// those records' (plus at most two chunks), not the log; the records are the newest, newest
/// first; unreadable lines among them are counted and skipped.
#[test]
fn the_audit_view_reads_only_its_newest_records_of_a_big_log() {
    let dir = tempfile::tempdir().unwrap();
    let seed = real_records(dir.path());
    let (drain_id, scale_id) = (id(&seed[0]), id(&seed[2]));
    // 240 newer records under ids new-*-N, a torn line and garbage that is not UTF-8 among the
    // newest 100.
    let mut tail: Vec<Vec<u8>> = Vec::new();
    for i in 0..60 {
        for line in &seed {
            let new = line
                .replace(&drain_id, &format!("new-d-{i}"))
                .replace(&scale_id, &format!("new-s-{i}"));
            tail.push(new.into_bytes());
        }
        if i == 40 {
            let torn = seed[1].as_bytes();
            tail.push(torn[..torn.len() / 2].to_vec());
        }
        if i == 50 {
            tail.push(b"{\"garbage\": \xff\xfe}".to_vec());
        }
    }
    let path = big_log(dir.path(), &seed, 12_500, &tail);
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size > 3 * LOOKBACK, "a big log: {size} bytes");

    let log = AuditLog::new(&path);
    let before = rchar();
    let started = std::time::Instant::now();
    let view = log.read_last(VIEW_RECORDS).unwrap();
    let took = started.elapsed();
    let read = rchar() - before;

    let records: Vec<&Vec<u8>> = tail
        .iter()
        .filter(|l| serde_json::from_slice::<serde_json::Value>(l).is_ok())
        .collect();
    let newest: Vec<(String, String)> = records
        .iter()
        .rev()
        .take(VIEW_RECORDS)
        .map(|l| {
            let v: serde_json::Value = serde_json::from_slice(l).unwrap();
            (
                v["id"].as_str().unwrap().into(),
                v["phase"].as_str().unwrap().into(),
            )
        })
        .collect();
    let shown: Vec<(String, String)> = view
        .records
        .iter()
        .map(|r| {
            let phase = serde_json::to_value(r.phase).unwrap();
            (r.id.clone(), phase.as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(shown.len(), VIEW_RECORDS);
    assert_eq!(shown, newest, "the newest records, newest first");
    assert_eq!(shown[0], ("new-s-59".to_string(), "ended".to_string()));
    assert_eq!(view.bad_lines, 2, "the torn line and the garbage, skipped");
    assert!(view.partial, "older records are not loaded");
    // What was read: the lines from the 200th newest record to the end, and at most two chunks
    // around them (chunk alignment), out of the whole log.
    let start = tail.len() - (VIEW_RECORDS + 2);
    let wanted: u64 = tail[start..].iter().map(|l| l.len() as u64 + 1).sum();
    eprintln!(
        "figures: the view read {read} bytes ({} records' lines: {wanted} bytes) of a {size}-byte log in {} ms",
        VIEW_RECORDS,
        took.as_millis()
    );
    assert!(
        read <= wanted + 2 * CHUNK as u64,
        "read {read} bytes for {wanted} bytes of records, of a {size}-byte log"
    );
}
