//! `opsdeck report` against moto (issue 13 §4): CloudWatch seeded with seven days of hourly
//! metrics (PutMetricData with past timestamps) holding a known error rate, a 5xx incident and a
//! latency incident, and Cost Explorer's daily answer set through moto's API. Attainment, budget,
//! the incidents' start and end and the cost come out as seeded, and the reads are one
//! GetMetricData per region (one page each) and one GetCostAndUsage. moto computes no
//! percentile, so this fleet holds `Average` latency (percentiles: the unit tests and mocks).
#![allow(clippy::await_holding_lock)]

mod support;

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use std::collections::BTreeMap;
use support::moto::Moto;
use support::moto_env;
use support::seed::sdk_config;

const HOURS: i64 = 168;
const US_ALB: &str = "app/rep-us/7a3f9e21c4b80d15";
const EU_ALB: &str = "app/rep-eu/50dc6c495c0c9188";

const FLEET: &str = r#"name = "report-moto"

[metrics]
latency_stats = ["Average"]

[slo]
availability = 0.999
latency_ms = 200.0
latency_stat = "Average"
latency_target = 0.99
budget_usd = 2000.0

[refresh]
timeout_s = 5

[[region]]
name = "us-east-1"
role = "primary"
alb = "app/rep-us/7a3f9e21c4b80d15"

[[region]]
name = "eu-west-1"
role = "secondary"
alb = "app/rep-eu/50dc6c495c0c9188"
budget_usd = 600.0
"#;

/// Today 00:00 UTC: the window is the seven days before it.
fn until() -> DateTime<Utc> {
    let now = Utc::now().timestamp();
    DateTime::from_timestamp(now - now.rem_euclid(86_400), 0).unwrap()
}

/// Hour `h` of the window: requests, 5xx, average latency in seconds.
fn hour(region: &str, h: i64) -> (f64, f64, f64) {
    match region {
        // A 5xx storm from hour 50 to hour 53: 20 % of requests.
        "us-east-1" if (50..53).contains(&h) => (1000.0, 200.0, 0.08),
        "us-east-1" => (1000.0, 1.0, 0.08),
        // Slow from hour 100 to 102: 450 ms average.
        _ if (100..102).contains(&h) => (500.0, 0.0, 0.45),
        _ => (500.0, 0.0, 0.12),
    }
}

async fn seed(moto: &Moto, from: DateTime<Utc>) {
    moto.reset();
    let config = sdk_config(&moto.url());
    for (region, alb) in [("us-east-1", US_ALB), ("eu-west-1", EU_ALB)] {
        let cw = aws_sdk_cloudwatch::Client::from_conf(
            aws_sdk_cloudwatch::config::Builder::from(&config)
                .region(aws_config::Region::new(region))
                .build(),
        );
        let dim = Dimension::builder().name("LoadBalancer").value(alb).build();
        for (name, unit, pick) in [
            ("RequestCount", StandardUnit::Count, 0),
            ("HTTPCode_Target_5XX_Count", StandardUnit::Count, 1),
            ("TargetResponseTime", StandardUnit::Seconds, 2),
        ] {
            let data: Vec<MetricDatum> = (0..HOURS)
                .map(|h| {
                    let v = hour(region, h);
                    let value = [v.0, v.1, v.2][pick];
                    let at = from + Duration::hours(h) + Duration::minutes(30);
                    MetricDatum::builder()
                        .metric_name(name)
                        .dimensions(dim.clone())
                        .unit(unit.clone())
                        .value(value)
                        .timestamp(aws_smithy_types::DateTime::from_secs(at.timestamp()))
                        .build()
                })
                .collect();
            for chunk in data.chunks(500) {
                cw.put_metric_data()
                    .namespace("AWS/ApplicationELB")
                    .set_metric_data(Some(chunk.to_vec()))
                    .send()
                    .await
                    .expect("PutMetricData");
            }
        }
    }
    // Cost Explorer's daily answer: $30 a day in us-east-1, $25 in eu-west-1, from 20 days
    // before the end (the previous window and the month so far).
    let days: Vec<Value> = (1..=20)
        .map(|d| {
            let day = (until() - Duration::days(d)).date_naive();
            serde_json::json!({
                "TimePeriod": {"Start": day.format("%Y-%m-%d").to_string(),
                               "End": day.succ_opt().unwrap().format("%Y-%m-%d").to_string()},
                "Total": {}, "Estimated": false,
                "Groups": [
                    {"Keys": ["us-east-1"], "Metrics": {"UnblendedCost": {"Amount": "30.0", "Unit": "USD"}}},
                    {"Keys": ["eu-west-1"], "Metrics": {"UnblendedCost": {"Amount": "25.0", "Unit": "USD"}}},
                    {"Keys": ["global"], "Metrics": {"UnblendedCost": {"Amount": "1.0", "Unit": "USD"}}}
                ]})
        })
        .collect();
    moto.post_json(
        "/moto-api/static/ce/cost-and-usage-results",
        &serde_json::json!({"results": [{"ResultsByTime": days}]}).to_string(),
    );
}

fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-9)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_week_comes_out_as_seeded_in_one_call_per_region() {
    let moto = Moto::shared();
    moto_env();
    let until = until();
    let from = until - Duration::days(7);
    seed(&moto, from).await;
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet.toml");
    std::fs::write(&fleet, FLEET).unwrap();
    let args: Vec<String> = [
        "report",
        "--format",
        "json",
        "--fleet",
        fleet.to_str().unwrap(),
        "--endpoint-url",
        &moto.url(),
        "--until",
        &until.to_rfc3339(),
    ]
    .map(String::from)
    .to_vec();
    moto.start_recording();
    let state_dir = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
            .args(&args)
            .env("OPSDECK_STATE_DIR", &state_dir)
            .output()
            .expect("run opsdeck")
    })
    .await
    .unwrap();
    moto.stop_recording();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(j["source"], "aws");
    let region = |name: &str| {
        j["regions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {j:#}"))
            .clone()
    };
    let at =
        |h: i64| (from + Duration::hours(h)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);

    // us-east-1: 168,000 requests, 165 × 1 + 3 × 200 = 765 of them 5xx.
    let us = region("us-east-1");
    let a = &us["availability"];
    assert!(close(&a["requests"], 168_000.0), "{a}");
    assert!(close(&a["bad_requests"], 765.0), "{a}");
    assert!(close(&a["attained"], 1.0 - 765.0 / 168_000.0), "{a}");
    // The budget is 0.1 % of 168,000 = 168 bad requests: 765 / 168 spent.
    assert!(close(&a["budget_remaining"], 1.0 - 765.0 / 168.0), "{a}");
    assert_eq!(a["status"], "BREACHED");
    assert!(
        close(&us["burn_rate_max"]["1h"], 0.2 / 0.001),
        "{}",
        us["burn_rate_max"]
    );
    let inc = us["incidents"].as_array().unwrap();
    assert_eq!(inc.len(), 1, "{inc:?}");
    assert_eq!(inc[0]["metric"], "error_rate");
    assert_eq!(inc[0]["start"], at(50));
    assert_eq!(inc[0]["end"], at(53));
    assert!(close(&inc[0]["peak"], 0.2), "{}", inc[0]);
    assert!(close(&us["latency"]["attained"], 1.0), "{}", us["latency"]);

    // eu-west-1: no 5xx at all; 2 of 168 hours over 200 ms.
    let eu = region("eu-west-1");
    assert!(close(&eu["availability"]["attained"], 1.0));
    assert!(close(&eu["availability"]["budget_remaining"], 1.0));
    assert!(
        close(&eu["latency"]["attained"], 1.0 - 2.0 / 168.0),
        "{}",
        eu["latency"]
    );
    let inc = eu["incidents"].as_array().unwrap();
    assert_eq!(inc.len(), 1, "{inc:?}");
    assert_eq!(
        (inc[0]["metric"].as_str(), inc[0]["start"].as_str()),
        (Some("latency"), Some(at(100).as_str()))
    );
    assert_eq!(inc[0]["end"], at(102));
    assert!(close(&inc[0]["peak"], 450.0), "{}", inc[0]);

    // Cost: seven days at the seeded daily amounts; the previous window as well.
    assert!(
        close(&us["cost"]["window_usd"], 7.0 * 30.0),
        "{}",
        us["cost"]
    );
    assert!(
        close(&eu["cost"]["window_usd"], 7.0 * 25.0),
        "{}",
        eu["cost"]
    );
    assert!(
        close(&us["previous"]["cost_window_usd"], 7.0 * 30.0),
        "{}",
        us["previous"]
    );
    // eu-west-1 has its own budget; us-east-1 takes what is left of the fleet's.
    assert!(close(&eu["cost"]["budget_usd"], 600.0));
    assert!(close(&us["cost"]["budget_usd"], 1400.0));
    let month_days = (until - Duration::seconds(1))
        .date_naive()
        .format("%d")
        .to_string();
    let mtd_days: f64 = month_days.parse().unwrap();
    assert!(
        close(&us["cost"]["month_to_date_usd"], 30.0 * mtd_days.min(20.0)),
        "{}",
        us["cost"]
    );

    // One GetMetricData per region (one page each), one GetCostAndUsage, nothing else.
    assert_eq!(j["api_calls"]["GetMetricData"], 2);
    assert_eq!(j["api_calls"]["GetCostAndUsage"], 1);
    let mut calls: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (region, op) in moto.recorded().iter().map(support::moto::operation) {
        *calls.entry((region, op)).or_default() += 1;
    }
    let key = |r: &str, o: &str| (r.to_string(), o.to_string());
    assert_eq!(
        calls,
        BTreeMap::from([
            (key("eu-west-1", "GetMetricData"), 1),
            (key("us-east-1", "GetMetricData"), 1),
            (key("us-east-1", "GetCostAndUsage"), 1),
        ])
    );

    // The console's week summary (`W`) reads its review through `report::week`: against AWS the
    // same reads and the same numbers as the command.
    let parsed = opsdeck::fleet::Fleet::parse(FLEET, &fleet).unwrap();
    let options = opsdeck::source::aws::AwsOptions {
        endpoint_url: Some(moto.url()),
        ..Default::default()
    };
    let week = opsdeck::report::week(parsed, opsdeck::report::WeekSource::Aws(options), until)
        .await
        .unwrap();
    let week: Value = serde_json::from_str(&opsdeck::report::render::json(&week)).unwrap();
    assert_eq!(week["regions"], j["regions"]);
    assert_eq!(week["overall"], j["overall"]);
    assert_eq!(week["overall_cost"], j["overall_cost"]);
}

