//! What the review is computed from: each region's samples at a fixed step over the previous and
//! the current window (the simulator's model sampled every minute, or CloudWatch's hourly
//! datapoints), and the hours they add up to.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// One period of one region: `t` is its start (CloudWatch's timestamp), the period is the series'
/// `step_s`. A value left out had no data.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sample {
    pub t: DateTime<Utc>,
    /// Requests in the period.
    pub requests: Option<f64>,
    /// Of them answered with a 5xx.
    pub errors: Option<f64>,
    /// Latency statistics in ms by CloudWatch name (p50, p99, Average ...).
    pub latency_ms: BTreeMap<String, f64>,
    /// Replica lag, s: the period's maximum ...
    pub replica_lag_s: Option<f64>,
    /// ... and its p99 when the source has one (CloudWatch); else the hour's p99 is taken from
    /// the samples.
    pub replica_lag_p99_s: Option<f64>,
    pub cache_hit_ratio: Option<f64>,
}

impl Sample {
    pub fn error_rate(&self) -> Option<f64> {
        match (self.requests, self.errors) {
            (Some(r), Some(e)) if r > 0.0 => Some((e / r).clamp(0.0, 1.0)),
            _ => None,
        }
    }
}

/// A region's samples, oldest first, `step_s` apart (gaps allowed).
#[derive(Debug, Clone, PartialEq)]
pub struct RegionSeries {
    pub region: String,
    pub step_s: i64,
    pub samples: Vec<Sample>,
}

impl RegionSeries {
    /// The samples with `from <= t < until`.
    pub fn between(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> &[Sample] {
        let lo = self.samples.partition_point(|s| s.t < from);
        let hi = self.samples.partition_point(|s| s.t < until);
        &self.samples[lo..hi.max(lo)]
    }
}

/// One hour of one region, for the charts, the worst hours and the heatmap.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hour {
    pub hour: DateTime<Utc>,
    pub requests: f64,
    pub requests_per_s: Option<f64>,
    pub error_rate: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub replica_lag_max_s: Option<f64>,
    pub replica_lag_p99_s: Option<f64>,
    pub cache_hit_ratio: Option<f64>,
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn max(v: &[f64]) -> Option<f64> {
    v.iter().copied().reduce(f64::max)
}

/// The `q` quantile (0..1) of `v` by the nearest rank.
pub fn quantile(v: &[f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len());
    Some(s[rank - 1])
}

/// The samples grouped into whole hours (UTC), oldest first. Latency of an hour is the mean of
/// its samples' statistic (one sample per hour from CloudWatch: that hour's statistic).
pub fn hours(samples: &[Sample], step_s: i64) -> Vec<Hour> {
    let mut groups: BTreeMap<DateTime<Utc>, Vec<&Sample>> = BTreeMap::new();
    for s in samples {
        let h =
            s.t.with_minute(0)
                .and_then(|t| t.with_second(0))
                .and_then(|t| t.with_nanosecond(0))
                .unwrap_or(s.t);
        groups.entry(h).or_default().push(s);
    }
    groups
        .into_iter()
        .map(|(hour, group)| {
            let col = |f: &dyn Fn(&Sample) -> Option<f64>| -> Vec<f64> {
                group.iter().filter_map(|s| f(s)).collect()
            };
            let requests: f64 = col(&|s| s.requests).iter().sum();
            let errors: f64 = col(&|s| s.errors).iter().sum();
            let seconds =
                (group.iter().filter(|s| s.requests.is_some()).count() as i64 * step_s) as f64;
            let lag = col(&|s| s.replica_lag_s);
            let lag_p99 = col(&|s| s.replica_lag_p99_s);
            Hour {
                hour,
                requests,
                requests_per_s: (seconds > 0.0).then(|| requests / seconds),
                error_rate: (requests > 0.0).then(|| (errors / requests).clamp(0.0, 1.0)),
                p50_ms: mean(&col(&|s| s.latency_ms.get("p50").copied())),
                p99_ms: mean(&col(&|s| s.latency_ms.get("p99").copied())),
                replica_lag_max_s: max(&lag),
                replica_lag_p99_s: if lag_p99.is_empty() {
                    quantile(&lag, 0.99)
                } else {
                    max(&lag_p99)
                },
                cache_hit_ratio: mean(&col(&|s| s.cache_hit_ratio)),
            }
        })
        .collect()
}

/// 168 cells (Monday 00:00 first): the 5xx share of that hour of the week, averaged by requests
/// when the window holds it more than once.
pub fn week_grid(hours: &[Hour]) -> Vec<Option<f64>> {
    let mut req = vec![0.0; 168];
    let mut bad = vec![0.0; 168];
    for h in hours {
        let i = h.hour.weekday().num_days_from_monday() as usize * 24 + h.hour.hour() as usize;
        if let Some(e) = h.error_rate {
            req[i] += h.requests;
            bad[i] += h.requests * e;
        }
    }
    (0..168)
        .map(|i| (req[i] > 0.0).then(|| bad[i] / req[i]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_764_000_000 + min * 60, 0).unwrap()
    }

    #[test]
    fn samples_add_up_to_hours_by_requests_not_by_rates() {
        let s = |min, req, err, p99| Sample {
            t: at(min),
            requests: Some(req),
            errors: Some(err),
            latency_ms: [("p99".to_string(), p99)].into(),
            replica_lag_s: Some(min as f64),
            ..Sample::default()
        };
        // 100 requests with 50 errors and 900 with none: 5 %, not the 25 % mean of the rates.
        let h = hours(
            &[
                s(0, 100.0, 50.0, 100.0),
                s(30, 900.0, 0.0, 300.0),
                s(60, 60.0, 6.0, 50.0),
            ],
            1800,
        );
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].hour, at(0));
        assert_eq!(h[0].requests, 1000.0);
        assert!((h[0].error_rate.unwrap() - 0.05).abs() < 1e-12);
        assert!((h[0].requests_per_s.unwrap() - 1000.0 / 3600.0).abs() < 1e-12);
        assert_eq!(h[0].p99_ms, Some(200.0));
        assert_eq!(h[0].replica_lag_max_s, Some(30.0));
        assert_eq!(h[1].error_rate, Some(0.1));
        assert_eq!(h[1].p50_ms, None);
    }

    #[test]
    fn the_nearest_rank_quantile() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.99), Some(99.0));
        assert_eq!(quantile(&v, 0.5), Some(50.0));
        assert_eq!(quantile(&[3.0], 0.99), Some(3.0));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
