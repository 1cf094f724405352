//! Planning: from an operation and a fresh view of the fleet to the diff, the exact API calls, the
//! notes an on-call engineer needs (RPO, one-way), and the operation that undoes it.

mod call;
pub mod nodegroup;
mod promote;
mod route53_policy;
mod scale;
pub mod weighed;
mod weight;

pub use call::{ApiCall, WeightedRecordSet, ROUTE53_REGION};

use super::view::{FleetView, RegionState};
use super::{Op, OpError};
use crate::fleet::{Fleet, Replication, SourceKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Route53 weights are 0..=255.
pub const MAX_WEIGHT: i64 = 255;

/// One field of one resource, before → after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub resource: String,
    pub field: String,
    pub before: String,
    pub after: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The operation with everything resolved (a restore's weight, a scale's cluster).
    pub op: Op,
    pub fleet: String,
    pub source: SourceKind,
    pub region: String,
    /// The resource the operation changes, e.g. `route53:Z0ABC/api.example.com./eu-west-1`.
    pub resource: String,
    /// When the state the plan is based on was read.
    pub read_at: DateTime<Utc>,
    pub changes: Vec<Change>,
    pub calls: Vec<ApiCall>,
    pub notes: Vec<String>,
    pub reversible: bool,
    pub undo: Option<Op>,
    /// The fleet afterwards, one line per region.
    pub after: Vec<String>,
    /// The values read for the plan, per region (`weighed`): what it was weighed and run on.
    /// Absent from audit lines written before it existed (they write back byte for byte).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weighed: Vec<weighed::Weighed>,
}

impl Plan {
    /// True when the plan changes nothing.
    pub fn is_noop(&self) -> bool {
        self.changes.is_empty()
    }
}

/// `--service S` with an optional cluster: the fleet file's `cluster/service` in that region.
pub fn resolve_service(
    fleet: &Fleet,
    region: &str,
    service: &str,
) -> Result<(String, String), OpError> {
    let spec = fleet
        .region(region)
        .ok_or_else(|| unknown_region(fleet, region))?;
    let found: Vec<_> = spec
        .ecs
        .iter()
        .filter(|s| s.service == service || format!("{}/{}", s.cluster, s.service) == service)
        .collect();
    match found.as_slice() {
        [one] => Ok((one.cluster.clone(), one.service.clone())),
        [] => {
            let names: Vec<String> = spec
                .ecs
                .iter()
                .map(|s| format!("{}/{}", s.cluster, s.service))
                .collect();
            Err(OpError::Input(format!(
                "{region} has no ECS service `{service}` (services: {})",
                if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                }
            )))
        }
        _ => Err(OpError::Input(format!(
            "`{service}` names several services in {region}: use cluster/service"
        ))),
    }
}

pub fn unknown_region(fleet: &Fleet, region: &str) -> OpError {
    let names: Vec<&str> = fleet.regions.iter().map(|r| r.name.as_str()).collect();
    OpError::Input(format!(
        "fleet `{}` has no region `{region}` (regions: {})",
        fleet.name,
        names.join(", ")
    ))
}

