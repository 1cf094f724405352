//! The fleet as an operation sees it: read fresh from the target right before planning, and
//! projected forward ("after") so the guards can compare.

use super::{Bounds, Op};
use crate::fleet::routing::{self, FailoverRole, Policy};
use crate::fleet::{Fleet, Replication, Role, SourceKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetView {
    pub fleet: String,
    pub source: SourceKind,
    pub read_at: DateTime<Utc>,
    pub regions: Vec<RegionState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionState {
    pub name: String,
    pub role: Role,
    pub services: Vec<ServiceState>,
    /// EKS node groups (scaling config and status), when the region has any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodegroups: Vec<crate::fleet::eks::NodegroupState>,
    pub database: Option<DatabaseState>,
    pub record: Option<RecordState>,
    /// Requests/s the region serves now, when known.
    pub served_rps: Option<f64>,
    /// The health probe's last verdict; None when the region has no probe or it was not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeState>,
}

/// A health probe's verdict, as the `restore-unhealthy-region` rule reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeState {
    pub ok: bool,
    /// "HTTP 503", "no answer", "HTTP 200".
    pub detail: String,
}

impl ProbeState {
    pub fn of(p: &crate::fleet::ProbeResult) -> ProbeState {
        let detail = match (&p.failure, p.http_status, &p.status) {
            (Some(why), _, _) => why.clone(),
            (None, Some(code), Some(s)) => format!("HTTP {code}, status {s}"),
            (None, Some(code), None) => format!("HTTP {code}"),
            (None, None, _) => "no answer".into(),
        };
        ProbeState {
            ok: p.is_ok(),
            detail,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceState {
    pub cluster: String,
    pub service: String,
    pub desired: i64,
    pub running: i64,
    pub pending: i64,
    /// Application Auto Scaling bounds, when autoscaling manages the service.
    pub bounds: Option<Bounds>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseState {
    pub instance: String,
    pub replication: Replication,
    /// Replica lag in seconds; None on a primary or without data.
    pub lag_s: Option<f64>,
}

/// A Route53 alias target (UPSERT must repeat it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AliasTarget {
    pub hosted_zone_id: String,
    pub dns_name: String,
    pub evaluate_target_health: bool,
}

/// The region's record, as read (an UPSERT of a weighted one repeats everything but the weight).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordState {
    pub zone_id: String,
    pub name: String,
    pub record_type: String,
    pub set_identifier: String,
    pub weight: Option<i64>,
    /// The Route53 health check's verdict; None without a health check.
    pub healthy: Option<bool>,
    pub ttl: Option<i64>,
    pub values: Vec<String>,
    pub alias: Option<AliasTarget>,
    pub health_check_id: Option<String>,
    /// The record's routing policy (weighted when not read).
    #[serde(default)]
    pub policy: Policy,
    /// Geolocation: the record's location (`*` for the default record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover: Option<FailoverRole>,
    /// Whether the attached health check is inverted; None without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_inverted: Option<bool>,
}

impl RecordState {
    /// Zone and name: the records that answer for one name.
    pub fn key(&self) -> (String, String) {
        (
            self.zone_id.clone(),
            self.name.trim_end_matches('.').to_ascii_lowercase(),
        )
    }

    /// Route53 may answer with it: a weight above 0 when weighted, and a health check that does
    /// not fail (an inverted one fails while the endpoint is healthy).
    pub fn answers(&self) -> bool {
        let weighted = !self.policy.is_weighted() || self.weight.unwrap_or(0) > 0;
        let drained = !self.policy.is_weighted()
            && self.health_check_inverted == Some(true)
            && self.healthy.is_none();
        weighted && self.healthy != Some(false) && !drained
    }

    /// The endpoint's own health, whatever the inversion: what the checkers see.
    pub fn endpoint_healthy(&self) -> Option<bool> {
        self.healthy
            .map(|h| h != self.health_check_inverted.unwrap_or(false))
    }

    /// "w70", "latency", "geolocation EU", "failover PRIMARY".
    pub fn routing_label(&self) -> String {
        match (self.policy, &self.location, self.failover) {
            (Policy::Weighted, _, _) => format!(
                "weight {}",
                self.weight
                    .map(|w| w.to_string())
                    .unwrap_or_else(|| "—".into())
            ),
            (Policy::Geolocation, Some(l), _) => format!("geolocation {l}"),
            (Policy::Failover, _, Some(r)) => format!("failover {}", r.as_str()),
            (p, _, _) => p.as_str().to_string(),
        }
    }
}

impl ServiceState {
    pub fn id(&self) -> String {
        format!("{}/{}", self.cluster, self.service)
    }
}

impl RegionState {
    /// Takes traffic: a weighted record above 0, a health check that does not fail, and tasks
    /// wanted (when the region has services).
    pub fn serving(&self) -> bool {
        let Some(record) = &self.record else {
            return false;
        };
        record.answers()
            && (self.services.is_empty() || self.services.iter().all(|s| s.desired > 0))
            && (!self.services.is_empty()
                || self.nodegroups.is_empty()
                || self.nodegroups.iter().all(|g| g.desired > 0))
    }

    /// An EKS region: node groups and no ECS service; its compute is counted in nodes.
    pub fn is_eks(&self) -> bool {
        self.services.is_empty() && !self.nodegroups.is_empty()
    }

    /// Requests/s one unit of [`RegionState::running_tasks`] serves: a node in an EKS region
    /// (`capacity.rps_per_node`), a task elsewhere (`capacity.rps_per_task`).
    pub fn unit_rps(&self, fleet: &Fleet) -> f64 {
        if self.is_eks() {
            fleet.capacity.rps_per_node
        } else {
            fleet.capacity.rps_per_task
        }
    }

    /// Find a service by "service" or "cluster/service".
    pub fn service(&self, name: &str) -> Option<&ServiceState> {
        self.services
            .iter()
            .find(|s| s.service == name || s.id() == name)
    }

    /// Running ECS tasks; in an EKS region its nodes (each node group's desired size: EKS
    /// reports no running count).
    pub fn running_tasks(&self) -> i64 {
        if self.is_eks() {
            return self.nodegroups.iter().map(|g| g.desired).sum();
        }
        self.services.iter().map(|s| s.running).sum()
    }
}

impl FleetView {
    pub fn region(&self, name: &str) -> Option<&RegionState> {
        self.regions.iter().find(|r| r.name == name)
    }

    /// Each region as the shared load model sees it (`fleet::load::shift_by_weight`).
    pub fn served(&self) -> Vec<crate::fleet::load::Served<'_>> {
        self.regions
            .iter()
            .map(|r| crate::fleet::load::Served {
                name: &r.name,
                rps: r.served_rps,
                weight: r.record.as_ref().and_then(|x| x.weight),
                serving: r.serving(),
            })
            .collect()
    }

    /// True when every region's record is weighted (or the fleet has no records).
    pub fn all_weighted(&self) -> bool {
        self.regions
            .iter()
            .filter_map(|r| r.record.as_ref())
            .all(|r| r.policy.is_weighted())
    }

    /// Requests/s each region would serve if `failed` stopped serving now, fleet order, and where
    /// its users go, as Route53 would send them under the records' policy (`fleet::routing`).
    pub fn route_without(
        &self,
        failed: &str,
        fleet: &Fleet,
    ) -> (Vec<(String, f64)>, Option<String>) {
        if self.all_weighted() {
            return (
                crate::fleet::load::shift_by_weight(&self.served(), failed),
                None,
            );
        }
        let with_record: Vec<&RegionState> =
            self.regions.iter().filter(|r| r.record.is_some()).collect();
        let Some(at) = with_record.iter().position(|r| r.name == failed) else {
            return (
                self.regions
                    .iter()
                    .map(|r| {
                        (
                            r.name.clone(),
                            if r.name == failed {
                                0.0
                            } else {
                                r.served_rps.unwrap_or(0.0)
                            },
                        )
                    })
                    .collect(),
                Some(format!(
                    "{failed} has no Route53 record: its users are not moved"
                )),
            );
        };
        let entries: Vec<routing::Entry> = with_record
            .iter()
            .map(|r| {
                let rec = r.record.as_ref().expect("filtered on a record");
                routing::Entry {
                    region: &r.name,
                    policy: rec.policy,
                    weight: rec.weight.unwrap_or(0),
                    location: rec.location.as_deref(),
                    failover: rec.failover,
                    serving: r.serving(),
                }
            })
            .collect();
        let rps: Vec<Option<f64>> = with_record.iter().map(|r| r.served_rps).collect();
        let (after, line) = routing::shift(&entries, &rps, at, &fleet.routing);
        let out = self
            .regions
            .iter()
            .map(|r| {
                let rps = match with_record.iter().position(|w| w.name == r.name) {
                    Some(i) => after[i],
                    None => r.served_rps.unwrap_or(0.0),
                };
                (r.name.clone(), rps)
            })
            .collect();
        (out, Some(line))
    }

    /// Names of the regions that take traffic.
    pub fn serving(&self) -> Vec<&str> {
        self.regions
            .iter()
            .filter(|r| r.serving())
            .map(|r| r.name.as_str())
            .collect()
    }

    /// The fleet as it would be once `op` is applied (no time passes: tasks are not running yet).
    pub fn after(&self, op: &Op) -> FleetView {
        let mut v = self.clone();
        let Some(r) = v.regions.iter_mut().find(|r| r.name == op.region()) else {
            return v;
        };
        match op {
            Op::Scale {
                cluster,
                service,
                desired,
                bounds,
                ..
            } => {
                if let Some(s) = r
                    .services
                    .iter_mut()
                    .find(|s| &s.cluster == cluster && &s.service == service)
                {
                    s.desired = *desired;
                    if let Some(b) = bounds {
                        s.bounds = Some(*b);
                    }
                }
            }
            Op::ScaleNodegroup {
                cluster,
                nodegroup,
                desired,
                min,
                max,
                ..
            } => {
                if let Some(g) = r
                    .nodegroups
                    .iter_mut()
                    .find(|g| &g.cluster == cluster && &g.nodegroup == nodegroup)
                {
                    g.desired = *desired;
                    g.min = min.unwrap_or(g.min);
                    g.max = max.unwrap_or(g.max);
                }
            }
            Op::Drain { .. } => match &mut r.record {
                Some(rec) if !rec.policy.is_weighted() => invert(rec, true),
                Some(rec) => rec.weight = Some(0),
                None => {}
            },
            Op::Restore { weight, .. } => match (&mut r.record, weight) {
                (Some(rec), _) if !rec.policy.is_weighted() => invert(rec, false),
                (Some(rec), Some(w)) => rec.weight = Some(*w),
                _ => {}
            },
            Op::Promote { .. } => {
                if let Some(db) = &mut r.database {
                    db.replication = Replication::Primary {
                        instance: db.instance.clone(),
                        status: "available".into(),
                    };
                    db.lag_s = None;
                }
            }
            Op::SharedInit { .. } => {}
        }
        v
    }
}

/// The record once its health check is inverted (`to`) or no longer: the verdict Route53 routes on
/// flips with the inversion; a drained record fails whatever the checkers saw.
fn invert(rec: &mut RecordState, to: bool) {
    if rec.health_check_id.is_none() || rec.health_check_inverted == Some(to) {
        return;
    }
    let was = rec.health_check_inverted.unwrap_or(false);
    rec.healthy = match rec.healthy {
        Some(h) if was != to => Some(!h),
        Some(h) => Some(h),
        None if to => Some(false),
        None => None,
    };
    rec.health_check_inverted = Some(to);
}
