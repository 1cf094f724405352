//! Safety rules: each blocks in its situation and passes otherwise; overrides only for the
//! overridable ones, recorded in the audit log; a refused drain changes nothing in the model.

use chrono::{DateTime, Duration, TimeZone, Utc};
use opsdeck::fleet::{Fleet, Replication, Role};
use opsdeck::ops::audit::{Decision, Phase};
use opsdeck::ops::guards::{self, GuardInput, GuardResult};
use opsdeck::ops::sim::SimTarget;
use opsdeck::ops::target::VerifyLimits;
use opsdeck::ops::view::{DatabaseState, FleetView, RecordState, RegionState, ServiceState};
use opsdeck::ops::{
    plan, AuditLog, Bounds, Confirmation, Op, OpResult, Operator, Permission, Settings,
};
use opsdeck::source::sim::SimFleet;
use opsdeck::source::Scenario;
use std::sync::{Arc, Mutex};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 14, 0, 0).unwrap()
}

fn region(name: &str, weight: i64, healthy: bool, lag: Option<f64>) -> RegionState {
    let primary = name == "eu-west-1";
    RegionState {
        name: name.into(),
        role: if primary {
            Role::Primary
        } else {
            Role::Secondary
        },
        services: vec![ServiceState {
            cluster: format!("atlas-{}", &name[..2]),
            service: "api".into(),
            desired: 3,
            running: 3,
            pending: 0,
            bounds: Some(Bounds { min: 2, max: 10 }),
        }],
        nodegroups: Vec::new(),
        database: Some(DatabaseState {
            instance: format!("db-{name}"),
            replication: if primary {
                Replication::Primary {
                    instance: format!("db-{name}"),
                    status: "available".into(),
                }
            } else {
                Replication::Replica {
                    instance: format!("db-{name}"),
                    source: "db-eu-west-1".into(),
                    status: "replicating".into(),
                }
            },
            lag_s: if primary { None } else { lag },
        }),
        record: Some(RecordState {
            zone_id: "Z0ABC".into(),
            name: "api.atlas-crm.com.".into(),
            record_type: "A".into(),
            set_identifier: name.into(),
            weight: Some(weight),
            healthy: Some(healthy),
            ttl: Some(60),
            values: vec!["192.0.2.1".into()],
            alias: None,
            health_check_id: None,
            policy: Default::default(),
            location: None,
            failover: None,
            health_check_inverted: None,
        }),
        served_rps: Some(300.0),
        probe: None,
    }
}

/// Three healthy serving regions, replicas 2 s behind.
fn healthy_fleet() -> FleetView {
    FleetView {
        fleet: "atlas-crm".into(),
        source: opsdeck::fleet::SourceKind::Sim,
        read_at: now(),
        regions: vec![
            region("eu-west-1", 100, true, None),
            region("us-east-1", 100, true, Some(2.0)),
            region("ap-southeast-1", 100, true, Some(2.0)),
        ],
    }
}

struct Check {
    permission: Permission,
    last_change: Option<DateTime<Utc>>,
}

const OPEN: Check = Check {
    permission: Permission::Allowed,
    last_change: None,
};

fn guards(view: &FleetView, op: Op, c: Check) -> Vec<GuardResult> {
    let fleet = Fleet::builtin();
    let plan = plan::build(&op, view, &fleet, None).expect("plan");
    guards::evaluate(&GuardInput {
        plan: &plan,
        before: view,
        fleet: &fleet,
        permission: c.permission,
        last_change: c.last_change,
        now: now(),
    })
}

fn verdict<'a>(gs: &'a [GuardResult], rule: &str) -> &'a GuardResult {
    gs.iter()
        .find(|g| g.rule == rule)
        .unwrap_or_else(|| panic!("rule {rule} not evaluated: {gs:?}"))
}

fn drain(r: &str) -> Op {
    Op::Drain { region: r.into() }
}

fn scale(desired: i64) -> Op {
    Op::Scale {
        region: "us-east-1".into(),
        cluster: "atlas-us".into(),
        service: "api".into(),
        desired,
        bounds: None,
    }
}

