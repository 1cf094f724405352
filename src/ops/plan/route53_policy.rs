//! Planning a drain or a restore of a latency, geolocation, failover or multivalue record: such a
//! record has no weight to set to 0, so the region is taken out by forcing its record unhealthy —
//! its health check inverted (`UpdateHealthCheck` with `Inverted`) — and put back by reverting
//! the inversion. A record without a health check cannot be drained this way: the plan refuses and
//! says what to attach.

use super::{change, ApiCall, Plan};
use crate::fleet::Fleet;
use crate::ops::view::{FleetView, RecordState, RegionState};
use crate::ops::{Op, OpError};

/// Why a record without a health check cannot be drained, and what to attach.
fn no_check(region: &RegionState, rec: &RecordState, drain: bool) -> OpError {
    let verb = if drain { "drained" } else { "restored" };
    OpError::Input(format!(
        "{} cannot be {verb}: its {} record {} [{}] has no health check, and a {} record is taken out of Route53 only by failing its health check (there is no weight to set to 0). \
         Attach one: create a Route53 health check of the region's endpoint (CreateHealthCheck, e.g. HTTPS on its /health path), set its HealthCheckId on the record set [{}], \
         and name it in the fleet file (route53 = {{ ..., health_check_id = \"...\" }}). Nothing was changed.",
        region.name,
        rec.policy.as_str(),
        rec.name,
        rec.set_identifier,
        rec.policy.as_str(),
        rec.set_identifier,
    ))
}

pub(super) fn plan(
    plan: &mut Plan,
    region: &RegionState,
    view: &FleetView,
    fleet: &Fleet,
    drain: bool,
) -> Result<(), OpError> {
    let rec = region.record.as_ref().ok_or_else(|| {
        OpError::Input(format!(
            "{} has no Route53 record in the fleet file",
            region.name
        ))
    })?;
    let id = rec
        .health_check_id
        .clone()
        .ok_or_else(|| no_check(region, rec, drain))?;
    let from = rec.health_check_inverted.ok_or_else(|| {
        OpError::Target(format!(
            "health check {id} of {} was not read: whether it is inverted is unknown",
            region.name
        ))
    })?;
    plan.resource = format!("route53:healthcheck/{id}");
    let name = region.name.clone();
    plan.undo = Some(if from {
        Op::Drain { region: name }
    } else {
        Op::Restore {
            region: name,
            weight: None,
        }
    });
    let label = rec.routing_label();
    if from == drain {
        plan.notes.push(format!(
            "{}'s health check {id} is already {}: nothing to do",
            region.name,
            if drain {
                "inverted (drained)"
            } else {
                "not inverted"
            }
        ));
        if drain && rec.endpoint_healthy() == Some(false) {
            plan.notes.push(format!(
                "but {}'s endpoint fails the check, so the inverted check passes and Route53 sends users to it: revert the inversion to take it out (opsdeck act restore --region {})",
                region.name, region.name
            ));
        }
        return Ok(());
    }
    plan.changes.push(change(
        &format!(
            "route53 health check {id} ({} {} [{}])",
            label, rec.name, rec.set_identifier
        ),
        "inverted",
        from,
        drain,
    ));
    plan.calls.push(ApiCall::UpdateHealthCheck {
        health_check_id: id.clone(),
        inverted: drain,
    });
    let ttl = rec
        .ttl
        .map(|t| format!("{t} s"))
        .unwrap_or_else(|| "the record's TTL".into());
    if drain {
        plan.notes.push(format!(
            "Route53 treats {}'s {label} record as unhealthy while its health check is inverted (the endpoint itself is untouched)",
            region.name
        ));
        let (_, line) = view.route_without(&region.name, fleet);
        let served = region
            .served_rps
            .map(|r| format!("its {r:.0} req/s: "))
            .unwrap_or_default();
        if let Some(line) = line {
            plan.notes
                .push(format!("{served}{line}, as clients follow DNS ({ttl})"));
        }
        super::weight::overload_notes(plan, region, view, fleet);
    } else {
        plan.notes.push(format!(
            "{} answers again for its {label} record once Route53 sees the reverted check healthy ({ttl})",
            region.name
        ));
    }
    Ok(())
}
