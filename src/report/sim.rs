//! The review on the simulated fleet: the model runs over the previous window and this one on
//! its virtual clock (seeded: the same seed, window and schedule give the same samples), with
//! scheduled incidents — those asked for (`--inject`) and, unless turned off, the week's
//! "weather": a few incidents drawn from the seed per day — and is sampled every minute.

use super::series::{RegionSeries, Sample};
use super::Cost;
use crate::fleet::{Fleet, Reading};
use crate::source::sim::SimFleet;
use crate::source::Scenario;
use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::BTreeMap;

/// One sample a minute; the model steps 30 s at a time (a week in about a second).
pub const SAMPLE_S: i64 = 60;
pub const MODEL_STEP_S: f64 = 30.0;
/// The model runs this long before the previous window starts, to settle.
const WARM_UP_S: i64 = 3600;

/// An incident the model runs from `start` to `end`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scheduled {
    pub region: String,
    pub scenario: Scenario,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// What the model gave.
#[derive(Debug, Clone, PartialEq)]
pub struct SimRun {
    pub series: Vec<RegionSeries>,
    pub cost: BTreeMap<String, Cost>,
    pub previous_cost: BTreeMap<String, f64>,
}

/// The fleet the model runs: the charts' p50 and p99 and every region's SLO statistic added in
/// front of `metrics.latency_stats`, so the threshold statistic (the last) and with it the
/// model's calibration stay what they are.
fn model_fleet(fleet: &Fleet) -> Fleet {
    let mut f = fleet.clone();
    let mut wanted: Vec<String> = vec!["p50".into(), "p99".into()];
    wanted.extend(
        fleet
            .regions
            .iter()
            .map(|r| fleet.slo_for(&r.name).latency_stat),
    );
    wanted.push(fleet.slo.latency_stat.clone());
    for stat in wanted {
        if !f.metrics.latency_stats.contains(&stat) {
            f.metrics.latency_stats.insert(0, stat);
        }
    }
    f
}

