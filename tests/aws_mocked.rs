//! What moto cannot show (throttling, an expired token, access denied, a percentile answer),
//! through the SDK's own mock layer (`aws-smithy-mocks`): real clients, real (de)serialization of
//! the answers, no network.

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
use aws_sdk_cloudwatch::types::MetricDataResult;
use aws_sdk_costexplorer::operation::get_cost_and_usage::GetCostAndUsageOutput;
use aws_smithy_mocks::{create_mock_http_client, mock, MockResponseInterceptor, Rule, RuleMode};
use chrono::{TimeZone, Utc};
use opsdeck::fleet::{DataKind, Fleet, MetricsConfig, Reading, RefreshConfig, SourceError};
use opsdeck::source::aws::{ecs, metrics, rds, route53, AwsSource, GlobalClients, RegionClients};
use opsdeck::source::SourceEvent;
use std::path::Path;
use std::time::{Duration, Instant};

/// A real client of `$krate` whose HTTP layer answers from `rules`, in order.
macro_rules! mocked {
    ($krate:ident, $rules:expr) => {{
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::Sequential);
        for rule in $rules {
            interceptor = interceptor.with_rule(rule);
        }
        $krate::Client::from_conf(
            $krate::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("eu-west-1"))
                .credentials_provider(Credentials::new("mock", "mock", None, None, "mock"))
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .http_client(create_mock_http_client())
                .interceptor(interceptor)
                .build(),
        )
    }};
}

/// An awsQuery / restXml error body, as CloudWatch, RDS and Route53 send them.
fn xml_error(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
         <RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    )
}

/// An awsJson error body, as ECS and Cost Explorer send them.
fn json_error(code: &str, message: &str) -> String {
    format!(r#"{{"__type":"{code}","message":"{message}"}}"#)
}

const FLEET: &str = r#"
name = "mocked"
[metrics]
latency_stats = ["p50", "p99"]
[[region]]
name = "eu-west-1"
role = "primary"
alb = "app/atlas-eu/50dc6c495c0c9188"
"#;

fn fleet() -> Fleet {
    Fleet::parse(FLEET, Path::new("mocked.toml")).unwrap()
}

fn result(id: &str, t: i64, v: f64) -> MetricDataResult {
    MetricDataResult::builder()
        .id(id)
        .timestamps(aws_smithy_types::DateTime::from_secs(t))
        .values(v)
        .build()
}

#[tokio::test]
async fn a_percentile_answer_becomes_milliseconds_per_statistic() {
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 10, 15, 42).unwrap();
    let period_start = Utc
        .with_ymd_and_hms(2026, 11, 22, 10, 14, 0)
        .unwrap()
        .timestamp();
    // EndTime is the start of the current minute: every period asked for is complete.
    let period_end = period_start + 60;
    let rule = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .match_requests(move |req| {
            let stats: Vec<&str> = req
                .metric_data_queries()
                .iter()
                .filter_map(|q| q.metric_stat().and_then(|s| s.stat()))
                .collect();
            let aligned = req
                .start_time()
                .map(|t| t.secs() % 60 == 0)
                .unwrap_or(false)
                && req.end_time().map(|t| t.secs()) == Some(period_end);
            stats == ["p50", "p99", "Sum", "Sum", "Sum"] && aligned
        })
        .then_output(move || {
            GetMetricDataOutput::builder()
                .metric_data_results(result("latency0", period_start, 0.012))
                .metric_data_results(result("latency1", period_start, 0.180))
                .metric_data_results(result("requests", period_start, 3000.0))
                .metric_data_results(result("target5xx", period_start, 15.0))
                .build()
        });
    let client = mocked!(aws_sdk_cloudwatch, [&rule]);
    let f = fleet();
    let cfg = MetricsConfig {
        latency_stats: vec!["p50".into(), "p99".into()],
        period_s: 60,
    };
    let out = metrics::fetch(&client, &f.regions[0], &cfg, false, now)
        .await
        .expect("metrics");
    assert_eq!(rule.num_calls(), 1, "one GetMetricData for the region");
    let ms = |s: &str| out.values.latency_ms[s].map(|v| (v * 1000.0).round() / 1000.0);
    assert_eq!((ms("p50"), ms("p99")), (Some(12.0), Some(180.0)));
    assert_eq!(out.values.requests_per_s, Some(50.0));
    assert_eq!(out.values.error_rate, Some(0.005));
}

