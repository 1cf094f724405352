//! `opsdeck discover`: write a fleet file from what the account holds. ECS clusters and services
//! and RDS instances come from their APIs (filtered by tag when asked); load balancers and cache
//! clusters from the CloudWatch metrics they publish (which gives exactly the dimension values the
//! fleet file needs); EKS managed node groups (`ListClusters`, `ListNodegroups`); Route53 records
//! with a set identifier — weighted, latency, geolocation, failover, multivalue — whose set
//! identifier or target names the region, with their policy and health check.
//! Wherever it had to choose, the file says so in a comment.

use super::clients::{GlobalClients, RegionClients};
use super::errors::classify;
use super::{load_checked, AwsOptions, AwsSetupError};
use crate::fleet::SourceError;
use std::collections::BTreeSet;
use std::fmt::Write;

/// Pages read at most from any one listing.
const MAX_PAGES: usize = 5;
/// Hosted zones searched at most for weighted records.
const MAX_ZONES: usize = 20;

type Tag = Option<(String, String)>;

#[derive(Debug, Default)]
struct Found {
    ecs: Vec<(String, String)>,
    /// (instance, source of replication if a replica, has replicas)
    rds: Vec<(String, Option<String>, bool)>,
    albs: Vec<String>,
    caches: Vec<String>,
    /// EKS (cluster, node group).
    eks: Vec<(String, String)>,
    problems: Vec<String>,
}

/// How many kinds of resource a region is searched for (a problem each when all fail).
const KINDS: usize = 5;

/// Clusters read at most per region, and node groups per cluster.
const MAX_CLUSTERS: usize = 20;

/// Every managed node group of every cluster in the region (not filtered by tag).
async fn eks_nodegroups(c: &aws_sdk_eks::Client) -> Result<Vec<(String, String)>, SourceError> {
    let clusters = c.list_clusters().send().await.map_err(|e| classify(&e))?;
    let mut out = Vec::new();
    for cluster in clusters.clusters().iter().take(MAX_CLUSTERS) {
        let groups = c
            .list_nodegroups()
            .cluster_name(cluster)
            .send()
            .await
            .map_err(|e| classify(&e))?;
        for g in groups.nodegroups().iter().take(MAX_CLUSTERS) {
            out.push((cluster.clone(), g.clone()));
        }
    }
    Ok(out)
}

fn tagged<'a>(tags: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>, tag: &Tag) -> bool {
    let Some((k, v)) = tag else { return true };
    tags.into_iter()
        .any(|(tk, tv)| tk == Some(k.as_str()) && tv == Some(v.as_str()))
}

fn last_segment(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_string()
}

async fn ecs_services(
    c: &aws_sdk_ecs::Client,
    tag: &Tag,
) -> Result<Vec<(String, String)>, SourceError> {
    let mut arns = Vec::new();
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let out = c
            .list_clusters()
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| classify(&e))?;
        arns.extend(out.cluster_arns().iter().cloned());
        token = out.next_token().map(String::from);
        if token.is_none() {
            break;
        }
    }
    let mut found = Vec::new();
    for chunk in arns.chunks(100) {
        let out = c
            .describe_clusters()
            .set_clusters(Some(chunk.to_vec()))
            .include(aws_sdk_ecs::types::ClusterField::Tags)
            .send()
            .await
            .map_err(|e| classify(&e))?;
        for cluster in out.clusters() {
            if !tagged(cluster.tags().iter().map(|t| (t.key(), t.value())), tag) {
                continue;
            }
            let name = cluster.cluster_name().unwrap_or_default().to_string();
            let services = c
                .list_services()
                .cluster(&name)
                .send()
                .await
                .map_err(|e| classify(&e))?;
            for s in services.service_arns() {
                found.push((name.clone(), last_segment(s)));
            }
        }
    }
    Ok(found)
}

