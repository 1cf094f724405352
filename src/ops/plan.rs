//! Planning: from an operation and a fresh view of the fleet to the diff, the exact API calls, the
//! notes an on-call engineer needs (RPO, one-way), and the operation that undoes it.

use super::view::{FleetView, RegionState};
use super::{Bounds, Op, OpError};
use crate::fleet::{Fleet, Replication};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Route53 weights are 0..=255.
pub const MAX_WEIGHT: i64 = 255;
/// Route53's API lives in us-east-1.
pub const ROUTE53_REGION: &str = "us-east-1";

/// One field of one resource, before → after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub resource: String,
    pub field: String,
    pub before: String,
    pub after: String,
}

/// One AWS API call exactly as it will be made: service, operation, the endpoint's region and
/// the request parameters (AWS field names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiCall {
    pub service: String,
    pub operation: String,
    pub region: String,
    pub params: Value,
}

impl std::fmt::Display for ApiCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} ({}) {}",
            self.service, self.operation, self.region, self.params
        )
    }
}

impl ApiCall {
    fn new(service: &str, operation: &str, region: &str, params: Value) -> Self {
        ApiCall {
            service: service.into(),
            operation: operation.into(),
            region: region.into(),
            params,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The operation with everything resolved (a restore's weight, a scale's cluster).
    pub op: Op,
    pub fleet: String,
    pub source: String,
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
        source: view.source.clone(),
        region: region.name.clone(),
        resource: String::new(),
        read_at: view.read_at,
        changes: Vec::new(),
        calls: Vec::new(),
        notes: Vec::new(),
        reversible: true,
        undo: None,
        after: Vec::new(),
    };
    match op {
        Op::Scale {
            cluster,
            service,
            desired,
            bounds,
            ..
        } => scale(
            &mut plan, region, fleet, cluster, service, *desired, *bounds,
        )?,
        Op::Drain { .. } => weight(&mut plan, region, view, 0)?,
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
            weight(&mut plan, region, view, w)?
        }
        Op::Promote { .. } => promote(&mut plan, region, view, fleet)?,
    }
    let after = view.after(&plan.op);
    plan.after = after.regions.iter().map(describe_region).collect();
    Ok(plan)
}

fn scale(
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
    let resource_id = format!("service/{id}");
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
        plan.calls.push(ApiCall::new(
            "application-autoscaling",
            "RegisterScalableTarget",
            &region.name,
            json!({
                "ServiceNamespace": "ecs",
                "ResourceId": resource_id,
                "ScalableDimension": "ecs:service:DesiredCount",
                "MinCapacity": b.min,
                "MaxCapacity": b.max,
            }),
        ));
    }
    if desired != s.desired {
        plan.changes.push(change(
            &format!("ecs {id}"),
            "desiredCount",
            s.desired,
            desired,
        ));
        plan.calls.push(ApiCall::new(
            "ecs",
            "UpdateService",
            &region.name,
            json!({ "cluster": cluster, "service": service, "desiredCount": desired }),
        ));
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

fn weight(plan: &mut Plan, region: &RegionState, view: &FleetView, to: i64) -> Result<(), OpError> {
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
    let mut set = json!({
        "Name": rec.name,
        "Type": rec.record_type,
        "SetIdentifier": rec.set_identifier,
        "Weight": to,
    });
    if let Some(ttl) = rec.ttl {
        set["TTL"] = json!(ttl);
    }
    if !rec.values.is_empty() {
        set["ResourceRecords"] = rec.values.iter().map(|v| json!({ "Value": v })).collect();
    }
    if let Some(a) = &rec.alias {
        set["AliasTarget"] = json!({
            "HostedZoneId": a.hosted_zone_id,
            "DNSName": a.dns_name,
            "EvaluateTargetHealth": a.evaluate_target_health,
        });
    }
    if let Some(h) = &rec.health_check_id {
        set["HealthCheckId"] = json!(h);
    }
    let verb = if to == 0 { "drain" } else { "restore" };
    plan.calls.push(ApiCall::new(
        "route53",
        "ChangeResourceRecordSets",
        ROUTE53_REGION,
        json!({
            "HostedZoneId": rec.zone_id,
            "ChangeBatch": {
                "Comment": format!("opsdeck {verb} {}", region.name),
                "Changes": [{ "Action": "UPSERT", "ResourceRecordSet": set }],
            },
        }),
    ));
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
    } else {
        plan.notes.push(format!(
            "{} takes a {to}/(sum of weights) share of the traffic again ({ttl})",
            region.name
        ));
    }
    Ok(())
}

fn promote(
    plan: &mut Plan,
    region: &RegionState,
    view: &FleetView,
    fleet: &Fleet,
) -> Result<(), OpError> {
    let db = region.database.as_ref().ok_or_else(|| {
        OpError::Input(format!(
            "{} has no database (`rds`) in the fleet file",
            region.name
        ))
    })?;
    let source = match &db.replication {
        Replication::Primary { .. } => {
            return Err(OpError::Input(format!(
                "{} in {} is already a primary: nothing to promote",
                db.instance, region.name
            )))
        }
        Replication::Replica { source, .. } => source.clone(),
        Replication::Broken { source, .. } => source.clone().unwrap_or_else(|| "unknown".into()),
    };
    plan.resource = format!("rds:{}/{}", region.name, db.instance);
    plan.reversible = false;
    plan.changes.push(Change {
        resource: format!("rds {}", db.instance),
        field: "role".into(),
        before: format!("read replica of {source}"),
        after: "standalone primary".into(),
    });
    plan.calls.push(ApiCall::new(
        "rds",
        "PromoteReadReplica",
        &region.name,
        json!({ "DBInstanceIdentifier": db.instance }),
    ));
    let budget = fleet.capacity.rpo_budget_s;
    plan.notes.push(match (&db.replication, db.lag_s) {
        (Replication::Broken { reason, .. }, _) => {
            format!("RPO: replication is broken ({reason}): everything since it stopped would be lost")
        }
        (_, Some(lag)) => format!("RPO: the replica is {lag:.1} s behind: that much data would be lost (budget {budget:.0} s)"),
        (_, None) => format!("RPO: the replica's lag is unknown: the data loss cannot be bounded (budget {budget:.0} s)"),
    });
    plan.notes.push(
        "one-way: cannot be undone (a promoted instance never becomes a replica again)".into(),
    );
    let still: Vec<&str> = view
        .regions
        .iter()
        .filter(|r| r.name != region.name)
        .filter(|r| matches!(&r.database, Some(d) if matches!(&d.replication, Replication::Replica { source: s, .. } if *s == source)))
        .map(|r| r.name.as_str())
        .collect();
    plan.notes.push(match still.as_slice() {
        [] => format!("afterwards {} and {source} are both writers", db.instance),
        list => format!(
            "afterwards {} and {source} are both writers; still replicating from {source}: {}",
            db.instance,
            list.join(", ")
        ),
    });
    Ok(())
}

fn change(resource: &str, field: &str, before: impl ToString, after: impl ToString) -> Change {
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
        let w = rec
            .weight
            .map(|w| w.to_string())
            .unwrap_or_else(|| "—".into());
        parts.push(format!(
            "weight {w}, {}",
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
    format!("{}: {}", r.name, parts.join("; "))
}
