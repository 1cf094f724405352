//! Guarded operations against a moto server seeded with the four-region deployment: the real
//! binary changes Route53, ECS, Application Auto Scaling and RDS, and the values are read back
//! with the SDK.
// Each test holds the binary's moto lock for its whole run; each has its own runtime.
#![allow(clippy::await_holding_lock)]

mod support;

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};
use support::moto::Moto;
use support::seed::{self, RECORD, SEEDED};
use support::{dead_url, moto_env};

struct Deployment {
    endpoint: String,
    zone_id: String,
    fleet: PathBuf,
    dir: tempfile::TempDir,
}

/// Seed moto; write the fleet file. The cooldown is far longer than any test takes; a command
/// "after" it runs with its clock shifted past it (the `CLOCK_OFFSET_ENV` hook), nobody sleeps.
const COOLDOWN_S: u64 = 600;
/// Seconds a command run "after the cooldown" is ahead of the wall clock.
const AFTER_COOLDOWN: u64 = COOLDOWN_S + 1;

async fn deploy(moto: &Moto) -> Deployment {
    moto_env();
    let seeded = seed::seed(&moto.url(), moto).await;
    let urls: Vec<String> = SEEDED.iter().map(|_| dead_url()).collect();
    let mut text = seed::fleet_toml(&seeded, &urls, "");
    text.push_str(&format!("[guards]\ncooldown_s = {COOLDOWN_S}\n"));
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("atlas-moto.toml");
    std::fs::write(&fleet, text).unwrap();
    Deployment {
        endpoint: moto.url(),
        zone_id: seeded.zone_id,
        fleet,
        dir,
    }
}

impl Deployment {
    fn audit(&self) -> PathBuf {
        self.dir.path().join("audit.jsonl")
    }

    fn opsdeck(&self, args: &[&str]) -> Output {
        self.opsdeck_later(0, args)
    }

    /// Run opsdeck with its clock `offset_s` seconds ahead of the wall clock.
    fn opsdeck_later(&self, offset_s: u64, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_opsdeck"))
            .env(
                opsdeck::fleet::clock::CLOCK_OFFSET_ENV,
                offset_s.to_string(),
            )
            .arg("--fleet")
            .arg(&self.fleet)
            .args(["--endpoint-url", &self.endpoint, "--audit-log"])
            .arg(self.audit())
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

    fn config(&self, region: &str) -> aws_config::SdkConfig {
        seed::sdk_config(&self.endpoint)
            .to_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build()
    }

    /// Every weighted record's weight, by set identifier, read from Route53.
    async fn weights(&self) -> Vec<(String, i64)> {
        let r53 = aws_sdk_route53::Client::new(&self.config("us-east-1"));
        let out = r53
            .list_resource_record_sets()
            .hosted_zone_id(&self.zone_id)
            .send()
            .await
            .unwrap();
        let mut w: Vec<(String, i64)> = out
            .resource_record_sets()
            .iter()
            .filter(|s| s.name() == RECORD)
            .map(|s| {
                (
                    s.set_identifier().unwrap_or_default().to_string(),
                    s.weight().unwrap_or(-1),
                )
            })
            .collect();
        w.sort();
        w
    }

    async fn weight(&self, region: &str) -> i64 {
        self.weights()
            .await
            .into_iter()
            .find(|(r, _)| r == region)
            .map(|(_, w)| w)
            .unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)))
}

/// A time in the JSON output.
fn time(v: &Value) -> chrono::DateTime<chrono::Utc> {
    v.as_str()
        .unwrap_or_else(|| panic!("not a time: {v}"))
        .parse()
        .unwrap()
}

