//! Property tests (issue 9): mutated fleet, theme and keymap files and mangled audit logs never
//! panic, and every rejection names file:line:column with a message in words. Few cases here so
//! the suite stays fast; `scripts/fuzz-long.sh` runs the same generators with `PROPTEST_CASES`.

use opsdeck::config::{ConfigError, Keymap, Theme};
use opsdeck::fleet::{Fleet, FleetError, DEFAULT_FLEET};
use opsdeck::ops::audit::file::scan_back;
use opsdeck::ops::AuditLog;
use proptest::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

const THEME: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/themes/default.toml"));
const KEYMAP: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/keymaps/vim.toml"));

/// Cases per property: `PROPTEST_CASES` when set (the long run), else 64.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(64);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// What a hostile edit puts in: control characters, escapes, bad numbers, TOML punctuation.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\u{7}".to_string()),
        Just("\u{1b}]0;PWNED\u{7}".to_string()),
        Just("\u{1b}[2J".to_string()),
        Just("\u{0}".to_string()),
        Just("\u{7f}".to_string()),
        Just("\u{202e}".to_string()),
        Just("\r".to_string()),
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("-inf".to_string()),
        Just("-1".to_string()),
        Just("0".to_string()),
        Just("1e308".to_string()),
        Just("4294967296".to_string()),
        Just("\"".to_string()),
        Just("[".to_string()),
        Just("]]".to_string()),
        Just("=".to_string()),
        Just("\n".to_string()),
        Just("{".to_string()),
        Just("1979-05-27".to_string()),
        "[a-z_]{1,12}",
        "\\PC{0,8}",
    ]
}

#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, String),
    Delete(usize, usize),
    /// Replace the n-th number (digits) of the text.
    Number(usize, String),
    DuplicateLine(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), fragment()).prop_map(|(a, f)| Edit::Insert(a, f)),
        (any::<usize>(), 1usize..40).prop_map(|(a, n)| Edit::Delete(a, n)),
        (any::<usize>(), fragment()).prop_map(|(a, f)| Edit::Number(a, f)),
        any::<usize>().prop_map(Edit::DuplicateLine),
    ]
}

fn boundary(text: &str, at: usize) -> usize {
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut t = text.to_string();
    for e in edits {
        match e {
            Edit::Insert(at, f) => {
                let at = boundary(&t, *at);
                t.insert_str(at, f);
            }
            Edit::Delete(at, n) => {
                let a = boundary(&t, *at);
                let b = boundary(&t, a + n).max(a);
                t.replace_range(a..b, "");
            }
            Edit::Number(n, f) => {
                let numbers: Vec<(usize, usize)> = {
                    let mut v = Vec::new();
                    let bytes = t.as_bytes();
                    let mut i = 0;
                    while i < bytes.len() {
                        if bytes[i].is_ascii_digit() {
                            let s = i;
                            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.')
                            {
                                i += 1;
                            }
                            v.push((s, i));
                        }
                        i += 1;
                    }
                    v
                };
                if !numbers.is_empty() {
                    let (a, b) = numbers[n % numbers.len()];
                    t.replace_range(a..b, f);
                }
            }
            Edit::DuplicateLine(n) => {
                let lines: Vec<&str> = t.lines().collect();
                if !lines.is_empty() {
                    let l = lines[n % lines.len()].to_string();
                    t = format!("{t}\n{l}\n");
                }
            }
        }
    }
    t
}

/// A message a person can act on: words, and nothing that drives a terminal.
fn assert_words(message: &str, text: &str, line: usize, column: usize) {
    assert!(
        message.chars().filter(|c| c.is_alphabetic()).count() >= 3,
        "no words in `{message}` for:\n{text}"
    );
    assert!(
        !message.chars().any(|c| c.is_control()),
        "control character in `{message:?}`"
    );
    let lines = text.split('\n').count();
    assert!(
        line >= 1 && line <= lines && column >= 1,
        "{line}:{column} outside the file ({lines} lines): {message}"
    );
}

