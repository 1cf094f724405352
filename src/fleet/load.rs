//! The load and latency model that plans, the what-if and the simulator share: how a region's
//! response times and 5xx follow its utilisation, and where a failed region's requests go by the
//! Route53 weights.
//!
//! Utilisation ρ = arriving requests/s ÷ (running tasks × `capacity.rps_per_task`). A task's rated
//! rps is what it serves *at the latency target*, so the threshold statistic equals
//! `thresholds.latency_ms` at ρ = 1. Response time is a fixed floor plus an M/M/1-like queueing
//! term whose quantiles follow the exponential distribution (−ln(1 − q) times the mean), so p50 sits
//! well below p99. The queue saturates at ρ = 1 / [`QUEUE_SCALE`] (1.25): beyond ρ = 1 latency
//! climbs steeply and a growing share of requests time out as 5xx.

use super::Fleet;

/// ρ is scaled by this inside the queueing term: tasks truly saturate at 1/0.8 = 1.25 × rated rps.
pub const QUEUE_SCALE: f64 = 0.8;
/// The queueing factor at ρ = 1: 1 / (1 − 0.8).
const FACTOR_AT_CAPACITY: f64 = 1.0 / (1.0 - QUEUE_SCALE);
/// Past this ρ the factor continues as a straight line instead of diverging.
const KNEE: f64 = 1.15;
/// Latency never exceeds this multiple of the target (requests time out instead).
const MAX_FACTOR_OF_TARGET: f64 = 50.0;
/// Share of the target latency that does not depend on load (network, TLS, app floor).
const FLOOR_SHARE: f64 = 0.1;

/// How far a statistic sits from the mean of an exponential distribution: the `q` quantile is
/// −ln(1 − q) times the mean. Understands CloudWatch names (p50, p99.9, Average, Maximum, ...);
/// trimmed means and unknown names count as the mean.
pub fn stat_multiplier(stat: &str) -> f64 {
    let s = stat.trim().to_ascii_lowercase();
    let quantile = |q: f64| -(1.0 - (q / 100.0).clamp(0.0, 0.9999)).ln();
    if let Some(q) = s.strip_prefix('p').and_then(|n| n.parse::<f64>().ok()) {
        return quantile(q);
    }
    match s.as_str() {
        "minimum" | "min" => 0.0,
        "maximum" | "max" => quantile(99.99),
        _ => 1.0,
    }
}

/// The load-dependent factor of the queueing term: 1 when idle, 5 at ρ = 1, steep beyond.
pub fn queue_factor(rho: f64) -> f64 {
    let rho = rho.max(0.0);
    if rho <= KNEE {
        1.0 / (1.0 - QUEUE_SCALE * rho)
    } else {
        let at_knee = 1.0 / (1.0 - QUEUE_SCALE * KNEE);
        let slope = QUEUE_SCALE * at_knee * at_knee;
        at_knee + slope * (rho - KNEE)
    }
}

/// Share of requests that fail because the region is over capacity: none up to ρ = 1, then half
/// the excess, at least everything beyond the saturation point.
pub fn overload_error_rate(rho: f64) -> f64 {
    if rho <= 1.0 {
        return 0.0;
    }
    let timeouts = 0.5 * (rho - 1.0);
    let shed = 1.0 - 1.0 / (QUEUE_SCALE * rho);
    timeouts.max(shed).clamp(0.0, 1.0)
}

/// A region's latency calibration, derived from its latency target (the region's own threshold)
/// and the fleet's threshold statistic.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyModel {
    /// Load-independent part, ms.
    pub floor_ms: f64,
    /// Mean of the queueing term when idle, ms.
    pub service_ms: f64,
    target_ms: f64,
}

impl LatencyModel {
    pub fn new(fleet: &Fleet, region: &str) -> Self {
        let target_ms = fleet.thresholds_for(region).latency_ms.max(1.0);
        let floor_ms = FLOOR_SHARE * target_ms;
        let z = stat_multiplier(fleet.threshold_stat()).max(0.05);
        let service_ms = (target_ms - floor_ms) / (z * FACTOR_AT_CAPACITY);
        LatencyModel {
            floor_ms,
            service_ms,
            target_ms,
        }
    }

