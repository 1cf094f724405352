//! Issue 9, points 4 and 5: every number and name of a fleet file is validated, and every
//! rejection (control characters and invalid UTF-8 included) names file:line:column and says in
//! words what is wrong.

use opsdeck::fleet::{Fleet, FleetError, DEFAULT_FLEET};
use std::path::Path;

/// The built-in fleet with `from` replaced by `to` (once, where it first appears).
fn variant(from: &str, to: &str) -> String {
    assert!(DEFAULT_FLEET.contains(from), "{from} not in the fleet");
    DEFAULT_FLEET.replacen(from, to, 1)
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
        }) => {
            assert!(
                !message.trim().is_empty(),
                "empty message at {line}:{column}"
            );
            (line, column, message)
        }
        Err(e) => panic!("not an Invalid error: {e}"),
    }
}

/// 1-based line of the first line containing `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

/// The value `from` → `to` is refused on the line where it stands, with a message containing
/// every word of `words`.
fn refused(from: &str, to: &str, words: &[&str]) {
    let text = variant(from, to);
    let (line, _, message) = rejected(&text);
    assert_eq!(line, line_of(&text, to), "{to}: wrong line for `{message}`");
    for w in words {
        assert!(message.contains(w), "{to}: `{message}` lacks `{w}`");
    }
}

#[test]
fn thresholds_and_budgets_must_be_finite_and_in_range() {
    refused(
        "rps_per_task = 150.0",
        "rps_per_task = nan",
        &["rps_per_task", "finite"],
    );
    refused(
        "replica_lag_s = 10.0",
        "replica_lag_s = nan",
        &["replica_lag_s", "finite"],
    );
    refused(
        "latency_ms = 200.0",
        "latency_ms = -5",
        &["latency_ms", "-5", "greater than 0"],
    );
    refused(
        "latency_ms = 200.0",
        "latency_ms = inf",
        &["latency_ms", "finite"],
    );
    refused(
        "rpo_budget_s = 60",
        "rpo_budget_s = -60",
        &["rpo_budget_s", "-60"],
    );
    refused(
        "rto_budget_s = 300",
        "rto_budget_s = 0",
        &["rto_budget_s", "greater than 0"],
    );
    refused("error_rate = 0.05", "error_rate = nan", &["error_rate"]);
}

#[test]
fn refresh_intervals_have_minimums() {
    let with = |refresh: &str| format!("{DEFAULT_FLEET}\n[refresh]\n{refresh}\n");
    for (refresh, words) in [
        (
            "timeout_s = 0",
            &["timeout_s", "0 would fail every call"][..],
        ),
        ("metrics_s = 0", &["metrics_s", "between 10"][..]),
        ("metrics_s = 5", &["metrics_s", "allow_fast"][..]),
        ("probe_s = 0", &["probe_s", "between 1"][..]),
    ] {
        let text = with(refresh);
        let (line, _, message) = rejected(&text);
        assert_eq!(line, line_of(&text, refresh), "{refresh}: {message}");
        for w in words {
            assert!(message.contains(w), "{refresh}: `{message}` lacks `{w}`");
        }
    }
    // An emulator may poll fast when the file says so.
    Fleet::parse(
        &with("metrics_s = 1\nallow_fast = true"),
        Path::new("f.toml"),
    )
    .unwrap();
}

#[test]
fn names_must_be_real_unique_and_non_empty() {
    refused(
        "name = \"us-east-1\"",
        "name = \"mars-north-9\"",
        &[
            "mars-north-9",
            "not an AWS region",
            "us-east-1",
            "eu-west-1",
        ],
    );
    refused(
        "alb = \"app/atlas-us/7a3f9e21c4b80d15\"",
        "alb = \"\"",
        &["alb", "empty"],
    );
    refused(
        "zone_id = \"Z0ABC\", record = \"api.atlas-crm.com.\", set_identifier = \"us-east-1\"",
        "zone_id = \"\", record = \"api.atlas-crm.com.\", set_identifier = \"us-east-1\"",
        &["zone_id", "empty"],
    );
    // The second region to use an identifier is the one pointed at.
    let text = variant(
        "set_identifier = \"us-east-1\"",
        "set_identifier = \"eu-west-1\"",
    );
    let (line, _, message) = rejected(&text);
    let second = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("set_identifier = \"eu-west-1\""))
        .nth(1)
        .unwrap()
        .0;
    assert_eq!(line, second + 1, "{message}");
    assert!(
        message.contains("already used by region `eu-west-1`"),
        "{message}"
    );
}

#[test]
fn sim_values_must_mean_something() {
    refused(
        "tasks = 3,",
        "tasks = 0,",
        &["sim.tasks", "at least one task"],
    );
    refused(
        "peak_rps = 430.0",
        "peak_rps = -520.0",
        &["peak_rps", "-520"],
    );
    refused(
        "link_ms = 75.0",
        "link_ms = 1e308",
        &["link_ms", "between 0 and 10000"],
    );
    refused(
        "utc_offset_h = -5.0",
        "utc_offset_h = nan",
        &["utc_offset_h", "finite"],
    );
    refused("weight = 100,", "weight = 300,", &["weight", "0 to 255"]);
}

#[test]
fn probe_limits_are_validated() {
    let text = format!("{DEFAULT_FLEET}\n[probe]\nmax_body_bytes = 0\n");
    let (line, _, message) = rejected(&text);
    assert_eq!(line, line_of(&text, "max_body_bytes"));
    assert!(message.contains("max_body_bytes"), "{message}");
    let text = format!("{DEFAULT_FLEET}\n[probe]\ndeadline_s = 0.0\n");
    assert!(rejected(&text).2.contains("deadline_s"));
}

#[test]
fn every_shipped_fleet_still_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fleets");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            Fleet::load(&path).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 4, "{n} fleets");
}

#[test]
fn a_control_character_in_a_comment_is_named_in_words() {
    let (line, column, message) = rejected("name = \"x\"\n# \u{7}\n");
    assert_eq!((line, column), (2, 3));
    assert!(message.contains("U+0007"), "{message}");
}

#[test]
fn invalid_utf8_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, b"name = \"x\"\n\n# caf\xe9\n").unwrap();
    let err = Fleet::load(&path).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{}:3:6: ", path.display())),
        "{err}"
    );
    assert!(err.contains("not valid UTF-8"), "{err}");
}

#[test]
fn escape_sequences_in_the_fleet_name_are_stripped_at_load() {
    let text = DEFAULT_FLEET.replacen(
        "name = \"atlas-crm\"",
        "name = \"us\\u001b]0;PWNED\\u0007\\u001b[2J\"",
        1,
    );
    let fleet = Fleet::parse(&text, Path::new("f.toml")).unwrap();
    assert_eq!(fleet.name, "us");
}