/// The audit log's records, oldest first.
fn audit_records(d: &Deployment) -> Vec<Value> {
    std::fs::read_to_string(d.audit())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn ok(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_then_restore_a_region_and_read_the_weights_back() {
    let moto = Moto::shared();
    let d = deploy(&moto).await;
    assert_eq!(d.weight("us-east-1").await, 20);
    let plan = d.opsdeck(&["act", "drain", "--region", "us-east-1", "--allow-actions"]);
    ok(&plan);
    assert_eq!(d.weight("us-east-1").await, 20, "a plan changes nothing");

    let drain = [
        "act",
        "drain",
        "--region",
        "us-east-1",
        "--allow-actions",
        "--execute",
        "--confirm",
        "us-east-1",
    ];
    let out = d.opsdeck(&[&drain[..], &["--format", "json"]].concat());
    ok(&out);
    let v = json(&out);
    assert_eq!(v["outcome"]["result"]["status"], "applied", "{v:#}");
    // Accepted when ChangeResourceRecordSets returned, settled once GetChange said INSYNC and the
    // weight read back: both times in the JSON result and in the audit's ended record.
    let accepted = time(&v["outcome"]["accepted_at"]);
    let settled = time(&v["outcome"]["settled_at"]);
    assert!(accepted <= settled, "{v:#}");
    let recs = audit_records(&d);
    assert_eq!(recs.len(), 2);
    assert!(recs[0].get("accepted_at").is_none(), "{}", recs[0]);
    assert_eq!(recs[1]["phase"], "ended");
    assert_eq!(time(&recs[1]["accepted_at"]), accepted);
    assert_eq!(time(&recs[1]["settled_at"]), settled);
    assert!(time(&recs[1]["time"]) >= settled);
    let set = &v["plan"]["calls"][0]["params"]["ChangeBatch"]["Changes"][0]["ResourceRecordSet"];
    assert_eq!(
        (set["Weight"].as_i64(), set["TTL"].as_i64()),
        (Some(0), Some(60)),
        "the UPSERT repeats the record"
    );
    assert_eq!(set["ResourceRecords"][0]["Value"], "192.0.2.11");
    assert_eq!(d.weight("us-east-1").await, 0);

    // Right away, the cooldown refuses a second change to the same record.
    let restore = [
        "act",
        "restore",
        "--region",
        "us-east-1",
        "--allow-actions",
        "--execute",
        "--confirm",
        "us-east-1",
        // moto runs no ECS task: the region is at 0/N tasks, which the rule refuses.
        "--override",
        "restore-unhealthy-region",
        "--confirm-override",
        "restore-unhealthy-region",
    ];
    let out = d.opsdeck(&restore);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cooldown"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(d.weight("us-east-1").await, 0);
    let out = d.opsdeck_later(AFTER_COOLDOWN, &restore);
    ok(&out);
    assert!(
        text(&out.stdout).contains("weight: 0 → 20"),
        "restored from the audit log:\n{}",
        text(&out.stdout)
    );
    assert_eq!(d.weight("us-east-1").await, 20);
    let want: Vec<(String, i64)> = SEEDED
        .iter()
        .map(|r| (r.name.to_string(), r.weight))
        .collect::<Vec<_>>();
    let mut want = want;
    want.sort();
    assert_eq!(d.weights().await, want);
    let records = std::fs::read_to_string(d.audit()).unwrap();
    assert_eq!(
        records.lines().count(),
        6,
        "requested + ended for drain, refused restore, restore"
    );
    assert!(
        records.contains("arn:aws:"),
        "the operator is the STS caller ARN"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_file_setting_enables_actions_like_the_flag() {
    let moto = Moto::shared();
    let d = deploy(&moto).await;
    let drain = [
        "act",
        "drain",
        "--region",
        "us-east-1",
        "--execute",
        "--confirm",
        "us-east-1",
    ];
    let out = d.opsdeck(&drain);
    assert_eq!(
        out.status.code(),
        Some(1),
        "read-only by default against AWS"
    );
    assert_eq!(d.weight("us-east-1").await, 20);
    let text_now = std::fs::read_to_string(&d.fleet).unwrap();
    let enabled = text_now.replace("[guards]\n", "[guards]\nallow_actions = true\n");
    assert_ne!(enabled, text_now);
    std::fs::write(&d.fleet, enabled).unwrap();
    ok(&d.opsdeck(&drain));
    assert_eq!(d.weight("us-east-1").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_puts_back_what_the_last_operation_replaced() {
    let moto = Moto::shared();
    let d = deploy(&moto).await;
    let none = d.opsdeck(&["act", "undo", "--allow-actions"]);
    assert_eq!(none.status.code(), Some(2), "nothing to undo yet");
    assert!(
        text(&none.stderr).contains("nothing to undo"),
        "{}",
        text(&none.stderr)
    );

    let drain = [
        "act",
        "drain",
        "--region",
        "us-east-1",
        "--allow-actions",
        "--execute",
        "--confirm",
        "us-east-1",
    ];
    ok(&d.opsdeck(&drain));
    assert_eq!(d.weight("us-east-1").await, 0);
    let plan = d.opsdeck_later(AFTER_COOLDOWN, &["act", "undo", "--allow-actions"]);
    ok(&plan);
    assert!(
        text(&plan.stdout).contains("weight: 0 → 20"),
        "{}",
        text(&plan.stdout)
    );
    assert_eq!(
        d.weight("us-east-1").await,
        0,
        "the undo's plan changes nothing"
    );
    let undo = d.opsdeck_later(
        AFTER_COOLDOWN,
        &[
            "act",
            "undo",
            "--allow-actions",
            "--execute",
            "--confirm",
            "us-east-1",
            // moto runs no ECS task: the region is at 0/N tasks, which the rule refuses.
            "--override",
            "restore-unhealthy-region",
            "--confirm-override",
            "restore-unhealthy-region",
        ],
    );
    ok(&undo);
    assert_eq!(d.weight("us-east-1").await, 20);
    let records: Vec<Value> = std::fs::read_to_string(d.audit())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 4);
    assert_eq!(
        records[2]["undo_of"], records[0]["id"],
        "the undo names what it undoes"
    );
    // Undone once: nothing left to undo.
    let again = d.opsdeck(&["act", "undo", "--allow-actions"]);
    assert_eq!(again.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_a_service_and_read_desired_count_and_bounds_back() {
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    let moto = Moto::shared();
    let d = deploy(&moto).await;
    let aas = aws_sdk_applicationautoscaling::Client::new(&d.config("eu-west-1"));
    aas.register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id("service/atlas-eu/api")
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .min_capacity(2)
        .max_capacity(10)
        .send()
        .await
        .unwrap();
    let ecs = aws_sdk_ecs::Client::new(&d.config("eu-west-1"));
    let desired = || async {
        let out = ecs
            .describe_services()
            .cluster("atlas-eu")
            .services("api")
            .send()
            .await
            .unwrap();
        out.services()[0].desired_count()
    };
    let bounds = || async {
        let out = aas
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_ids("service/atlas-eu/api")
            .send()
            .await
            .unwrap();
        let t = &out.scalable_targets()[0];
        (t.min_capacity(), t.max_capacity())
    };
    let scale = [
        "act",
        "scale",
        "--region",
        "eu-west-1",
        "--service",
        "api",
        "--desired",
        "6",
    ];
    let exec = ["--execute", "--confirm", "eu-west-1"];

    // Against AWS, operations are off until enabled.
    let out = d.opsdeck(&[&scale[..], &exec[..]].concat());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("read-only") && text(&out.stderr).contains("--allow-actions")
    );
    assert_eq!((desired().await, bounds().await), (4, (2, 10)));

    let out = d.opsdeck(
        &[
            &scale[..],
            &exec[..],
            &["--allow-actions", "--format", "json"],
        ]
        .concat(),
    );
    ok(&out);
    let v = json(&out);
    assert_eq!(v["outcome"]["result"]["status"], "applied", "{v:#}");
    let ops: Vec<&str> = v["plan"]["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["RegisterScalableTarget", "UpdateService"]);
    // Settled when DescribeServices shows every desired task running (moto runs them at once).
    assert!(
        time(&v["outcome"]["accepted_at"]) <= time(&v["outcome"]["settled_at"]),
        "{v:#}"
    );
    assert_eq!(
        (desired().await, bounds().await),
        (6, (6, 10)),
        "desired 6, the floor raised with it"
    );
    assert_eq!(v["plan"]["undo"]["desired"], 4);
    assert_eq!(v["plan"]["undo"]["bounds"]["min"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promote_a_cross_region_replica_sends_exactly_one_promote_request() {
    let moto = Moto::shared();
    let d = deploy(&moto).await;
    moto.start_recording();
    let promote = |overrides: &[&str]| {
        let mut args = vec![
            "act",
            "promote",
            "--region",
            "us-east-1",
            "--allow-actions",
            "--execute",
            "--confirm",
            "us-east-1",
            "--wait-s",
            "2",
            "--format",
            "json",
        ];
        args.extend_from_slice(overrides);
        d.opsdeck(&args)
    };
    // The primary in eu-west-1 is available: a promotion would make a second writer.
    let refused = promote(&[]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
    let r = json(&refused);
    assert_eq!(r["executed"], false, "{r:#}");
    assert_eq!(r["outcome"]["result"]["status"], "refused", "{r:#}");
    assert!(
        r["outcome"]["result"]
            .to_string()
            .contains("primary-takes-writes"),
        "{r:#}"
    );
    let out = promote(&[
        "--override",
        "primary-takes-writes",
        "--confirm-override",
        "primary-takes-writes",
    ]);
    moto.stop_recording();
    ok(&out);
    let v = json(&out);
    assert!(
        v["plan"]["notes"][0]
            .as_str()
            .unwrap()
            .contains("2.5 s behind"),
        "RPO from the seeded lag: {v:#}"
    );
    let promotes: Vec<String> = moto
        .recorded()
        .iter()
        .map(body)
        .filter(|b| b.contains("Action=PromoteReadReplica"))
        .collect();
    assert_eq!(promotes.len(), 1, "{promotes:?}");
    let mut params: Vec<&str> = promotes[0].split('&').collect();
    params.sort();
    assert_eq!(
        params,
        [
            "Action=PromoteReadReplica",
            "DBInstanceIdentifier=atlas-db-us",
            "Version=2014-10-31"
        ]
    );
    // Verify reads the instance back: moto keeps it a replica, so the result says so, honestly.
    let rds = aws_sdk_rds::Client::new(&d.config("us-east-1"));
    let db = rds
        .describe_db_instances()
        .db_instance_identifier("atlas-db-us")
        .send()
        .await
        .unwrap();
    let still_replica = db.db_instances()[0]
        .read_replica_source_db_instance_identifier()
        .is_some();
    assert!(
        still_replica,
        "moto 5.x keeps a promoted instance a replica; this test expects that"
    );
    assert_eq!(
        v["outcome"]["result"]["status"], "not_yet_verified",
        "{v:#}"
    );
    // Accepted (PromoteReadReplica returned), not settled: the ended record says both.
    let accepted = time(&v["outcome"]["accepted_at"]);
    assert!(v["outcome"]["settled_at"].is_null(), "{v:#}");
    let ended = audit_records(&d).pop().unwrap();
    assert_eq!(ended["phase"], "ended");
    assert_eq!(time(&ended["accepted_at"]), accepted);
    assert!(
        ended["settled_at"].is_null() && ended.get("settled_at").is_some(),
        "{ended}"
    );
    let reason = v["outcome"]["result"]["reason"].as_str().unwrap();
    assert!(reason.starts_with("not settled after "), "{v:#}");
    assert!(
        reason.contains("s: the instance still reports replicating"),
        "{v:#}"
    );
    assert!(text(&out.stderr).contains("not yet verified"));
}

fn body(entry: &Value) -> String {
    let b = entry["body"].as_str().unwrap_or_default();
    if entry["body_encoded"].as_bool() == Some(true) {
        String::from_utf8(aws_smithy_types::base64::decode(b).unwrap()).unwrap_or_default()
    } else {
        b.to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_the_last_serving_region_is_refused_and_leaves_every_weight() {
    let moto = Moto::shared();
    let d = deploy(&moto).await;
    for r in ["us-east-1", "ap-southeast-1"] {
        ok(&d.opsdeck(&[
            "act",
            "drain",
            "--region",
            r,
            "--allow-actions",
            "--execute",
            "--confirm",
            r,
        ]));
    }
    let before = d.weights().await;
    assert_eq!(
        before.iter().filter(|(_, w)| *w > 0).count(),
        1,
        "{before:?}"
    );
    let out = d.opsdeck(&[
        "act",
        "drain",
        "--region",
        "eu-west-1",
        "--allow-actions",
        "--execute",
        "--confirm",
        "eu-west-1",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("last-serving-region"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(d.weights().await, before, "every weight unchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_what_if_on_aws_uses_request_rates_weights_and_replica_lag() {
    let moto = Moto::shared();
    let d = deploy(&moto).await;
    let out = d.opsdeck(&["simulate", "--fail", "eu-west-1", "--format", "json"]);
    ok(&out);
    let v = json(&out);
    assert_eq!(v["source"], "aws");
    // RequestCount 600 in the last minute: 10 req/s move, by weight, to the serving survivors
    // (us-east-1 weight 20, ap-southeast-1 weight 10; us-west-2 has weight 0).
    assert!(
        (v["moved_rps"].as_f64().unwrap() - 10.0).abs() < 1e-9,
        "{v:#}"
    );
    let after = |r: &str| {
        v["survivors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["region"] == r)
            .unwrap()["rps_after"]
            .as_f64()
            .unwrap()
    };
    assert!(
        (after("us-east-1") - (20.0 + 10.0 * 20.0 / 30.0)).abs() < 1e-6,
        "{v:#}"
    );
    assert!(
        (after("ap-southeast-1") - (5.0 + 10.0 * 10.0 / 30.0)).abs() < 1e-6,
        "{v:#}"
    );
    assert!(after("us-west-2").abs() < 1e-9);
    // The least-lagging running replica is promoted; us-west-2's replication is broken (lag -1).
    assert_eq!(v["promotion"]["region"], "us-east-1");
    assert_eq!(v["promotion"]["rpo_s"], 2.5);
    assert_eq!(v["failed_is_primary"], true);
}
