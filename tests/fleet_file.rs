//! The fleet file: the contract keys, defaults, and broken files named with file, line and column.

use opsdeck::fleet::{Fleet, Role};
use std::path::Path;

const MINIMAL: &str = r#"name = "atlas-crm"
[[region]]
name = "eu-west-1"
role = "primary"
alb = "app/atlas-eu/50dc6c495c0c9188"
ecs = [{ cluster = "atlas-eu", service = "api" }]
rds = "atlas-db-eu"
cache = "atlas-redis-eu-001"
health_url = "https://eu-west-1.atlas-crm.com/health/regional"
route53 = { zone_id = "Z0ABC", record = "api.atlas-crm.com.", set_identifier = "eu-west-1" }
"#;

fn err(text: &str) -> String {
    Fleet::parse(text, Path::new("fleets/broken.toml"))
        .unwrap_err()
        .to_string()
}

#[test]
fn contract_keys_and_defaults() {
    let f = Fleet::parse(MINIMAL, Path::new("x.toml")).unwrap();
    assert_eq!(f.thresholds.latency_ms, 200.0);
    assert_eq!(f.thresholds.error_rate, 0.05);
    assert_eq!(f.thresholds.replica_lag_s, 10.0);
    assert_eq!(f.thresholds.cache_hit_ratio_min, 0.80);
    assert_eq!(f.capacity.rps_per_task, 150.0);
    assert_eq!(f.metrics.latency_stats, vec!["p50", "p99"]);
    assert_eq!(f.threshold_stat(), "p99");
    let r = &f.regions[0];
    assert_eq!(r.role, Role::Primary);
    assert_eq!(r.ecs[0].service, "api");
    assert_eq!(r.route53.as_ref().unwrap().set_identifier, "eu-west-1");
}

#[test]
fn builtin_fleet_has_three_regions_one_primary() {
    let f = Fleet::builtin();
    assert_eq!(f.regions.len(), 3);
    assert_eq!(f.primary().unwrap().name, "eu-west-1");
}

#[test]
fn syntax_error_names_file_line_and_column() {
    let text = MINIMAL.replace("role = \"primary\"", "role = primary");
    let e = err(&text);
    assert!(e.starts_with("fleets/broken.toml:4:8:"), "{e}");
}

#[test]
fn unknown_role_is_rejected_with_its_line() {
    let text = MINIMAL.replace("role = \"primary\"", "role = \"leader\"");
    let e = err(&text);
    assert!(e.starts_with("fleets/broken.toml:4:"), "{e}");
    assert!(e.contains("leader"), "{e}");
}

#[test]
fn misspelt_key_is_rejected() {
    let text = MINIMAL.replace("[[region]]", "[thresholds]\nlatncy_ms = 3\n[[region]]");
    let e = err(&text);
    assert!(e.starts_with("fleets/broken.toml:3:"), "{e}");
    assert!(e.contains("latncy_ms"), "{e}");
}

#[test]
fn semantic_errors_point_at_the_offending_line() {
    let twice = format!("{MINIMAL}[[region]]\nname = \"eu-west-1\"\nrole = \"secondary\"\n");
    let e = err(&twice);
    assert!(e.starts_with("fleets/broken.toml:12:"), "{e}");
    assert!(e.contains("listed twice"), "{e}");

    let no_primary = MINIMAL.replace("\"primary\"", "\"secondary\"");
    assert!(err(&no_primary).contains("no region has `role = \"primary\"`"));

    let bad_rate = MINIMAL.replace("[[region]]", "[thresholds]\nerror_rate = 5.0\n[[region]]");
    let e = err(&bad_rate);
    assert!(e.starts_with("fleets/broken.toml:3:"), "{e}");
    assert!(e.contains("between 0 and 1"), "{e}");

    assert!(err("name = \"x\"\n").contains("at least one region"));
}

#[test]
fn missing_file_names_the_path() {
    let e = Fleet::load(Path::new("/nonexistent/fleet.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/fleet.toml"), "{e}");
}
