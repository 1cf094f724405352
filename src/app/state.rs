//! Everything the UI shows, and nothing it does not.

use crate::fleet::health::HealthInput;
use crate::fleet::series::Series;
use crate::fleet::{
    evaluate, Breach, CostReport, DataKind, EcsCounts, Fleet, MetricValues, ProbeResult, Reading,
    RegionSpec, Replication, Route53State, SourceError, SourceKind, Status,
};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, VecDeque};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Overview,
    Detail,
    Events,
}

/// The detail view's chart window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartWindow {
    M15,
    H1,
    H6,
    H24,
}

impl ChartWindow {
    pub const ALL: [ChartWindow; 4] = [
        ChartWindow::M15,
        ChartWindow::H1,
        ChartWindow::H6,
        ChartWindow::H24,
    ];
    pub fn seconds(self) -> i64 {
        match self {
            ChartWindow::M15 => 15 * 60,
            ChartWindow::H1 => 3600,
            ChartWindow::H6 => 6 * 3600,
            ChartWindow::H24 => 24 * 3600,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            ChartWindow::M15 => "15m",
            ChartWindow::H1 => "1h",
            ChartWindow::H6 => "6h",
            ChartWindow::H24 => "24h",
        }
    }
    pub fn next(self) -> Self {
        match self {
            ChartWindow::M15 => ChartWindow::H1,
            ChartWindow::H1 => ChartWindow::H6,
            ChartWindow::H6 => ChartWindow::H24,
            ChartWindow::H24 => ChartWindow::H24,
        }
    }
    /// Window start (unix seconds) for `now`.
    pub fn start(self, now: DateTime<Utc>) -> i64 {
        now.timestamp() - self.seconds()
    }
    pub fn prev(self) -> Self {
        match self {
            ChartWindow::M15 => ChartWindow::M15,
            ChartWindow::H1 => ChartWindow::M15,
            ChartWindow::H6 => ChartWindow::H1,
            ChartWindow::H24 => ChartWindow::H6,
        }
    }
}

/// A failed fetch of one kind: the error, and since when the kind has been failing.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub error: SourceError,
    pub since: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

/// History of one region's metrics, for sparklines and charts.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    pub latency: BTreeMap<String, Series>,
    pub requests_per_s: Series,
    pub error_rate: Series,
    pub replica_lag_s: Series,
    pub cache_hit_ratio: Series,
    pub running_tasks: Series,
    pub cost_mtd: Series,
}

impl History {
    pub fn new(stats: &[String]) -> Self {
        Self {
            latency: stats.iter().map(|s| (s.clone(), Series::day())).collect(),
            requests_per_s: Series::day(),
            error_rate: Series::day(),
            replica_lag_s: Series::day(),
            cache_hit_ratio: Series::day(),
            running_tasks: Series::day(),
            cost_mtd: Series::day(),
        }
    }
}

/// One region as the console knows it: the latest good reading of each kind, failures, history.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionView {
    pub spec: RegionSpec,
    pub metrics: Option<MetricValues>,
    pub ecs: Option<Vec<EcsCounts>>,
    pub replication: Option<Replication>,
    pub route53: Option<Route53State>,
    pub cost: Option<CostReport>,
    pub probe: Option<ProbeResult>,
    /// When each kind was last read successfully.
    pub fetched: BTreeMap<DataKind, DateTime<Utc>>,
    /// Kinds whose latest fetch failed.
    pub failures: BTreeMap<DataKind, Failure>,
    pub history: History,
    pub status: Status,
    pub breaches: Vec<Breach>,
    /// What the alert log has said about this region so far.
    pub alerts: super::alerts::AlertTracker,
}

