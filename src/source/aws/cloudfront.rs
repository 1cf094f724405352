//! CloudFront in us-east-1's one `GetMetricData` call: `AWS/CloudFront` with the dimensions
//! `DistributionId` and `Region = Global`. CloudFront reports its rates in percent; they become
//! ratios 0..1 here. `CacheHitRate` is an additional metric (paid, off by default): requests with
//! no `CacheHitRate` mean it is not enabled, which is said, never shown as 0.

use super::cw_query::{latest, points, query_dims};
use crate::fleet::cdn::CdnValues;
use crate::fleet::MetricsConfig;
use aws_sdk_cloudwatch::types::{MetricDataQuery, MetricDataResult};

const NAMESPACE: &str = "AWS/CloudFront";
/// Query ids (CloudWatch wants `^[a-z][a-zA-Z0-9_]*$`).
const REQUESTS: &str = "cfrequests";
const HIT_RATE: &str = "cfhitrate";
const RATE_5XX: &str = "cf5xxrate";
const RATE_4XX: &str = "cf4xxrate";

/// The distribution's queries, to go into us-east-1's call.
pub fn queries(distribution: &str, cfg: &MetricsConfig) -> Vec<MetricDataQuery> {
    let period = cfg.period_s.max(1) as i32;
    let dims = [("DistributionId", distribution), ("Region", "Global")];
    [
        (REQUESTS, "Requests", "Sum"),
        (HIT_RATE, "CacheHitRate", "Average"),
        (RATE_5XX, "5xxErrorRate", "Average"),
        (RATE_4XX, "4xxErrorRate", "Average"),
    ]
    .into_iter()
    .map(|(id, metric, stat)| query_dims(id, NAMESPACE, metric, &dims, stat, period))
    .collect()
}

/// The distribution's values from the call's results (the other queries' results are ignored).
pub fn interpret(
    distribution: &str,
    cfg: &MetricsConfig,
    results: &[MetricDataResult],
) -> CdnValues {
    let pts = points(results);
    let get = |id: &str| latest(pts.get(id)).map(|(_, v)| v);
    let ratio = |id: &str| get(id).map(|pct| (pct / 100.0).clamp(0.0, 1.0));
    let served = pts
        .get(REQUESTS)
        .is_some_and(|p| p.values().any(|n| *n > 0.0));
    let cache_hit_ratio = ratio(HIT_RATE);
    CdnValues {
        distribution: distribution.to_string(),
        requests_per_s: Some(get(REQUESTS).unwrap_or(0.0) / f64::from(cfg.period_s.max(1))),
        cache_hit_ratio,
        error_rate: ratio(RATE_5XX),
        error_rate_4xx: ratio(RATE_4XX),
        additional_metrics_off: served && cache_hit_ratio.is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, pts: &[(i64, f64)]) -> MetricDataResult {
        let mut b = MetricDataResult::builder().id(id);
        for (t, v) in pts {
            b = b
                .timestamps(aws_smithy_types::DateTime::from_secs(*t))
                .values(*v);
        }
        b.build()
    }

    fn cfg() -> MetricsConfig {
        MetricsConfig {
            latency_stats: vec!["p99".into()],
            period_s: 60,
        }
    }

    #[test]
    fn four_queries_with_both_dimensions() {
        let q = queries("E2QWRUHEXAMPLE", &cfg());
        let ids: Vec<&str> = q.iter().filter_map(|q| q.id()).collect();
        assert_eq!(ids, [REQUESTS, HIT_RATE, RATE_5XX, RATE_4XX]);
        for query in &q {
            let m = query.metric_stat().and_then(|s| s.metric()).unwrap();
            assert_eq!(m.namespace(), Some(NAMESPACE));
            let dims: Vec<(&str, &str)> = m
                .dimensions()
                .iter()
                .map(|d| (d.name().unwrap(), d.value().unwrap()))
                .collect();
            assert_eq!(
                dims,
                [("DistributionId", "E2QWRUHEXAMPLE"), ("Region", "Global")]
            );
        }
    }

    #[test]
    fn percentages_become_ratios_from_the_latest_period() {
        let r = [
            result(REQUESTS, &[(120, 1200.0), (60, 600.0)]),
            result(HIT_RATE, &[(120, 87.5), (60, 10.0)]),
            result(RATE_5XX, &[(120, 0.4)]),
            result(RATE_4XX, &[(120, 2.0)]),
        ];
        let v = interpret("E2QWRUHEXAMPLE", &cfg(), &r);
        assert_eq!(v.requests_per_s, Some(20.0));
        assert_eq!(v.cache_hit_ratio, Some(0.875));
        assert_eq!(v.error_rate, Some(0.004));
        assert_eq!(v.error_rate_4xx, Some(0.02));
        assert!(!v.additional_metrics_off);
    }

    #[test]
    fn requests_without_a_hit_rate_mean_the_additional_metrics_are_off() {
        let r = [
            result(REQUESTS, &[(120, 1200.0)]),
            result(RATE_5XX, &[(120, 0.0)]),
        ];
        let v = interpret("E2QWRUHEXAMPLE", &cfg(), &r);
        assert_eq!(v.cache_hit_ratio, None);
        assert!(v.additional_metrics_off);
        // Nothing at all: no requests, which is not the same thing.
        let v = interpret("E2QWRUHEXAMPLE", &cfg(), &[]);
        assert_eq!((v.requests_per_s, v.cache_hit_ratio), (Some(0.0), None));
        assert!(!v.additional_metrics_off);
    }
}
