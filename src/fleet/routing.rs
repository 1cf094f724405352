//! Route53 routing policies: what a region's record is (weighted, latency, geolocation, failover,
//! multivalue answer) and where Route53 sends a region's users when records are drained or
//! unhealthy. [`answer`] is the one rule the what-if, the plans and the simulator share.
//!
//! - weighted: the serving records in proportion to their weights;
//! - latency: the serving region nearest to the users (a built-in table of typical inter-region
//!   round trips, overridable with `[[routing.rtt]]` in the fleet file);
//! - geolocation: the serving record of the users' location, else the serving record of its
//!   continent (a country's users, as Route53 steps from country to continent), else the default
//!   record (`*`), else — when the fleet says its default record aliases a latency-routed name
//!   (`[routing] geolocation_default = "latency"`) — the nearest serving region; a location with
//!   none of these gets no answer;
//! - failover: the primary record while it serves, else the secondary;
//! - multivalue: every serving record alike (clients pick among up to eight answers).
//!
//! When no record of the name serves, Route53 answers as if every record did (with all-zero
//! weights, with every health check failing): each region's users stay where they are.

use serde::{Deserialize, Serialize};

/// A record's routing policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    #[default]
    Weighted,
    Latency,
    Geolocation,
    Failover,
    Multivalue,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Weighted => "weighted",
            Policy::Latency => "latency",
            Policy::Geolocation => "geolocation",
            Policy::Failover => "failover",
            Policy::Multivalue => "multivalue",
        }
    }

    pub fn is_weighted(&self) -> bool {
        *self == Policy::Weighted
    }
}

/// A failover record's role, as Route53 spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FailoverRole {
    #[serde(rename = "PRIMARY", alias = "primary")]
    Primary,
    #[serde(rename = "SECONDARY", alias = "secondary")]
    Secondary,
}

impl FailoverRole {
    pub fn as_str(self) -> &'static str {
        match self {
            FailoverRole::Primary => "PRIMARY",
            FailoverRole::Secondary => "SECONDARY",
        }
    }
}

/// Geolocation's default record: Route53's CountryCode `*`.
pub const DEFAULT_LOCATION: &str = "*";

/// Typical round trips between AWS regions, ms (public inter-region measurements, rounded).
const TYPICAL_RTT_MS: &[(&str, &str, f64)] = &[
    ("us-east-1", "us-east-2", 12.0),
    ("us-east-1", "us-west-1", 62.0),
    ("us-east-1", "us-west-2", 65.0),
    ("us-east-1", "ca-central-1", 16.0),
    ("us-east-1", "sa-east-1", 115.0),
    ("us-east-1", "eu-west-1", 68.0),
    ("us-east-1", "eu-west-2", 75.0),
    ("us-east-1", "eu-central-1", 90.0),
    ("us-east-1", "ap-south-1", 190.0),
    ("us-east-1", "ap-northeast-1", 145.0),
    ("us-east-1", "ap-southeast-1", 215.0),
    ("us-east-1", "ap-southeast-2", 195.0),
    ("us-east-2", "us-west-2", 50.0),
    ("us-east-2", "eu-west-1", 80.0),
    ("us-east-2", "ap-southeast-1", 200.0),
    ("us-west-1", "us-west-2", 22.0),
    ("us-west-2", "eu-west-1", 125.0),
    ("us-west-2", "eu-central-1", 140.0),
    ("us-west-2", "ap-northeast-1", 100.0),
    ("us-west-2", "ap-southeast-1", 165.0),
    ("us-west-2", "ap-southeast-2", 140.0),
    ("eu-west-1", "eu-west-2", 12.0),
    ("eu-west-1", "eu-central-1", 25.0),
    ("eu-west-1", "ap-south-1", 120.0),
    ("eu-west-1", "ap-northeast-1", 205.0),
    ("eu-west-1", "ap-southeast-1", 170.0),
    ("eu-west-1", "ap-southeast-2", 255.0),
    ("eu-central-1", "ap-southeast-1", 155.0),
    ("ap-south-1", "ap-southeast-1", 60.0),
    ("ap-northeast-1", "ap-southeast-1", 70.0),
    ("ap-southeast-1", "ap-southeast-2", 92.0),
];

