//! An endpoint that accepts connections and never answers: every call ends at the time limit,
//! STS included (the identity is then "unknown", and the source still starts).

mod support;

use opsdeck::fleet::{DataKind, Fleet, Reading, RefreshConfig, SourceError};
use opsdeck::source::aws::{connect, AwsOptions};
use std::path::Path;
use std::time::{Duration, Instant};
use support::{collect_until, moto_env, Seen};

const FLEET: &str = r#"
name = "silent"
[metrics]
latency_stats = ["Average"]
[[region]]
name = "eu-west-1"
role = "primary"
alb = "app/atlas-eu/50dc6c495c0c9188"
ecs = [{ cluster = "atlas-eu", service = "api" }]
rds = "atlas-db-eu"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_endpoint_times_out_every_call_without_blocking_the_others() {
    moto_env();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock); // read nothing, answer nothing
        }
    });
    let fleet = Fleet::parse(FLEET, Path::new("silent.toml")).unwrap();
    let refresh = RefreshConfig {
        timeout_s: 1,
        ..RefreshConfig::default()
    };
    let opts = AwsOptions {
        endpoint_url: Some(format!("http://127.0.0.1:{port}")),
        profile: None,
        retries: 0,
        refresh: Some(refresh),
    };
    let started = Instant::now();
    let source = connect(&fleet, &opts)
        .await
        .expect("STS timing out is not fatal");
    assert_eq!(source.identity(), "unknown");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "connect waited {:?}",
        started.elapsed()
    );

    let mut handle = source.spawn(fleet);
    let mut seen = Seen::default();
    let kinds = [
        DataKind::Metrics,
        DataKind::Ecs,
        DataKind::Topology,
        DataKind::Route53,
        DataKind::Cost,
    ];
    let started = Instant::now();
    assert!(
        collect_until(&mut handle, &mut seen, Duration::from_secs(10), |s| s
            .has_all(&["eu-west-1"], &kinds))
        .await
    );
    // Fetched side by side: all five time out together, not one after another.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    for k in [
        DataKind::Metrics,
        DataKind::Ecs,
        DataKind::Topology,
        DataKind::Cost,
    ] {
        assert!(
            matches!(seen.error("eu-west-1", k), Some(SourceError::Timeout(_))),
            "{k:?}: {:?}",
            seen.latest
        );
    }
    // No `route53` in the fleet: nothing to ask, an empty state, no call.
    assert_eq!(
        seen.reading("eu-west-1", DataKind::Route53),
        &Reading::Route53(Default::default())
    );
}
