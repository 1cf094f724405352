//! Two operators on one fleet against moto (issue 10): alice and bob (STS AssumeRole
//! identities), a DynamoDB lock table, a fleet of its own per case (a weighted record set, a state
//! directory both share as on one machine, with `[shared]` a log group), every call through a
//! proxy that lets one DynamoDB call through at a time (DynamoDB makes a conditional write atomic;
//! moto's threaded server does not), and running two `opsdeck act` from one moment.
#![allow(dead_code)]

use super::moto::Moto;
use super::seed::{self, Seeded, RECORD, SEEDED, ZONE};
use super::serial_proxy::SerialProxy;
use super::{dead_url, moto_env};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use opsdeck::ops::audit::AuditRecord;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

pub const TABLE: &str = "opsdeck-locks";
pub const COOLDOWN_S: u64 = 600;
pub const REGIONS: [&str; 4] = ["eu-west-1", "us-east-1", "ap-southeast-1", "us-west-2"];

/// Temporary credentials of one identity (moto's STS AssumeRole; the role need not exist).
#[derive(Clone)]
pub struct Identity {
    pub name: &'static str,
    key: String,
    secret: String,
    token: String,
}

pub struct Env {
    seeded: Seeded,
    pub proxy: SerialProxy,
    pub moto_url: String,
    pub alice: Identity,
    pub bob: Identity,
}

pub async fn env(moto: &Moto) -> Env {
    moto_env();
    let seeded = seed::seed(&moto.url(), moto).await;
    let config = seed::sdk_config(&moto.url());
    aws_sdk_dynamodb::Client::new(&config)
        .create_table()
        .table_name(TABLE)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("resource")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("resource")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create lock table");
    let sts = aws_sdk_sts::Client::new(&config);
    let mut who = Vec::new();
    for name in ["alice", "bob"] {
        let out = sts
            .assume_role()
            .role_arn("arn:aws:iam::123456789012:role/oncall")
            .role_session_name(name)
            .send()
            .await
            .expect("assume role");
        let c = out.credentials().expect("credentials");
        who.push(Identity {
            name,
            key: c.access_key_id().to_string(),
            secret: c.secret_access_key().to_string(),
            token: c.session_token().to_string(),
        });
    }
    Env {
        seeded,
        proxy: SerialProxy::start(&moto.url()).await,
        moto_url: moto.url(),
        bob: who.pop().unwrap(),
        alice: who.pop().unwrap(),
    }
}

/// One fleet of the seeded deployment with a weighted record set of its own, its own state
/// directory (shared by both operators, as on one machine) and with `[shared]` its own log group.
pub struct Case {
    pub name: String,
    zone_id: String,
    pub fleet: PathBuf,
    pub dir: tempfile::TempDir,
    endpoint: String,
    moto_url: String,
}

