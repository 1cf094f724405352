//! Latency and overload: how a region's response times and 5xx follow its utilisation.
//!
//! Utilisation ρ = arriving requests/s ÷ (running tasks × `capacity.rps_per_task`). A task's rated
//! rps is what it serves *at the latency target*, so the threshold statistic equals
//! `thresholds.latency_ms` at ρ = 1. Response time is a fixed floor plus an M/M/1-like queueing
//! term whose quantiles follow the exponential distribution (−ln(1 − q) times the mean), so p50 sits
//! well below p99. The queue saturates at ρ = 1 / [`QUEUE_SCALE`] (1.25): beyond ρ = 1 latency
//! climbs steeply and a growing share of requests time out as 5xx.

use crate::fleet::Fleet;

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

/// The fleet's latency calibration, derived from its target and threshold statistic.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyModel {
    /// Load-independent part, ms.
    pub floor_ms: f64,
    /// Mean of the queueing term when idle, ms.
    pub service_ms: f64,
    target_ms: f64,
}

impl LatencyModel {
    pub fn new(fleet: &Fleet) -> Self {
        let target_ms = fleet.thresholds.latency_ms.max(1.0);
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
