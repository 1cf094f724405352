//! The domain: the fleet file (regions, roles, resources, thresholds, capacity), what a source
//! reads about a region, time series and health evaluation.

pub mod alerts;
pub mod cdn;
pub mod clock;
pub mod diagnose;
pub mod eks;
pub mod failover;
pub mod health;
pub mod impact;
mod kind;
pub mod load;
pub mod readings;
pub mod routing;
pub mod series;
pub mod shared;
pub mod slo;
pub mod snapshot;
pub mod spans;
pub mod text;
pub mod thresholds;
pub mod validate;

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub use health::{evaluate, Breach, Status};
pub use kind::SourceKind;
pub use readings::*;
pub use thresholds::ThresholdOverrides;

/// The built-in Atlas-like fleet that `opsdeck` runs on when no fleet file is given.
pub const DEFAULT_FLEET: &str = include_str!("builtin.toml");

/// A fleet file: one service deployed across several regions. The keys named in the issue are a
/// contract with other tools; new keys may be added, never renamed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Fleet {
    pub name: String,
    /// The fleet's CDN: `cdn = { cloudfront = "E2QWRUHEXAMPLE" }` (CloudFront, read in us-east-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cdn: Option<cdn::CdnConfig>,
    #[serde(default)]
    pub thresholds: Thresholds,
    #[serde(default)]
    pub capacity: Capacity,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub refresh: RefreshConfig,
    #[serde(default)]
    pub guards: GuardConfig,
    #[serde(default)]
    pub probe: ProbeConfig,
    /// Which replica region takes over the writes when the primary's fails, first choice first.
    #[serde(default, skip_serializing_if = "failover::FailoverConfig::is_default")]
    pub failover: failover::FailoverConfig,
    /// Round trips between regions for latency routing, over the built-in table.
    #[serde(default, skip_serializing_if = "routing::RoutingConfig::is_default")]
    pub routing: routing::RoutingConfig,
    /// Where several operators coordinate (lease table, shared audit trail); none: this machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<shared::SharedConfig>,
    /// What the weekly review holds each region to, and the monthly cost budget.
    #[serde(default, skip_serializing_if = "slo::Slo::is_default")]
    pub slo: slo::Slo,
    #[serde(rename = "region", default)]
    pub regions: Vec<RegionSpec>,
}

/// The fleet's thresholds; a region's own are [`Fleet::thresholds_for`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// Applies to the last statistic in `metrics.latency_stats`.
    pub latency_ms: f64,
    /// 5xx / requests, 0..1.
    pub error_rate: f64,
    pub replica_lag_s: f64,
    pub cache_hit_ratio_min: f64,
    /// The CDN's cache hit ratio minimum, 0..1 (fleet-wide: the CDN serves every region).
    pub cdn_hit_ratio_min: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            latency_ms: 200.0,
            error_rate: 0.05,
            replica_lag_s: 10.0,
            cache_hit_ratio_min: 0.80,
            cdn_hit_ratio_min: 0.80,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Capacity {
    /// Requests/s one ECS task serves at the latency target.
    pub rps_per_task: f64,
    /// Requests/s one EKS node serves at the latency target (regions with `eks` node groups).
    pub rps_per_node: f64,
    pub rpo_budget_s: f64,
    pub rto_budget_s: f64,
}

impl Default for Capacity {
    fn default() -> Self {
        Self {
            rps_per_task: 150.0,
            rps_per_node: 400.0,
            rpo_budget_s: 60.0,
            rto_budget_s: 300.0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// CloudWatch statistic names for ALB TargetResponseTime (p50, p99, Average, ...).
    pub latency_stats: Vec<String>,
    /// CloudWatch period in seconds.
    pub period_s: u32,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            latency_stats: vec!["p50".into(), "p99".into()],
            period_s: 60,
        }
    }
}

