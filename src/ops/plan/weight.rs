//! Planning a drain or a restore: one UPSERT of the region's weighted record.

use super::{change, ApiCall, Plan, WeightedRecordSet};
use crate::fleet::Fleet;
use crate::ops::capacity;
use crate::ops::view::{FleetView, RegionState};
use crate::ops::{Op, OpError};

pub(super) fn plan(
    plan: &mut Plan,
    region: &RegionState,
    view: &FleetView,
    fleet: &Fleet,
    to: i64,
) -> Result<(), OpError> {
    let rec = region.record.as_ref().ok_or_else(|| {
        OpError::Input(format!(
            "{} has no Route53 weighted record in the fleet file",
            region.name
        ))
    })?;
    let from = rec.weight.ok_or_else(|| {
        OpError::Target(format!(
            "{} [{}] is not a weighted record (no Weight)",
            rec.name, rec.set_identifier
        ))
    })?;
    plan.resource = format!(
        "route53:{}/{}/{}",
        rec.zone_id, rec.name, rec.set_identifier
    );
    plan.undo = Some(if from == 0 {
        Op::Drain {
            region: region.name.clone(),
        }
    } else {
        Op::Restore {
            region: region.name.clone(),
            weight: Some(from),
        }
    });
    if from == to {
        plan.notes.push(format!(
            "{} already has weight {to}: nothing to do",
            region.name
        ));
        return Ok(());
    }
    plan.changes.push(change(
        &format!("route53 {} [{}]", rec.name, rec.set_identifier),
        "weight",
        from,
        to,
    ));
    let verb = if to == 0 { "drain" } else { "restore" };
    plan.calls.push(ApiCall::ChangeResourceRecordSets {
        hosted_zone_id: rec.zone_id.clone(),
        comment: format!("opsdeck {verb} {}", region.name),
        record_set: WeightedRecordSet {
            name: rec.name.clone(),
            record_type: rec.record_type.clone(),
            set_identifier: rec.set_identifier.clone(),
            weight: to,
            ttl: rec.ttl,
            values: rec.values.clone(),
            alias: rec.alias.clone(),
            health_check_id: rec.health_check_id.clone(),
        },
    });
    let others: Vec<String> = view
        .regions
        .iter()
        .filter(|r| r.name != region.name && r.serving())
        .filter(|r| r.record.as_ref().map(|o| o.key()) == Some(rec.key()))
        .map(|r| {
            format!(
                "{} (weight {})",
                r.name,
                r.record.as_ref().and_then(|o| o.weight).unwrap_or(0)
            )
        })
        .collect();
    let ttl = rec
        .ttl
        .map(|t| format!("{t} s"))
        .unwrap_or_else(|| "the record's TTL".into());
    if to == 0 {
        let served = region
            .served_rps
            .map(|r| format!("its {r:.0} req/s "))
            .unwrap_or_default();
        plan.notes.push(format!(
            "{served}moves to {} in proportion to their weights, as clients follow DNS ({ttl})",
            if others.is_empty() {
                "no other serving region".into()
            } else {
                others.join(", ")
            }
        ));
        overload_notes(plan, region, view, fleet);
    } else {
        plan.notes.push(format!(
            "{} takes a {to}/(sum of weights) share of the traffic again ({ttl})",
            region.name
        ));
    }
    Ok(())
}

/// Survivors that the drained traffic would push near or past their rated capacity: the plan says
/// so before anyone types the region's name, and points at the what-if for the tasks to add. (Past
/// 100 % the `survivor-capacity` guard blocks too.)
pub(super) fn overload_notes(
    plan: &mut Plan,
    region: &RegionState,
    view: &FleetView,
    fleet: &Fleet,
) {
    let op = crate::ops::Op::Drain {
        region: region.name.clone(),
    };
    for l in capacity::survivors_after(view, &op, fleet) {
        if l.tasks > 0 && l.utilisation() >= crate::fleet::health::WARN_FRACTION {
            plan.notes.push(format!(
                "WARNING {}: scale it first ({})",
                l.describe(),
                capacity::what_if_hint(&region.name)
            ));
        }
    }
}
