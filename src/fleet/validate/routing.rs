//! The routing keys of a fleet file: each record's policy with what the policy needs (a location
//! for geolocation, a role for failover), one policy per record name, and `[[routing.rtt]]`.

use super::super::routing::{FailoverRole, Policy};
use super::super::{Fleet, FleetError};
use super::{Check, Step};
use std::collections::HashMap;

pub(super) fn check(c: &Check, fleet: &Fleet) -> Result<(), FleetError> {
    // (zone, record, type) → (policy, first region); (record, location or role) → first region.
    let mut policies: HashMap<(String, String, String), (Policy, usize)> = HashMap::new();
    let mut taken: HashMap<(String, String), usize> = HashMap::new();
    for (i, r) in fleet.regions.iter().enumerate() {
        let Some(rr) = &r.route53 else { continue };
        let at = |k: &'static str| {
            [
                Step::Key("region"),
                Step::Index(i),
                Step::Key("route53"),
                Step::Key(k),
            ]
        };
        let name = rr.record.trim_end_matches('.').to_ascii_lowercase();
        let key = (rr.zone_id.clone(), name.clone(), rr.record_type.clone());
        if let Some((p, first)) = policies.get(&key) {
            if *p != rr.policy {
                return Err(c.fail(
                    &at("policy"),
                    format!(
                        "region `{}`: route53 policy `{}` differs from region `{}`'s `{}` for the same record (Route53 allows one policy per name and type)",
                        r.name,
                        rr.policy.as_str(),
                        fleet.regions[*first].name,
                        p.as_str()
                    ),
                ));
            }
        } else {
            policies.insert(key, (rr.policy, i));
        }
        match (rr.policy, &rr.location, rr.failover) {
            (Policy::Geolocation, None, _) => {
                return Err(c.fail(
                    &at("policy"),
                    format!(
                        "region `{}`: a geolocation record needs `location` (a continent or country code such as \"EU\" or \"US\", or \"*\" for the default record)",
                        r.name
                    ),
                ))
            }
            (Policy::Failover, _, None) => {
                return Err(c.fail(
                    &at("policy"),
                    format!(
                        "region `{}`: a failover record needs `failover = \"PRIMARY\"` or `\"SECONDARY\"`",
                        r.name
                    ),
                ))
            }
            (p, Some(_), _) if p != Policy::Geolocation => {
                return Err(c.fail(
                    &at("location"),
                    format!(
                        "region `{}`: `location` applies to geolocation records only (this one is {})",
                        r.name,
                        p.as_str()
                    ),
                ))
            }
            (p, _, Some(_)) if p != Policy::Failover => {
                return Err(c.fail(
                    &at("failover"),
                    format!(
                        "region `{}`: `failover` applies to failover records only (this one is {})",
                        r.name,
                        p.as_str()
                    ),
                ))
            }
            _ => {}
        }
        let slot = match (&rr.location, rr.failover) {
            (Some(l), _) => {
                c.not_empty(
                    &at("location"),
                    &format!("region {}: route53.location", r.name),
                    l,
                )?;
                Some(("location", l.to_ascii_uppercase()))
            }
            (_, Some(FailoverRole::Primary)) => Some(("failover", "PRIMARY".to_string())),
            (_, Some(FailoverRole::Secondary)) => Some(("failover", "SECONDARY".to_string())),
            _ => None,
        };
        if let Some((k, v)) = slot {
            if let Some(first) = taken.insert((name.clone(), v.clone()), i) {
                return Err(c.fail(
                    &at(k),
                    format!(
                        "region `{}`: route53 {k} `{v}` is already region `{}`'s for the same record",
                        r.name, fleet.regions[first].name
                    ),
                ));
            }
        }
    }
    if fleet.routing.geolocation_default.is_some()
        && !fleet.regions.iter().any(|r| {
            r.route53
                .as_ref()
                .is_some_and(|rr| rr.policy == Policy::Geolocation)
        })
    {
        return Err(c.fail(
            &[Step::Key("routing"), Step::Key("geolocation_default")],
            "`routing.geolocation_default` applies to geolocation records, and no region's record is one".to_string(),
        ));
    }
    for (j, o) in fleet.routing.rtt.iter().enumerate() {
        let at = |k: &'static str| {
            [
                Step::Key("routing"),
                Step::Key("rtt"),
                Step::Index(j),
                Step::Key(k),
            ]
        };
        c.number(&at("ms"), "routing.rtt.ms", o.ms, 0.0, true, 1000.0)?;
        if o.between[0] == o.between[1] {
            return Err(c.fail(
                &at("between"),
                format!(
                    "`routing.rtt` between `{}` and itself: name two regions",
                    o.between[0]
                ),
            ));
        }
        for b in &o.between {
            if !super::AWS_REGIONS.contains(&b.as_str()) {
                return Err(c.fail(
                    &at("between"),
                    format!(
                        "`routing.rtt`: `{}` is not an AWS region",
                        super::super::text::clean(b)
                    ),
                ));
            }
        }
    }
    Ok(())
}
