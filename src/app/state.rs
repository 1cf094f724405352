//! Everything the UI shows, and nothing it does not.

use crate::fleet::health::{self, Family, HealthInput};
use crate::fleet::impact::{self, ImpactInput, Onsets, Worst};
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
    /// The region's status: its worst breach; unknown when all its data is stale or opsdeck
    /// cannot reach AWS.
    pub status: Status,
    pub breaches: Vec<Breach>,
    /// When each breached family reached its level.
    pub onsets: Onsets,
    /// Requests/s the last time the region served normally (its traffic should it fail).
    pub served_rps: Option<f64>,
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
            onsets: Onsets::default(),
            served_rps: None,
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
            Reading::Metrics(mut m) => {
                // A 5xx share of no requests is no data, not 0 %.
                if matches!(m.requests_per_s, Some(r) if r <= 0.0) {
                    m.error_rate = None;
                }
                for (stat, v) in &m.latency_ms {
                    let series = self
                        .history
                        .latency
                        .entry(stat.clone())
                        .or_insert_with(Series::day);
                    match v {
                        Some(v) => series.push(t, *v),
                        None => series.push_gap(t),
                    }
                }
                let h = &mut self.history;
                for (series, v) in [
                    (&mut h.requests_per_s, m.requests_per_s),
                    (&mut h.error_rate, m.error_rate),
                    (&mut h.replica_lag_s, m.replica_lag_s),
                    (&mut h.cache_hit_ratio, m.cache_hit_ratio),
                ] {
                    match v {
                        Some(v) => series.push(t, v),
                        None => series.push_gap(t),
                    }
                }
                if impact::serving_normally(&m) {
                    self.served_rps = m.requests_per_s;
                }
                self.metrics = Some(m);
            }
            Reading::Ecs(e) => {
                self.history
                    .running_tasks
                    .push(t, e.iter().map(|s| s.running as f64).sum());
                self.ecs = Some(e);
            }
            Reading::Topology(r) => {
                if matches!(r, Replication::Broken { .. }) {
                    // Broken replication is a break in the lag line, never a lag of 0.
                    self.history.replica_lag_s.push_gap(t);
                }
                self.replication = Some(r)
            }
            Reading::Route53(r) => self.route53 = Some(r),
            Reading::Cost(c) => {
                match c.month_to_date_usd {
                    Some(v) => self.history.cost_mtd.push(t, v),
                    None => self.history.cost_mtd.push_gap(t),
                }
                self.cost = Some(c);
            }
            Reading::Probe(p) => self.probe = Some(p),
        }
        self.fetched.insert(kind, at);
        self.failures.remove(&kind);
    }

    pub fn fail(&mut self, kind: DataKind, at: DateTime<Utc>, error: SourceError) {
        let t = at.timestamp();
        let h = &mut self.history;
        match kind {
            DataKind::Metrics => {
                for series in h.latency.values_mut() {
                    series.push_gap(t);
                }
                for series in [
                    &mut h.requests_per_s,
                    &mut h.error_rate,
                    &mut h.replica_lag_s,
                    &mut h.cache_hit_ratio,
                ] {
                    series.push_gap(t);
                }
            }
            DataKind::Ecs => h.running_tasks.push_gap(t),
            DataKind::Cost => h.cost_mtd.push_gap(t),
            _ => {}
        }
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

    /// Judge the region on its latest data at `at`; returns the families that had data. While
    /// opsdeck is `offline` the region's status is unknown.
    pub fn reevaluate(&mut self, fleet: &Fleet, at: DateTime<Utc>, offline: bool) -> Vec<Family> {
        // A probe without an answer is news about the region only while AWS answers us about
        // it; otherwise the network between may be what is down.
        let flowing = self
            .fetched
            .keys()
            .any(|k| *k != DataKind::Probe && !self.failures.contains_key(k));
        let probe = self
            .probe
            .as_ref()
            .filter(|p| p.http_status.is_some() || (flowing && !offline));
        let input = HealthInput {
            metrics: self.metrics.as_ref(),
            ecs: self.ecs.as_deref(),
            replication: self.replication.as_ref(),
            route53: self.route53.as_ref(),
            probe,
        };
        let (status, breaches) = evaluate(fleet, input);
        let checked = health::checked(fleet, input);
        self.onsets.observe(at, &breaches, &checked);
        self.status = if offline || self.all_stale() {
            Status::Unknown
        } else {
            status
        };
        self.breaches = breaches;
        checked
    }

    /// Every kind of data the region has is failing to refresh.
    pub fn all_stale(&self) -> bool {
        !self.failures.is_empty()
            && self
                .fetched
                .keys()
                .chain(self.failures.keys())
                .all(|k| self.failures.contains_key(k))
    }

    /// Age in seconds of the region's freshest data when all of it is stale; `None` when some
    /// is fresh, `Some(None)` when nothing was ever read.
    pub fn all_stale_age(&self, now: DateTime<Utc>) -> Option<Option<i64>> {
        if !self.all_stale() {
            return None;
        }
        Some(
            self.fetched
                .values()
                .max()
                .map(|t| (now - *t).num_seconds().max(0)),
        )
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

    /// Why the region's status has no breach behind it, and since when: its data is stale or
    /// missing.
    pub fn unknown_reason(&self, now: DateTime<Utc>) -> (String, Option<DateTime<Utc>>) {
        let since = self.failures.values().map(|f| f.since).min();
        if let Some(age) = self.all_stale_age(now) {
            let why = match age {
                Some(age) => format!("all data stale {age} s"),
                None => "no data".into(),
            };
            return (why, since);
        }
        let failing = self
            .failures
            .keys()
            .next()
            .and_then(|k| self.stale_label(*k, now));
        match failing {
            Some(why) => (why, since),
            None if self.metrics.is_none() => ("no data yet".into(), None),
            None => ("no breach".into(), None),
        }
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
    /// Since when opsdeck cannot reach AWS at all (see `offline_since`).
    pub offline: Option<DateTime<Utc>>,
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
            offline: None,
        }
    }

    pub fn focused(&self) -> &RegionView {
        &self.regions[self.focus.min(self.regions.len().saturating_sub(1))]
    }

    pub fn region_index(&self, name: &str) -> Option<usize> {
        self.regions.iter().position(|r| r.spec.name == name)
    }

    /// What the impact ranking knows of each region (in fleet order); `reasons` holds the
    /// no-data sentences the inputs borrow.
    fn impact_inputs<'a>(
        &'a self,
        reasons: &'a [(String, Option<DateTime<Utc>>)],
    ) -> Vec<ImpactInput<'a>> {
        self.regions
            .iter()
            .zip(reasons)
            .map(|(r, (why, since))| ImpactInput {
                name: r.name(),
                status: r.status,
                breaches: &r.breaches,
                onsets: &r.onsets,
                requests_per_s: r.metrics.as_ref().and_then(|m| m.requests_per_s),
                served_rps: r.served_rps,
                weight: r.route53.as_ref().and_then(|x| x.weight),
                unknown: Some((why.as_str(), *since)),
            })
            .collect()
    }

    fn unknown_reasons(&self) -> Vec<(String, Option<DateTime<Utc>>)> {
        self.regions
            .iter()
            .map(|r| r.unknown_reason(self.now))
            .collect()
    }

    /// The region with the most impact on the fleet (see `fleet::impact`), `None` when every
    /// region in service is ok.
    pub fn worst(&self) -> Option<Worst> {
        let reasons = self.unknown_reasons();
        impact::worst(&self.impact_inputs(&reasons))
    }

    /// Regions drained of traffic and serving nothing.
    pub fn out_of_service(&self) -> Vec<&str> {
        let reasons = self.unknown_reasons();
        let out = impact::out_of_service(&self.impact_inputs(&reasons));
        self.regions
            .iter()
            .zip(out)
            .filter(|(_, o)| *o)
            .map(|(r, _)| r.name())
            .collect()
    }

    /// Since when opsdeck cannot reach AWS at all: every region's metrics call and every other
    /// failing call fail with a network, time-limit or credential error, and no call that asks
    /// AWS anything has succeeded since. `None` while anything gets through.
    pub fn offline_since(&self) -> Option<DateTime<Utc>> {
        if self.regions.is_empty() {
            return None;
        }
        let mut since: Option<DateTime<Utc>> = None;
        for r in &self.regions {
            if !r.failures.contains_key(&DataKind::Metrics)
                || r.failures.values().any(|f| !f.error.is_connectivity())
            {
                return None;
            }
            let first = r.failures.values().map(|f| f.since).min()?;
            since = Some(since.map_or(first, |s| s.min(first)));
        }
        let since = since?;
        let asks_aws = |r: &RegionView, k: &DataKind| match k {
            DataKind::Probe => false,
            DataKind::Route53 => r.spec.route53.is_some(),
            DataKind::Ecs => !r.spec.ecs.is_empty(),
            DataKind::Topology => r.spec.rds.is_some(),
            _ => true,
        };
        let got_through = self.regions.iter().any(|r| {
            r.fetched
                .iter()
                .any(|(k, t)| asks_aws(r, k) && !r.failures.contains_key(k) && *t > since)
        });
        (!got_through).then_some(since)
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
