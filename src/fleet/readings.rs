//! What a source reads about one region: one type per kind of data, so each kind can fail alone.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The kinds of data a source fetches; each is refreshed and can fail on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataKind {
    Metrics,
    Ecs,
    /// EKS node groups (`DescribeNodegroup`).
    Eks,
    Topology,
    Route53,
    Cost,
    Probe,
}

impl DataKind {
    pub const ALL: [DataKind; 7] = [
        DataKind::Metrics,
        DataKind::Ecs,
        DataKind::Eks,
        DataKind::Topology,
        DataKind::Route53,
        DataKind::Cost,
        DataKind::Probe,
    ];

    pub fn label(self) -> &'static str {
        match self {
            DataKind::Metrics => "metrics",
            DataKind::Ecs => "ecs",
            DataKind::Eks => "eks",
            DataKind::Topology => "rds",
            DataKind::Route53 => "route53",
            DataKind::Cost => "cost",
            DataKind::Probe => "probe",
        }
    }
}

/// CloudWatch metrics of a region over the last period. `None` means no data, never a made-up number.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MetricValues {
    /// ALB TargetResponseTime per configured statistic, in milliseconds.
    pub latency_ms: BTreeMap<String, Option<f64>>,
    pub requests_per_s: Option<f64>,
    /// 5xx / requests, 0..1.
    pub error_rate: Option<f64>,
    /// RDS ReplicaLag in seconds (None on a primary or without data; -1 from AWS becomes Broken topology).
    pub replica_lag_s: Option<f64>,
    /// CacheHits / (CacheHits + CacheMisses).
    pub cache_hit_ratio: Option<f64>,
    /// The fleet's CloudFront distribution, read in this region's call (us-east-1 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cdn: Option<CdnValues>,
    /// Container Insights `service_number_of_running_pods` per EKS service, keyed
    /// `cluster/namespace/service` ([`super::eks::EksRef::pods_key`]); None: no data.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub running_pods: BTreeMap<String, Option<f64>>,
}

/// What CloudWatch says of the distribution over the last period with data. Ratios are 0..1
/// (CloudFront reports percentages). `None` is no data, never a made-up number.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CdnValues {
    pub distribution: String,
    /// `Requests` / period; 0 when CloudFront has no data points (no requests).
    pub requests_per_s: Option<f64>,
    /// `CacheHitRate` / 100 (an additional metric).
    pub cache_hit_ratio: Option<f64>,
    /// `5xxErrorRate` / 100.
    pub error_rate: Option<f64>,
    /// `4xxErrorRate` / 100.
    pub error_rate_4xx: Option<f64>,
    /// Requests were served but CloudFront reported no `CacheHitRate`: the distribution's
    /// additional metrics are not enabled.
    pub additional_metrics_off: bool,
}

/// One ECS service's task counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcsCounts {
    pub cluster: String,
    pub service: String,
    pub desired: i64,
    pub running: i64,
    pub pending: i64,
}

/// Where a region's database stands in the replication topology.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Replication {
    /// A writer: no replica lag applies.
    Primary { instance: String, status: String },
    /// A read replica of `source`.
    Replica {
        instance: String,
        source: String,
        status: String,
    },
    /// A replica whose replication is not running (ReplicaLag = -1, or an error state).
    Broken {
        instance: String,
        source: Option<String>,
        reason: String,
        /// The last replica lag observed while replication still ran, seconds, and when it was
        /// observed: what a promotion would lose if the source stopped taking writes then.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_lag_s: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_seen: Option<DateTime<Utc>>,
    },
}

/// Instance statuses in which a writer takes no writes.
const DOWN_STATUSES: [&str; 10] = [
    "failed",
    "stopped",
    "stopping",
    "starting",
    "rebooting",
    "deleting",
    "storage-full",
    "inaccessible-encryption-credentials",
    "restore-error",
    "unreachable",
];

impl Replication {
    pub fn is_primary(&self) -> bool {
        matches!(self, Replication::Primary { .. })
    }
    /// A primary that takes writes now (its instance status is not a down one).
    pub fn is_writer(&self) -> bool {
        match self {
            Replication::Primary { status, .. } => {
                !DOWN_STATUSES.contains(&status.as_str()) && !status.starts_with("incompatible-")
            }
            _ => false,
        }
    }

    /// Broken replication's last lag observation: (seconds, when).
    pub fn last_lag(&self) -> Option<(f64, DateTime<Utc>)> {
        match self {
            Replication::Broken {
                last_lag_s: Some(l),
                last_seen: Some(t),
                ..
            } => Some((*l, *t)),
            _ => None,
        }
    }

