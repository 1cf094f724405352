//! CloudWatch: exactly one `GetMetricData` call per region and refresh, carrying every metric of
//! the region. Ratios are computed here from the Sums; no data points means no requests.

use super::cw_query::{latest, points, query_dims, Points};
use super::errors::classify;
use crate::fleet::{MetricValues, MetricsConfig, RegionSpec, SourceError};
use aws_sdk_cloudwatch::types::{MetricDataQuery, MetricDataResult, ScanBy};
use chrono::{DateTime, TimeZone, Utc};

/// How far back a query looks for the most recent complete period with data.
const LOOKBACK_S: i64 = 15 * 60;
const MIN_LOOKBACK_PERIODS: i64 = 5;

/// Query ids (CloudWatch wants `^[a-z][a-zA-Z0-9_]*$`).
const REQUESTS: &str = "requests";
const TARGET_5XX: &str = "target5xx";
const ELB_5XX: &str = "elb5xx";
const REPLICA_LAG: &str = "replicalag";
const CACHE_HITS: &str = "cachehits";
const CACHE_MISSES: &str = "cachemisses";

fn latency_id(i: usize) -> String {
    format!("latency{i}")
}

/// What one metrics fetch learned.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricsOutcome {
    pub values: MetricValues,
    /// RDS reported ReplicaLag = -1: replication is not running.
    pub replication_stopped: bool,
    /// The most recent ReplicaLag of 0 or more in the window, and the start of its period: what a
    /// replica whose replication has since stopped had last caught up to (its RPO), read in the
    /// same call.
    pub last_lag: Option<(f64, DateTime<Utc>)>,
}

/// StartTime and EndTime aligned to the period: EndTime is the start of the current (incomplete)
/// period, so every period in the window is complete.
pub fn window(now: DateTime<Utc>, period_s: u32) -> (DateTime<Utc>, DateTime<Utc>) {
    let p = i64::from(period_s.max(1));
    let end = now.timestamp().div_euclid(p) * p;
    let periods = (LOOKBACK_S / p).max(MIN_LOOKBACK_PERIODS);
    let at = |s: i64| Utc.timestamp_opt(s, 0).single().unwrap_or(now);
    (at(end - periods * p), at(end))
}

fn query(
    id: &str,
    namespace: &str,
    metric: &str,
    dimension: (&str, &str),
    stat: &str,
    period: i32,
) -> MetricDataQuery {
    query_dims(id, namespace, metric, &[dimension], stat, period)
}

/// Which of a region's metrics one call asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Select {
    /// TargetResponseTime, one query per configured statistic.
    pub latency: bool,
    /// RequestCount and the 5xx counts.
    pub traffic: bool,
    /// ReplicaLag of the region's database.
    pub lag: bool,
    /// ElastiCache hits and misses.
    pub cache: bool,
    /// Container Insights running pods of the EKS node groups' services.
    pub pods: bool,
}

impl Select {
    /// Everything the console shows; the lag only when the database is a replica.
    pub fn all(include_lag: bool) -> Select {
        Select {
            latency: true,
            traffic: true,
            lag: include_lag,
            cache: true,
            pods: true,
        }
    }

    /// What an operation's plan and guards use: the request rate and the replica lag.
    pub const OPERATION: Select = Select {
        latency: false,
        traffic: true,
        lag: true,
        cache: false,
        pods: false,
    };
}

/// Every metric of the region, for one call. `include_lag` is true when the region's database is
/// a replica (a primary has no replica lag).
pub fn queries(
    region: &RegionSpec,
    cfg: &MetricsConfig,
    include_lag: bool,
) -> Vec<MetricDataQuery> {
    queries_of(region, cfg, Select::all(include_lag))
}