#[test]
fn every_rule_passes_on_a_healthy_fleet() {
    let v = healthy_fleet();
    for op in [drain("eu-west-1"), scale(5)] {
        let gs = guards(&v, op.clone(), OPEN);
        assert!(gs.iter().all(|g| g.passed), "{op:?}: {gs:#?}");
        assert!(guards::first_block(&gs).is_none());
    }
    // Promotion: every rule but the one against a second writer.
    let gs = guards(&v, promote_us(), OPEN);
    let blocked: Vec<&str> = gs
        .iter()
        .filter(|g| !g.passed)
        .map(|g| g.rule.as_str())
        .collect();
    assert_eq!(blocked, [guards::PRIMARY_TAKES_WRITES], "{gs:#?}");
}

fn promote_us() -> Op {
    Op::Promote {
        region: "us-east-1".into(),
    }
}

#[test]
fn promoting_while_the_primary_takes_writes_is_blocked_but_overridable() {
    let mut v = healthy_fleet();
    let gs = guards(&v, promote_us(), OPEN);
    let g = verdict(&gs, guards::PRIMARY_TAKES_WRITES);
    assert!(!g.passed && g.overridable, "{g:?}");
    assert!(
        g.reason
            .contains("in eu-west-1 is available and takes writes")
            && g.reason.contains("second writer"),
        "{}",
        g.reason
    );
    // Its region fails its health check but RDS still reports it available: still a writer.
    v.regions[0].record.as_mut().unwrap().healthy = Some(false);
    let g = guards(&v, promote_us(), OPEN);
    let g = verdict(&g, guards::PRIMARY_TAKES_WRITES);
    assert!(
        !g.passed && g.reason.contains("fails its Route53 health check"),
        "{g:?}"
    );
    // The primary is down: no writer, nothing to split.
    for status in ["failed", "stopped", "unreachable"] {
        let mut down = healthy_fleet();
        let db = down.regions[0].database.as_mut().unwrap();
        if let Replication::Primary { status: s, .. } = &mut db.replication {
            *s = status.into();
        } else {
            panic!("eu-west-1 holds the primary: {db:?}");
        }
        let gs = guards(&down, promote_us(), OPEN);
        let g = verdict(&gs, guards::PRIMARY_TAKES_WRITES);
        assert!(
            g.passed && g.reason.contains("no primary takes writes"),
            "{status}: {g:?}"
        );
    }
}

#[test]
fn read_only_blocks_everything_and_real_aws_needs_allow_actions() {
    let v = healthy_fleet();
    let gs = guards(
        &v,
        scale(5),
        Check {
            permission: Permission::ReadOnly,
            ..OPEN
        },
    );
    let g = verdict(&gs, guards::READ_ONLY);
    assert!(!g.passed && !g.overridable, "{g:?}");
    let gs = guards(
        &v,
        drain("us-east-1"),
        Check {
            permission: Permission::ActionsOff,
            ..OPEN
        },
    );
    assert!(verdict(&gs, guards::READ_ONLY)
        .reason
        .contains("--allow-actions"));
    assert!(verdict(&guards(&v, drain("us-east-1"), OPEN), guards::READ_ONLY).passed);
}

#[test]
fn cooldown_blocks_a_second_change_within_the_wait() {
    let v = healthy_fleet();
    let recent = Check {
        last_change: Some(now() - Duration::seconds(2)),
        ..OPEN
    };
    let g = guards(&v, drain("us-east-1"), recent)
        .into_iter()
        .find(|g| g.rule == guards::COOLDOWN)
        .unwrap();
    assert!(!g.passed && !g.overridable, "{g:?}");
    assert!(g.reason.contains("wait 3 s"), "{}", g.reason);
    let older = Check {
        last_change: Some(now() - Duration::seconds(6)),
        ..OPEN
    };
    assert!(verdict(&guards(&v, drain("us-east-1"), older), guards::COOLDOWN).passed);
}

