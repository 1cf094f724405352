//! Which region hurts the fleet most, and since when: the one ranking the status line and the
//! snapshot both use.
//!
//! A region's impact is the share of the fleet's traffic it carries times the share of its
//! requests its worst breach affects (see `Breach::affected`) times the breach's severity
//! (crit 3, warn 1, unknown 1). A region that is down is weighed by the traffic it carried
//! before it failed (its last normal request rate, else its Route53 weight's share), not by the
//! trickle it still receives. A drained region that serves nothing is out of service, never
//! the worst. Ties go to the earliest onset, then to the fleet file's order.

use super::health::{Breach, Family, Status, RISK_SHARE};
use super::MetricValues;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// When each family reached its current level. A family without data keeps its entry: no data
/// is not a recovery.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Onsets {
    levels: BTreeMap<Family, (Status, DateTime<Utc>)>,
}

impl Onsets {
    /// Record the breaches of one evaluation at `at`; `checked` are the families it had data for.
    pub fn observe(&mut self, at: DateTime<Utc>, breaches: &[Breach], checked: &[Family]) {
        let mut current: BTreeMap<Family, Status> = BTreeMap::new();
        for b in breaches {
            let e = current.entry(b.family).or_insert(b.status);
            *e = (*e).max(b.status);
        }
        for family in checked {
            if !current.contains_key(family) {
                self.levels.remove(family);
            }
        }
        for (family, level) in current {
            match self.levels.get(&family) {
                Some((l, _)) if *l == level => {}
                _ => {
                    self.levels.insert(family, (level, at));
                }
            }
        }
    }

    /// Since when `family` has been at its current (non-ok) level.
    pub fn since(&self, family: Family) -> Option<DateTime<Utc>> {
        self.levels.get(&family).map(|(_, t)| *t)
    }
}

/// A metrics reading of a region serving normally: requests arrive and most succeed. Its
/// request rate is the region's share of the traffic should it fail later.
pub fn serving_normally(m: &MetricValues) -> bool {
    matches!(m.requests_per_s, Some(r) if r > 0.0) && matches!(m.error_rate, Some(e) if e < 0.5)
}

/// What the ranking knows of one region.
#[derive(Debug, Clone, Copy)]
pub struct ImpactInput<'a> {
    pub name: &'a str,
    pub status: Status,
    pub breaches: &'a [Breach],
    pub onsets: &'a Onsets,
    /// Requests/s now; `None` without data.
    pub requests_per_s: Option<f64>,
    /// Requests/s the last time the region served normally.
    pub served_rps: Option<f64>,
    /// Route53 weight, when the region has a weighted record and it was read.
    pub weight: Option<i64>,
    /// Whether Route53 may answer with the region's record: false when drained (weight 0, or the
    /// health check of a latency/geolocation/failover/multivalue record inverted); `None` when
    /// the record was not read or there is none.
    pub in_rotation: Option<bool>,
    /// Why, and since when, for a status without a breach behind it (no data, stale).
    pub unknown: Option<(&'a str, Option<DateTime<Utc>>)>,
}

/// The fleet's worst region: the one with the most impact.
#[derive(Debug, Clone, PartialEq)]
pub struct Worst {
    pub region: String,
    pub status: Status,
    /// The breach behind it, short: "5xx 100 %", "p99 1890 ms", "lag BROKEN".
    pub reason: String,
    pub since: Option<DateTime<Utc>>,
    /// Share of the fleet's traffic affected × severity.
    pub impact: f64,
}

/// Among breaches of equal weight, which one a person on call wants named first: errors users
/// see, then failing checks, then capacity, then the slower signals.
pub fn family_rank(f: Family) -> u8 {
    match f {
        Family::ErrorRate => 0,
        Family::Probe => 1,
        Family::Route53 => 2,
        Family::Ecs => 3,
        Family::Latency => 4,
        Family::ReplicaLag => 5,
        Family::CacheHit => 6,
    }
}

/// How much a level weighs in the ranking. A warning is a sign, not yet a breach: it weighs a
/// third of a crit, so a region whose users get errors outranks one whose latency nears its
/// threshold on more traffic (an `Average` warning speaks for half the requests).
pub fn severity_weight(status: Status) -> f64 {
    match status {
        Status::Crit => 3.0,
        Status::Warn | Status::Unknown => 1.0,
        Status::Ok => 0.0,
    }
}

fn weight_of(b: &Breach) -> f64 {
    b.affected * severity_weight(b.status)
}

/// The breach that weighs most (ties: by `family_rank`).
pub fn heaviest(breaches: &[Breach]) -> Option<&Breach> {
    breaches.iter().min_by(|a, b| {
        weight_of(b)
            .total_cmp(&weight_of(a))
            .then(family_rank(a.family).cmp(&family_rank(b.family)))
    })
}

/// A region whose worst breach takes out most of its requests.
fn is_down(r: &ImpactInput<'_>) -> bool {
    r.breaches
        .iter()
        .any(|b| b.status == Status::Crit && b.affected >= 0.5)
}

