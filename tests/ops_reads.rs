//! How deep and how many: the AWS calls an operation's plan makes, counted by a forwarding proxy
//! in front of moto (`support::fault_proxy`).
// Each test holds the binary's moto lock for its whole run.
#![allow(clippy::await_holding_lock)]

mod support;

use std::time::Duration;
use support::fault_proxy::{Fault, FaultProxy, Span, Stats};
use support::moto::Moto;

fn span(call: &str, received_ms: u64, answered_ms: u64) -> Span {
    Span {
        call: call.into(),
        received: Duration::from_millis(received_ms),
        answered: Duration::from_millis(answered_ms),
    }
}

#[test]
fn depth_counts_calls_that_waited_for_an_answer() {
    let stats = |spans: Vec<Span>| Stats {
        requests: spans.len(),
        max_in_flight: 0,
        spans,
    };
    assert_eq!(stats(vec![]).depth(), 0);
    // Four at once, then two that needed their answers: two round trips.
    let two = stats(vec![
        span("a", 0, 100),
        span("b", 1, 102),
        span("c", 2, 101),
        span("d", 3, 103),
        span("e", 103, 200),
        span("f", 104, 210),
    ]);
    assert_eq!(two.depth(), 2);
    // One after the other: as deep as the calls are many.
    let chain = stats(vec![span("a", 0, 10), span("b", 10, 20), span("c", 21, 30)]);
    assert_eq!(chain.depth(), 3);
    assert_eq!(chain.calls(), ["a", "b", "c"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_forwards_to_moto_and_counts_what_was_in_flight() {
    let moto = Moto::shared();
    support::moto_env();
    let proxy = FaultProxy::start(&moto.url(), Fault::Delay(Duration::from_millis(500)))
        .await
        .unwrap();
    let config = support::seed::sdk_config(&proxy.url());
    let ecs = aws_sdk_ecs::Client::new(&config);
    // Two calls at once, then one that waits for them.
    let (a, b) = tokio::join!(
        ecs.list_clusters().send(),
        ecs.create_cluster().cluster_name("c1").send()
    );
    a.unwrap();
    b.unwrap();
    let out = ecs.list_clusters().send().await.unwrap();
    assert_eq!(out.cluster_arns().len(), 1, "the answer came from moto");
    let stats = proxy.stats();
    assert_eq!(stats.requests, 3);
    assert_eq!(stats.max_in_flight, 2);
    assert_eq!(stats.depth(), 2, "{stats:?}");
    let mut calls = stats.calls();
    calls.sort();
    assert_eq!(calls, ["CreateCluster", "ListClusters", "ListClusters"]);
    let json: serde_json::Value = reqwest::get(format!("{}/__proxy/stats", proxy.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (json["requests"].as_u64(), json["depth"].as_u64()),
        (Some(3), Some(2))
    );
    proxy.reset();
    assert_eq!(proxy.stats(), Stats::default());
}
