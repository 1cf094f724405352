//! Latency and geolocation routing against a moto server: the snapshot shows each record's policy
//! and health check; a drain inverts the region's health check and a restore reverts it (both
//! read back from moto with GetHealthCheck), audited; a latency record without a health check and
//! the last healthy latency record are refused with nothing changed; the what-if of a geolocation
//! fleet names where each region's users go.
// Each test holds the binary's moto lock for its whole run; each has its own runtime.
#![allow(clippy::await_holding_lock)]

mod support;

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, GeoLocation, HealthCheckConfig, HealthCheckType,
    ResourceRecord, ResourceRecordSet, ResourceRecordSetRegion, RrType,
};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};
use support::moto::Moto;
use support::moto_env;
use support::seed::sdk_config;

const RECORD: &str = "api.rr.test.";
const COOLDOWN_S: u64 = 600;

/// How a region's record routes.
#[derive(Clone, Copy)]
enum Routing {
    Latency,
    Geo(&'static str),
}

/// One region's record: its routing, and its health check (None: none; Some(inverted)).
struct Seed {
    region: &'static str,
    routing: Routing,
    check: Option<bool>,
}

struct Deployment {
    endpoint: String,
    fleet: PathBuf,
    dir: tempfile::TempDir,
    /// (region, health check id)
    checks: Vec<(String, String)>,
}

async fn deploy(moto: &Moto, seeds: &[Seed]) -> Deployment {
    moto_env();
    let r53 = aws_sdk_route53::Client::new(&sdk_config(&moto.url()));
    let zone = r53
        .create_hosted_zone()
        .name("rr.test.")
        .caller_reference("rr-seed")
        .send()
        .await
        .expect("zone");
    let zone_id = zone
        .hosted_zone()
        .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
        .unwrap();
    let mut checks = Vec::new();
    let mut changes = Vec::new();
    let mut toml = String::from("name = \"routing-moto\"\n\n");
    for (i, s) in seeds.iter().enumerate() {
        let mut set = ResourceRecordSet::builder()
            .name(RECORD)
            .r#type(RrType::A)
            .set_identifier(s.region)
            .ttl(60)
            .resource_records(
                ResourceRecord::builder()
                    .value(format!("192.0.2.{}", i + 10))
                    .build()
                    .unwrap(),
            );
        let (policy, extra) = match s.routing {
            Routing::Latency => {
                set = set.region(ResourceRecordSetRegion::from(s.region));
                ("latency", String::new())
            }
            Routing::Geo(loc) => {
                let geo = match loc {
                    "*" => GeoLocation::builder().country_code("*").build(),
                    c => GeoLocation::builder().continent_code(c).build(),
                };
                set = set.geo_location(geo);
                ("geolocation", format!(", location = \"{loc}\""))
            }
        };
        if let Some(inverted) = s.check {
            let config = HealthCheckConfig::builder()
                .r#type(HealthCheckType::Https)
                .fully_qualified_domain_name(format!("{}.rr.test", s.region))
                .port(443)
                .resource_path("/health")
                .inverted(inverted)
                .build()
                .unwrap();
            let hc = r53
                .create_health_check()
                .caller_reference(format!("hc-{}", s.region))
                .health_check_config(config)
                .send()
                .await
                .expect("health check");
            let id = hc.health_check().unwrap().id().to_string();
            set = set.health_check_id(&id);
            checks.push((s.region.to_string(), id));
        }
        changes.push(
            Change::builder()
                .action(ChangeAction::Create)
                .resource_record_set(set.build().unwrap())
                .build()
                .unwrap(),
        );
        toml.push_str(&format!(
            "[[region]]\nname = \"{r}\"\nrole = \"{role}\"\nroute53 = {{ zone_id = \"{zone_id}\", record = \"{RECORD}\", set_identifier = \"{r}\", policy = \"{policy}\"{extra} }}\n\n",
            r = s.region,
            role = if i == 0 { "primary" } else { "secondary" },
        ));
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
        .expect("records");
    toml.push_str(&format!("[guards]\ncooldown_s = {COOLDOWN_S}\n"));
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("routing-moto.toml");
    std::fs::write(&fleet, toml).unwrap();
    Deployment {
        endpoint: moto.url(),
        fleet,
        dir,
        checks,
    }
}

impl Deployment {
    fn audit(&self) -> PathBuf {
        self.dir.path().join("audit.jsonl")
    }

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

    fn opsdeck(&self, args: &[&str]) -> Output {
        self.opsdeck_later(0, args)
    }

    fn check(&self, region: &str) -> &str {
        &self.checks.iter().find(|(r, _)| r == region).unwrap().1
    }

    /// Whether the region's health check is inverted, read from moto.
    async fn inverted(&self, region: &str) -> bool {
        let r53 = aws_sdk_route53::Client::new(&sdk_config(&self.endpoint));
        let out = r53
            .get_health_check()
            .health_check_id(self.check(region))
            .send()
            .await
            .unwrap();
        out.health_check()
            .and_then(|h| h.health_check_config())
            .and_then(|c| c.inverted())
            .unwrap_or(false)
    }

    fn audit_lines(&self) -> usize {
        std::fs::read_to_string(self.audit())
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)))
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

fn latency_fleet() -> [Seed; 3] {
    [
        Seed {
            region: "us-east-1",
            routing: Routing::Latency,
            check: Some(false),
        },
        Seed {
            region: "eu-west-1",
            routing: Routing::Latency,
            check: Some(false),
        },
        Seed {
            region: "ap-southeast-1",
            routing: Routing::Latency,
            check: None,
        },
    ]
}

fn region<'a>(snapshot: &'a Value, name: &str) -> &'a Value {
    snapshot["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no {name}: {snapshot:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_latency_region_is_drained_by_inverting_its_health_check_and_restored_by_reverting() {
    let moto = Moto::shared();
    let d = deploy(&moto, &latency_fleet()).await;

    let snap = d.opsdeck(&["snapshot", "--format", "json"]);
    ok(&snap);
    let snap = json(&snap);
    let eu = &region(&snap, "eu-west-1")["route53"];
    assert_eq!(eu["policy"], "latency", "{snap:#}");
    assert_eq!(eu["health_check_id"], d.check("eu-west-1"));
    assert_eq!(eu["health_check_inverted"], false);
    assert_eq!(eu["healthy"], true);
    assert_eq!(eu["weight"], Value::Null, "a latency record has no weight");
    let ap = &region(&snap, "ap-southeast-1")["route53"];
    assert_eq!(ap["policy"], "latency");
    assert_eq!(ap["health_check_id"], Value::Null);
    assert_eq!(ap["health_check_inverted"], Value::Null);

    let drain = [
        "act",
        "drain",
        "--region",
        "eu-west-1",
        "--allow-actions",
        "--execute",
        "--confirm",
        "eu-west-1",
        "--format",
        "json",
    ];
    let out = d.opsdeck(&drain);
    ok(&out);
    let v = json(&out);
    assert_eq!(v["outcome"]["result"]["status"], "applied", "{v:#}");
    let call = &v["plan"]["calls"][0];
    assert_eq!(call["operation"], "UpdateHealthCheck", "{v:#}");
    assert_eq!(call["params"]["HealthCheckId"], d.check("eu-west-1"));
    assert_eq!(call["params"]["Inverted"], true);
    assert!(d.inverted("eu-west-1").await, "moto holds the inversion");
    assert!(!d.inverted("us-east-1").await);

    let snap = json(&d.opsdeck(&["snapshot", "--format", "json"]));
    let eu = &region(&snap, "eu-west-1")["route53"];
    assert_eq!(eu["health_check_inverted"], true, "{snap:#}");
    assert_eq!(
        eu["healthy"], false,
        "Route53 routes on the inverted verdict"
    );

    let restore = [
        "act",
        "restore",
        "--region",
        "eu-west-1",
        "--allow-actions",
        "--execute",
        "--confirm",
        "eu-west-1",
        "--format",
        "json",
    ];
    let out = d.opsdeck_later(COOLDOWN_S + 1, &restore);
    ok(&out);
    let v = json(&out);
    assert_eq!(v["outcome"]["result"]["status"], "applied", "{v:#}");
    assert_eq!(v["plan"]["calls"][0]["params"]["Inverted"], false);
    assert!(!d.inverted("eu-west-1").await, "reverted in moto");

    let records = std::fs::read_to_string(d.audit()).unwrap();
    assert_eq!(
        records.lines().count(),
        4,
        "requested + ended, twice:\n{records}"
    );
    assert_eq!(
        records.matches("\"UpdateHealthCheck\"").count(),
        4,
        "{records}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_latency_record_without_a_health_check_is_not_drained() {
    let moto = Moto::shared();
    let d = deploy(&moto, &latency_fleet()).await;
    let out = d.opsdeck(&[
        "act",
        "drain",
        "--region",
        "ap-southeast-1",
        "--allow-actions",
        "--execute",
        "--confirm",
        "ap-southeast-1",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("has no health check"), "{err}");
    assert!(err.contains("Attach one"), "{err}");
    assert!(!d.inverted("us-east-1").await && !d.inverted("eu-west-1").await);
    assert_eq!(d.audit_lines(), 0, "nothing ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_the_last_healthy_latency_record_is_refused() {
    let moto = Moto::shared();
    // eu-west-1's check is already inverted (drained): us-east-1 is the only healthy record.
    let d = deploy(
        &moto,
        &[
            Seed {
                region: "us-east-1",
                routing: Routing::Latency,
                check: Some(false),
            },
            Seed {
                region: "eu-west-1",
                routing: Routing::Latency,
                check: Some(true),
            },
        ],
    )
    .await;
    let out = d.opsdeck(&[
        "act",
        "drain",
        "--region",
        "us-east-1",
        "--allow-actions",
        "--execute",
        "--confirm",
        "us-east-1",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(err.contains("last-serving-region"), "{err}");
    assert!(!d.inverted("us-east-1").await, "nothing changed");
    let records = std::fs::read_to_string(d.audit()).unwrap();
    assert!(records.contains("all-records-unhealthy"), "{records}");
    assert!(records.contains("\"refused\""), "{records}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_what_if_of_a_geolocation_fleet_names_where_each_region_s_users_go() {
    let moto = Moto::shared();
    let d = deploy(
        &moto,
        &[
            Seed {
                region: "eu-west-1",
                routing: Routing::Geo("EU"),
                check: Some(false),
            },
            Seed {
                region: "us-east-1",
                routing: Routing::Geo("*"),
                check: Some(false),
            },
            Seed {
                region: "ap-southeast-1",
                routing: Routing::Geo("AS"),
                check: Some(false),
            },
        ],
    )
    .await;
    let snap = json(&d.opsdeck(&["snapshot", "--format", "json"]));
    assert_eq!(
        region(&snap, "eu-west-1")["route53"]["policy"],
        "geolocation",
        "{snap:#}"
    );
    for (failed, goes) in [
        (
            "eu-west-1",
            "users of eu-west-1 (location EU) go to us-east-1 (the default record)",
        ),
        (
            "ap-southeast-1",
            "users of ap-southeast-1 (location AS) go to us-east-1 (the default record)",
        ),
        ("us-east-1", "users of us-east-1 (location *) get no answer"),
    ] {
        let out = d.opsdeck(&["simulate", "--fail", failed, "--format", "json"]);
        ok(&out);
        let v = json(&out);
        let notes: Vec<&str> = v["notes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            notes.iter().any(|n| n.contains(goes)),
            "{failed}: {notes:#?}"
        );
    }
}