/// Plan `op` on `view`. `recorded_weight` is the weight the region's last drain found (audit log),
/// used by a restore without an explicit weight.
pub fn build(
    op: &Op,
    view: &FleetView,
    fleet: &Fleet,
    recorded_weight: Option<i64>,
) -> Result<Plan, OpError> {
    let region = view
        .region(op.region())
        .ok_or_else(|| unknown_region(fleet, op.region()))?;
    let mut plan = Plan {
        op: op.clone(),
        fleet: view.fleet.clone(),
        source: view.source,
        region: region.name.clone(),
        resource: String::new(),
        read_at: view.read_at,
        changes: Vec::new(),
        calls: Vec::new(),
        notes: Vec::new(),
        reversible: true,
        undo: None,
        after: Vec::new(),
        weighed: weighed::of(view),
    };
    match op {
        Op::Scale {
            cluster,
            service,
            desired,
            bounds,
            ..
        } => scale::plan(
            &mut plan, region, fleet, cluster, service, *desired, *bounds,
        )?,
        Op::ScaleNodegroup {
            cluster,
            nodegroup,
            desired,
            min,
            max,
            ..
        } => nodegroup::plan(
            &mut plan, region, fleet, cluster, nodegroup, *desired, *min, *max,
        )?,
        Op::Drain { .. } if !weighted(region) => {
            route53_policy::plan(&mut plan, region, view, fleet, true)?
        }
        Op::Restore { weight: w, .. } if !weighted(region) => {
            if let Some(w) = w {
                return Err(OpError::Input(format!(
                    "{}'s record is {}: it has no weight to restore to {w} (leave out --weight)",
                    region.name,
                    region
                        .record
                        .as_ref()
                        .map(|r| r.policy.as_str())
                        .unwrap_or("not weighted")
                )));
            }
            route53_policy::plan(&mut plan, region, view, fleet, false)?
        }
        Op::Drain { .. } => weight::plan(&mut plan, region, view, fleet, 0)?,
        Op::Restore { weight: w, .. } => {
            let w = w.or(recorded_weight).ok_or_else(|| {
                OpError::Input(format!(
                    "no drain of {} is recorded in the audit log: give the weight to restore (--weight N)",
                    region.name
                ))
            })?;
            if !(1..=MAX_WEIGHT).contains(&w) {
                return Err(OpError::Input(format!(
                    "a restored weight must be 1..={MAX_WEIGHT}, not {w}"
                )));
            }
            plan.op = Op::Restore {
                region: region.name.clone(),
                weight: Some(w),
            };
            weight::plan(&mut plan, region, view, fleet, w)?
        }
        Op::Promote { .. } => promote::plan(&mut plan, region, view, fleet)?,
        Op::SharedInit { .. } => {
            return Err(OpError::Input(
                "the shared resources are planned by `opsdeck shared init`".into(),
            ))
        }
    }
    let after = view.after(&plan.op);
    plan.after = after.regions.iter().map(describe_region).collect();
    Ok(plan)
}

/// The region's record is weighted (or it has none: the weighted plan says so).
fn weighted(region: &RegionState) -> bool {
    region
        .record
        .as_ref()
        .is_none_or(|r| r.policy.is_weighted())
}

pub(super) fn change(
    resource: &str,
    field: &str,
    before: impl ToString,
    after: impl ToString,
) -> Change {
    Change {
        resource: resource.into(),
        field: field.into(),
        before: before.to_string(),
        after: after.to_string(),
    }
}

/// "us-east-1: weight 100, serving; db replica (0.8 s behind); tasks 3 desired".
pub fn describe_region(r: &RegionState) -> String {
    let mut parts = Vec::new();
    if let Some(rec) = &r.record {
        let check = match (
            rec.policy.is_weighted(),
            rec.health_check_inverted,
            rec.healthy,
        ) {
            (true, _, _) => "",
            (false, Some(true), _) => " (health check inverted)",
            (false, _, Some(false)) => " (unhealthy)",
            (false, _, Some(true)) => " (healthy)",
            (false, _, None) => " (no health check)",
        };
        parts.push(format!(
            "{}{check}, {}",
            rec.routing_label(),
            if r.serving() {
                "serving"
            } else {
                "not serving"
            }
        ));
    }
    if let Some(db) = &r.database {
        parts.push(match (&db.replication, db.lag_s) {
            (Replication::Primary { .. }, _) => "db primary".into(),
            (Replication::Replica { .. }, Some(l)) => format!("db replica ({l:.1} s behind)"),
            (Replication::Replica { .. }, None) => "db replica".into(),
            (Replication::Broken { .. }, _) => "db replication broken".into(),
        });
    }
    if !r.services.is_empty() {
        let d: i64 = r.services.iter().map(|s| s.desired).sum();
        parts.push(format!("{d} tasks desired"));
    }
    if !r.nodegroups.is_empty() {
        let d: i64 = r.nodegroups.iter().map(|g| g.desired).sum();
        parts.push(format!("{d} nodes desired"));
    }
    format!("{}: {}", r.name, parts.join("; "))
}
