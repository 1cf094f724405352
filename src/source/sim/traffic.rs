//! Demand and routing: each region's own users follow a daily curve; Route53's records decide
//! which region serves them, by weight or by the record's policy (`fleet::routing`).

use crate::fleet::routing::{self, Answer, FailoverRole, Policy, RoutingConfig};
use chrono::{DateTime, Timelike, Utc};

/// Share of the daily peak at the trough (03:00 local).
const TROUGH_SHARE: f64 = 0.35;
/// Local hour of the daily peak (mid-afternoon).
const PEAK_HOUR: f64 = 15.0;

/// Hour of the day (0..24, fractional) at `offset_h` hours east of UTC.
pub fn local_hour(now: DateTime<Utc>, offset_h: f64) -> f64 {
    let utc_h = now.hour() as f64 + now.minute() as f64 / 60.0 + now.second() as f64 / 3600.0;
    (utc_h + offset_h).rem_euclid(24.0)
}

/// Share of the peak demand at a local hour: 1.0 at 15:00, 0.35 at 03:00, a cosine between.
pub fn daily_curve(local_hour: f64) -> f64 {
    let phase = 2.0 * std::f64::consts::PI * (local_hour - PEAK_HOUR) / 24.0;
    TROUGH_SHARE + (1.0 - TROUGH_SHARE) * (0.5 + 0.5 * phase.cos())
}

/// One region as Route53 sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteInput {
    pub region: String,
    pub policy: Policy,
    pub location: Option<String>,
    pub failover: Option<FailoverRole>,
    /// Requests/s of the region's own users.
    pub demand_rps: f64,
    pub weight: i64,
    /// Weight in the fleet file: the region keeps all its own users at this weight or above.
    pub base_weight: i64,
    /// The Route53 health check passes.
    pub healthy: bool,
}

impl RouteInput {
    fn serving(&self) -> bool {
        self.healthy && (!self.policy.is_weighted() || self.weight > 0)
    }

    /// Share of its own users a region keeps: all at its fleet-file weight, proportionally less
    /// when its weight is lowered, none when drained or unhealthy.
    fn kept_share(&self) -> f64 {
        if !self.serving() {
            0.0
        } else if self.base_weight <= 0 {
            1.0
        } else {
            (self.weight as f64 / self.base_weight as f64).min(1.0)
        }
    }
}

/// Requests/s each region receives. Users a region does not keep go to the serving regions in
/// proportion to their weights. When no region is serving, Route53 answers with every record, so
/// each region receives its own users again (and fails them if it is down).
pub fn route(regions: &[RouteInput], config: &RoutingConfig) -> Vec<f64> {
    if regions.iter().any(|r| !r.policy.is_weighted()) {
        return by_policy(regions, config);
    }
    let pool: i64 = regions
        .iter()
        .filter(|r| r.serving())
        .map(|r| r.weight)
        .sum();
    if pool <= 0 {
        return regions.iter().map(|r| r.demand_rps).collect();
    }
    let orphaned: f64 = regions
        .iter()
        .map(|r| r.demand_rps * (1.0 - r.kept_share()))
        .sum();
    regions
        .iter()
        .map(|r| {
            let gained = if r.serving() {
                orphaned * r.weight as f64 / pool as f64
            } else {
                0.0
            };
            r.demand_rps * r.kept_share() + gained
        })
        .collect()
}

/// Latency, geolocation, failover and multivalue records: each region's users go where Route53
/// answers them (`fleet::routing::answer`); users Route53 gives no answer are not served.
fn by_policy(regions: &[RouteInput], config: &RoutingConfig) -> Vec<f64> {
    let entries: Vec<routing::Entry> = regions
        .iter()
        .map(|r| routing::Entry {
            region: &r.region,
            policy: r.policy,
            weight: r.weight,
            location: r.location.as_deref(),
            failover: r.failover,
            serving: r.serving(),
        })
        .collect();
    let mut out = vec![0.0; regions.len()];
    for (i, r) in regions.iter().enumerate() {
        if let Answer::Shares(shares) = routing::answer(&entries, i, config) {
            for (j, share) in shares {
                out[j] += r.demand_rps * share;
            }
        }
    }
    out
}
