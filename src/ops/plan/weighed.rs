//! The values a plan was weighed on, kept with it (and so in its audit record): per region the
//! requests/s it served, its running tasks, its Route53 weight and health check, its probe's
//! verdict and its replica lag, as read for the plan. `ops::stale` compares them between the plan
//! the operator saw and the plan made again at confirmation; the audit record of an operation
//! keeps the ones it ran on.

use crate::ops::view::{FleetView, ProbeState};
use serde::{Deserialize, Serialize};

/// One region as the plan read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Weighed {
    pub region: String,
    /// Requests/s the region served (0.1 resolution), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served_rps: Option<f64>,
    pub running_tasks: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i64>,
    /// The Route53 health check passes; absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeState>,
    /// Replica lag in seconds (0.01 resolution), when the region has a replica with data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_lag_s: Option<f64>,
}

/// The values of every region of `view`, in its order.
pub fn of(view: &FleetView) -> Vec<Weighed> {
    // n / 10^k: the same double a JSON reader makes of the printed decimal.
    let round = |v: f64, per_unit: f64| (v * per_unit).round() / per_unit;
    view.regions
        .iter()
        .map(|r| Weighed {
            region: r.name.clone(),
            served_rps: r.served_rps.map(|v| round(v, 10.0)),
            running_tasks: r.running_tasks(),
            weight: r.record.as_ref().and_then(|x| x.weight),
            health_check: r.record.as_ref().and_then(|x| x.healthy),
            probe: r.probe.clone(),
            replica_lag_s: r
                .database
                .as_ref()
                .and_then(|d| d.lag_s)
                .map(|v| round(v, 100.0)),
        })
        .collect()
}