    /// Latency of `stat` at utilisation `rho`; `slowdown` ≥ 1 stretches the queueing term (cold
    /// cache, error storm).
    pub fn latency_ms(&self, stat: &str, rho: f64, slowdown: f64) -> f64 {
        let queue = self.service_ms * stat_multiplier(stat) * queue_factor(rho) * slowdown.max(0.0);
        (self.floor_ms + queue).min(self.target_ms * MAX_FACTOR_OF_TARGET)
    }
}

/// Utilisation ρ: `rps` ÷ (`tasks` × `rps_per_task`). None without running tasks or capacity.
pub fn utilisation(rps: f64, tasks: f64, rps_per_task: f64) -> Option<f64> {
    (tasks > 0.0 && rps_per_task > 0.0).then(|| rps.max(0.0) / (tasks * rps_per_task))
}

impl LatencyModel {
    /// Latency (ms) of `stat` for `rps` on `tasks` running tasks of `rps_per_task` each, with no
    /// incident slowing it: what a plan or the what-if predicts. None without running tasks.
    pub fn predicted_ms(&self, stat: &str, rps: f64, tasks: f64, rps_per_task: f64) -> Option<f64> {
        utilisation(rps, tasks, rps_per_task).map(|rho| self.latency_ms(stat, rho, 1.0))
    }
}

/// One region as the weighted shift sees it: what it serves now, its weight, whether it serves.
#[derive(Debug, Clone, PartialEq)]
pub struct Served<'a> {
    pub name: &'a str,
    pub rps: Option<f64>,
    pub weight: Option<i64>,
    pub serving: bool,
}

/// Requests/s each region would serve if `failed` stopped now, in the order given: its requests go
/// to the serving survivors in proportion to their weights (Route53 weighted routing); the others
/// keep what they serve. Used where no model of demand exists (AWS) — the simulator routes its own
/// users' demand instead.
pub fn shift_by_weight(regions: &[Served<'_>], failed: &str) -> Vec<(String, f64)> {
    let moved = regions
        .iter()
        .find(|r| r.name == failed)
        .and_then(|r| r.rps)
        .unwrap_or(0.0);
    let weight = |r: &Served| r.weight.unwrap_or(0) as f64;
    let pool: f64 = regions
        .iter()
        .filter(|r| r.name != failed && r.serving)
        .map(weight)
        .sum();
    regions
        .iter()
        .map(|r| {
            let own = r.rps.unwrap_or(0.0);
            let rps = if r.name == failed {
                0.0
            } else if r.serving && pool > 0.0 {
                own + moved * weight(r) / pool
            } else {
                own
            };
            (r.name.to_string(), rps)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(name: &str, rps: f64, weight: i64, serving: bool) -> Served<'_> {
        Served {
            name,
            rps: Some(rps),
            weight: Some(weight),
            serving,
        }
    }

    #[test]
    fn a_failed_region_s_requests_go_to_serving_survivors_by_weight() {
        let regions = [
            served("a", 300.0, 100, true),
            served("b", 100.0, 100, true),
            served("c", 50.0, 50, true),
            served("d", 10.0, 100, false),
        ];
        let after = shift_by_weight(&regions, "a");
        assert_eq!(
            after,
            vec![
                ("a".to_string(), 0.0),
                ("b".to_string(), 300.0),
                ("c".to_string(), 150.0),
                ("d".to_string(), 10.0),
            ]
        );
    }

    #[test]
    fn the_threshold_statistic_meets_the_target_at_rated_capacity() {
        let fleet = Fleet::builtin();
        let model = LatencyModel::new(&fleet, &fleet.regions[0].name);
        let per_task = fleet.capacity.rps_per_task;
        let at_rated = model
            .predicted_ms(fleet.threshold_stat(), 3.0 * per_task, 3.0, per_task)
            .unwrap();
        assert!(
            (at_rated - fleet.thresholds.latency_ms).abs() < 1e-6,
            "{at_rated}"
        );
        assert_eq!(model.predicted_ms("p99", 100.0, 0.0, per_task), None);
        assert_eq!(utilisation(150.0, 2.0, 100.0), Some(0.75));
    }
}
