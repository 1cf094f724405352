//! One region as the console knows it: the latest good reading of each kind, what is failing,
//! history for sparklines and charts, and its judgement (status, breaches, onsets).

use crate::fleet::health::{self, Family, HealthInput};
use crate::fleet::impact::{self, Onsets};
use crate::fleet::series::Series;
use crate::fleet::{
    evaluate, Breach, CostReport, DataKind, EcsCounts, Fleet, MetricValues, ProbeResult, Reading,
    RegionSpec, Replication, Route53State, SourceError, Status,
};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

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
    /// EKS node groups as `DescribeNodegroup` last answered.
    pub eks: Option<Vec<crate::fleet::eks::NodegroupState>>,
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
            eks: None,
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
            Reading::Eks(g) => self.eks = Some(g),
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
        // A region without node groups reads none: nothing of EKS can be stale there.
        if kind == DataKind::Eks && self.spec.eks.is_empty() {
            return;
        }
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
            eks: self.eks.as_deref(),
            replication: self.replication.as_ref(),
            route53: self.route53.as_ref(),
            probe,
        };
        let (status, breaches) = evaluate(fleet, &self.spec.name, input);
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
