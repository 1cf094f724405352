//! The `[slo]` table of the fleet file (issue 13 §2): objectives and budgets, a region's own keys
//! over the fleet's, and every bad value refused at its file:line:column with what is wrong.

use opsdeck::fleet::{Fleet, FleetError};
use std::path::Path;

const GOOD: &str = r#"name = "riches"
[slo]
availability = 0.999
latency_ms = 200.0
latency_stat = "p99"
latency_target = 0.99
budget_usd = 2785.0

[[region]]
name = "us-east-1"
role = "primary"
slo = { latency_ms = 50.0 }
budget_usd = 905.0

[[region]]
name = "eu-west-1"
role = "secondary"
slo = { latency_ms = 100.0, availability = 0.9999 }

[[region]]
name = "ap-southeast-1"
role = "secondary"
slo = { latency_ms = 150.0 }
"#;

fn rejected(text: &str) -> (usize, usize, String) {
    match Fleet::parse(text, Path::new("f.toml")) {
        Err(FleetError::Invalid {
            line,
            column,
            message,
            ..
        }) => (line, column, message),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn line_col(text: &str, needle: &str) -> (usize, usize) {
    let line = text.lines().position(|l| l.contains(needle)).unwrap();
    let l = text.lines().nth(line).unwrap();
    (line + 1, l[..l.find(needle).unwrap()].chars().count() + 1)
}

#[test]
fn the_contract_keys_parse_with_per_region_overrides() {
    let f = Fleet::parse(GOOD, Path::new("f.toml")).unwrap();
    let us = f.slo_for("us-east-1");
    assert_eq!((us.latency_ms, us.availability), (50.0, 0.999));
    let eu = f.slo_for("eu-west-1");
    assert_eq!((eu.latency_ms, eu.availability), (100.0, 0.9999));
    assert_eq!(f.slo_for("ap-southeast-1").latency_ms, 150.0);
    assert_eq!(f.slo_for("ap-southeast-1").latency_stat, "p99");
    assert_eq!(f.budget_for("us-east-1"), Some(905.0));
    assert_eq!(f.budget_for("eu-west-1"), Some(940.0));
    assert_eq!(f.fleet_budget(), Some(2785.0));
}

#[test]
fn a_bad_value_is_refused_where_it_stands() {
    for (from, to, key, words) in [
        (
            "availability = 0.999",
            "availability = 1.0",
            "availability",
            &["slo.availability", "between 0 and 1"][..],
        ),
        (
            "latency_target = 0.99",
            "latency_target = -0.5",
            "latency_target",
            &["slo.latency_target"][..],
        ),
        (
            "latency_stat = \"p99\"",
            "latency_stat = \"p999x\"",
            "latency_stat",
            &["slo.latency_stat", "p999x", "not a latency statistic"][..],
        ),
        (
            "budget_usd = 2785.0",
            "budget_usd = -1.0",
            "budget_usd",
            &["slo.budget_usd", "greater than 0"][..],
        ),
        (
            "slo = { latency_ms = 50.0 }",
            "slo = { latency_ms = 0.0 }",
            "latency_ms = 0.0",
            &["region us-east-1: slo.latency_ms", "greater than 0"][..],
        ),
        (
            "budget_usd = 905.0",
            "budget_usd = inf",
            "budget_usd = inf",
            &["region us-east-1: budget_usd", "finite"][..],
        ),
        (
            "slo = { latency_ms = 150.0 }",
            "slo = { latency_ms = 150.0, latency_stat = \"median\" }",
            "latency_stat",
            &["region ap-southeast-1: slo.latency_stat", "median"][..],
        ),
    ] {
        let text = GOOD.replacen(from, to, 1);
        assert_ne!(text, GOOD, "{from}");
        let (line, column, message) = rejected(&text);
        let (want_line, want_col) = line_col(&text, to);
        assert_eq!(line, want_line, "{to}: {message}");
        let (_, key_col) = {
            let l = text.lines().nth(want_line - 1).unwrap();
            (0, l.find(key).unwrap() + 1)
        };
        assert!(
            column >= want_col.min(key_col) && column <= key_col.max(want_col) + to.len(),
            "{to}: column {column} not at the value: {message}"
        );
        for w in words {
            assert!(message.contains(w), "{to}: `{message}` lacks `{w}`");
        }
    }
}

#[test]
fn an_unknown_key_is_refused_by_name() {
    let text = GOOD.replacen("latency_target = 0.99", "latency_goal = 0.99", 1);
    let (line, _, message) = rejected(&text);
    assert_eq!(line, line_col(&text, "latency_goal").0, "{message}");
    assert!(message.contains("latency_goal"), "{message}");
    let text = GOOD.replacen(
        "slo = { latency_ms = 50.0 }",
        "slo = { budget_usd = 5.0 }",
        1,
    );
    let (line, _, message) = rejected(&text);
    assert_eq!(line, line_col(&text, "slo = { budget").0, "{message}");
}
