//! Route53 is global: one `ListResourceRecordSets` per record name of the fleet (not per region),
//! all at once, then `GetHealthCheck` (is it inverted?) and `GetHealthCheckStatus` for every health
//! check at once: two round trips whatever the fleet's size. Every routing policy is read from the
//! record set itself: weighted, latency, geolocation, failover, multivalue answer.

use super::errors::classify;
use crate::fleet::routing::{FailoverRole, Policy, DEFAULT_LOCATION};
use crate::fleet::{Fleet, Route53Ref, Route53State, SourceError};
use aws_sdk_route53::types::{ResourceRecordSet, RrType};
use futures::future::join_all;
use std::collections::BTreeMap;

/// Share of Route53's checkers that must see the endpoint healthy (Route53's own rule: more than
/// 18 %).
const HEALTHY_SHARE: f64 = 0.18;
/// Pages of record sets read at most for one name (a page holds up to 300).
const MAX_PAGES: usize = 5;

pub fn zone_id(id: &str) -> &str {
    id.trim_start_matches("/hostedzone/")
}

/// `api.example.com.` and `API.example.com` are the same record.
pub fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// The weighted sets of one record name and type, by set identifier, as Route53 lists them.
pub type WeightedSets = BTreeMap<String, ResourceRecordSet>;

pub fn weighted_sets(sets: &[ResourceRecordSet], name: &str, record_type: &str) -> WeightedSets {
    sets.iter()
        .filter(|s| {
            same_name(s.name(), name) && s.r#type().as_str().eq_ignore_ascii_case(record_type)
        })
        .filter_map(|s| Some((s.set_identifier()?.to_string(), s.clone())))
        .collect()
}

/// A region's record as read: the whole set (an UPSERT repeats everything but the weight), the
/// verdict Route53 routes on (the checkers' verdict, inverted when the check is; None without a
/// check, or when not asked) and whether its health check is inverted (None without one).
#[derive(Debug, Clone, PartialEq)]
pub struct WeightedRecord {
    pub set: ResourceRecordSet,
    pub healthy: Option<bool>,
    pub inverted: Option<bool>,
}

/// The routing of a record set: its policy, a geolocation record's location (`*` for the default),
/// a failover record's role.
pub fn routing_of(s: &ResourceRecordSet) -> (Option<Policy>, Option<String>, Option<FailoverRole>) {
    if s.weight().is_some() {
        (Some(Policy::Weighted), None, None)
    } else if s.region().is_some() {
        (Some(Policy::Latency), None, None)
    } else if let Some(g) = s.geo_location() {
        let location = match (g.continent_code(), g.country_code(), g.subdivision_code()) {
            (_, Some(c), Some(sub)) => format!("{c}-{sub}"),
            (_, Some(c), None) => c.to_string(),
            (Some(c), None, _) => c.to_string(),
            (None, None, _) => DEFAULT_LOCATION.to_string(),
        };
        (Some(Policy::Geolocation), Some(location), None)
    } else if let Some(f) = s.failover() {
        let role = match f.as_str() {
            "SECONDARY" => FailoverRole::Secondary,
            _ => FailoverRole::Primary,
        };
        (Some(Policy::Failover), None, Some(role))
    } else if s.multi_value_answer() == Some(true) {
        (Some(Policy::Multivalue), None, None)
    } else {
        (None, None, None)
    }
}

/// Zone, name and type: the records one listing covers.
fn list_key(r: &Route53Ref) -> (String, String, String) {
    (
        zone_id(&r.zone_id).to_string(),
        r.record.trim_end_matches('.').to_lowercase(),
        r.record_type.to_uppercase(),
    )
}

