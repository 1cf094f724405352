//! Primary-region failure on the simulated KALDRIX fleet (issue 8, point 2): the failover order
//! picks the replica, the RPO comes from the last lag seen before replication stopped, the
//! `replication-broken` guard judges by that estimate, RTO lists the writer switch, and "writes
//! down since T" is said while no primary takes writes. Virtual time only.

use chrono::{DateTime, TimeZone, Utc};
use opsdeck::app::{update, Action, State};
use opsdeck::config::Theme;
use opsdeck::fleet::{Fleet, Reading, Replication, SourceKind};
use opsdeck::ops::guards::{self, GuardResult};
use opsdeck::ops::sim::{SimModel, SimTarget};
use opsdeck::ops::target::VerifyLimits;
use opsdeck::ops::whatif::{self, WhatIf};
use opsdeck::ops::{Op, Operator, Permission, Settings};
use opsdeck::source::sim::SimFleet;
use opsdeck::source::{Scenario, SourceEvent};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 14, 0, 0).unwrap()
}

fn kaldrix() -> Fleet {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fleets/kaldrix.toml");
    Fleet::load(Path::new(path)).expect("kaldrix loads")
}

/// KALDRIX after a minute of steady state, then `outage@us-east-1` (the primary) and `after_s`.
fn primary_outage(fleet: &Fleet, after_s: f64) -> (SimFleet, DateTime<Utc>, f64) {
    let mut sim = SimFleet::new(fleet, 7, start());
    sim.advance(60.0);
    let lag_before = lag_of(&sim, "us-west-2").expect("the replica's lag is read");
    let outage_at = sim.now();
    sim.inject("us-east-1", Scenario::Outage).unwrap();
    sim.advance(after_s);
    (sim, outage_at, lag_before)
}

fn lag_of(sim: &SimFleet, region: &str) -> Option<f64> {
    sim.readings().into_iter().find_map(|(r, x)| match x {
        Reading::Metrics(m) if r == region => m.replica_lag_s,
        _ => None,
    })
}

fn topology_of(sim: &SimFleet, region: &str) -> Replication {
    sim.readings()
        .into_iter()
        .find_map(|(r, x)| match x {
            Reading::Topology(t) if r == region => Some(t),
            _ => None,
        })
        .expect("a topology reading")
}

fn what_if(sim: &SimFleet, fleet: &Fleet, failed: &str) -> WhatIf {
    whatif::analyse(&SimTarget::view_of(sim), fleet, failed, &SimModel(sim)).unwrap()
}

fn operator(fleet: &Fleet, sim: SimFleet, dir: &Path) -> Operator {
    operator_on(fleet, Arc::new(Mutex::new(sim)), dir)
}

fn operator_on(fleet: &Fleet, model: Arc<Mutex<SimFleet>>, dir: &Path) -> Operator {
    let settings = Settings {
        permission: Permission::Allowed,
        audit_log: dir.join("audit.jsonl"),
        verify: VerifyLimits {
            limit: Duration::from_secs(120),
            poll: Duration::from_secs(5),
        },
    };
    Operator::new(
        fleet.clone(),
        Arc::new(SimTarget::new(model, true)),
        settings,
    )
}

fn rule<'a>(gs: &'a [GuardResult], name: &str) -> &'a GuardResult {
    gs.iter().find(|g| g.rule == name).expect("rule evaluated")
}

#[test]
fn a_broken_replica_keeps_the_last_lag_seen_before_its_source_went_down() {
    let fleet = kaldrix();
    let (sim, outage_at, lag_before) = primary_outage(&fleet, 180.0);
    assert!(lag_of(&sim, "us-west-2").is_none(), "no lag while broken");
    match topology_of(&sim, "us-west-2") {
        Replication::Broken {
            last_lag_s,
            last_seen,
            ..
        } => {
            let last = last_lag_s.expect("last lag kept");
            assert!(
                (last - lag_before).abs() < 0.05 && last > 0.1 && last < 2.0,
                "last lag {last} vs {lag_before} on screen before"
            );
            assert_eq!(last_seen, Some(outage_at));
        }
        other => panic!("expected broken replication, got {other:?}"),
    }
}

#[test]
fn before_the_outage_the_what_if_promotes_by_the_failover_order() {
    let fleet = kaldrix();
    let sim = SimFleet::new(&fleet, 7, start());
    let w = what_if(&sim, &fleet, "us-east-1");
    let p = w.promotion.expect("a promotion");
    assert_eq!(p.region, "us-west-2", "KALDRIX fails over to us-west-2");
    assert!(p.rpo_s.is_some_and(|r| r > 0.0 && r < 2.0), "{p:?}");
    assert!(!w.writes_down && w.writes_down_since.is_none());
    // Without the key: the serving replica region with the most capacity (us-west-2 has 3 tasks,
    // eu-west-1 2); with it reversed, eu-west-1.
    let mut by_capacity = fleet.clone();
    by_capacity.failover.order.clear();
    let w = what_if(&sim, &by_capacity, "us-east-1");
    assert_eq!(w.promotion.unwrap().region, "us-west-2");
    let mut reversed = fleet.clone();
    reversed.failover.order = vec!["eu-west-1".into(), "us-west-2".into()];
    let w = what_if(&sim, &reversed, "us-east-1");
    assert_eq!(w.promotion.unwrap().region, "eu-west-1");
}

