//! SLO arithmetic over samples: availability is request-weighted (bad requests over all requests,
//! never a mean of hourly rates), the error budget is what the target allows of the window's
//! requests, a burn rate is a window's error rate over the budget's rate (the SRE workbook's
//! 14.4x over 1 h, 6x over 6 h alert), latency attainment is the share of time the statistic
//! stays at or under its limit.

use super::series::Sample;
use crate::fleet::slo::Slo;
use serde::Serialize;

/// Budget status in Application Signals' words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum BudgetStatus {
    Ok,
    Warning,
    Breached,
}

/// Budget consumed beyond this share is a warning.
pub const WARNING_CONSUMED: f64 = 0.75;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Availability {
    pub target: f64,
    /// 1 − bad / all; None without requests.
    pub attained: Option<f64>,
    pub requests: f64,
    pub bad_requests: f64,
    /// Bad requests the target allows in the window: (1 − target) × requests.
    pub budget_requests: f64,
    /// Share of the budget spent, 0.. (over 1: breached).
    pub budget_consumed: Option<f64>,
    /// 1 − consumed (negative when breached).
    pub budget_remaining: Option<f64>,
    pub status: Option<BudgetStatus>,
}

pub fn availability(samples: &[Sample], target: f64) -> Availability {
    let (mut requests, mut bad) = (0.0, 0.0);
    for s in samples {
        if let (Some(r), Some(e)) = (s.requests, s.errors) {
            requests += r.max(0.0);
            bad += e.clamp(0.0, r.max(0.0));
        }
    }
    let budget_requests = (1.0 - target) * requests;
    let consumed = (requests > 0.0).then(|| bad / budget_requests);
    Availability {
        target,
        attained: (requests > 0.0).then(|| 1.0 - bad / requests),
        requests,
        bad_requests: bad,
        budget_requests,
        budget_consumed: consumed,
        budget_remaining: consumed.map(|c| 1.0 - c),
        status: consumed.map(|c| {
            if c > 1.0 {
                BudgetStatus::Breached
            } else if c > WARNING_CONSUMED {
                BudgetStatus::Warning
            } else {
                BudgetStatus::Ok
            }
        }),
    }
}

