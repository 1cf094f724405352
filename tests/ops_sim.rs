//! Operations on the simulated fleet, end to end through the pipeline: drain the primary's region,
//! follow the what-if's recommended scale-up, and the survivors come back under the latency
//! threshold within the predicted time. Virtual time only.

use chrono::{DateTime, TimeZone, Utc};
use opsdeck::fleet::{Fleet, Reading};
use opsdeck::ops::sim::SimTarget;
use opsdeck::ops::target::VerifyLimits;
use opsdeck::ops::{Confirmation, Op, OpResult, Operator, Permission, Settings};
use opsdeck::source::sim::SimFleet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// 14:00 UTC: Europe's afternoon peak, the US morning, Asia's evening.
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 14, 0, 0).unwrap()
}

/// How long the pipeline watches a change settle in these tests: longer than new tasks take to
/// start (60–90 s of virtual time).
const SETTLE_LIMIT: Duration = Duration::from_secs(300);

fn setup(dir: &std::path::Path, fleet: Fleet) -> (Fleet, Operator, Arc<Mutex<SimFleet>>) {
    setup_with(dir, fleet, SETTLE_LIMIT)
}

fn setup_with(
    dir: &std::path::Path,
    fleet: Fleet,
    limit: Duration,
) -> (Fleet, Operator, Arc<Mutex<SimFleet>>) {
    let model = Arc::new(Mutex::new(SimFleet::new(&fleet, 11, start())));
    let settings = Settings {
        permission: Permission::Allowed,
        audit_log: dir.join("audit.jsonl"),
        verify: VerifyLimits {
            limit,
            poll: Duration::from_secs(5),
        },
    };
    let target = Arc::new(SimTarget::new(model.clone(), true));
    let operator = Operator::new(fleet.clone(), target, settings);
    (fleet, operator, model)
}

async fn execute(operator: &Operator, op: Op) -> OpResult {
    execute_overriding(operator, op, &[]).await
}

/// Run `op` with exactly the `overrides` it needs: every blocking rule is one of them.
async fn execute_overriding(operator: &Operator, op: Op, overrides: &[&str]) -> OpResult {
    let prepared = operator.prepare(&op).await.expect("plan");
    let blocked: Vec<&str> = prepared.blocked().iter().map(|g| g.rule.as_str()).collect();
    assert_eq!(blocked, overrides, "{:#?}", prepared.guards);
    let confirm = Confirmation {
        typed: op.region().to_string(),
        overrides: overrides.iter().map(|o| o.to_string()).collect(),
        ..Default::default()
    };
    operator.run(&prepared, &confirm).await.expect("run").result
}

