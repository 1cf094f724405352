//! `opsdeck discover`: write a fleet file from what the account holds. ECS clusters and services
//! and RDS instances come from their APIs (filtered by tag when asked); load balancers and cache
//! clusters from the CloudWatch metrics they publish (which gives exactly the dimension values the
//! fleet file needs); EKS managed node groups (`ListClusters`, `ListNodegroups`); Route53 records
//! with a set identifier — weighted, latency, geolocation, failover, multivalue — whose set
//! identifier, latency region or target names the region, with their policy and health check;
//! CloudFront distributions (`ListDistributions`), the one whose origin is one of the fleet's load
//! balancers or records becoming the fleet's `cdn`. Wherever it had to choose, the file says so in
//! a comment.
//!
//! Everything read is hostile: a value goes into the file only if the fleet file would accept it
//! (no control characters, bounded length), always through TOML's own string quoting; any other is
//! left out and named, cleaned and cut short, in a comment.

use super::clients::{GlobalClients, RegionClients};
use super::errors::classify;
use super::{load_checked, AwsOptions, AwsSetupError};
use crate::fleet::cdn::{validate_config, CdnConfig};
use crate::fleet::text;
use crate::fleet::SourceError;
use std::collections::BTreeSet;
use std::fmt::Write;

/// Pages read at most from any one listing.
const MAX_PAGES: usize = 5;
/// Hosted zones searched at most for weighted records.
const MAX_ZONES: usize = 20;
/// Records with a routing policy kept at most, and targets read per record.
const MAX_RECORDS: usize = 2_000;
const MAX_TARGETS: usize = 10;
/// CloudFront distributions asked for per page (pages: `MAX_PAGES`); origins read per distribution.
const CF_PAGE_ITEMS: i32 = 100;
const MAX_ORIGINS: usize = 25;
/// Distributions listed at most in comments.
const MAX_LISTED: usize = 20;
/// Longest value written into the file (a DNS name is at most 255 characters).
const MAX_VALUE: usize = 255;
/// Longest piece of foreign text quoted in a comment, and of an error message.
const MAX_SHOWN: usize = 80;
const MAX_ERROR: usize = 200;

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
        if out.len() >= MAX_RECORDS {
            break;
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
    // The five listings are independent: one round trip's wait, not five.
    let (ecs, eks, rds, albs, caches) = futures::join!(
        ecs_services(&c.ecs, tag),
        eks_nodegroups(&c.eks),
        rds_instances(&c.rds, tag),
        dimension_values(
            &c.cloudwatch,
            "AWS/ApplicationELB",
            "RequestCount",
            "LoadBalancer",
        ),
        dimension_values(
            &c.cloudwatch,
            "AWS/ElastiCache",
            "CacheHits",
            "CacheClusterId",
        ),
    );
    let mut f = Found::default();
    match ecs {
        Ok(x) => f.ecs = x,
        Err(e) => f.problems.push(format!("ECS: {e}")),
    }
    match eks {
        Ok(x) => f.eks = x,
        Err(e) => f.problems.push(format!("EKS: {e}")),
    }
    match rds {
        Ok(x) => f.rds = x,
        Err(e) => f.problems.push(format!("RDS: {e}")),
    }
    match albs {
        Ok(x) => f.albs = x,
        Err(e) => f.problems.push(format!("CloudWatch (load balancers): {e}")),
    }
    match caches {
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
    /// A latency record's AWS region.
    latency_region: Option<String>,
}

/// The records with a routing policy, and those left out because a value could not go into the
/// fleet file (named for a comment).
#[derive(Debug, Default)]
struct Records {
    found: Vec<Weighted>,
    skipped: Vec<String>,
}

impl Weighted {
    /// Whether every value this record puts into the file is one the file accepts.
    fn usable(&self) -> bool {
        [&self.zone, &self.name, &self.set_id, &self.record_type]
            .into_iter()
            .chain(&self.health_check)
            .chain(&self.location)
            .all(|v| usable(v))
    }
}

async fn weighted_records(c: &aws_sdk_route53::Client) -> Result<Records, SourceError> {
    let zones = c
        .list_hosted_zones()
        .send()
        .await
        .map_err(|e| classify(&e))?;
    let mut out = Records::default();
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
                        .take(MAX_TARGETS)
                        .map(|r| r.value().to_string())
                        .collect();
                    targets.extend(s.alias_target().map(|a| a.dns_name().to_string()));
                    let w = Weighted {
                        zone: zone_id.clone(),
                        name: s.name().to_string(),
                        record_type: s.r#type().as_str().to_string(),
                        set_id: id.to_string(),
                        targets,
                        policy,
                        location,
                        failover,
                        health_check: s.health_check_id().map(String::from),
                        latency_region: s.region().map(|r| r.as_str().to_string()),
                    };
                    if !w.usable() {
                        out.skipped
                            .push(format!("{} set {}", shown(&w.name), shown(&w.set_id)));
                    } else if out.found.len() < MAX_RECORDS {
                        out.found.push(w);
                    }
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

/// A TOML string, quoted and escaped by the toml crate.
fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Whether a value read from AWS can go into the file: not empty, at most `MAX_VALUE`
/// characters, no control characters or line breaks (which the fleet file refuses).
fn usable(v: &str) -> bool {
    !v.trim().is_empty()
        && v.chars().count() <= MAX_VALUE
        && !v.chars().any(char::is_control)
        && !text::is_hostile_text(v)
}

/// Foreign text for a comment: on one line, without control characters, at most `MAX_SHOWN`
/// characters.
fn shown(v: &str) -> String {
    cut(v, MAX_SHOWN)
}

fn cut(v: &str, max: usize) -> String {
    let one: String = text::clean(v).chars().filter(|c| !c.is_control()).collect();
    if one.chars().count() > max {
        let mut s: String = one.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    } else {
        one
    }
}

/// A Kubernetes-style name the fleet file accepts for EKS (as `fleet::validate` checks it).
fn eks_name_ok(v: &str, max: usize) -> bool {
    v.len() <= max
        && v.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// One CloudFront distribution as listed: its ID, domain and origins' domain names.
#[derive(Debug, Clone)]
struct Distribution {
    id: String,
    domain: String,
    origins: Vec<String>,
}

/// The distributions, those left out (their ID is not one the fleet file accepts), and whether
/// there were more than were read.
#[derive(Debug, Default)]
struct Distributions {
    found: Vec<Distribution>,
    skipped: Vec<String>,
    more: bool,
}

/// Every distribution of the account (`ListDistributions`, paged by marker, at most `MAX_PAGES`).
async fn distributions(c: &aws_sdk_cloudfront::Client) -> Result<Distributions, SourceError> {
    let mut out = Distributions::default();
    let mut marker = None;
    for page in 0..MAX_PAGES {
        let resp = c
            .list_distributions()
            .set_marker(marker.take())
            .max_items(CF_PAGE_ITEMS)
            .send()
            .await
            .map_err(|e| classify(&e))?;
        let Some(list) = resp.distribution_list() else {
            break;
        };
        for d in list.items() {
            let id = d.id().to_string();
            if validate_config(&CdnConfig {
                cloudfront: id.clone(),
            })
            .is_err()
            {
                out.skipped.push(shown(&id));
                continue;
            }
            let origins = d
                .origins()
                .map(|o| o.items())
                .unwrap_or_default()
                .iter()
                .take(MAX_ORIGINS)
                .map(|o| o.domain_name().to_string())
                .collect();
            out.found.push(Distribution {
                id,
                domain: d.domain_name().to_string(),
                origins,
            });
        }
        marker = list
            .next_marker()
            .filter(|m| list.is_truncated() && !m.is_empty())
            .map(String::from);
        if marker.is_none() {
            break;
        }
        out.more = page + 1 == MAX_PAGES;
    }
    Ok(out)
}

/// A host name as compared: lower case, no trailing dot, no `dualstack.` (an alias to an ALB).
fn host(name: &str) -> String {
    let h = name.trim_end_matches('.').to_ascii_lowercase();
    h.strip_prefix("dualstack.").map(String::from).unwrap_or(h)
}

/// Whether `host` is the DNS name of the ALB whose metric dimension is `alb` (`app/NAME/ID`) in
/// `region`: `NAME-DIGITS.REGION.elb.amazonaws.com`, `internal-` first for an internal one.
fn is_alb_host(alb: &str, region: &str, host: &str) -> bool {
    let mut parts = alb.split('/');
    let (Some("app"), Some(name), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let h = host.strip_prefix("internal-").unwrap_or(host);
    let Some(rest) = h.strip_prefix(&format!("{}-", name.to_ascii_lowercase())) else {
        return false;
    };
    let Some((id, tail)) = rest.split_once('.') else {
        return false;
    };
    !id.is_empty()
        && id.chars().all(|c| c.is_ascii_digit())
        && tail == format!("{region}.elb.amazonaws.com")
}

/// Why `d` is in front of this fleet (one of its origins is a region's load balancer, the record
/// a region was given, or what that record points at), or `None`.
fn link(
    d: &Distribution,
    regions: &[String],
    found: &[Found],
    chosen: &[Option<&Weighted>],
) -> Option<String> {
    for origin in &d.origins {
        let h = host(origin);
        for (region, f) in regions.iter().zip(found) {
            if let Some(alb) = f.albs.iter().find(|a| is_alb_host(a, region, &h)) {
                return Some(format!(
                    "its origin {} is {region}'s load balancer {}",
                    shown(origin),
                    shown(alb)
                ));
            }
        }
        for (region, w) in regions.iter().zip(chosen) {
            let Some(w) = w else { continue };
            if host(&w.name) == h {
                return Some(format!(
                    "its origin {} is {region}'s Route53 record",
                    shown(origin)
                ));
            }
            if w.targets.iter().any(|t| host(t) == h) {
                return Some(format!(
                    "its origin {} is where {region}'s Route53 record points",
                    shown(origin)
                ));
            }
        }
    }
    None
}

/// The fleet-level `cdn`: the distribution in front of the fleet, or the ones found, commented
/// out, for the user to choose from.
fn render_cdn(
    t: &mut String,
    cdn: &Result<Distributions, SourceError>,
    regions: &[String],
    found: &[Found],
    chosen: &[Option<&Weighted>],
) {
    let hint = "add `cdn = { cloudfront = \"ID\" }` if a distribution is in front of the fleet";
    let list = match cdn {
        Err(e) => {
            let _ = writeln!(
                t,
                "# CloudFront could not be read ({}): {hint}",
                cut(&e.to_string(), MAX_ERROR)
            );
            return;
        }
        Ok(list) => list,
    };
    if !list.skipped.is_empty() {
        let _ = writeln!(
            t,
            "# left out {} CloudFront distribution(s) whose ID is not a distribution ID: {}",
            list.skipped.len(),
            list.skipped[..list.skipped.len().min(MAX_LISTED)].join(", ")
        );
    }
    if list.more {
        let _ = writeln!(
            t,
            "# CloudFront: only the first {} distributions were read",
            list.found.len()
        );
    }
    if list.found.is_empty() {
        let _ = writeln!(t, "# no CloudFront distribution found: {hint}");
        return;
    }
    let linked: Vec<(&Distribution, String)> = list
        .found
        .iter()
        .filter_map(|d| link(d, regions, found, chosen).map(|why| (d, why)))
        .collect();
    match linked.as_slice() {
        [] => {
            let _ = writeln!(
                t,
                "# CloudFront: {} distribution(s), none linked to this fleet: no origin listed is one of its\n\
                 # load balancers or Route53 records (not filtered by tag). Uncomment the one in front of\n\
                 # the fleet, if any:",
                list.found.len()
            );
            for d in list.found.iter().take(MAX_LISTED) {
                let origins: Vec<String> = d.origins.iter().map(|o| shown(o)).collect();
                let _ = writeln!(
                    t,
                    "# cdn = {{ cloudfront = {} }}  # {}, origins: {}",
                    q(&d.id),
                    shown(&d.domain),
                    if origins.is_empty() {
                        "none listed".to_string()
                    } else {
                        origins.join(", ")
                    }
                );
            }
            if list.found.len() > MAX_LISTED {
                let _ = writeln!(t, "# … and {} more", list.found.len() - MAX_LISTED);
            }
        }
        [(d, why)] => {
            let _ = writeln!(t, "cdn = {{ cloudfront = {} }}  # {why}", q(&d.id));
        }
        [(d, why), rest @ ..] => {
            let _ = writeln!(
                t,
                "cdn = {{ cloudfront = {} }}  # guess: first of {} distributions in front of the fleet; {why}",
                q(&d.id),
                linked.len()
            );
            for (other, why) in rest.iter().take(MAX_LISTED) {
                let _ = writeln!(t, "# also in front of the fleet: {} ({why})", other.id);
            }
        }
    }
}

/// The records that may be a region's, best first: its latency region and set identifier both,
/// then its set identifier, its latency region, a set identifier naming it, a target naming it.
fn records_for<'a>(records: &'a [Weighted], region: &str) -> Vec<&'a Weighted> {
    let mut m: Vec<(u8, &Weighted)> = records
        .iter()
        .filter_map(|w| {
            let latency = w.latency_region.as_deref() == Some(region);
            let rank = match (latency, w.set_id == region) {
                (true, true) => 0,
                (false, true) => 1,
                (true, false) => 2,
                _ if w.set_id.contains(region) => 3,
                _ if w.targets.iter().any(|x| x.contains(region)) => 4,
                _ => return None,
            };
            Some((rank, w))
        })
        .collect();
    m.sort_by_key(|(rank, _)| *rank);
    m.into_iter().map(|(_, w)| w).collect()
}

/// Each region's record: the best of its candidates that no earlier region took (the fleet file
/// refuses one set identifier of one record for two regions), and the other candidates.
fn choose<'a>(
    regions: &[String],
    records: &'a [Weighted],
) -> Vec<(Option<&'a Weighted>, Vec<&'a Weighted>)> {
    let mut taken: BTreeSet<(&str, &str, &str)> = BTreeSet::new();
    regions
        .iter()
        .map(|region| {
            let mut candidates = records_for(records, region);
            let pick = candidates.iter().position(|w| {
                !taken.contains(&(w.zone.as_str(), w.name.as_str(), w.set_id.as_str()))
            });
            let chosen = pick.map(|i| candidates.remove(i));
            if let Some(w) = chosen {
                taken.insert((w.zone.as_str(), w.name.as_str(), w.set_id.as_str()));
            }
            (chosen, candidates)
        })
        .collect()
}

/// Render the fleet file.
fn render(
    regions: &[String],
    tag: &Tag,
    found: &[Found],
    records: &Result<Records, SourceError>,
    cdn: &Result<Distributions, SourceError>,
) -> String {
    let mut t = String::new();
    let tag_text = tag
        .as_ref()
        .map(|(k, v)| format!(" --tag {}={}", shown(k), shown(v)))
        .unwrap_or_default();
    let _ = writeln!(
        t,
        "# Written by `opsdeck discover --regions {}{tag_text}`.",
        shown(&regions.join(","))
    );
    let _ = writeln!(
        t,
        "# Check every line marked \"guess\" before relying on this file."
    );
    let name = tag
        .as_ref()
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| "discovered".into());
    let _ = writeln!(t, "name = {}", q(&name));
    let no_records = Vec::new();
    let (all_records, skipped_records) = match records {
        Ok(r) => (&r.found, r.skipped.as_slice()),
        Err(_) => (&no_records, &[][..]),
    };
    let picks = choose(regions, all_records);
    let chosen: Vec<Option<&Weighted>> = picks.iter().map(|(c, _)| *c).collect();
    render_cdn(&mut t, cdn, regions, found, &chosen);
    t.push('\n');
    let _ = writeln!(t, "[metrics]\n# CloudWatch statistics of ALB TargetResponseTime; the threshold applies to the last one.");
    let _ = writeln!(t, "latency_stats = [\"p50\", \"p99\"]\n");
    if let Err(e) = records {
        let _ = writeln!(
            t,
            "# Route53 could not be read ({}): no weighted records in this file.\n",
            cut(&e.to_string(), MAX_ERROR)
        );
    }
    if !skipped_records.is_empty() {
        let _ = writeln!(
            t,
            "# left out {} Route53 record(s) with a value the fleet file cannot hold (control characters, or over {MAX_VALUE} characters): {}\n",
            skipped_records.len(),
            skipped_records
                .iter()
                .take(MAX_LISTED)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
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
    for (i, ((region, f), (chosen, others))) in regions.iter().zip(found).zip(&picks).enumerate() {
        let _ = writeln!(t, "[[region]]\nname = {}", q(region));
        if i == primary {
            let _ = writeln!(t, "role = \"primary\"{primary_note}");
        } else {
            let _ = writeln!(t, "role = \"secondary\"");
        }
        for p in &f.problems {
            let _ = writeln!(t, "# could not read {}", cut(p, MAX_ERROR));
        }
        one_of(
            &mut t,
            "alb",
            &f.albs,
            "load balancers (from CloudWatch ApplicationELB metrics; not filtered by tag)",
        );
        let (eks, bad_eks): (Vec<_>, Vec<_>) = f
            .eks
            .iter()
            .partition(|(c, g)| eks_name_ok(c, 100) && eks_name_ok(g, 63));
        if !bad_eks.is_empty() {
            let names: Vec<String> = bad_eks
                .iter()
                .take(MAX_LISTED)
                .map(|(c, g)| format!("{}/{}", shown(c), shown(g)))
                .collect();
            let _ = writeln!(
                t,
                "# left out {} EKS node group(s) whose name the fleet file cannot hold: {}",
                bad_eks.len(),
                names.join(", ")
            );
        }
        if !eks.is_empty() {
            let list: Vec<String> = eks
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
        let (ecs, bad_ecs): (Vec<_>, Vec<_>) =
            f.ecs.iter().partition(|(c, s)| usable(c) && usable(s));
        if !bad_ecs.is_empty() {
            let _ = writeln!(
                t,
                "# left out {} ECS service(s) whose name the fleet file cannot hold",
                bad_ecs.len()
            );
        }
        if ecs.is_empty() {
            let _ = writeln!(
                t,
                "# ecs = [{{ cluster = \"...\", service = \"...\" }}]  # no ECS services found"
            );
        } else {
            let list: Vec<String> = ecs
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
        let _ = writeln!(
            t,
            "# health_url = \"https://{}.example.com/health/regional\"  # not discoverable: set it",
            shown(region)
        );
        if let Some(w) = chosen {
            let note = if w.set_id == *region {
                ""
            } else if w.latency_region.as_deref() == Some(region.as_str()) {
                "  # matched by its latency region"
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
        }
        for other in others.iter().take(MAX_LISTED) {
            let _ = writeln!(
                t,
                "# other {} record for this region: {} {} set {}",
                other.policy.as_str(),
                shown(&other.name),
                shown(&other.record_type),
                shown(&other.set_id)
            );
        }
        t.push('\n');
    }
    t
}

/// `key = "first"`, with the others listed in a comment when there was a choice. Values the
/// fleet file cannot hold are left out, and counted in a comment.
fn one_of(t: &mut String, key: &str, values: &[String], what: &str) {
    let bad = values.iter().filter(|v| !usable(v)).count();
    if bad > 0 {
        let _ = writeln!(
            t,
            "# left out {bad} {what} whose name the fleet file cannot hold"
        );
    }
    let values: Vec<&String> = values.iter().filter(|v| usable(v)).collect();
    match values.as_slice() {
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
            let others: Vec<String> = rest.iter().take(MAX_LISTED).map(|v| shown(v)).collect();
            let _ = writeln!(
                t,
                "{key} = {}  # guess: first of {} {what}; others: {}",
                q(first),
                values.len(),
                others.join(", ")
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
    let cloudfront = super::clients::cloudfront(&config);
    // The regions, Route53 and CloudFront are read at once: independent round trips.
    let (found, records, cdn) = futures::join!(
        futures::future::join_all(per_region),
        weighted_records(&global.route53),
        distributions(&cloudfront),
    );
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
    Ok(render(regions, &tag, &found, &records, &cdn))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_mocks::{create_mock_http_client, mock, MockResponse, MockResponseInterceptor};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// One `ListDistributions` page as CloudFront answers it: distributions (ID, its one origin's
    /// domain name), truncated with `next` when given.
    fn page(items: &[(String, String)], next: Option<&str>) -> HttpResponse {
        let xml = |v: &str| {
            v.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('\n', "&#10;")
        };
        let summaries: String = items
            .iter()
            .map(|(id, origin)| {
                format!(
                    "<DistributionSummary><Id>{}</Id><DomainName>d-{}.cloudfront.net</DomainName>\
                     <Origins><Quantity>1</Quantity><Items><Origin><Id>o</Id>\
                     <DomainName>{}</DomainName></Origin></Items></Origins></DistributionSummary>",
                    xml(id),
                    xml(id),
                    xml(origin)
                )
            })
            .collect();
        let body = format!(
            "<?xml version=\"1.0\"?><DistributionList xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\">\
             <Marker></Marker>{}<MaxItems>100</MaxItems><IsTruncated>{}</IsTruncated>\
             <Quantity>{}</Quantity><Items>{summaries}</Items></DistributionList>",
            next.map(|n| format!("<NextMarker>{n}</NextMarker>"))
                .unwrap_or_default(),
            next.is_some(),
            items.len()
        );
        HttpResponse::new(StatusCode::try_from(200).unwrap(), SdkBody::from(body))
    }

    fn dist(id: &str, origin: &str) -> (String, String) {
        (id.to_string(), origin.to_string())
    }

    /// A CloudFront client whose every `ListDistributions` is answered by `answer(marker)`;
    /// the number of calls made.
    fn client(
        answer: impl Fn(Option<&str>) -> HttpResponse + Send + Sync + 'static,
    ) -> (aws_sdk_cloudfront::Client, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let rule = mock!(aws_sdk_cloudfront::Client::list_distributions).then_compute_response(
            move |req| {
                seen.fetch_add(1, Ordering::SeqCst);
                MockResponse::Http(answer(req.marker()))
            },
        );
        let conf = aws_sdk_cloudfront::Config::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::Credentials::new(
                "mock", "mock", None, None, "mock",
            ))
            .http_client(create_mock_http_client())
            .interceptor(MockResponseInterceptor::new().with_rule(&rule))
            .build();
        (aws_sdk_cloudfront::Client::from_conf(conf), calls)
    }

    #[tokio::test]
    async fn distributions_follow_the_marker_to_the_last_page() {
        let (c, calls) = client(|marker| match marker {
            None => page(&[dist("E1FIRST", "a.test")], Some("m1")),
            Some("m1") => page(
                &[dist("E2SECOND", "origin-2.test"), dist("e-lower", "b.test")],
                None,
            ),
            Some(other) => panic!("unexpected marker {other}"),
        });
        let d = distributions(&c).await.expect("listed");
        let ids: Vec<&str> = d.found.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["E1FIRST", "E2SECOND"]);
        assert_eq!(d.found[1].origins, ["origin-2.test"]);
        assert_eq!(
            d.skipped,
            ["e-lower"],
            "an ID the fleet file refuses is left out"
        );
        assert!(!d.more);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn distributions_stop_after_max_pages_and_say_there_were_more() {
        let n = Arc::new(AtomicUsize::new(0));
        let (c, calls) = client(move |_| {
            let i = n.fetch_add(1, Ordering::SeqCst);
            page(&[dist(&format!("E{i}"), "a.test")], Some(&format!("m{i}")))
        });
        let d = distributions(&c).await.expect("listed");
        assert_eq!(calls.load(Ordering::SeqCst), MAX_PAGES);
        assert_eq!(d.found.len(), MAX_PAGES);
        assert!(d.more);
    }

    /// moto (5.2) lists distributions without their origins, so the link from an origin to a
    /// region's load balancer is shown here, through the SDK's parsing of a CloudFront answer.
    #[tokio::test]
    async fn the_distribution_whose_origin_is_a_region_s_alb_becomes_the_fleet_s_cdn() {
        let long = format!(
            "evil\ncdn = {{ cloudfront = \"EPWNED\" }}\n{}.test",
            "b".repeat(2000)
        );
        let (c, _) = client(move |_| {
            page(
                &[
                    dist("E1ELSEWHERE", "assets.elsewhere.test"),
                    dist(
                        "E2INFRONT",
                        "dualstack.Shop-Use1-1234.us-east-1.elb.amazonaws.com.",
                    ),
                    dist("E3HOSTILE", &long),
                ],
                None,
            )
        });
        let cdn = distributions(&c).await;
        let regions = ["eu-west-1".to_string(), "us-east-1".to_string()];
        let found = |alb: &str| Found {
            albs: vec![alb.to_string()],
            ..Found::default()
        };
        let found = [
            found("app/shop-euw1/1"),
            found("app/shop-use1/50dc6c495c0c9188"),
        ];
        let t = render(&regions, &None, &found, &Ok(Records::default()), &cdn);
        let fleet = crate::fleet::Fleet::parse(&t, std::path::Path::new("d.toml"))
            .unwrap_or_else(|e| panic!("{e}\n{t}"));
        assert_eq!(
            fleet.cdn.map(|c| c.cloudfront).as_deref(),
            Some("E2INFRONT"),
            "{t}"
        );
        assert!(
            t.contains("is us-east-1's load balancer app/shop-use1/50dc6c495c0c9188"),
            "{t}"
        );
        // Only one could be linked: the others are not offered.
        assert!(
            !t.contains("E1ELSEWHERE") && !t.contains("E3HOSTILE"),
            "{t}"
        );

        // Without the ALB, nothing links: each is offered commented out, the hostile origin
        // cleaned and cut short on its comment line.
        let t = render(
            &regions,
            &None,
            &[Found::default(), Found::default()],
            &Ok(Records::default()),
            &cdn,
        );
        let fleet = crate::fleet::Fleet::parse(&t, std::path::Path::new("d.toml"))
            .unwrap_or_else(|e| panic!("{e}\n{t}"));
        assert!(fleet.cdn.is_none(), "{t}");
        for id in ["E1ELSEWHERE", "E2INFRONT", "E3HOSTILE"] {
            assert!(
                t.contains(&format!("# cdn = {{ cloudfront = \"{id}\" }}")),
                "{t}"
            );
        }
        assert!(!t.lines().any(|l| l.starts_with("cdn =")), "{t}");
        assert!(!t.contains(&"b".repeat(100)), "{t}");
    }

    #[test]
    fn an_alb_host_is_its_name_digits_and_region() {
        let alb = "app/shop-use1/50dc6c495c0c9188";
        for (host_name, region, yes) in [
            (
                "shop-use1-1234567890.us-east-1.elb.amazonaws.com",
                "us-east-1",
                true,
            ),
            (
                "internal-shop-use1-42.us-east-1.elb.amazonaws.com",
                "us-east-1",
                true,
            ),
            (
                "shop-use1-1234567890.eu-west-1.elb.amazonaws.com",
                "us-east-1",
                false,
            ),
            (
                "shop-use1-x-12.us-east-1.elb.amazonaws.com",
                "us-east-1",
                false,
            ),
            ("shop-use1.example.com", "us-east-1", false),
        ] {
            assert_eq!(
                is_alb_host(alb, region, &host(host_name)),
                yes,
                "{host_name}"
            );
        }
        assert!(!is_alb_host(
            "net/shop/1",
            "us-east-1",
            "shop-1.us-east-1.elb.amazonaws.com"
        ));
    }

    #[test]
    fn hostile_values_stay_out_of_the_file_and_comments_stay_on_one_line() {
        assert!(usable("api.shop.test."));
        for bad in [
            "",
            " ",
            "a\nb",
            "tab\there",
            "\u{9b}31m",
            "rtl\u{202e}",
            &"x".repeat(256),
        ] {
            assert!(!usable(bad), "{bad:?}");
        }
        let s = shown(&format!("one\ntwo\u{1b}[31m{}", "z".repeat(500)));
        assert!(!s.contains('\n') && !s.contains('\u{1b}'), "{s:?}");
        assert_eq!(s.chars().count(), MAX_SHOWN);
        // A region whose every listing is hostile still writes a file that loads.
        let found = Found {
            ecs: vec![("c\n[x]".into(), "s".into())],
            rds: vec![("db\u{7}".into(), None, false)],
            albs: vec!["app/a\nname = \"x\"/1".into()],
            caches: vec!["c".repeat(300)],
            eks: vec![("cl".into(), "ng\"\n".into())],
            problems: vec!["ECS: line\nbreak = 1".into()],
        };
        let t = render(
            &["eu-west-1".into()],
            &None,
            &[found],
            &Ok(Records::default()),
            &Err(SourceError::Other("denied\n[[region]]".into())),
        );
        let fleet = crate::fleet::Fleet::parse(&t, std::path::Path::new("d.toml"))
            .unwrap_or_else(|e| panic!("{e}\n{t}"));
        let r = &fleet.regions[0];
        assert!(
            r.alb.is_none() && r.rds.is_none() && r.cache.is_none(),
            "{t}"
        );
        assert!(
            r.ecs.is_empty() && r.eks.is_empty() && fleet.cdn.is_none(),
            "{t}"
        );
        assert!(t.contains("left out 1 EKS node group(s)"), "{t}");
        assert!(
            t.contains("# CloudFront could not be read (denied [[region]])"),
            "{t}"
        );
    }
}