impl Env {
    pub async fn case(&self, name: &str, weights: [i64; 4], shared: Option<&str>) -> Case {
        let config = seed::sdk_config(&self.moto_url);
        let r53 = aws_sdk_route53::Client::new(&config);
        let zone = r53
            .create_hosted_zone()
            .name(ZONE)
            .caller_reference(format!("{name}-zone"))
            .send()
            .await
            .expect("create zone");
        let zone_id = zone
            .hosted_zone()
            .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
            .unwrap();
        let changes = REGIONS
            .iter()
            .zip(weights)
            .enumerate()
            .map(|(i, (r, w))| {
                let set = ResourceRecordSet::builder()
                    .name(RECORD)
                    .r#type(RrType::A)
                    .set_identifier(*r)
                    .weight(w)
                    .ttl(60)
                    .resource_records(
                        ResourceRecord::builder()
                            .value(format!("192.0.2.{}", i + 10))
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap();
                Change::builder()
                    .action(ChangeAction::Create)
                    .resource_record_set(set)
                    .build()
                    .unwrap()
            })
            .collect();
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
            .expect("weighted records");
        let urls: Vec<String> = SEEDED.iter().map(|_| dead_url()).collect();
        let mine = Seeded {
            zone_id: zone_id.clone(),
            health_checks: self.seeded.health_checks.clone(),
        };
        let mut text = seed::fleet_toml(&mine, &urls, "").replacen(
            "name = \"atlas-moto\"",
            &format!("name = \"{name}\""),
            1,
        );
        text.push_str(&format!(
            "[guards]\ncooldown_s = {COOLDOWN_S}\nallow_actions = true\n"
        ));
        if let Some(group) = shared {
            text.push_str(&format!(
                "[shared]\nregion = \"us-east-1\"\nlock_table = \"{TABLE}\"\naudit_log_group = \"{group}\"\n"
            ));
        }
        let dir = tempfile::tempdir().unwrap();
        let fleet = dir.path().join(format!("{name}.toml"));
        std::fs::write(&fleet, text).unwrap();
        Case {
            name: name.into(),
            zone_id,
            fleet,
            dir,
            endpoint: self.proxy.url(),
            moto_url: self.moto_url.clone(),
        }
    }

    pub async fn log_group(&self, group: &str) {
        aws_sdk_cloudwatchlogs::Client::new(&seed::sdk_config(&self.moto_url))
            .create_log_group()
            .log_group_name(group)
            .send()
            .await
            .expect("create log group");
    }
}

impl Case {
    pub fn audit(&self, who: &Identity) -> PathBuf {
        self.dir.path().join(format!("audit-{}.jsonl", who.name))
    }

    /// `opsdeck act …` as `who`, with its own audit log, its clock `offset_s` ahead.
    pub fn act(&self, who: &Identity, offset_s: u64, args: &[&str]) -> Command {
        self.opsdeck(who, offset_s, &[&["act"], args].concat())
    }

    /// `opsdeck SUBCOMMAND …` as `who`, with its own audit log, its clock `offset_s` ahead.
    pub fn opsdeck(&self, who: &Identity, offset_s: u64, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
        c.env(
            opsdeck::fleet::clock::CLOCK_OFFSET_ENV,
            offset_s.to_string(),
        )
        .arg("--fleet")
        .arg(&self.fleet)
        .args(["--endpoint-url", &self.endpoint, "--audit-log"])
        .arg(self.audit(who))
        .args(args)
        .env("AWS_ACCESS_KEY_ID", &who.key)
        .env("AWS_SECRET_ACCESS_KEY", &who.secret)
        .env("AWS_SESSION_TOKEN", &who.token)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("OPSDECK_STATE_DIR", self.dir.path())
        .env("OPSDECK_CONFIG", self.dir.path().join("config"))
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove(opsdeck::ops::pipeline::PAUSE_BEFORE_VERIFY_ENV)
        .stdin(Stdio::null());
        c
    }

    pub async fn weights(&self) -> Vec<i64> {
        let r53 = aws_sdk_route53::Client::new(&seed::sdk_config(&self.moto_url));
        let out = r53
            .list_resource_record_sets()
            .hosted_zone_id(&self.zone_id)
            .send()
            .await
            .unwrap();
        REGIONS
            .iter()
            .map(|r| {
                out.resource_record_sets()
                    .iter()
                    .find(|s| s.set_identifier() == Some(r))
                    .and_then(|s| s.weight())
                    .unwrap_or(-1)
            })
            .collect()
    }