/// The threshold statistic of every survivor, as the model reports it now.
fn survivor_latency(model: &Arc<Mutex<SimFleet>>, stat: &str, failed: &str) -> Vec<(String, f64)> {
    let sim = model.lock().unwrap();
    sim.readings()
        .into_iter()
        .filter(|(r, _)| r != failed)
        .filter_map(|(r, reading)| match reading {
            Reading::Metrics(m) => Some((
                r,
                m.latency_ms
                    .get(stat)
                    .copied()
                    .flatten()
                    .unwrap_or(f64::MAX),
            )),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn drain_the_primary_then_the_recommended_scale_up_brings_survivors_under_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let (fleet, operator, model) = setup(dir.path(), Fleet::builtin());
    let stat = fleet.threshold_stat().to_string();
    let threshold = fleet.thresholds.latency_ms;
    let primary = fleet.primary().unwrap().name.clone();

    let before = operator.what_if(&primary).await.unwrap();
    assert!(before.failed_is_primary);
    assert!(
        before.promotion.is_some(),
        "a replica would be promoted: {before:#?}"
    );
    assert!(
        !before.recommended.is_empty(),
        "the survivors need more tasks: {before:#?}"
    );
    assert!(
        before
            .survivors
            .iter()
            .any(|s| s.latency_after_ms.unwrap() > threshold),
        "{before:#?}"
    );
    assert!(
        before
            .survivors
            .iter()
            .all(|s| s.latency_scaled_ms.unwrap() < threshold),
        "{before:#?}"
    );

    // The survivors would be over their rated capacity: the drain is blocked until overridden.
    assert_eq!(
        execute_overriding(
            &operator,
            Op::Drain {
                region: primary.clone()
            },
            &[opsdeck::ops::guards::SURVIVOR_CAPACITY]
        )
        .await,
        OpResult::Applied
    );
    // Once clients follow DNS, the survivors are over their capacity and over the threshold.
    let mut control = model.lock().unwrap().clone();
    control.advance(before.capacity_ready_s);
    let overloaded = {
        let m = Arc::new(Mutex::new(control));
        survivor_latency(&m, &stat, &primary)
    };
    assert!(
        overloaded.iter().any(|(_, l)| *l > threshold),
        "without scaling: {overloaded:?}"
    );

    // The what-if after the drain recommends the same kind of scale-up.
    let after = operator.what_if(&primary).await.unwrap();
    assert!(!after.recommended.is_empty(), "{after:#?}");
    let t0 = model.lock().unwrap().now();
    for op in after.recommended.clone() {
        assert_eq!(execute(&operator, op).await, OpResult::Applied);
    }
    let elapsed = (model.lock().unwrap().now() - t0).num_milliseconds() as f64 / 1000.0;
    let left = (after.capacity_ready_s - elapsed).max(0.0);
    model.lock().unwrap().advance(left);
    let recovered = survivor_latency(&model, &stat, &primary);
    assert!(
        recovered.iter().all(|(_, l)| *l < threshold),
        "{}s after the scale-up: {recovered:?} (threshold {threshold} ms)",
        after.capacity_ready_s
    );
}

fn scale_ap_to_5() -> Op {
    Op::Scale {
        region: "ap-southeast-1".into(),
        cluster: "atlas-ap".into(),
        service: "api".into(),
        desired: 5,
        bounds: None,
    }
}

/// The audit log's lines as JSON, oldest first.
fn audit_json(operator: &Operator) -> Vec<serde_json::Value> {
    std::fs::read_to_string(operator.audit().path())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn an_accepted_scale_settles_only_once_its_tasks_run_and_undo_restores_the_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut fleet = Fleet::builtin();
    fleet.guards.cooldown_s = 300;
    let (_, operator, model) = setup(dir.path(), fleet);
    let load = || model.lock().unwrap().region_load("ap-southeast-1").unwrap();
    assert_eq!((load().desired_tasks, load().running_tasks), (2, 2));
    let t0 = model.lock().unwrap().now();
    let prepared = operator.prepare(&scale_ap_to_5()).await.unwrap();
    let confirm = Confirmation {
        typed: "ap-southeast-1".into(),
        ..Default::default()
    };
    let outcome = operator.run(&prepared, &confirm).await.unwrap();
    assert_eq!(outcome.result, OpResult::Applied);
    // Accepted when the calls returned (no virtual time passes there); settled when the three new
    // tasks ran: 60–90 s later, seen at the next 5 s poll.
    assert_eq!(outcome.accepted_at, Some(t0));
    let settled = outcome.settled_at.expect("settled within the limit");
    let took = (settled - t0).num_seconds();
    assert!((60..=95).contains(&took), "settled after {took} s");
    assert_eq!(load().desired_tasks, 5);
    assert_eq!(load().running_tasks, 5);
    assert_eq!(
        (load().min_tasks, load().max_tasks),
        (5, 10),
        "the floor rose with the scale-up"
    );
    let text = outcome.text();
    assert_eq!(
        text,
        format!(
            "applied: accepted at 14:00:00 UTC, settled at {} (after {took} s)",
            settled.format("%H:%M:%S UTC")
        )
    );
    // The ended record carries both times; the requested record neither.
    let recs = audit_json(&operator);
    assert_eq!(recs.len(), 2);
    assert!(recs[0].get("accepted_at").is_none(), "{}", recs[0]);
    assert!(recs[0].get("settled_at").is_none(), "{}", recs[0]);
    assert_eq!(recs[1]["phase"], "ended");
    assert_eq!(recs[1]["result"]["status"], "applied");
    let time = |v: &serde_json::Value| v.as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
    assert_eq!(time(&recs[1]["accepted_at"]), t0);
    assert_eq!(time(&recs[1]["settled_at"]), settled);
    assert_eq!(
        operator.audit().read().unwrap()[1].settled_at,
        Some(Some(settled)),
        "read back"
    );

    // The undo scales back and restores the recorded bounds (after the cooldown, in virtual time:
    // the settle time alone is not enough).
    let undo = outcome.undo.clone().expect("scale is reversible");
    let prepared = operator.prepare(&undo).await.unwrap();
    assert!(
        prepared.blocked().iter().any(|g| g.rule == "cooldown"),
        "{:#?}",
        prepared.guards
    );
    model.lock().unwrap().advance(300.0);
    let prepared = operator.prepare(&undo).await.unwrap();
    let confirm = Confirmation {
        typed: "ap-southeast-1".into(),
        undo_of: Some(outcome.id.clone()),
        ..Default::default()
    };
    let undone = operator.run(&prepared, &confirm).await.unwrap();
    assert_eq!(undone.result, OpResult::Applied);
    // Surplus tasks stop at once: the scale-down settles when it is accepted.
    assert_eq!(undone.settled_at, undone.accepted_at);
    assert_eq!(
        (load().desired_tasks, load().min_tasks, load().max_tasks),
        (2, 2, 10)
    );
    let records = operator.audit().read().unwrap();
    assert!(
        opsdeck::ops::audit::last_reversible(
            &records,
            "atlas-crm",
            opsdeck::fleet::SourceKind::Sim
        )
        .is_none(),
        "undone"
    );
}

/// The repro: "applied" while the service was at 2/5 with 3 pending. Now the result says the
/// request was accepted and what is still pending when the watch gives up.
#[tokio::test]
async fn a_scale_whose_tasks_are_still_starting_at_the_limit_is_accepted_not_settled() {
    let dir = tempfile::tempdir().unwrap();
    let (_, operator, model) = setup_with(dir.path(), Fleet::builtin(), Duration::from_secs(30));
    let t0 = model.lock().unwrap().now();
    let prepared = operator.prepare(&scale_ap_to_5()).await.unwrap();
    let confirm = Confirmation {
        typed: "ap-southeast-1".into(),
        ..Default::default()
    };
    let outcome = operator.run(&prepared, &confirm).await.unwrap();
    assert_eq!(
        outcome.result,
        OpResult::NotYetVerified {
            reason: "not settled after 30 s: atlas-ap/api at 2/5 running, 3 pending".into()
        }
    );
    assert!(outcome.result.took_effect());
    assert_eq!(outcome.accepted_at, Some(t0));
    assert_eq!(outcome.settled_at, None);
    assert_eq!(
        outcome.text(),
        "not yet verified: accepted at 14:00:00 UTC, \
         not settled after 30 s: atlas-ap/api at 2/5 running, 3 pending"
    );
    let recs = audit_json(&operator);
    assert_eq!(recs[1]["result"]["status"], "not_yet_verified");
    assert!(recs[1]["accepted_at"].is_string(), "{}", recs[1]);
    assert!(
        recs[1]["settled_at"].is_null() && recs[1].get("settled_at").is_some(),
        "null, not absent: {}",
        recs[1]
    );
    // The tasks do start later: the model was not told anything wrong.
    model.lock().unwrap().advance(90.0);
    let load = model.lock().unwrap().region_load("ap-southeast-1").unwrap();
    assert_eq!(load.running_tasks, 5);
}

/// Promotion is accepted when PromoteReadReplica returns and settles when the instance, no longer
/// a replica, is available (the model reports "modifying" for a minute).
#[tokio::test]
async fn a_promotion_settles_when_the_instance_is_available() {
    let dir = tempfile::tempdir().unwrap();
    let (fleet, operator, model) = setup(dir.path(), Fleet::builtin());
    let replica = fleet
        .regions
        .iter()
        .find(|r| r.role == opsdeck::fleet::Role::Secondary && r.rds.is_some())
        .unwrap()
        .name
        .clone();
    let t0 = model.lock().unwrap().now();
    let op = Op::Promote {
        region: replica.clone(),
    };
    let prepared = operator.prepare(&op).await.unwrap();
    let overrides: Vec<String> = prepared.blocked().iter().map(|g| g.rule.clone()).collect();
    let confirm = Confirmation {
        typed: replica.clone(),
        overrides,
        ..Default::default()
    };
    let outcome = operator.run(&prepared, &confirm).await.unwrap();
    assert_eq!(outcome.result, OpResult::Applied, "{outcome:#?}");
    assert_eq!(outcome.accepted_at, Some(t0));
    let took = (outcome.settled_at.unwrap() - t0).num_seconds();
    assert!((60..=65).contains(&took), "settled after {took} s");
}
