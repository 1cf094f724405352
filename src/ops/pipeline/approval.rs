//! Two-person approval in the pipeline (`ops::approval`): the requester's operation is recorded
//! as pending and waits, on the pipeline's clock, until a different identity approves it or it
//! expires; `approve` is that second identity's side. Every refusal — self-approval, an expired
//! approval, a wrong region typed — is audited like any other (in the shared trail too).

use super::{Confirmation, Operator, Prepared, Who};
use crate::ops::approval::{self, Approved, Pending};
use crate::ops::audit;
use crate::ops::view::FleetView;
use crate::ops::{OpError, OpResult};
use std::time::Duration;

/// How often the requester's pipeline looks whether its operation was approved (real time).
const POLL: Duration = Duration::from_millis(250);

/// What `approve` did: approved, or refused (and audited) with its reason.
pub type ApproveResult = Result<Pending, OpResult>;

impl Operator {
    /// Record `shown` as pending and wait until another identity approved it: Ok(approver), or
    /// the refusal (expired, or it could not be recorded) that the caller audits.
    pub(super) async fn await_approval(
        &self,
        shown: &Prepared,
        requester: &str,
    ) -> Result<String, OpResult> {
        let clock = self.target.clock();
        let now = clock.now();
        let expiry = chrono::Duration::seconds(self.fleet.guards.approval_expiry_s as i64);
        let pending = Pending {
            id: approval::new_id(),
            fleet: self.fleet.name.clone(),
            op: shown.plan.op.clone(),
            plan: shown.plan.clone(),
            requester: requester.to_string(),
            host: crate::ops::lease::host_name(),
            pid: std::process::id(),
            requested_at: now,
            expires_at: now + expiry,
            approved_by: None,
            approved_at: None,
        };
        let store = &self.approvals.store;
        let refused = |reason: String, rule: &str| OpResult::Refused {
            reason,
            rule: Some(rule.to_string()),
        };
        if let Err(e) = store.put(&pending).await {
            return Err(refused(
                format!(
                    "{} needs approval but could not be recorded as pending ({}): {e}; nothing ran",
                    pending.op.summary(),
                    store.name()
                ),
                approval::RULE,
            ));
        }
        tracing::info!(
            "{} ({}) is pending approval until {}",
            pending.op.summary(),
            pending.id,
            pending.expires_at
        );
        if let Some(say) = &self.approvals.on_pending {
            say(&pending);
        }
        loop {
            let now = clock.now();
            match store.get(&pending.fleet, &pending.id).await {
                Ok(Some(p)) => {
                    if let Some(by) = p.approved_by.filter(|by| *by != requester) {
                        if let Err(e) = store.remove(&pending.fleet, &pending.id).await {
                            tracing::warn!("approval {}: not removed: {e}", pending.id);
                        }
                        tracing::info!("{} ({}) approved by {by}", pending.op.summary(), p.id);
                        return Ok(by);
                    }
                }
                Ok(None) => {
                    return Err(refused(
                        format!(
                            "the pending approval {} was removed before anyone approved it; nothing ran",
                            pending.id
                        ),
                        approval::RULE,
                    ))
                }
                Err(e) => tracing::warn!("approval {}: not read: {e}", pending.id),
            }
            if pending.expired(now) {
                return Err(refused(
                    format!(
                        "nobody approved {} ({}) before it expired at {}; nothing ran",
                        pending.id,
                        pending.op.summary(),
                        pending.expires_at.format("%H:%M:%S UTC")
                    ),
                    approval::EXPIRED_RULE,
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The fleet's pending operations (approved and expired ones too), oldest first.
    pub async fn pending(&self) -> Result<Vec<Pending>, OpError> {
        self.approvals
            .store
            .list(&self.fleet.name)
            .await
            .map_err(|e| OpError::Target(format!("{}: {e}", self.approvals.store.name())))
    }

    /// Approve the pending operation `id` as this operator's identity, confirmed by typing its
    /// region. A refusal is audited (a `requested` and an `ended` record naming the approver and
    /// the rule); an unknown id is bad input.
    pub async fn approve(&self, id: &str, typed: &str) -> Result<ApproveResult, OpError> {
        let store = &self.approvals.store;
        let fail = |e: String| OpError::Target(format!("{}: {e}", store.name()));
        let Some(found) = store.get(&self.fleet.name, id).await.map_err(fail)? else {
            return Err(OpError::Input(format!(
                "no pending approval `{id}` on fleet `{}` (`opsdeck act pending` lists them)",
                self.fleet.name
            )));
        };
        let approver = self.target.identity().await;
        let clock = self.target.clock();
        let now = clock.now();
        let refusal = match approval::refusal(&found, &approver, typed, now) {
            Some(r) => Some(r),
            None => match store
                .approve(&self.fleet.name, id, &approver, now)
                .await
                .map_err(fail)?
            {
                Approved::Now(p) => {
                    tracing::info!("approved {} ({}) as {approver}", p.op.summary(), p.id);
                    return Ok(Ok(p));
                }
                // Someone else changed it in between: say why from what it is now.
                Approved::Not(Some(p)) => approval::refusal(&p, &approver, typed, now).or(Some((
                    format!("{id} could not be approved"),
                    approval::RULE,
                ))),
                Approved::Not(None) => Some((
                    format!("{id} was removed before it could be approved"),
                    approval::RULE,
                )),
            },
        };
        let (reason, rule) = refusal.unwrap_or_default();
        let refused = OpResult::Refused {
            reason: format!("approval refused: {reason}"),
            rule: Some(rule.to_string()),
        };
        let shown = Prepared {
            plan: found.plan.clone(),
            guards: Vec::new(),
            before: FleetView {
                fleet: self.fleet.name.clone(),
                source: self.target.kind(),
                read_at: now,
                regions: Vec::new(),
            },
        };
        let who = Who {
            operator: approver,
            id: audit::new_id(now),
            approved_by: None,
            abandoned: None,
        };
        let confirm = Confirmation {
            typed: typed.to_string(),
            ..Default::default()
        };
        self.record(
            shown,
            Vec::new(),
            &confirm,
            who,
            Some(refused.clone()),
            |_| {},
        )
        .await?;
        Ok(Err(refused))
    }
}