/// `[routing]` of the fleet file: round trips that override the built-in table, and what a
/// geolocation name's default record does.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoutingConfig {
    pub rtt: Vec<RttOverride>,
    /// `"latency"`: the geolocation default record (`*`) is an alias to a latency-routed name of
    /// the same regions, each behind its region's health check (the usual "latency as fallback").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geolocation_default: Option<GeoDefault>,
}

/// What answers a geolocation user whose location has no serving record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GeoDefault {
    /// The nearest serving region, by the round-trip table.
    Latency,
}

/// Route53's continent codes.
pub const CONTINENTS: &[&str] = &["AF", "AN", "AS", "EU", "NA", "OC", "SA"];

/// The continent of an ISO 3166 country code, for the country → continent step of geolocation
/// routing. Covers the countries a deployment usually names; an unknown code has no continent step.
pub fn continent_of(country: &str) -> Option<&'static str> {
    const TABLE: &[(&str, &[&str])] = &[
        (
            "EU",
            &[
                "AD", "AL", "AT", "BA", "BE", "BG", "BY", "CH", "CY", "CZ", "DE", "DK", "EE", "ES",
                "FI", "FO", "FR", "GB", "GI", "GR", "HR", "HU", "IE", "IM", "IS", "IT", "JE", "LI",
                "LT", "LU", "LV", "MC", "MD", "ME", "MK", "MT", "NL", "NO", "PL", "PT", "RO", "RS",
                "RU", "SE", "SI", "SK", "SM", "UA", "VA", "XK",
            ],
        ),
        (
            "NA",
            &[
                "AG", "BB", "BS", "BZ", "CA", "CR", "CU", "DM", "DO", "GT", "HN", "HT", "JM", "MX",
                "NI", "PA", "PR", "SV", "TT", "US",
            ],
        ),
        (
            "SA",
            &[
                "AR", "BO", "BR", "CL", "CO", "EC", "GY", "PE", "PY", "SR", "UY", "VE",
            ],
        ),
        (
            "AS",
            &[
                "AE", "AF", "AM", "AZ", "BD", "BH", "BN", "BT", "CN", "GE", "HK", "ID", "IL", "IN",
                "IQ", "IR", "JO", "JP", "KG", "KH", "KR", "KW", "KZ", "LA", "LB", "LK", "MM", "MN",
                "MO", "MV", "MY", "NP", "OM", "PH", "PK", "QA", "SA", "SG", "SY", "TH", "TJ", "TM",
                "TR", "TW", "UZ", "VN", "YE",
            ],
        ),
        (
            "AF",
            &[
                "AO", "BF", "BJ", "BW", "CD", "CI", "CM", "DZ", "EG", "ET", "GH", "KE", "LY", "MA",
                "MG", "ML", "MU", "MZ", "NA", "NE", "NG", "RW", "SD", "SN", "SO", "TN", "TZ", "UG",
                "ZA", "ZM", "ZW",
            ],
        ),
        ("OC", &["AU", "FJ", "NZ", "PG", "WS"]),
        ("AN", &["AQ"]),
    ];
    let c = country.to_ascii_uppercase();
    TABLE
        .iter()
        .find(|(_, countries)| countries.contains(&c.as_str()))
        .map(|(continent, _)| *continent)
}

/// `{ between = ["us-east-1", "eu-west-1"], ms = 75.0 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RttOverride {
    pub between: [String; 2],
    pub ms: f64,
}

impl RoutingConfig {
    pub fn is_default(&self) -> bool {
        self.rtt.is_empty()
    }

    /// Round trip between two regions, ms: 0 within one, the fleet file's figure, the built-in
    /// one, or None when neither knows the pair.
    pub fn rtt_ms(&self, a: &str, b: &str) -> Option<f64> {
        if a == b {
            return Some(0.0);
        }
        let pair = |x: &str, y: &str| (x == a && y == b) || (x == b && y == a);
        self.rtt
            .iter()
            .find(|o| pair(&o.between[0], &o.between[1]))
            .map(|o| o.ms)
            .or_else(|| {
                TYPICAL_RTT_MS
                    .iter()
                    .find(|(x, y, _)| pair(x, y))
                    .map(|(_, _, ms)| *ms)
            })
    }
}

/// One region's record as routing sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<'a> {
    pub region: &'a str,
    pub policy: Policy,
    pub weight: i64,
    pub location: Option<&'a str>,
    pub failover: Option<FailoverRole>,
    /// Route53 may answer with it: healthy, and a weight above 0 when weighted.
    pub serving: bool,
}