#[test]
fn last_serving_region_cannot_be_drained() {
    let mut v = healthy_fleet();
    for r in &mut v.regions[1..] {
        r.record.as_mut().unwrap().healthy = Some(false);
    }
    let gs = guards(&v, drain("eu-west-1"), OPEN);
    let g = verdict(&gs, guards::LAST_SERVING_REGION);
    assert!(!g.passed && !g.overridable, "{g:?}");
    assert!(
        g.reason.contains("no healthy serving region"),
        "{}",
        g.reason
    );
    // The other records keep their weight: this is not the all-weights-zero rule.
    assert!(verdict(&gs, guards::ALL_WEIGHTS_ZERO).passed);
    // Scaling the last serving region to zero tasks is the same mistake.
    let mut v2 = healthy_fleet();
    for name in ["eu-west-1", "ap-southeast-1"] {
        v2.regions
            .iter_mut()
            .find(|r| r.name == name)
            .unwrap()
            .record
            .as_mut()
            .unwrap()
            .weight = Some(0);
    }
    assert!(!verdict(&guards(&v2, scale(0), OPEN), guards::LAST_SERVING_REGION).passed);
    assert!(verdict(&guards(&v2, scale(1), OPEN), guards::LAST_SERVING_REGION).passed);
}

#[test]
fn every_weight_of_a_name_cannot_go_to_zero() {
    // The others are drained; eu-west-1 still has weight but fails its health check (so it does
    // not serve, and the last-serving rule has nothing to protect).
    let mut v = healthy_fleet();
    v.regions[0].record.as_mut().unwrap().healthy = Some(false);
    for r in &mut v.regions[1..] {
        r.record.as_mut().unwrap().weight = Some(0);
    }
    let gs = guards(&v, drain("eu-west-1"), OPEN);
    let g = verdict(&gs, guards::ALL_WEIGHTS_ZERO);
    assert!(!g.passed && !g.overridable, "{g:?}");
    assert!(g.reason.contains("api.atlas-crm.com"), "{}", g.reason);
    assert!(verdict(&gs, guards::LAST_SERVING_REGION).passed);
}

#[test]
fn promotion_over_the_rpo_budget_or_with_unknown_lag_is_blocked_but_overridable() {
    let mut v = healthy_fleet();
    let promote = || Op::Promote {
        region: "us-east-1".into(),
    };
    v.regions[1].database.as_mut().unwrap().lag_s = Some(120.0);
    let gs = guards(&v, promote(), OPEN);
    let g = verdict(&gs, guards::REPLICA_LAG_OVER_RPO);
    assert!(!g.passed && g.overridable, "{g:?}");
    assert!(
        g.reason.contains("120.0 s exceeds the RPO budget 60 s"),
        "{}",
        g.reason
    );
    v.regions[1].database.as_mut().unwrap().lag_s = None;
    assert!(!verdict(&guards(&v, promote(), OPEN), guards::REPLICA_LAG_OVER_RPO).passed);
    v.regions[1].database.as_mut().unwrap().lag_s = Some(59.0);
    assert!(verdict(&guards(&v, promote(), OPEN), guards::REPLICA_LAG_OVER_RPO).passed);
}

#[test]
fn promotion_of_a_broken_replica_is_blocked_but_overridable() {
    let mut v = healthy_fleet();
    v.regions[1].database.as_mut().unwrap().replication = Replication::Broken {
        instance: "db-us-east-1".into(),
        source: Some("db-eu-west-1".into()),
        reason: "link down".into(),
        last_lag_s: None,
        last_seen: None,
    };
    let gs = guards(
        &v,
        Op::Promote {
            region: "us-east-1".into(),
        },
        OPEN,
    );
    let g = verdict(&gs, guards::REPLICATION_BROKEN);
    assert!(
        !g.passed && g.overridable && g.reason.contains("link down"),
        "{g:?}"
    );
}

#[test]
fn scaling_outside_the_autoscaling_bounds_is_blocked_but_overridable() {
    let v = healthy_fleet();
    let g = guards(&v, scale(12), OPEN)
        .into_iter()
        .find(|g| g.rule == guards::AUTOSCALING_BOUNDS)
        .unwrap();
    assert!(
        !g.passed && g.overridable && g.reason.contains("above the autoscaling max 10"),
        "{g:?}"
    );
    assert!(!verdict(&guards(&v, scale(1), OPEN), guards::AUTOSCALING_BOUNDS).passed);
    assert!(verdict(&guards(&v, scale(10), OPEN), guards::AUTOSCALING_BOUNDS).passed);
    let mut unmanaged = healthy_fleet();
    unmanaged.regions[1].services[0].bounds = None;
    assert!(
        verdict(
            &guards(&unmanaged, scale(40), OPEN),
            guards::AUTOSCALING_BOUNDS
        )
        .passed
    );
}