/// Drained (weight 0, or its record's health check inverted) while other regions stay in
/// rotation, and serving (almost) nothing.
pub fn out_of_service(inputs: &[ImpactInput<'_>]) -> Vec<bool> {
    let others_in_rotation = |i: usize| {
        inputs
            .iter()
            .enumerate()
            .any(|(j, r)| j != i && r.in_rotation == Some(true))
    };
    let total: f64 = inputs.iter().filter_map(|r| r.requests_per_s).sum();
    inputs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let rps = r.requests_per_s.unwrap_or(0.0);
            r.in_rotation == Some(false)
                && others_in_rotation(i)
                && (rps <= 0.0 || rps < 0.01 * total)
        })
        .collect()
}

/// Whether Route53 may answer with a record of this weight, health-check inversion and reported
/// health (see `ImpactInput::in_rotation`). An inverted check takes the record out only while it
/// fails: once the endpoint behind it fails too, the inverted check passes and the record is back.
pub fn in_rotation(weight: Option<i64>, inverted: Option<bool>, healthy: Option<bool>) -> bool {
    match (weight, inverted) {
        (_, Some(true)) => healthy == Some(true),
        (Some(w), _) => w > 0,
        (None, _) => true,
    }
}

/// Each region's share of the fleet's traffic, 0..1 (0 when out of service).
pub fn traffic_shares(inputs: &[ImpactInput<'_>]) -> Vec<f64> {
    let out = out_of_service(inputs);
    let now: f64 = inputs.iter().filter_map(|r| r.requests_per_s).sum();
    let weights: i64 = inputs.iter().filter_map(|r| r.weight).sum();
    let by_weight = |r: &ImpactInput<'_>| match (r.weight, weights > 0 && now > 0.0) {
        (Some(w), true) => Some(w as f64 / weights as f64 * now),
        _ => None,
    };
    let expected: Vec<f64> = inputs
        .iter()
        .zip(&out)
        .map(|(r, out)| {
            if *out {
                return 0.0;
            }
            let cur = r.requests_per_s.unwrap_or(0.0);
            if is_down(r) {
                let before = r.served_rps.or_else(|| by_weight(r)).unwrap_or(0.0);
                cur.max(before)
            } else {
                cur
            }
        })
        .collect();
    let total: f64 = expected.iter().sum();
    if total > 0.0 {
        return expected.iter().map(|e| e / total).collect();
    }
    // No traffic figures at all: by weight, else evenly among those in service.
    let in_service = out.iter().filter(|o| !**o).count().max(1) as f64;
    inputs
        .iter()
        .zip(&out)
        .map(|(r, out)| match (*out, r.weight, weights > 0) {
            (true, _, _) => 0.0,
            (false, Some(w), true) => w as f64 / weights as f64,
            (false, _, _) => 1.0 / in_service,
        })
        .collect()
}

