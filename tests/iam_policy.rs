//! The IAM policies in `docs/iam/` are exactly what opsdeck calls: every request the real binary
//! makes against the moto server (recorded by moto) is allowed by the policy of its feature, and
//! every action a policy grants is one some command was seen to call — no missing permission that
//! fails at 3 a.m., no permission granted for nothing.
// Each test holds the binary's moto lock for its whole run; each has its own runtime.
#![allow(clippy::await_holding_lock)]

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::moto::{repo_root, Moto};
use support::seed::{self, SEEDED};
use support::{dead_url, moto_env};

const COOLDOWN_S: u64 = 600;

/// The actions a policy document grants (every Allow statement's `Action`).
fn granted(file: &str) -> BTreeSet<String> {
    let path = repo_root().join("docs/iam").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    assert_eq!(doc["Version"], "2012-10-17", "{file}");
    let mut out = BTreeSet::new();
    for st in doc["Statement"].as_array().expect("Statement list") {
        assert_eq!(st["Effect"], "Allow", "{file}: {st}");
        for a in st["Action"].as_array().expect("Action list") {
            out.insert(a.as_str().unwrap().to_string());
        }
    }
    out
}

/// The IAM action of one request moto recorded: the service from the signature's credential
/// scope, the operation from the JSON target, the query `Action`, or Route53's REST path.
fn action(entry: &Value) -> String {
    let headers = &entry["headers"];
    let auth = headers["Authorization"].as_str().unwrap_or_default();
    let scope: Vec<&str> = auth
        .split("Credential=")
        .nth(1)
        .unwrap_or_default()
        .split(',')
        .next()
        .unwrap_or_default()
        .split('/')
        .collect();
    let service = scope.get(3).copied().unwrap_or("?");
    let prefix = match service {
        "monitoring" => "cloudwatch",
        other => other,
    };
    let op = if service == "cloudfront" {
        cloudfront_operation(
            entry["method"].as_str().unwrap_or_default(),
            entry["url"].as_str().unwrap_or_default(),
        )
    } else if service == "eks" {
        eks_operation(
            entry["method"].as_str().unwrap_or_default(),
            entry["url"].as_str().unwrap_or_default(),
        )
    } else if let Some(target) = headers["X-Amz-Target"].as_str() {
        target.rsplit('.').next().unwrap_or(target).to_string()
    } else {
        let body = entry["body"].as_str().unwrap_or_default();
        let body = if entry["body_encoded"].as_bool() == Some(true) {
            String::from_utf8(aws_smithy_types::base64::decode(body).expect("base64"))
                .unwrap_or_default()
        } else {
            body.to_string()
        };
        match body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
            Some(a) => a.to_string(),
            None => route53_operation(
                entry["method"].as_str().unwrap_or_default(),
                entry["url"].as_str().unwrap_or_default(),
            ),
        }
    };
    format!("{prefix}:{op}")
}

/// Route53's REST API: the operation from the method and the path.
fn route53_operation(method: &str, url: &str) -> String {
    let path = url.split('?').next().unwrap_or(url);
    let path = path.split("/2013-04-01/").nth(1).unwrap_or(path);
    let parts: Vec<&str> = path.split('/').collect();
    let op = match (method, parts.as_slice()) {
        ("GET", ["hostedzone"]) => "ListHostedZones",
        ("GET", ["hostedzone", _]) => "GetHostedZone",
        ("GET", ["hostedzone", _, "rrset"]) => "ListResourceRecordSets",
        ("POST", ["hostedzone", _, "rrset"]) => "ChangeResourceRecordSets",
        ("GET", ["change", _]) => "GetChange",
        ("GET", ["healthcheck"]) => "ListHealthChecks",
        ("GET", ["healthcheck", _]) => "GetHealthCheck",
        ("POST", ["healthcheck", _]) => "UpdateHealthCheck",
        ("GET", ["healthcheck", _, "status"]) => "GetHealthCheckStatus",
        _ => return format!("unknown {method} {url}"),
    };
    op.to_string()
}

/// CloudFront's REST API: the operation from the method and the path (`/2020-05-31/...`).
fn cloudfront_operation(method: &str, url: &str) -> String {
    let path = url.split('?').next().unwrap_or(url);
    let path = path.split("/2020-05-31/").nth(1).unwrap_or(path);
    let parts: Vec<&str> = path.split('/').collect();
    match (method, parts.as_slice()) {
        ("GET", ["distribution"]) => "ListDistributions".into(),
        _ => format!("unknown {method} {url}"),
    }
}

