//! The region detail view's 7-day window (issue 13 §6): one region's hourly series over the
//! seven days that end at the console's clock, read as the review reads them — on the simulated
//! fleet the model over the window (the seed's weather and any scheduled incidents), against AWS
//! one `GetMetricData` request for the region at a 1 h period. An hour without data stays a gap
//! in every series (never a zero), so the chart breaks its line there.

use super::series::{self, Sample};
use super::{aws, sim, WeekSource};
use crate::fleet::series::Series;
use crate::fleet::{Fleet, SourceKind};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

/// Hours in the window.
pub const HOURS: i64 = 7 * 24;

/// One region's week, hour by hour: each series holds one point per hour at the hour's start,
/// a gap (NaN) where the hour had no data.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionWeek {
    pub region: String,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// The console's clock when the read was asked for.
    pub read_at: DateTime<Utc>,
    pub source: SourceKind,
    /// Latency in ms by statistic (`metrics.latency_stats`), the hour's mean.
    pub latency_ms: BTreeMap<String, Series>,
    pub requests_per_s: Series,
    /// The hour's 5xx share of its requests.
    pub error_rate: Series,
    /// The hour's highest replica lag, s.
    pub replica_lag_s: Series,
    pub cache_hit_ratio: Series,
    /// Hours of the window without request data.
    pub hours_without_data: usize,
    /// GetMetricData requests (pages) the read made; none on the simulated fleet.
    pub get_metric_data_calls: u64,
}

fn hourly() -> Series {
    Series::new(HOURS as usize + 1, 1)
}

fn put(s: &mut Series, t: i64, v: Option<f64>) {
    match v {
        Some(v) if v.is_finite() => s.push(t, v),
        _ => s.push_gap(t),
    }
}

impl RegionWeek {
    /// The hours of `from..until` (whole hours) from `samples` (`step_s` apart): requests and
    /// 5xx added up by requests (as the review does), latency the mean of the hour's samples.
    #[allow(clippy::too_many_arguments)]
    pub fn from_samples(
        fleet: &Fleet,
        region: &str,
        samples: &[Sample],
        step_s: i64,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        read_at: DateTime<Utc>,
        source: SourceKind,
        get_metric_data_calls: u64,
    ) -> Self {
        let inside: Vec<Sample> = samples
            .iter()
            .filter(|s| s.t >= from && s.t < until)
            .cloned()
            .collect();
        let hours: BTreeMap<i64, series::Hour> = series::hours(&inside, step_s)
            .into_iter()
            .map(|h| (h.hour.timestamp(), h))
            .collect();
        let stats = &fleet.metrics.latency_stats;
        let mut latency: BTreeMap<i64, BTreeMap<&str, Vec<f64>>> = BTreeMap::new();
        for s in &inside {
            let h = s.t.timestamp() - s.t.timestamp().rem_euclid(3600);
            for stat in stats {
                if let Some(v) = s.latency_ms.get(stat) {
                    latency
                        .entry(h)
                        .or_default()
                        .entry(stat)
                        .or_default()
                        .push(*v);
                }
            }
        }
        let mut out = RegionWeek {
            region: region.to_string(),
            from,
            until,
            read_at,
            source,
            latency_ms: stats.iter().map(|s| (s.clone(), hourly())).collect(),
            requests_per_s: hourly(),
            error_rate: hourly(),
            replica_lag_s: hourly(),
            cache_hit_ratio: hourly(),
            hours_without_data: 0,
            get_metric_data_calls,
        };
        let mut t = from;
        while t < until {
            let ts = t.timestamp();
            let h = hours.get(&ts);
            let rps = h.and_then(|h| h.requests_per_s);
            if rps.is_none() {
                out.hours_without_data += 1;
            }
            put(&mut out.requests_per_s, ts, rps);
            put(&mut out.error_rate, ts, h.and_then(|h| h.error_rate));
            put(
                &mut out.replica_lag_s,
                ts,
                h.and_then(|h| h.replica_lag_max_s),
            );
            put(
                &mut out.cache_hit_ratio,
                ts,
                h.and_then(|h| h.cache_hit_ratio),
            );
            for (stat, s) in out.latency_ms.iter_mut() {
                let v = latency.get(&ts).and_then(|m| m.get(stat.as_str()));
                put(
                    s,
                    ts,
                    v.map(|v| v.iter().sum::<f64>() / v.len().max(1) as f64),
                );
            }
            t += Duration::hours(1);
        }
        out
    }
}

