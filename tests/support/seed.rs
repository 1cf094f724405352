//! A four-region deployment seeded into moto through the SDK's write calls, and the values the
//! AWS source must read back. `SEEDED` is the single statement of what was put.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_sdk_ecs::types::ContainerDefinition;
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, HealthCheckConfig, HealthCheckType, ResourceRecord,
    ResourceRecordSet, RrType,
};
use chrono::Utc;

pub const PRIMARY: &str = "eu-west-1";
pub const ZONE: &str = "atlas.test.";
pub const RECORD: &str = "api.atlas.test.";

/// One region as seeded.
#[derive(Debug, Clone)]
pub struct SeededRegion {
    pub name: &'static str,
    pub alb: &'static str,
    pub cluster: &'static str,
    /// (service, desired count)
    pub services: &'static [(&'static str, i32)],
    pub db: &'static str,
    pub cache: &'static str,
    /// TargetResponseTime samples (seconds) put in the last complete minute.
    pub latency_s: &'static [f64],
    pub requests: f64,
    pub target_5xx: f64,
    pub elb_5xx: f64,
    /// None: no ReplicaLag data point (the primary).
    pub replica_lag_s: Option<f64>,
    pub cache_hits: f64,
    pub cache_misses: f64,
    pub weight: i64,
    pub health_check: bool,
    /// None: Cost Explorer lists no cost for the region.
    pub cost_usd: Option<f64>,
}

pub const SEEDED: [SeededRegion; 4] = [
    SeededRegion {
        name: "eu-west-1",
        alb: "app/atlas-eu/50dc6c495c0c9188",
        cluster: "atlas-eu",
        services: &[("api", 4)],
        db: "atlas-db-eu",
        cache: "atlas-redis-eu-001",
        latency_s: &[0.040, 0.060],
        requests: 600.0,
        target_5xx: 6.0,
        elb_5xx: 3.0,
        replica_lag_s: None,
        cache_hits: 900.0,
        cache_misses: 100.0,
        weight: 70,
        health_check: true,
        cost_usd: Some(905.25),
    },
    SeededRegion {
        name: "us-east-1",
        alb: "app/atlas-us/7a3f9e21c4b80d15",
        cluster: "atlas-us",
        services: &[("api", 3), ("worker", 2)],
        db: "atlas-db-us",
        cache: "atlas-redis-us-001",
        latency_s: &[0.080],
        requests: 1200.0,
        target_5xx: 0.0,
        elb_5xx: 0.0,
        replica_lag_s: Some(2.5),
        cache_hits: 800.0,
        cache_misses: 200.0,
        weight: 20,
        health_check: false,
        cost_usd: Some(612.5),
    },
    SeededRegion {
        name: "ap-southeast-1",
        alb: "app/atlas-ap/c2e8b47d91f36a08",
        cluster: "atlas-ap",
        services: &[("api", 2)],
        db: "atlas-db-ap",
        cache: "atlas-redis-ap-001",
        latency_s: &[0.250],
        requests: 300.0,
        target_5xx: 30.0,
        elb_5xx: 0.0,
        replica_lag_s: Some(7.0),
        cache_hits: 300.0,
        cache_misses: 700.0,
        weight: 10,
        health_check: true,
        cost_usd: Some(401.75),
    },
    // No ALB traffic at all, replication stopped (ReplicaLag = -1), no cache data, weight 0,
    // no cost: every "no data" path.
    SeededRegion {
        name: "us-west-2",
        alb: "app/atlas-usw/0e1d2c3b4a596877",
        cluster: "atlas-usw",
        services: &[("api", 2)],
        db: "atlas-db-usw",
        cache: "atlas-redis-usw-001",
        latency_s: &[],
        requests: 0.0,
        target_5xx: 0.0,
        elb_5xx: 0.0,
        replica_lag_s: Some(-1.0),
        cache_hits: 0.0,
        cache_misses: 0.0,
        weight: 0,
        health_check: false,
        cost_usd: None,
    },
];

/// Static test credentials for moto, without touching the environment.
pub fn sdk_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                "testing", "testing", None, None, "seed",
            )),
        )
        .build()
}

fn region_config(config: &SdkConfig, region: &str) -> SdkConfig {
    config
        .to_builder()
        .region(Region::new(region.to_string()))
        .build()
}

fn metric(
    name: &str,
    dim: (&str, &str),
    value: f64,
    at: aws_smithy_types::DateTime,
    unit: StandardUnit,
) -> MetricDatum {
    MetricDatum::builder()
        .metric_name(name)
        .dimensions(Dimension::builder().name(dim.0).value(dim.1).build())
        .timestamp(at)
        .value(value)
        .unit(unit)
        .build()
}

