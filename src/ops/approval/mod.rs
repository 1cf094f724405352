//! Two-person approval (`[guards] approval_required`): an operation of a listed kind, once its
//! requester confirmed it, is recorded as pending — its plan, id, requester and expiry — and runs
//! only once a different identity approved it by typing its region (`opsdeck act approve ID
//! --confirm REGION`). The requester's pipeline waits for that, then plans afresh and re-checks
//! the guards under the lease as any operation does (`pipeline::approval`).
//!
//! - [`local`]: without `[shared]`, one JSON file per pending operation in the state directory
//!   (an approval is made under an exclusive lock of the directory).
//! - [`dynamo`]: with `[shared]`, items of the lock table under keys of their own
//!   (`approval/<fleet>/<id>`), approved by a conditional update (unapproved, not expired, not by
//!   its requester).

pub mod dynamo;
pub mod local;

use super::plan::Plan;
use super::Op;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The audit rule of a refused approval (wrong region typed, already approved, store failure).
pub const RULE: &str = "approval";
/// The audit rule of an approval refused because its requester tried to approve it.
pub const SELF_RULE: &str = "approval-self";
/// The audit rule of an approval refused (or an operation ended) because it expired.
pub const EXPIRED_RULE: &str = "approval-expired";

/// An operation waiting for a second identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    /// Short, typed by the approver.
    pub id: String,
    pub fleet: String,
    pub op: Op,
    /// The plan the requester confirmed (the pipeline plans afresh once approved).
    pub plan: Plan,
    /// STS caller ARN (or the local user on the simulated fleet).
    pub requester: String,
    pub host: String,
    pub pid: u32,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(default)]
    pub approved_by: Option<String>,
    #[serde(default)]
    pub approved_at: Option<DateTime<Utc>>,
}

impl Pending {
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }

    /// "pending", "approved by …", "expired".
    pub fn state(&self, now: DateTime<Utc>) -> String {
        match &self.approved_by {
            Some(by) => format!("approved by {by}"),
            None if self.expired(now) => "expired".into(),
            None => "pending".into(),
        }
    }
}

/// Why an approval does not go through, if it does not, with its audit rule.
pub fn refusal(
    p: &Pending,
    approver: &str,
    typed: &str,
    now: DateTime<Utc>,
) -> Option<(String, &'static str)> {
    if approver.starts_with("unknown") {
        return Some((
            format!(
                "the approver's identity is not known ({approver}): nobody approves anonymously"
            ),
            RULE,
        ));
    }
    if approver == p.requester {
        return Some((
            format!(
                "{approver} requested {} and cannot approve it: a different identity must",
                p.id
            ),
            SELF_RULE,
        ));
    }
    if let Some(by) = &p.approved_by {
        return Some((format!("{} was already approved by {by}", p.id), RULE));
    }
    if p.expired(now) {
        return Some((
            format!(
                "the approval of {} expired at {}: the requester must ask again",
                p.id,
                p.expires_at.format("%H:%M:%S UTC")
            ),
            EXPIRED_RULE,
        ));
    }
    if typed != p.plan.region {
        return Some((
            format!(
                "confirmation `{typed}` does not match the region `{}`: nothing was approved",
                p.plan.region
            ),
            RULE,
        ));
    }
    None
}

/// What an attempt to approve found.
#[derive(Debug, Clone, PartialEq)]
pub enum Approved {
    /// Approved now, by this identity.
    Now(Pending),
    /// Not approved: the item as it stands (None: it is gone).
    Not(Option<Pending>),
}

/// Where pending approvals live: files in the state directory, or the DynamoDB lock table.
pub trait ApprovalStore: Send + Sync {
    /// "files in /…/approvals", "DynamoDB table opsdeck-locks in us-east-1".
    fn name(&self) -> String;

    /// Record a new pending operation (its id must be new).
    fn put<'a>(&'a self, p: &'a Pending) -> BoxFuture<'a, Result<(), String>>;

    /// The pending operation `id` of `fleet`.
    fn get<'a>(
        &'a self,
        fleet: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Pending>, String>>;

    /// Every pending operation of `fleet` (approved or expired ones too), oldest first.
    fn list<'a>(&'a self, fleet: &'a str) -> BoxFuture<'a, Result<Vec<Pending>, String>>;

    /// Mark `id` approved by `approver` at `now`, atomically, only if it is unapproved, not
    /// expired at `now` and not `approver`'s own.
    fn approve<'a>(
        &'a self,
        fleet: &'a str,
        id: &'a str,
        approver: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Approved, String>>;

    /// Remove `id` (once it ran, or its requester gave up).
    fn remove<'a>(&'a self, fleet: &'a str, id: &'a str) -> BoxFuture<'a, Result<(), String>>;
}

/// Told once when an operation starts waiting for its approval.
pub type OnPending = Arc<dyn Fn(&Pending) + Send + Sync>;

/// The approvals of one operator: where they live, and who to tell that one is pending.
#[derive(Clone)]
pub struct Approvals {
    pub store: Arc<dyn ApprovalStore>,
    pub on_pending: Option<OnPending>,
}

impl Approvals {
    pub fn new(store: Arc<dyn ApprovalStore>) -> Self {
        Approvals {
            store,
            on_pending: None,
        }
    }
}

/// A new approval id: 8 hex digits, short enough to type.
pub fn new_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    format!("{:08x}", h.finish() as u32)
}

/// "ab12cd34  drain us-east-1  by arn:…/alice  since 02:01:10 UTC  expires 02:16:10 UTC  pending".
pub fn line(p: &Pending, now: DateTime<Utc>) -> String {
    format!(
        "{}  {}  requested by {}  at {}  expires {}  {}",
        p.id,
        p.op.summary(),
        p.requester,
        p.requested_at.format("%H:%M:%S UTC"),
        p.expires_at.format("%H:%M:%S UTC"),
        p.state(now)
    )
}

#[cfg(test)]
mod tests {
    use crate::fleet::Fleet;
    use std::path::Path;

    const FLEET: &str = "name = \"atlas\"\n[[region]]\nname = \"eu-west-1\"\nrole = \"primary\"\n";

    #[test]
    fn approval_required_names_operations_and_an_unknown_one_is_shown_where_it_is() {
        let ok = format!("{FLEET}[guards]\napproval_required = [\"promote\", \"drain\"]\n");
        let fleet = Fleet::parse(&ok, Path::new("f.toml")).unwrap();
        assert!(fleet.guards.needs_approval("drain") && !fleet.guards.needs_approval("scale"));
        assert_eq!(fleet.guards.approval_expiry_s, 900, "15 minutes by default");
        let bad = format!("{FLEET}[guards]\napproval_required = [\"drain\", \"drian\"]\n");
        let e = Fleet::parse(&bad, Path::new("f.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("f.toml:6:31")
                && e.contains("`drian`")
                && e.contains("scale, promote, drain, restore"),
            "{e}"
        );
        let zero = format!("{FLEET}[guards]\napproval_expiry_s = 0\n");
        let e = Fleet::parse(&zero, Path::new("f.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("f.toml:6:") && e.contains("approval_expiry_s"),
            "{e}"
        );
    }
}