    /// Broken replication keeps `last` (lag seconds, when seen) where it has none of its own.
    pub fn with_last_lag(self, last: Option<(f64, DateTime<Utc>)>) -> Replication {
        match (self, last) {
            (
                Replication::Broken {
                    instance,
                    source,
                    reason,
                    last_lag_s: None,
                    ..
                },
                Some((lag, seen)),
            ) => Replication::Broken {
                instance,
                source,
                reason,
                last_lag_s: Some(lag),
                last_seen: Some(seen),
            },
            (other, _) => other,
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Replication::Primary { .. } => "primary",
            Replication::Replica { .. } => "replicating",
            Replication::Broken { .. } => "broken",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Route53State {
    pub weight: Option<i64>,
    /// The verdict Route53 routes on (the checkers' verdict, inverted when the check is); None
    /// where no health check is attached.
    pub healthy: Option<bool>,
    /// The record's routing policy as read; None when not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<super::routing::Policy>,
    /// Geolocation: the record's location (`*`: the default record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Failover: the record's role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover: Option<super::routing::FailoverRole>,
    /// The health check attached to the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_id: Option<String>,
    /// The health check is inverted (a region drained by inverting it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_inverted: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CostReport {
    pub month_to_date_usd: Option<f64>,
    pub forecast_usd: Option<f64>,
    /// True when the forecast is a straight projection of month-to-date, not Cost Explorer's own.
    #[serde(default)]
    pub forecast_is_projection: bool,
}

/// The region's `/health/regional` answer and its measured round trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ProbeResult {
    pub http_status: Option<u16>,
    /// `status` field of the JSON body ("ok", "degraded", ...), if any.
    pub status: Option<String>,
    pub rtt_ms: f64,
    /// Per replica region: (region, status, latency ms) from the body.
    #[serde(default)]
    pub replicas: Vec<(String, String, Option<f64>)>,
    /// Why the probe failed although an answer began (body over the size limit, not complete
    /// within the deadline, broken off): a failed probe whatever the status said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl ProbeResult {
    pub fn is_ok(&self) -> bool {
        self.failure.is_none()
            && matches!(self.http_status, Some(200..=299))
            && self.status.as_deref().map(|s| s == "ok").unwrap_or(true)
    }
}

/// One reading of one kind for one region.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    Metrics(MetricValues),
    Ecs(Vec<EcsCounts>),
    Eks(Vec<super::eks::NodegroupState>),
    Topology(Replication),
    Route53(Route53State),
    Cost(CostReport),
    Probe(ProbeResult),
}

impl Reading {
    pub fn kind(&self) -> DataKind {
        match self {
            Reading::Metrics(_) => DataKind::Metrics,
            Reading::Ecs(_) => DataKind::Ecs,
            Reading::Eks(_) => DataKind::Eks,
            Reading::Topology(_) => DataKind::Topology,
            Reading::Route53(_) => DataKind::Route53,
            Reading::Cost(_) => DataKind::Cost,
            Reading::Probe(_) => DataKind::Probe,
        }
    }
}

/// Why a fetch failed, sorted so a pane can say it and the poller can decide to back off.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum SourceError {
    #[error("Throttling: {0}")]
    Throttled(String),
    #[error("ExpiredToken: {0}")]
    ExpiredCredentials(String),
    #[error("no credentials: {0}")]
    NoCredentials(String),
    #[error("AccessDenied: {0}")]
    AccessDenied(String),
    #[error("timeout: {0}")]
    Timeout(String),
    #[error("unreachable: {0}")]
    Unreachable(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("{0}")]
    Other(String),
}

impl SourceError {
    /// A failure of opsdeck's own connection or identity (network, time limit, credentials),
    /// not an answer about the fleet.
    pub fn is_connectivity(&self) -> bool {
        matches!(
            self,
            SourceError::Timeout(_)
                | SourceError::Unreachable(_)
                | SourceError::NoCredentials(_)
                | SourceError::ExpiredCredentials(_)
        )
    }

    /// A short word for a stale marker: "stale 45 s: Throttling".
    pub fn short(&self) -> String {
        match self {
            SourceError::Throttled(_) => "ThrottlingException".into(),
            SourceError::ExpiredCredentials(_) => "ExpiredToken".into(),
            SourceError::NoCredentials(_) => "NoCredentials".into(),
            SourceError::AccessDenied(_) => "AccessDenied".into(),
            SourceError::Timeout(_) => "Timeout".into(),
            SourceError::Unreachable(_) => "Unreachable".into(),
            SourceError::NotFound(_) => "NotFound".into(),
            SourceError::Other(m) => m.chars().take(40).collect(),
        }
    }
}