/// Every seeded cluster and database carries `app = atlas` (for `discover --tag`).
fn rds_tag() -> aws_sdk_rds::types::Tag {
    aws_sdk_rds::types::Tag::builder()
        .key("app")
        .value("atlas")
        .build()
}

fn ecs_tag() -> aws_sdk_ecs::types::Tag {
    aws_sdk_ecs::types::Tag::builder()
        .key("app")
        .value("atlas")
        .build()
}

/// What `seed` made that the fleet file must name.
pub struct Seeded {
    pub zone_id: String,
    pub health_checks: Vec<(String, String)>,
}

/// Put the four-region deployment into moto at `endpoint`.
pub async fn seed(endpoint: &str, moto: &super::moto::Moto) -> Seeded {
    let base = sdk_config(endpoint);
    // The middle of the last complete minute.
    let now = Utc::now().timestamp();
    let at = aws_smithy_types::DateTime::from_secs(now - now.rem_euclid(60) - 30);
    let primary_arn = {
        let rds = aws_sdk_rds::Client::new(&region_config(&base, PRIMARY));
        let out = rds
            .create_db_instance()
            .db_instance_identifier(SEEDED[0].db)
            .db_instance_class("db.r6g.large")
            .engine("postgres")
            .master_username("atlas")
            .master_user_password("not-a-secret-1")
            .allocated_storage(20)
            .tags(rds_tag())
            .send()
            .await
            .expect("create primary DB");
        out.db_instance()
            .and_then(|d| d.db_instance_arn())
            .expect("primary ARN")
            .to_string()
    };
    for r in &SEEDED {
        let config = region_config(&base, r.name);
        let cw = aws_sdk_cloudwatch::Client::new(&config);
        let mut elb = Vec::new();
        let lb = ("LoadBalancer", r.alb);
        for v in r.latency_s {
            elb.push(metric(
                "TargetResponseTime",
                lb,
                *v,
                at,
                StandardUnit::Seconds,
            ));
        }
        if r.requests > 0.0 {
            elb.push(metric(
                "RequestCount",
                lb,
                r.requests,
                at,
                StandardUnit::Count,
            ));
        }
        if r.target_5xx > 0.0 {
            elb.push(metric(
                "HTTPCode_Target_5XX_Count",
                lb,
                r.target_5xx,
                at,
                StandardUnit::Count,
            ));
        }
        if r.elb_5xx > 0.0 {
            elb.push(metric(
                "HTTPCode_ELB_5XX_Count",
                lb,
                r.elb_5xx,
                at,
                StandardUnit::Count,
            ));
        }
        if !elb.is_empty() {
            cw.put_metric_data()
                .namespace("AWS/ApplicationELB")
                .set_metric_data(Some(elb))
                .send()
                .await
                .expect("put ALB metrics");
        }
        if r.cache_hits + r.cache_misses > 0.0 {
            let dim = ("CacheClusterId", r.cache);
            cw.put_metric_data()
                .namespace("AWS/ElastiCache")
                .metric_data(metric(
                    "CacheHits",
                    dim,
                    r.cache_hits,
                    at,
                    StandardUnit::Count,
                ))
                .metric_data(metric(
                    "CacheMisses",
                    dim,
                    r.cache_misses,
                    at,
                    StandardUnit::Count,
                ))
                .send()
                .await
                .expect("put cache metrics");
        }
        if let Some(lag) = r.replica_lag_s {
            cw.put_metric_data()
                .namespace("AWS/RDS")
                .metric_data(metric(
                    "ReplicaLag",
                    ("DBInstanceIdentifier", r.db),
                    lag,
                    at,
                    StandardUnit::Seconds,
                ))
                .send()
                .await
                .expect("put replica lag");
        }
        if r.name != PRIMARY {
            aws_sdk_rds::Client::new(&config)
                .create_db_instance_read_replica()
                .db_instance_identifier(r.db)
                .source_db_instance_identifier(&primary_arn)
                .db_instance_class("db.r6g.large")
                .tags(rds_tag())
                .send()
                .await
                .expect("create cross-region read replica");
        }
        let ecs = aws_sdk_ecs::Client::new(&config);
        ecs.create_cluster()
            .cluster_name(r.cluster)
            .tags(ecs_tag())
            .send()
            .await
            .expect("create cluster");
        for (service, desired) in r.services {
            ecs.register_task_definition()
                .family(*service)
                .container_definitions(
                    ContainerDefinition::builder()
                        .name(*service)
                        .image("atlas/api:1")
                        .memory(512)
                        .build(),
                )
                .send()
                .await
                .expect("register task definition");
            ecs.create_service()
                .cluster(r.cluster)
                .service_name(*service)
                .task_definition(*service)
                .desired_count(*desired)
                .send()
                .await
                .expect("create service");
        }
    }
    let route53 = aws_sdk_route53::Client::new(&base);
    let zone = route53
        .create_hosted_zone()
        .name(ZONE)
        .caller_reference("atlas-seed")
        .send()
        .await
        .expect("create zone");
    let zone_id = zone
        .hosted_zone()
        .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
        .expect("zone id");
    let mut health_checks = Vec::new();
    let mut changes = Vec::new();
    for (i, r) in SEEDED.iter().enumerate() {
        let mut set = ResourceRecordSet::builder()
            .name(RECORD)
            .r#type(RrType::A)
            .set_identifier(r.name)
            .weight(r.weight)
            .ttl(60)
            .resource_records(
                ResourceRecord::builder()
                    .value(format!("192.0.2.{}", i + 10))
                    .build()
                    .expect("record"),
            );
        if r.health_check {
            let config = HealthCheckConfig::builder()
                .r#type(HealthCheckType::Https)
                .fully_qualified_domain_name(format!("{}.atlas.test", r.name))
                .port(443)
                .resource_path("/health/regional")
                .build()
                .expect("health check config");
            let hc = route53
                .create_health_check()
                .caller_reference(format!("hc-{}", r.name))
                .health_check_config(config)
                .send()
                .await
                .expect("create health check");
            let id = hc
                .health_check()
                .map(|h| h.id().to_string())
                .expect("health check id");
            health_checks.push((r.name.to_string(), id.clone()));
            set = set.health_check_id(id);
        }
        changes.push(
            Change::builder()
                .action(ChangeAction::Create)
                .resource_record_set(set.build().expect("set"))
                .build()
                .expect("change"),
        );
    }
    route53
        .change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(
            ChangeBatch::builder()
                .set_changes(Some(changes))
                .build()
                .expect("batch"),
        )
        .send()
        .await
        .expect("create weighted records");
    moto.post_json(
        "/moto-api/static/ce/cost-and-usage-results",
        &cost_results(),
    );
    Seeded {
        zone_id,
        health_checks,
    }
}