async fn list_sets(
    client: &aws_sdk_route53::Client,
    r: &Route53Ref,
) -> Result<WeightedSets, SourceError> {
    let mut all = WeightedSets::new();
    let (mut start_name, mut start_type, mut start_id) =
        (r.record.clone(), r.record_type.clone(), None::<String>);
    for _ in 0..MAX_PAGES {
        let out = client
            .list_resource_record_sets()
            .hosted_zone_id(zone_id(&r.zone_id))
            .start_record_name(&start_name)
            .start_record_type(RrType::from(start_type.as_str()))
            .set_start_record_identifier(start_id.clone())
            .send()
            .await
            .map_err(|e| classify(&e))?;
        all.extend(weighted_sets(
            out.resource_record_sets(),
            &r.record,
            &r.record_type,
        ));
        let past_the_name = out
            .resource_record_sets()
            .last()
            .map(|s| {
                !same_name(s.name(), &r.record)
                    || !s.r#type().as_str().eq_ignore_ascii_case(&r.record_type)
            })
            .unwrap_or(true);
        match (out.is_truncated(), out.next_record_name(), past_the_name) {
            (true, Some(name), false) => {
                start_name = name.to_string();
                start_type = out
                    .next_record_type()
                    .map(|t| t.as_str().to_string())
                    .unwrap_or(start_type);
                start_id = out.next_record_identifier().map(String::from);
            }
            _ => break,
        }
    }
    Ok(all)
}

/// True when more than 18 % of Route53's checkers report success; None without observations.
pub fn healthy_from(statuses: &[&str]) -> Option<bool> {
    if statuses.is_empty() {
        return None;
    }
    let ok = statuses.iter().filter(|s| s.starts_with("Success")).count();
    Some(ok as f64 / statuses.len() as f64 > HEALTHY_SHARE)
}

/// Whether the health check is inverted (`GetHealthCheck`).
async fn inverted(client: &aws_sdk_route53::Client, id: &str) -> Result<bool, SourceError> {
    let out = client
        .get_health_check()
        .health_check_id(id)
        .send()
        .await
        .map_err(|e| classify(&e))?;
    Ok(out
        .health_check()
        .and_then(|h| h.health_check_config())
        .and_then(|c| c.inverted())
        .unwrap_or(false))
}

async fn health(client: &aws_sdk_route53::Client, id: &str) -> Result<Option<bool>, SourceError> {
    let out = client
        .get_health_check_status()
        .health_check_id(id)
        .send()
        .await
        .map_err(|e| classify(&e))?;
    let statuses: Vec<&str> = out
        .health_check_observations()
        .iter()
        .filter_map(|o| o.status_report().and_then(|r| r.status()))
        .collect();
    Ok(healthy_from(&statuses))
}

/// The record of each `(region, reference)`, in that order: one listing per distinct record name,
/// all at once, then every attached health check at once (`GetHealthCheck` always: whether it is
/// inverted; with `health` its status too). A failing call fails only the regions that needed it.
pub async fn records(
    client: &aws_sdk_route53::Client,
    refs: &[(&str, &Route53Ref)],
    health: bool,
) -> Vec<Result<WeightedRecord, SourceError>> {
    let mut keys: Vec<(String, String, String)> = Vec::new();
    let mut firsts: Vec<&Route53Ref> = Vec::new();
    for (_, r) in refs {
        if !keys.contains(&list_key(r)) {
            keys.push(list_key(r));
            firsts.push(r);
        }
    }
    let lists = join_all(firsts.iter().map(|r| list_sets(client, r))).await;
    let sets: Vec<Result<ResourceRecordSet, SourceError>> = refs
        .iter()
        .map(|(_, r)| {
            let i = keys.iter().position(|k| *k == list_key(r)).unwrap_or(0);
            match &lists[i] {
                Err(e) => Err(e.clone()),
                Ok(sets) => sets.get(&r.set_identifier).cloned().ok_or_else(|| {
                    SourceError::NotFound(format!(
                        "no {} record {} with set identifier {}",
                        r.record_type, r.record, r.set_identifier
                    ))
                }),
            }
        })
        .collect();
    let check_of = |(set, (_, r)): (
        &Result<ResourceRecordSet, SourceError>,
        &(&str, &Route53Ref),
    )| {
        let attached = set.as_ref().ok()?.health_check_id();
        attached
            .or(r.health_check_id.as_deref().filter(|_| health))
            .map(String::from)
    };
    let checks: Vec<Option<String>> = sets.iter().zip(refs).map(check_of).collect();
    let mut ids: Vec<String> = checks.iter().flatten().cloned().collect();
    ids.sort();
    ids.dedup();
    let status = async {
        match health {
            true => join_all(ids.iter().map(|id| self::health(client, id))).await,
            false => ids.iter().map(|_| Ok(None)).collect(),
        }
    };
    let (verdicts, inversions) =
        futures::join!(status, join_all(ids.iter().map(|id| inverted(client, id))));
    sets.into_iter()
        .zip(checks)
        .map(|(set, check)| {
            let set = set?;
            let (healthy, inverted) = match check.and_then(|c| ids.iter().position(|id| *id == c)) {
                Some(i) => {
                    let inverted = inversions[i].clone()?;
                    let seen = verdicts[i].clone()?;
                    (seen.map(|h| h != inverted), Some(inverted))
                }
                None => (None, None),
            };
            Ok(WeightedRecord {
                set,
                healthy,
                inverted,
            })
        })
        .collect()
}

