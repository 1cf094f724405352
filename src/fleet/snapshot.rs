//! The `opsdeck snapshot --format json` contract. Keys may be added, never renamed.

use super::{CostReport, EcsCounts, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetSnapshot {
    pub fleet: String,
    pub source: super::SourceKind,
    /// RFC 3339, UTC, seconds.
    pub taken_at: String,
    pub regions: Vec<RegionReport>,
    /// The region with the most impact on the fleet (`fleet::impact::worst`); null when every
    /// region in service is ok.
    #[serde(default)]
    pub worst: Option<WorstReport>,
    /// The fleet's CDN; null when the fleet has none.
    #[serde(default)]
    pub cdn: Option<CdnReport>,
    /// RFC 3339: since when opsdeck cannot reach AWS at all (every call fails with a network,
    /// time-limit or credential error); `worst` is null meanwhile. Null while anything gets through.
    #[serde(default)]
    pub offline_since: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CdnReport {
    pub cloudfront: CloudFrontReport,
}

/// CloudFront's values, ratios 0..1; null when CloudFront has none, and `note` says why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloudFrontReport {
    pub distribution: String,
    pub cache_hit_ratio: Option<f64>,
    /// CloudFront's 5xxErrorRate.
    pub error_rate: Option<f64>,
    /// CloudFront's 4xxErrorRate.
    #[serde(default)]
    pub error_rate_4xx: Option<f64>,
    #[serde(default)]
    pub requests_per_s: Option<f64>,
    #[serde(default = "unknown")]
    pub status: Status,
    /// "additional metrics not enabled: ...", "no requests: ...", "not read: ...", "stale 45 s: ...".
    #[serde(default)]
    pub note: Option<String>,
    /// Human sentences for each threshold breach.
    #[serde(default)]
    pub breaches: Vec<String>,
}

fn unknown() -> Status {
    Status::Unknown
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorstReport {
    pub region: String,
    pub status: Status,
    /// The breach behind it, short: "5xx 100 %", "p99 382 ms", "lag BROKEN".
    pub reason: String,
    /// RFC 3339, UTC, seconds: since when it has been so; null when unknown.
    pub since: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionReport {
    pub name: String,
    pub role: String,
    /// The region's level from its data; a drained region keeps the breaches it had.
    pub status: Status,
    /// Drained (weight 0 or its health check inverted) and serving nothing: never the worst,
    /// whatever `status` says (the console's "⊘ OUT OF SERVICE").
    #[serde(default)]
    pub out_of_service: bool,
    pub latency_ms: BTreeMap<String, Option<f64>>,
    pub requests_per_s: Option<f64>,
    pub error_rate: Option<f64>,
    pub replica_lag_s: Option<f64>,
    /// "primary", "replicating", "broken" or null when unknown.
    pub replication: Option<String>,
    pub cache_hit_ratio: Option<f64>,
    pub ecs: Vec<EcsCounts>,
    /// EKS node groups with their service's running pods (empty without `eks`).
    #[serde(default)]
    pub eks: Vec<EksReport>,
    pub route53: Route53Report,
    pub cost: CostReport,
    /// Round trip of the health probe, ms, when one was made.
    pub probe_rtt_ms: Option<f64>,
    /// Seconds since the oldest data kind shown was fetched.
    pub stale_s: u64,
    pub errors: Vec<String>,
    /// Human sentences for each threshold breach.
    pub breaches: Vec<String>,
}

/// One EKS node group: its scaling config and status (`DescribeNodegroup`), and the running pods
/// of its service (Container Insights; null without data). Sizes are null when not read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EksReport {
    pub cluster: String,
    pub nodegroup: String,
    pub desired: Option<i64>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    /// ACTIVE, UPDATING, DEGRADED, ...; null when not read.
    pub status: Option<String>,
    pub running_pods: Option<f64>,
    /// The node group's health issues.
    #[serde(default)]
    pub issues: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Route53Report {
    pub weight: Option<i64>,
    pub healthy: Option<bool>,
    /// "weighted", "latency", "geolocation", "failover", "multivalue"; null when unknown.
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(default)]
    pub health_check_id: Option<String>,
    /// Whether the record's health check is inverted (a drained region); null without one.
    #[serde(default)]
    pub health_check_inverted: Option<bool>,
}