/// How often each kind of data is fetched, in seconds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RefreshConfig {
    pub metrics_s: u64,
    pub ecs_s: u64,
    pub topology_s: u64,
    pub route53_s: u64,
    pub cost_s: u64,
    pub probe_s: u64,
    /// Per-call time limit, seconds.
    pub timeout_s: u64,
    /// Allow intervals under the minimums (metrics 10 s, cost 300 s): for emulators and tests.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_fast: bool,
}

impl Default for RefreshConfig {
    fn default() -> Self {
        Self {
            metrics_s: 60,
            ecs_s: 30,
            topology_s: 120,
            route53_s: 60,
            cost_s: 3600,
            probe_s: 15,
            timeout_s: 10,
            allow_fast: false,
        }
    }
}

/// Limits of a health probe: a body larger than `max_body_bytes`, or an answer not complete within
/// `deadline_s` (headers and the whole body), is a failed probe with that reason.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ProbeConfig {
    pub max_body_bytes: u64,
    /// Seconds for the whole probe; fractions allowed.
    pub deadline_s: f64,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            deadline_s: 10.0,
        }
    }
}

/// Safety-rule settings for guarded operations.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GuardConfig {
    /// Seconds to wait between two changes to one resource.
    pub cooldown_s: u64,
    /// Global kill switch: every operation is refused.
    pub read_only: bool,
    /// Enable operations against real AWS for this fleet, as `--allow-actions` does (default
    /// false: against AWS opsdeck starts read-only). Has no effect on the simulated fleet, where
    /// operations are always on.
    pub allow_actions: bool,
    /// Operations (any of scale, promote, drain, restore) that run only once a second identity
    /// approved them (`opsdeck act approve`).
    pub approval_required: Vec<String>,
    /// Seconds a pending approval stays open (on the pipeline's clock).
    pub approval_expiry_s: u64,
}

/// The operations `[guards] approval_required` may name.
pub const APPROVABLE: [&str; 4] = ["scale", "promote", "drain", "restore"];

impl GuardConfig {
    /// Whether the operation named `op` (see [`crate::ops::Op::name`]) needs a second identity.
    pub fn needs_approval(&self, op: &str) -> bool {
        self.approval_required.iter().any(|o| o == op)
    }
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            cooldown_s: 5,
            read_only: false,
            allow_actions: false,
            approval_required: Vec::new(),
            approval_expiry_s: 900,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Primary,
    Secondary,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Secondary => "secondary",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(deny_unknown_fields)]