#[tokio::test]
async fn throttling_expired_tokens_and_denied_access_are_named() {
    let f = fleet();
    let cfg = f.metrics.clone();
    let throttled = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .sequence()
        .http_status(400, Some(xml_error("Throttling", "Rate exceeded")))
        .build();
    let cw = mocked!(aws_sdk_cloudwatch, [&throttled]);
    let err = metrics::fetch(&cw, &f.regions[0], &cfg, false, Utc::now())
        .await
        .unwrap_err();
    assert!(
        matches!(err, SourceError::Throttled(ref m) if m.contains("Rate exceeded")),
        "{err:?}"
    );
    assert_eq!(err.short(), "ThrottlingException");

    let expired = mock!(aws_sdk_ecs::Client::describe_services)
        .sequence()
        .http_status(
            400,
            Some(json_error(
                "ExpiredTokenException",
                "The security token included in the request is expired",
            )),
        );
    let ecs_client = mocked!(aws_sdk_ecs, [&expired.build()]);
    let services = [opsdeck::fleet::EcsServiceRef {
        cluster: "atlas-eu".into(),
        service: "api".into(),
    }];
    let err = ecs::fetch(&ecs_client, &services).await.unwrap_err();
    assert!(matches!(err, SourceError::ExpiredCredentials(_)), "{err:?}");

    let denied = mock!(aws_sdk_rds::Client::describe_db_instances)
        .sequence()
        .http_status(
            403,
            Some(xml_error(
                "AccessDenied",
                "User is not authorized to perform: rds:DescribeDBInstances",
            )),
        )
        .build();
    let rds_client = mocked!(aws_sdk_rds, [&denied]);
    let err = rds::fetch(&rds_client, "atlas-db-eu").await.unwrap_err();
    assert!(
        matches!(err, SourceError::AccessDenied(ref m) if m.contains("rds:DescribeDBInstances")),
        "{err:?}"
    );

    let busy = mock!(aws_sdk_route53::Client::list_resource_record_sets)
        .sequence()
        .http_status(
            400,
            Some(xml_error(
                "PriorRequestNotComplete",
                "The request was rejected because Route 53 was still processing a prior request.",
            )),
        )
        .build();
    let r53 = mocked!(aws_sdk_route53, [&busy]);
    let with_dns = Fleet::parse(
        &format!("{FLEET}route53 = {{ zone_id = \"Z1\", record = \"api.atlas.test.\", set_identifier = \"eu-west-1\" }}\n"),
        Path::new("dns.toml"),
    )
    .unwrap();
    let states = route53::fetch(&r53, &with_dns).await;
    assert!(
        matches!(states[0].1, Err(SourceError::Throttled(_))),
        "{states:?}"
    );
}

fn empty_cost() -> Rule {
    mock!(aws_sdk_costexplorer::Client::get_cost_and_usage)
        .sequence()
        .output(|| GetCostAndUsageOutput::builder().build())
        .repeatedly()
        .build()
}

/// Throttled once: the poller reports the failure, waits longer than the interval (exponential
/// back-off), then reads again by itself.
#[tokio::test]
async fn a_throttled_region_backs_off_and_recovers_by_itself() {
    let now = Utc::now().timestamp();
    let last = now - now.rem_euclid(60) - 60;
    let rule = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .sequence()
        .http_status(400, Some(xml_error("Throttling", "Rate exceeded")))
        .output(move || {
            GetMetricDataOutput::builder()
                .metric_data_results(result("latency1", last, 0.095))
                .metric_data_results(result("requests", last, 600.0))
                .build()
        })
        .repeatedly()
        .build();
    let region = RegionClients {
        cloudwatch: mocked!(aws_sdk_cloudwatch, [&rule]),
        ecs: mocked!(aws_sdk_ecs, Vec::<&Rule>::new()),
        eks: mocked!(aws_sdk_eks, Vec::<&Rule>::new()),
        rds: mocked!(aws_sdk_rds, Vec::<&Rule>::new()),
        autoscaling: mocked!(aws_sdk_applicationautoscaling, Vec::<&Rule>::new()),
    };
    let cost = empty_cost();
    let global = GlobalClients {
        route53: mocked!(aws_sdk_route53, Vec::<&Rule>::new()),
        cost: mocked!(aws_sdk_costexplorer, [&cost]),
        sts: mocked!(aws_sdk_sts, Vec::<&Rule>::new()),
    };
    let refresh = RefreshConfig {
        metrics_s: 1,
        timeout_s: 2,
        ..RefreshConfig::default()
    };
    let source = AwsSource::from_clients(
        "arn:aws:iam::000000000000:user/mock",
        vec![("eu-west-1".into(), region)],
        global,
        Some(refresh),
    );
    let mut handle = source.spawn(fleet());
    let started = Instant::now();
    let mut failed_at = None;
    let reading = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(ev) = handle.events.recv().await {
            match ev {
                SourceEvent::Failed {
                    kind: DataKind::Metrics,
                    error,
                    ..
                } => {
                    assert!(matches!(error, SourceError::Throttled(_)), "{error:?}");
                    failed_at = Some(started.elapsed());
                }
                SourceEvent::Reading {
                    reading: Reading::Metrics(m),
                    ..
                } => return m,
                _ => {}
            }
        }
        panic!("events ended before a metrics reading");
    })
    .await
    .expect("recovered within 10 s");
    let failed_at = failed_at.expect("the throttled call was reported first");
    let waited = started.elapsed() - failed_at;
    assert!(
        waited >= Duration::from_millis(950),
        "backed off only {waited:?}: throttling waits 2 × the 1 s interval, jittered to ≥ 1 s"
    );
    assert_eq!(reading.latency_ms["p99"].map(|v| v.round()), Some(95.0));
    assert_eq!(reading.requests_per_s, Some(10.0));
    assert_eq!(rule.num_calls(), 2);
}

