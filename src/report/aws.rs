//! The review against AWS: per region one `GetMetricData` request carrying every metric of both
//! windows at a 1 h period (following `NextToken` when the answer is paged), Cost Explorer once
//! (`GetCostAndUsage`, daily, grouped by REGION), the regions read concurrently. The calls are
//! counted for the footer with what they cost.

use super::series::{RegionSeries, Sample};
use super::{Cost, Input};
use crate::fleet::{Fleet, RegionSpec, SourceKind};
use crate::source::aws::clients::{load_config, GlobalClients, RegionClients};
use crate::source::aws::cost as ce;
use crate::source::aws::cw_query::{points, query_dims, Points};
use crate::source::aws::errors::classify;
use crate::source::aws::AwsOptions;
use aws_sdk_cloudwatch::types::{MetricDataQuery, MetricDataResult, ScanBy};
use aws_sdk_costexplorer::types::{
    DateInterval, Granularity, GroupDefinition, GroupDefinitionType,
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use std::collections::BTreeMap;

/// The period of the review's datapoints.
pub const PERIOD_S: i64 = 3600;
/// Pages of one region's answer followed at most (a week at 1 h is 168 points a metric: one page).
const MAX_PAGES: usize = 50;
/// GetMetricData: $0.01 per 1,000 metrics requested; Cost Explorer: $0.01 a request.
const USD_PER_METRIC: f64 = 0.01 / 1000.0;
const USD_PER_CE_CALL: f64 = 0.01;

const REQUESTS: &str = "requests";
const TARGET_5XX: &str = "target5xx";
const ELB_5XX: &str = "elb5xx";
const LAG_MAX: &str = "lagmax";
const LAG_P99: &str = "lagp99";
const HITS: &str = "cachehits";
const MISSES: &str = "cachemisses";

/// The latency statistics the review reads: the charts' p50 and p99 and the region's SLO
/// statistic, once each. moto computes no percentile: a fleet for it names `Average`.
fn latency_stats(fleet: &Fleet, region: &str) -> Vec<String> {
    let slo = fleet.slo_for(region).latency_stat;
    let mut v: Vec<String> = fleet.metrics.latency_stats.clone();
    for s in ["p50", "p99"] {
        if fleet
            .metrics
            .latency_stats
            .iter()
            .any(|x| x.starts_with('p'))
            && !v.iter().any(|x| x == s)
        {
            v.push(s.into());
        }
    }
    if !v.contains(&slo) {
        v.push(slo);
    }
    v
}

/// Every query of the region for one call.
pub fn queries(fleet: &Fleet, r: &RegionSpec) -> Vec<MetricDataQuery> {
    let p = PERIOD_S as i32;
    let mut q = Vec::new();
    if let Some(alb) = &r.alb {
        let (ns, dim) = ("AWS/ApplicationELB", [("LoadBalancer", alb.as_str())]);
        for (i, stat) in latency_stats(fleet, &r.name).iter().enumerate() {
            q.push(query_dims(
                &format!("latency{i}"),
                ns,
                "TargetResponseTime",
                &dim,
                stat,
                p,
            ));
        }
        q.push(query_dims(REQUESTS, ns, "RequestCount", &dim, "Sum", p));
        q.push(query_dims(
            TARGET_5XX,
            ns,
            "HTTPCode_Target_5XX_Count",
            &dim,
            "Sum",
            p,
        ));
        q.push(query_dims(
            ELB_5XX,
            ns,
            "HTTPCode_ELB_5XX_Count",
            &dim,
            "Sum",
            p,
        ));
    }
    if let (Some(db), crate::fleet::Role::Secondary) = (&r.rds, r.role) {
        let dim = [("DBInstanceIdentifier", db.as_str())];
        q.push(query_dims(
            LAG_MAX,
            "AWS/RDS",
            "ReplicaLag",
            &dim,
            "Maximum",
            p,
        ));
        if latency_stats(fleet, &r.name)
            .iter()
            .any(|s| s.starts_with('p'))
        {
            q.push(query_dims(LAG_P99, "AWS/RDS", "ReplicaLag", &dim, "p99", p));
        }
    }
    if let Some(c) = &r.cache {
        let dim = [("CacheClusterId", c.as_str())];
        q.push(query_dims(
            HITS,
            "AWS/ElastiCache",
            "CacheHits",
            &dim,
            "Sum",
            p,
        ));
        q.push(query_dims(
            MISSES,
            "AWS/ElastiCache",
            "CacheMisses",
            &dim,
            "Sum",
            p,
        ));
    }
    q
}

/// The hourly samples of `from..until` from the call's points.
pub fn samples(
    fleet: &Fleet,
    r: &RegionSpec,
    pts: &BTreeMap<String, Points>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<Sample> {
    let stats = latency_stats(fleet, &r.name);
    let get = |id: &str, t: i64| pts.get(id).and_then(|p| p.get(&t)).copied();
    let mut out = Vec::new();
    let mut t = from;
    while t < until {
        let s = t.timestamp();
        let (requests, errors) = if r.alb.is_some() {
            // No RequestCount datapoint: no requests that hour.
            let req = get(REQUESTS, s).unwrap_or(0.0).max(0.0);
            let err = get(TARGET_5XX, s).unwrap_or(0.0) + get(ELB_5XX, s).unwrap_or(0.0);
            (Some(req), Some(err.clamp(0.0, req)))
        } else {
            (None, None)
        };
        let hits = get(HITS, s);
        let misses = get(MISSES, s);
        out.push(Sample {
            t,
            requests,
            errors,
            latency_ms: stats
                .iter()
                .enumerate()
                .filter_map(|(i, st)| {
                    get(&format!("latency{i}"), s)
                        .filter(|v| v.is_finite() && *v >= 0.0)
                        .map(|v| (st.clone(), v * 1000.0))
                })
                .collect(),
            // -1: replication not running; no lag to speak of that hour.
            replica_lag_s: get(LAG_MAX, s).filter(|v| *v >= 0.0),
            replica_lag_p99_s: get(LAG_P99, s).filter(|v| *v >= 0.0),
            cache_hit_ratio: match (hits, misses) {
                (Some(h), m) if h + m.unwrap_or(0.0) > 0.0 => Some(h / (h + m.unwrap_or(0.0))),
                (None, Some(m)) if m > 0.0 => Some(0.0),
                _ => None,
            },
        });
        t += Duration::seconds(PERIOD_S);
    }
    out
}

/// One region's points over `from..until`: one GetMetricData request (and its pages). Returns
/// the points by query id, the pages (calls) and the metrics requested over all of them.
pub async fn read_points(
    client: &aws_sdk_cloudwatch::Client,
    fleet: &Fleet,
    r: &RegionSpec,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<(BTreeMap<String, Points>, u64, usize), String> {
    let q = queries(fleet, r);
    let n = q.len();
    let mut results: Vec<MetricDataResult> = Vec::new();
    let mut pages = 0u64;
    if !q.is_empty() {
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let out = client
                .get_metric_data()
                .set_metric_data_queries(Some(q.clone()))
                .start_time(aws_smithy_types::DateTime::from_secs(from.timestamp()))
                .end_time(aws_smithy_types::DateTime::from_secs(until.timestamp()))
                .scan_by(ScanBy::TimestampAscending)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| format!("{}: GetMetricData: {}", r.name, classify(&e)))?;
            pages += 1;
            results.extend(out.metric_data_results().iter().cloned());
            token = out.next_token().map(String::from);
            if token.is_none() {
                break;
            }
        }
    }
    Ok((points(&results), pages, n * pages as usize))
}

/// Whether the hour from `t` has a RequestCount datapoint (`samples` counts an hour without one
/// as an hour without requests; a chart must not draw it as zero).
pub fn has_requests(pts: &BTreeMap<String, Points>, t: DateTime<Utc>) -> bool {
    pts.get(REQUESTS)
        .is_some_and(|p| p.contains_key(&t.timestamp()))
}

/// One region: one GetMetricData request (and its pages). Returns the series, the pages (calls)
/// and the metrics requested over all of them.
pub async fn read_region(
    client: &aws_sdk_cloudwatch::Client,
    fleet: &Fleet,
    r: &RegionSpec,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<(RegionSeries, u64, usize), String> {
    let (pts, pages, metrics) = read_points(client, fleet, r, from, until).await?;
    Ok((
        RegionSeries {
            region: r.name.clone(),
            step_s: PERIOD_S,
            samples: samples(fleet, r, &pts, from, until),
        },
        pages,
        metrics,
    ))
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Daily cost by region from `first` (inclusive) to `end` (exclusive), one GetCostAndUsage
/// request (and its pages).
async fn daily_cost(
    client: &aws_sdk_costexplorer::Client,
    first: NaiveDate,
    end: NaiveDate,
) -> Result<(BTreeMap<(NaiveDate, String), f64>, u64), String> {
    let interval = DateInterval::builder()
        .start(day(first))
        .end(day(end))
        .build()
        .map_err(|e| format!("cost period: {e}"))?;
    let group = GroupDefinition::builder()
        .r#type(GroupDefinitionType::Dimension)
        .key("REGION")
        .build();
    let mut out = BTreeMap::new();
    let (mut token, mut calls) = (None::<String>, 0u64);
    for _ in 0..10 {
        let answer = client
            .get_cost_and_usage()
            .time_period(interval.clone())
            .granularity(Granularity::Daily)
            .metrics(ce::METRIC)
            .group_by(group.clone())
            .set_next_page_token(token.clone())
            .send()
            .await
            .map_err(|e| format!("Cost Explorer: {}", classify(&e)))?;
        calls += 1;
        for r in answer.results_by_time() {
            let Some(d) = r
                .time_period()
                .and_then(|p| NaiveDate::parse_from_str(p.start(), "%Y-%m-%d").ok())
            else {
                continue;
            };
            for (region, usd) in ce::costs_by_region(std::slice::from_ref(r)) {
                if usd.is_finite() {
                    *out.entry((d, region)).or_insert(0.0) += usd;
                }
            }
        }
        token = answer.next_page_token().map(String::from);
        if token.is_none() {
            break;
        }
    }
    Ok((out, calls))
}

fn month_start(t: DateTime<Utc>) -> NaiveDate {
    NaiveDate::from_ymd_opt(t.year(), t.month(), 1).unwrap_or(t.date_naive())
}

/// Cost per region of the window, month to date at its end and the month's projection; and the
/// previous window's. Days are whole: a day counts in the window its start falls in.
pub fn costs(
    fleet: &Fleet,
    daily: &BTreeMap<(NaiveDate, String), f64>,
    prev_from: DateTime<Utc>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> (BTreeMap<String, Cost>, BTreeMap<String, f64>) {
    let last = until - Duration::seconds(1);
    let month = month_start(last);
    let mut now = BTreeMap::new();
    let mut before = BTreeMap::new();
    for r in &fleet.regions {
        let sum = |lo: NaiveDate, hi: NaiveDate| -> f64 {
            daily
                .iter()
                .filter(|((d, name), _)| name == &r.name && *d >= lo && *d < hi)
                .map(|(_, v)| v)
                .sum()
        };
        let end = last.date_naive() + Duration::days(1);
        let mtd = sum(month, end);
        now.insert(
            r.name.clone(),
            Cost {
                window_usd: Some(sum(from.date_naive(), end)),
                month_to_date_usd: Some(mtd),
                forecast_usd: Some(ce::projection(mtd, until)),
                budget_usd: None,
            },
        );
        before.insert(
            r.name.clone(),
            sum(prev_from.date_naive(), from.date_naive()),
        );
    }
    (now, before)
}

pub async fn input(
    fleet: Fleet,
    options: &AwsOptions,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Input, String> {
    let config = load_config(options, fleet.refresh.timeout_s)
        .await
        .map_err(|e| e.to_string())?;
    let prev_from = from - (until - from);
    let reads = fleet.regions.iter().map(|r| {
        let clients = RegionClients::new(&config, &r.name);
        let fleet = &fleet;
        async move { read_region(&clients.cloudwatch, fleet, r, prev_from, until).await }
    });
    let global = GlobalClients::new(&config);
    let first = month_start(until - Duration::seconds(1)).min(prev_from.date_naive());
    let end = (until - Duration::seconds(1)).date_naive() + Duration::days(1);
    let (regions, cost) = futures::join!(
        futures::future::join_all(reads),
        daily_cost(&global.cost, first, end)
    );
    let mut series = Vec::new();
    let (mut pages, mut metrics) = (0u64, 0usize);
    for r in regions {
        let (s, p, m) = r?;
        series.push(s);
        pages += p;
        metrics += m;
    }
    let mut notes = Vec::new();
    let (cost_now, cost_before, ce_calls) = match cost {
        Ok((daily, calls)) => {
            let (a, b) = costs(&fleet, &daily, prev_from, from, until);
            (a, b, calls)
        }
        Err(e) => {
            notes.push(format!("Cost not read: {e}"));
            (BTreeMap::new(), BTreeMap::new(), 1)
        }
    };
    let mut api_calls = BTreeMap::new();
    api_calls.insert("GetMetricData".to_string(), pages);
    api_calls.insert("GetCostAndUsage".to_string(), ce_calls);
    notes.push(format!(
        "CloudWatch at a {PERIOD_S} s period: {metrics} metrics requested in {pages} GetMetricData call(s), one per region and page."
    ));
    Ok(Input {
        fleet,
        source: SourceKind::Aws,
        from,
        until,
        series,
        cost: cost_now,
        previous_cost: cost_before,
        actions: Vec::new(),
        drills: Vec::new(),
        api_calls,
        api_cost_usd: metrics as f64 * USD_PER_METRIC + ce_calls as f64 * USD_PER_CE_CALL,
        notes,
    })
}
