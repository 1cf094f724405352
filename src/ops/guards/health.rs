//! The rules that read the fleet's health: traffic goes back only to a region that can take it
//! (`restore-unhealthy-region`), and a drain or a scale-down leaves no serving survivor over its
//! rated capacity (`survivor-capacity`). Both are overridable, each with its own typed confirmation.

use super::{
    GuardInput, GuardResult, INVERT_FAILING_CHECK, RESTORE_UNHEALTHY_REGION, SURVIVOR_CAPACITY,
};
use crate::ops::capacity::{self, SurvivorLoad};
use crate::ops::Op;

/// Restoring traffic to a region whose tasks are under half of desired, whose Route53 health
/// check fails or whose health probe fails.
pub(super) fn restore_unhealthy_region(i: &GuardInput) -> GuardResult {
    let Some(r) = i.before.region(&i.plan.region) else {
        return GuardResult::new(RESTORE_UNHEALTHY_REGION, true, "region not read".into());
    };
    let mut why = Vec::new();
    let desired: i64 = r.services.iter().map(|s| s.desired).sum();
    let running = r.running_tasks();
    if !r.services.is_empty() && (desired <= 0 || running * 2 < desired) {
        why.push(format!(
            "{running}/{desired} tasks running (under half of desired)"
        ));
    }
    // Reverting the inversion of a check whose endpoint fails makes the check fail: Route53
    // leaves the record out either way, so no traffic goes back — and while the inverted check
    // passed, it was sending users there: the revert is what takes them away.
    let reverts_dead = r.record.as_ref().is_some_and(|x| {
        x.health_check_inverted == Some(true) && x.endpoint_healthy() == Some(false)
    }) && i.plan.calls.iter().any(|c| {
        matches!(
            c,
            crate::ops::plan::ApiCall::UpdateHealthCheck {
                inverted: false,
                ..
            }
        )
    });
    if reverts_dead {
        return GuardResult::new(
            RESTORE_UNHEALTHY_REGION,
            true,
            format!(
                "{}'s endpoint fails its health check: reverted, the check fails and Route53 leaves the record out (inverted, it passes and sends users there)",
                r.name
            ),
        );
    }
    // A drained latency/geolocation/failover record fails because its check is inverted: what
    // counts is whether the endpoint itself is healthy.
    if r.record.as_ref().and_then(|x| x.endpoint_healthy()) == Some(false) {
        why.push("its Route53 health check fails".to_string());
    }
    if let Some(p) = r.probe.as_ref().filter(|p| !p.ok) {
        why.push(format!("its health probe fails ({})", p.detail));
    }
    if why.is_empty() {
        let probe = match &r.probe {
            Some(_) => ", probe ok",
            None => "",
        };
        let check = match r.record.as_ref().and_then(|x| x.endpoint_healthy()) {
            Some(true) => ", health check ok",
            _ => "",
        };
        GuardResult::new(
            RESTORE_UNHEALTHY_REGION,
            true,
            format!("{running}/{desired} tasks running{check}{probe}"),
        )
    } else {
        GuardResult::new(
            RESTORE_UNHEALTHY_REGION,
            false,
            format!("{} cannot take traffic: {}", r.name, why.join("; ")),
        )
    }
}

/// A drain by inversion (latency, geolocation, failover, multivalue records) of a region whose
/// endpoint already fails its health check: Route53 already leaves the record out, and the
/// inverted check would pass — sending users to the dead region. Never overridable.
/// The plan takes a record out by inverting its health check (the rule applies only then).
pub(super) fn inverts_a_check(plan: &crate::ops::plan::Plan) -> bool {
    plan.calls.iter().any(|c| {
        matches!(
            c,
            crate::ops::plan::ApiCall::UpdateHealthCheck { inverted: true, .. }
        )
    })
}

pub(super) fn invert_failing_check(i: &GuardInput) -> GuardResult {
    let inverts = i.plan.calls.iter().find_map(|c| match c {
        crate::ops::plan::ApiCall::UpdateHealthCheck {
            health_check_id,
            inverted: true,
        } => Some(health_check_id.clone()),
        _ => None,
    });
    let Some(id) = inverts else {
        return GuardResult::new(
            INVERT_FAILING_CHECK,
            true,
            "no health check is inverted".into(),
        );
    };
    let record = i
        .before
        .region(&i.plan.region)
        .and_then(|r| r.record.as_ref());
    match record.and_then(|r| r.endpoint_healthy()) {
        Some(true) => GuardResult::new(
            INVERT_FAILING_CHECK,
            true,
            format!("health check {id} passes: inverted, it fails and takes the record out"),
        ),
        Some(false) => GuardResult::new(
            INVERT_FAILING_CHECK,
            false,
            format!(
                "{}'s endpoint fails health check {id}, so Route53 already leaves its record out; inverted, the check would pass and Route53 would send users to the failing region",
                i.plan.region
            ),
        ),
        None => GuardResult::new(
            INVERT_FAILING_CHECK,
            false,
            format!(
                "the status of health check {id} was not read: inverting a check whose endpoint fails would make it pass and send users to {}",
                i.plan.region
            ),
        ),
    }
}

/// A drain or a scale-down that would put a serving survivor over its rated capacity (one the
/// change adds load to or takes tasks from; one already over and left as it is does not block).
pub(super) fn survivor_capacity(i: &GuardInput) -> GuardResult {
    if i.plan.calls.is_empty() {
        return GuardResult::new(
            SURVIVOR_CAPACITY,
            true,
            "the plan changes nothing: no load moves".into(),
        );
    }
    let loads = capacity::survivors_after(i.before, &i.plan.op, i.fleet);
    let over: Vec<&SurvivorLoad> = loads.iter().filter(|l| l.pushed_over()).collect();
    if over.is_empty() {
        let list: Vec<String> = loads
            .iter()
            .map(|l| format!("{} {}", l.region, capacity::percent(l.utilisation())))
            .collect();
        let reason = if list.is_empty() {
            "no serving region takes on more load".to_string()
        } else {
            format!("within rated capacity afterwards: {}", list.join(", "))
        };
        return GuardResult::new(SURVIVOR_CAPACITY, true, reason);
    }
    let text: Vec<String> = over.iter().map(|l| l.describe()).collect();
    let advice = match &i.plan.op {
        Op::Scale { .. } | Op::ScaleNodegroup { .. } => {
            let (per_unit, unit) = match &i.plan.op {
                Op::ScaleNodegroup { .. } => (i.fleet.capacity.rps_per_node, "nodes"),
                _ => (i.fleet.capacity.rps_per_task, "tasks"),
            };
            let per_unit = per_unit.max(1e-9);
            let need = over
                .iter()
                .map(|l| (l.rps / per_unit).ceil() as i64)
                .max()
                .unwrap_or(0);
            format!("keep at least {need} {unit} running there")
        }
        _ => format!(
            "scale the survivors first ({})",
            capacity::what_if_hint(&i.plan.region)
        ),
    };
    GuardResult::new(
        SURVIVOR_CAPACITY,
        false,
        format!("{}: {advice}", text.join("; ")),
    )
}
