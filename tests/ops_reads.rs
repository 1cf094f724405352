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

/// The seeded four-region fleet behind a proxy, and the `opsdeck` binary pointed at the proxy.
struct Bench {
    proxy: FaultProxy,
    fleet: std::path::PathBuf,
    dir: tempfile::TempDir,
}

/// A delay long enough that calls made at once overlap even on a loaded machine: the depth counts
/// only calls that were received after another's answer.
const DELAY: Duration = Duration::from_millis(400);

async fn bench(moto: &Moto) -> Bench {
    support::moto_env();
    let seeded = support::seed::seed(&moto.url(), moto).await;
    let urls: Vec<String> = support::seed::SEEDED
        .iter()
        .map(|_| support::dead_url())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("atlas-moto.toml");
    std::fs::write(&fleet, support::seed::fleet_toml(&seeded, &urls, "")).unwrap();
    let proxy = FaultProxy::start(&moto.url(), Fault::Delay(DELAY))
        .await
        .unwrap();
    Bench { proxy, fleet, dir }
}

impl Bench {
    /// The opsdeck binary against the proxy, with a fresh state directory.
    fn opsdeck(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
            .arg("--fleet")
            .arg(&self.fleet)
            .args(["--endpoint-url", &self.proxy.url(), "--audit-log"])
            .arg(self.dir.path().join("audit.jsonl"))
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("OPSDECK_STATE_DIR", self.dir.path())
            .env("OPSDECK_CONFIG", self.dir.path().join("config"))
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_SESSION_TOKEN")
            .output()
            .expect("run opsdeck")
    }

    /// Run opsdeck; the calls it made (sorted) and their depth.
    fn run(&self, args: &[&str]) -> (Vec<String>, usize, serde_json::Value) {
        let (mut calls, depth, json) = self.run_in_order(args);
        calls.sort();
        (calls, depth, json)
    }

    /// Run opsdeck; the calls it made in the order the proxy received them, and their depth.
    fn run_in_order(&self, args: &[&str]) -> (Vec<String>, usize, serde_json::Value) {
        self.proxy.reset();
        let out = self.opsdeck(&[args, &["--format", "json"]].concat());
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        let json = serde_json::from_slice(&out.stdout).expect("JSON");
        let stats = self.proxy.stats();
        let calls = stats.calls();
        assert_eq!(stats.requests, calls.len());
        (calls, stats.depth(), json)
    }
}

/// `n` times each call name, sorted.
fn expect(counts: &[(&str, usize)]) -> Vec<String> {
    let mut v: Vec<String> = counts
        .iter()
        .flat_map(|(c, n)| std::iter::repeat_n(c.to_string(), *n))
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_and_the_what_if_read_every_region_at_once_in_two_round_trips() {
    use support::seed::SEEDED;
    let moto = Moto::shared();
    let b = bench(&moto).await;
    let regions = SEEDED.len();
    let checks = SEEDED.iter().filter(|r| r.health_check).count();
    // One DescribeServices per cluster, one DescribeDBInstances and one GetMetricData per region,
    // one listing for the shared record name, then its health checks (status and inversion).
    let per_region = [
        ("DescribeServices", regions),
        ("DescribeDBInstances", regions),
        ("GetMetricData", regions),
        ("ListResourceRecordSets", 1),
        ("GetHealthCheckStatus", checks),
        ("GetHealthCheck", checks),
    ];

    let (calls, depth, plan) = b.run(&["act", "drain", "--region", "us-east-1"]);
    assert_eq!(
        calls,
        expect(&per_region),
        "a drain reads no autoscaling bounds"
    );
    // Two on an idle machine (the listing, then the health checks; everything else alongside it);
    // one spare round trip for a machine so loaded that calls made at once did not overlap.
    assert!(depth <= 3, "{depth} round trips deep");
    assert_eq!(plan["plan"]["changes"][0]["before"], "20", "{plan:#}");
    assert!(
        plan["plan"]["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("its 20 req/s moves to eu-west-1 (weight 70), ap-southeast-1 (weight 10)"),
        "request rates and which regions serve came through: {plan:#}"
    );

    // A scale reads the bounds of its own region only.
    let (calls, depth, plan) = b.run(&[
        "act",
        "scale",
        "--region",
        "eu-west-1",
        "--service",
        "api",
        "--desired",
        "5",
    ]);
    let mut scale = per_region.to_vec();
    scale.push(("DescribeScalableTargets", 1));
    assert_eq!(calls, expect(&scale));
    assert!(depth <= 3, "{depth} round trips deep");
    assert_eq!(plan["plan"]["changes"][0]["field"], "desiredCount");

    // The what-if needs everything, bounds of every region included.
    let (calls, depth, what_if) = b.run(&["simulate", "--fail", "eu-west-1"]);
    let mut all = per_region.to_vec();
    all.push(("DescribeScalableTargets", regions));
    assert_eq!(calls, expect(&all));
    assert!(depth <= 3, "{depth} round trips deep");
    assert_eq!(what_if["promotion"]["region"], "us-east-1", "{what_if:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_reads_back_only_the_changed_record() {
    let moto = Moto::shared();
    let b = bench(&moto).await;
    let (calls, _, out) = b.run_in_order(&[
        "act",
        "drain",
        "--region",
        "us-east-1",
        "--allow-actions",
        "--execute",
        "--confirm",
        "us-east-1",
    ]);
    assert_eq!(out["outcome"]["result"]["status"], "applied", "{out:#}");
    let change = calls
        .iter()
        .position(|c| c == "ChangeResourceRecordSets")
        .expect("the change was made");
    let after = &calls[change + 1..];
    assert!(
        after
            .iter()
            .all(|c| c == "GetChange" || c == "ListResourceRecordSets"),
        "after the change only its status and the record are read: {after:?}"
    );
    assert_eq!(
        after.last().map(String::as_str),
        Some("ListResourceRecordSets"),
        "{after:?}"
    );
    assert_eq!(
        after
            .iter()
            .filter(|c| *c == "ListResourceRecordSets")
            .count(),
        1,
        "moto applies at once: one read back verifies it: {after:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_read_names_the_region_the_service_and_the_kind_of_error() {
    let moto = Moto::shared();
    let b = bench(&moto).await;
    let text = std::fs::read_to_string(&b.fleet).unwrap();
    let broken = text.replace("rds = \"atlas-db-us\"", "rds = \"atlas-db-gone\"");
    assert_ne!(broken, text);
    std::fs::write(&b.fleet, broken).unwrap();
    let out = b.opsdeck(&["act", "drain", "--region", "eu-west-1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("us-east-1: RDS: not found"),
        "no plan on a partial view, and the reason says where: {stderr}"
    );
}
