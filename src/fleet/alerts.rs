//! Threshold crossings for the alert log, debounced like an alarm's "for 1 minute": an escalation
//! to crit is logged at once; any other change of level is logged only once it has held for
//! `HOLD_S` of source time, so a metric hovering at a threshold does not flood the log. A family
//! without data holds its level: no data is never "recovered". Each line names the threshold
//! crossed (the breach's sentence does) and since when the level has held.
//!
//! The console's alert log and the weekly review's incidents (`report`) both read these changes,
//! so an incident in the review is what the console would have alerted on.

use super::health::{Breach, Family};
use super::Status;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

pub const HOLD_S: i64 = 60;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertTracker {
    /// The level last written to the log per family (absent = ok).
    logged: BTreeMap<Family, Status>,
    /// A different level seen since, with when it was first seen.
    pending: BTreeMap<Family, (Status, DateTime<Utc>)>,
}

/// A family's level changed (and held long enough to be logged).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertChange {
    pub family: Family,
    /// The new level; `Ok` is a recovery.
    pub level: Status,
    /// When the new level was first seen.
    pub since: DateTime<Utc>,
    /// The breach's sentence (empty for a recovery).
    pub message: String,
}

impl AlertChange {
    /// The alert log's line for this change.
    pub fn line(&self) -> (Status, String) {
        if self.level == Status::Ok {
            return (Status::Ok, format!("RECOVERED {}", self.family.label()));
        }
        (
            self.level,
            format!(
                "{} {} since {}",
                self.level.as_str().to_uppercase(),
                self.message,
                self.since.format("%H:%M:%S")
            ),
        )
    }
}

impl AlertTracker {
    /// Feed the region's current breaches; returns the log lines (level, text) to write now.
    /// `checked` are the families the evaluation had data for.
    pub fn observe(
        &mut self,
        at: DateTime<Utc>,
        breaches: &[Breach],
        checked: &[Family],
    ) -> Vec<(Status, String)> {
        self.changes(at, breaches, checked)
            .iter()
            .map(AlertChange::line)
            .collect()
    }

    /// The level changes to log now, as [`AlertTracker::observe`] words them.
    pub fn changes(
        &mut self,
        at: DateTime<Utc>,
        breaches: &[Breach],
        checked: &[Family],
    ) -> Vec<AlertChange> {
        let mut current: BTreeMap<Family, (Status, &str)> = BTreeMap::new();
        for b in breaches {
            let e = current.entry(b.family).or_insert((b.status, &b.message));
            if b.status > e.0 {
                *e = (b.status, &b.message);
            }
        }
        let mut families: Vec<Family> = current
            .keys()
            .chain(self.logged.keys())
            .chain(self.pending.keys())
            .copied()
            .collect();
        families.sort();
        families.dedup();
        let mut lines = Vec::new();
        for family in families {
            if !current.contains_key(&family) && !checked.contains(&family) {
                // No data: neither a recovery nor a new level.
                continue;
            }
            let (level, msg) = current.get(&family).copied().unwrap_or((Status::Ok, ""));
            let logged = self.logged.get(&family).copied().unwrap_or(Status::Ok);
            if level == logged {
                self.pending.remove(&family);
                continue;
            }
            let since = match self.pending.get(&family) {
                Some((l, since)) if *l == level => *since,
                _ => {
                    self.pending.insert(family, (level, at));
                    at
                }
            };
            let escalation = level == Status::Crit;
            if !escalation && (at - since).num_seconds() < HOLD_S {
                continue;
            }
            self.pending.remove(&family);
            if level == Status::Ok {
                self.logged.remove(&family);
            } else {
                self.logged.insert(family, level);
            }
            lines.push(AlertChange {
                family,
                level,
                since,
                message: msg.to_string(),
            });
        }
        lines
    }
}
