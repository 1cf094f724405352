//! The weekly ops review (issue 13): per region and for the fleet, SLO attainment against target,
//! error budget consumed and remaining, the worst burn rates over 1 h and 6 h, latency attainment,
//! incidents (by the console's alert rules), the worst hours, actions from the audit log, drills,
//! cost against budget, and every headline number beside the previous window's. Computed from
//! samples ([`series`]) that the simulator ([`sim`]) or AWS (`source::aws::report_reads`) give;
//! written as Markdown, self-contained HTML or JSON ([`render`]).

pub mod actions;
pub mod attain;
pub mod aws;
pub mod charts;
pub mod drills;
pub mod incidents;
pub mod region_week;
pub mod render;
pub mod series;
pub mod sim;

use crate::fleet::{Fleet, SourceKind};
use attain::{Availability, Latency};
use chrono::{DateTime, Duration, Utc};
use incidents::Incident;
use serde::Serialize;
use series::{Hour, RegionSeries};
use std::collections::BTreeMap;

/// How many worst hours each region lists.
pub const WORST_HOURS: usize = 5;

/// Cost of one region as its source reports it.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Cost {
    pub window_usd: Option<f64>,
    pub month_to_date_usd: Option<f64>,
    pub forecast_usd: Option<f64>,
    pub budget_usd: Option<f64>,
}

impl Cost {
    /// The forecast over the budget.
    pub fn over_budget(&self) -> Option<bool> {
        Some(self.forecast_usd? > self.budget_usd?)
    }
}

/// Everything the review is computed from.
#[derive(Debug, Clone)]
pub struct Input {
    pub fleet: Fleet,
    pub source: SourceKind,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Each region's samples over the previous window and this one.
    pub series: Vec<RegionSeries>,
    /// Cost per region for this window (budget filled in here from the fleet file).
    pub cost: BTreeMap<String, Cost>,
    /// Cost per region over the previous window.
    pub previous_cost: BTreeMap<String, f64>,
    pub actions: Vec<actions::Action>,
    pub drills: Vec<drills::Drill>,
    /// Calls made to read the data, by API name (AWS); none on the simulated fleet.
    pub api_calls: BTreeMap<String, u64>,
    /// What the calls cost, USD.
    pub api_cost_usd: f64,
    /// Said in the footer: where the data came from, what was left out.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SloOut {
    pub availability: f64,
    pub latency_ms: f64,
    pub latency_stat: String,
    pub latency_target: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_usd: Option<f64>,
}