/// Where a region's users are sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// (entry index, share of the users), shares summing to 1.
    Shares(Vec<(usize, f64)>),
    /// Route53 gives them no answer, and why.
    None(String),
}

/// Where Route53 sends the users of `users_of`'s region, given which records serve.
pub fn answer(entries: &[Entry], users_of: usize, routing: &RoutingConfig) -> Answer {
    let all = !entries.iter().any(|e| e.serving);
    let serving: Vec<usize> = (0..entries.len())
        .filter(|&i| all || entries[i].serving)
        .collect();
    let me = &entries[users_of];
    match me.policy {
        Policy::Weighted => {
            let pool: i64 = serving.iter().map(|&i| entries[i].weight.max(0)).sum();
            if pool <= 0 {
                return Answer::Shares(vec![(users_of, 1.0)]);
            }
            Answer::Shares(
                serving
                    .iter()
                    .filter(|&&i| entries[i].weight > 0)
                    .map(|&i| (i, entries[i].weight as f64 / pool as f64))
                    .collect(),
            )
        }
        Policy::Latency => match nearest(entries, &serving, me.region, routing) {
            Some(i) => Answer::Shares(vec![(i, 1.0)]),
            None => Answer::None("no record".into()),
        },
        Policy::Geolocation => {
            let location = me.location.unwrap_or(DEFAULT_LOCATION);
            let at = |loc: &str| {
                serving.iter().copied().find(|&i| {
                    entries[i]
                        .location
                        .is_some_and(|l| l.eq_ignore_ascii_case(loc))
                })
            };
            let continent = continent_of(location).filter(|c| !c.eq_ignore_ascii_case(location));
            let fallback = || match routing.geolocation_default {
                Some(GeoDefault::Latency) => nearest(entries, &serving, me.region, routing),
                None => None,
            };
            match at(location)
                .or_else(|| continent.and_then(at))
                .or_else(|| at(DEFAULT_LOCATION))
                .or_else(fallback)
            {
                Some(i) => Answer::Shares(vec![(i, 1.0)]),
                None if location == DEFAULT_LOCATION => Answer::None(
                    "the default record does not serve: locations without a record of their own get no answer"
                        .into(),
                ),
                None => Answer::None(format!(
                    "no serving record for location {location}{} and no serving default record (`*`)",
                    continent.map(|c| format!(" or its continent {c}")).unwrap_or_default()
                )),
            }
        }
        Policy::Failover => {
            let role = |r: FailoverRole| {
                serving
                    .iter()
                    .copied()
                    .find(|&i| entries[i].failover == Some(r))
            };
            match role(FailoverRole::Primary).or_else(|| role(FailoverRole::Secondary)) {
                Some(i) => Answer::Shares(vec![(i, 1.0)]),
                None => Answer::None("no failover record serves".into()),
            }
        }
        Policy::Multivalue => {
            let n = serving.len().max(1) as f64;
            Answer::Shares(serving.iter().map(|&i| (i, 1.0 / n)).collect())
        }
    }
}

/// The serving entry nearest to `from` by round trip (an unknown round trip counts as farthest).
fn nearest(
    entries: &[Entry],
    serving: &[usize],
    from: &str,
    routing: &RoutingConfig,
) -> Option<usize> {
    let rtt = |i: usize| routing.rtt_ms(from, entries[i].region).unwrap_or(f64::MAX);
    serving
        .iter()
        .copied()
        .min_by(|a, b| rtt(*a).total_cmp(&rtt(*b)))
}