/// The detail view's 7-day window against AWS (issue 13 §6): one region's week from one
/// GetMetricData request for that region and nothing else, hour by hour as seeded — the storm's
/// hours at 20 % 5xx, the others at 0.1 %, 1,000 requests an hour, 80 ms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_7_day_window_reads_its_region_with_one_call() {
    let moto = Moto::shared();
    moto_env();
    let until = until();
    let from = until - Duration::days(7);
    seed(&moto, from).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.toml");
    let fleet = opsdeck::fleet::Fleet::parse(FLEET, &path).unwrap();
    let options = opsdeck::source::aws::AwsOptions {
        endpoint_url: Some(moto.url()),
        ..Default::default()
    };
    moto.start_recording();
    // The console's clock a few minutes into the day: the window still ends at 00:00.
    let weeks = opsdeck::report::region_week::read(
        fleet,
        opsdeck::report::WeekSource::Aws(options),
        "us-east-1".into(),
        until + Duration::minutes(7),
        Vec::new(),
    )
    .await
    .unwrap();
    moto.stop_recording();
    let calls: Vec<(String, String)> = moto
        .recorded()
        .iter()
        .map(support::moto::operation)
        .collect();
    assert_eq!(
        calls,
        vec![("us-east-1".to_string(), "GetMetricData".to_string())]
    );
    assert_eq!(weeks.len(), 1);
    let w = &weeks[0];
    assert_eq!(w.region, "us-east-1");
    assert_eq!((w.from, w.until), (from, until));
    assert_eq!(w.get_metric_data_calls, 1);
    assert_eq!(w.source, opsdeck::fleet::SourceKind::Aws);
    assert_eq!(w.hours_without_data, 0);
    let points =
        |s: &opsdeck::fleet::series::Series| -> Vec<(i64, f64)> { s.iter().copied().collect() };
    let errors = points(&w.error_rate);
    assert_eq!(errors.len(), HOURS as usize);
    for (h, (t, v)) in errors.iter().enumerate() {
        let h = h as i64;
        assert_eq!(*t, (from + Duration::hours(h)).timestamp());
        let want = hour("us-east-1", h).1 / 1000.0;
        assert!((v - want).abs() < 1e-9, "hour {h}: {v} ≠ {want}");
    }
    for (_, v) in points(&w.requests_per_s) {
        assert!((v - 1000.0 / 3600.0).abs() < 1e-9, "{v}");
    }
    for (_, v) in points(&w.latency_ms["Average"]) {
        assert!((v - 80.0).abs() < 1e-6, "{v}");
    }
}
