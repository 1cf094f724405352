//! One row per metric family of a region: label, current value, its level, its history.

use super::format::{self, NO_DATA};
use super::spark::Gauge;
use crate::app::{RegionView, State};
use crate::fleet::series::Series;
use crate::fleet::{DataKind, Replication, Role, Status};

/// Rows of this priority or lower importance are left out before a pane goes to two columns.
pub const OPTIONAL: u8 = 10;

/// A metric row of a region pane or of the detail view's side list.
#[derive(Debug, Clone)]
pub struct MetricRow<'a> {
    pub label: String,
    pub value: String,
    /// A shorter form of the value for two-column panes, when it has one.
    pub compact: Option<String>,
    /// The value's level; `None` when the metric has no threshold (plain text).
    pub level: Option<Status>,
    /// Which fetch the value comes from (for stale marking).
    pub kind: DataKind,
    /// Rows of one group (traffic, data tier, capacity and routing, money and probe) sit together.
    pub group: u8,
    /// Lower is kept longer when a pane is too small for every row.
    pub priority: u8,
    pub history: Option<(&'a Series, Gauge)>,
}

impl MetricRow<'_> {
    fn new(
        label: impl Into<String>,
        value: String,
        level: Option<Status>,
        kind: DataKind,
        priority: u8,
    ) -> Self {
        Self {
            label: label.into(),
            value,
            compact: None,
            level,
            kind,
            group: 0,
            priority,
            history: None,
        }
    }
}

impl MetricRow<'_> {
    /// A label of at most five columns for two-column panes.
    pub fn short_label(&self) -> String {
        let short = match self.label.as_str() {
            "req/s" => "rps",
            "cache hit" => "hit",
            "route53" => "r53",
            "cost/fcst" => "cost",
            l => l.strip_prefix("ecs ").unwrap_or(l),
        };
        format::fit(short, 5)
    }

    pub fn compact_value(&self) -> &str {
        self.compact.as_deref().unwrap_or(&self.value)
    }
}

/// The value of a metric with no data now: "—", with the age of its last value when it had one
/// ("— 3 m"), so a gap reads as unknown, never as a number.
fn missing(
    series: Option<&Series>,
    now: chrono::DateTime<chrono::Utc>,
) -> (String, Option<Status>) {
    match series.and_then(|s| s.last()) {
        Some((t, _)) => (
            format!("{NO_DATA} {}", format::age((now.timestamp() - t).max(0))),
            Some(Status::Unknown),
        ),
        None => (NO_DATA.into(), None),
    }
}

fn with<'a>(mut row: MetricRow<'a>, series: &'a Series, gauge: Gauge) -> MetricRow<'a> {
    row.history = Some((series, gauge));
    row
}

/// Every metric family of `r`, in display order. A value with no data reads "—".
pub fn rows<'a>(state: &'a State, r: &'a RegionView) -> Vec<MetricRow<'a>> {
    let fleet = &state.fleet;
    let t = fleet.thresholds_for(&r.spec.name);
    let m = r.metrics.as_ref();
    let mut out = Vec::with_capacity(12);
    let stats = &fleet.metrics.latency_stats;
    for (i, stat) in stats.iter().enumerate() {
        let is_threshold = i + 1 == stats.len();
        let gauge = if is_threshold {
            Gauge::Above(t.latency_ms)
        } else {
            Gauge::FromZero
        };
        let v = m.and_then(|m| m.latency_ms.get(stat).copied().flatten());
        let (value, level) = match v {
            Some(v) => (format::ms(v), gauge.level(v)),
            None => missing(r.history.latency.get(stat), state.now),
        };
        let row = MetricRow::new(
            stat.as_str(),
            value,
            level,
            DataKind::Metrics,
            if is_threshold { 1 } else { 7 },
        );
        out.push(match r.history.latency.get(stat) {
            Some(s) => with(row, s, gauge),
            None => row,
        });
    }
    let rps = m.and_then(|m| m.requests_per_s);
    let (value, level) = match rps {
        Some(v) => (format::count(v), None),
        None => missing(Some(&r.history.requests_per_s), state.now),
    };
    out.push(with(
        MetricRow::new("req/s", value, level, DataKind::Metrics, 4),
        &r.history.requests_per_s,
        Gauge::FromZero,
    ));
    let err = m.and_then(|m| m.error_rate);
    let gauge = Gauge::Above(t.error_rate);
    let (value, level) = match err {
        Some(v) => (format::pct(v), gauge.level(v)),
        None => missing(Some(&r.history.error_rate), state.now),
    };
    out.push(with(
        MetricRow::new("5xx", value, level, DataKind::Metrics, 0),
        &r.history.error_rate,
        gauge,
    ));
    out.push(replica_lag_row(state, r));
    let hit = m.and_then(|m| m.cache_hit_ratio);
    let gauge = Gauge::Below(t.cache_hit_ratio_min);
    let (value, level) = match hit {
        Some(v) => (format::pct(v), gauge.level(v)),
        None => missing(Some(&r.history.cache_hit_ratio), state.now),
    };
    out.push(with(
        MetricRow::new("cache hit", value, level, DataKind::Metrics, 5),
        &r.history.cache_hit_ratio,
        gauge,
    ));
    out.extend(ecs_rows(r));
    out.extend(eks_rows(r));
    out.push(route53_row(r));
    out.push(cost_row(r));
    out.push(probe_row(r));
    for row in &mut out {
        row.group = match row.label.as_str() {
            "lag" | "cache hit" => 1,
            "route53" => 2,
            "cost/fcst" | "probe" => 3,
            l if l.starts_with("ecs") => 2,
            _ => 0,
        };
    }
    out
}