async fn rds_instances(
    c: &aws_sdk_rds::Client,
    tag: &Tag,
) -> Result<Vec<(String, Option<String>, bool)>, SourceError> {
    let mut found = Vec::new();
    let mut marker = None;
    for _ in 0..MAX_PAGES {
        let out = c
            .describe_db_instances()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| classify(&e))?;
        for db in out.db_instances() {
            if !tagged(db.tag_list().iter().map(|t| (t.key(), t.value())), tag) {
                continue;
            }
            found.push((
                db.db_instance_identifier().unwrap_or_default().to_string(),
                db.read_replica_source_db_instance_identifier()
                    .map(String::from),
                !db.read_replica_db_instance_identifiers().is_empty(),
            ));
        }
        marker = out.marker().map(String::from);
        if marker.is_none() {
            break;
        }
    }
    Ok(found)
}

/// Distinct values of one dimension of one metric, from `ListMetrics`.
async fn dimension_values(
    c: &aws_sdk_cloudwatch::Client,
    namespace: &str,
    metric: &str,
    dimension: &str,
) -> Result<Vec<String>, SourceError> {
    let mut values = BTreeSet::new();
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let out = c
            .list_metrics()
            .namespace(namespace)
            .metric_name(metric)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| classify(&e))?;
        for m in out.metrics() {
            for d in m.dimensions() {
                if d.name() == Some(dimension) {
                    values.extend(d.value().map(String::from));
                }
            }
        }
        token = out.next_token().map(String::from);
        if token.is_none() {
            break;
        }
    }
    Ok(values.into_iter().collect())
}

async fn region_resources(c: &RegionClients, tag: &Tag) -> Found {
    let mut f = Found::default();
    match ecs_services(&c.ecs, tag).await {
        Ok(x) => f.ecs = x,
        Err(e) => f.problems.push(format!("ECS: {e}")),
    }
    match eks_nodegroups(&c.eks).await {
        Ok(x) => f.eks = x,
        Err(e) => f.problems.push(format!("EKS: {e}")),
    }
    match rds_instances(&c.rds, tag).await {
        Ok(x) => f.rds = x,
        Err(e) => f.problems.push(format!("RDS: {e}")),
    }
    match dimension_values(
        &c.cloudwatch,
        "AWS/ApplicationELB",
        "RequestCount",
        "LoadBalancer",
    )
    .await
    {
        Ok(x) => f.albs = x,
        Err(e) => f.problems.push(format!("CloudWatch (load balancers): {e}")),
    }
    match dimension_values(
        &c.cloudwatch,
        "AWS/ElastiCache",
        "CacheHits",
        "CacheClusterId",
    )
    .await
    {
        Ok(x) => f.caches = x,
        Err(e) => f.problems.push(format!("CloudWatch (caches): {e}")),
    }
    f
}

/// A weighted record: zone, name, type, set identifier, and what it points at.
#[derive(Debug, Clone)]
struct Weighted {
    zone: String,
    name: String,
    record_type: String,
    set_id: String,
    targets: Vec<String>,
    policy: crate::fleet::routing::Policy,
    location: Option<String>,
    failover: Option<crate::fleet::routing::FailoverRole>,
    health_check: Option<String>,
}

async fn weighted_records(c: &aws_sdk_route53::Client) -> Result<Vec<Weighted>, SourceError> {
    let zones = c
        .list_hosted_zones()
        .send()
        .await
        .map_err(|e| classify(&e))?;
    let mut out = Vec::new();
    for zone in zones.hosted_zones().iter().take(MAX_ZONES) {
        let zone_id = super::route53::zone_id(zone.id()).to_string();
        let (mut name, mut rtype, mut ident) = (None::<String>, None, None::<String>);
        for _ in 0..MAX_PAGES {
            let page = c
                .list_resource_record_sets()
                .hosted_zone_id(&zone_id)
                .set_start_record_name(name.clone())
                .set_start_record_type(rtype.clone())
                .set_start_record_identifier(ident.clone())
                .send()
                .await
                .map_err(|e| classify(&e))?;
            for s in page.resource_record_sets() {
                let (policy, location, failover) = super::route53::routing_of(s);
                if let (Some(policy), Some(id)) = (policy, s.set_identifier()) {
                    let mut targets: Vec<String> = s
                        .resource_records()
                        .iter()
                        .map(|r| r.value().to_string())
                        .collect();
                    targets.extend(s.alias_target().map(|a| a.dns_name().to_string()));
                    out.push(Weighted {
                        zone: zone_id.clone(),
                        name: s.name().to_string(),
                        record_type: s.r#type().as_str().to_string(),
                        set_id: id.to_string(),
                        targets,
                        policy,
                        location,
                        failover,
                        health_check: s.health_check_id().map(String::from),
                    });
                }
            }
            if !page.is_truncated() {
                break;
            }
            name = page.next_record_name().map(String::from);
            rtype = page.next_record_type().cloned();
            ident = page.next_record_identifier().map(String::from);
        }
    }
    Ok(out)
}

fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Render the fleet file.
fn render(
    regions: &[String],
    tag: &Tag,
    found: &[Found],
    records: &Result<Vec<Weighted>, SourceError>,
) -> String {
    let mut t = String::new();
    let tag_text = tag
        .as_ref()
        .map(|(k, v)| format!(" --tag {k}={v}"))
        .unwrap_or_default();
    let _ = writeln!(
        t,
        "# Written by `opsdeck discover --regions {}{tag_text}`.",
        regions.join(",")
    );
    let _ = writeln!(
        t,
        "# Check every line marked \"guess\" before relying on this file."
    );
    let name = tag
        .as_ref()
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| "discovered".into());
    let _ = writeln!(t, "name = {}\n", q(&name));
    let _ = writeln!(t, "[metrics]\n# CloudWatch statistics of ALB TargetResponseTime; the threshold applies to the last one.");
    let _ = writeln!(t, "latency_stats = [\"p50\", \"p99\"]\n");
    if let Err(e) = records {
        let _ = writeln!(
            t,
            "# Route53 could not be read ({e}): no weighted records in this file.\n"
        );
    }
    // The primary: the region whose writer has replicas; else any region with a writer.
    let writer_with_replicas = found
        .iter()
        .position(|f| f.rds.iter().any(|(_, src, has)| src.is_none() && *has));
    let any_writer = found
        .iter()
        .position(|f| f.rds.iter().any(|(_, src, _)| src.is_none()));
    let (primary, primary_note) = match (writer_with_replicas, any_writer) {
        (Some(i), _) => (
            i,
            "  # its database is the writer with read replicas".to_string(),
        ),
        (None, Some(i)) => (
            i,
            "  # guess: its database is a writer, but no replicas were found".to_string(),
        ),
        (None, None) => (
            0,
            "  # guess: no RDS writer found; set the primary by hand".to_string(),
        ),
    };
    for (i, (region, f)) in regions.iter().zip(found).enumerate() {
        let _ = writeln!(t, "[[region]]\nname = {}", q(region));
        if i == primary {
            let _ = writeln!(t, "role = \"primary\"{primary_note}");
        } else {
            let _ = writeln!(t, "role = \"secondary\"");
        }
        for p in &f.problems {
            let _ = writeln!(t, "# could not read {p}");
        }
        one_of(
            &mut t,
            "alb",
            &f.albs,
            "load balancers (from CloudWatch ApplicationELB metrics; not filtered by tag)",
        );
        if !f.eks.is_empty() {
            let list: Vec<String> = f
                .eks
                .iter()
                .map(|(c, g)| {
                    format!(
                        "{{ cluster = {}, nodegroup = {}, namespace = \"default\", service = {} }}",
                        q(c),
                        q(g),
                        q(g)
                    )
                })
                .collect();
            let _ = writeln!(
                t,
                "# guess: namespace and service are Kubernetes names EKS does not list: set them"
            );
            let _ = writeln!(t, "eks = [{}]", list.join(", "));
        }
        if f.ecs.is_empty() {
            let _ = writeln!(
                t,
                "# ecs = [{{ cluster = \"...\", service = \"...\" }}]  # no ECS services found"
            );
        } else {
            let list: Vec<String> = f
                .ecs
                .iter()
                .map(|(c, s)| format!("{{ cluster = {}, service = {} }}", q(c), q(s)))
                .collect();
            let _ = writeln!(t, "ecs = [{}]", list.join(", "));
        }
        // The primary's database is its writer; a secondary's is its replica.
        let wanted: Vec<String> = f
            .rds
            .iter()
            .filter(|(_, src, _)| {
                if i == primary {
                    src.is_none()
                } else {
                    src.is_some()
                }
            })
            .chain(f.rds.iter().filter(|(_, src, _)| {
                if i == primary {
                    src.is_some()
                } else {
                    src.is_none()
                }
            }))
            .map(|(id, _, _)| id.clone())
            .collect();
        one_of(&mut t, "rds", &wanted, "DB instances");
        one_of(
            &mut t,
            "cache",
            &f.caches,
            "cache clusters (from CloudWatch ElastiCache metrics; not filtered by tag)",
        );
        let _ = writeln!(t, "# health_url = \"https://{region}.example.com/health/regional\"  # not discoverable: set it");
        if let Ok(records) = records {
            let matching: Vec<&Weighted> = records
                .iter()
                .filter(|w| {
                    w.set_id.contains(region.as_str())
                        || w.targets.iter().any(|x| x.contains(region.as_str()))
                })
                .collect();
            if let Some(w) = matching.first() {
                let note = if w.set_id == *region {
                    ""
                } else {
                    "  # guess: matched by target or partial set identifier"
                };
                let mut extra = String::new();
                if !w.policy.is_weighted() {
                    extra.push_str(&format!(", policy = {}", q(w.policy.as_str())));
                }
                if let Some(l) = &w.location {
                    extra.push_str(&format!(", location = {}", q(l)));
                }
                if let Some(f) = w.failover {
                    extra.push_str(&format!(", failover = {}", q(f.as_str())));
                }
                if let Some(h) = &w.health_check {
                    extra.push_str(&format!(", health_check_id = {}", q(h)));
                }
                let _ = writeln!(
                    t,
                    "route53 = {{ zone_id = {}, record = {}, set_identifier = {}, type = {}{extra} }}{note}",
                    q(&w.zone),
                    q(&w.name),
                    q(&w.set_id),
                    q(&w.record_type)
                );
                for other in &matching[1..] {
                    let _ = writeln!(
                        t,
                        "# other weighted record for this region: {} {} set {}",
                        other.name, other.record_type, other.set_id
                    );
                }
            }
        }
        t.push('\n');
    }
    t
}

