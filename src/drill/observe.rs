//! What a drill looks at: every region's metric values at one moment (from the simulator's readings,
//! or from a fresh read of AWS), the steady-state checks and stop conditions judged on them, and
//! alerts raised and recovered.

use super::runbook::{Probe, StopWhen};
use crate::fleet::failover::{self, Writes};
use crate::fleet::health::{self, Family, HealthInput};
use crate::fleet::{Fleet, MetricValues, Reading, Replication, Status};
use crate::ops::view::FleetView;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One region's values at one moment. A metric without data is absent, never made up.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RegionValues {
    pub name: String,
    /// Takes traffic: its record is not drained (weight 0, check inverted) nor failing its check.
    pub serving: bool,
    pub values: BTreeMap<String, f64>,
}

/// Every region's values at one moment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observation {
    pub at: DateTime<Utc>,
    pub regions: Vec<RegionValues>,
}

/// A region out of DNS still counts as serving while it receives this share of the fleet's
/// requests (clients that have not followed the change yet).
pub const SERVING_SHARE: f64 = 0.01;

/// From a fresh read (`view`) and, where there are any, the regions' metrics.
pub fn observe(view: &FleetView, metrics: &BTreeMap<String, MetricValues>) -> Observation {
    let writes = failover::writes(
        view.regions
            .iter()
            .filter_map(|r| r.database.as_ref().map(|d| &d.replication)),
    );
    let total_rps: f64 = view
        .regions
        .iter()
        .map(|r| {
            metrics
                .get(&r.name)
                .and_then(|m| m.requests_per_s)
                .or(r.served_rps)
                .unwrap_or(0.0)
        })
        .sum();
    let regions = view
        .regions
        .iter()
        .map(|r| {
            let mut values = BTreeMap::new();
            let mut put = |k: &str, v: Option<f64>| {
                if let Some(v) = v.filter(|v| v.is_finite()) {
                    values.insert(k.to_string(), v);
                }
            };
            if let Some(m) = metrics.get(&r.name) {
                for (stat, v) in &m.latency_ms {
                    put(stat, *v);
                }
                put("error_rate", m.error_rate);
                put("cache_hit_ratio", m.cache_hit_ratio);
                put("requests_per_s", m.requests_per_s);
            } else {
                put("requests_per_s", r.served_rps);
            }
            let lag = r.database.as_ref().and_then(|d| match &d.replication {
                Replication::Replica { .. } => d.lag_s,
                _ => None,
            });
            put("replica_lag_s", lag);
            let (running, desired) = r
                .services
                .iter()
                .fold((0, 0), |(a, b), s| (a + s.running, b + s.desired));
            if !r.services.is_empty() && desired > 0 {
                put("ecs_running_ratio", Some(running as f64 / desired as f64));
            }
            let rec = r.record.as_ref();
            put(
                "route53_weight",
                rec.and_then(|x| x.weight).map(|w| w as f64),
            );
            put(
                "route53_healthy",
                rec.and_then(|x| x.healthy)
                    .map(|h| if h { 1.0 } else { 0.0 }),
            );
            put(
                "probe_ok",
                r.probe.as_ref().map(|p| if p.ok { 1.0 } else { 0.0 }),
            );
            put(
                "writes_ok",
                match writes {
                    Writes::Up => Some(1.0),
                    Writes::Down { .. } => Some(0.0),
                    Writes::Unknown => None,
                },
            );
            // Taken out of DNS, a region still serves the clients that have not followed yet.
            let routed = rec.is_none_or(|x| {
                x.weight != Some(0)
                    && x.healthy != Some(false)
                    && x.health_check_inverted != Some(true)
            });
            let rps = values.get("requests_per_s").copied().unwrap_or(0.0);
            let serving = routed || (total_rps > 0.0 && rps >= SERVING_SHARE * total_rps);
            RegionValues {
                name: r.name.clone(),
                serving,
                values,
            }
        })
        .collect();
    Observation {
        at: view.read_at,
        regions,
    }
}

/// A check's verdict at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub check: String,
    pub ok: bool,
    /// The worst value among the regions checked; null when none had data.
    pub value: Option<f64>,
    /// The region of that value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Why it does not hold, when it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Observation {
    /// The regions a check or condition on `region` looks at: the one named, or every serving one.
    fn regions_for<'a>(&'a self, region: &str) -> Vec<&'a RegionValues> {
        self.regions
            .iter()
            .filter(|r| {
                if region == "*" {
                    r.serving
                } else {
                    r.name == region
                }
            })
            .collect()
    }

    /// Whether `probe` holds now. A named region without the value fails ("no data"); under `*` a
    /// region without it is left out (a primary has no replica lag), but no region at all with it
    /// fails.
    pub fn check(&self, probe: &Probe) -> CheckResult {
        let label = probe.label();
        let regions = self.regions_for(&probe.region);
        let mut worst: Option<(f64, &str, f64)> = None; // (badness, region, value)
        let mut missing = Vec::new();
        for r in &regions {
            let Some(v) = r.values.get(&probe.metric).copied() else {
                missing.push(r.name.as_str());
                continue;
            };
            let over = probe.max.map_or(f64::NEG_INFINITY, |m| v - m);
            let under = probe.min.map_or(f64::NEG_INFINITY, |m| m - v);
            let bad = over.max(under);
            if worst.is_none_or(|(b, _, _)| bad > b) {
                worst = Some((bad, r.name.as_str(), v));
            }
        }
        match worst {
            None => CheckResult {
                check: label,
                ok: false,
                value: None,
                region: None,
                detail: Some(if regions.is_empty() {
                    "no serving region".into()
                } else {
                    format!("no data from {}", missing.join(", "))
                }),
            },
            Some((bad, region, v)) => CheckResult {
                check: label,
                ok: bad <= 0.0 && (probe.region == "*" || missing.is_empty()),
                value: Some(v),
                region: Some(region.to_string()),
                detail: (bad > 0.0)
                    .then(|| format!("{} reads {} in {region}", probe.metric, round(v))),
            },
        }
    }

    /// Every check, and whether all hold.
    pub fn check_all(&self, probes: &[Probe]) -> (bool, Vec<CheckResult>) {
        let results: Vec<CheckResult> = probes.iter().map(|p| self.check(p)).collect();
        (results.iter().all(|r| r.ok), results)
    }

    /// The first region where `cond` holds now, and its value.
    pub fn stop_holds(&self, cond: &StopWhen) -> Option<(String, f64)> {
        self.regions_for(&cond.region).into_iter().find_map(|r| {
            let v = *r.values.get(&cond.metric)?;
            let hit = cond.above.is_some_and(|a| v > a) || cond.below.is_some_and(|b| v < b);
            hit.then(|| (r.name.clone(), v))
        })
    }
}