/// The highest burn rate of any window of `window_s` (sliding by one sample) within `samples`,
/// `step_s` apart: (errors ÷ requests in the window) ÷ (1 − target). A series shorter than one
/// window is one window. None without requests.
pub fn worst_burn_rate(samples: &[Sample], step_s: i64, window_s: i64, target: f64) -> Option<f64> {
    let n =
        ((window_s as f64 / step_s.max(1) as f64).ceil() as usize).clamp(1, samples.len().max(1));
    let pairs: Vec<(f64, f64)> = samples
        .iter()
        .map(|s| match (s.requests, s.errors) {
            (Some(r), Some(e)) => (r.max(0.0), e.clamp(0.0, r.max(0.0))),
            _ => (0.0, 0.0),
        })
        .collect();
    let (mut req, mut err) = (0.0, 0.0);
    let mut worst: Option<f64> = None;
    for i in 0..pairs.len() {
        req += pairs[i].0;
        err += pairs[i].1;
        if i >= n {
            req -= pairs[i - n].0;
            err -= pairs[i - n].1;
        }
        if i + 1 >= n && req > 0.0 {
            let rate = (err / req).max(0.0) / (1.0 - target);
            worst = Some(worst.map_or(rate, |w: f64| w.max(rate)));
        }
    }
    worst
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latency {
    pub stat: String,
    pub threshold_ms: f64,
    pub target: f64,
    /// Share of the samples with the statistic at or under the threshold; None without data.
    pub attained: Option<f64>,
    /// Samples with data, and of them over the threshold.
    pub samples: usize,
    pub samples_over: usize,
}

pub fn latency(samples: &[Sample], slo: &Slo) -> Latency {
    let values: Vec<f64> = samples
        .iter()
        .filter_map(|s| s.latency_ms.get(&slo.latency_stat).copied())
        .filter(|v| v.is_finite())
        .collect();
    let over = values.iter().filter(|v| **v > slo.latency_ms).count();
    Latency {
        stat: slo.latency_stat.clone(),
        threshold_ms: slo.latency_ms,
        target: slo.latency_target,
        attained: (!values.is_empty()).then(|| 1.0 - over as f64 / values.len() as f64),
        samples: values.len(),
        samples_over: over,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use proptest::prelude::*;

    fn sample(i: i64, requests: f64, errors: f64, p99: f64) -> Sample {
        Sample {
            t: DateTime::from_timestamp(1_764_000_000 + i * 3600, 0).unwrap(),
            requests: Some(requests),
            errors: Some(errors),
            latency_ms: [("p99".to_string(), p99)].into(),
            ..Sample::default()
        }
    }

    #[test]
    fn availability_weighs_requests_and_spends_the_budget() {
        // 9 quiet hours of 1,000 requests with 0 errors, one of 10,000 with 15:
        // 15 bad of 19,000 → 0.999210...; budget 19 → 15/19 consumed → WARNING.
        let mut s: Vec<Sample> = (0..9).map(|i| sample(i, 1000.0, 0.0, 100.0)).collect();
        s.push(sample(9, 10_000.0, 15.0, 100.0));
        let a = availability(&s, 0.999);
        assert!((a.attained.unwrap() - (1.0 - 15.0 / 19_000.0)).abs() < 1e-12);
        assert!((a.budget_requests - 19.0).abs() < 1e-9);
        assert!((a.budget_consumed.unwrap() - 15.0 / 19.0).abs() < 1e-9);
        assert!((a.budget_remaining.unwrap() - 4.0 / 19.0).abs() < 1e-9);
        assert_eq!(a.status, Some(BudgetStatus::Warning));
        // The mean of the hourly rates would say 0.99985: not what is reported.
        assert!(a.attained.unwrap() < 0.9993);
        s.push(sample(10, 1000.0, 10.0, 100.0));
        assert_eq!(availability(&s, 0.999).status, Some(BudgetStatus::Breached));
        assert_eq!(availability(&[], 0.999).attained, None);
    }

    #[test]
    fn burn_rates_over_one_and_six_hour_windows() {
        // Hourly samples, 1,000 requests each; hour 3 has 50 errors (5 % = 50x a 0.1 % budget).
        let s: Vec<Sample> = (0..12)
            .map(|i| sample(i, 1000.0, if i == 3 { 50.0 } else { 1.0 }, 100.0))
            .collect();
        let one = worst_burn_rate(&s, 3600, 3600, 0.999).unwrap();
        assert!((one - 50.0).abs() < 1e-9, "{one}");
        // Six hours holding hour 3: (50 + 5) / 6000 / 0.001.
        let six = worst_burn_rate(&s, 3600, 6 * 3600, 0.999).unwrap();
        assert!((six - 55.0 / 6000.0 / 0.001).abs() < 1e-9, "{six}");
        // Minute samples: a 1 h window is 60 of them.
        let m: Vec<Sample> = (0..120)
            .map(|i| sample(i, 10.0, if (30..40).contains(&i) { 1.0 } else { 0.0 }, 1.0))
            .collect();
        let one = worst_burn_rate(&m, 60, 3600, 0.99).unwrap();
        assert!((one - 10.0 / 600.0 / 0.01).abs() < 1e-9, "{one}");
    }

    #[test]
    fn latency_attainment_is_the_share_of_time_under_the_limit() {
        let slo = Slo::default(); // p99 ≤ 200 ms
        let s: Vec<Sample> = (0..10)
            .map(|i| sample(i, 1.0, 0.0, if i < 2 { 250.0 } else { 200.0 }))
            .collect();
        let l = latency(&s, &slo);
        assert_eq!((l.samples, l.samples_over), (10, 2));
        assert_eq!(l.attained, Some(0.8));
        let avg = Slo {
            latency_stat: "Average".into(),
            ..Slo::default()
        };
        assert_eq!(latency(&s, &avg).attained, None);
    }

    proptest! {
        #[test]
        fn attainment_and_budget_stay_in_bounds(
            hours in prop::collection::vec((0.0f64..1e6, 0.0f64..1.0, 0.0f64..1e4), 1..50),
            target in 0.5f64..0.99999,
        ) {
            let s: Vec<Sample> = hours
                .iter()
                .enumerate()
                .map(|(i, (r, share, p99))| sample(i as i64, *r, r * share, *p99))
                .collect();
            let a = availability(&s, target);
            if let Some(att) = a.attained {
                prop_assert!((0.0..=1.0).contains(&att));
                prop_assert!(a.budget_consumed.unwrap() >= 0.0);
                prop_assert!(a.budget_remaining.unwrap() <= 1.0);
                // Every window's rate is bounded by the worst single hour's and at least the mean.
                let burn = worst_burn_rate(&s, 3600, 3600, target).unwrap();
                let six = worst_burn_rate(&s, 3600, 6 * 3600, target).unwrap();
                prop_assert!(six <= burn + 1e-9);
                prop_assert!(burn * (1.0 - target) <= 1.0 + 1e-9);
            }
            let l = latency(&s, &Slo::default());
            let att = l.attained.unwrap();
            prop_assert!((0.0..=1.0).contains(&att));
        }
    }
}
