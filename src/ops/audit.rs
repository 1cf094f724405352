//! The audit log: append-only JSONL, one `requested` record before an operation runs and one
//! `ended` record after it is verified, each written and fsync'd before the next step. A crash
//! between the two leaves the `requested` record: every started operation stays visible, and the
//! next opsdeck to use the log appends the missing `ended` record ("interrupted, not yet verified").

pub mod file;
pub mod shared;
pub mod tail;
pub mod trail;

use super::guards::GuardResult;
use super::outcome::{Executed, OpResult};
use super::plan::Plan;
use super::Op;
use crate::fleet::SourceKind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Requested,
    Ended,
}

/// Whether the pipeline went on to execute, or refused (guard, confirmation, stale plan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Execute,
    Refused,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub time: DateTime<Utc>,
    pub phase: Phase,
    /// Shared by the requested and the ended record of one operation.
    pub id: String,
    /// STS caller ARN, or "$USER (simulated fleet)".
    pub operator: String,
    pub fleet: String,
    pub source: SourceKind,
    pub region: String,
    pub op: Op,
    pub plan: Plan,
    pub guards: Vec<GuardResult>,
    /// Rules passed by a confirmed override.
    pub overrides: Vec<String>,
    pub decision: Decision,
    /// The id of the operation this one undoes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo_of: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executed: Option<Executed>,
    /// Only on `ended` records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<OpResult>,
    /// Only on `ended` records (absent on `requested` ones): when AWS took the request, null when
    /// nothing was accepted (refused, a call failed, interrupted).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub accepted_at: Option<Option<DateTime<Utc>>>,
    /// Only on `ended` records: when the fleet showed the new state, null when it did not settle
    /// within the time limit.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub settled_at: Option<Option<DateTime<Utc>>>,
    /// The second identity that approved the operation (`[guards] approval_required`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// The earlier operation this one found abandoned when it took the fleet's lease (its holder
    /// died or stopped extending it), in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abandoned: Option<String>,
    /// The drill run and step this operation belongs to (`opsdeck drill`), when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill: Option<DrillTag>,
}

/// Which drill run, and which of its steps, an operation was made by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillTag {
    pub run_id: String,
    pub step: String,
}

/// A key that is present (even as null) is `Some`; an absent one is `None` (serde's default).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A new operation id: time, process, counter.
pub fn new_id(now: DateTime<Utc>) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{}-{}-{n}",
        now.format("%Y%m%dT%H%M%S%3fZ"),
        std::process::id()
    )
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        AuditLog { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one record as one line (O_APPEND, one write) and fsync it before returning. A log
    /// whose last line was torn (no newline: the disk filled mid-record) gets the newline first,
    /// in the same write, so the fragment stays a bad line of its own and never glues onto this
    /// record. Only a regular file is accepted; a new log is created 0600 in a 0700 directory.
    pub fn append(&self, record: &AuditRecord) -> Result<(), String> {
        use std::os::unix::fs::FileExt;
        let fail = |e: std::io::Error| format!("{}: {e}", self.path.display());
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            file::create_private_dir(dir).map_err(fail)?;
        }
        if std::fs::metadata(&self.path).is_ok_and(|m| !m.is_file()) {
            return Err(file::not_regular(&self.path));
        }
        let file = file::open_private_append(&self.path, true).map_err(fail)?;
        let len = file.metadata().map_err(fail)?.len();
        let mut last = [b'\n'];
        if len > 0 {
            file.read_at(&mut last, len - 1).map_err(fail)?;
        }
        let mut line = if last[0] == b'\n' {
            String::new()
        } else {
            "\n".to_string()
        };
        line.push_str(&serde_json::to_string(record).map_err(|e| e.to_string())?);
        line.push('\n');
        (&file).write_all(line.as_bytes()).map_err(fail)?;
        file.sync_all().map_err(fail)
    }

    /// Every record, oldest first: the whole log, for tests and tools on small logs (opsdeck
    /// itself reads only the end: [`AuditLog::read_last`] for the console's view, the guard
    /// queries of `file`). A missing file is an empty log; a line that does not parse (torn by a
    /// crash mid-write, garbage, not UTF-8) is skipped and reported in the log file
    /// (`read_report` gives the line numbers).
    pub fn read(&self) -> Result<Vec<AuditRecord>, String> {
        self.read_report().map(|r| r.records)
    }
}

