//! CloudFront against moto (issue 11, point 2): metrics put into `AWS/CloudFront` in us-east-1
//! (DistributionId + Region=Global) come back in `opsdeck snapshot` as ratios 0..1, read inside
//! us-east-1's one GetMetricData call; a distribution with requests but no CacheHitRate (the
//! additional metrics off) and one with no data at all say so, with null, never 0.
#![allow(clippy::await_holding_lock)]

mod support;

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use serde_json::Value;
use std::collections::BTreeMap;
use support::moto::Moto;
use support::moto_env;
use support::seed::sdk_config;

const FULL: &str = "E2QWRUHEXAMPLE";
const PLAIN: &str = "E1PLAINEXAMPLE";
const IDLE: &str = "E3IDLEEXAMPLE";

/// Put one value of each named CloudFront metric for `distribution`, in the last complete minute.
async fn put(moto: &Moto, distribution: &str, values: &[(&str, f64, StandardUnit)]) {
    let config = sdk_config(&moto.url());
    let cw = aws_sdk_cloudwatch::Client::new(&config);
    let now = chrono::Utc::now().timestamp();
    let at = aws_smithy_types::DateTime::from_secs(now - now.rem_euclid(60) - 30);
    let mut req = cw.put_metric_data().namespace("AWS/CloudFront");
    for (name, v, unit) in values {
        req = req.metric_data(
            MetricDatum::builder()
                .metric_name(*name)
                .dimensions(
                    Dimension::builder()
                        .name("DistributionId")
                        .value(distribution)
                        .build(),
                )
                .dimensions(Dimension::builder().name("Region").value("Global").build())
                .timestamp(at)
                .value(*v)
                .unit(unit.clone())
                .build(),
        );
    }
    req.send().await.expect("put CloudFront metrics");
}

async fn seed(moto: &Moto) {
    use StandardUnit::{Count, Percent};
    put(
        moto,
        FULL,
        &[
            ("Requests", 1200.0, Count),
            ("CacheHitRate", 87.5, Percent),
            ("5xxErrorRate", 0.4, Percent),
            ("4xxErrorRate", 2.0, Percent),
        ],
    )
    .await;
    // Standard metrics only: CloudFront has requests and error rates, no CacheHitRate.
    put(
        moto,
        PLAIN,
        &[
            ("Requests", 600.0, Count),
            ("5xxErrorRate", 0.0, Percent),
            ("4xxErrorRate", 1.0, Percent),
        ],
    )
    .await;
}

fn fleet(distribution: &str) -> String {
    format!(
        r#"name = "cdn-moto"
cdn = {{ cloudfront = "{distribution}" }}

[thresholds]
cdn_hit_ratio_min = 0.90

[metrics]
latency_stats = ["Average"]

[refresh]
timeout_s = 3

[[region]]
name = "eu-west-1"
role = "primary"
alb = "app/cdn-eu/50dc6c495c0c9188"

[[region]]
name = "us-east-1"
role = "secondary"
alb = "app/cdn-us/7a3f9e21c4b80d15"
"#
    )
}

async fn snapshot(moto: &Moto, distribution: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cdn.toml");
    std::fs::write(&path, fleet(distribution)).unwrap();
    let args: Vec<String> = [
        "snapshot",
        "--format",
        "json",
        "--fleet",
        path.to_str().unwrap(),
        "--endpoint-url",
        &moto.url(),
    ]
    .map(String::from)
    .to_vec();
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
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// (signing region, operation) of a request moto recorded.
fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-9)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_shows_cloudfronts_hit_ratio_and_error_rates_as_ratios() {
    let moto = Moto::shared();
    moto_env();
    seed(&moto).await;
    moto.start_recording();
    let j = snapshot(&moto, FULL).await;
    moto.stop_recording();
    let cf = &j["cdn"]["cloudfront"];
    assert_eq!(cf["distribution"], FULL, "{j:#}");
    assert!(close(&cf["cache_hit_ratio"], 0.875), "{cf}");
    assert!(close(&cf["error_rate"], 0.004), "{cf}");
    assert!(close(&cf["error_rate_4xx"], 0.02), "{cf}");
    assert!(close(&cf["requests_per_s"], 20.0), "{cf}");
    // 87.5 % is under this fleet's 90 % minimum.
    assert_eq!(cf["status"], "crit", "{cf}");
    assert_eq!(cf["breaches"][0], "CDN cache hit 88% (crit < 90%)", "{cf}");
    assert_eq!(cf["note"], Value::Null, "{cf}");

    // Read inside us-east-1's one GetMetricData call: one call per region, none elsewhere.
    let mut calls: BTreeMap<String, usize> = BTreeMap::new();
    for (region, op) in moto.recorded().iter().map(support::moto::operation) {
        if op == "GetMetricData" {
            *calls.entry(region).or_default() += 1;
        }
    }
    assert_eq!(
        calls,
        BTreeMap::from([("eu-west-1".to_string(), 1), ("us-east-1".to_string(), 1)])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_additional_metrics_the_hit_ratio_is_said_missing_not_zero() {
    let moto = Moto::shared();
    moto_env();
    seed(&moto).await;
    let j = snapshot(&moto, PLAIN).await;
    let cf = &j["cdn"]["cloudfront"];
    assert_eq!(cf["distribution"], PLAIN);
    assert_eq!(cf["cache_hit_ratio"], Value::Null, "{cf}");
    assert!(
        cf["note"]
            .as_str()
            .is_some_and(|n| n.contains("additional metrics not enabled")),
        "{cf}"
    );
    assert_eq!(cf["status"], "unknown", "{cf}");
    // The standard metrics are there.
    assert!(close(&cf["error_rate"], 0.0), "{cf}");
    assert!(close(&cf["requests_per_s"], 10.0), "{cf}");

    // A distribution CloudFront has nothing for: no requests, said so.
    let j = snapshot(&moto, IDLE).await;
    let cf = &j["cdn"]["cloudfront"];
    assert_eq!(cf["cache_hit_ratio"], Value::Null, "{cf}");
    assert_eq!(cf["error_rate"], Value::Null, "{cf}");
    assert!(
        cf["note"]
            .as_str()
            .is_some_and(|n| n.contains("no requests")),
        "{cf}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_without_a_cdn_has_a_null_cdn() {
    let moto = Moto::shared();
    moto_env();
    let text = fleet(FULL).replace("cdn = { cloudfront = \"E2QWRUHEXAMPLE\" }\n", "");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain.toml");
    std::fs::write(&path, text).unwrap();
    let out = tokio::task::spawn_blocking({
        let (path, url, state) = (path.clone(), moto.url(), dir.path().to_path_buf());
        move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
                .args(["snapshot", "--format", "json", "--fleet"])
                .arg(&path)
                .args(["--endpoint-url", &url])
                .env("OPSDECK_STATE_DIR", &state)
                .output()
                .expect("run opsdeck")
        }
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["cdn"], Value::Null, "{j:#}");
}
