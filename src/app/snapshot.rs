//! The snapshot contract built from the console state: the same data the panes show.

use super::State;
use crate::fleet::snapshot::{
    CdnReport, CloudFrontReport, EksReport, FleetSnapshot, RegionReport, Route53Report, WorstReport,
};
use crate::fleet::Role;

/// Every node group of the fleet file, with what was read of it (nothing read: nulls).
fn eks_reports(r: &super::RegionView, m: &crate::fleet::MetricValues) -> Vec<EksReport> {
    r.spec
        .eks
        .iter()
        .map(|g| {
            let read = r
                .eks
                .iter()
                .flatten()
                .find(|n| n.cluster == g.cluster && n.nodegroup == g.nodegroup);
            EksReport {
                cluster: g.cluster.clone(),
                nodegroup: g.nodegroup.clone(),
                desired: read.map(|n| n.desired),
                min: read.map(|n| n.min),
                max: read.map(|n| n.max),
                status: read.map(|n| n.status.clone()),
                running_pods: m.running_pods.get(&g.pods_key()).copied().flatten(),
                issues: read.map(|n| n.issues.clone()).unwrap_or_default(),
            }
        })
        .collect()
}

pub fn build(state: &State) -> FleetSnapshot {
    let out = state.out_of_service();
    let regions = state
        .regions
        .iter()
        .map(|r| {
            let m = r.metrics.clone().unwrap_or_default();
            let mut latency = m.latency_ms.clone();
            for stat in &state.fleet.metrics.latency_stats {
                latency.entry(stat.clone()).or_insert(None);
            }
            let is_primary = match &r.replication {
                Some(rep) => rep.is_primary(),
                None => r.spec.role == Role::Primary,
            };
            let mut errors: Vec<String> = r
                .failures
                .iter()
                .map(|(k, f)| format!("{}: {}", k.label(), f.error))
                .collect();
            errors.sort();
            RegionReport {
                name: r.spec.name.clone(),
                role: r.spec.role.as_str().to_string(),
                status: r.status,
                out_of_service: out.contains(&r.name()),
                latency_ms: latency,
                requests_per_s: m.requests_per_s,
                error_rate: m.error_rate,
                replica_lag_s: if is_primary { None } else { m.replica_lag_s },
                replication: r.replication.as_ref().map(|x| x.label().to_string()),
                cache_hit_ratio: m.cache_hit_ratio,
                ecs: r.ecs.clone().unwrap_or_default(),
                eks: eks_reports(r, &m),
                route53: r
                    .route53
                    .as_ref()
                    .map(|x| Route53Report {
                        weight: x.weight,
                        healthy: x.healthy,
                        policy: x.policy.map(|p| p.as_str().to_string()),
                        health_check_id: x.health_check_id.clone(),
                        health_check_inverted: x.health_check_inverted,
                    })
                    .unwrap_or_default(),
                cost: r.cost.clone().unwrap_or_default(),
                probe_rtt_ms: r.probe.as_ref().map(|p| p.rtt_ms),
                stale_s: r.stale_s(state.now),
                errors,
                breaches: r.breaches.iter().map(|b| b.message.clone()).collect(),
            }
        })
        .collect();
    FleetSnapshot {
        fleet: state.fleet.name.clone(),
        source: state.source,
        taken_at: state.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        regions,
        offline_since: state
            .offline
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        worst: state.worst().map(|w| WorstReport {
            region: w.region,
            status: w.status,
            reason: w.reason,
            since: w
                .since
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        }),
        cdn: state.cdn().map(|c| {
            let v = c.values.unwrap_or_default();
            CdnReport {
                cloudfront: CloudFrontReport {
                    distribution: c.distribution,
                    cache_hit_ratio: v.cache_hit_ratio,
                    error_rate: v.error_rate,
                    error_rate_4xx: v.error_rate_4xx,
                    requests_per_s: v.requests_per_s,
                    status: c.status,
                    note: c.note,
                    breaches: c.breaches,
                },
            }
        }),
    }
}
