//! The fleet as an operation sees it: read fresh from the target right before planning, and
//! projected forward ("after") so the guards can compare.

use super::{Bounds, Op};
use crate::fleet::{Replication, Role, SourceKind};
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

/// The region's weighted record, as read (an UPSERT repeats everything but the weight).
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
}

impl RecordState {
    /// Zone and name: the records that answer for one name.
    pub fn key(&self) -> (String, String) {
        (
            self.zone_id.clone(),
            self.name.trim_end_matches('.').to_ascii_lowercase(),
        )
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
        record.weight.unwrap_or(0) > 0
            && record.healthy != Some(false)
            && (self.services.is_empty() || self.services.iter().all(|s| s.desired > 0))
    }

    /// Find a service by "service" or "cluster/service".
    pub fn service(&self, name: &str) -> Option<&ServiceState> {
        self.services
            .iter()
            .find(|s| s.service == name || s.id() == name)
    }

    pub fn running_tasks(&self) -> i64 {
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
            Op::Drain { .. } => {
                if let Some(rec) = &mut r.record {
                    rec.weight = Some(0);
                }
            }
            Op::Restore { weight, .. } => {
                if let (Some(rec), Some(w)) = (&mut r.record, weight) {
                    rec.weight = Some(*w);
                }
            }
            Op::Promote { .. } => {
                if let Some(db) = &mut r.database {
                    db.replication = Replication::Primary {
                        instance: db.instance.clone(),
                        status: "available".into(),
                    };
                    db.lag_s = None;
                }
            }
        }
        v
    }
}
