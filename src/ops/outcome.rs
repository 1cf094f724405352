//! How an operation ended: what the pipeline returns and what the `ended` audit record holds.

use super::guards::GuardResult;
use super::plan::{ApiCall, Plan};
use super::Op;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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

/// What one run of the pipeline did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// When it ended: the `ended` audit record's time, on the target's clock.
    #[serde(skip)]
    pub at: DateTime<Utc>,
    pub id: String,
    pub plan: Plan,
    pub guards: Vec<GuardResult>,
    pub overrides: Vec<String>,
    pub result: OpResult,
    /// The operation that undoes this one, when it took effect and is reversible.
    pub undo: Option<Op>,
}

/// What execution returned that verification needs (e.g. a Route53 change id), and what it did.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Executed {
    /// One line per call made: "ecs UpdateService ok".
    pub calls: Vec<String>,
    /// Route53 ChangeInfo.Id, polled until INSYNC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route53_change: Option<String>,
}

impl Executed {
    /// Record that `call` succeeded.
    pub fn ok(&mut self, call: &ApiCall) {
        self.calls
            .push(format!("{} {} ok", call.service(), call.operation()));
    }

    /// Why execution stopped at `call`, and what had already run before it.
    pub fn failed_at(&self, call: &ApiCall, e: impl std::fmt::Display) -> String {
        let ran = if self.calls.is_empty() {
            "nothing ran".to_string()
        } else {
            self.calls.join(", ")
        };
        format!(
            "{} {}: {e} (before it: {ran})",
            call.service(),
            call.operation()
        )
    }
}
