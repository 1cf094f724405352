//! Failover what-if: "if region X fails now". Where its traffic goes under the weights, whether
//! the survivors have the capacity, how many tasks each needs, their predicted latency, which
//! replica would be promoted and its RPO, and an RTO estimate from the steps' typical durations.
//! Changes nothing.

use super::view::{FleetView, RegionState};
use super::Op;
use crate::fleet::failover::Writes;
use crate::fleet::load::LatencyModel;
use crate::fleet::Fleet;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Typical step durations, seconds.
pub const DETECTION_S: f64 = 90.0; // Route53 health check: 3 failures 30 s apart
pub const DNS_TTL_S: f64 = 60.0; // clients follow a weight change
pub const TASK_START_S: f64 = 90.0; // a new ECS task runs
pub const NODE_START_S: f64 = 150.0; // a new EKS node joins the cluster
/// PromoteReadReplica until the instance is available, on RDS (the simulated fleet's model says
/// its own: `LoadModel::promotion_s`).
pub const PROMOTION_S: f64 = 300.0;
pub const WRITER_SWITCH_S: f64 = 60.0; // the application reconnects its writer to the promoted instance
/// Survivors are sized to run at this share of their rated capacity.
pub const TARGET_UTILISATION: f64 = 0.8;

/// Load and latency as a target knows them.
pub trait LoadModel {
    /// Requests/s each region would receive if `failed` stopped serving now, fleet order.
    fn route_without(&self, view: &FleetView, failed: &str) -> Vec<(String, f64)>;
    /// Latency (ms) of `stat` at `rps` on `tasks` running tasks.
    fn latency_ms(&self, region: &str, stat: &str, rps: f64, tasks: f64) -> Option<f64>;
    /// Seconds from PromoteReadReplica until the instance takes writes.
    fn promotion_s(&self) -> f64 {
        PROMOTION_S
    }
}

/// Without a model of demand (AWS): the failed region's requests go where Route53 would send them
/// under the record's policy (by weight, to the nearest serving region, to the default record, to
/// the secondary: `fleet::routing`); latency from the shared queueing formula (`fleet::load`).
pub struct WeightedModel {
    /// Each region's calibration (its own latency target) and what one unit of its compute
    /// serves (a task, or a node in an EKS region), fleet order.
    latency: Vec<(String, LatencyModel, f64)>,
    fleet: Fleet,
}

impl WeightedModel {
    pub fn new(fleet: &Fleet) -> Self {
        WeightedModel {
            latency: fleet
                .regions
                .iter()
                .map(|r| {
                    let unit = crate::fleet::eks::unit_rps(fleet, r);
                    (r.name.clone(), LatencyModel::new(fleet, &r.name), unit)
                })
                .collect(),
            fleet: fleet.clone(),
        }
    }
}

impl LoadModel for WeightedModel {
    fn route_without(&self, view: &FleetView, failed: &str) -> Vec<(String, f64)> {
        view.route_without(failed, &self.fleet).0
    }

