//! Cost Explorer: one `GetCostAndUsage` call (month to date, grouped by the `REGION` dimension)
//! per cost refresh. It costs $0.01 a call, so the poller runs it hourly by default.

use super::errors::classify;
use crate::fleet::{CostReport, Fleet, SourceError};
use aws_sdk_costexplorer::types::{
    DateInterval, Granularity, GroupDefinition, GroupDefinitionType, ResultByTime,
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use std::collections::BTreeMap;

pub const METRIC: &str = "UnblendedCost";

fn month_start(now: DateTime<Utc>) -> NaiveDate {
    NaiveDate::from_ymd_opt(now.year(), now.month(), 1).unwrap_or(now.date_naive())
}

fn days_in_month(now: DateTime<Utc>) -> i64 {
    let start = month_start(now);
    let next = if start.month() == 12 {
        NaiveDate::from_ymd_opt(start.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(start.year(), start.month() + 1, 1)
    };
    next.map(|n| (n - start).num_days()).unwrap_or(30)
}

/// Month to date: from the first of the month to tomorrow (Cost Explorer's end is exclusive).
pub fn period(now: DateTime<Utc>) -> (String, String) {
    let start = month_start(now);
    let end = now.date_naive() + Duration::days(1);
    (
        start.format("%Y-%m-%d").to_string(),
        end.format("%Y-%m-%d").to_string(),
    )
}

/// A straight-line projection of month-to-date spend to the end of the month.
pub fn projection(month_to_date: f64, now: DateTime<Utc>) -> f64 {
    let start = month_start(now)
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(now);
    let elapsed_days = ((now - start).num_seconds() as f64 / 86_400.0).max(1.0);
    month_to_date / elapsed_days * days_in_month(now) as f64
}

/// Sum of the metric per REGION group key over every period of the answer.
pub fn costs_by_region(results: &[ResultByTime]) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for r in results {
        for g in r.groups() {
            let Some(region) = g.keys().first() else {
                continue;
            };
            let amount = g
                .metrics()
                .and_then(|m| m.get(METRIC))
                .and_then(|v| v.amount())
                .and_then(|a| a.parse::<f64>().ok())
                .unwrap_or(0.0);
            *out.entry(region.clone()).or_insert(0.0) += amount;
        }
    }
    out
}

/// Month-to-date cost and projection per fleet region. A region Cost Explorer does not list had
/// no charges: 0.
pub fn reports(
    fleet: &Fleet,
    by_region: &BTreeMap<String, f64>,
    now: DateTime<Utc>,
) -> Vec<(String, CostReport)> {
    fleet
        .regions
        .iter()
        .map(|r| {
            let mtd = by_region.get(&r.name).copied().unwrap_or(0.0);
            let report = CostReport {
                month_to_date_usd: Some(mtd),
                forecast_usd: Some(projection(mtd, now)),
                forecast_is_projection: true,
            };
            (r.name.clone(), report)
        })
        .collect()
}

pub async fn fetch(
    client: &aws_sdk_costexplorer::Client,
    fleet: &Fleet,
    now: DateTime<Utc>,
) -> Result<Vec<(String, CostReport)>, SourceError> {
    let (start, end) = period(now);
    let interval = DateInterval::builder()
        .start(start)
        .end(end)
        .build()
        .map_err(|e| SourceError::Other(format!("cost period: {e}")))?;
    let group = GroupDefinition::builder()
        .r#type(GroupDefinitionType::Dimension)
        .key("REGION")
        .build();
    let mut results = Vec::new();
    let mut token: Option<String> = None;
    // Pages only appear with many groups; a handful of regions fits in one answer.
    for _ in 0..5 {
        let out = client
            .get_cost_and_usage()
            .time_period(interval.clone())
            .granularity(Granularity::Monthly)
            .metrics(METRIC)
            .group_by(group.clone())
            .set_next_page_token(token.clone())
            .send()
            .await
            .map_err(|e| classify(&e))?;
        results.extend(out.results_by_time().iter().cloned());
        token = out.next_page_token().map(String::from);
        if token.is_none() {
            break;
        }
    }
    Ok(reports(fleet, &costs_by_region(&results), now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn period_runs_from_the_first_to_tomorrow() {
        let now = Utc.with_ymd_and_hms(2026, 2, 28, 13, 0, 0).unwrap();
        assert_eq!(period(now), ("2026-02-01".into(), "2026-03-01".into()));
        let first = Utc.with_ymd_and_hms(2026, 3, 1, 0, 5, 0).unwrap();
        assert_eq!(period(first), ("2026-03-01".into(), "2026-03-02".into()));
    }

    #[test]
    fn projection_scales_to_the_month() {
        // 10 days into a 30-day month, $300 spent: $900 by the end.
        let now = Utc.with_ymd_and_hms(2026, 11, 11, 0, 0, 0).unwrap();
        assert!((projection(300.0, now) - 900.0).abs() < 1e-9);
        // Early on the first day, the projection uses at least one day.
        let early = Utc.with_ymd_and_hms(2026, 11, 1, 1, 0, 0).unwrap();
        assert!((projection(10.0, early) - 300.0).abs() < 1e-9);
    }
}
