//! Which replica takes over the writes, and what its promotion would lose: the fleet's failover
//! order (or capacity) applied to the fleet as read, the RPO from the replica's lag — live, or the
//! last lag seen before its replication stopped because the primary went down.

use super::view::{DatabaseState, FleetView, RegionState};
use crate::fleet::failover::{self, Candidate, Writes};
use crate::fleet::{Fleet, Replication};
use chrono::{DateTime, Utc};

/// What a promotion of one replica would lose, as far as it is known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rpo {
    /// Replication runs: its current lag, read at `at`.
    Live { lag_s: f64, at: DateTime<Utc> },
    /// Replication stopped because no primary takes writes: the lag last seen before it stopped.
    LastSeen { lag_s: f64, at: DateTime<Utc> },
    /// Replication runs but no lag was read.
    Unknown,
    /// Replication stopped while a primary still takes writes (or with no lag seen before): the
    /// loss grows with every write since, unbounded.
    Unbounded,
}

impl Rpo {
    pub fn seconds(&self) -> Option<f64> {
        match self {
            Rpo::Live { lag_s, .. } | Rpo::LastSeen { lag_s, .. } => Some(*lag_s),
            Rpo::Unknown | Rpo::Unbounded => None,
        }
    }

    pub fn observed_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Rpo::Live { at, .. } | Rpo::LastSeen { at, .. } => Some(*at),
            Rpo::Unknown | Rpo::Unbounded => None,
        }
    }
}

/// Where writes stand in the view.
pub fn writes(view: &FleetView) -> Writes {
    failover::writes(
        view.regions
            .iter()
            .filter_map(|r| r.database.as_ref())
            .map(|d| &d.replication),
    )
}

/// The RPO a promotion of `db` implies, read at `view.read_at`.
pub fn rpo(view: &FleetView, db: &DatabaseState) -> Rpo {
    match (&db.replication, db.lag_s) {
        (Replication::Replica { .. }, Some(lag_s)) => Rpo::Live {
            lag_s,
            at: view.read_at,
        },
        (Replication::Replica { .. }, None) => Rpo::Unknown,
        (Replication::Broken { .. }, _) => match (writes(view), db.replication.last_lag()) {
            (Writes::Down { .. }, Some((lag_s, at))) => Rpo::LastSeen { lag_s, at },
            _ => Rpo::Unbounded,
        },
        (Replication::Primary { .. }, _) => Rpo::Unknown,
    }
}

/// A replica that a promotion could take.
fn replica(r: &RegionState) -> Option<&DatabaseState> {
    r.database
        .as_ref()
        .filter(|d| !matches!(d.replication, Replication::Primary { .. }))
}

/// The replica regions other than `failed`, in the order a promotion tries them.
pub fn order<'a>(view: &'a FleetView, fleet: &Fleet, failed: Option<&str>) -> Vec<&'a str> {
    let candidates: Vec<Candidate> = view
        .regions
        .iter()
        .filter(|r| Some(r.name.as_str()) != failed && replica(r).is_some())
        .map(|r| Candidate {
            region: &r.name,
            serving: r.serving(),
            capacity_rps: r.running_tasks() as f64 * r.unit_rps(fleet),
        })
        .collect();
    failover::ordered(&fleet.failover, &candidates)
}

/// Why `r`'s replica cannot take over if `failed` fails (`None`: it can).
fn unfit(r: &RegionState, primary_gone: bool) -> Option<String> {
    let db = replica(r)?;
    if r.record.as_ref().is_some_and(|x| x.healthy == Some(false)) {
        return Some("its region fails its health check".into());
    }
    match &db.replication {
        Replication::Broken { reason, .. } if !primary_gone => {
            Some(format!("its replication is broken ({reason})"))
        }
        Replication::Broken { reason, .. } if db.replication.last_lag().is_none() => Some(format!(
            "its replication stopped ({reason}) with no lag seen before"
        )),
        _ => None,
    }
}

/// The replica to promote if `failed` fails (or now, when writes are already down), by the
/// fleet's order, with notes on the ones passed over.
pub fn choose<'a>(
    view: &'a FleetView,
    fleet: &Fleet,
    failed: &str,
) -> (Option<(&'a RegionState, &'a DatabaseState)>, Vec<String>) {
    let failed_is_writer = view
        .region(failed)
        .and_then(|r| r.database.as_ref())
        .is_some_and(|d| d.replication.is_primary());
    let primary_gone = failed_is_writer || matches!(writes(view), Writes::Down { .. });
    let how = if fleet.failover.order.is_empty() {
        "by capacity"
    } else {
        "in the failover order"
    };
    let mut notes = Vec::new();
    let budget = fleet.capacity.rpo_budget_s;
    // The first fit replica, should none be within the RPO budget.
    let mut fallback: Option<(&RegionState, &DatabaseState)> = None;
    let mut over = Vec::new();
    for (rank, name) in order(view, fleet, Some(failed)).into_iter().enumerate() {
        let Some(r) = view.region(name) else { continue };
        let Some(db) = replica(r) else { continue };
        if let Some(why) = unfit(r, primary_gone) {
            notes.push(format!(
                "{name} ({} {how}) cannot take over: {why}",
                ordinal(rank + 1)
            ));
            continue;
        }
        // A replica further behind than the RPO budget loses more than the fleet allows: a later
        // one within the budget is the better choice.
        match rpo(view, db).seconds() {
            Some(lag) if lag > budget => {
                over.push(format!(
                    "{name} ({} {how}) is passed over: it is {lag:.0} s behind, over the RPO budget {budget:.0} s",
                    ordinal(rank + 1)
                ));
                fallback.get_or_insert((r, db));
            }
            _ => {
                notes.extend(over);
                return (Some((r, db)), notes);
            }
        }
    }
    (fallback, notes)
}

fn ordinal(n: usize) -> String {
    match n {
        1 => "first".into(),
        2 => "second".into(),
        3 => "third".into(),
        n => format!("#{n}"),
    }
}