/// The week of `region` that ends at `now` (rounded down to the hour, as the review's window).
/// On the simulated fleet the model runs over the window once for the whole fleet (a second or
/// two: it runs on a blocking thread) and every region's week comes back; against AWS the one
/// region's, from one GetMetricData request (and its pages, if CloudWatch pages the answer).
/// `injected` adds incidents to the model's schedule (the simulated fleet only).
pub async fn read(
    fleet: Fleet,
    source: WeekSource,
    region: String,
    now: DateTime<Utc>,
    injected: Vec<sim::Scheduled>,
) -> Result<Vec<RegionWeek>, String> {
    let (from, until) = super::window(now, HOURS * 3600);
    match source {
        WeekSource::Sim { seed } => tokio::task::spawn_blocking(move || {
            let mut schedule = sim::weather(&fleet, seed, from, until);
            schedule.extend(injected);
            let run = sim::run(&fleet, seed, from, from, until, &schedule)?;
            Ok(run
                .series
                .iter()
                .map(|s| {
                    RegionWeek::from_samples(
                        &fleet,
                        &s.region,
                        &s.samples,
                        s.step_s,
                        from,
                        until,
                        now,
                        SourceKind::Sim,
                        0,
                    )
                })
                .collect())
        })
        .await
        .map_err(|e| format!("the model stopped: {e}"))?,
        WeekSource::Aws(options) => {
            let spec = fleet
                .regions
                .iter()
                .find(|r| r.name == region)
                .ok_or_else(|| format!("{region} is not in fleet {}", fleet.name))?;
            let config =
                crate::source::aws::clients::load_config(&options, fleet.refresh.timeout_s)
                    .await
                    .map_err(|e| e.to_string())?;
            let clients = crate::source::aws::clients::RegionClients::new(&config, &region);
            let (pts, pages, _) =
                aws::read_points(&clients.cloudwatch, &fleet, spec, from, until).await?;
            let mut samples = aws::samples(&fleet, spec, &pts, from, until);
            if spec.alb.is_some() {
                for s in &mut samples {
                    if !aws::has_requests(&pts, s.t) {
                        s.requests = None;
                        s.errors = None;
                    }
                }
            }
            Ok(vec![RegionWeek::from_samples(
                &fleet,
                &region,
                &samples,
                aws::PERIOD_S,
                from,
                until,
                now,
                SourceKind::Aws,
                pages,
            )])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_764_000_000 + h * 3600, 0).unwrap()
    }

    #[test]
    fn an_hour_without_data_is_a_gap_not_a_zero() {
        let fleet = Fleet::builtin();
        let stat = fleet.metrics.latency_stats.last().unwrap().clone();
        let samples: Vec<Sample> = (0..HOURS)
            .filter(|h| !(48..72).contains(h))
            .map(|h| Sample {
                t: at(h),
                requests: Some(3600.0),
                errors: Some(36.0),
                latency_ms: [(stat.clone(), 120.0)].into(),
                replica_lag_s: Some(2.0),
                ..Sample::default()
            })
            .collect();
        let w = RegionWeek::from_samples(
            &fleet,
            "eu-west-1",
            &samples,
            3600,
            at(0),
            at(HOURS),
            at(HOURS),
            SourceKind::Sim,
            0,
        );
        assert_eq!(w.hours_without_data, 24);
        for s in [
            &w.requests_per_s,
            &w.error_rate,
            &w.replica_lag_s,
            &w.latency_ms[&stat],
        ] {
            let pts: Vec<(i64, f64)> = s.iter().copied().collect();
            assert_eq!(pts.len(), HOURS as usize);
            for (i, (t, v)) in pts.iter().enumerate() {
                assert_eq!(*t, at(i as i64).timestamp());
                assert_eq!(v.is_nan(), (48..72).contains(&(i as i64)), "hour {i}: {v}");
            }
        }
        assert_eq!(w.requests_per_s.last().map(|p| p.1), Some(1.0));
        assert_eq!(w.error_rate.last().map(|p| p.1), Some(0.01));
        // No cache in the samples at all: every hour a gap.
        assert!(w.cache_hit_ratio.iter().all(|p| p.1.is_nan()));
    }
}
