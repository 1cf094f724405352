//! `opsdeck shared init` through the pipeline: its plan (what exists, what will be created) is
//! checked against the `read-only` rule and the typed confirmation (the fleet's name), its
//! `requested` record is written before anything is created, and its `ended` record after. The
//! `requested` record goes to the local log only (the shared trail may be what is being created);
//! the `ended` one to the shared trail too, once it exists.

use super::{Confirmation, Operator};
use crate::ops::audit::{self, AuditRecord, Decision, Phase};
use crate::ops::guards;
use crate::ops::outcome::{Executed, OpResult, Outcome};
use crate::ops::plan::Plan;
use crate::ops::OpError;
use futures::future::BoxFuture;

impl Operator {
    /// Run a set-up plan: refuse unless operations are allowed and `confirm.typed` is the fleet's
    /// name; record; `create` (the steps it took, or why it failed); record the end.
    pub async fn run_setup(
        &self,
        plan: Plan,
        confirm: &Confirmation,
        create: BoxFuture<'_, Result<Vec<String>, String>>,
    ) -> Result<Outcome, OpError> {
        let operator = self.target.identity().await;
        let clock = self.target.clock();
        let guards = vec![guards::permission(self.settings.permission)];
        let refusal = if let Some(g) = guards::first_block(&guards) {
            Some(OpResult::Refused {
                reason: format!("blocked by {}: {}", g.rule, g.reason),
                rule: Some(g.rule.clone()),
            })
        } else if confirm.typed != self.fleet.name {
            Some(OpResult::Refused {
                reason: format!(
                    "confirmation `{}` does not match the fleet's name `{}`: nothing was created",
                    confirm.typed, self.fleet.name
                ),
                rule: None,
            })
        } else {
            None
        };
        let mut record = AuditRecord {
            time: clock.now(),
            phase: Phase::Requested,
            id: audit::new_id(clock.now()),
            operator,
            fleet: self.fleet.name.clone(),
            source: self.target.kind(),
            region: plan.region.clone(),
            op: plan.op.clone(),
            plan: plan.clone(),
            guards: guards.clone(),
            overrides: Vec::new(),
            decision: if refusal.is_some() {
                Decision::Refused
            } else {
                Decision::Execute
            },
            undo_of: None,
            executed: None,
            result: None,
            accepted_at: None,
            settled_at: None,
            approved_by: None,
            abandoned: None,
            drill: None,
        };
        self.audit.append(&record).map_err(OpError::Audit)?;
        let (executed, result) = match refusal {
            Some(r) => (None, r),
            None => match create.await {
                Ok(calls) => (
                    Some(Executed {
                        calls,
                        route53_change: None,
                    }),
                    OpResult::Applied,
                ),
                Err(reason) => (None, OpResult::Failed { reason }),
            },
        };
        let done = clock.now();
        let took = matches!(result, OpResult::Applied);
        record.time = done;
        record.phase = Phase::Ended;
        record.executed = executed;
        record.result = Some(result.clone());
        record.accepted_at = Some(took.then_some(done));
        record.settled_at = Some(took.then_some(done));
        self.audit.append(&record).map_err(|e| {
            OpError::Audit(format!(
                "set-up ended ({result}) but its ended record was not written: {e}"
            ))
        })?;
        if took {
            if let Err(e) = self.trail().put_shared(&record).await {
                tracing::warn!("shared init: the ended record is not in the shared trail: {e}");
            }
        }
        Ok(Outcome {
            at: done,
            id: record.id,
            plan,
            guards,
            overrides: Vec::new(),
            result,
            undo: None,
            accepted_at: took.then_some(done),
            settled_at: took.then_some(done),
            abandoned: None,
        })
    }
}