pub struct EcsServiceRef {
    pub cluster: String,
    pub service: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Route53Ref {
    pub zone_id: String,
    pub record: String,
    pub set_identifier: String,
    /// Record type of the weighted record (A, AAAA, CNAME).
    #[serde(default = "default_record_type", rename = "type")]
    pub record_type: String,
    #[serde(default)]
    pub health_check_id: Option<String>,
    /// The record's routing policy (weighted when not given).
    #[serde(default, skip_serializing_if = "routing::Policy::is_weighted")]
    pub policy: routing::Policy,
    /// Geolocation: the location the record answers for (continent or country code, `*` for the
    /// default record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Failover: PRIMARY or SECONDARY.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover: Option<routing::FailoverRole>,
}

fn default_record_type() -> String {
    "A".into()
}

/// What the simulator needs to know about a region beyond the contract keys. All optional.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SimRegionConfig {
    /// Requests/s at the daily peak for this region's own users.
    pub peak_rps: Option<f64>,
    /// Hours east of UTC of this region's users (for the daily curve).
    pub utc_offset_h: Option<f64>,
    /// Running ECS tasks per service at start.
    pub tasks: Option<u32>,
    /// Autoscaling bounds of the service.
    pub min_tasks: Option<u32>,
    pub max_tasks: Option<u32>,
    /// EKS: nodes per node group at start, and the group's min/max (scaling config).
    pub nodes: Option<u32>,
    pub min_nodes: Option<u32>,
    pub max_nodes: Option<u32>,
    /// EKS: pods of the service one node runs.
    pub pods_per_node: Option<u32>,
    /// Route53 weight at start.
    pub weight: Option<i64>,
    /// Monthly cost of the region's resources at steady state, USD.
    pub monthly_cost_usd: Option<f64>,
    /// Base network round trip from the primary's region, ms (drives replica lag and latency).
    pub link_ms: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RegionSpec {
    pub name: String,
    pub role: Role,
    /// The ALB's CloudWatch LoadBalancer dimension (app/NAME/ID).
    #[serde(default)]
    pub alb: Option<String>,
    #[serde(default)]
    pub ecs: Vec<EcsServiceRef>,
    /// EKS managed node groups: `eks = [{ cluster, nodegroup, namespace, service }]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub eks: Vec<eks::EksRef>,
    /// DBInstanceIdentifier: the primary, or this region's replica.
    #[serde(default)]
    pub rds: Option<String>,
    /// ElastiCache CacheClusterId.
    #[serde(default)]
    pub cache: Option<String>,
    #[serde(default)]
    pub health_url: Option<String>,
    #[serde(default)]
    pub route53: Option<Route53Ref>,
    /// This region's own thresholds over the fleet's (`thresholds_for`).
    #[serde(default, skip_serializing_if = "ThresholdOverrides::is_empty")]
    pub thresholds: ThresholdOverrides,
    /// This region's own objectives over the fleet's `[slo]` (`Fleet::slo_for`).
    #[serde(default, skip_serializing_if = "slo::SloOverrides::is_empty")]
    pub slo: slo::SloOverrides,
    /// This region's monthly cost budget, USD (`Fleet::budget_for`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_usd: Option<f64>,
    #[serde(default)]
    pub sim: SimRegionConfig,
}

/// A fleet file that could not be used: which file, where, and why.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// 1-based line and column of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    diagnose::line_col(text, offset)
}

impl Fleet {
    pub fn load(path: &Path) -> Result<Fleet, FleetError> {
        let read = diagnose::read(path).map_err(|source| FleetError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let text = read.map_err(|(line, column, message)| FleetError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            message,
        })?;
        Fleet::parse(&text, path)
    }

    pub fn builtin() -> Fleet {
        Fleet::parse(DEFAULT_FLEET, Path::new("<built-in atlas-crm>"))
            .expect("built-in fleet is valid")
    }

    /// Parse and validate a fleet file; its names come out cleaned of control characters and
    /// escape sequences (`text::clean`), so nothing in it can drive a terminal.
    pub fn parse(text: &str, path: &Path) -> Result<Fleet, FleetError> {
        let mut fleet: Fleet = toml::from_str(text).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            let (line, column) = line_col(text, offset);
            FleetError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message: diagnose::message(text, offset, e.message()),
            }
        })?;
        fleet.clean_names();
        validate::validate(&fleet, text, path)?;
        Ok(fleet)
    }

    fn clean_names(&mut self) {
        text::clean_in_place(&mut self.name);
        for r in &mut self.regions {
            for e in &mut r.ecs {
                text::clean_in_place(&mut e.cluster);
                text::clean_in_place(&mut e.service);
            }
            for e in &mut r.eks {
                for s in [
                    &mut e.cluster,
                    &mut e.nodegroup,
                    &mut e.namespace,
                    &mut e.service,
                ] {
                    text::clean_in_place(s);
                }
            }
        }
    }

    pub fn primary(&self) -> Option<&RegionSpec> {
        self.regions.iter().find(|r| r.role == Role::Primary)
    }

    pub fn region(&self, name: &str) -> Option<&RegionSpec> {
        self.regions.iter().find(|r| r.name == name)
    }

    /// The statistic the latency threshold applies to: the last of `metrics.latency_stats`.
    pub fn threshold_stat(&self) -> &str {
        self.metrics
            .latency_stats
            .last()
            .map(String::as_str)
            .unwrap_or("p99")
    }
}
