//! Everything the UI shows, and nothing it does not.

use super::region::RegionView;
use crate::fleet::impact::{self, ImpactInput, Worst};
use crate::fleet::{DataKind, Fleet, SourceKind, Status};
use chrono::{DateTime, Utc};
use std::collections::VecDeque;

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
    /// Seven days, hour by hour, from the weekly review's reads (`report::region_week`): the
    /// console itself keeps 24 h.
    D7,
}

impl ChartWindow {
    pub const ALL: [ChartWindow; 5] = [
        ChartWindow::M15,
        ChartWindow::H1,
        ChartWindow::H6,
        ChartWindow::H24,
        ChartWindow::D7,
    ];
    pub fn seconds(self) -> i64 {
        match self {
            ChartWindow::M15 => 15 * 60,
            ChartWindow::H1 => 3600,
            ChartWindow::H6 => 6 * 3600,
            ChartWindow::H24 => 24 * 3600,
            ChartWindow::D7 => 7 * 24 * 3600,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            ChartWindow::M15 => "15m",
            ChartWindow::H1 => "1h",
            ChartWindow::H6 => "6h",
            ChartWindow::H24 => "24h",
            ChartWindow::D7 => "7d",
        }
    }
    pub fn next(self) -> Self {
        match self {
            ChartWindow::M15 => ChartWindow::H1,
            ChartWindow::H1 => ChartWindow::H6,
            ChartWindow::H6 => ChartWindow::H24,
            ChartWindow::H24 => ChartWindow::D7,
            ChartWindow::D7 => ChartWindow::D7,
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
            ChartWindow::D7 => ChartWindow::H24,
        }
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
    /// What the other operators of the fleet are doing (polled; `ops::others`).
    pub others: crate::ops::others::Others,
    /// The CDN's level last logged (a change raises or recovers its alert line); never set to
    /// unknown: missing data neither raises nor recovers.
    pub cdn_level: Status,
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
    /// Operations AWS accepted that the console still watches until they settle or time out.
    pub watching: Vec<crate::ops::pipeline::Accepted>,
    pub audit: super::AuditView,
    /// The week summary overlay.
    pub week: super::dialog::WeekView,
    /// The drill walkthrough panel (`D`), beside the live panes.
    pub drills: super::drill::DrillPanel,
    /// The detail view's 7-day window, per region, as last read (`app::week_charts`).
    pub week_charts: super::week_cache::WeekCharts,
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
            others: Default::default(),
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
            watching: Vec::new(),
            audit: Default::default(),
            week: Default::default(),
            drills: Default::default(),
            week_charts: Default::default(),
            offline: None,
            cdn_level: Status::Ok,
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
                in_rotation: r
                    .route53
                    .as_ref()
                    .map(|x| impact::in_rotation(x.weight, x.health_check_inverted, x.healthy)),
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
    /// region in service is ok — and while opsdeck cannot reach AWS at all: then no region is
    /// worse than another, the fault is on our side (`offline`).
    pub fn worst(&self) -> Option<Worst> {
        if self.offline.is_some() {
            return None;
        }
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
            DataKind::Eks => !r.spec.eks.is_empty(),
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

    /// Whether any primary takes writes, from the topology on screen (and since when not).
    pub fn writes(&self) -> crate::fleet::failover::Writes {
        crate::fleet::failover::writes(self.regions.iter().filter_map(|r| r.replication.as_ref()))
    }

    /// Number of breaches (warn or crit) across regions.
    pub fn active_alerts(&self) -> usize {
        self.regions.iter().map(|r| r.breaches.len()).sum()
    }

    /// Add an event to the log, which is kept newest first by the event's own time: events arrive
    /// out of order (the simulator's history after the console's own notes, a slow region's
    /// alerts after a fast one's), and "newest first" must stay true of what is shown.
    pub fn log(&mut self, at: DateTime<Utc>, region: Option<String>, level: Status, text: String) {
        let at_or_before = self.events.iter().position(|e| e.at <= at);
        let index = at_or_before.unwrap_or(self.events.len());
        self.events.insert(
            index,
            LogEvent {
                at,
                region,
                level,
                text,
            },
        );
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