/// EKS's REST API: the operation from the method and the path.
fn eks_operation(method: &str, url: &str) -> String {
    let path = url.split('?').next().unwrap_or(url);
    let path = path.splitn(4, '/').nth(3).unwrap_or(path);
    let parts: Vec<&str> = path.split('/').collect();
    let op = match (method, parts.as_slice()) {
        ("GET", ["clusters"]) => "ListClusters",
        ("GET", ["clusters", _]) => "DescribeCluster",
        ("GET", ["clusters", _, "node-groups"]) => "ListNodegroups",
        ("GET", ["clusters", _, "node-groups", _]) => "DescribeNodegroup",
        ("POST", ["clusters", _, "node-groups", _, "update-config"]) => "UpdateNodegroupConfig",
        _ => return format!("unknown {method} {url}"),
    };
    op.to_string()
}

/// A one-region fleet on an EKS node group (2 in 1..4) of a cluster in moto.
async fn eks_fleet(d: &Deployment) -> PathBuf {
    support::eks::create(&d.endpoint, "us-east-1", &[("iam-eks", "api", 2, 1, 4)]).await;
    let path = d.dir.path().join("eks.toml");
    std::fs::write(
        &path,
        "name = \"eks\"\n[guards]\nallow_actions = true\n[[region]]\nname = \"us-east-1\"\nrole = \"primary\"\n\
         eks = [{ cluster = \"iam-eks\", nodegroup = \"api\", namespace = \"app\", service = \"api\" }]\n",
    )
    .unwrap();
    path
}

struct Deployment {
    endpoint: String,
    fleet: PathBuf,
    dir: tempfile::TempDir,
}

impl Deployment {
    async fn new(moto: &Moto) -> Deployment {
        moto_env();
        let seeded = seed::seed(&moto.url(), moto).await;
        let urls: Vec<String> = SEEDED.iter().map(|_| dead_url()).collect();
        let mut text = seed::fleet_toml(&seeded, &urls, "");
        text.push_str(&format!(
            "[guards]\ncooldown_s = {COOLDOWN_S}\nallow_actions = true\n"
        ));
        let dir = tempfile::tempdir().unwrap();
        let fleet = dir.path().join("atlas-moto.toml");
        std::fs::write(&fleet, text).unwrap();
        Deployment {
            endpoint: moto.url(),
            fleet,
            dir,
        }
    }