/// The region with the most impact, `None` when every region in service is ok.
pub fn worst(inputs: &[ImpactInput<'_>]) -> Option<Worst> {
    let shares = traffic_shares(inputs);
    let out = out_of_service(inputs);
    let mut best: Option<(Worst, usize)> = None;
    for (i, r) in inputs.iter().enumerate() {
        if out[i] || r.status == Status::Ok {
            continue;
        }
        let judged = match r.status {
            // Unknown: the breaches on record are old news, the status says we do not know.
            Status::Unknown => None,
            _ => heaviest(r.breaches),
        };
        let (reason, since, weight) = match judged {
            Some(b) => (b.short.clone(), r.onsets.since(b.family), weight_of(b)),
            None => {
                let (why, since) = r.unknown.unwrap_or(("no data", None));
                (
                    why.to_string(),
                    since,
                    RISK_SHARE * severity_weight(r.status),
                )
            }
        };
        let candidate = Worst {
            region: r.name.to_string(),
            status: r.status,
            reason,
            since,
            impact: shares[i] * weight,
        };
        let better = match &best {
            None => true,
            Some((b, _)) => {
                let close = (candidate.impact - b.impact).abs() <= 1e-9 * b.impact.max(1e-12);
                if close {
                    match (candidate.since, b.since) {
                        (Some(c), Some(o)) => c < o,
                        (Some(_), None) => true,
                        _ => false,
                    }
                } else {
                    candidate.impact > b.impact
                }
            }
        };
        if better {
            best = Some((candidate, i));
        }
    }
    best.map(|(w, _)| w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn breach(family: Family, status: Status, affected: f64, short: &str) -> Breach {
        Breach {
            family,
            status,
            message: short.into(),
            short: short.into(),
            affected,
        }
    }

    fn input<'a>(
        name: &'a str,
        breaches: &'a [Breach],
        onsets: &'a Onsets,
        rps: f64,
        weight: i64,
    ) -> ImpactInput<'a> {
        ImpactInput {
            name,
            status: breaches
                .iter()
                .map(|b| b.status)
                .max()
                .unwrap_or(Status::Ok),
            breaches,
            onsets,
            requests_per_s: Some(rps),
            served_rps: None,
            weight: Some(weight),
            in_rotation: Some(weight > 0),
            unknown: None,
        }
    }

    #[test]
    fn a_dead_region_outweighs_a_slow_busy_one_and_a_drained_one_is_out_of_service() {
        let none = Onsets::default();
        let dead = [
            breach(Family::ErrorRate, Status::Crit, 1.0, "5xx 100 %"),
            breach(Family::Probe, Status::Crit, 1.0, "probe: no answer"),
        ];
        let slow = [breach(Family::Latency, Status::Crit, 0.01, "p99 242 ms")];
        let inputs = [
            input("eu-west-1", &slow, &none, 640.0, 100),
            input("us-east-1", &dead, &none, 1.0, 100),
            input("ap-southeast-1", &[], &none, 306.0, 100),
        ];
        let w = worst(&inputs).unwrap();
        assert_eq!(
            (w.region.as_str(), w.reason.as_str()),
            ("us-east-1", "5xx 100 %")
        );
        let shares = traffic_shares(&inputs);
        assert!(
            (shares[1] - 315.6 / (640.0 + 315.6 + 306.0)).abs() < 0.01,
            "{shares:?}"
        );

        let storm = [breach(Family::ErrorRate, Status::Crit, 0.23, "5xx 23 %")];
        let drained = [
            input("eu-west-1", &storm, &none, 947.0, 100),
            input("us-east-1", &dead, &none, 0.0, 0),
        ];
        assert_eq!(out_of_service(&drained), vec![false, true]);
        assert_eq!(worst(&drained).unwrap().region, "eu-west-1");
        let only_drained = [
            input("eu-west-1", &[], &none, 947.0, 100),
            input("us-east-1", &dead, &none, 0.0, 0),
        ];
        assert_eq!(worst(&only_drained), None);
    }

    #[test]
    fn a_latency_record_drained_by_its_inverted_health_check_is_out_of_service() {
        let none = Onsets::default();
        // Inverted: Route53 sees the check failing, so the region is crit by its health check,
        // and dead behind it too. Weight: none (not a weighted record).
        let dead = [
            breach(Family::Route53, Status::Crit, 1.0, "Route53 unhealthy"),
            breach(Family::ErrorRate, Status::Crit, 1.0, "5xx 100 %"),
        ];
        // An inverted check of a live endpoint fails (reported unhealthy).
        let latency = |name, breaches, rps, inverted: bool| ImpactInput {
            weight: None,
            in_rotation: Some(in_rotation(None, Some(inverted), Some(!inverted))),
            ..input(name, breaches, &none, rps, 0)
        };
        let inputs = [
            latency("us-east-1", &[][..], 700.0, false),
            latency("eu-west-1", &dead[..], 0.0, true),
        ];
        assert_eq!(out_of_service(&inputs), vec![false, true]);
        assert_eq!(worst(&inputs), None, "a drained region is never the worst");
        // The same region not drained (its check simply fails): it is the worst.
        let failing = [
            latency("us-east-1", &[][..], 700.0, false),
            latency("eu-west-1", &dead[..], 0.0, false),
        ];
        assert_eq!(out_of_service(&failing), vec![false, false]);
        assert_eq!(worst(&failing).unwrap().region, "eu-west-1");
        // Every record inverted: nothing is in rotation, so no region is out of service alone.
        let all = [
            latency("us-east-1", &dead[..], 0.0, true),
            latency("eu-west-1", &dead[..], 0.0, true),
        ];
        assert_eq!(out_of_service(&all), vec![false, false]);
        assert!(in_rotation(Some(70), None, None) && !in_rotation(Some(0), None, None));
        assert!(in_rotation(None, Some(false), Some(false)));
        assert!(!in_rotation(Some(70), Some(true), Some(false)));
        // Inverted over a dead endpoint: the check passes, Route53 answers with it again.
        assert!(in_rotation(None, Some(true), Some(true)));
    }

    #[test]
    fn ties_go_to_the_earliest_onset() {
        let t = |m| Utc.with_ymd_and_hms(2026, 11, 22, 2, m, 0).unwrap();
        let dead = [breach(Family::Probe, Status::Crit, 1.0, "probe: no answer")];
        let (mut early, mut late) = (Onsets::default(), Onsets::default());
        late.observe(t(5), &dead, &[Family::Probe]);
        early.observe(t(1), &dead, &[Family::Probe]);
        early.observe(t(5), &dead, &[Family::Probe]);
        let inputs = [
            input("a", &dead, &late, 100.0, 50),
            input("b", &dead, &early, 100.0, 50),
        ];
        let w = worst(&inputs).unwrap();
        assert_eq!((w.region.as_str(), w.since), ("b", Some(t(1))));
        // No data keeps the onset; data without the breach ends it.
        early.observe(t(6), &[], &[]);
        assert_eq!(early.since(Family::Probe), Some(t(1)));
        early.observe(t(7), &[], &[Family::Probe]);
        assert_eq!(early.since(Family::Probe), None);
    }
}