/// The selected metrics of the region, for one call.
pub fn queries_of(
    region: &RegionSpec,
    cfg: &MetricsConfig,
    select: Select,
) -> Vec<MetricDataQuery> {
    let period = cfg.period_s.max(1) as i32;
    let mut q = Vec::new();
    if let (true, Some(alb)) = (select.latency, &region.alb) {
        let elb = "AWS/ApplicationELB";
        let dim = ("LoadBalancer", alb.as_str());
        for (i, stat) in cfg.latency_stats.iter().enumerate() {
            q.push(query(
                &latency_id(i),
                elb,
                "TargetResponseTime",
                dim,
                stat,
                period,
            ));
        }
    }
    if let (true, Some(alb)) = (select.traffic, &region.alb) {
        let elb = "AWS/ApplicationELB";
        let dim = ("LoadBalancer", alb.as_str());
        q.push(query(REQUESTS, elb, "RequestCount", dim, "Sum", period));
        q.push(query(
            TARGET_5XX,
            elb,
            "HTTPCode_Target_5XX_Count",
            dim,
            "Sum",
            period,
        ));
        q.push(query(
            ELB_5XX,
            elb,
            "HTTPCode_ELB_5XX_Count",
            dim,
            "Sum",
            period,
        ));
    }
    if let (true, Some(db)) = (select.lag, &region.rds) {
        q.push(query(
            REPLICA_LAG,
            "AWS/RDS",
            "ReplicaLag",
            ("DBInstanceIdentifier", db),
            "Maximum",
            period,
        ));
    }
    if let (true, Some(cache)) = (select.cache, &region.cache) {
        let dim = ("CacheClusterId", cache.as_str());
        q.push(query(
            CACHE_HITS,
            "AWS/ElastiCache",
            "CacheHits",
            dim,
            "Sum",
            period,
        ));
        q.push(query(
            CACHE_MISSES,
            "AWS/ElastiCache",
            "CacheMisses",
            dim,
            "Sum",
            period,
        ));
    }
    if select.pods {
        q.extend(super::eks::queries(&region.eks, period));
    }
    q
}

fn at(p: Option<&Points>, t: i64) -> f64 {
    p.and_then(|p| p.get(&t)).copied().unwrap_or(0.0)
}

/// Turn the call's results into the region's values.
pub fn interpret(
    region: &RegionSpec,
    cfg: &MetricsConfig,
    include_lag: bool,
    results: &[MetricDataResult],
) -> MetricsOutcome {
    interpret_of(region, cfg, Select::all(include_lag), results)
}

/// Turn the results of a call for the `select`ed metrics into the region's values.
pub fn interpret_of(
    region: &RegionSpec,
    cfg: &MetricsConfig,
    select: Select,
    results: &[MetricDataResult],
) -> MetricsOutcome {
    let pts = points(results);
    let get = |id: &str| pts.get(id);
    let period = f64::from(cfg.period_s.max(1));
    let mut values = MetricValues::default();
    let mut replication_stopped = false;
    let mut last_lag = None;
    for (i, stat) in cfg.latency_stats.iter().enumerate() {
        if !select.latency {
            break;
        }
        let v = if region.alb.is_some() {
            latest(get(&latency_id(i))).map(|(_, s)| s * 1000.0)
        } else {
            None
        };
        values.latency_ms.insert(stat.clone(), v);
    }
    if select.traffic && region.alb.is_some() {
        // The most recent complete period with requests; the 5xx Sums of that same period.
        match latest(get(REQUESTS)) {
            Some((t, requests)) => {
                let errors = at(get(TARGET_5XX), t) + at(get(ELB_5XX), t);
                values.requests_per_s = Some(requests / period);
                values.error_rate = Some(rate(errors, requests));
            }
            None => {
                let errors = latest(get(TARGET_5XX)).map(|x| x.1).unwrap_or(0.0)
                    + latest(get(ELB_5XX)).map(|x| x.1).unwrap_or(0.0);
                values.requests_per_s = Some(0.0);
                values.error_rate = Some(rate(errors, 0.0));
            }
        }
    }
    if select.lag && region.rds.is_some() {
        match latest(get(REPLICA_LAG)) {
            Some((_, lag)) if lag < 0.0 => replication_stopped = true,
            Some((_, lag)) => values.replica_lag_s = Some(lag),
            None => {}
        }
        last_lag = get(REPLICA_LAG)
            .and_then(|p| p.iter().rev().find(|(_, v)| **v >= 0.0))
            .and_then(|(t, v)| Some((*v, Utc.timestamp_opt(*t, 0).single()?)));
    }
    if select.cache && region.cache.is_some() {
        let t = [latest(get(CACHE_HITS)), latest(get(CACHE_MISSES))]
            .into_iter()
            .flatten()
            .map(|x| x.0)
            .max();
        if let Some(t) = t {
            let (hits, misses) = (at(get(CACHE_HITS), t), at(get(CACHE_MISSES), t));
            if hits + misses > 0.0 {
                values.cache_hit_ratio = Some(hits / (hits + misses));
            }
        }
    }
    if select.pods && !region.eks.is_empty() {
        values.running_pods = super::eks::interpret(&region.eks, &pts);
    }
    MetricsOutcome {
        values,
        replication_stopped,
        last_lag,
    }
}