/// The process id inside an operation id (`TIME-PID-N`).
fn pid_of(id: &str) -> Option<u32> {
    let mut parts = id.rsplitn(3, '-');
    let _counter = parts.next()?;
    parts.next()?.parse().ok()
}

/// Whether the process that wrote an operation id may still be running it.
fn may_be_running(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc_dir = Path::new("/proc");
    // Without /proc we cannot tell: never close another process's operation then.
    !proc_dir.is_dir() || proc_dir.join(pid.to_string()).exists()
}

impl AuditLog {
    /// Close every operation whose process died between its `requested` and `ended` records
    /// (killed, crashed, machine lost): append the missing `ended` record, "not yet verified",
    /// saying so, so the log holds both records for every operation. Operations of processes
    /// that are still running are left alone. Returns the ids closed.
    pub fn close_interrupted(&self, now: DateTime<Utc>) -> Result<Vec<String>, String> {
        let mut closed = Vec::new();
        for r in self.unended()? {
            if pid_of(&r.id).is_none_or(may_be_running) {
                continue;
            }
            let mut end = r.clone();
            end.phase = Phase::Ended;
            end.time = now;
            end.result = Some(OpResult::NotYetVerified {
                reason: format!(
                    "interrupted: the opsdeck process that ran it (pid {}) ended before it was verified; \
                     re-read the fleet to see whether the change applied",
                    pid_of(&r.id).unwrap_or(0)
                ),
            });
            end.accepted_at = Some(None);
            end.settled_at = Some(None);
            self.append(&end)?;
            closed.push(r.id.clone());
        }
        Ok(closed)
    }
}

/// When `resource` of `fleet` was last changed: the newest executed request for it.
pub fn last_change(records: &[AuditRecord], fleet: &str, resource: &str) -> Option<DateTime<Utc>> {
    records
        .iter()
        .filter(|r| r.phase == Phase::Requested && r.decision == Decision::Execute)
        .filter(|r| r.fleet == fleet && r.plan.resource == resource)
        .map(|r| r.time)
        .max()
}

/// The weight the region's record had before its last executed drain.
pub fn recorded_weight(records: &[AuditRecord], fleet: &str, region: &str) -> Option<i64> {
    records
        .iter()
        .rev()
        .filter(|r| r.decision == Decision::Execute && r.fleet == fleet && r.region == region)
        .find(|r| matches!(r.op, Op::Drain { .. }))
        .and_then(|r| match &r.plan.undo {
            Some(Op::Restore {
                weight: Some(w), ..
            }) => Some(*w),
            _ => None,
        })
}

/// The newest reversible operation of `fleet` on `source` that took effect, is not itself an undo,
/// and has not been undone.
pub fn last_reversible<'a>(
    records: &'a [AuditRecord],
    fleet: &str,
    source: SourceKind,
) -> Option<&'a AuditRecord> {
    let undone: Vec<&str> = records
        .iter()
        .filter(|r| r.decision == Decision::Execute)
        .filter_map(|r| r.undo_of.as_deref())
        .collect();
    records.iter().rev().find(|r| {
        r.phase == Phase::Ended
            && r.fleet == fleet
            && r.source == source
            && r.undo_of.is_none()
            && r.plan.reversible
            && r.plan.undo.is_some()
            && matches!(
                r.result,
                Some(OpResult::Applied) | Some(OpResult::NotYetVerified { .. })
            )
            && !undone.contains(&r.id.as_str())
    })
}