impl From<&crate::fleet::slo::Slo> for SloOut {
    fn from(s: &crate::fleet::slo::Slo) -> Self {
        SloOut {
            availability: s.availability,
            latency_ms: s.latency_ms,
            latency_stat: s.latency_stat.clone(),
            latency_target: s.latency_target,
            budget_usd: s.budget_usd,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BurnRates {
    #[serde(rename = "1h")]
    pub one_hour: Option<f64>,
    #[serde(rename = "6h")]
    pub six_hours: Option<f64>,
}

/// The numbers a review compares week over week.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Headline {
    pub availability: Option<f64>,
    pub budget_remaining: Option<f64>,
    pub latency: Option<f64>,
    pub incidents: usize,
    pub cost_window_usd: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorstHour {
    pub hour: DateTime<Utc>,
    pub error_rate: Option<f64>,
    pub p99_ms: Option<f64>,
    pub requests: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionReport {
    pub name: String,
    pub slo: SloOut,
    pub availability: Availability,
    pub latency: Latency,
    pub burn_rate_max: BurnRates,
    pub incidents: Vec<Incident>,
    pub worst_hours: Vec<WorstHour>,
    pub cost: Cost,
    pub previous: Headline,
    /// The window hour by hour: the charts and the heatmap.
    pub hourly: Vec<Hour>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiCalls {
    #[serde(flatten)]
    pub calls: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub fleet: String,
    pub source: SourceKind,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub slo: SloOut,
    /// The fleet as a whole: every region's requests together.
    pub overall: Headline,
    pub overall_cost: Cost,
    pub regions: Vec<RegionReport>,
    pub actions: Vec<actions::Action>,
    pub drills: Vec<drills::Drill>,
    pub previous: Headline,
    pub api_calls: BTreeMap<String, u64>,
    pub api_cost_usd: f64,
    pub notes: Vec<String>,
}

fn sum_opt(v: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    v.fold(None, |acc, x| match (acc, x) {
        (a, None) => a,
        (None, Some(x)) => Some(x),
        (Some(a), Some(x)) => Some(a + x),
    })
}

/// Worst hours first: the highest 5xx share, then the slowest p99; hours without requests are
/// left out.
fn worst_hours(hours: &[Hour]) -> Vec<WorstHour> {
    let mut v: Vec<&Hour> = hours.iter().filter(|h| h.requests > 0.0).collect();
    v.sort_by(|a, b| {
        let key = |h: &Hour| (h.error_rate.unwrap_or(0.0), h.p99_ms.unwrap_or(0.0));
        let (ka, kb) = (key(a), key(b));
        kb.0.total_cmp(&ka.0)
            .then(kb.1.total_cmp(&ka.1))
            .then(a.hour.cmp(&b.hour))
    });
    v.into_iter()
        .take(WORST_HOURS)
        .map(|h| WorstHour {
            hour: h.hour,
            error_rate: h.error_rate,
            p99_ms: h.p99_ms,
            requests: h.requests,
        })
        .collect()
}

/// The previous window's headline of one region.
fn headline(
    fleet: &Fleet,
    series: &RegionSeries,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    cost: Option<f64>,
) -> Headline {
    let slo = fleet.slo_for(&series.region);
    let s = series.between(from, until);
    let a = attain::availability(s, slo.availability);
    let all = series.between(from - (until - from), until);
    Headline {
        availability: a.attained,
        budget_remaining: a.budget_remaining,
        latency: attain::latency(s, &slo).attained,
        incidents: count_in(
            &incidents::incidents(fleet, &series.region, all),
            from,
            until,
        ),
        cost_window_usd: cost,
    }
}

/// Incidents that overlap `from..until`.
fn in_window(all: Vec<Incident>, from: DateTime<Utc>, until: DateTime<Utc>) -> Vec<Incident> {
    all.into_iter()
        .filter(|i| i.start < until && i.end.is_none_or(|e| e > from))
        .collect()
}

fn count_in(all: &[Incident], from: DateTime<Utc>, until: DateTime<Utc>) -> usize {
    in_window(all.to_vec(), from, until).len()
}

/// The fleet's headline over `from..until`: every region's requests together; latency weighted
/// by each region's requests.
fn fleet_headline(
    fleet: &Fleet,
    series: &[RegionSeries],
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    incidents: usize,
    cost: Option<f64>,
) -> Headline {
    let samples: Vec<series::Sample> = series
        .iter()
        .flat_map(|s| s.between(from, until).iter().cloned())
        .collect();
    let a = attain::availability(&samples, fleet.slo.availability);
    let (mut weighted, mut weight) = (0.0, 0.0);
    for s in series {
        let part = s.between(from, until);
        let l = attain::latency(part, &fleet.slo_for(&s.region));
        let r = attain::availability(part, 0.5).requests;
        if let Some(v) = l.attained {
            weighted += v * r.max(1.0);
            weight += r.max(1.0);
        }
    }
    Headline {
        availability: a.attained,
        budget_remaining: a.budget_remaining,
        latency: (weight > 0.0).then(|| weighted / weight),
        incidents,
        cost_window_usd: cost,
    }
}

pub fn compute(input: &Input) -> Report {
    let fleet = &input.fleet;
    let (from, until) = (input.from, input.until);
    let length = until - from;
    let prev_from = from - length;
    let mut regions = Vec::new();
    for spec in &fleet.regions {
        let empty = RegionSeries {
            region: spec.name.clone(),
            step_s: 3600,
            samples: Vec::new(),
        };
        let series = input
            .series
            .iter()
            .find(|s| s.region == spec.name)
            .unwrap_or(&empty);
        let slo = fleet.slo_for(&spec.name);
        let window = series.between(from, until);
        let all = series.between(prev_from, until);
        let hourly = series::hours(window, series.step_s);
        let mut cost = input.cost.get(&spec.name).copied().unwrap_or_default();
        cost.budget_usd = fleet.budget_for(&spec.name);
        regions.push(RegionReport {
            name: spec.name.clone(),
            slo: (&slo).into(),
            availability: attain::availability(window, slo.availability),
            latency: attain::latency(window, &slo),
            burn_rate_max: BurnRates {
                one_hour: attain::worst_burn_rate(window, series.step_s, 3600, slo.availability),
                six_hours: attain::worst_burn_rate(
                    window,
                    series.step_s,
                    6 * 3600,
                    slo.availability,
                ),
            },
            incidents: in_window(incidents::incidents(fleet, &spec.name, all), from, until),
            worst_hours: worst_hours(&hourly),
            cost,
            previous: headline(
                fleet,
                series,
                prev_from,
                from,
                input.previous_cost.get(&spec.name).copied(),
            ),
            hourly,
        });
    }
    // Least budget left first (Pyrra's and Sloth's order); a region without data last.
    regions.sort_by(|a, b| {
        let key = |r: &RegionReport| r.availability.budget_remaining.unwrap_or(f64::INFINITY);
        key(a).total_cmp(&key(b)).then(a.name.cmp(&b.name))
    });
    let incidents_now = regions.iter().map(|r| r.incidents.len()).sum();
    let incidents_before = regions.iter().map(|r| r.previous.incidents).sum();
    let overall_cost = Cost {
        window_usd: sum_opt(regions.iter().map(|r| r.cost.window_usd)),
        month_to_date_usd: sum_opt(regions.iter().map(|r| r.cost.month_to_date_usd)),
        forecast_usd: sum_opt(regions.iter().map(|r| r.cost.forecast_usd)),
        budget_usd: fleet.fleet_budget(),
    };
    let previous_cost = sum_opt(
        fleet
            .regions
            .iter()
            .map(|r| input.previous_cost.get(&r.name).copied()),
    );
    Report {
        fleet: fleet.name.clone(),
        source: input.source,
        from,
        until,
        slo: (&fleet.slo).into(),
        overall: fleet_headline(
            fleet,
            &input.series,
            from,
            until,
            incidents_now,
            overall_cost.window_usd,
        ),
        overall_cost,
        regions,
        actions: input
            .actions
            .iter()
            .filter(|a| a.time >= from && a.time < until)
            .cloned()
            .collect(),
        drills: input
            .drills
            .iter()
            .filter(|d| d.start >= from && d.start < until)
            .cloned()
            .collect(),
        previous: fleet_headline(
            fleet,
            &input.series,
            prev_from,
            from,
            incidents_before,
            previous_cost,
        ),
        api_calls: input.api_calls.clone(),
        api_cost_usd: input.api_cost_usd,
        notes: input.notes.clone(),
    }
}

/// The window `--since` long that ends at `until`, both on whole hours (the hour `until` falls in
/// is left out until it is over): hourly datapoints and buckets line up with it.
pub fn window(until: DateTime<Utc>, since_s: i64) -> (DateTime<Utc>, DateTime<Utc>) {
    let end = DateTime::from_timestamp(until.timestamp() - until.timestamp().rem_euclid(3600), 0)
        .unwrap_or(until);
    let hours = (since_s.max(3600) + 3599) / 3600;
    (end - Duration::hours(hours), end)
}

/// Where the console's week summary reads its review from.
#[derive(Debug, Clone)]
pub enum WeekSource {
    /// The model over the window on the virtual clock, with this seed and its weather.
    Sim { seed: u64 },
    /// CloudWatch (one GetMetricData per region) and Cost Explorer.
    Aws(crate::source::aws::AwsOptions),
}

/// The seven days that end at `until` (rounded down to the hour), computed as `opsdeck report
/// --since 7d --until UNTIL` computes them (without the audit log's actions and drills). On the
/// simulated fleet the model runs for a few seconds: call it off the UI thread.
pub async fn week(
    fleet: Fleet,
    source: WeekSource,
    until: DateTime<Utc>,
) -> Result<Report, String> {
    let (from, until) = window(until, 7 * 86_400);
    let input = match source {
        WeekSource::Sim { seed } => tokio::task::spawn_blocking(move || {
            sim::input(fleet, seed, false, Vec::new(), from, until)
        })
        .await
        .map_err(|e| format!("the model stopped: {e}"))??,
        WeekSource::Aws(options) => aws::input(fleet, &options, from, until).await?,
    };
    Ok(compute(&input))
}