fn rate(errors: f64, requests: f64) -> f64 {
    if requests > 0.0 {
        (errors / requests).clamp(0.0, 1.0)
    } else if errors > 0.0 {
        1.0
    } else {
        0.0
    }
}

/// One `GetMetricData` call for every metric of the region (none when it has nothing to ask).
pub async fn fetch(
    client: &aws_sdk_cloudwatch::Client,
    region: &RegionSpec,
    cfg: &MetricsConfig,
    include_lag: bool,
    now: DateTime<Utc>,
) -> Result<MetricsOutcome, SourceError> {
    fetch_region(client, region, cfg, include_lag, None, now).await
}

/// What the console reads: one `GetMetricData` call for every metric of the region and, in
/// us-east-1, the fleet's CloudFront distribution `cdn` in the same call.
pub async fn fetch_region(
    client: &aws_sdk_cloudwatch::Client,
    region: &RegionSpec,
    cfg: &MetricsConfig,
    include_lag: bool,
    cdn: Option<&str>,
    now: DateTime<Utc>,
) -> Result<MetricsOutcome, SourceError> {
    fetch_select(client, region, cfg, Select::all(include_lag), cdn, now).await
}

/// One `GetMetricData` call for the `select`ed metrics of the region (none when it has nothing
/// to ask).
pub async fn fetch_of(
    client: &aws_sdk_cloudwatch::Client,
    region: &RegionSpec,
    cfg: &MetricsConfig,
    select: Select,
    now: DateTime<Utc>,
) -> Result<MetricsOutcome, SourceError> {
    fetch_select(client, region, cfg, select, None, now).await
}

