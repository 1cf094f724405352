//! Planning the scale of an EKS managed node group: its desired size within min..max, and the
//! bounds moved with it only when asked (`--min`/`--max`), as a scale of an ECS service moves its
//! autoscaling bounds.

use super::{change, ApiCall, Plan};
use crate::fleet::Fleet;
use crate::ops::view::RegionState;
use crate::ops::{Op, OpError};

/// EKS accepts node group sizes up to this (its service quota's ceiling).
pub const MAX_NODES: i64 = 1000;

#[allow(clippy::too_many_arguments)]
pub(super) fn plan(
    plan: &mut Plan,
    region: &RegionState,
    fleet: &Fleet,
    cluster: &str,
    nodegroup: &str,
    desired: i64,
    min: Option<i64>,
    max: Option<i64>,
) -> Result<(), OpError> {
    let id = format!("{cluster}/{nodegroup}");
    let g = region
        .nodegroups
        .iter()
        .find(|g| g.cluster == cluster && g.nodegroup == nodegroup)
        .ok_or_else(|| OpError::Input(format!("{} has no EKS node group `{id}`", region.name)))?;
    let (lo, hi) = (min.unwrap_or(g.min), max.unwrap_or(g.max));
    if lo < 0 || hi < 1 || lo > hi || hi > MAX_NODES {
        return Err(OpError::Input(format!(
            "node group bounds {lo}..{hi} are not valid (0 ≤ min ≤ max, 1 ≤ max ≤ {MAX_NODES})"
        )));
    }
    if desired > hi {
        return Err(OpError::Input(format!(
            "desired {desired} is above {id}'s max {hi}: nothing is planned; raise the max with it (--max {desired})"
        )));
    }
    if desired < lo {
        return Err(OpError::Input(format!(
            "desired {desired} is below {id}'s min {lo}: nothing is planned; lower the min with it (--min {desired})"
        )));
    }
    plan.resource = format!("eks:{}/{id}", region.name);
    let target = format!("eks {id}");
    for (field, before, after) in [
        ("minSize", g.min, lo),
        ("maxSize", g.max, hi),
        ("desiredSize", g.desired, desired),
    ] {
        if before != after {
            plan.changes.push(change(&target, field, before, after));
        }
    }
    if !plan.changes.is_empty() {
        plan.calls.push(ApiCall::UpdateNodegroupConfig {
            region: region.name.clone(),
            cluster: cluster.into(),
            nodegroup: nodegroup.into(),
            desired_size: desired,
            min_size: lo,
            max_size: hi,
        });
    }
    let per_node = fleet.capacity.rps_per_node;
    let load = region
        .served_rps
        .map(|r| format!(" for {r:.0} req/s served now"))
        .unwrap_or_default();
    plan.notes.push(format!(
        "capacity after: {desired} node{} × {per_node:.0} = {:.0} req/s{load}",
        if desired == 1 { "" } else { "s" },
        desired as f64 * per_node
    ));
    if desired > g.desired {
        plan.notes.push(
            "new nodes join the cluster in about 2–3 min; pods schedule onto them then".into(),
        );
    }
    if g.status != "ACTIVE" {
        plan.notes.push(format!(
            "the node group is {} now: EKS may refuse the update until it is ACTIVE",
            g.status
        ));
    }
    plan.undo = Some(Op::ScaleNodegroup {
        region: region.name.clone(),
        cluster: cluster.into(),
        nodegroup: nodegroup.into(),
        desired: g.desired,
        min: (lo != g.min).then_some(g.min),
        max: (hi != g.max).then_some(g.max),
    });
    Ok(())
}

/// `--nodegroup NG` or `cluster/NG`: the fleet file's node group in that region.
pub fn resolve(fleet: &Fleet, region: &str, name: &str) -> Result<(String, String), OpError> {
    let spec = fleet
        .region(region)
        .ok_or_else(|| super::unknown_region(fleet, region))?;
    let found: Vec<_> = spec
        .eks
        .iter()
        .filter(|g| g.nodegroup == name || g.id() == name)
        .collect();
    match found.as_slice() {
        [one] => Ok((one.cluster.clone(), one.nodegroup.clone())),
        [] => {
            let names: Vec<String> = spec.eks.iter().map(|g| g.id()).collect();
            Err(OpError::Input(format!(
                "{region} has no EKS node group `{name}` (node groups: {})",
                if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                }
            )))
        }
        _ => Err(OpError::Input(format!(
            "`{name}` names several node groups in {region}: use cluster/nodegroup"
        ))),
    }
}