#[test]
fn only_overridable_rules_can_be_overridden() {
    let mut v = healthy_fleet();
    v.regions[1].database.as_mut().unwrap().lag_s = Some(120.0);
    let mut gs = guards(
        &v,
        Op::Promote {
            region: "us-east-1".into(),
        },
        OPEN,
    );
    let err = guards::apply_overrides(&mut gs, &["last-serving-region".into()]).unwrap_err();
    assert!(err.contains("cannot be overridden"), "{err}");
    assert!(guards::apply_overrides(&mut gs, &["no-such-rule".into()]).is_err());
    assert!(guards::first_block(&gs).is_some());
    guards::apply_overrides(&mut gs, &[guards::REPLICA_LAG_OVER_RPO.into()]).unwrap();
    let g = verdict(&gs, guards::REPLICA_LAG_OVER_RPO);
    assert!(g.overridden && !g.blocks());
    // Each blocking rule needs its own override: the second writer still blocks.
    assert_eq!(
        guards::first_block(&gs).map(|g| g.rule.as_str()),
        Some(guards::PRIMARY_TAKES_WRITES)
    );
    guards::apply_overrides(&mut gs, &[guards::PRIMARY_TAKES_WRITES.into()]).unwrap();
    assert!(guards::first_block(&gs).is_none());
}

#[test]
fn restoring_traffic_to_a_region_that_cannot_take_it_is_blocked_but_overridable() {
    let restore = || Op::Restore {
        region: "us-east-1".into(),
        weight: Some(100),
    };
    let drained = || {
        let mut v = healthy_fleet();
        v.regions[1].record.as_mut().unwrap().weight = Some(0);
        v
    };
    // Repro: 0/2 tasks and a failing Route53 health check passed every guard.
    let mut v = drained();
    v.regions[1].services[0].desired = 2;
    v.regions[1].services[0].running = 0;
    v.regions[1].record.as_mut().unwrap().healthy = Some(false);
    let gs = guards(&v, restore(), OPEN);
    let g = verdict(&gs, guards::RESTORE_UNHEALTHY_REGION);
    assert!(!g.passed && g.overridable, "{g:?}");
    assert!(
        g.reason.contains("0/2 tasks running") && g.reason.contains("Route53 health check fails"),
        "{}",
        g.reason
    );
    // Each cause alone blocks: tasks under half of desired, the health check, the probe.
    let mut v = drained();
    v.regions[1].services[0].running = 1;
    assert!(
        !verdict(
            &guards(&v, restore(), OPEN),
            guards::RESTORE_UNHEALTHY_REGION
        )
        .passed
    );
    let mut v = drained();
    v.regions[1].record.as_mut().unwrap().healthy = Some(false);
    assert!(
        !verdict(
            &guards(&v, restore(), OPEN),
            guards::RESTORE_UNHEALTHY_REGION
        )
        .passed
    );
    let mut v = drained();
    v.regions[1].probe = Some(opsdeck::ops::view::ProbeState {
        ok: false,
        detail: "HTTP 503".into(),
    });
    let g = guards(&v, restore(), OPEN);
    let g = verdict(&g, guards::RESTORE_UNHEALTHY_REGION);
    assert!(
        !g.passed && g.reason.contains("probe fails (HTTP 503)"),
        "{g:?}"
    );
    // Half the tasks running, health check and probe fine: traffic may go back.
    let mut v = drained();
    v.regions[1].services[0].desired = 4;
    v.regions[1].services[0].running = 2;
    assert!(
        verdict(
            &guards(&v, restore(), OPEN),
            guards::RESTORE_UNHEALTHY_REGION
        )
        .passed
    );
}

