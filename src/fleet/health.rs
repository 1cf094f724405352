//! Health evaluation: a region's readings against the fleet's thresholds.

use super::{EcsCounts, Fleet, MetricValues, ProbeResult, Replication, Route53State};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Unknown,
    Warn,
    Crit,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Crit => "crit",
            Status::Unknown => "unknown",
        }
    }
    /// Severity order for "worst region": crit > warn > unknown > ok.
    pub fn severity(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Unknown => 1,
            Status::Warn => 2,
            Status::Crit => 3,
        }
    }
}

/// Which metric family a breach is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Latency,
    ErrorRate,
    ReplicaLag,
    CacheHit,
    Ecs,
    Route53,
    Probe,
}

impl Family {
    pub fn label(self) -> &'static str {
        match self {
            Family::Latency => "latency",
            Family::ErrorRate => "5xx rate",
            Family::ReplicaLag => "replica lag",
            Family::CacheHit => "cache hit",
            Family::Ecs => "ecs tasks",
            Family::Route53 => "route53",
            Family::Probe => "health probe",
        }
    }
}

/// One metric outside its threshold, with a sentence a person reads at 3 a.m.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breach {
    pub family: Family,
    pub status: Status,
    pub message: String,
}

/// Share of a threshold at which a metric turns `warn` before it is `crit`.
pub const WARN_FRACTION: f64 = 0.8;

/// Status of one value against an upper threshold.
pub fn level_above(value: f64, threshold: f64) -> Status {
    if value > threshold {
        Status::Crit
    } else if value > threshold * WARN_FRACTION {
        Status::Warn
    } else {
        Status::Ok
    }
}

/// Status of a cache hit ratio against its minimum: warn within a quarter of the headroom above it.
pub fn level_below(value: f64, min: f64) -> Status {
    if value < min {
        Status::Crit
    } else if value < min + (1.0 - min) * 0.25 {
        Status::Warn
    } else {
        Status::Ok
    }
}

/// An ECS service's level, the one rule for health, the region panes and the detail view: crit
/// with nothing running while tasks are wanted; warn when running short with nothing starting, or
/// when even the starting tasks would not make up the desired count. Tasks starting (pending)
/// while scaling out are normal: ok.
pub fn ecs_level(s: &EcsCounts) -> Status {
    if s.desired > 0 && s.running == 0 {
        Status::Crit
    } else if s.running + s.pending < s.desired || (s.running < s.desired && s.pending == 0) {
        Status::Warn
    } else {
        Status::Ok
    }
}

/// Everything a region's status is judged on.
#[derive(Debug, Clone, Copy, Default)]
pub struct HealthInput<'a> {
    pub metrics: Option<&'a MetricValues>,
    pub ecs: Option<&'a [EcsCounts]>,
    pub replication: Option<&'a Replication>,
    pub route53: Option<&'a Route53State>,
    pub probe: Option<&'a ProbeResult>,
}

/// The region's status (the worst of its breaches) and every breach. `Unknown` when there is no
/// metrics reading at all.
pub fn evaluate(fleet: &Fleet, input: HealthInput<'_>) -> (Status, Vec<Breach>) {
    let t = &fleet.thresholds;
    let mut breaches = Vec::new();
    let mut push = |family, status, message: String| {
        if status != Status::Ok {
            breaches.push(Breach {
                family,
                status,
                message,
            });
        }
    };
    if let Some(m) = input.metrics {
        let stat = fleet.threshold_stat();
        if let Some(Some(v)) = m.latency_ms.get(stat) {
            push(
                Family::Latency,
                level_above(*v, t.latency_ms),
                format!("{stat} latency {v:.0} ms (limit {:.0} ms)", t.latency_ms),
            );
        }
        if let Some(v) = m.error_rate {
            push(
                Family::ErrorRate,
                level_above(v, t.error_rate),
                format!(
                    "5xx rate {:.1}% (limit {:.1}%)",
                    v * 100.0,
                    t.error_rate * 100.0
                ),
            );
        }
        if let Some(v) = m.replica_lag_s {
            push(
                Family::ReplicaLag,
                level_above(v, t.replica_lag_s),
                format!("replica lag {v:.1} s (limit {:.0} s)", t.replica_lag_s),
            );
        }
        if let Some(v) = m.cache_hit_ratio {
            push(
                Family::CacheHit,
                level_below(v, t.cache_hit_ratio_min),
                format!(
                    "cache hit {:.0}% (min {:.0}%)",
                    v * 100.0,
                    t.cache_hit_ratio_min * 100.0
                ),
            );
        }
    }
    if let Some(Replication::Broken { reason, .. }) = input.replication {
        push(
            Family::ReplicaLag,
            Status::Crit,
            format!("replication not running: {reason}"),
        );
    }
    if let Some(services) = input.ecs {
        for s in services {
            push(
                Family::Ecs,
                ecs_level(s),
                format!("{}: {}/{} tasks running", s.service, s.running, s.desired),
            );
        }
    }
    if let Some(r) = input.route53 {
        if r.healthy == Some(false) {
            push(
                Family::Route53,
                Status::Crit,
                "Route53 health check unhealthy".into(),
            );
        }
    }
    if let Some(p) = input.probe {
        if !p.is_ok() {
            let what = match (p.http_status, &p.status) {
                _ if p.failure.is_some() => {
                    let why = p.failure.as_deref().unwrap_or_default();
                    match p.http_status {
                        Some(code) => format!("HTTP {code}, {why}"),
                        None => why.to_string(),
                    }
                }
                (Some(code), Some(s)) => format!("HTTP {code}, status {s}"),
                (Some(code), None) => format!("HTTP {code}"),
                (None, _) => "no answer".into(),
            };
            push(
                Family::Probe,
                Status::Crit,
                format!("health probe failed: {what}"),
            );
        }
    }
    let status = if input.metrics.is_none() {
        breaches
            .iter()
            .map(|b| b.status)
            .max_by_key(|s| s.severity())
            .map(|s| s.max(Status::Unknown))
            .unwrap_or(Status::Unknown)
    } else {
        breaches
            .iter()
            .map(|b| b.status)
            .max_by_key(|s| s.severity())
            .unwrap_or(Status::Ok)
    };
    (status, breaches)
}