#[test]
fn primary_outage_what_if_promotes_with_an_estimated_rpo_and_says_writes_are_down() {
    let fleet = kaldrix();
    let (sim, outage_at, lag_before) = primary_outage(&fleet, 180.0);
    let w = what_if(&sim, &fleet, "us-east-1");
    assert!(w.failed_is_primary && w.writes_down);
    assert_eq!(w.writes_down_since, Some(outage_at));
    let p = w.promotion.clone().expect("a replica can be promoted");
    assert_eq!(p.region, "us-west-2");
    let rpo = p.rpo_s.expect("numeric RPO");
    assert!((rpo - lag_before).abs() < 0.05, "{rpo} vs {lag_before}");
    assert_eq!(p.within_budget, Some(true));
    assert_eq!(p.rpo_observed_at, Some(outage_at));
    // RTO: detection, then DNS ∥ tasks ∥ (promotion → the application switches writer).
    let names: Vec<&str> = w.steps.iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.iter().any(|n| n.contains("health check")),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.contains("DNS")), "{names:?}");
    assert!(names.iter().any(|n| n.contains("PromoteReadReplica")));
    assert!(names.iter().any(|n| n.contains("switches its writer")));
    // KALDRIX runs on EKS: its survivors add nodes, which take longer than the promotion.
    let nodes = if w.recommended.is_empty() {
        0.0
    } else {
        whatif::NODE_START_S
    };
    assert_eq!(
        w.rto_s,
        // The simulated fleet's own promotion time, not RDS's typical one.
        whatif::DETECTION_S
            + (opsdeck::source::sim::PROMOTION_S + whatif::WRITER_SWITCH_S).max(nodes)
    );
    let text = opsdeck::ops::text::what_if(&w);
    assert!(!text.contains("no replica can be promoted"), "{text}");
    assert!(text.contains("WRITES    down since 14:01:00"), "{text}");
    assert!(text.contains("in us-west-2: RPO ~"), "{text}");
}

#[test]
fn with_no_replica_to_promote_the_what_if_says_writes_stay_down_not_an_rto() {
    let mut fleet = kaldrix();
    fleet.failover.order = vec!["eu-west-1".into()];
    let (mut sim, _, _) = primary_outage(&fleet, 60.0);
    sim.inject("eu-west-1", Scenario::Outage).unwrap();
    sim.advance(120.0);
    let w = what_if(&sim, &fleet, "us-east-1");
    assert!(w.promotion.is_none());
    assert!(
        w.notes
            .iter()
            .any(|n| n.contains("eu-west-1 (first in the failover order) cannot take over")),
        "{:?}",
        w.notes
    );
    let text = opsdeck::ops::text::what_if(&w);
    assert!(text.contains("RTO       none: writes are down"), "{text}");
    assert!(!text.contains("within the budget"), "{text}");
}

#[tokio::test]
async fn promoting_after_the_primary_outage_passes_replication_broken_by_the_estimate() {
    let fleet = kaldrix();
    let dir = tempfile::tempdir().unwrap();
    let (sim, _, _) = primary_outage(&fleet, 180.0);
    let op = operator(&fleet, sim.clone(), dir.path());
    let promote = Op::Promote {
        region: "us-west-2".into(),
    };
    let prepared = op.prepare(&promote).await.expect("plan");
    let g = rule(&prepared.guards, guards::REPLICATION_BROKEN);
    assert!(g.passed, "{g:?}");
    assert!(
        g.reason.contains("last lag") && !g.reason.contains("unknown point"),
        "{}",
        g.reason
    );
    assert!(prepared.blocked().is_empty(), "{:#?}", prepared.guards);
    assert!(
        prepared
            .plan
            .notes
            .iter()
            .any(|n| n.contains("the last lag seen")),
        "{:?}",
        prepared.plan.notes
    );

    // Over the budget: blocked, overridably.
    let mut strict = fleet.clone();
    strict.capacity.rpo_budget_s = 0.01;
    let op = operator(&strict, sim.clone(), dir.path());
    let prepared = op.prepare(&promote).await.expect("plan");
    let g = rule(&prepared.guards, guards::REPLICATION_BROKEN);
    assert!(!g.passed && g.overridable, "{g:?}");
    assert!(g.reason.contains("over the budget"), "{}", g.reason);
}

