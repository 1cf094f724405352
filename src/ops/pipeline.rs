//! The one pipeline: request → plan → guards → typed confirmation → execute → verify → audit →
//! undo entry. The CLI and the console both go through [`Operator`].

use super::audit::{self, AuditLog, AuditRecord, Decision, Phase};
use super::guards::{self, GuardInput, GuardResult};
use super::plan::{self, Plan};
use super::target::{Executed, Target, Verification, VerifyLimits};
use super::view::FleetView;
use super::{Op, OpError};
use crate::fleet::Fleet;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// A hidden test hook: sleep this many milliseconds between execute and verify, so a test can
/// kill the process there.
pub const PAUSE_BEFORE_VERIFY_ENV: &str = "OPSDECK_TEST_PAUSE_BEFORE_VERIFY_MS";

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum OpResult {
    /// The target reports the change in place.
    Applied,
    /// The calls succeeded but the target did not show the change within the time limit.
    NotYetVerified { reason: String },
    /// A call failed, or the target shows something else.
    Failed { reason: String },
    /// Nothing ran: a guard, the confirmation, an override, or a fleet that moved since the plan.
    Refused {
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
    },
}

impl OpResult {
    pub fn label(&self) -> &'static str {
        match self {
            OpResult::Applied => "applied",
            OpResult::NotYetVerified { .. } => "not yet verified",
            OpResult::Failed { .. } => "failed",
            OpResult::Refused { .. } => "refused",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            OpResult::Applied => None,
            OpResult::NotYetVerified { reason }
            | OpResult::Failed { reason }
            | OpResult::Refused { reason, .. } => Some(reason),
        }
    }

    /// The change took effect (or may have: not yet verified).
    pub fn took_effect(&self) -> bool {
        matches!(self, OpResult::Applied | OpResult::NotYetVerified { .. })
    }
}

impl std::fmt::Display for OpResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.reason() {
            Some(r) => write!(f, "{}: {r}", self.label()),
            None => write!(f, "{}", self.label()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `--read-only` or `guards.read_only`.
    pub read_only: bool,
    /// Always on the simulated fleet; `--allow-actions` against AWS.
    pub actions_allowed: bool,
    pub verify: VerifyLimits,
}

/// A plan and its guards, as shown before confirmation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prepared {
    pub plan: Plan,
    pub guards: Vec<GuardResult>,
    #[serde(skip)]
    pub before: FleetView,
}

impl Prepared {
    pub fn blocked(&self) -> Vec<&GuardResult> {
        self.guards.iter().filter(|g| g.blocks()).collect()
    }
}

/// What the operator typed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Confirmation {
    /// Must equal the plan's region exactly.
    pub typed: String,
    /// Overridable rules whose override was separately confirmed.
    pub overrides: Vec<String>,
    /// The operation this one undoes.
    pub undo_of: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub id: String,
    pub plan: Plan,
    pub guards: Vec<GuardResult>,
    pub overrides: Vec<String>,
    pub result: OpResult,
    /// The operation that undoes this one, when it took effect and is reversible.
    pub undo: Option<Op>,
}

pub struct Operator {
    pub fleet: Fleet,
    pub target: Arc<dyn Target>,
    pub audit: AuditLog,
    pub settings: Settings,
}

impl Operator {
    /// Read the fleet fresh, plan `op`, evaluate the guards.
    pub async fn prepare(&self, op: &Op) -> Result<Prepared, OpError> {
        let before = self.target.read_for(op).await.map_err(OpError::Target)?;
        for id in self.audit.close_interrupted().map_err(OpError::Audit)? {
            tracing::warn!(
                "audit: operation {id} was interrupted before it was verified; recorded as such"
            );
        }
        let records = self.audit.read().map_err(OpError::Audit)?;
        let recorded = audit::recorded_weight(&records, &self.fleet.name, op.region());
        let plan = plan::build(op, &before, &self.fleet, recorded)?;
        let guards = guards::evaluate(&GuardInput {
            plan: &plan,
            before: &before,
            fleet: &self.fleet,
            read_only: self.settings.read_only || self.fleet.guards.read_only,
            actions_allowed: self.settings.actions_allowed,
            last_change: audit::last_change(&records, &self.fleet.name, &plan.resource),
            now: Utc::now(),
        });
        Ok(Prepared {
            plan,
            guards,
            before,
        })
    }