/// Policy, weight and health of every region's record. Regions without a `route53` entry get an empty
/// state; a failing call fails only the regions that needed it.
pub async fn fetch(
    client: &aws_sdk_route53::Client,
    fleet: &Fleet,
) -> Vec<(String, Result<Route53State, SourceError>)> {
    let refs: Vec<(&str, &Route53Ref)> = fleet
        .regions
        .iter()
        .filter_map(|r| r.route53.as_ref().map(|x| (r.name.as_str(), x)))
        .collect();
    let mut read = records(client, &refs, true).await.into_iter();
    fleet
        .regions
        .iter()
        .map(|region| {
            let state = match &region.route53 {
                None => Ok(Route53State::default()),
                Some(_) => read
                    .next()
                    .unwrap_or_else(|| Err(SourceError::Other("no answer".into())))
                    .map(|w| {
                        let (policy, location, failover) = routing_of(&w.set);
                        Route53State {
                            weight: w.set.weight(),
                            healthy: w.healthy,
                            policy,
                            location,
                            failover,
                            health_check_id: w.set.health_check_id().map(str::to_string),
                            health_check_inverted: w.inverted,
                        }
                    }),
            };
            (region.name.clone(), state)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_without_trailing_dot_or_case() {
        assert!(same_name("api.atlas.test.", "API.atlas.test"));
        assert!(!same_name("api.atlas.test.", "www.atlas.test."));
        assert_eq!(zone_id("/hostedzone/Z0ABC"), "Z0ABC");
    }

    #[test]
    fn health_needs_more_than_eighteen_percent() {
        assert_eq!(healthy_from(&[]), None);
        assert_eq!(
            healthy_from(&["Success: HTTP Status Code: 200"]),
            Some(true)
        );
        assert_eq!(healthy_from(&["Failure: timeout"; 5]), Some(false));
        let mostly_failing = [
            "Success: ok",
            "Failure: x",
            "Failure: x",
            "Failure: x",
            "Failure: x",
            "Failure: x",
        ];
        assert_eq!(healthy_from(&mostly_failing), Some(false));
    }

    #[test]
    fn only_sets_of_the_name_and_type_count() {
        let set = |name: &str, t: RrType, id: &str, w: i64| {
            ResourceRecordSet::builder()
                .name(name)
                .r#type(t)
                .set_identifier(id)
                .weight(w)
                .build()
                .unwrap()
        };
        let sets = [
            set("api.atlas.test.", RrType::A, "eu-west-1", 70),
            set("api.atlas.test.", RrType::A, "us-east-1", 30),
            set("api.atlas.test.", RrType::Aaaa, "eu-west-1", 5),
            set("www.atlas.test.", RrType::A, "eu-west-1", 1),
        ];
        let w = weighted_sets(&sets, "api.atlas.test", "A");
        assert_eq!(w.len(), 2);
        assert_eq!(w["eu-west-1"].weight(), Some(70));
    }
}
