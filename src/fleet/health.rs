//! Health evaluation: a region's readings against its thresholds (the fleet's, with the region's
//! own over them: `Fleet::thresholds_for`).

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

/// One metric outside its threshold, with a sentence a person reads at 3 a.m. that names the
/// threshold it crossed (warn or crit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breach {
    pub family: Family,
    pub status: Status,
    pub message: String,
    /// The value alone, for the status line: "5xx 100 %", "p99 242 ms", "lag BROKEN".
    #[serde(default)]
    pub short: String,
    /// Share of the region's requests this breach affects now, 0..1: the 5xx rate itself, the
    /// tail a latency statistic describes (1 % for p99), all of them when the region cannot
    /// serve (no task running, probe or Route53 check failing), a token 1 % for risks users do
    /// not feel yet (replica lag, broken replication, a cold cache, tasks short).
    #[serde(default)]
    pub affected: f64,
}

/// Share of requests a latency statistic speaks for: 0.01 for p99, 0.05 for p95, 0.5 otherwise.
pub fn stat_tail(stat: &str) -> f64 {
    stat.strip_prefix(['p', 'P'])
        .and_then(|n| n.parse::<f64>().ok())
        .filter(|n| *n > 0.0 && *n < 100.0)
        .map(|n| (100.0 - n) / 100.0)
        .unwrap_or(0.5)
}

/// A token share for breaches that are a risk rather than a failure users see.
pub const RISK_SHARE: f64 = 0.01;

/// "(warn > 160 ms, crit > 200 ms)" or "(crit > 200 ms)": the threshold a value crossed.
pub fn crossed(status: Status, cmp: &str, warn: String, crit: String) -> String {
    match status {
        Status::Warn => format!("(warn {cmp} {warn}, crit {cmp} {crit})"),
        _ => format!("(crit {cmp} {crit})"),
    }
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
    /// EKS node groups as read, judged in the `ecs` (compute) family with their running pods.
    pub eks: Option<&'a [super::eks::NodegroupState]>,
    pub replication: Option<&'a Replication>,
    pub route53: Option<&'a Route53State>,
    pub probe: Option<&'a ProbeResult>,
}

