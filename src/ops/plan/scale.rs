//! Planning a scale: the desired count, and the autoscaling bounds that keep it.

use super::{change, ApiCall, Plan};
use crate::fleet::Fleet;
use crate::ops::view::RegionState;
use crate::ops::{Bounds, Op, OpError};

pub(super) fn plan(
    plan: &mut Plan,
    region: &RegionState,
    fleet: &Fleet,
    cluster: &str,
    service: &str,
    desired: i64,
    bounds: Option<Bounds>,
) -> Result<(), OpError> {
    let id = format!("{cluster}/{service}");
    let s = region
        .service(&id)
        .ok_or_else(|| OpError::Input(format!("{} has no ECS service `{id}`", region.name)))?;
    if desired < 0 {
        return Err(OpError::Input(format!(
            "desired count must be 0 or more, not {desired}"
        )));
    }
    if let Some(b) = bounds {
        if b.min > b.max || desired < b.min || desired > b.max {
            return Err(OpError::Input(format!(
                "desired {desired} does not fit the autoscaling bounds {b}"
            )));
        }
        if s.bounds.is_none() {
            return Err(OpError::Input(format!(
                "no autoscaling target manages {id} in {}",
                region.name
            )));
        }
    }
    plan.resource = format!("ecs:{}/{id}", region.name);
    let new_bounds = match (s.bounds, bounds) {
        (_, Some(b)) => Some(b),
        (None, None) => None,
        // Keep autoscaling from scaling a scale-up back in: the floor rises to the new count.
        (Some(b), None) if desired > s.desired => Some(Bounds {
            min: b.min.max(desired),
            max: b.max.max(desired),
        }),
        (Some(b), None) => Some(Bounds {
            min: b.min.min(desired),
            max: b.max,
        }),
    };
    let resource_id = ApiCall::scalable_resource_id(cluster, service);
    if let (Some(old), Some(new)) = (s.bounds, new_bounds) {
        if old != new {
            let target = format!("autoscaling {resource_id}");
            plan.changes.push(change(&target, "min", old.min, new.min));
            plan.changes.push(change(&target, "max", old.max, new.max));
            plan.changes.retain(|c| c.before != c.after);
        }
    }
    let bounds_change = plan.changes.len();
    if let (true, Some(b)) = (bounds_change > 0, new_bounds) {
        plan.calls.push(ApiCall::RegisterScalableTarget {
            region: region.name.clone(),
            cluster: cluster.into(),
            service: service.into(),
            min_capacity: b.min,
            max_capacity: b.max,
        });
    }
    if desired != s.desired {
        plan.changes.push(change(
            &format!("ecs {id}"),
            "desiredCount",
            s.desired,
            desired,
        ));
        plan.calls.push(ApiCall::UpdateService {
            region: region.name.clone(),
            cluster: cluster.into(),
            service: service.into(),
            desired_count: desired,
        });
    }
    let rps_per_task = fleet.capacity.rps_per_task;
    let capacity = desired as f64 * rps_per_task;
    let load = region
        .served_rps
        .map(|r| format!(" for {r:.0} req/s served now"))
        .unwrap_or_default();
    plan.notes.push(format!(
        "capacity after: {desired} × {rps_per_task:.0} = {capacity:.0} req/s{load}"
    ));
    if desired > s.desired {
        plan.notes
            .push("new tasks start in about 90 s; capacity rises as they run".into());
    }
    match (s.bounds, new_bounds) {
        (Some(_), Some(b)) if desired > s.desired => plan.notes.push(format!(
            "autoscaling keeps {b}: the floor rises so it cannot scale the change back in"
        )),
        (Some(b), _) if desired < s.desired => plan.notes.push(format!(
            "autoscaling may scale out again up to {} if load needs it",
            new_bounds.unwrap_or(b).max
        )),
        (None, _) => plan
            .notes
            .push("no autoscaling target manages this service".into()),
        _ => {}
    }
    plan.undo = Some(Op::Scale {
        region: region.name.clone(),
        cluster: cluster.into(),
        service: service.into(),
        desired: s.desired,
        bounds: if bounds_change > 0 { s.bounds } else { None },
    });
    Ok(())
}