fn check_config(err: ConfigError, text: &str) {
    match err {
        ConfigError::Syntax {
            line,
            column,
            message,
            ..
        }
        | ConfigError::Invalid {
            line,
            column,
            message,
            ..
        } => assert_words(&message, text, line, column),
        other => panic!("a file's error without a position: {other}"),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_fleet_files_never_panic_and_are_rejected_with_words(edits in prop::collection::vec(edit(), 1..6)) {
        let text = apply(DEFAULT_FLEET, &edits);
        match Fleet::parse(&text, Path::new("f.toml")) {
            Ok(fleet) => {
                prop_assert!(!fleet.name.chars().any(|c| c.is_control()));
                for r in &fleet.regions {
                    let s = &r.sim;
                    prop_assert!(s.tasks.is_none_or(|t| t >= 1));
                    prop_assert!(s.peak_rps.is_none_or(|v| v.is_finite() && v >= 0.0));
                    prop_assert!(s.link_ms.is_none_or(|v| v.is_finite()));
                }
                prop_assert!(fleet.capacity.rps_per_task.is_finite() && fleet.capacity.rps_per_task > 0.0);
                prop_assert!(fleet.thresholds.latency_ms.is_finite() && fleet.thresholds.latency_ms > 0.0);
                prop_assert!(fleet.refresh.timeout_s >= 1 && fleet.refresh.metrics_s >= 10);
            }
            Err(FleetError::Invalid { line, column, message, .. }) => assert_words(&message, &text, line, column),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn fleet_files_with_bad_bytes_name_their_line(at in any::<usize>(), byte in 0x80u8..=0xff) {
        let mut bytes = DEFAULT_FLEET.as_bytes().to_vec();
        let at = at % bytes.len();
        bytes.insert(at, byte);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.toml");
        std::fs::write(&path, &bytes).unwrap();
        match Fleet::load(&path) {
            Ok(_) => {}
            Err(FleetError::Invalid { line, column, message, .. }) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                assert_words(&message, &text, line, column);
            }
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn mutated_themes_never_panic_and_are_rejected_with_words(edits in prop::collection::vec(edit(), 1..6)) {
        let text = apply(THEME, &edits);
        if let Err(e) = Theme::fallback().merge_file("t.toml", &text) {
            check_config(e, &text);
        }
    }

    #[test]
    fn mutated_keymaps_never_panic_and_are_rejected_with_words(edits in prop::collection::vec(edit(), 1..6)) {
        let text = apply(KEYMAP, &edits);
        let (mut keymap, _) = Keymap::load("default", None).unwrap();
        if let Err(e) = keymap.merge_file("k.toml", &text) {
            check_config(e, &text);
        }
    }

    #[test]
    fn mangled_audit_logs_are_read_forward_and_backward_alike(
        lines in prop::collection::vec(audit_line(), 0..24),
        newline_at_end in any::<bool>(),
        lookback in prop_oneof![Just(u64::MAX), 1u64..4096],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let mut bytes = lines.join(&b"\n"[..]);
        if newline_at_end && !bytes.is_empty() {
            bytes.push(b'\n');
        }
        std::fs::write(&path, &bytes).unwrap();
        let forward = AuditLog::new(&path).read_report().unwrap();
        let mut backward = Vec::new();
        let stats = scan_back(&path, lookback, |r| { backward.push(r.id); true }).unwrap();
        let ids: Vec<String> = forward.records.iter().rev().map(|r| r.id.clone()).collect();
        if lookback == u64::MAX {
            prop_assert_eq!(&backward, &ids);
            prop_assert_eq!(stats.bad_lines(), format!("{:?}", forward.bad_lines));
        } else {
            // A lookback sees the newest records only, in the same order.
            prop_assert!(ids.starts_with(&backward), "{:?} vs {:?}", backward, ids);
            prop_assert!(stats.bytes_read <= lookback);
        }
    }
}

/// Real audit records (from the binary, once), garbage, torn halves, invalid UTF-8, blanks.
fn audit_line() -> impl Strategy<Value = Vec<u8>> {
    let real = real_records();
    let n = real.len();
    prop_oneof![
        4 => (0..n, any::<u32>()).prop_map(move |(i, k)| real_records()[i].replace("\"id\":\"", &format!("\"id\":\"{k}-")).into_bytes()),
        1 => (0..n, 1usize..200).prop_map(|(i, cut)| {
            let l = real_records()[i].as_bytes();
            l[..cut.min(l.len() - 1)].to_vec()
        }),
        1 => prop::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..40),
        1 => Just(b"\xff\xfe\xc3 garbage".to_vec()),
        1 => Just(Vec::new()),
    ]
}

fn real_records() -> &'static Vec<String> {
    static RECORDS: OnceLock<Vec<String>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let audit = dir.path().join("a.jsonl");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
            .args([
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
            ])
            .args(["--start", "2026-11-22T14:00:00Z", "--audit-log"])
            .arg(&audit)
            .env("OPSDECK_STATE_DIR", dir.path())
            .env("OPSDECK_CONFIG", dir.path().join("config"))
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
        std::fs::read_to_string(&audit)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    })
}