async fn fetch_select(
    client: &aws_sdk_cloudwatch::Client,
    region: &RegionSpec,
    cfg: &MetricsConfig,
    select: Select,
    cdn: Option<&str>,
    now: DateTime<Utc>,
) -> Result<MetricsOutcome, SourceError> {
    let mut q = queries_of(region, cfg, select);
    if let Some(id) = cdn {
        q.extend(super::cloudfront::queries(id, cfg));
    }
    let with_cdn = |mut out: MetricsOutcome, results: &[MetricDataResult]| {
        if let Some(id) = cdn {
            out.values.cdn = Some(super::cloudfront::interpret(id, cfg, results));
        }
        out
    };
    if q.is_empty() {
        return Ok(with_cdn(interpret_of(region, cfg, select, &[]), &[]));
    }
    let (start, end) = window(now, cfg.period_s);
    let out = client
        .get_metric_data()
        .set_metric_data_queries(Some(q))
        .start_time(aws_smithy_types::DateTime::from_secs(start.timestamp()))
        .end_time(aws_smithy_types::DateTime::from_secs(end.timestamp()))
        .scan_by(ScanBy::TimestampDescending)
        .send()
        .await
        .map_err(|e| classify(&e))?;
    let results = out.metric_data_results();
    Ok(with_cdn(
        interpret_of(region, cfg, select, results),
        results,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region() -> RegionSpec {
        toml::from_str(
            r#"name = "us-east-1"
role = "secondary"
alb = "app/x/1"
rds = "db-us"
cache = "redis-us"
"#,
        )
        .unwrap()
    }

    fn result(id: &str, pts: &[(i64, f64)]) -> MetricDataResult {
        let mut b = MetricDataResult::builder().id(id);
        for (t, v) in pts {
            b = b
                .timestamps(aws_smithy_types::DateTime::from_secs(*t))
                .values(*v);
        }
        b.build()
    }

    #[test]
    fn window_is_aligned_to_the_period() {
        let now = Utc.timestamp_opt(1_700_000_123, 0).unwrap();
        let (start, end) = window(now, 60);
        assert_eq!(end.timestamp(), 1_700_000_100);
        assert_eq!(start.timestamp() % 60, 0);
        assert_eq!(end.timestamp() - start.timestamp(), 900);
        let (start, end) = window(now, 300);
        assert_eq!(
            (end.timestamp() % 300, end.timestamp() - start.timestamp()),
            (0, 1500)
        );
    }

    #[test]
    fn one_query_per_metric_and_statistic() {
        let cfg = MetricsConfig {
            latency_stats: vec!["p50".into(), "p99".into()],
            period_s: 60,
        };
        let ids: Vec<String> = queries(&region(), &cfg, true)
            .iter()
            .filter_map(|q| q.id().map(String::from))
            .collect();
        assert_eq!(
            ids,
            [
                "latency0",
                "latency1",
                REQUESTS,
                TARGET_5XX,
                ELB_5XX,
                REPLICA_LAG,
                CACHE_HITS,
                CACHE_MISSES
            ]
        );
        assert_eq!(queries(&region(), &cfg, false).len(), 7);
        let ids: Vec<String> = queries_of(&region(), &cfg, Select::OPERATION)
            .iter()
            .filter_map(|q| q.id().map(String::from))
            .collect();
        assert_eq!(ids, [REQUESTS, TARGET_5XX, ELB_5XX, REPLICA_LAG]);
    }

    #[test]
    fn latest_period_sums_become_rates_and_ratios() {
        let cfg = MetricsConfig {
            latency_stats: vec!["Average".into()],
            period_s: 60,
        };
        let r = [
            result("latency0", &[(120, 0.050), (60, 0.2)]),
            result(REQUESTS, &[(120, 600.0), (60, 100.0)]),
            result(TARGET_5XX, &[(120, 6.0), (60, 50.0)]),
            result(ELB_5XX, &[(120, 3.0)]),
            result(REPLICA_LAG, &[(120, 2.5)]),
            result(CACHE_HITS, &[(120, 900.0)]),
            result(CACHE_MISSES, &[(120, 100.0)]),
        ];
        let out = interpret(&region(), &cfg, true, &r);
        assert_eq!(out.values.latency_ms["Average"], Some(50.0));
        assert_eq!(out.values.requests_per_s, Some(10.0));
        assert_eq!(out.values.error_rate, Some(0.015));
        assert_eq!(out.values.replica_lag_s, Some(2.5));
        assert_eq!(out.values.cache_hit_ratio, Some(0.9));
        assert!(!out.replication_stopped);
    }

    #[test]
    fn no_data_means_no_requests_and_lag_minus_one_means_stopped() {
        let cfg = MetricsConfig {
            latency_stats: vec!["p99".into()],
            period_s: 60,
        };
        let out = interpret(&region(), &cfg, true, &[result(REPLICA_LAG, &[(60, -1.0)])]);
        assert_eq!(out.values.requests_per_s, Some(0.0));
        assert_eq!(out.values.error_rate, Some(0.0));
        assert_eq!(out.values.latency_ms["p99"], None);
        assert_eq!(out.values.cache_hit_ratio, None);
        assert_eq!(out.values.replica_lag_s, None);
        assert!(out.replication_stopped);
        assert_eq!(out.last_lag, None, "no lag seen before it stopped");
    }

    #[test]
    fn the_last_lag_before_replication_stopped_comes_from_the_same_window() {
        let cfg = MetricsConfig {
            latency_stats: vec!["p99".into()],
            period_s: 60,
        };
        // 1.5 s at t=60, 4.0 s at t=120, then -1 (stopped) at t=180 and t=240.
        let lag = result(
            REPLICA_LAG,
            &[(240, -1.0), (180, -1.0), (120, 4.0), (60, 1.5)],
        );
        let out = interpret(&region(), &cfg, true, &[lag]);
        assert!(out.replication_stopped);
        assert_eq!(out.values.replica_lag_s, None);
        let (lag_s, seen) = out.last_lag.expect("a last lag");
        assert_eq!((lag_s, seen.timestamp()), (4.0, 120));
        // The pipeline's view of a replica whose lag went to -1 carries it, for the RPO.
        let broken = crate::source::aws::rds::with_lag_signal(
            crate::fleet::Replication::Replica {
                instance: "db-us".into(),
                source: "db-eu".into(),
                status: "available".into(),
            },
            out.replication_stopped,
        )
        .with_last_lag(out.last_lag);
        assert_eq!(
            broken.last_lag().map(|(l, t)| (l, t.timestamp())),
            Some((4.0, 120))
        );
    }
}
