//! EKS against moto (issue 11, point 3): a cluster and managed node groups in moto; `snapshot`
//! shows each node group's desired/min/max/status (DescribeNodegroup) and its service's running
//! pods (Container Insights, in the region's one GetMetricData call); `act scale --nodegroup` goes
//! through the pipeline and reads the node group back; a size beyond max is refused unless the
//! plan raises max (`--max`).
#![allow(clippy::await_holding_lock)]

mod support;

use serde_json::Value;
use std::path::PathBuf;
use std::process::Output;
use support::eks;
use support::moto::Moto;
use support::moto_env;

const REGION: &str = "us-east-1";
const CLUSTER: &str = "kaldrix-use1";

struct Deployment {
    endpoint: String,
    fleet: PathBuf,
    dir: tempfile::TempDir,
}

impl Deployment {
    fn opsdeck(&self, args: &[&str]) -> Output {
        eks::opsdeck(self.dir.path(), &self.fleet, &self.endpoint, args)
    }

    async fn read(&self, ng: &str) -> (i32, i32, i32, String) {
        eks::read(&self.endpoint, REGION, CLUSTER, ng).await
    }
}

/// An api node group 3 in 2..6 with 12 running pods reported, and a workers group without
/// Container Insights data; a second region on ECS so the fleet has a primary elsewhere.
async fn deploy(moto: &Moto) -> Deployment {
    moto_env();
    let endpoint = moto.url();
    eks::create(
        &endpoint,
        REGION,
        &[(CLUSTER, "api", 3, 2, 6), (CLUSTER, "workers", 2, 1, 4)],
    )
    .await;
    eks::put_running_pods(&endpoint, REGION, (CLUSTER, "kaldrix", "kaldrix-api"), 12.0).await;
    let text = format!(
        r#"name = "kaldrix-moto"

[metrics]
latency_stats = ["Average"]

[refresh]
timeout_s = 3

[guards]
cooldown_s = 600

[[region]]
name = "eu-west-1"
role = "primary"

[[region]]
name = "{REGION}"
role = "secondary"
eks = [
  {{ cluster = "{CLUSTER}", nodegroup = "api", namespace = "kaldrix", service = "kaldrix-api" }},
  {{ cluster = "{CLUSTER}", nodegroup = "workers", namespace = "kaldrix", service = "kaldrix-workers" }},
]
"#
    );
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("kaldrix-moto.toml");
    std::fs::write(&fleet, text).unwrap();
    Deployment {
        endpoint,
        fleet,
        dir,
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)))
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_snapshot_shows_each_node_group_and_its_running_pods() {
    let moto = Moto::shared();
    let d = deploy(&moto).await;
    let out = d.opsdeck(&["snapshot", "--format", "json"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let j = json(&out);
    let us = j["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == REGION)
        .unwrap();
    let eks = us["eks"].as_array().unwrap();
    assert_eq!(eks.len(), 2, "{us:#}");
    let api = &eks[0];
    assert_eq!(
        (
            &api["cluster"],
            &api["nodegroup"],
            &api["desired"],
            &api["min"],
            &api["max"],
            &api["status"]
        ),
        (
            &Value::from(CLUSTER),
            &Value::from("api"),
            &Value::from(3),
            &Value::from(2),
            &Value::from(6),
            &Value::from("ACTIVE")
        ),
        "{api:#}"
    );
    assert_eq!(api["running_pods"].as_f64(), Some(12.0), "{api:#}");
    // No Container Insights data for the workers' service: null, never 0.
    assert_eq!(eks[1]["desired"], 2);
    assert_eq!(eks[1]["running_pods"], Value::Null, "{:#}", eks[1]);
    assert!(us["errors"].as_array().unwrap().is_empty(), "{us:#}");
    // A region without node groups says so with an empty list.
    let eu = &j["regions"][0];
    assert_eq!(eu["eks"], Value::Array(Vec::new()));

    let out = d.opsdeck(&["snapshot"]);
    let table = text(&out.stdout);
    assert!(table.contains("EKS des/min/max pods"), "{table}");
    assert!(table.contains("3/2/6 12 2/1/4 —"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_a_node_group_goes_through_the_pipeline_and_reads_back() {
    let moto = Moto::shared();
    let d = deploy(&moto).await;
    let scale = |desired: &'static str| {
        [
            "act",
            "scale",
            "--region",
            REGION,
            "--nodegroup",
            "api",
            "--desired",
            desired,
        ]
    };
    let exec = [
        "--execute",
        "--confirm",
        REGION,
        "--allow-actions",
        "--format",
        "json",
    ];

    // Within min..max: planned, confirmed, audited, applied, read back.
    let out = d.opsdeck(&[&scale("5")[..], &exec[..]].concat());
    assert_eq!(
        code(&out),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["outcome"]["result"]["status"], "applied", "{v:#}");
    let calls = v["plan"]["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{v:#}");
    assert_eq!(calls[0]["operation"], "UpdateNodegroupConfig");
    assert_eq!(calls[0]["params"]["scalingConfig"]["desiredSize"], 5);
    assert_eq!(d.read("api").await, (5, 2, 6, "ACTIVE".to_string()));
    assert_eq!(v["plan"]["undo"]["kind"], "scale_nodegroup");
    assert_eq!(v["plan"]["undo"]["desired"], 3);
    let audit = std::fs::read_to_string(d.dir.path().join("audit.jsonl")).unwrap();
    assert!(
        audit.lines().count() >= 2 && audit.contains("UpdateNodegroupConfig"),
        "{audit}"
    );

    // Beyond max: refused with the way out, nothing sent, nothing changed.
    let out = d.opsdeck(&scale("8"));
    assert_eq!(code(&out), Some(2), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(err.contains("above") && err.contains("--max 8"), "{err}");
    assert_eq!(d.read("api").await.0, 5);

    // With --max the plan raises the max with the size (a second resource, no cooldown).
    let out = d.opsdeck(
        &[
            &["act", "scale", "--region", REGION, "--nodegroup", "workers"][..],
            &["--desired", "6", "--max", "8"][..],
            &exec[..],
        ]
        .concat(),
    );
    assert_eq!(
        code(&out),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let v = json(&out);
    let changes: Vec<(String, String, String)> = v["plan"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["field"].as_str().unwrap().to_string(),
                c["before"].as_str().unwrap().to_string(),
                c["after"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("maxSize".to_string(), "4".to_string(), "8".to_string()),
            ("desiredSize".to_string(), "2".to_string(), "6".to_string())
        ]
    );
    assert_eq!(d.read("workers").await, (6, 1, 8, "ACTIVE".to_string()));
    assert_eq!(v["plan"]["undo"]["max"], 4, "{v:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discover_writes_the_node_groups_it_finds() {
    let moto = Moto::shared();
    let d = deploy(&moto).await;
    let out = eks::opsdeck(
        d.dir.path(),
        &d.fleet,
        &d.endpoint,
        &["discover", "--regions", &format!("eu-west-1,{REGION}")],
    );
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let written = text(&out.stdout);
    let fleet = opsdeck::fleet::Fleet::parse(&written, std::path::Path::new("discovered.toml"))
        .unwrap_or_else(|e| panic!("{e}\n{written}"));
    let us = fleet.region(REGION).unwrap();
    let groups: Vec<(&str, &str)> = us
        .eks
        .iter()
        .map(|g| (g.cluster.as_str(), g.nodegroup.as_str()))
        .collect();
    assert_eq!(
        groups,
        [(CLUSTER, "api"), (CLUSTER, "workers")],
        "{written}"
    );
    assert!(
        written.contains("guess: namespace and service"),
        "the names EKS does not list are marked: {written}"
    );
    assert!(fleet.region("eu-west-1").unwrap().eks.is_empty());
}