/// A value rounded for a sentence: 3 significant decimals at most.
pub fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Stop conditions over time: each fires once it has held for its `for_s`.
#[derive(Debug, Clone, Default)]
pub struct StopWatch {
    since: BTreeMap<usize, DateTime<Utc>>,
}

/// A stop condition that fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fired {
    pub condition: String,
    pub region: String,
    pub value: f64,
    pub since: DateTime<Utc>,
}

impl StopWatch {
    pub fn observe(&mut self, obs: &Observation, conds: &[StopWhen]) -> Option<Fired> {
        for (i, c) in conds.iter().enumerate() {
            match obs.stop_holds(c) {
                None => {
                    self.since.remove(&i);
                }
                Some((region, value)) => {
                    let since = *self.since.entry(i).or_insert(obs.at);
                    if (obs.at - since).num_milliseconds() as f64 >= c.for_s * 1000.0 {
                        return Some(Fired {
                            condition: c.label(),
                            region,
                            value: round(value),
                            since,
                        });
                    }
                }
            }
        }
        None
    }
}

/// An alert raised or recovered: a region's family changed level.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertChange {
    pub region: String,
    pub level: Status,
    pub text: String,
}

/// Alerts from each region's breaches: an escalation to crit at once, any other change once it has
/// held this long (a metric hovering at a threshold does not flood the timeline).
pub const ALERT_HOLD_S: i64 = 30;

#[derive(Debug, Clone, Default)]
pub struct Alerts {
    logged: BTreeMap<(String, Family), Status>,
    pending: BTreeMap<(String, Family), (Status, DateTime<Utc>)>,
}

/// The latest reading of every kind, per region.
#[derive(Debug, Clone, Default)]
pub struct Latest {
    pub regions: BTreeMap<String, BTreeMap<&'static str, Reading>>,
}

impl Latest {
    pub fn take(&mut self, readings: Vec<(String, Reading)>) {
        for (region, r) in readings {
            self.regions
                .entry(region)
                .or_default()
                .insert(r.kind().label(), r);
        }
    }

    pub fn metrics(&self) -> BTreeMap<String, MetricValues> {
        self.regions
            .iter()
            .filter_map(|(name, kinds)| {
                kinds.values().find_map(|r| match r {
                    Reading::Metrics(m) => Some((name.clone(), m.clone())),
                    _ => None,
                })
            })
            .collect()
    }
}

impl Alerts {
    pub fn observe(
        &mut self,
        fleet: &Fleet,
        latest: &Latest,
        at: DateTime<Utc>,
    ) -> Vec<AlertChange> {
        let mut out = Vec::new();
        for (region, kinds) in &latest.regions {
            let mut input = HealthInput::default();
            for r in kinds.values() {
                match r {
                    Reading::Metrics(m) => input.metrics = Some(m),
                    Reading::Ecs(e) => input.ecs = Some(e),
                    Reading::Topology(t) => input.replication = Some(t),
                    Reading::Route53(s) => input.route53 = Some(s),
                    Reading::Probe(p) => input.probe = Some(p),
                    Reading::Cost(_) | Reading::Eks(_) => {}
                }
            }
            let (_, breaches) = health::evaluate(fleet, region, input);
            let checked = health::checked(fleet, input);
            let mut current: BTreeMap<Family, (Status, String)> = BTreeMap::new();
            for b in breaches {
                let e = current
                    .entry(b.family)
                    .or_insert((b.status, b.message.clone()));
                if b.status > e.0 {
                    *e = (b.status, b.message);
                }
            }
            for family in checked {
                let key = (region.clone(), family);
                let (level, msg) = current
                    .get(&family)
                    .cloned()
                    .unwrap_or((Status::Ok, String::new()));
                let logged = self.logged.get(&key).copied().unwrap_or(Status::Ok);
                if level == logged {
                    self.pending.remove(&key);
                    continue;
                }
                let since = match self.pending.get(&key) {
                    Some((l, s)) if *l == level => *s,
                    _ => {
                        self.pending.insert(key.clone(), (level, at));
                        at
                    }
                };
                if level != Status::Crit && (at - since).num_seconds() < ALERT_HOLD_S {
                    continue;
                }
                self.pending.remove(&key);
                let text = if level == Status::Ok {
                    self.logged.remove(&key);
                    format!("RECOVERED {}", family.label())
                } else {
                    self.logged.insert(key, level);
                    format!("{} {msg}", level.as_str().to_uppercase())
                };
                out.push(AlertChange {
                    region: region.clone(),
                    level,
                    text,
                });
            }
        }
        out
    }
}