/// Requests/s each region would serve if `failed` stopped serving now, in the order given, and a
/// sentence saying where its users go: its requests follow [`answer`], the others keep theirs.
pub fn shift(
    entries: &[Entry],
    rps: &[Option<f64>],
    failed: usize,
    routing: &RoutingConfig,
) -> (Vec<f64>, String) {
    let mut after: Vec<f64> = (0..entries.len())
        .map(|i| {
            if i == failed {
                0.0
            } else {
                rps[i].unwrap_or(0.0)
            }
        })
        .collect();
    let mut without = entries.to_vec();
    without[failed].serving = false;
    let moved = rps[failed].unwrap_or(0.0);
    let me = &entries[failed];
    let whose = match (me.policy, me.location, me.failover) {
        (Policy::Geolocation, Some(l), _) => format!("users of {} (location {l})", me.region),
        (Policy::Failover, _, Some(r)) => format!("users of {} ({})", me.region, r.as_str()),
        (p, _, _) => format!("users of {} ({})", me.region, p.as_str()),
    };
    // Nobody else serves: Route53 answers with every record, the failed one included.
    if !without.iter().any(|e| e.serving) {
        return (
            after,
            format!("{whose}: no other record serves, so Route53 answers with every record, the failed one included"),
        );
    }
    let line = match answer(&without, failed, routing) {
        Answer::Shares(shares) => {
            let mut to = Vec::new();
            for (i, share) in shares.iter().filter(|(i, _)| *i != failed) {
                after[*i] += moved * share;
                let why = match me.policy {
                    Policy::Latency => routing
                        .rtt_ms(me.region, entries[*i].region)
                        .map(|ms| format!(" (nearest serving region, ~{ms:.0} ms)"))
                        .unwrap_or_else(|| " (no round trip known: first serving region)".into()),
                    Policy::Geolocation if entries[*i].location == Some(DEFAULT_LOCATION) => {
                        " (the default record)".into()
                    }
                    Policy::Geolocation
                        if me.location.and_then(continent_of).is_some()
                            && entries[*i].location == me.location.and_then(continent_of) =>
                    {
                        format!(" (the continent's record, {})", entries[*i].location.unwrap_or(""))
                    }
                    Policy::Geolocation if routing.geolocation_default.is_some() => routing
                        .rtt_ms(me.region, entries[*i].region)
                        .map(|ms| format!(" (the default record's latency routing: nearest serving region, ~{ms:.0} ms)"))
                        .unwrap_or_else(|| " (the default record's latency routing)".into()),
                    Policy::Weighted | Policy::Multivalue => format!(" ({:.0} %)", share * 100.0),
                    _ => String::new(),
                };
                to.push(format!("{}{why}", entries[*i].region));
            }
            format!("{whose} go to {}", to.join(", "))
        }
        Answer::None(why) => format!("{whose} get no answer: {why}"),
    };
    (after, line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(region: &str, policy: Policy) -> Entry<'_> {
        Entry {
            region,
            policy,
            weight: 0,
            location: None,
            failover: None,
            serving: true,
        }
    }

    #[test]
    fn latency_sends_users_to_the_nearest_serving_region() {
        let e = [
            entry("us-east-1", Policy::Latency),
            entry("eu-west-1", Policy::Latency),
            entry("ap-southeast-1", Policy::Latency),
        ];
        let cfg = RoutingConfig::default();
        let (after, line) = shift(&e, &[Some(100.0), Some(50.0), Some(30.0)], 2, &cfg);
        assert_eq!(after, vec![100.0, 80.0, 0.0], "{line}");
        assert!(
            line.contains("eu-west-1 (nearest serving region, ~170 ms)"),
            "{line}"
        );
        let over = RoutingConfig {
            rtt: vec![RttOverride {
                between: ["ap-southeast-1".into(), "us-east-1".into()],
                ms: 100.0,
            }],
            ..RoutingConfig::default()
        };
        let (after, _) = shift(&e, &[Some(100.0), Some(50.0), Some(30.0)], 2, &over);
        assert_eq!(after, vec![130.0, 50.0, 0.0], "the fleet's figure wins");
    }

    #[test]
    fn geolocation_falls_back_to_the_default_record_or_to_no_answer() {
        let mut e = [
            entry("eu-west-1", Policy::Geolocation),
            entry("us-east-1", Policy::Geolocation),
        ];
        e[0].location = Some("EU");
        e[1].location = Some(DEFAULT_LOCATION);
        let cfg = RoutingConfig::default();
        let (after, line) = shift(&e, &[Some(40.0), Some(60.0)], 0, &cfg);
        assert_eq!(after, vec![0.0, 100.0]);
        assert!(
            line.contains("location EU) go to us-east-1 (the default record)"),
            "{line}"
        );
        e[1].location = Some("NA");
        let (after, line) = shift(&e, &[Some(40.0), Some(60.0)], 0, &cfg);
        assert_eq!(after, vec![0.0, 60.0], "nobody takes them");
        assert!(line.contains("get no answer"), "{line}");
    }

    #[test]
    fn geolocation_steps_from_country_to_continent_to_default_to_latency() {
        let mut e = [
            entry("eu-central-1", Policy::Geolocation),
            entry("eu-west-1", Policy::Geolocation),
            entry("us-east-1", Policy::Geolocation),
            entry("ap-southeast-1", Policy::Geolocation),
        ];
        e[0].location = Some("DE");
        e[1].location = Some("EU");
        e[2].location = Some("NA");
        e[3].location = Some("AS");
        let cfg = RoutingConfig::default();
        // Germany's record out: German users go to the EU record, not to the default.
        let (after, line) = shift(
            &e,
            &[Some(10.0), Some(40.0), Some(60.0), Some(20.0)],
            0,
            &cfg,
        );
        assert_eq!(after, vec![0.0, 50.0, 60.0, 20.0], "{line}");
        assert!(
            line.contains("eu-west-1 (the continent's record, EU)"),
            "{line}"
        );
        // The EU record out, no default: Europe gets no answer, and the line says why.
        let (after, line) = shift(
            &e,
            &[Some(10.0), Some(40.0), Some(60.0), Some(20.0)],
            1,
            &cfg,
        );
        assert_eq!(after, vec![10.0, 0.0, 60.0, 20.0], "{line}");
        assert!(
            line.contains("get no answer: no serving record for location EU"),
            "{line}"
        );
        // With latency as the default record's routing: the nearest serving region (Frankfurt,
        // ~25 ms, before Virginia at 68 and Singapore at 170).
        let lat = RoutingConfig {
            geolocation_default: Some(GeoDefault::Latency),
            ..RoutingConfig::default()
        };
        let (after, line) = shift(
            &e,
            &[Some(10.0), Some(40.0), Some(60.0), Some(20.0)],
            1,
            &lat,
        );
        assert_eq!(after, vec![50.0, 0.0, 60.0, 20.0], "{line}");
        assert!(line.contains("eu-central-1 (the default record's latency routing: nearest serving region, ~25 ms)"), "{line}");
        e[0].serving = false;
        let (after, line) = shift(
            &e,
            &[Some(10.0), Some(40.0), Some(60.0), Some(20.0)],
            1,
            &lat,
        );
        assert_eq!(after, vec![10.0, 0.0, 100.0, 20.0], "{line}");
        assert!(
            line.contains(
                "us-east-1 (the default record's latency routing: nearest serving region, ~68 ms)"
            ),
            "{line}"
        );
        assert_eq!(continent_of("sg"), Some("AS"));
        assert_eq!(continent_of("ZZ"), None);
    }

    #[test]
    fn failover_goes_to_the_secondary_and_nothing_serving_answers_all() {
        let mut e = [
            entry("us-east-1", Policy::Failover),
            entry("us-west-2", Policy::Failover),
        ];
        e[0].failover = Some(FailoverRole::Primary);
        e[1].failover = Some(FailoverRole::Secondary);
        let cfg = RoutingConfig::default();
        let (after, _) = shift(&e, &[Some(90.0), Some(0.0)], 0, &cfg);
        assert_eq!(after, vec![0.0, 90.0]);
        e[1].serving = false;
        let (_, line) = shift(&e, &[Some(90.0), Some(0.0)], 0, &cfg);
        assert!(line.contains("answers with every record"), "{line}");
        assert_eq!(answer(&e, 1, &cfg), Answer::Shares(vec![(0, 1.0)]));
    }

    #[test]
    fn multivalue_and_weighted_share() {
        let mut e = [
            entry("a", Policy::Weighted),
            entry("b", Policy::Weighted),
            entry("c", Policy::Weighted),
        ];
        (e[0].weight, e[1].weight, e[2].weight) = (70, 20, 10);
        let cfg = RoutingConfig::default();
        let (after, _) = shift(&e, &[Some(70.0), Some(20.0), Some(10.0)], 0, &cfg);
        assert!((after[1] - 20.0 - 70.0 * 2.0 / 3.0).abs() < 1e-9);
        for x in &mut e {
            x.policy = Policy::Multivalue;
        }
        let (after, _) = shift(&e, &[Some(70.0), Some(20.0), Some(10.0)], 0, &cfg);
        assert_eq!(after, vec![0.0, 55.0, 45.0]);
    }
}
