//! Incidents: threshold breaches merged into episodes by the console's own alert rules. Each
//! sample is judged by `fleet::health::evaluate` (the region's thresholds) and fed to the same
//! `AlertTracker` that writes the console's alert log; an incident runs from a family's change
//! to CRIT until its change below CRIT, with the worst value seen in between.

use super::series::Sample;
use crate::fleet::alerts::AlertTracker;
use crate::fleet::health::{self, Family, HealthInput};
use crate::fleet::{Fleet, MetricValues, Status};
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// error_rate, latency, replica_lag, cache_hit.
    pub metric: Family,
    pub start: DateTime<Utc>,
    /// None: still breaching at the end of the data.
    pub end: Option<DateTime<Utc>>,
    /// The worst value: highest 5xx share, latency (ms) or lag (s), lowest cache hit ratio.
    pub peak: f64,
    /// The console's sentence at the change to CRIT.
    pub message: String,
}

impl Incident {
    pub fn minutes(&self, until: DateTime<Utc>) -> i64 {
        (self.end.unwrap_or(until) - self.start).num_minutes()
    }
}

/// What the console's metrics reading would have held for this sample.
pub fn metric_values(s: &Sample) -> MetricValues {
    MetricValues {
        latency_ms: s
            .latency_ms
            .iter()
            .map(|(k, v)| (k.clone(), Some(*v)))
            .collect(),
        requests_per_s: None,
        error_rate: s.error_rate(),
        replica_lag_s: s.replica_lag_s,
        cache_hit_ratio: s.cache_hit_ratio,
        ..MetricValues::default()
    }
}

fn value(family: Family, fleet: &Fleet, s: &Sample) -> Option<f64> {
    match family {
        Family::Latency => s.latency_ms.get(fleet.threshold_stat()).copied(),
        Family::ErrorRate => s.error_rate(),
        Family::ReplicaLag => s.replica_lag_s,
        Family::CacheHit => s.cache_hit_ratio,
        _ => None,
    }
}

fn worse(family: Family, a: f64, b: f64) -> f64 {
    if family == Family::CacheHit {
        a.min(b)
    } else {
        a.max(b)
    }
}

/// Every incident of `region` in `samples` (oldest first), in the order they started.
pub fn incidents(fleet: &Fleet, region: &str, samples: &[Sample]) -> Vec<Incident> {
    let mut tracker = AlertTracker::default();
    let mut open: Vec<Incident> = Vec::new();
    let mut done: Vec<Incident> = Vec::new();
    for s in samples {
        let metrics = metric_values(s);
        let input = HealthInput {
            metrics: Some(&metrics),
            ..HealthInput::default()
        };
        let (_, breaches) = health::evaluate(fleet, region, input);
        let checked = health::checked(fleet, input);
        for change in tracker.changes(s.t, &breaches, &checked) {
            let at = open.iter().position(|i| i.metric == change.family);
            match (change.level, at) {
                (Status::Crit, None) => open.push(Incident {
                    metric: change.family,
                    start: change.since,
                    end: None,
                    peak: f64::NAN,
                    message: change.message,
                }),
                (Status::Crit, Some(_)) => {}
                (_, Some(i)) => {
                    let mut inc = open.remove(i);
                    inc.end = Some(change.since);
                    done.push(inc);
                }
                (_, None) => {}
            }
        }
        for inc in &mut open {
            if let Some(v) = value(inc.metric, fleet, s) {
                inc.peak = if inc.peak.is_nan() {
                    v
                } else {
                    worse(inc.metric, inc.peak, v)
                };
            }
        }
    }
    done.extend(open);
    // The peak of a closed incident: samples from its start to its end (the tracker logs a
    // recovery a hold after the first good sample, whose values are not the incident's).
    for inc in &mut done {
        let end = inc.end;
        let peak = samples
            .iter()
            .filter(|s| s.t >= inc.start && end.is_none_or(|e| s.t < e))
            .filter_map(|s| value(inc.metric, fleet, s))
            .reduce(|a, b| worse(inc.metric, a, b));
        inc.peak = peak.unwrap_or(inc.peak);
    }
    done.sort_by_key(|i| (i.start, i.metric));
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn fleet() -> Fleet {
        Fleet::builtin()
    }

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn minute(i: i64, error_rate: f64, p99: f64) -> Sample {
        Sample {
            t: t0() + Duration::minutes(i),
            requests: Some(1000.0),
            errors: Some(1000.0 * error_rate),
            latency_ms: [("p50".to_string(), 40.0), ("p99".to_string(), p99)].into(),
            replica_lag_s: Some(1.0),
            cache_hit_ratio: Some(0.93),
            ..Sample::default()
        }
    }

    #[test]
    fn a_breach_is_one_episode_with_its_start_end_and_peak() {
        // atlas-crm: 5xx crit above 5 %. Minutes 10..30 at 20 % (one at 26 %), a one-minute
        // dip to 1 % at minute 20 (under the 60 s hold: not a recovery), quiet after.
        let s: Vec<Sample> = (0..60)
            .map(|i| {
                let e = match i {
                    20 => 0.01,
                    25 => 0.26,
                    10..30 => 0.20,
                    _ => 0.002,
                };
                minute(i, e, 120.0)
            })
            .collect();
        let inc = incidents(&fleet(), "eu-west-1", &s);
        assert_eq!(inc.len(), 1, "{inc:?}");
        let i = &inc[0];
        assert_eq!(i.metric, Family::ErrorRate);
        assert_eq!(i.start, t0() + Duration::minutes(10));
        // Below crit from minute 30, logged once it has held 60 s: the change's time is 30.
        assert_eq!(i.end, Some(t0() + Duration::minutes(30)));
        assert!((i.peak - 0.26).abs() < 1e-12, "{}", i.peak);
        assert!(i.message.contains("5xx rate"), "{}", i.message);
    }

    #[test]
    fn hourly_samples_give_hour_bounds_and_an_open_incident_has_no_end() {
        let s: Vec<Sample> = (0..5)
            .map(|h| {
                let mut m = minute(h * 60, 0.002, if h >= 3 { 480.0 } else { 100.0 });
                m.t = t0() + Duration::hours(h);
                m
            })
            .collect();
        let inc = incidents(&fleet(), "us-east-1", &s);
        assert_eq!(inc.len(), 1, "{inc:?}");
        assert_eq!(inc[0].metric, Family::Latency);
        assert_eq!(inc[0].start, t0() + Duration::hours(3));
        assert_eq!(inc[0].end, None);
        assert_eq!(inc[0].peak, 480.0);
    }

    #[test]
    fn a_warning_is_not_an_incident() {
        // 4.5 % is over the 4 % warn line, under the 5 % crit line.
        let s: Vec<Sample> = (0..30).map(|i| minute(i, 0.045, 170.0)).collect();
        assert!(incidents(&fleet(), "eu-west-1", &s).is_empty());
    }
}