#[test]
fn a_drain_or_scale_down_that_overloads_a_survivor_is_blocked_with_the_numbers() {
    // Repro: draining down to one survivor at 151 % of its capacity passed every guard.
    let mut v = healthy_fleet();
    v.regions[2].record.as_mut().unwrap().weight = Some(0);
    v.regions[1].served_rps = Some(380.0);
    let gs = guards(&v, drain("eu-west-1"), OPEN);
    let g = verdict(&gs, guards::SURVIVOR_CAPACITY);
    assert!(!g.passed && g.overridable, "{g:?}");
    // 380 + 300 moved = 680 req/s on 3 tasks of 150 = 450 rated.
    assert!(
        g.reason.contains(
            "us-east-1 would run at 151 % of its rated capacity (680 req/s on 3 tasks, 450 rated)"
        ),
        "{}",
        g.reason
    );
    assert!(
        g.reason.contains("`w` on eu-west-1 in the console"),
        "{}",
        g.reason
    );
    assert!(
        g.reason.contains("opsdeck simulate --fail eu-west-1"),
        "{}",
        g.reason
    );
    // The plan's warning names the same numbers and the console's what-if key.
    let plan = plan::build(&drain("eu-west-1"), &v, &Fleet::builtin(), None).unwrap();
    assert!(
        plan.notes
            .iter()
            .any(|n| n.starts_with("WARNING us-east-1 would run at 151 %") && n.contains("`w`")),
        "{:#?}",
        plan.notes
    );
    // With room on the survivors the drain passes.
    let v = healthy_fleet();
    let g = guards(&v, drain("eu-west-1"), OPEN);
    assert!(verdict(&g, guards::SURVIVOR_CAPACITY).passed, "{g:#?}");
    // A scale-down: 300 req/s on 1 task of 150 is 200 %.
    let g = guards(&v, scale(1), OPEN);
    let g = verdict(&g, guards::SURVIVOR_CAPACITY);
    assert!(
        !g.passed && g.reason.contains("200 %") && g.reason.contains("keep at least 2 tasks"),
        "{g:?}"
    );
    assert!(verdict(&guards(&v, scale(2), OPEN), guards::SURVIVOR_CAPACITY).passed);
    assert!(verdict(&guards(&v, scale(5), OPEN), guards::SURVIVOR_CAPACITY).passed);
}

/// Two regions; `second` down for five virtual minutes so its health check fails.
const PAIR: &str = r#"
name = "pair"
[[region]]
name = "eu-west-1"
role = "primary"
alb = "app/pair-eu/1"
ecs = [{ cluster = "pair-eu", service = "api" }]
rds = "pair-db-eu"
route53 = { zone_id = "Z1", record = "api.pair.example.", set_identifier = "eu" }
[[region]]
name = "us-east-1"
role = "secondary"
alb = "app/pair-us/1"
ecs = [{ cluster = "pair-us", service = "api" }]
rds = "pair-db-us"
route53 = { zone_id = "Z1", record = "api.pair.example.", set_identifier = "us" }
"#;

fn operator(
    fleet: &Fleet,
    model: SimFleet,
    audit: &std::path::Path,
) -> (Operator, Arc<Mutex<SimFleet>>) {
    let model = Arc::new(Mutex::new(model));
    let settings = Settings {
        permission: Permission::Allowed,
        audit_log: audit.to_path_buf(),
        verify: VerifyLimits {
            limit: std::time::Duration::from_secs(60),
            poll: std::time::Duration::from_secs(5),
        },
    };
    let op = Operator::new(
        fleet.clone(),
        Arc::new(SimTarget::new(model.clone(), true)),
        settings,
    );
    (op, model)
}

fn weights(model: &Arc<Mutex<SimFleet>>) -> Vec<Option<i64>> {
    let m = model.lock().unwrap();
    SimTarget::view_of(&m)
        .regions
        .iter()
        .map(|r| r.record.as_ref().and_then(|x| x.weight))
        .collect()
}