    /// Run what was shown: plan again from a fresh read, refuse unless the confirmation matches,
    /// the overrides are valid, nothing moved and no guard blocks; record; execute; verify; record.
    pub async fn run(&self, shown: &Prepared, confirm: &Confirmation) -> Result<Outcome, OpError> {
        let fresh = self.prepare(&shown.plan.op).await?;
        let mut guards = fresh.guards.clone();
        let refusal = refusal(shown, &fresh, confirm, &mut guards);
        let plan = fresh.plan;
        let overrides: Vec<String> = guards
            .iter()
            .filter(|g| g.overridden)
            .map(|g| g.rule.clone())
            .collect();
        let now = Utc::now();
        let mut record = AuditRecord {
            time: now,
            phase: Phase::Requested,
            id: audit::new_id(now),
            operator: self.target.identity().await,
            fleet: self.fleet.name.clone(),
            source: self.target.kind(),
            region: plan.region.clone(),
            op: plan.op.clone(),
            plan: plan.clone(),
            guards: guards.clone(),
            overrides: overrides.clone(),
            decision: if refusal.is_some() {
                Decision::Refused
            } else {
                Decision::Execute
            },
            undo_of: confirm.undo_of.clone(),
            executed: None,
            result: None,
        };
        self.audit.append(&record).map_err(OpError::Audit)?;
        let (executed, result) = match refusal {
            Some(r) => (None, r),
            None => self.execute_and_verify(&plan).await,
        };
        record.time = Utc::now();
        record.phase = Phase::Ended;
        record.executed = executed;
        record.result = Some(result.clone());
        self.audit.append(&record).map_err(|e| {
            OpError::Audit(format!(
                "the operation ended ({result}) but its ended record was not written: {e}"
            ))
        })?;
        let undo = if result.took_effect() && plan.reversible {
            plan.undo.clone()
        } else {
            None
        };
        Ok(Outcome {
            id: record.id,
            plan,
            guards,
            overrides,
            result,
            undo,
        })
    }

    async fn execute_and_verify(&self, plan: &Plan) -> (Option<Executed>, OpResult) {
        let executed = match self.target.execute(plan).await {
            Ok(e) => e,
            Err(reason) => return (None, OpResult::Failed { reason }),
        };
        if let Some(ms) = std::env::var(PAUSE_BEFORE_VERIFY_ENV)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
        {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        let result = match self
            .target
            .verify(plan, &executed, self.settings.verify)
            .await
        {
            Verification::Applied => OpResult::Applied,
            Verification::NotYetVerified(reason) => OpResult::NotYetVerified { reason },
            Verification::Failed(reason) => OpResult::Failed { reason },
        };
        (Some(executed), result)
    }
}

/// Why the operation must not run, if it must not. Marks confirmed overrides on `guards`.
fn refusal(
    shown: &Prepared,
    fresh: &Prepared,
    confirm: &Confirmation,
    guards: &mut [GuardResult],
) -> Option<OpResult> {
    let refused = |reason: String| Some(OpResult::Refused { reason, rule: None });
    if confirm.typed != fresh.plan.region {
        return refused(format!(
            "confirmation `{}` does not match the region `{}`: nothing ran",
            confirm.typed, fresh.plan.region
        ));
    }
    if let Err(e) = guards::apply_overrides(guards, &confirm.overrides) {
        return refused(e);
    }
    if fresh.plan.changes != shown.plan.changes || fresh.plan.calls != shown.plan.calls {
        return refused("the fleet changed since the plan was shown: review the new plan".into());
    }
    if fresh.plan.is_noop() {
        return refused("nothing to change".into());
    }
    guards::first_block(guards).map(|g| OpResult::Refused {
        reason: format!("blocked by {}: {}", g.rule, g.reason),
        rule: Some(g.rule.clone()),
    })
}
