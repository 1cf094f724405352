//! The domain: the fleet file (regions, roles, resources, thresholds, capacity), what a source
//! reads about a region, time series and health evaluation.

pub mod health;
pub mod load;
pub mod readings;
pub mod series;
pub mod snapshot;

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub use health::{evaluate, Breach, Status};
pub use readings::*;

/// The built-in Atlas-like fleet that `opsdeck` runs on when no fleet file is given.
pub const DEFAULT_FLEET: &str = include_str!("../../fleets/atlas-crm.toml");

/// A fleet file: one service deployed across several regions. The keys named in the issue are a
/// contract with other tools; new keys may be added, never renamed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Fleet {
    pub name: String,
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
    #[serde(rename = "region", default)]
    pub regions: Vec<RegionSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// Applies to the last statistic in `metrics.latency_stats`.
    pub latency_ms: f64,
    /// 5xx / requests, 0..1.
    pub error_rate: f64,
    pub replica_lag_s: f64,
    pub cache_hit_ratio_min: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            latency_ms: 200.0,
            error_rate: 0.05,
            replica_lag_s: 10.0,
            cache_hit_ratio_min: 0.80,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Capacity {
    /// Requests/s one ECS task serves at the latency target.
    pub rps_per_task: f64,
    pub rpo_budget_s: f64,
    pub rto_budget_s: f64,
}

impl Default for Capacity {
    fn default() -> Self {
        Self {
            rps_per_task: 150.0,
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
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            cooldown_s: 5,
            read_only: false,
            allow_actions: false,
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
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}

/// Line and column of the `nth` (0-based) line assigning `value` (quoted) to `key`, e.g. `name = "x"`.
fn find_assignment(text: &str, key: &str, value: &str, nth: usize) -> Option<(usize, usize)> {
    let quoted = format!("\"{value}\"");
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('=') && rest.contains(&quoted))
        })
        .nth(nth)
        .map(|(i, l)| (i + 1, l.len() - l.trim_start().len() + 1))
}

/// Line of the first occurrence of `needle` in `text` (1-based), or 1.
fn find_line(text: &str, needle: &str) -> (usize, usize) {
    match text.find(needle) {
        Some(off) => line_col(text, off),
        None => (1, 1),
    }
}

impl Fleet {
    pub fn load(path: &Path) -> Result<Fleet, FleetError> {
        let text = std::fs::read_to_string(path).map_err(|source| FleetError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Fleet::parse(&text, path)
    }

    pub fn builtin() -> Fleet {
        Fleet::parse(DEFAULT_FLEET, Path::new("<built-in atlas-crm>"))
            .expect("built-in fleet is valid")
    }

    pub fn parse(text: &str, path: &Path) -> Result<Fleet, FleetError> {
        let fleet: Fleet = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            FleetError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })?;
        fleet.validate(text, path)?;
        Ok(fleet)
    }

    fn validate(&self, text: &str, path: &Path) -> Result<(), FleetError> {
        let invalid = |(line, column): (usize, usize), message: String| FleetError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            message,
        };
        if self.name.trim().is_empty() {
            return Err(invalid(
                find_line(text, "name"),
                "fleet `name` is empty".into(),
            ));
        }
        if self.regions.is_empty() {
            return Err(invalid(
                (1, 1),
                "no `[[region]]` tables: a fleet needs at least one region".into(),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for r in &self.regions {
            let at = find_assignment(text, "name", &r.name, 0).unwrap_or((1, 1));
            if r.name.trim().is_empty() {
                return Err(invalid(
                    find_line(text, "[[region]]"),
                    "a region has an empty `name`".into(),
                ));
            }
            if !seen.insert(r.name.clone()) {
                let second = find_assignment(text, "name", &r.name, 1).unwrap_or(at);
                return Err(invalid(
                    second,
                    format!("region `{}` is listed twice", r.name),
                ));
            }
            if let Some(url) = &r.health_url {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(invalid(
                        find_line(text, url),
                        format!(
                            "region `{}`: health_url `{url}` must start with http:// or https://",
                            r.name
                        ),
                    ));
                }
            }
        }
        if self.primary().is_none() {
            return Err(invalid(
                find_line(text, "role"),
                "no region has `role = \"primary\"`".into(),
            ));
        }
        if self
            .regions
            .iter()
            .filter(|r| r.role == Role::Primary)
            .count()
            > 1
        {
            let second = find_assignment(text, "role", "primary", 1).unwrap_or((1, 1));
            return Err(invalid(
                second,
                "more than one region has `role = \"primary\"`".into(),
            ));
        }
        if self.metrics.latency_stats.is_empty() {
            return Err(invalid(
                find_line(text, "latency_stats"),
                "`metrics.latency_stats` is empty".into(),
            ));
        }
        let t = &self.thresholds;
        if !(0.0..=1.0).contains(&t.error_rate) {
            return Err(invalid(
                find_line(text, "error_rate"),
                format!(
                    "`thresholds.error_rate` = {} is not between 0 and 1",
                    t.error_rate
                ),
            ));
        }
        if !(0.0..=1.0).contains(&t.cache_hit_ratio_min) {
            return Err(invalid(
                find_line(text, "cache_hit_ratio_min"),
                format!(
                    "`thresholds.cache_hit_ratio_min` = {} is not between 0 and 1",
                    t.cache_hit_ratio_min
                ),
            ));
        }
        if self.capacity.rps_per_task <= 0.0 {
            return Err(invalid(
                find_line(text, "rps_per_task"),
                "`capacity.rps_per_task` must be greater than 0".into(),
            ));
        }
        Ok(())
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
