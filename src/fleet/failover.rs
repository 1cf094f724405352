//! The failover order (`[failover] order = ["us-west-2", "eu-west-1"]`): which replica region takes
//! over the writes when the primary's region fails. Without it: the serving replica region with the
//! most capacity.

use super::Replication;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct FailoverConfig {
    /// Replica regions to promote, first choice first. Empty: by capacity.
    pub order: Vec<String>,
}

impl FailoverConfig {
    pub fn is_default(&self) -> bool {
        self.order.is_empty()
    }
}

/// A replica region as the choice weighs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate<'a> {
    pub region: &'a str,
    /// Takes traffic now.
    pub serving: bool,
    /// Requests/s its running tasks serve.
    pub capacity_rps: f64,
}

/// The candidates in the order a promotion tries them: the fleet's `[failover] order` (regions it
/// names that are not candidates are left out), else serving before not serving, most capacity
/// first, fleet order on ties.
pub fn ordered<'a>(config: &FailoverConfig, candidates: &[Candidate<'a>]) -> Vec<&'a str> {
    if !config.order.is_empty() {
        return config
            .order
            .iter()
            .filter_map(|name| candidates.iter().find(|c| c.region == name))
            .map(|c| c.region)
            .collect();
    }
    let mut by_capacity: Vec<&Candidate> = candidates.iter().collect();
    by_capacity.sort_by(|a, b| {
        b.serving
            .cmp(&a.serving)
            .then(b.capacity_rps.total_cmp(&a.capacity_rps))
    });
    by_capacity.into_iter().map(|c| c.region).collect()
}

/// Whether the fleet's databases take writes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Writes {
    /// No database known: nothing to say.
    Unknown,
    /// A primary takes writes.
    Up,
    /// No primary takes writes: down since the replicas last saw their source (the earliest last
    /// lag observation of a replica whose replication stopped), when one did.
    Down { since: Option<DateTime<Utc>> },
}

/// Where writes stand, from every database's place in the topology.
pub fn writes<'a>(databases: impl IntoIterator<Item = &'a Replication>) -> Writes {
    let mut any = false;
    let mut since: Option<DateTime<Utc>> = None;
    for r in databases {
        any = true;
        if r.is_writer() {
            return Writes::Up;
        }
        if let Some((_, seen)) = r.last_lag() {
            since = Some(since.map_or(seen, |s| s.min(seen)));
        }
    }
    if any {
        Writes::Down { since }
    } else {
        Writes::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(region: &str, serving: bool, capacity_rps: f64) -> Candidate<'_> {
        Candidate {
            region,
            serving,
            capacity_rps,
        }
    }

    #[test]
    fn the_named_order_wins_over_capacity() {
        let cands = [c("eu-west-1", true, 900.0), c("us-west-2", true, 450.0)];
        let config = FailoverConfig {
            order: vec!["us-west-2".into(), "eu-west-1".into()],
        };
        assert_eq!(ordered(&config, &cands), ["us-west-2", "eu-west-1"]);
    }

    #[test]
    fn by_default_the_serving_region_with_most_capacity_comes_first() {
        let cands = [
            c("ap-southeast-1", true, 300.0),
            c("eu-west-1", false, 2000.0),
            c("us-west-2", true, 450.0),
        ];
        assert_eq!(
            ordered(&FailoverConfig::default(), &cands),
            ["us-west-2", "ap-southeast-1", "eu-west-1"]
        );
    }

    #[test]
    fn writes_are_down_since_the_earliest_last_lag_when_no_primary_takes_writes() {
        let t = |s: i64| DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap();
        let failed = Replication::Primary {
            instance: "p".into(),
            status: "failed".into(),
        };
        let broken = |seen: i64| Replication::Broken {
            instance: "r".into(),
            source: Some("p".into()),
            reason: "source unreachable".into(),
            last_lag_s: Some(0.5),
            last_seen: Some(t(seen)),
        };
        assert_eq!(
            writes([&failed, &broken(30), &broken(10)]),
            Writes::Down { since: Some(t(10)) }
        );
        let up = Replication::Primary {
            instance: "q".into(),
            status: "modifying".into(),
        };
        assert_eq!(writes([&failed, &broken(10), &up]), Writes::Up);
        assert_eq!(writes([]), Writes::Unknown);
    }
}
