//! The operations of the window, from the audit log: one line per operation (its `requested`
//! record's time, operator and request, and the result its `ended` record gives).

use crate::ops::audit::{AuditRecord, Phase};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    pub time: DateTime<Utc>,
    pub operator: String,
    /// scale, promote, drain, restore.
    pub op: String,
    pub region: String,
    /// In words: "drain us-east-1".
    pub summary: String,
    /// applied, not yet verified, failed, refused; "no end recorded" for an operation whose
    /// ended record is missing.
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The operations on `fleet` requested in `from..until`, oldest first.
pub fn from_records(
    records: &[AuditRecord],
    fleet: &str,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<Action> {
    let ended: HashMap<&str, &AuditRecord> = records
        .iter()
        .filter(|r| r.phase == Phase::Ended)
        .map(|r| (r.id.as_str(), r))
        .collect();
    let mut out: Vec<Action> = records
        .iter()
        .filter(|r| r.phase == Phase::Requested && r.fleet == fleet)
        .filter(|r| r.time >= from && r.time < until)
        .map(|r| {
            let result = ended.get(r.id.as_str()).and_then(|e| e.result.as_ref());
            Action {
                time: r.time,
                operator: crate::fleet::text::clean(&r.operator).into_owned(),
                op: r.op.name().to_string(),
                region: crate::fleet::text::clean(&r.region).into_owned(),
                summary: crate::fleet::text::clean(&r.op.summary()).into_owned(),
                result: result
                    .map(|x| x.label().to_string())
                    .unwrap_or_else(|| "no end recorded".into()),
                reason: result.and_then(reason),
            }
        })
        .collect();
    out.sort_by_key(|a| a.time);
    out
}

fn reason(r: &crate::ops::outcome::OpResult) -> Option<String> {
    use crate::ops::outcome::OpResult;
    match r {
        OpResult::Applied => None,
        OpResult::NotYetVerified { reason }
        | OpResult::Failed { reason }
        | OpResult::Refused { reason, .. } => Some(crate::fleet::text::clean(reason).into_owned()),
    }
}

/// The audit log's operations on `fleet` in the window; a log that cannot be read is a note.
pub fn read(
    path: &std::path::Path,
    fleet: &str,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> (Vec<Action>, Option<String>) {
    match crate::ops::audit::file::read_all(path) {
        Ok(report) => {
            let note = (!report.bad_lines.is_empty()).then(|| {
                format!(
                    "audit log {}: {} unreadable line(s) skipped",
                    path.display(),
                    report.bad_lines.len()
                )
            });
            (from_records(&report.records, fleet, from, until), note)
        }
        Err(e) => (Vec::new(), Some(format!("audit log not read: {e}"))),
    }
}