    /// Run opsdeck with its clock `later_s` seconds ahead (past the cooldown, nobody sleeps).
    fn run(&self, later_s: u64, fleet: bool, args: &[&str]) -> Output {
        let out = self
            .command(later_s, fleet, args)
            .output()
            .expect("run opsdeck");
        assert!(
            out.status.success(),
            "{args:?}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// opsdeck as `run` starts it, not yet started.
    fn command(&self, later_s: u64, fleet: bool, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
        c.env(opsdeck::fleet::clock::CLOCK_OFFSET_ENV, later_s.to_string());
        if fleet {
            c.arg("--fleet").arg(&self.fleet);
        }
        c.args(["--endpoint-url", &self.endpoint])
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("OPSDECK_STATE_DIR", self.dir.path())
            .env("OPSDECK_CONFIG", self.dir.path().join("config"))
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_SESSION_TOKEN");
        c
    }

    fn act(&self, later_s: u64, args: &[&str], region: &str) -> Output {
        let audit = self.dir.path().join("audit.jsonl");
        let audit = audit.to_str().unwrap();
        let base = ["act"];
        let tail = [
            "--region",
            region,
            "--execute",
            "--confirm",
            region,
            "--audit-log",
            audit,
            "--wait-s",
            "2",
        ];
        self.run(later_s, true, &[&base[..], args, &tail[..]].concat())
    }
}

fn seen(moto: &Moto) -> BTreeSet<String> {
    moto.recorded().iter().map(action).collect()
}

fn assert_exact(feature: &str, seen: &BTreeSet<String>, granted: &BTreeSet<String>) {
    let missing: Vec<_> = seen.difference(granted).collect();
    assert!(
        missing.is_empty(),
        "{feature}: opsdeck called {missing:?}, which docs/iam does not grant"
    );
    let unused: Vec<_> = granted.difference(seen).collect();
    assert!(
        unused.is_empty(),
        "{feature}: docs/iam grants {unused:?}, which no command was seen to call"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_policies_grant_exactly_what_opsdeck_calls() {
    let moto = Moto::shared();
    let d = Deployment::new(&moto).await;
    let read = granted("read.json");
    let act = granted("act.json");

    let eks = eks_fleet(&d).await;
    // Reading: a snapshot (what the console reads each refresh) and discover.
    moto.start_recording();
    d.run(0, true, &["snapshot", "--format", "json"]);
    d.run(
        0,
        false,
        &[
            "--fleet",
            eks.to_str().unwrap(),
            "snapshot",
            "--format",
            "json",
        ],
    );
    let regions = SEEDED.map(|r| r.name).join(",");
    d.run(0, false, &["discover", "--regions", &regions]);
    moto.stop_recording();
    let reading = seen(&moto);
    assert_exact("reading", &reading, &read);

    // eu-west-1's service scales between 2 and 10 tasks: scaling to 6 raises that floor too.
    {
        use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
        let config = seed::sdk_config(&d.endpoint)
            .to_builder()
            .region(aws_config::Region::new("eu-west-1"))
            .build();
        aws_sdk_applicationautoscaling::Client::new(&config)
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id("service/atlas-eu/api")
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .min_capacity(2)
            .max_capacity(10)
            .send()
            .await
            .unwrap();
    }

    let latency = latency_fleet(&d).await;
    // Acting: every operation once, through the pipeline, each past the last one's cooldown.
    moto.start_recording();
    let step = COOLDOWN_S + 1;
    d.act(0, &["drain"], "us-east-1");
    d.act(
        step,
        &[
            "restore",
            // moto runs no ECS task: the region is at 0/N tasks, which the rule refuses.
            "--override",
            "restore-unhealthy-region",
            "--confirm-override",
            "restore-unhealthy-region",
        ],
        "us-east-1",
    );
    d.act(
        2 * step,
        &["scale", "--service", "api", "--desired", "6"],
        "eu-west-1",
    );
    d.act(
        3 * step,
        &[
            "promote",
            "--override",
            "primary-takes-writes",
            "--confirm-override",
            "primary-takes-writes",
        ],
        "us-east-1",
    );
    // A latency record is drained by inverting its health check.
    d.run(
        4 * step,
        false,
        &[
            "--fleet",
            latency.to_str().unwrap(),
            "act",
            "drain",
            "--region",
            "us-east-1",
            "--execute",
            "--confirm",
            "us-east-1",
            "--wait-s",
            "2",
        ],
    );
    // An EKS node group is scaled with UpdateNodegroupConfig and read back.
    d.run(
        0,
        false,
        &[
            "--fleet",
            eks.to_str().unwrap(),
            "act",
            "scale",
            "--region",
            "us-east-1",
            "--nodegroup",
            "api",
            "--desired",
            "3",
            "--execute",
            "--confirm",
            "us-east-1",
            "--wait-s",
            "2",
        ],
    );
    moto.stop_recording();
    let acting = seen(&moto);
    let needed: BTreeSet<String> = acting.difference(&read).cloned().collect();
    assert_exact("acting", &needed, &act);
    assert!(
        !act.iter().any(|a| read.contains(a)),
        "act.json repeats read.json"
    );
}

/// A one-region fleet whose latency record carries a health check, in a zone of its own.
async fn latency_fleet(d: &Deployment) -> PathBuf {
    use aws_sdk_route53::types::{
        Change, ChangeAction, ChangeBatch, HealthCheckConfig, HealthCheckType, ResourceRecord,
        ResourceRecordSet, ResourceRecordSetRegion, RrType,
    };
    let r53 = aws_sdk_route53::Client::new(&seed::sdk_config(&d.endpoint));
    let zone = r53
        .create_hosted_zone()
        .name("latency.test.")
        .caller_reference("iam-latency")
        .send()
        .await
        .unwrap();
    let zone_id = zone
        .hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string();
    let config = HealthCheckConfig::builder()
        .r#type(HealthCheckType::Https)
        .fully_qualified_domain_name("use1.latency.test")
        .port(443)
        .resource_path("/health")
        .build()
        .unwrap();
    let hc = r53
        .create_health_check()
        .caller_reference("iam-hc")
        .health_check_config(config)
        .send()
        .await
        .unwrap();
    // us-east-1 carries the health check; eu-west-1 (none) keeps answering once it is drained.
    let mut changes = Vec::new();
    for (region, value) in [("us-east-1", "192.0.2.1"), ("eu-west-1", "192.0.2.2")] {
        let mut set = ResourceRecordSet::builder()
            .name("api.latency.test.")
            .r#type(RrType::A)
            .set_identifier(region)
            .region(ResourceRecordSetRegion::from(region))
            .ttl(60)
            .resource_records(ResourceRecord::builder().value(value).build().unwrap());
        if region == "us-east-1" {
            set = set.health_check_id(hc.health_check().unwrap().id());
        }
        changes.push(
            Change::builder()
                .action(ChangeAction::Create)
                .resource_record_set(set.build().unwrap())
                .build()
                .unwrap(),
        );
    }
    r53.change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(
            ChangeBatch::builder()
                .set_changes(Some(changes))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let path = d.dir.path().join("latency.toml");
    std::fs::write(
        &path,
        format!(
            "name = \"latency\"\n[guards]\nallow_actions = true\n[[region]]\nname = \"us-east-1\"\nrole = \"primary\"\n\
             route53 = {{ zone_id = \"{zone_id}\", record = \"api.latency.test.\", set_identifier = \"us-east-1\", policy = \"latency\" }}\n\
             [[region]]\nname = \"eu-west-1\"\nrole = \"secondary\"\n\
             route53 = {{ zone_id = \"{zone_id}\", record = \"api.latency.test.\", set_identifier = \"eu-west-1\", policy = \"latency\" }}\n"
        ),
    )
    .unwrap();
    path
}

/// With `[shared]`: `shared init` (plan, create, re-run), an operation under the DynamoDB lease
/// with the shared trail, and a two-person approval (pending, listed, approved by a second
/// identity, run) make exactly the calls `shared.json` grants beyond `read.json` and `act.json`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_policy_grants_exactly_what_several_operators_call() {
    use std::io::{BufRead, BufReader};
    let moto = Moto::shared();
    let d = Deployment::new(&moto).await;
    let (read, act, shared) = (
        granted("read.json"),
        granted("act.json"),
        granted("shared.json"),
    );
    let text = std::fs::read_to_string(&d.fleet).unwrap().replacen(
        "allow_actions = true\n",
        "allow_actions = true\napproval_required = [\"restore\"]\n",
        1,
    ) + "[shared]\nregion = \"us-east-1\"\nlock_table = \"opsdeck-iam\"\naudit_log_group = \"/opsdeck/iam\"\n";
    std::fs::write(&d.fleet, text).unwrap();
    // A second identity (taken before recording: the test's call, not opsdeck's).
    let sts = aws_sdk_sts::Client::new(&seed::sdk_config(&d.endpoint));
    let bob = sts
        .assume_role()
        .role_arn("arn:aws:iam::123456789012:role/oncall")
        .role_session_name("bob")
        .send()
        .await
        .unwrap();
    let bob = bob.credentials().unwrap().clone();

    moto.start_recording();
    let fleet_name = "atlas-moto";
    d.run(0, true, &["shared", "init"]);
    d.run(
        0,
        true,
        &["shared", "init", "--execute", "--confirm", fleet_name],
    );
    d.run(
        0,
        true,
        &["shared", "init", "--execute", "--confirm", fleet_name],
    );
    d.act(0, &["drain"], "us-east-1");
    // The restore needs bob's approval: pending, listed, approved, then run.
    let step = (COOLDOWN_S + 1).to_string();
    let audit = d.dir.path().join("audit.jsonl");
    let mut requester = d
        .command(
            COOLDOWN_S + 1,
            true,
            &[
                "act",
                "restore",
                "--region",
                "us-east-1",
                "--override",
                "restore-unhealthy-region",
                "--confirm-override",
                "restore-unhealthy-region",
                "--execute",
                "--confirm",
                "us-east-1",
                "--audit-log",
                audit.to_str().unwrap(),
                "--wait-s",
                "2",
            ],
        )
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(requester.stderr.take().unwrap());
    let mut said = String::new();
    while !said.contains("pending as ") {
        said.clear();
        assert!(err.read_line(&mut said).unwrap() > 0, "no pending approval");
    }
    let id = said
        .split("pending as ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    d.run(0, true, &["act", "pending", "--format", "json"]);
    let approved = d
        .command(0, true, &["act", "approve", &id, "--confirm", "us-east-1"])
        .env("AWS_ACCESS_KEY_ID", bob.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", bob.secret_access_key())
        .env("AWS_SESSION_TOKEN", bob.session_token())
        .output()
        .unwrap();
    assert!(
        approved.status.success(),
        "{}",
        String::from_utf8_lossy(&approved.stderr)
    );
    assert!(
        requester.wait().unwrap().success(),
        "the approved restore ran ({step} s on)"
    );
    moto.stop_recording();
    let seen = seen(&moto);
    let needed: BTreeSet<String> = seen
        .iter()
        .filter(|a| !read.contains(*a) && !act.contains(*a))
        .cloned()
        .collect();
    assert_exact("several operators", &needed, &shared);
    assert!(
        !shared.iter().any(|a| read.contains(a) || act.contains(a)),
        "shared.json repeats read.json or act.json"
    );
}

/// The README points at the policy files and names each feature's file.
#[test]
fn the_readme_points_at_the_policies() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    for f in [
        "docs/iam/read.json",
        "docs/iam/act.json",
        "docs/iam/shared.json",
    ] {
        assert!(readme.contains(f), "README names {f}");
        assert!(Path::new(&repo_root().join(f)).is_file(), "{f} exists");
    }
}
