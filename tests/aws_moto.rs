//! The AWS source against a moto server seeded with a four-region deployment.
// Each test holds the binary's moto lock for its whole run (that is the point: one test at a
// time per server); every test has its own runtime, so holding it across awaits cannot deadlock.
#![allow(clippy::await_holding_lock)]

mod support;

use opsdeck::app::{self, Action, State};
use opsdeck::fleet::{DataKind, Fleet, Reading, Replication, SourceError};
use opsdeck::source::aws::{connect, discover, AwsOptions};
use opsdeck::source::{Scenario, SourceCommand, SourceEvent};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use support::moto::Moto;
use support::seed::{self, SEEDED};
use support::{collect_until, dead_url, health_server, moto_env, Gate, Seen};

const FAST_REFRESH: &str =
    "[refresh]\nmetrics_s = 1\necs_s = 1\ntopology_s = 1\nroute53_s = 1\ncost_s = 1\nprobe_s = 1\ntimeout_s = 2\nallow_fast = true\n";

/// Every kind the seeded fleet's regions report (none has EKS node groups).
const NO_EKS: [DataKind; 6] = [
    DataKind::Metrics,
    DataKind::Ecs,
    DataKind::Topology,
    DataKind::Route53,
    DataKind::Cost,
    DataKind::Probe,
];

fn names() -> Vec<&'static str> {
    SEEDED.iter().map(|r| r.name).collect()
}

fn opts(moto: &Moto) -> AwsOptions {
    AwsOptions {
        endpoint_url: Some(moto.url()),
        profile: None,
        retries: 0,
        refresh: None,
    }
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-9,
        (None, None) => true,
        _ => false,
    }
}

