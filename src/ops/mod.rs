//! Guarded operations: one pipeline for every operation, in the TUI and on the command line.
//!
//! `request → plan → guards → typed confirmation → execute → verify → audit → undo entry`
//!
//! - [`view`]: the fleet as an operation sees it, read fresh from a [`Target`] before planning.
//! - [`plan`]: the diff before → after, the exact API calls, notes (RPO, one-way), the undo.
//! - [`guards`]: the safety rules, each with a name, a verdict and a reason.
//! - [`audit`]: the append-only JSONL log, written and fsync'd before and after execution.
//! - [`pipeline`]: the [`Operator`] that runs the steps in order for the CLI and the console.
//! - [`sim`] / [`aws`]: the two targets; [`whatif`]: "if region X fails now".

pub mod approval;
pub mod audit;
pub mod aws;
mod aws_read;
pub mod capacity;
pub mod failover;
pub mod guards;
pub mod lease;
pub mod others;
pub mod outcome;
pub mod pipeline;
pub mod plan;
pub mod plan_lines;
pub mod sim;
pub mod stale;
pub use pipeline::target;
pub mod text;
pub mod view;
pub mod whatif;

pub use audit::{AuditLog, AuditRecord};
pub use guards::GuardResult;
pub use guards::Permission;
pub use outcome::{OpResult, Outcome};
pub use pipeline::{Authorized, Confirmation, Operator, Prepared, Settings};
pub use plan::{ApiCall, Change, Plan};
pub use target::{Executed, Target, Verification};
pub use view::FleetView;

use serde::{Deserialize, Serialize};

/// Autoscaling bounds of an ECS service (Application Auto Scaling min/max capacity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bounds {
    pub min: i64,
    pub max: i64,
}

impl std::fmt::Display for Bounds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}..{}", self.min, self.max)
    }
}

/// A dangerous change to the fleet. (`Action` is the UI message; an `Op` is what changes AWS.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Op {
    /// Set an ECS service's desired count; `bounds` sets the autoscaling bounds explicitly (undo).
    Scale {
        region: String,
        cluster: String,
        service: String,
        desired: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bounds: Option<Bounds>,
    },
    /// Set an EKS managed node group's desired size (`UpdateNodegroupConfig`); `min`/`max` change
    /// its scaling bounds with it (a desired size beyond them needs them moved).
    ScaleNodegroup {
        region: String,
        cluster: String,
        nodegroup: String,
        desired: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<i64>,
    },
    /// Promote the region's read replica to a standalone primary.
    Promote { region: String },
    /// Set the region's Route53 weight to 0.
    Drain { region: String },
    /// Put the region's Route53 weight back (the last drain's, or `weight`).
    Restore {
        region: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        weight: Option<i64>,
    },
    /// Create the fleet's `[shared]` resources (the lock table and the log group) in `region`
    /// (`opsdeck shared init`; planned there, not by `plan::build`).
    SharedInit { region: String },
}

impl Op {
    pub fn region(&self) -> &str {
        match self {
            Op::Scale { region, .. }
            | Op::ScaleNodegroup { region, .. }
            | Op::Promote { region }
            | Op::Drain { region }
            | Op::Restore { region, .. }
            | Op::SharedInit { region } => region,
        }
    }

    /// "scale", "promote", "drain", "restore".
    pub fn name(&self) -> &'static str {
        match self {
            Op::Scale { .. } | Op::ScaleNodegroup { .. } => "scale",
            Op::Promote { .. } => "promote",
            Op::Drain { .. } => "drain",
            Op::Restore { .. } => "restore",
            Op::SharedInit { .. } => "shared-init",
        }
    }

    /// One line: "scale atlas-us/api in us-east-1 to 5".
    pub fn summary(&self) -> String {
        match self {
            Op::Scale {
                region,
                cluster,
                service,
                desired,
                bounds,
            } => {
                let b = bounds
                    .map(|b| format!(" (autoscaling {b})"))
                    .unwrap_or_default();
                format!("scale {cluster}/{service} in {region} to {desired}{b}")
            }
            Op::ScaleNodegroup {
                region,
                cluster,
                nodegroup,
                desired,
                min,
                max,
            } => {
                let b = match (min, max) {
                    (None, None) => String::new(),
                    (Some(lo), None) => format!(" (min {lo})"),
                    (None, Some(hi)) => format!(" (max {hi})"),
                    (Some(lo), Some(hi)) => format!(" (min {lo}, max {hi})"),
                };
                format!("scale node group {cluster}/{nodegroup} in {region} to {desired}{b}")
            }
            Op::Promote { region } => format!("promote the replica in {region}"),
            Op::Drain { region } => format!("drain {region}"),
            Op::Restore {
                region,
                weight: Some(w),
            } => format!("restore {region} to weight {w}"),
            Op::Restore {
                region,
                weight: None,
            } => format!("restore {region}"),
            Op::SharedInit { region } => {
                format!("set up the shared lock table and log group in {region}")
            }
        }
    }
}

/// Why an operation could not be planned or run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OpError {
    /// The request does not fit the fleet (unknown region or service, nothing to promote, ...).
    #[error("{0}")]
    Input(String),
    /// The current state could not be read, or the change could not be made.
    #[error("{0}")]
    Target(String),
    /// The audit log could not be written: nothing runs without its record.
    #[error("audit log: {0}")]
    Audit(String),
}