/// Cost Explorer's answer, injected into moto: one MONTHLY period grouped by REGION.
fn cost_results() -> String {
    let now = Utc::now().date_naive();
    let groups: Vec<serde_json::Value> = SEEDED
        .iter()
        .filter_map(|r| r.cost_usd.map(|c| (r.name, c)))
        .map(|(name, c)| {
            serde_json::json!({"Keys": [name], "Metrics": {"UnblendedCost": {"Amount": format!("{c}"), "Unit": "USD"}}})
        })
        .chain([serde_json::json!({"Keys": ["global"], "Metrics": {"UnblendedCost": {"Amount": "3.10", "Unit": "USD"}}})])
        .collect();
    let body = serde_json::json!({"results": [{"ResultsByTime": [{
        "TimePeriod": {"Start": format!("{}", now.format("%Y-%m-01")), "End": format!("{}", now.succ_opt().unwrap_or(now))},
        "Total": {}, "Groups": groups, "Estimated": true}]}]});
    body.to_string()
}

/// The fleet file for the seeded deployment. `health_urls` gives each region's probe URL.
pub fn fleet_toml(seeded: &Seeded, health_urls: &[String], refresh: &str) -> String {
    let mut t = String::from("name = \"atlas-moto\"\n\n[metrics]\n# moto fails a GetMetricData call that asks for a percentile.\nlatency_stats = [\"Average\"]\n\n");
    t.push_str(refresh);
    t.push('\n');
    for (i, r) in SEEDED.iter().enumerate() {
        let services: Vec<String> = r
            .services
            .iter()
            .map(|(s, _)| format!("{{ cluster = \"{}\", service = \"{s}\" }}", r.cluster))
            .collect();
        t.push_str(&format!(
            "[[region]]\nname = \"{name}\"\nrole = \"{role}\"\nalb = \"{alb}\"\necs = [{ecs}]\nrds = \"{db}\"\ncache = \"{cache}\"\n\
             health_url = \"{url}\"\nroute53 = {{ zone_id = \"{zone}\", record = \"{RECORD}\", set_identifier = \"{name}\" }}\n\n",
            name = r.name,
            role = if r.name == PRIMARY { "primary" } else { "secondary" },
            alb = r.alb,
            ecs = services.join(", "),
            db = r.db,
            cache = r.cache,
            url = health_urls[i],
            zone = seeded.zone_id,
        ));
    }
    t
}