/// A few incidents a day drawn from `seed` and the day alone, so the same day has the same
/// weather in every window that holds it.
pub fn weather(
    fleet: &Fleet,
    seed: u64,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<Scheduled> {
    let mut out = Vec::new();
    let first_day = from.timestamp().div_euclid(86_400);
    let last_day = until.timestamp().div_euclid(86_400);
    for day in first_day..=last_day {
        let mut rng =
            ChaCha8Rng::seed_from_u64(seed ^ (day as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        if rng.gen::<f64>() > 0.45 {
            continue;
        }
        let i = rng.gen_range(0..fleet.regions.len());
        let spec = &fleet.regions[i];
        let roll = rng.gen::<f64>();
        let (scenario, minutes) = if roll < 0.55 {
            (Scenario::ErrorStorm, rng.gen_range(20..90))
        } else if roll < 0.75 && spec.cache.is_some() {
            (Scenario::CacheFlush, 30)
        } else if roll < 0.92 && spec.rds.is_some() && spec.role == crate::fleet::Role::Secondary {
            (Scenario::ReplicaLag, rng.gen_range(5..40))
        } else {
            (Scenario::Outage, rng.gen_range(5..25))
        };
        let start = DateTime::from_timestamp(day * 86_400 + rng.gen_range(0..86_400 - 7200), 0)
            .unwrap_or(from);
        let end = start + Duration::minutes(minutes);
        if start >= from && end <= until {
            out.push(Scheduled {
                region: spec.name.clone(),
                scenario,
                start,
                end,
            });
        }
    }
    out
}

enum Event<'a> {
    Start(&'a Scheduled),
    End(&'a Scheduled),
}

/// Run the model from before `prev_from` to `until`, sampling every minute from `prev_from`.
pub fn run(
    fleet: &Fleet,
    seed: u64,
    prev_from: DateTime<Utc>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    schedule: &[Scheduled],
) -> Result<SimRun, String> {
    let mf = model_fleet(fleet);
    let mut model = SimFleet::new(&mf, seed, prev_from - Duration::seconds(WARM_UP_S));
    let mut events: Vec<(DateTime<Utc>, u8, Event)> = schedule
        .iter()
        .flat_map(|s| [(s.start, 1, Event::Start(s)), (s.end, 0, Event::End(s))])
        .collect();
    events.sort_by_key(|e| (e.0, e.1));
    let mut events = events.into_iter().peekable();
    let mut series: Vec<RegionSeries> = fleet
        .regions
        .iter()
        .map(|r| RegionSeries {
            region: r.name.clone(),
            step_s: SAMPLE_S,
            samples: Vec::new(),
        })
        .collect();
    let mut last_mtd: BTreeMap<String, f64> = BTreeMap::new();
    let mut window_cost: BTreeMap<String, f64> = BTreeMap::new();
    let mut prev_cost: BTreeMap<String, f64> = BTreeMap::new();
    let mut cost_now: BTreeMap<String, (Option<f64>, Option<f64>)> = BTreeMap::new();
    let mut t = prev_from;
    loop {
        // Move the model to `t`, starting and ending incidents on the way at their times.
        while let Some((at, _, _)) = events.peek() {
            if *at > t {
                break;
            }
            let (at, _, ev) = events.next().expect("peeked");
            let dt = (at - model.now()).num_milliseconds() as f64 / 1000.0;
            model.advance_in_steps(dt, MODEL_STEP_S);
            match ev {
                Event::Start(s) => model.inject(&s.region, s.scenario)?,
                Event::End(s) => model.end_scenario(&s.region, s.scenario)?,
            }
        }
        let dt = (t - model.now()).num_milliseconds() as f64 / 1000.0;
        model.advance_in_steps(dt, MODEL_STEP_S);
        // The cost accrued since the last look goes to the window it accrued in.
        let into = if t <= from {
            &mut prev_cost
        } else {
            &mut window_cost
        };
        for (region, reading) in model.readings() {
            let Some(i) = fleet.regions.iter().position(|r| r.name == region) else {
                continue;
            };
            match reading {
                Reading::Metrics(m) if t < until => series[i].samples.push(sample(t, &m)),
                Reading::Cost(c) => {
                    if let Some(mtd) = c.month_to_date_usd {
                        if let Some(last) = last_mtd.insert(region.clone(), mtd) {
                            let delta = if mtd >= last { mtd - last } else { mtd };
                            *into.entry(region.clone()).or_default() += delta;
                        }
                    }
                    cost_now.insert(region.clone(), (c.month_to_date_usd, c.forecast_usd));
                }
                _ => {}
            }
        }
        if t >= until {
            break;
        }
        t += Duration::seconds(SAMPLE_S);
    }
    let cost = fleet
        .regions
        .iter()
        .map(|r| {
            let (mtd, forecast) = cost_now.get(&r.name).copied().unwrap_or_default();
            (
                r.name.clone(),
                Cost {
                    window_usd: window_cost.get(&r.name).copied(),
                    month_to_date_usd: mtd,
                    forecast_usd: forecast,
                    budget_usd: None,
                },
            )
        })
        .collect();
    Ok(SimRun {
        series,
        cost,
        previous_cost: prev_cost,
    })
}

/// The minute from `t` as the model shows it at `t`.
fn sample(t: DateTime<Utc>, m: &crate::fleet::MetricValues) -> Sample {
    let requests = m.requests_per_s.map(|r| r * SAMPLE_S as f64);
    Sample {
        t,
        requests,
        errors: match (requests, m.error_rate) {
            (Some(r), Some(e)) => Some(r * e),
            (Some(_), None) => Some(0.0),
            _ => None,
        },
        latency_ms: m
            .latency_ms
            .iter()
            .filter_map(|(k, v)| v.map(|v| (k.clone(), v)))
            .collect(),
        replica_lag_s: m.replica_lag_s,
        replica_lag_p99_s: None,
        cache_hit_ratio: m.cache_hit_ratio,
    }
}

/// The review's input on the simulated fleet over `from..until` (and the window before it): the
/// seed's weather unless `calm`, plus `injected`, run through the model. `opsdeck report` and the
/// console's week summary both read it from here.
pub fn input(
    fleet: Fleet,
    seed: u64,
    calm: bool,
    injected: Vec<Scheduled>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<super::Input, String> {
    let prev_from = from - (until - from);
    let mut schedule = if calm {
        Vec::new()
    } else {
        weather(&fleet, seed, prev_from, until)
    };
    schedule.extend(injected);
    let run = run(&fleet, seed, prev_from, from, until, &schedule)?;
    let notes = vec![format!(
        "Simulated with seed {}: the model sampled every {} s; incidents run: {}.",
        seed,
        SAMPLE_S,
        if schedule.is_empty() {
            "none".to_string()
        } else {
            schedule
                .iter()
                .filter(|s| s.end > from)
                .map(|s| {
                    format!(
                        "{}@{} {}",
                        s.scenario.name(),
                        s.region,
                        s.start.format("%a %H:%M")
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
    )];
    Ok(super::Input {
        fleet,
        source: crate::fleet::SourceKind::Sim,
        from,
        until,
        series: run.series,
        cost: run.cost,
        previous_cost: run.previous_cost,
        actions: Vec::new(),
        drills: Vec::new(),
        api_calls: BTreeMap::new(),
        api_cost_usd: 0.0,
        notes,
    })
}