/// `key = "first"`, with the others listed in a comment when there was a choice.
fn one_of(t: &mut String, key: &str, values: &[String], what: &str) {
    match values {
        [] => {
            let _ = writeln!(
                t,
                "# {key} = \"...\"  # no {what} found: set it by hand if the region has one"
            );
        }
        [only] => {
            let _ = writeln!(t, "{key} = {}", q(only));
        }
        [first, rest @ ..] => {
            let _ = writeln!(
                t,
                "{key} = {}  # guess: first of {} {what}; others: {}",
                q(first),
                values.len(),
                rest.join(", ")
            );
        }
    }
}

/// Look at the account in each region and write a fleet file (TOML with comments).
pub async fn discover(
    regions: &[String],
    tag: Option<(String, String)>,
    opts: &AwsOptions,
) -> Result<String, AwsSetupError> {
    if regions.is_empty() {
        return Err(AwsSetupError::Other(
            "no regions given: use --regions a,b,c".into(),
        ));
    }
    let timeout_s = opts.refresh.as_ref().map(|r| r.timeout_s).unwrap_or(10);
    let config = load_checked(opts, timeout_s).await?;
    let global = GlobalClients::new(&config);
    let per_region = regions.iter().map(|r| {
        let clients = RegionClients::new(&config, r);
        let tag = tag.clone();
        async move { region_resources(&clients, &tag).await }
    });
    let found = futures::future::join_all(per_region).await;
    if found.iter().all(|f| f.problems.len() == KINDS) {
        let first = found
            .iter()
            .flat_map(|f| f.problems.first())
            .next()
            .cloned()
            .unwrap_or_default();
        return Err(AwsSetupError::Other(format!(
            "nothing could be read from AWS: {first}"
        )));
    }
    let records = weighted_records(&global.route53).await;
    Ok(render(regions, &tag, &found, &records))
}