/// The weekly review's read (issue 13 §4): one GetMetricData for the region carrying every
/// statistic at 1 h — the charts' p50/p99 and the SLO's p99.9 — whose second page (NextToken)
/// is followed; percentiles come back in ms per statistic, and the SLO is judged on its own.
#[tokio::test]
async fn the_reviews_read_asks_every_percentile_in_one_call_and_follows_next_token() {
    let from = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap();
    let until = from + chrono::Duration::hours(4);
    let start = from.timestamp();
    let h = move |i: i64| start + i * 3600;
    let first = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .match_requests(move |req| {
            let stats: Vec<&str> = req
                .metric_data_queries()
                .iter()
                .filter_map(|q| q.metric_stat().and_then(|s| s.stat()))
                .collect();
            let hourly = req
                .metric_data_queries()
                .iter()
                .all(|q| q.metric_stat().and_then(|s| s.period()) == Some(3600));
            req.next_token().is_none()
                && hourly
                && stats == ["p50", "p99", "p99.9", "Sum", "Sum", "Sum"]
                && req.start_time().map(|t| t.secs()) == Some(h(0))
                && req.end_time().map(|t| t.secs()) == Some(h(4))
        })
        .then_output(move || {
            let mut b = GetMetricDataOutput::builder().next_token("page-2");
            for i in 0..2 {
                b = b
                    .metric_data_results(result("latency2", h(i), 0.150))
                    .metric_data_results(result("requests", h(i), 1000.0))
                    .metric_data_results(result("target5xx", h(i), 2.0));
            }
            b.build()
        });
    let second = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .match_requests(|req| req.next_token() == Some("page-2"))
        .then_output(move || {
            let mut b = GetMetricDataOutput::builder();
            for i in 2..4 {
                b = b
                    .metric_data_results(result("latency0", h(i), 0.020))
                    .metric_data_results(result("latency1", h(i), 0.180))
                    .metric_data_results(result(
                        "latency2",
                        h(i),
                        if i == 3 { 0.320 } else { 0.190 },
                    ))
                    .metric_data_results(result("requests", h(i), 1000.0))
                    .metric_data_results(result("elb5xx", h(i), 8.0));
            }
            b.build()
        });
    let client = mocked!(aws_sdk_cloudwatch, [&first, &second]);
    let f = Fleet::parse(
        &format!("{FLEET}[slo]\nlatency_stat = \"p99.9\"\nlatency_ms = 250.0\n"),
        Path::new("mocked.toml"),
    )
    .unwrap();
    let (series, pages, metrics) =
        opsdeck::report::aws::read_region(&client, &f, &f.regions[0], from, until)
            .await
            .expect("review read");
    assert_eq!((first.num_calls(), second.num_calls(), pages), (1, 1, 2));
    assert_eq!(metrics, 12, "6 queries asked on each of 2 pages");
    assert_eq!(series.step_s, 3600);
    let s = &series.samples;
    assert_eq!(s.len(), 4);
    let ms = |i: usize, stat: &str| {
        s[i].latency_ms
            .get(stat)
            .map(|v| (v * 1000.0).round() / 1000.0)
    };
    assert_eq!((ms(0, "p99.9"), ms(0, "p99")), (Some(150.0), None));
    assert_eq!(
        (ms(3, "p50"), ms(3, "p99"), ms(3, "p99.9")),
        (Some(20.0), Some(180.0), Some(320.0))
    );
    // Target and ELB 5xx add up: 2 + 2 + 8 + 8 of 4,000.
    let a = opsdeck::report::attain::availability(s, 0.999);
    assert_eq!((a.requests, a.bad_requests), (4000.0, 20.0));
    // p99.9 ≤ 250 ms in 3 of the 4 hours.
    let l = opsdeck::report::attain::latency(s, &f.slo_for("eu-west-1"));
    assert_eq!((l.stat.as_str(), l.attained), ("p99.9", Some(0.75)));
}