    pub fn records(&self, who: &Identity) -> Vec<AuditRecord> {
        opsdeck::ops::AuditLog::new(self.audit(who)).read().unwrap()
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn show(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    )
}

/// Run both commands from one moment (a barrier), each on its own thread.
pub fn at_once(mut a: Command, mut b: Command) -> (Output, Output) {
    let barrier = Arc::new(Barrier::new(2));
    let (ba, bb) = (barrier.clone(), barrier);
    let ta = std::thread::spawn(move || {
        ba.wait();
        a.output().expect("run opsdeck")
    });
    let tb = std::thread::spawn(move || {
        bb.wait();
        b.output().expect("run opsdeck")
    });
    (ta.join().unwrap(), tb.join().unwrap())
}

/// Run several pairs, each pair from one moment, all pairs at once.
pub fn pairs_at_once(pairs: Vec<(Command, Command)>) -> Vec<(Output, Output)> {
    let threads: Vec<_> = pairs
        .into_iter()
        .map(|(a, b)| std::thread::spawn(move || at_once(a, b)))
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

/// `drain REGION --execute --confirm REGION`.
pub fn drain(region: &str) -> Vec<&str> {
    vec![
        "drain",
        "--region",
        region,
        "--execute",
        "--confirm",
        region,
    ]
}

/// Wait (up to a minute) until `done` holds; false if it never did.
pub async fn until(mut done: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

impl Env {
    /// The lock table's item for `resource`, if any.
    pub async fn lease_item(
        &self,
        resource: &str,
    ) -> Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        aws_sdk_dynamodb::Client::new(&seed::sdk_config(&self.moto_url))
            .get_item()
            .table_name(TABLE)
            .key(
                "resource",
                aws_sdk_dynamodb::types::AttributeValue::S(resource.into()),
            )
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item()
            .cloned()
    }

    /// us-east-1's `atlas-us/api` desired count.
    pub async fn api_desired(&self) -> i32 {
        self.desired("api").await
    }

    /// A service of its own in us-east-1's cluster `atlas-us` (desired count 1).
    pub async fn service(&self, name: &str) {
        let config = seed::sdk_config(&self.moto_url);
        aws_sdk_ecs::Client::new(&config)
            .create_service()
            .cluster("atlas-us")
            .service_name(name)
            .task_definition("api")
            .desired_count(1)
            .send()
            .await
            .expect("create service");
    }

    /// The desired count of us-east-1's `atlas-us/NAME`.
    pub async fn desired(&self, service: &str) -> i32 {
        let config = seed::sdk_config(&self.moto_url);
        aws_sdk_ecs::Client::new(&config)
            .describe_services()
            .cluster("atlas-us")
            .services(service)
            .send()
            .await
            .unwrap()
            .services()[0]
            .desired_count()
    }
}

impl Case {
    /// Add `atlas-us/SERVICE` to us-east-1's services in the fleet file.
    pub fn with_service(self, service: &str) -> Case {
        let text = std::fs::read_to_string(&self.fleet).unwrap();
        let worker = "{ cluster = \"atlas-us\", service = \"worker\" }";
        assert!(text.contains(worker));
        let text = text.replacen(
            worker,
            &format!("{worker}, {{ cluster = \"atlas-us\", service = \"{service}\" }}"),
            1,
        );
        std::fs::write(&self.fleet, text).unwrap();
        self
    }

    /// The local lease's holder file (without `[shared]`).
    pub fn holder_file(&self) -> PathBuf {
        self.dir
            .path()
            .join("leases")
            .join(format!("{}.holder.json", self.name))
    }
}

impl Case {
    /// Add `lines` (TOML keys) to the fleet file's `[guards]` table.
    pub fn with_guards(self, lines: &str) -> Case {
        let text = std::fs::read_to_string(&self.fleet).unwrap();
        let anchor = "allow_actions = true\n";
        assert!(text.contains(anchor));
        let text = text.replacen(anchor, &format!("{anchor}{lines}\n"), 1);
        std::fs::write(&self.fleet, text).unwrap();
        self
    }

    /// The shared trail's records (every stream), oldest first.
    pub async fn shared_records(&self, group: &str) -> Vec<AuditRecord> {
        let config = seed::sdk_config(&self.moto_url);
        opsdeck::ops::audit::shared::SharedLog::new(&config, group)
            .records_since(chrono::DateTime::UNIX_EPOCH)
            .await
            .unwrap()
    }
}
