//! The audit trail an operator reads and writes: the local log, and with `[shared]` the shared
//! trail too. Writes go to the shared trail first (if it cannot be written, the pipeline runs
//! nothing) and always to the local log; reads merge both by time, so the cooldown, restore's
//! recorded weight and undo see other operators' operations.

use super::shared::SharedLog;
use super::{file, AuditLog, AuditRecord, Decision, Phase};
use crate::fleet::SourceKind;
use crate::ops::Op;
use chrono::{DateTime, Utc};
use std::collections::HashSet;

/// How far back the shared trail is read for restore's weight, undo and the audit view.
pub const SHARED_LOOKBACK: chrono::Duration = chrono::Duration::days(14);

/// The local log and, with `[shared]`, the shared trail.
#[derive(Clone, Copy)]
pub struct Trail<'a> {
    pub local: &'a AuditLog,
    pub shared: Option<&'a SharedLog>,
}

/// Both logs' records, oldest first, each (id, phase) once.
pub fn merge(mut a: Vec<AuditRecord>, b: Vec<AuditRecord>) -> Vec<AuditRecord> {
    a.extend(b);
    a.sort_by_key(|r| (r.time, r.phase == Phase::Ended));
    let mut seen = HashSet::new();
    a.retain(|r| seen.insert((r.id.clone(), r.phase == Phase::Ended)));
    a
}

impl Trail<'_> {
    /// Write `record` to the shared trail (nothing to do without one).
    pub async fn put_shared(&self, record: &AuditRecord) -> Result<(), String> {
        match self.shared {
            Some(s) => s.put(record).await,
            None => Ok(()),
        }
    }

    /// The local records since `since`, oldest first (read back from the end of the log).
    fn local_since(&self, since: DateTime<Utc>) -> Result<Vec<AuditRecord>, String> {
        let mut records = Vec::new();
        file::scan_back(self.local.path(), file::LOOKBACK, |r| {
            let go_on = r.time >= since;
            if go_on {
                records.push(r);
            }
            go_on
        })?;
        records.reverse();
        Ok(records)
    }

    /// Both logs since `since`, merged; None without a shared trail.
    async fn merged_since(&self, since: DateTime<Utc>) -> Result<Option<Vec<AuditRecord>>, String> {
        let Some(shared) = self.shared else {
            return Ok(None);
        };
        let theirs = shared
            .records_since(since)
            .await
            .map_err(|e| format!("shared audit trail: {e}"))?;
        Ok(Some(merge(self.local_since(since)?, theirs)))
    }

    /// Both logs since `since`, merged (the local log alone without a shared trail), oldest
    /// first.
    pub async fn since(&self, since: DateTime<Utc>) -> Result<Vec<AuditRecord>, String> {
        match self.merged_since(since).await? {
            Some(all) => Ok(all),
            None => self.local_since(since),
        }
    }

    /// When `resource` of `fleet` was last changed, by anyone (see
    /// [`AuditLog::last_change_since`]).
    pub async fn last_change_since(
        &self,
        fleet: &str,
        resource: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, String> {
        let local = self.local.last_change_since(fleet, resource, since)?;
        let horizon = since - chrono::Duration::hours(1);
        let shared = self
            .merged_since(horizon)
            .await?
            .and_then(|all| super::last_change(&all, fleet, resource));
        Ok(local.max(shared))
    }

    /// The weight the region had before its newest executed drain, by anyone.
    pub async fn recorded_weight_of(
        &self,
        fleet: &str,
        region: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, String> {
        let drained = |r: &AuditRecord| {
            r.decision == Decision::Execute
                && r.fleet == fleet
                && r.region == region
                && matches!(r.op, Op::Drain { .. })
        };
        if let Some(all) = self.merged_since(now - SHARED_LOOKBACK).await? {
            if all.iter().any(drained) {
                return Ok(super::recorded_weight(&all, fleet, region));
            }
        }
        self.local.recorded_weight_of(fleet, region)
    }

    /// The newest reversible operation not undone yet, by anyone (see
    /// [`AuditLog::last_reversible_of`]).
    pub async fn last_reversible_of(
        &self,
        fleet: &str,
        source: SourceKind,
        now: DateTime<Utc>,
    ) -> Result<Option<AuditRecord>, String> {
        match self.merged_since(now - SHARED_LOOKBACK).await? {
            Some(all) => Ok(super::last_reversible(&all, fleet, source).cloned()),
            None => self.local.last_reversible_of(fleet, source),
        }
    }

    /// The newest `n` records, newest first, for the audit view: the end of the local log
    /// ([`AuditLog::read_last`]) merged with the shared trail's last [`SHARED_LOOKBACK`].
    pub async fn read_last(
        &self,
        n: usize,
        now: DateTime<Utc>,
    ) -> Result<super::tail::AuditTail, String> {
        let mut tail = self.local.read_last(n)?;
        let Some(shared) = self.shared else {
            return Ok(tail);
        };
        let theirs = shared
            .records_since(now - SHARED_LOOKBACK)
            .await
            .map_err(|e| format!("shared audit trail: {e}"))?;
        let mut mine = std::mem::take(&mut tail.records);
        mine.reverse();
        let mut all = merge(mine, theirs);
        all.reverse();
        tail.partial |= all.len() > n;
        all.truncate(n);
        tail.records = all;
        Ok(tail)
    }

    /// Every record, oldest first: the local log, merged with the shared trail's last
    /// [`SHARED_LOOKBACK`].
    pub async fn read(&self, now: DateTime<Utc>) -> Result<Vec<AuditRecord>, String> {
        let local = self.local.read()?;
        match self.shared {
            None => Ok(local),
            Some(shared) => {
                let theirs = shared
                    .records_since(now - SHARED_LOOKBACK)
                    .await
                    .map_err(|e| format!("shared audit trail: {e}"))?;
                Ok(merge(local, theirs))
            }
        }
    }
}
