//! How an operation ended: what the pipeline returns and what the `ended` audit record holds.

use super::guards::GuardResult;
use super::plan::{ApiCall, Plan};
use super::Op;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How an operation ended. `applied` means settled: AWS took the request and the fleet shows the
/// new state; `not_yet_verified` means accepted but not settled within the time limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum OpResult {
    /// The calls were accepted and the fleet shows the new state (settled).
    Applied,
    /// The calls were accepted but the fleet did not show the new state within the time limit
    /// (the reason says what is still pending).
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
    /// When AWS (or the model) took the request: every call returned; null when nothing was
    /// accepted (refused, or a call failed).
    pub accepted_at: Option<DateTime<Utc>>,
    /// When the fleet showed the new state (tasks running, Route53 INSYNC and the weight read
    /// back, the instance a writer); null when it did not settle within the time limit.
    pub settled_at: Option<DateTime<Utc>>,
    /// An earlier operation whose lease this one found abandoned (its process died holding it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abandoned: Option<String>,
}

impl Outcome {
    /// One line for people: "applied: accepted at 14:00:05 UTC, settled at 14:01:10 UTC (after
    /// 65 s)", "not yet verified: accepted at …, not settled after 300 s: 4/10 running, 6
    /// pending", "refused: …".
    pub fn text(&self) -> String {
        match self.accepted_at {
            Some(accepted) => format!(
                "{}: {}",
                self.result.label(),
                settle_text(&self.result, accepted, self.settled_at)
            ),
            None => self.result.to_string(),
        }
    }
}

/// "accepted at T, settled at T (after N s)" or "accepted at T, not settled after N s: …".
pub fn settle_text(
    result: &OpResult,
    accepted: DateTime<Utc>,
    settled: Option<DateTime<Utc>>,
) -> String {
    let at = |t: DateTime<Utc>| t.format("%H:%M:%S UTC").to_string();
    match (settled, result.reason()) {
        (Some(s), _) => format!(
            "accepted at {}, settled at {} (after {} s)",
            at(accepted),
            at(s),
            (s - accepted).num_seconds()
        ),
        (None, Some(reason)) => format!("accepted at {}, {reason}", at(accepted)),
        (None, None) => format!("accepted at {}", at(accepted)),
    }
}

/// Why an accepted operation has not settled after `waited_s`: "not settled after 300 s: 4/10
/// running, 6 pending". Targets give this as the `not_yet_verified` reason.
pub fn not_settled(waited_s: u64, pending: &str) -> String {
    format!("not settled after {waited_s} s: {pending}")
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
