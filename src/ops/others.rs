//! Who is doing what (issue 10 §4): what the console polls at a modest rate — the fleet's lease
//! when another process holds it, the operations that ran in the last minutes (from the shared
//! trail with `[shared]`, else the local audit log) and the operations pending approval — and the
//! one-line sentences the status line and the event log say of them ("bob scaled us-east-1/api to
//! 10 · 2 min ago"; "alice holds the lease: drain us-east-1 since 02:01:10").

use crate::ops::approval::Pending;
use crate::ops::audit::AuditRecord;
use crate::ops::lease::Holder;
use crate::ops::{Op, OpResult};
use chrono::{DateTime, Utc};

/// How far back "recent operations" reach.
pub const RECENT: chrono::Duration = chrono::Duration::minutes(15);
/// Operations kept at most.
pub const RECENT_MAX: usize = 20;

/// What the other operators of the fleet are doing, as read at `read_at`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Others {
    /// The lease, when another process holds it.
    pub lease: Option<Holder>,
    /// Operations that ran (their `ended` records), newest first.
    pub recent: Vec<AuditRecord>,
    /// Operations waiting for a second identity (unapproved, unexpired), oldest first.
    pub pending: Vec<Pending>,
    pub read_at: Option<DateTime<Utc>>,
}

/// The person in an identity: the last part of an ARN ("arn:…:assumed-role/oncall/alice" →
/// "alice"), a local user as it is.
pub fn short(identity: &str) -> &str {
    identity
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(identity)
}

/// "scaled us-east-1/api to 10", "drained us-east-1".
fn done(op: &Op) -> String {
    match op {
        Op::Scale {
            region,
            service,
            desired,
            ..
        } => format!("scaled {region}/{service} to {desired}"),
        Op::Drain { region } => format!("drained {region}"),
        Op::Restore {
            region,
            weight: Some(w),
        } => format!("restored {region} to weight {w}"),
        Op::Restore { region, .. } => format!("restored {region}"),
        Op::Promote { region } => format!("promoted the replica in {region}"),
        other => format!("ran: {}", other.summary()),
    }
}

/// "2 min ago", "just now".
fn ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let s = (now - then).num_seconds().max(0);
    match s {
        0..=59 => "just now".into(),
        60..=3599 => format!("{} min ago", s / 60),
        _ => format!("{} h ago", s / 3600),
    }
}

/// "bob scaled us-east-1/api to 10 · 2 min ago" (", failed" / ", not yet verified" when so).
pub fn record_line(r: &AuditRecord, now: DateTime<Utc>) -> String {
    let how = match &r.result {
        Some(OpResult::Failed { .. }) => " (failed)",
        Some(OpResult::NotYetVerified { .. }) => " (not yet verified)",
        _ => "",
    };
    let approved = r
        .approved_by
        .as_deref()
        .map(|b| format!(", approved by {}", short(b)))
        .unwrap_or_default();
    format!(
        "{} {}{how}{approved} · {}",
        short(&r.operator),
        done(&r.op),
        ago(r.time, now)
    )
}

/// "alice holds the lease: drain us-east-1 since 02:01:10".
pub fn lease_line(h: &Holder) -> String {
    format!(
        "{} holds the lease: {} since {}",
        short(&h.identity),
        h.op.summary(),
        h.since.format("%H:%M:%S")
    )
}

/// "alice asks for approval: drain us-east-1 (id ab12cd34, until 02:16:10)".
pub fn pending_line(p: &Pending) -> String {
    format!(
        "{} asks for approval: {} (id {}, until {}) — approve with `opsdeck act approve {} --confirm {}`",
        short(&p.requester),
        p.op.summary(),
        p.id,
        p.expires_at.format("%H:%M:%S"),
        p.id,
        p.plan.region
    )
}

impl Others {
    /// The one thing the status line says: someone's lease, else pending approvals, else the
    /// newest operation.
    pub fn headline(&self, now: DateTime<Utc>) -> Option<String> {
        if let Some(h) = &self.lease {
            return Some(lease_line(h));
        }
        match self.pending.len() {
            0 => {}
            1 => {
                let p = &self.pending[0];
                return Some(format!(
                    "{} asks for approval: {} ({})",
                    short(&p.requester),
                    p.op.summary(),
                    p.id
                ));
            }
            n => return Some(format!("{n} operations pending approval")),
        }
        self.recent.first().map(|r| record_line(r, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_shortened_to_the_person() {
        assert_eq!(
            short("arn:aws:sts::123456789012:assumed-role/oncall/alice"),
            "alice"
        );
        assert_eq!(short("bob (simulated fleet)"), "bob (simulated fleet)");
    }
}