fn replica_lag_row<'a>(state: &'a State, r: &'a RegionView) -> MetricRow<'a> {
    let limit = state.fleet.thresholds_for(&r.spec.name).replica_lag_s;
    let gauge = Gauge::Above(limit);
    let lag = r.metrics.as_ref().and_then(|m| m.replica_lag_s);
    let primary = match &r.replication {
        Some(rep) => rep.is_primary(),
        None => r.spec.role == Role::Primary,
    };
    let row = match (&r.replication, primary, lag) {
        (Some(Replication::Broken { .. }), _, _) => MetricRow::new(
            "lag",
            "BROKEN".into(),
            Some(Status::Crit),
            DataKind::Topology,
            2,
        ),
        (_, true, _) => MetricRow::new("lag", "primary".into(), None, DataKind::Topology, 8),
        (_, false, Some(v)) => {
            MetricRow::new("lag", format::secs(v), gauge.level(v), DataKind::Metrics, 2)
        }
        (_, false, None) => {
            let (value, level) = missing(Some(&r.history.replica_lag_s), state.now);
            MetricRow::new("lag", value, level, DataKind::Metrics, 2)
        }
    };
    if primary {
        row
    } else {
        with(row, &r.history.replica_lag_s, gauge)
    }
}

fn ecs_rows<'a>(r: &'a RegionView) -> Vec<MetricRow<'a>> {
    let Some(services) = &r.ecs else {
        let names = r.spec.ecs.iter().map(|s| s.service.as_str());
        let mut rows: Vec<MetricRow> = names
            .map(|n| MetricRow::new(format!("ecs {n}"), NO_DATA.into(), None, DataKind::Ecs, 3))
            .collect();
        if rows.is_empty() {
            rows.push(MetricRow::new(
                "ecs",
                NO_DATA.into(),
                None,
                DataKind::Ecs,
                3,
            ));
        }
        return rows;
    };
    let single = services.len() == 1;
    services
        .iter()
        .map(|s| {
            let level = crate::fleet::health::ecs_level(s);
            let mut value = format!("{}/{}", s.running, s.desired);
            let mut compact = value.clone();
            if s.pending > 0 {
                value.push_str(&format!(" +{} pending", s.pending));
                compact.push_str(&format!(" +{}", s.pending));
            }
            let mut row = MetricRow::new(
                format!("ecs {}", s.service),
                value,
                Some(level),
                DataKind::Ecs,
                3,
            );
            row.compact = Some(compact);
            if single {
                with(row, &r.history.running_tasks, Gauge::FromZero)
            } else {
                row
            }
        })
        .collect()
}

/// One row per EKS node group of the fleet file: "3 nodes 2..6 · 12 pods" (compact "3n 12p"),
/// its status when not ACTIVE, a level from its status, health issues and running pods.
fn eks_rows<'a>(r: &'a RegionView) -> Vec<MetricRow<'a>> {
    let pods_of = |g: &crate::fleet::eks::EksRef| {
        r.metrics
            .as_ref()
            .and_then(|m| m.running_pods.get(&g.pods_key()).copied().flatten())
    };
    r.spec
        .eks
        .iter()
        .map(|spec| {
            let label = format!("eks {}", spec.nodegroup);
            let read = r
                .eks
                .iter()
                .flatten()
                .find(|g| g.cluster == spec.cluster && g.nodegroup == spec.nodegroup);
            let Some(g) = read else {
                return MetricRow::new(label, NO_DATA.into(), None, DataKind::Eks, 3);
            };
            let pods = pods_of(spec);
            let level = crate::fleet::health::eks_level(g, pods);
            let p = pods
                .map(|p| format!("{p:.0}"))
                .unwrap_or_else(|| NO_DATA.into());
            let mut value = format!("{} nodes {}..{} · {p} pods", g.desired, g.min, g.max);
            let mut compact = format!("{}n {p}p", g.desired);
            if g.status != "ACTIVE" {
                value.push_str(&format!(" {}", g.status));
                compact.push_str(&format!(" {}", g.status));
            }
            let mut row = MetricRow::new(label, value, Some(level), DataKind::Eks, 3);
            row.compact = Some(compact);
            row
        })
        .collect()
}

