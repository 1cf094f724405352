//! Issue 9, points 3 and 8: the audit log heals itself (a torn last line gets its newline before
//! the next record, bad lines are skipped and reported, never a reason to refuse), only a regular
//! file is accepted, and records are created private (0600 files, 0700 directories).

use opsdeck::ops::AuditLog;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const START: &str = "2026-11-22T14:00:00Z";

fn opsdeck(state: &Path, audit: Option<&Path>, args: &[&str]) -> Command {
    // The built-in fleet without the cooldown, so that operations may follow each other.
    // Every test keeps its state dir at DIR/state and the fleet file beside it.
    let fleet = state.parent().unwrap().join("fleet.toml");
    if !fleet.exists() {
        let text = format!(
            "{}\n[guards]\ncooldown_s = 0\n",
            opsdeck::fleet::DEFAULT_FLEET
        );
        std::fs::write(&fleet, text).unwrap();
    }
    let mut c = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    c.args(args)
        .args(["--start", START, "--sim", "--fleet"])
        .arg(&fleet);
    if let Some(a) = audit {
        c.arg("--audit-log").arg(a);
    }
    c.env("OPSDECK_STATE_DIR", state)
        .env("OPSDECK_CONFIG", state.join("config"))
        .env("USER", "oncall")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env_remove("OPSDECK_TEST_PAUSE_BEFORE_VERIFY_MS")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn scale(state: &Path, audit: Option<&Path>, desired: &str) -> Output {
    opsdeck(
        state,
        audit,
        &[
            "act",
            "scale",
            "--region",
            "ap-southeast-1",
            "--service",
            "api",
            "--desired",
            desired,
            "--execute",
            "--confirm",
            "ap-southeast-1",
        ],
    )
    .output()
    .unwrap()
}

fn undo(state: &Path, audit: &Path) -> Output {
    opsdeck(
        state,
        Some(audit),
        &["act", "undo", "--execute", "--confirm", "ap-southeast-1"],
    )
    .output()
    .unwrap()
}

fn ok(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A temp dir, its state dir (not created yet) and an audit log beside it.
fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let audit = dir.path().join("audit.jsonl");
    (dir, state, audit)
}

#[test]
fn a_torn_last_line_never_glues_onto_the_next_record() {
    let (_dir, state, audit) = setup();
    ok(&scale(&state, Some(&audit), "4"));
    // The disk filled mid-record: half a line, no newline.
    let first = std::fs::read_to_string(&audit).unwrap();
    let torn = &first.lines().next().unwrap()[..120];
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&audit)
        .unwrap();
    std::io::Write::write_all(&mut f, torn.as_bytes()).unwrap();
    drop(f);
    ok(&scale(&state, Some(&audit), "5"));
    let report = AuditLog::new(&audit).read_report().unwrap();
    assert_eq!(report.bad_lines, vec![3], "the fragment is line 3, alone");
    assert_eq!(
        report.records.len(),
        4,
        "both records of the second operation parse"
    );
    let ops: Vec<String> = report.records.iter().map(|r| r.op.summary()).collect();
    assert!(ops[2].contains('5') && ops[3].contains('5'), "{ops:?}");
}

#[test]
fn garbage_and_invalid_utf8_lines_are_skipped_and_undo_still_works() {
    let (_dir, state, audit) = setup();
    ok(&scale(&state, Some(&audit), "4"));
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&audit)
        .unwrap();
    std::io::Write::write_all(&mut f, b"\xff\xfe not a record \xc3\n{\"half\": \n").unwrap();
    drop(f);
    ok(&scale(&state, Some(&audit), "5"));
    let report = AuditLog::new(&audit).read_report().unwrap();
    assert_eq!(report.bad_lines, vec![3, 4]);
    assert_eq!(report.records.len(), 4);
    // Undo finds the newest reversible operation past the garbage. (Each CLI run starts the
    // simulated fleet afresh, so the undo itself has nothing left to change.)
    let out = undo(&state, &audit);
    ok(&out);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!(
            "undoing scale atlas-ap/api in ap-southeast-1 to 5 (audit id {})",
            report.records[3].id
        )),
        "{said}"
    );
    // What was read is said in the log file, with the line numbers.
    let log = std::fs::read_to_string(state.join("opsdeck.log")).unwrap_or_default();
    assert!(
        log.contains("skipped 2 unreadable line(s): [3, 4]"),
        "{log}"
    );
}

#[test]
fn a_device_is_refused_as_audit_log_with_a_clear_error() {
    let (_dir, state, _) = setup();
    let mut child = opsdeck(
        &state,
        Some(Path::new("/dev/full")),
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
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Today's failure mode is reading /dev/full without end: give it a deadline, not a hang.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("opsdeck kept reading /dev/full");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!status.success());
    assert!(err.contains("/dev/full: not a regular file"), "{err}");
}

#[test]
fn records_and_logs_are_private() {
    let (dir, state, _) = setup();
    ok(&scale(&state, None, "4"));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700, "state dir");
    assert_eq!(mode(&state.join("audit.jsonl")), 0o600, "audit log");
    assert_eq!(mode(&state.join("opsdeck.log")), 0o600, "opsdeck.log");
    // An audit log in a directory of its own: the directory is made private too.
    let own = dir.path().join("trail/deep/audit.jsonl");
    ok(&scale(&state, Some(&own), "5"));
    assert_eq!(mode(&own), 0o600);
    assert_eq!(mode(own.parent().unwrap()), 0o700);
}