    fn latency_ms(&self, region: &str, stat: &str, rps: f64, tasks: f64) -> Option<f64> {
        let (_, model, unit) = self.latency.iter().find(|(name, _, _)| name == region)?;
        model.predicted_ms(stat, rps, tasks, *unit)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Survivor {
    pub region: String,
    pub weight: Option<i64>,
    pub serving: bool,
    pub rps_now: Option<f64>,
    pub rps_after: f64,
    pub running_tasks: i64,
    pub desired_tasks: i64,
    /// rps_per_task × running tasks.
    pub capacity_rps: f64,
    pub utilisation_after: Option<f64>,
    /// Tasks to serve `rps_after` at the target utilisation.
    pub tasks_needed: i64,
    pub tasks_to_add: i64,
    pub max_tasks: Option<i64>,
    pub latency_after_ms: Option<f64>,
    /// With `tasks_needed` tasks running.
    pub latency_scaled_ms: Option<f64>,
    /// This region's own latency threshold (`Fleet::thresholds_for`), ms.
    #[serde(default)]
    pub threshold_ms: f64,
    /// What its `*_tasks` count: "tasks" (ECS) or "nodes" (EKS node groups).
    #[serde(default = "tasks_unit")]
    pub unit: String,
}

fn tasks_unit() -> String {
    "tasks".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Promotion {
    pub region: String,
    pub instance: String,
    /// The data that would be lost: the current lag, or the last lag seen before replication
    /// stopped because the primary went down. None: unknown or unbounded.
    pub rpo_s: Option<f64>,
    pub rpo_budget_s: f64,
    pub within_budget: Option<bool>,
    /// When the lag behind `rpo_s` was observed.
    #[serde(default)]
    pub rpo_observed_at: Option<DateTime<Utc>>,
    /// Where the estimate comes from ("current lag", "last lag before replication stopped", ...).
    #[serde(default)]
    pub rpo_basis: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub name: String,
    pub seconds: f64,
    /// Runs alongside the other parallel steps once detection is done.
    pub parallel: bool,
    /// Starts when the step before it ends (in the same parallel lane).
    #[serde(default)]
    pub after_previous: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhatIf {
    pub fleet: String,
    /// The failed region's Route53 routing policy ("weighted", "latency", "geolocation",
    /// "failover", "multivalue"): how its users move (by weight, or as the notes say).
    #[serde(default = "weighted")]
    pub routing: String,
    pub source: crate::fleet::SourceKind,
    pub failed: String,
    pub at: DateTime<Utc>,
    pub stat: String,
    /// The fleet's latency threshold; a region with its own says so in its survivor entry.
    pub threshold_ms: f64,
    /// Requests/s the failed region serves now.
    pub moved_rps: Option<f64>,
    pub survivors: Vec<Survivor>,
    pub failed_is_primary: bool,
    /// No primary takes writes now (the primary is down and nothing has been promoted).
    #[serde(default)]
    pub writes_down: bool,
    /// Since when, as far as the replicas saw their source last.
    #[serde(default)]
    pub writes_down_since: Option<DateTime<Utc>>,
    pub promotion: Option<Promotion>,
    pub steps: Vec<Step>,
    pub rto_s: f64,
    pub rto_budget_s: f64,
    /// Seconds until the survivors' added tasks run (0 when none are needed).
    pub capacity_ready_s: f64,
    /// The scale-ups that give every survivor the tasks it needs.
    pub recommended: Vec<Op>,
    pub notes: Vec<String>,
}

fn weighted() -> String {
    "weighted".into()
}

pub fn analyse(
    view: &FleetView,
    fleet: &Fleet,
    failed: &str,
    model: &dyn LoadModel,
) -> Result<WhatIf, String> {
    let down = view
        .region(failed)
        .ok_or_else(|| super::plan::unknown_region(fleet, failed).to_string())?;
    let stat = fleet.threshold_stat().to_string();
    let routed = model.route_without(view, failed);
    let mut survivors = Vec::new();
    let mut recommended = Vec::new();
    let mut notes = Vec::new();
    for r in view.regions.iter().filter(|r| r.name != failed) {
        let rps_after = routed
            .iter()
            .find(|(n, _)| *n == r.name)
            .map(|(_, v)| *v)
            .unwrap_or(0.0);
        // An EKS region's compute is its nodes (`capacity.rps_per_node`).
        let rps_per_task = r.unit_rps(fleet);
        let running = r.running_tasks();
        let desired: i64 = if r.is_eks() {
            running
        } else {
            r.services.iter().map(|s| s.desired).sum()
        };
        let needed = if r.services.is_empty() && !r.is_eks() {
            0
        } else {
            (rps_after / (rps_per_task * TARGET_UTILISATION))
                .ceil()
                .max(1.0) as i64
        };
        let max_tasks = if r.is_eks() {
            Some(r.nodegroups.iter().map(|g| g.max).sum())
        } else {
            r.services
                .iter()
                .filter_map(|s| s.bounds.map(|b| b.max))
                .min()
        };
        // The nodes missing go to the region's first node group, its max raised when needed.
        if let (true, Some(g)) = (r.is_eks() && needed > running, r.nodegroups.first()) {
            let to = g.desired + needed - running;
            recommended.push(Op::ScaleNodegroup {
                region: r.name.clone(),
                cluster: g.cluster.clone(),
                nodegroup: g.nodegroup.clone(),
                desired: to,
                min: None,
                max: (to > g.max).then_some(to),
            });
        }
        for s in r.services.iter().filter(|s| s.desired < needed) {
            recommended.push(Op::Scale {
                region: r.name.clone(),
                cluster: s.cluster.clone(),
                service: s.service.clone(),
                desired: needed,
                bounds: None,
            });
        }
        let unit = if r.is_eks() { "nodes" } else { "tasks" };
        if let Some(m) = max_tasks.filter(|m| needed > *m) {
            notes.push(format!(
                "{} needs {needed} {unit}, above its {} max {m}",
                r.name,
                if r.is_eks() {
                    "node groups'"
                } else {
                    "autoscaling"
                }
            ));
        }
        let capacity = running as f64 * rps_per_task;
        survivors.push(Survivor {
            region: r.name.clone(),
            weight: r.record.as_ref().and_then(|x| x.weight),
            serving: r.serving(),
            rps_now: r.served_rps,
            rps_after,
            running_tasks: running,
            desired_tasks: desired,
            capacity_rps: capacity,
            utilisation_after: (capacity > 0.0).then(|| rps_after / capacity),
            tasks_needed: needed,
            tasks_to_add: (needed - desired.max(running)).max(0),
            max_tasks,
            latency_after_ms: model.latency_ms(&r.name, &stat, rps_after, running as f64),
            latency_scaled_ms: model.latency_ms(
                &r.name,
                &stat,
                rps_after,
                needed.max(running) as f64,
            ),
            unit: unit.into(),
            threshold_ms: fleet.thresholds_for(&r.name).latency_ms,
        });
    }
    if let (_, Some(line)) = view.route_without(failed, fleet) {
        notes.push(line);
    }
    if !survivors.iter().any(|s| s.serving) {
        notes.push("no other region is serving: Route53 would answer with every record, the failed one included".into());
    }
    if view.regions.iter().all(|r| r.served_rps.is_none()) {
        notes.push("no request-rate data: traffic figures are unknown (shown as 0)".into());
    }
    let failed_is_primary = match down.database.as_ref().map(|d| &d.replication) {
        Some(rep) => rep.is_primary(),
        None => down.role == crate::fleet::Role::Primary,
    };
    let (writes_down, writes_down_since) = match super::failover::writes(view) {
        Writes::Down { since } => (true, since),
        Writes::Up | Writes::Unknown => (false, None),
    };
    let promotion = if failed_is_primary || writes_down {
        let (chosen, passed_over) = super::failover::choose(view, fleet, failed);
        notes.extend(passed_over);
        chosen.map(|(r, d)| promotion(view, fleet, &r.name, d))
    } else {
        None
    };
    if (failed_is_primary || writes_down) && promotion.is_none() {
        notes.push("no replica can be promoted: writes stay down until the primary returns".into());
    }
    // New EKS nodes take longer to join than ECS tasks take to start.
    let nodes = recommended
        .iter()
        .any(|o| matches!(o, Op::ScaleNodegroup { .. }));
    let scale = match (recommended.is_empty(), nodes) {
        (true, _) => None,
        (false, true) => Some(("survivors' new EKS nodes join the cluster", NODE_START_S)),
        (false, false) => Some(("survivors' new ECS tasks start", TASK_START_S)),
    };
    let promote_s = promotion.as_ref().map(|_| model.promotion_s());
    let steps = steps(down, scale, promote_s);
    let rto_s = rto(&steps);
    Ok(WhatIf {
        fleet: view.fleet.clone(),
        routing: down
            .record
            .as_ref()
            .map(|r| r.policy.as_str())
            .unwrap_or("weighted")
            .to_string(),
        source: view.source,
        failed: failed.into(),
        at: view.read_at,
        stat,
        threshold_ms: fleet.thresholds.latency_ms,
        moved_rps: down.served_rps,
        survivors,
        failed_is_primary,
        writes_down,
        writes_down_since,
        promotion,
        steps,
        rto_s,
        rto_budget_s: fleet.capacity.rto_budget_s,
        capacity_ready_s: scale.map(|(_, s)| s).unwrap_or(0.0),
        recommended,
        notes,
    })
}

fn promotion(
    view: &FleetView,
    fleet: &Fleet,
    region: &str,
    db: &super::view::DatabaseState,
) -> Promotion {
    let rpo = super::failover::rpo(view, db);
    let budget = fleet.capacity.rpo_budget_s;
    Promotion {
        region: region.into(),
        instance: db.instance.clone(),
        rpo_s: rpo.seconds(),
        rpo_budget_s: budget,
        within_budget: rpo.seconds().map(|l| l <= budget),
        rpo_observed_at: rpo.observed_at(),
        rpo_basis: match rpo {
            super::failover::Rpo::Live { .. } => "current replica lag",
            super::failover::Rpo::LastSeen { .. } => "last replica lag before replication stopped",
            super::failover::Rpo::Unknown => "replica lag unknown",
            super::failover::Rpo::Unbounded => "replication broken while the primary takes writes",
        }
        .into(),
    }
}

fn steps(down: &RegionState, scale: Option<(&str, f64)>, promote_s: Option<f64>) -> Vec<Step> {
    let step = |name: String, seconds: f64, parallel: bool| Step {
        name,
        seconds,
        parallel,
        after_previous: false,
    };
    let has_check = down
        .record
        .as_ref()
        .is_some_and(|r| r.healthy.is_some() || r.health_check_id.is_some());
    let mut out = vec![if has_check {
        step(
            "Route53 health check marks the region unhealthy (3 × 30 s)".into(),
            DETECTION_S,
            false,
        )
    } else {
        step(
            "no health check: the region is drained by hand (opsdeck act drain)".into(),
            0.0,
            false,
        )
    }];
    out.push(step(
        "clients follow DNS away from the region (TTL)".into(),
        DNS_TTL_S,
        true,
    ));
    if let Some((what, secs)) = scale {
        out.push(step(what.into(), secs, true));
    }
    if let Some(promote_s) = promote_s {
        out.push(step(
            "promote the replica (PromoteReadReplica)".into(),
            promote_s,
            true,
        ));
        out.push(Step {
            after_previous: true,
            ..step(
                "the application switches its writer to the promoted instance".into(),
                WRITER_SWITCH_S,
                true,
            )
        });
    }
    out
}

/// Sequential steps add up; parallel lanes overlap, and a step `after_previous` lengthens the
/// lane of the step before it.
pub fn rto(steps: &[Step]) -> f64 {
    let seq: f64 = steps
        .iter()
        .filter(|s| !s.parallel)
        .map(|s| s.seconds)
        .sum();
    let mut lanes: Vec<f64> = Vec::new();
    for s in steps.iter().filter(|s| s.parallel) {
        match lanes.last_mut() {
            Some(lane) if s.after_previous => *lane += s.seconds,
            _ => lanes.push(s.seconds),
        }
    }
    seq + lanes.into_iter().fold(0.0, f64::max)
}