fn route53_row(r: &RegionView) -> MetricRow<'_> {
    let (value, compact, level) = match &r.route53 {
        None => (NO_DATA.to_string(), None, None),
        Some(s) if s.policy.is_some_and(|p| !p.is_weighted()) => policy_value(s),
        Some(s) => {
            let w = s
                .weight
                .map(|w| format!("w{w}"))
                .unwrap_or_else(|| format!("w{NO_DATA}"));
            let (word, mark, level) = match (s.weight, s.healthy) {
                (_, Some(false)) => ("unhealthy", " ✖", Some(Status::Crit)),
                (Some(0), Some(true)) => ("drained", " ✔", Some(Status::Warn)),
                (_, Some(true)) => ("healthy", " ✔", Some(Status::Ok)),
                (Some(0), None) => ("drained", "", Some(Status::Warn)),
                (_, None) => ("no check", "", None),
            };
            (
                format!("{w}{mark} {word}"),
                Some(format!("{w}{mark}")),
                level,
            )
        }
    };
    let mut row = MetricRow::new("route53", value, level, DataKind::Route53, 6);
    row.compact = compact;
    row
}

/// A latency, geolocation, failover or multivalue record: "latency ✔ healthy", "geo EU ✔ healthy",
/// "failover PRIMARY ✖ drained" (its health check inverted), "latency no check".
fn policy_value(s: &crate::fleet::Route53State) -> (String, Option<String>, Option<Status>) {
    use crate::fleet::routing::Policy;
    let label = match (s.policy.unwrap_or_default(), &s.location, s.failover) {
        (Policy::Geolocation, Some(l), _) => format!("geo {l}"),
        (Policy::Geolocation, None, _) => "geo".to_string(),
        (Policy::Failover, _, Some(role)) => format!("failover {}", role.as_str()),
        (p, _, _) => p.as_str().to_string(),
    };
    let (word, mark, level) = match (s.health_check_inverted, s.healthy) {
        (Some(true), _) => ("drained", " ✖", Some(Status::Warn)),
        (_, Some(false)) => ("unhealthy", " ✖", Some(Status::Crit)),
        (_, Some(true)) => ("healthy", " ✔", Some(Status::Ok)),
        (_, None) => ("no check", "", Some(Status::Warn)),
    };
    (
        format!("{label}{mark} {word}"),
        Some(format!("{label}{mark}")),
        level,
    )
}

fn cost_row(r: &RegionView) -> MetricRow<'_> {
    let value = match &r.cost {
        None => NO_DATA.to_string(),
        Some(c) => {
            let mtd = c
                .month_to_date_usd
                .map(format::usd)
                .unwrap_or_else(|| NO_DATA.into());
            let tilde = if c.forecast_is_projection { "~" } else { "" };
            let fc = c
                .forecast_usd
                .map(|v| format!("{tilde}{}", format::usd(v)))
                .unwrap_or_else(|| NO_DATA.into());
            format!("{mtd} → {fc}")
        }
    };
    let mut row = MetricRow::new("cost/fcst", value.clone(), None, DataKind::Cost, 9);
    row.compact = Some(value.replace(" → ", "→"));
    with(row, &r.history.cost_mtd, Gauge::None)
}

fn probe_row(r: &RegionView) -> MetricRow<'_> {
    let (value, compact, level) = match &r.probe {
        None => (NO_DATA.to_string(), None, None),
        Some(p) => {
            let code = p
                .http_status
                .map(|c| c.to_string())
                .unwrap_or_else(|| "no answer".into());
            let word = p
                .status
                .as_deref()
                .map(|s| format!(" {s}"))
                .unwrap_or_default();
            let level = if p.is_ok() { Status::Ok } else { Status::Crit };
            (
                format!("{code}{word} {}", format::ms(p.rtt_ms)),
                Some(format!("{code}{word}")),
                Some(level),
            )
        }
    };
    let mut row = MetricRow::new("probe", value, level, DataKind::Probe, OPTIONAL);
    row.compact = compact;
    row
}