/// The status of `region` (the worst of its breaches) and every breach, judged by the region's
/// own thresholds. `Unknown` when there is no metrics reading at all.
pub fn evaluate(fleet: &Fleet, region: &str, input: HealthInput<'_>) -> (Status, Vec<Breach>) {
    let t = &fleet.thresholds_for(region);
    let mut breaches = Vec::new();
    let mut push = |family, status, message: String, short: String, affected: f64| {
        if status != Status::Ok {
            breaches.push(Breach {
                family,
                status,
                message,
                short,
                affected,
            });
        }
    };
    if let Some(m) = input.metrics {
        let stat = fleet.threshold_stat();
        if let Some(Some(v)) = m.latency_ms.get(stat) {
            let level = level_above(*v, t.latency_ms);
            let (warn, crit) = (t.latency_ms * WARN_FRACTION, t.latency_ms);
            push(
                Family::Latency,
                level,
                format!(
                    "{stat} latency {v:.0} ms {}",
                    crossed(level, ">", format!("{warn:.0} ms"), format!("{crit:.0} ms"))
                ),
                format!("{stat} {v:.0} ms"),
                stat_tail(stat),
            );
        }
        if let Some(v) = m.error_rate {
            let level = level_above(v, t.error_rate);
            let pct = |x: f64| format!("{:.1}%", x * 100.0);
            push(
                Family::ErrorRate,
                level,
                format!(
                    "5xx rate {} {}",
                    pct(v),
                    crossed(
                        level,
                        ">",
                        pct(t.error_rate * WARN_FRACTION),
                        pct(t.error_rate)
                    )
                ),
                format!("5xx {}", short_pct(v)),
                v,
            );
        }
        if let Some(v) = m.replica_lag_s {
            let level = level_above(v, t.replica_lag_s);
            let (warn, crit) = (t.replica_lag_s * WARN_FRACTION, t.replica_lag_s);
            push(
                Family::ReplicaLag,
                level,
                format!(
                    "replica lag {v:.1} s {}",
                    crossed(level, ">", format!("{warn:.0} s"), format!("{crit:.0} s"))
                ),
                format!("lag {v:.1} s"),
                RISK_SHARE,
            );
        }
        if let Some(v) = m.cache_hit_ratio {
            let min = t.cache_hit_ratio_min;
            let level = level_below(v, min);
            let warn = min + (1.0 - min) * 0.25;
            push(
                Family::CacheHit,
                level,
                format!(
                    "cache hit {:.0}% {}",
                    v * 100.0,
                    crossed(
                        level,
                        "<",
                        format!("{:.0}%", warn * 100.0),
                        format!("{:.0}%", min * 100.0)
                    )
                ),
                format!("cache hit {:.0}%", v * 100.0),
                RISK_SHARE,
            );
        }
    }
    if let Some(Replication::Broken { reason, .. }) = input.replication {
        push(
            Family::ReplicaLag,
            Status::Crit,
            format!("replication not running: {reason}"),
            "lag BROKEN".into(),
            RISK_SHARE,
        );
    }
    if let Some(services) = input.ecs {
        for s in services {
            let level = ecs_level(s);
            let message = match level {
                Status::Crit => format!(
                    "{}: {}/{} tasks running (crit: none running)",
                    s.service, s.running, s.desired
                ),
                _ => format!(
                    "{}: {}/{} tasks running (warn: short of desired)",
                    s.service, s.running, s.desired
                ),
            };
            let affected = if s.desired > 0 && s.running == 0 {
                1.0
            } else {
                RISK_SHARE
            };
            push(
                Family::Ecs,
                level,
                message,
                format!("ecs {}/{}", s.running, s.desired),
                affected,
            );
        }
    }
    let refs = fleet
        .region(region)
        .map(|r| r.eks.as_slice())
        .unwrap_or_default();
    for g in input.eks.unwrap_or_default() {
        let key = refs
            .iter()
            .find(|e| e.cluster == g.cluster && e.nodegroup == g.nodegroup)
            .map(|e| e.pods_key());
        let pods = input
            .metrics
            .zip(key)
            .and_then(|(m, k)| m.running_pods.get(&k).copied().flatten());
        if let Some((level, message, short, affected)) = eks_breach(g, pods) {
            push(Family::Ecs, level, message, short, affected);
        }
    }
    if let Some(r) = input.route53 {
        match (r.health_check_inverted, r.healthy) {
            // Drained by inverting its check: failing is what the drain asked for.
            (Some(true), Some(false)) => {}
            // Drained by inverting its check, and the endpoint behind it now fails: the
            // inverted check passes, and Route53 answers with the region again.
            (Some(true), Some(true)) => push(
                Family::Route53,
                Status::Crit,
                "drained by an inverted health check whose endpoint now fails it: the inverted check passes and Route53 sends users to the region".into(),
                "inverted check passes: users sent".into(),
                1.0,
            ),
            (_, Some(false)) => push(
                Family::Route53,
                Status::Crit,
                "Route53 health check unhealthy".into(),
                "Route53 unhealthy".into(),
                1.0,
            ),
            _ => {}
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
                format!("probe: {what}"),
                // No answer or a server error: the region cannot serve. An answer that says
                // "degraded" is a warning sign, not an outage.
                match p.http_status {
                    None | Some(500..) => 1.0,
                    _ => RISK_SHARE,
                },
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

/// "100 %" for a whole number, "4.9 %" otherwise: how the status line says a share.
fn short_pct(v: f64) -> String {
    let p = v * 100.0;
    if (p - p.round()).abs() < 0.05 {
        format!("{:.0} %", p)
    } else {
        format!("{p:.1} %")
    }
}

/// The families `evaluate` could judge from `input`: those with a value. A family missing here
/// has no data, which is never a recovery.
pub fn checked(fleet: &Fleet, input: HealthInput<'_>) -> Vec<Family> {
    let mut out = Vec::new();
    if let Some(m) = input.metrics {
        if let Some(Some(_)) = m.latency_ms.get(fleet.threshold_stat()) {
            out.push(Family::Latency);
        }
        if m.error_rate.is_some() {
            out.push(Family::ErrorRate);
        }
        if m.cache_hit_ratio.is_some() {
            out.push(Family::CacheHit);
        }
    }
    let lag = input.metrics.and_then(|m| m.replica_lag_s).is_some();
    let topology_says = matches!(
        input.replication,
        Some(Replication::Broken { .. } | Replication::Primary { .. })
    );
    if lag || topology_says {
        out.push(Family::ReplicaLag);
    }
    if input.ecs.is_some() || input.eks.is_some() {
        out.push(Family::Ecs);
    }
    if input.route53.is_some() {
        out.push(Family::Route53);
    }
    if input.probe.is_some() {
        out.push(Family::Probe);
    }
    out
}

/// How a node group looks: crit when DEGRADED, failed, or no pod runs on wanted nodes; warn with
/// health issues or while it is being deleted; ok otherwise (UPDATING is a scale in progress, as
/// ECS tasks pending are).
pub fn eks_level(g: &super::eks::NodegroupState, running_pods: Option<f64>) -> Status {
    let failed = g.status == "DEGRADED" || g.status.ends_with("_FAILED");
    if failed || (g.desired > 0 && running_pods == Some(0.0)) {
        Status::Crit
    } else if !g.issues.is_empty() || g.status == "DELETING" {
        Status::Warn
    } else {
        Status::Ok
    }
}

/// The breach of one node group, if any: (level, message, short, share of requests affected).
fn eks_breach(
    g: &super::eks::NodegroupState,
    running_pods: Option<f64>,
) -> Option<(Status, String, String, f64)> {
    let level = eks_level(g, running_pods);
    if level == Status::Ok {
        return None;
    }
    let pods = running_pods
        .map(|p| format!("{p:.0} pods"))
        .unwrap_or_else(|| "pods unknown".into());
    let issue = g
        .issues
        .first()
        .map(|i| format!(": {i}"))
        .unwrap_or_default();
    let message = format!(
        "node group {}: {} with {} nodes, {pods}{issue}",
        g.id(),
        g.status,
        g.desired
    );
    let dead = g.status == "DEGRADED" || running_pods == Some(0.0);
    let short = if running_pods == Some(0.0) {
        "eks 0 pods".to_string()
    } else {
        format!("eks {}", g.status)
    };
    Some((level, message, short, if dead { 1.0 } else { 0.1 }))
}