impl RegionView {
    pub fn new(spec: RegionSpec, stats: &[String]) -> Self {
        Self {
            spec,
            metrics: None,
            ecs: None,
            replication: None,
            route53: None,
            cost: None,
            probe: None,
            fetched: BTreeMap::new(),
            failures: BTreeMap::new(),
            history: History::new(stats),
            status: Status::Unknown,
            breaches: Vec::new(),
            alerts: Default::default(),
        }
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Apply a good reading: replace that kind, clear its failure, record history.
    pub fn apply(&mut self, at: DateTime<Utc>, reading: Reading) {
        let kind = reading.kind();
        let t = at.timestamp();
        match reading {
            Reading::Metrics(m) => {
                for (stat, v) in &m.latency_ms {
                    if let Some(v) = v {
                        self.history
                            .latency
                            .entry(stat.clone())
                            .or_insert_with(Series::day)
                            .push(t, *v);
                    }
                }
                let h = &mut self.history;
                for (series, v) in [
                    (&mut h.requests_per_s, m.requests_per_s),
                    (&mut h.error_rate, m.error_rate),
                    (&mut h.replica_lag_s, m.replica_lag_s),
                    (&mut h.cache_hit_ratio, m.cache_hit_ratio),
                ] {
                    if let Some(v) = v {
                        series.push(t, v);
                    }
                }
                self.metrics = Some(m);
            }
            Reading::Ecs(e) => {
                self.history
                    .running_tasks
                    .push(t, e.iter().map(|s| s.running as f64).sum());
                self.ecs = Some(e);
            }
            Reading::Topology(r) => self.replication = Some(r),
            Reading::Route53(r) => self.route53 = Some(r),
            Reading::Cost(c) => {
                if let Some(v) = c.month_to_date_usd {
                    self.history.cost_mtd.push(t, v);
                }
                self.cost = Some(c);
            }
            Reading::Probe(p) => self.probe = Some(p),
        }
        self.fetched.insert(kind, at);
        self.failures.remove(&kind);
    }

    pub fn fail(&mut self, kind: DataKind, at: DateTime<Utc>, error: SourceError) {
        let since = self.failures.get(&kind).map(|f| f.since).unwrap_or(at);
        self.failures.insert(
            kind,
            Failure {
                error,
                since,
                last: at,
            },
        );
    }

    pub fn reevaluate(&mut self, fleet: &Fleet) {
        let (status, breaches) = evaluate(
            fleet,
            HealthInput {
                metrics: self.metrics.as_ref(),
                ecs: self.ecs.as_deref(),
                replication: self.replication.as_ref(),
                route53: self.route53.as_ref(),
                probe: self.probe.as_ref(),
            },
        );
        self.status = status;
        self.breaches = breaches;
    }

    /// Age in seconds of the oldest kind on screen that is failing; 0 when all is fresh.
    pub fn stale_s(&self, now: DateTime<Utc>) -> u64 {
        self.failures
            .keys()
            .filter_map(|k| {
                self.fetched
                    .get(k)
                    .map(|t| (now - *t).num_seconds().max(0) as u64)
                    .or(Some(0))
            })
            .max()
            .unwrap_or(0)
    }

    /// "stale 45 s: ThrottlingException" for a failing kind, None when it is fresh.
    pub fn stale_label(&self, kind: DataKind, now: DateTime<Utc>) -> Option<String> {
        let f = self.failures.get(&kind)?;
        Some(match self.fetched.get(&kind) {
            Some(t) => format!(
                "stale {} s: {}",
                (now - *t).num_seconds().max(0),
                f.error.short()
            ),
            None => format!("no data: {}", f.error.short()),
        })
    }

    /// Sum of running tasks over the region's services.
    pub fn running_tasks(&self) -> Option<i64> {
        self.ecs.as_ref().map(|e| e.iter().map(|s| s.running).sum())
    }
}

/// One line of the alert and event log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEvent {
    pub at: DateTime<Utc>,
    pub region: Option<String>,
    pub level: Status,
    pub text: String,
}

pub const EVENT_LOG_CAP: usize = 1000;

/// The whole console state.
#[derive(Debug, Clone)]
pub struct State {
    pub fleet: Fleet,
    /// The simulated fleet or AWS.
    pub source: SourceKind,
    pub identity: Option<String>,
    pub regions: Vec<RegionView>,
    pub focus: usize,
    pub view: View,
    pub help: bool,
    pub window: ChartWindow,
    /// The source's clock: virtual time on the simulator.
    pub now: DateTime<Utc>,
    pub events: VecDeque<LogEvent>,
    pub event_scroll: usize,
    pub help_scroll: usize,
    pub theme_names: Vec<String>,
    pub theme: usize,
    pub keymap_names: Vec<String>,
    pub keymap: usize,
    /// Terminal size.
    pub size: (u16, u16),
    /// Set when something visible changed; the loop redraws and clears it.
    pub dirty: bool,
    pub quit: bool,
    /// Operations are refused: real AWS without --allow-actions, or the kill switch. Shown in the
    /// status line, never cut.
    pub read_only: bool,
    /// Short message at the bottom (e.g. "scenario outage injected into us-east-1").
    pub flash: Option<String>,
    /// The operation dialog on top, if any (see `app::dialog`).
    pub dialog: Option<super::Dialog>,
    pub audit: super::AuditView,
}

impl State {
    pub fn new(fleet: Fleet, source: SourceKind, now: DateTime<Utc>) -> Self {
        let stats = fleet.metrics.latency_stats.clone();
        let regions = fleet
            .regions
            .iter()
            .cloned()
            .map(|r| RegionView::new(r, &stats))
            .collect();
        Self {
            fleet,
            source,
            identity: None,
            regions,
            focus: 0,
            view: View::Overview,
            help: false,
            window: ChartWindow::H1,
            now,
            events: VecDeque::new(),
            event_scroll: 0,
            help_scroll: 0,
            theme_names: vec!["default".into()],
            theme: 0,
            keymap_names: vec!["default".into()],
            keymap: 0,
            size: (80, 24),
            dirty: true,
            quit: false,
            read_only: false,
            flash: None,
            dialog: None,
            audit: Default::default(),
        }
    }

    pub fn focused(&self) -> &RegionView {
        &self.regions[self.focus.min(self.regions.len().saturating_sub(1))]
    }

    pub fn region_index(&self, name: &str) -> Option<usize> {
        self.regions.iter().position(|r| r.spec.name == name)
    }

    /// The worst region by status (ties: the first), if any is not ok.
    pub fn worst(&self) -> Option<&RegionView> {
        self.regions
            .iter()
            .filter(|r| r.status != Status::Ok)
            .max_by_key(|r| {
                (
                    r.status.severity(),
                    usize::MAX - self.region_index(r.name()).unwrap_or(0),
                )
            })
    }

    /// Number of breaches (warn or crit) across regions.
    pub fn active_alerts(&self) -> usize {
        self.regions.iter().map(|r| r.breaches.len()).sum()
    }

    pub fn log(&mut self, at: DateTime<Utc>, region: Option<String>, level: Status, text: String) {
        self.events.push_front(LogEvent {
            at,
            region,
            level,
            text,
        });
        self.events.truncate(EVENT_LOG_CAP);
        self.dirty = true;
    }

    pub fn theme_name(&self) -> &str {
        self.theme_names
            .get(self.theme)
            .map(String::as_str)
            .unwrap_or("default")
    }

    pub fn keymap_name(&self) -> &str {
        self.keymap_names
            .get(self.keymap)
            .map(String::as_str)
            .unwrap_or("default")
    }
}
