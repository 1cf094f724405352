//! Issue 9, point 3 (c): what the guards need is read from the end of the audit log, never all of
//! it. A 100,000-record log is generated from real records; the guard queries answer from its
//! newest part and the bytes they read stay bounded, whatever the size of the file.

use opsdeck::ops::audit::file::{scan_back, CHUNK, LOOKBACK};
use opsdeck::ops::AuditLog;
use std::io::Write;
use std::path::Path;
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

#[test]
fn guard_queries_read_only_the_end_of_a_100k_record_log() {
    let dir = tempfile::tempdir().unwrap();
    let seed = real_records(dir.path());
    assert_eq!(seed.len(), 4);
    let (drain, scale) = (&seed[..2], &seed[2..]);
    let path = dir.path().join("audit.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    // 99,996 old records (drains and scales under other ids), then the four real ones.
    let id = |line: &str| -> String {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        v["id"].as_str().unwrap().to_string()
    };
    let (drain_id, scale_id) = (id(&drain[0]), id(&scale[0]));
    for i in 0..24_999 {
        for line in drain.iter().chain(scale) {
            let old = line
                .replace(&drain_id, &format!("old-d-{i}"))
                .replace(&scale_id, &format!("old-s-{i}"))
                .replace("2026-11-22T14:", "2026-10-01T14:");
            writeln!(out, "{old}").unwrap();
        }
    }
    for line in &seed {
        writeln!(out, "{line}").unwrap();
    }
    drop(out);
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
