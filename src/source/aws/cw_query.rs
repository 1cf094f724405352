//! Building CloudWatch `GetMetricData` queries and reading their answers: shared by the region's
//! metrics and CloudFront's, which go out in one call.

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricDataResult, MetricStat};
use std::collections::BTreeMap;

/// A query of one statistic of a metric with every one of `dimensions`.
pub fn query_dims(
    id: &str,
    namespace: &str,
    metric: &str,
    dimensions: &[(&str, &str)],
    stat: &str,
    period: i32,
) -> MetricDataQuery {
    let mut metric = Metric::builder().namespace(namespace).metric_name(metric);
    for (name, value) in dimensions {
        metric = metric.dimensions(Dimension::builder().name(*name).value(*value).build());
    }
    let metric = metric.build();
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(period)
                .stat(stat)
                .build(),
        )
        .return_data(true)
        .build()
}

/// The data points of one query, by timestamp (seconds).
pub type Points = BTreeMap<i64, f64>;

pub fn points(results: &[MetricDataResult]) -> BTreeMap<String, Points> {
    let mut out: BTreeMap<String, Points> = BTreeMap::new();
    for r in results {
        let Some(id) = r.id() else { continue };
        let p = out.entry(id.to_string()).or_default();
        for (t, v) in r.timestamps().iter().zip(r.values()) {
            p.insert(t.secs(), *v);
        }
    }
    out
}

pub fn latest(p: Option<&Points>) -> Option<(i64, f64)> {
    p.and_then(|p| p.iter().next_back()).map(|(t, v)| (*t, *v))
}