async fn seeded_fleet(moto: &Moto, refresh: &str) -> (Fleet, seed::Seeded) {
    moto_env();
    let seeded = seed::seed(&moto.url(), moto).await;
    let health = health_server().await;
    let urls = [health.clone(), health.clone(), health, dead_url()];
    let text = seed::fleet_toml(&seeded, &urls, refresh);
    (
        Fleet::parse(&text, Path::new("atlas-moto.toml")).expect("seeded fleet parses"),
        seeded,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_four_region_fleet_reads_back_as_seeded() {
    let moto = Moto::shared();
    let (fleet, seeded) = seeded_fleet(&moto, "").await;
    let source = connect(&fleet, &opts(&moto))
        .await
        .expect("connect to moto");
    assert!(
        source.identity().contains("123456789012"),
        "identity {}",
        source.identity()
    );
    let mut handle = source.spawn(fleet.clone());
    let mut seen = Seen::default();
    let all = collect_until(&mut handle, &mut seen, Duration::from_secs(30), |s| {
        s.has_all(&names(), &NO_EKS)
    })
    .await;
    assert!(
        all,
        "not every region reported every kind: {:#?}",
        seen.latest
    );

    let primary_arn_part = format!("db:{}", SEEDED[0].db);
    for r in &SEEDED {
        let Reading::Metrics(m) = seen.reading(r.name, DataKind::Metrics) else {
            unreachable!()
        };
        let mean = (!r.latency_s.is_empty())
            .then(|| r.latency_s.iter().sum::<f64>() / r.latency_s.len() as f64 * 1000.0);
        assert!(
            close(m.latency_ms["Average"], mean),
            "{}: latency {:?} vs {mean:?}",
            r.name,
            m.latency_ms
        );
        assert!(
            close(m.requests_per_s, Some(r.requests / 60.0)),
            "{}: rps {:?}",
            r.name,
            m.requests_per_s
        );
        let rate = if r.requests > 0.0 {
            (r.target_5xx + r.elb_5xx) / r.requests
        } else {
            0.0
        };
        assert!(
            close(m.error_rate, Some(rate)),
            "{}: 5xx rate {:?} vs {rate}",
            r.name,
            m.error_rate
        );
        let lag = r.replica_lag_s.filter(|l| *l >= 0.0);
        assert!(
            close(m.replica_lag_s, lag),
            "{}: lag {:?} vs {lag:?}",
            r.name,
            m.replica_lag_s
        );
        let total = r.cache_hits + r.cache_misses;
        let ratio = (total > 0.0).then(|| r.cache_hits / total);
        assert!(
            close(m.cache_hit_ratio, ratio),
            "{}: cache {:?} vs {ratio:?}",
            r.name,
            m.cache_hit_ratio
        );

        let Reading::Ecs(services) = seen.reading(r.name, DataKind::Ecs) else {
            unreachable!()
        };
        let got: Vec<(&str, i64)> = services
            .iter()
            .map(|s| (s.service.as_str(), s.desired))
            .collect();
        let want: Vec<(&str, i64)> = r
            .services
            .iter()
            .map(|(s, d)| (*s, i64::from(*d)))
            .collect();
        assert_eq!(got, want, "{}: ECS services", r.name);
        assert!(
            services
                .iter()
                .all(|s| s.cluster == r.cluster && s.running + s.pending == s.desired),
            "{services:?}"
        );

        let Reading::Topology(topology) = seen.reading(r.name, DataKind::Topology) else {
            unreachable!()
        };
        match (r.name, r.replica_lag_s, topology) {
            (seed::PRIMARY, _, Replication::Primary { instance, status }) => {
                assert_eq!((instance.as_str(), status.as_str()), (r.db, "available"))
            }
            (
                _,
                Some(l),
                Replication::Broken {
                    instance, reason, ..
                },
            ) if l < 0.0 => {
                assert_eq!(instance, r.db);
                assert!(reason.contains("ReplicaLag"), "{reason}");
            }
            (
                _,
                Some(_),
                Replication::Replica {
                    instance, source, ..
                },
            ) => {
                assert_eq!(instance, r.db);
                assert!(
                    source.ends_with(&primary_arn_part),
                    "{} replicates from {source}",
                    r.name
                );
            }
            (name, _, other) => panic!("{name}: unexpected topology {other:?}"),
        }

        let Reading::Route53(dns) = seen.reading(r.name, DataKind::Route53) else {
            unreachable!()
        };
        assert_eq!(dns.weight, Some(r.weight), "{}: weight", r.name);
        assert_eq!(
            dns.healthy,
            r.health_check.then_some(true),
            "{}: health check",
            r.name
        );

        let Reading::Cost(cost) = seen.reading(r.name, DataKind::Cost) else {
            unreachable!()
        };
        assert!(
            close(cost.month_to_date_usd, Some(r.cost_usd.unwrap_or(0.0))),
            "{}: cost {cost:?}",
            r.name
        );
        assert!(
            cost.forecast_is_projection && cost.forecast_usd >= cost.month_to_date_usd,
            "{cost:?}"
        );

        let Reading::Probe(probe) = seen.reading(r.name, DataKind::Probe) else {
            unreachable!()
        };
        if r.name == "us-west-2" {
            assert_eq!(
                probe.http_status, None,
                "nobody listens on us-west-2's health URL"
            );
        } else {
            assert_eq!(
                (probe.http_status, probe.status.as_deref()),
                (Some(200), Some("ok"))
            );
            assert_eq!(probe.replicas.len(), 3);
            assert!(probe.rtt_ms > 0.0);
        }
    }
    assert_eq!(seeded.health_checks.len(), 2);

    // The same events drive the console state; the snapshot contract reports what was seeded.
    let mut state = State::new(
        fleet.clone(),
        opsdeck::fleet::SourceKind::Aws,
        chrono::Utc::now(),
    );
    for ev in seen.events.clone() {
        app::update(&mut state, Action::Source(ev));
    }
    let snap = serde_json::to_value(app::snapshot::build(&state)).expect("snapshot json");
    let regions = snap["regions"].as_array().expect("regions");
    assert_eq!(regions.len(), 4);
    assert!(
        regions[0]["replica_lag_s"].is_null(),
        "a primary has no replica lag: {}",
        regions[0]
    );
    assert_eq!(regions[1]["replica_lag_s"], 2.5);
    assert_eq!(regions[2]["route53"]["weight"], 10);
    assert_eq!(regions[3]["replication"], "broken");
    assert_eq!(regions[0]["cost"]["month_to_date_usd"], 905.25);
    assert_eq!(regions[1]["ecs"][1]["desired"], 2);

    // Scenarios belong to the simulator; Shutdown ends the source.
    handle
        .commands
        .send(SourceCommand::Inject {
            region: "us-east-1".into(),
            scenario: Scenario::Outage,
        })
        .unwrap();
    handle.commands.send(SourceCommand::Shutdown).unwrap();
    let mut note = false;
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(ev) = handle.events.recv().await {
            if let SourceEvent::Note { text, .. } = ev {
                note |= text.contains("only on the simulated fleet");
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the event channel closes after Shutdown");
    assert!(note, "Inject is answered with a note");
}

/// (region, operation) of one request moto recorded.
fn operation(entry: &serde_json::Value) -> (String, String) {
    let headers = &entry["headers"];
    let auth = headers["Authorization"].as_str().unwrap_or_default();
    let region = auth
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').nth(2))
        .unwrap_or("?")
        .to_string();
    if let Some(target) = headers["X-Amz-Target"].as_str() {
        return (
            region,
            target.rsplit('.').next().unwrap_or(target).to_string(),
        );
    }
    let body = entry["body"].as_str().unwrap_or_default();
    let body = if entry["body_encoded"].as_bool() == Some(true) {
        String::from_utf8(aws_smithy_types::base64::decode(body).expect("base64 body"))
            .unwrap_or_default()
    } else {
        body.to_string()
    };
    if let Some(action) = body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        return (region, action.to_string());
    }
    let url = entry["url"].as_str().unwrap_or_default();
    let op = if url.contains("/rrset") {
        "ListResourceRecordSets"
    } else if url.contains("/healthcheck/") && url.contains("/status") {
        "GetHealthCheckStatus"
    } else {
        url
    };
    (region, op.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_refresh_makes_one_get_metric_data_call_per_region() {
    let moto = Moto::shared();
    let (fleet, _) = seeded_fleet(&moto, "").await;
    moto.start_recording();
    let source = connect(&fleet, &opts(&moto)).await.expect("connect");
    let mut handle = source.spawn(fleet.clone());
    let mut seen = Seen::default();
    let kinds = [
        DataKind::Metrics,
        DataKind::Ecs,
        DataKind::Topology,
        DataKind::Route53,
        DataKind::Cost,
    ];
    assert!(
        collect_until(&mut handle, &mut seen, Duration::from_secs(30), |s| s
            .has_all(&names(), &kinds))
        .await
    );
    // A manual refresh: everything again, except Cost Explorer ($0.01 a call) within five minutes.
    handle.commands.send(SourceCommand::Refresh).unwrap();
    let twice = |s: &Seen| {
        let count = |k: DataKind| {
            s.events
                .iter()
                .filter(
                    |e| matches!(e, SourceEvent::Reading { reading, .. } if reading.kind() == k),
                )
                .count()
        };
        count(DataKind::Metrics) == 8
            && count(DataKind::Ecs) == 8
            && count(DataKind::Route53) == 8
            && {
                // Topology readings are one per fetch plus a re-statement when ReplicaLag = -1 is
                // seen, so their count cannot say the second fetch happened: wait for the calls
                // themselves (each region's second DescribeDBInstances, asserted below).
                let recorded = moto.recorded();
                SEEDED.iter().all(|r| {
                    recorded
                        .iter()
                        .filter(|e| {
                            operation(e) == (r.name.to_string(), "DescribeDBInstances".to_string())
                        })
                        .count()
                        >= 2
                })
            }
    };
    assert!(
        collect_until(&mut handle, &mut seen, Duration::from_secs(30), twice).await,
        "second round"
    );
    handle.commands.send(SourceCommand::Shutdown).unwrap();
    moto.stop_recording();

    let mut calls: BTreeMap<(String, String), usize> = BTreeMap::new();
    for entry in moto.recorded() {
        *calls.entry(operation(&entry)).or_default() += 1;
    }
    let count = |region: &str, op: &str| {
        calls
            .get(&(region.to_string(), op.to_string()))
            .copied()
            .unwrap_or(0)
    };
    for r in &SEEDED {
        assert_eq!(
            count(r.name, "GetMetricData"),
            2,
            "{}: one GetMetricData per refresh; all calls: {calls:?}",
            r.name
        );
        // us-east-1 has two services in one cluster: still one DescribeServices per refresh.
        assert_eq!(
            count(r.name, "DescribeServices"),
            2,
            "{}: {calls:?}",
            r.name
        );
        assert_eq!(
            count(r.name, "DescribeDBInstances"),
            2,
            "{}: {calls:?}",
            r.name
        );
    }
    let global = |op: &str| {
        calls
            .iter()
            .filter(|((_, o), _)| o == op)
            .map(|(_, n)| n)
            .sum::<usize>()
    };
    assert_eq!(
        global("ListResourceRecordSets"),
        2,
        "Route53 is read once per refresh for all regions: {calls:?}"
    );
    assert_eq!(
        global("GetHealthCheckStatus"),
        4,
        "two health checks, two refreshes: {calls:?}"
    );
    assert_eq!(
        global("GetCostAndUsage"),
        1,
        "Cost Explorer once, cached through the manual refresh: {calls:?}"
    );
    assert_eq!(global("GetCallerIdentity"), 1);
}

/// The endpoint goes away mid-session (a gate in front of moto closes: connections refused, open
/// ones cut; moto keeps its state) and comes back on the same port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_endpoint_goes_stale_with_the_reason_and_recovers() {
    let moto = Moto::shared();
    let (fleet, _) = seeded_fleet(&moto, FAST_REFRESH).await;
    let mut gate = Gate::new(moto.port).await;
    let opts = AwsOptions {
        endpoint_url: Some(gate.url()),
        ..opts(&moto)
    };
    let source = connect(&fleet, &opts).await.expect("connect");
    let mut handle = source.spawn(fleet.clone());
    let mut seen = Seen::default();
    assert!(
        collect_until(&mut handle, &mut seen, Duration::from_secs(30), |s| s
            .has_all(&names(), &NO_EKS))
        .await
    );

    gate.close();
    let aws_kinds = [
        DataKind::Metrics,
        DataKind::Ecs,
        DataKind::Topology,
        DataKind::Route53,
        DataKind::Cost,
    ];
    let all_unreachable = |s: &Seen| {
        names().iter().all(|r| {
            aws_kinds
                .iter()
                .all(|k| matches!(s.error(r, *k), Some(SourceError::Unreachable(_))))
        })
    };
    let stale = collect_until(
        &mut handle,
        &mut seen,
        Duration::from_secs(30),
        all_unreachable,
    )
    .await;
    assert!(
        stale,
        "every AWS kind of every region fails as Unreachable: {:#?}",
        seen.latest
    );
    assert!(
        matches!(seen.reading("eu-west-1", DataKind::Probe), Reading::Probe(p) if p.http_status == Some(200))
    );

    let mut state = State::new(
        fleet.clone(),
        opsdeck::fleet::SourceKind::Aws,
        chrono::Utc::now(),
    );
    for ev in seen.events.clone() {
        app::update(&mut state, Action::Source(ev));
    }
    let eu = &state.regions[0];
    assert!(eu.metrics.is_some(), "the last good metrics stay on screen");
    let label = eu
        .stale_label(DataKind::Metrics, state.now)
        .expect("metrics are stale");
    assert!(
        label.starts_with("stale ") && label.contains("Unreachable"),
        "{label}"
    );

    gate.open().await;
    seen.latest.clear();
    let all_good = |s: &Seen| {
        s.has_all(&names(), &aws_kinds)
            && names()
                .iter()
                .all(|r| aws_kinds.iter().all(|k| s.error(r, *k).is_none()))
    };
    assert!(
        collect_until(&mut handle, &mut seen, Duration::from_secs(30), all_good).await,
        "{:#?}",
        seen.latest
    );
    let Reading::Metrics(m) = seen.reading("eu-west-1", DataKind::Metrics) else {
        unreachable!()
    };
    assert!(close(m.requests_per_s, Some(10.0)), "{m:?}");
    let Reading::Route53(dns) = seen.reading("eu-west-1", DataKind::Route53) else {
        unreachable!()
    };
    assert_eq!(dns.weight, Some(70));
    handle.commands.send(SourceCommand::Shutdown).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discover_writes_a_fleet_file_of_what_the_account_holds() {
    let moto = Moto::shared();
    let (_, seeded) = seeded_fleet(&moto, "").await;
    // Something else in the account that carries no `app = atlas` tag.
    let eu = aws_sdk_ecs::Client::from_conf(
        aws_sdk_ecs::config::Builder::from(&seed::sdk_config(&moto.url()))
            .region(aws_config::Region::new("eu-west-1"))
            .build(),
    );
    eu.create_cluster()
        .cluster_name("legacy")
        .send()
        .await
        .unwrap();
    eu.create_service()
        .cluster("legacy")
        .service_name("cron")
        .task_definition("api")
        .desired_count(1)
        .send()
        .await
        .unwrap();
    let regions: Vec<String> = names().iter().map(|s| s.to_string()).collect();

    let text = discover(&regions, None, &opts(&moto))
        .await
        .expect("discover");
    let fleet =
        Fleet::parse(&text, Path::new("discovered.toml")).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(
        fleet
            .regions
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>(),
        names()
    );
    assert_eq!(
        fleet.primary().map(|r| r.name.as_str()),
        Some(seed::PRIMARY),
        "{text}"
    );
    for (spec, r) in fleet.regions.iter().zip(&SEEDED) {
        assert_eq!(spec.rds.as_deref(), Some(r.db), "{text}");
        let mut services: Vec<(&str, &str)> = spec
            .ecs
            .iter()
            .map(|s| (s.cluster.as_str(), s.service.as_str()))
            .collect();
        let mut want: Vec<(&str, &str)> = r.services.iter().map(|(s, _)| (r.cluster, *s)).collect();
        if r.name == "eu-west-1" {
            want.push(("legacy", "cron"));
        }
        services.sort();
        want.sort();
        assert_eq!(services, want, "{text}");
        let route53 = spec.route53.as_ref().expect("weighted record found");
        assert_eq!(
            (route53.zone_id.as_str(), route53.set_identifier.as_str()),
            (seeded.zone_id.as_str(), r.name)
        );
        assert!(seed::RECORD.starts_with(route53.record.trim_end_matches('.')));
        // Load balancers and caches are found through the metrics they publish.
        let has_traffic = r.requests > 0.0;
        assert_eq!(spec.alb.as_deref(), has_traffic.then_some(r.alb), "{text}");
        assert_eq!(
            spec.cache.as_deref(),
            (r.cache_hits + r.cache_misses > 0.0).then_some(r.cache),
            "{text}"
        );
    }
    assert!(
        text.contains("health_url") && text.contains("not discoverable"),
        "{text}"
    );

    // With a tag, only what carries it: the untagged `legacy` cluster is left out.
    let tagged = discover(&regions, Some(("app".into(), "atlas".into())), &opts(&moto))
        .await
        .expect("discover by tag");
    let fleet = Fleet::parse(&tagged, Path::new("tagged.toml")).expect("parses");
    assert_eq!(fleet.name, "atlas");
    let eu: Vec<&str> = fleet.regions[0]
        .ecs
        .iter()
        .map(|s| s.cluster.as_str())
        .collect();
    assert_eq!(eu, ["atlas-eu"], "{tagged}");
    assert!(fleet.regions.iter().all(|r| r.rds.is_some()), "{tagged}");
}