#[tokio::test]
async fn draining_the_last_serving_region_is_refused_and_changes_nothing() {
    let fleet = Fleet::parse(PAIR, std::path::Path::new("pair.toml")).unwrap();
    let mut sim = SimFleet::new(&fleet, 3, now());
    sim.inject("us-east-1", Scenario::Outage).unwrap();
    sim.advance(300.0);
    let dir = tempfile::tempdir().unwrap();
    let (operator, model) = operator(&fleet, sim, &dir.path().join("audit.jsonl"));
    let before = weights(&model);
    let prepared = operator.prepare(&drain("eu-west-1")).await.unwrap();
    assert_eq!(
        prepared.blocked()[0].rule,
        guards::LAST_SERVING_REGION,
        "{:#?}",
        prepared.guards
    );
    let confirm = Confirmation {
        typed: "eu-west-1".into(),
        ..Default::default()
    };
    let outcome = operator.run(&prepared, &confirm).await.unwrap();
    match &outcome.result {
        OpResult::Refused { rule, reason } => {
            assert_eq!(rule.as_deref(), Some(guards::LAST_SERVING_REGION));
            assert!(reason.contains("last-serving-region"), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(weights(&model), before);
    assert_eq!(before, vec![Some(100), Some(100)]);
    let records = operator.audit().read().unwrap();
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r.decision == Decision::Refused));
}

#[tokio::test]
async fn an_override_is_confirmed_separately_and_recorded() {
    let fleet = Fleet::builtin();
    let mut sim = SimFleet::new(&fleet, 3, now());
    sim.inject("us-east-1", Scenario::ReplicaLag).unwrap();
    sim.advance(300.0);
    let dir = tempfile::tempdir().unwrap();
    let (operator, model) = operator(&fleet, sim, &dir.path().join("audit.jsonl"));
    let promote = Op::Promote {
        region: "us-east-1".into(),
    };
    let prepared = operator.prepare(&promote).await.unwrap();
    let blocked: Vec<&str> = prepared.blocked().iter().map(|g| g.rule.as_str()).collect();
    assert_eq!(
        blocked,
        [guards::PRIMARY_TAKES_WRITES, guards::REPLICA_LAG_OVER_RPO],
        "{:#?}",
        prepared.guards
    );
    // Without the override: refused, the replica stays a replica.
    let plain = Confirmation {
        typed: "us-east-1".into(),
        ..Default::default()
    };
    let refused = operator.run(&prepared, &plain).await.unwrap();
    assert!(
        matches!(refused.result, OpResult::Refused { .. }),
        "{:?}",
        refused.result
    );
    let replica = |m: &Arc<Mutex<SimFleet>>| {
        let v = SimTarget::view_of(&m.lock().unwrap());
        v.region("us-east-1")
            .unwrap()
            .database
            .as_ref()
            .unwrap()
            .replication
            .is_primary()
    };
    assert!(!replica(&model));
    // Overriding one of the two rules is not enough.
    let one = Confirmation {
        overrides: vec![guards::REPLICA_LAG_OVER_RPO.into()],
        ..plain.clone()
    };
    let still = operator.run(&prepared, &one).await.unwrap();
    assert!(
        matches!(&still.result, OpResult::Refused { .. }),
        "{:?}",
        still.result
    );
    assert!(!replica(&model));
    let with = Confirmation {
        overrides: vec![
            guards::PRIMARY_TAKES_WRITES.into(),
            guards::REPLICA_LAG_OVER_RPO.into(),
        ],
        ..plain
    };
    let outcome = operator.run(&prepared, &with).await.unwrap();
    assert_eq!(outcome.result, OpResult::Applied, "{:#?}", outcome);
    assert!(replica(&model), "the replica is promoted");
    assert_eq!(outcome.undo, None, "promotion is one-way");
    let records = operator.audit().read().unwrap();
    let last = records.last().unwrap();
    assert_eq!(
        (last.phase, last.decision),
        (Phase::Ended, Decision::Execute)
    );
    assert_eq!(
        last.overrides,
        vec![
            guards::PRIMARY_TAKES_WRITES.to_string(),
            guards::REPLICA_LAG_OVER_RPO.to_string()
        ]
    );
    assert!(last
        .guards
        .iter()
        .any(|g| g.rule == guards::REPLICA_LAG_OVER_RPO && g.overridden && !g.passed));
}

/// Audit lines written before the API calls were typed (by the previous release, on the simulated
/// fleet: a drain, a scale with its autoscaling bounds, a promotion) still read, and write back
/// byte for byte: the typed calls keep the JSON contract.
#[test]
fn audit_records_written_before_the_calls_were_typed_round_trip() {
    let text = include_str!("fixtures/audit-before-typed-calls.jsonl");
    let mut operations = Vec::new();
    for line in text.lines() {
        let record: opsdeck::ops::AuditRecord = serde_json::from_str(line).expect(line);
        assert_eq!(serde_json::to_string(&record).unwrap(), line);
        if record.phase == Phase::Requested {
            operations.extend(record.plan.calls.iter().map(|c| c.operation()));
        }
    }
    assert_eq!(
        operations,
        [
            "ChangeResourceRecordSets",
            "RegisterScalableTarget",
            "UpdateService",
            "PromoteReadReplica"
        ]
    );
    let log = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(log.path(), text).unwrap();
    assert_eq!(
        AuditLog::new(log.path()).read().unwrap().len(),
        6,
        "no line skipped"
    );
}

#[tokio::test]
async fn restoring_a_region_that_is_down_is_refused_until_its_override_is_typed() {
    let fleet = Fleet::parse(PAIR, std::path::Path::new("pair.toml")).unwrap();
    let mut sim = SimFleet::new(&fleet, 3, now());
    sim.set_weight("us-east-1", 0).unwrap();
    sim.inject("us-east-1", Scenario::Outage).unwrap();
    sim.advance(300.0);
    let dir = tempfile::tempdir().unwrap();
    let (operator, model) = operator(&fleet, sim, &dir.path().join("audit.jsonl"));
    let restore = Op::Restore {
        region: "us-east-1".into(),
        weight: Some(100),
    };
    let prepared = operator.prepare(&restore).await.unwrap();
    let g = verdict(&prepared.guards, guards::RESTORE_UNHEALTHY_REGION);
    assert!(!g.passed, "{:#?}", prepared.guards);
    assert!(
        g.reason.contains("Route53 health check fails"),
        "{}",
        g.reason
    );
    assert!(g.reason.contains("0/3 tasks running"), "{}", g.reason);
    let plain = Confirmation {
        typed: "us-east-1".into(),
        ..Default::default()
    };
    let refused = operator.run(&prepared, &plain).await.unwrap();
    match &refused.result {
        OpResult::Refused { rule, .. } => {
            assert_eq!(rule.as_deref(), Some(guards::RESTORE_UNHEALTHY_REGION))
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(weights(&model), vec![Some(100), Some(0)]);
    let with = Confirmation {
        overrides: vec![guards::RESTORE_UNHEALTHY_REGION.into()],
        ..plain
    };
    let outcome = operator.run(&prepared, &with).await.unwrap();
    assert!(outcome.result.took_effect(), "{:?}", outcome.result);
    assert_eq!(weights(&model), vec![Some(100), Some(100)]);
    assert_eq!(
        outcome.overrides,
        vec![guards::RESTORE_UNHEALTHY_REGION.to_string()]
    );
}

#[tokio::test]
async fn a_drain_that_overloads_the_survivors_needs_its_own_override() {
    let fleet = Fleet::builtin();
    let sim = SimFleet::new(&fleet, 3, now());
    let dir = tempfile::tempdir().unwrap();
    let (operator, model) = operator(&fleet, sim, &dir.path().join("audit.jsonl"));
    let prepared = operator.prepare(&drain("eu-west-1")).await.unwrap();
    let g = verdict(&prepared.guards, guards::SURVIVOR_CAPACITY);
    assert!(!g.passed && g.overridable, "{:#?}", prepared.guards);
    assert!(
        g.reason.contains("% of its rated capacity ("),
        "{}",
        g.reason
    );
    let before = weights(&model);
    let plain = Confirmation {
        typed: "eu-west-1".into(),
        ..Default::default()
    };
    let refused = operator.run(&prepared, &plain).await.unwrap();
    assert!(
        matches!(refused.result, OpResult::Refused { .. }),
        "{:?}",
        refused.result
    );
    assert_eq!(weights(&model), before);
    // Another rule's override does not lift it.
    let wrong = Confirmation {
        overrides: vec![guards::AUTOSCALING_BOUNDS.into()],
        ..plain.clone()
    };
    let refused = operator.run(&prepared, &wrong).await.unwrap();
    assert!(
        matches!(refused.result, OpResult::Refused { .. }),
        "{:?}",
        refused.result
    );
    let with = Confirmation {
        overrides: vec![guards::SURVIVOR_CAPACITY.into()],
        ..plain
    };
    let outcome = operator.run(&prepared, &with).await.unwrap();
    assert!(outcome.result.took_effect(), "{:?}", outcome.result);
    assert_eq!(weights(&model)[0], Some(0));
}