#[tokio::test]
async fn a_replica_broken_while_the_primary_takes_writes_still_blocks() {
    let fleet = kaldrix();
    let dir = tempfile::tempdir().unwrap();
    let mut sim = SimFleet::new(&fleet, 7, start());
    sim.advance(60.0);
    sim.inject("eu-west-1", Scenario::Outage).unwrap();
    sim.advance(30.0);
    let op = operator(&fleet, sim, dir.path());
    let prepared = op
        .prepare(&Op::Promote {
            region: "eu-west-1".into(),
        })
        .await
        .expect("plan");
    let g = rule(&prepared.guards, guards::REPLICATION_BROKEN);
    assert!(!g.passed && g.overridable, "{g:?}");
    assert!(
        g.reason.contains("while a primary takes writes"),
        "{}",
        g.reason
    );
}

#[tokio::test]
async fn after_promotion_writes_are_back() {
    let fleet = kaldrix();
    let dir = tempfile::tempdir().unwrap();
    let (sim, _, _) = primary_outage(&fleet, 180.0);
    let op = operator(&fleet, sim, dir.path());
    let w = op.what_if("us-east-1").await.unwrap();
    assert!(w.writes_down);
    let promote = Op::Promote {
        region: "us-west-2".into(),
    };
    let prepared = op.prepare(&promote).await.expect("plan");
    let confirm = opsdeck::ops::Confirmation {
        typed: "us-west-2".into(),
        ..Default::default()
    };
    op.run(&prepared, &confirm).await.expect("run");
    let w = op.what_if("us-east-1").await.unwrap();
    assert!(!w.writes_down && w.writes_down_since.is_none(), "{w:?}");
}

#[test]
fn the_status_line_says_writes_down_since_the_outage() {
    let fleet = kaldrix();
    let (sim, _, _) = primary_outage(&fleet, 180.0);
    let mut state = State::new(fleet.clone(), SourceKind::Sim, sim.now());
    let line = |s: &State| {
        opsdeck::ui::status_line::line(s, &Theme::fallback(), 220)
            .spans
            .iter()
            .map(|x| x.content.to_string())
            .collect::<String>()
    };
    for (region, reading) in SimFleet::new(&fleet, 7, start()).readings() {
        update(
            &mut state,
            Action::Source(SourceEvent::Reading {
                region,
                at: start(),
                reading,
            }),
        );
    }
    assert!(!line(&state).contains("writes down"), "{}", line(&state));
    for (region, reading) in sim.readings() {
        update(
            &mut state,
            Action::Source(SourceEvent::Reading {
                region,
                at: sim.now(),
                reading,
            }),
        );
    }
    let top = line(&state);
    assert!(top.contains("writes down since 14:01:00"), "{top}");
}

#[test]
fn the_failover_order_is_validated_with_file_line_and_column() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fleets/kaldrix.toml"))
        .unwrap();
    let path = Path::new("kaldrix.toml");
    for (order, says) in [
        (r#"["us-west-1"]"#, "not a region of this fleet"),
        (r#"["us-east-1"]"#, "the primary"),
        (r#"["us-west-2", "us-west-2"]"#, "twice"),
    ] {
        let bad = text.replace(
            r#"order = ["us-west-2", "eu-west-1"]"#,
            &format!("order = {order}"),
        );
        assert_ne!(bad, text);
        let err = Fleet::parse(&bad, path).unwrap_err().to_string();
        let line = bad.lines().position(|l| l.starts_with("order = ")).unwrap() + 1;
        assert!(
            err.starts_with(&format!("kaldrix.toml:{line}:")) && err.contains(says),
            "{order}: {err}"
        );
    }
    let no_rds = text.replace("rds = \"kaldrix-production-db-euw1\"", "# no replica here");
    let err = Fleet::parse(&no_rds, path).unwrap_err().to_string();
    assert!(err.contains("no replica (`rds`)"), "{err}");
}

#[test]
fn simulate_json_names_the_promotion_rpo_and_writes_down_since() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args([
            "simulate",
            "--fleet",
            "fleets/kaldrix.toml",
            "--sim",
            "--start",
            "2026-11-22T14:00:00Z",
            "--scenario",
            "outage@us-east-1",
            "--after",
            "3m",
            "--fail",
            "us-east-1",
            "--format",
            "json",
        ])
        .env("OPSDECK_STATE_DIR", dir.path())
        .env("OPSDECK_CONFIG", dir.path().join("config"))
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run opsdeck");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["promotion"]["region"], "us-west-2", "{v:#}");
    assert!(v["promotion"]["rpo_s"]
        .as_f64()
        .is_some_and(|r| r > 0.0 && r < 2.0));
    assert_eq!(v["writes_down_since"], "2026-11-22T14:00:00Z");
    assert_eq!(v["writes_down"], true);
}
