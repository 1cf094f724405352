//! Where operations act: the simulated fleet or AWS. Object-safe through boxed futures.

use super::Authorized;
use crate::fleet::clock::Clock;
use crate::fleet::{Fleet, SourceKind};
pub use crate::ops::outcome::Executed;
use crate::ops::plan::{ApiCall, Plan};
use crate::ops::view::FleetView;
use crate::ops::whatif::{self, WeightedModel, WhatIf};
use futures::future::BoxFuture;
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// Whether the fleet shows the accepted change settled ([`check_settled`]). Never a guess.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum Verification {
    /// The fleet shows the new state; when it first did, on the target's clock.
    Settled(chrono::DateTime<chrono::Utc>),
    /// Not settled within the limit: what is still pending ([`crate::ops::outcome::not_settled`]).
    NotYetVerified(String),
    Failed(String),
}

/// How long verification polls for the change to settle, and how often.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VerifyLimits {
    pub limit: Duration,
    pub poll: Duration,
}

pub trait Target: Send + Sync {
    /// The simulated fleet or AWS.
    fn kind(&self) -> SourceKind;

    /// The clock operations on this target read: the model's virtual clock on the simulated
    /// fleet, the wall clock against AWS. Guards, audit times and verification all use it.
    fn clock(&self) -> Arc<dyn Clock>;

    /// Who the operation runs as: the STS caller ARN, or the local user on the simulated fleet.
    fn identity(&self) -> BoxFuture<'_, String>;

    /// The fleet's current state, read fresh.
    fn read(&self) -> BoxFuture<'_, Result<FleetView, String>>;

    /// The state `op`'s plan and guards look at, read fresh (a target that reads everything at
    /// no cost keeps this default).
    fn read_for<'a>(&'a self, _op: &'a crate::ops::Op) -> BoxFuture<'a, Result<FleetView, String>> {
        self.read()
    }

    /// Make the authorized plan's API calls, in order; stop at the first failure (the error says
    /// what ran). Only the pipeline holds an [`Authorized`] token.
    fn execute<'a>(&'a self, token: &'a Authorized) -> BoxFuture<'a, Result<Executed, String>>;

    /// Poll until the fleet shows the accepted change settled ([`check_settled`]), within
    /// `limits`.
    fn verify<'a>(
        &'a self,
        plan: &'a Plan,
        executed: &'a Executed,
        limits: VerifyLimits,
    ) -> BoxFuture<'a, Verification>;

    /// "If `failed` fails now", from a fresh read. Without a model of demand: weights and the
    /// simulator's queueing formula.
    fn what_if<'a>(
        &'a self,
        fleet: &'a Fleet,
        failed: &'a str,
    ) -> BoxFuture<'a, Result<WhatIf, String>> {
        async move {
            let view = self.read().await?;
            whatif::analyse(&view, fleet, failed, &WeightedModel::new(fleet))
        }
        .boxed()
    }
}

/// True when `view` shows the plan's change settled: the requested value read back
/// ([`check_applied`]) and the fleet in the new state — every desired task running and none
/// pending; the weight read back (Route53 INSYNC is the AWS target's first step); the promoted
/// instance a writer and `available`. The reason says what is still pending.
pub fn check_settled(plan: &Plan, view: &FleetView) -> Result<(), String> {
    use crate::fleet::Replication;
    use crate::ops::Op;
    check_applied(plan, view)?;
    let region = view
        .region(&plan.region)
        .ok_or_else(|| format!("{} is no longer in the fleet", plan.region))?;
    match &plan.op {
        Op::Scale {
            cluster,
            service,
            desired,
            ..
        } => {
            let s = region
                .service(&format!("{cluster}/{service}"))
                .ok_or_else(|| format!("{cluster}/{service} not found"))?;
            if s.running == *desired && s.pending == 0 {
                Ok(())
            } else {
                Err(format!(
                    "{cluster}/{service} at {}/{desired} running, {} pending",
                    s.running, s.pending
                ))
            }
        }
        // The size read back (check_applied); EKS then adds or removes nodes on its own time.
        Op::ScaleNodegroup { .. } => Ok(()),
        Op::Drain { .. } | Op::Restore { .. } | Op::SharedInit { .. } => Ok(()),
        Op::Promote { .. } => match region.database.as_ref().map(|d| &d.replication) {
            Some(Replication::Primary { status, .. }) if status == "available" => Ok(()),
            Some(Replication::Primary {
                instance, status, ..
            }) => Err(format!(
                "{instance} is a primary but {status}, not yet available"
            )),
            _ => Err("no database reading".into()),
        },
    }
}

/// True when `view` shows the requested value in place (desiredCount, bounds, weight, the
/// instance no longer a replica); the reason when it does not.
pub fn check_applied(plan: &Plan, view: &FleetView) -> Result<(), String> {
    use crate::fleet::Replication;
    use crate::ops::Op;
    let region = view
        .region(&plan.region)
        .ok_or_else(|| format!("{} is no longer in the fleet", plan.region))?;
    match &plan.op {
        Op::Scale {
            cluster,
            service,
            desired,
            ..
        } => {
            let s = region
                .service(&format!("{cluster}/{service}"))
                .ok_or_else(|| format!("{cluster}/{service} not found"))?;
            if s.desired != *desired {
                return Err(format!("desiredCount reads {} (want {desired})", s.desired));
            }
            let want = plan.calls.iter().find_map(|c| match c {
                ApiCall::RegisterScalableTarget {
                    min_capacity,
                    max_capacity,
                    ..
                } => Some((*min_capacity, *max_capacity)),
                ApiCall::UpdateService { .. }
                | ApiCall::UpdateNodegroupConfig { .. }
                | ApiCall::PromoteReadReplica { .. }
                | ApiCall::ChangeResourceRecordSets { .. }
                | ApiCall::UpdateHealthCheck { .. } => None,
            });
            if let (Some((min, max)), Some(b)) = (want, s.bounds) {
                if (b.min, b.max) != (min, max) {
                    return Err(format!("autoscaling bounds read {b} (want {min}..{max})"));
                }
            }
            Ok(())
        }
        Op::ScaleNodegroup {
            cluster,
            nodegroup,
            desired,
            ..
        } => {
            let g = region
                .nodegroups
                .iter()
                .find(|g| &g.cluster == cluster && &g.nodegroup == nodegroup)
                .ok_or_else(|| format!("node group {cluster}/{nodegroup} not found"))?;
            let want = plan.calls.iter().find_map(|c| match c {
                ApiCall::UpdateNodegroupConfig {
                    min_size, max_size, ..
                } => Some((*min_size, *max_size)),
                _ => None,
            });
            if g.desired != *desired {
                return Err(format!(
                    "node group {cluster}/{nodegroup} desiredSize reads {} (want {desired})",
                    g.desired
                ));
            }
            match want {
                Some((min, max)) if (g.min, g.max) != (min, max) => Err(format!(
                    "node group {cluster}/{nodegroup} reads {}..{} (want {min}..{max})",
                    g.min, g.max
                )),
                _ => Ok(()),
            }
        }
        Op::Drain { .. } | Op::Restore { .. } => {
            let inversion = plan.calls.iter().find_map(|c| match c {
                ApiCall::UpdateHealthCheck {
                    health_check_id,
                    inverted,
                } => Some((health_check_id, *inverted)),
                ApiCall::UpdateService { .. }
                | ApiCall::RegisterScalableTarget { .. }
                | ApiCall::UpdateNodegroupConfig { .. }
                | ApiCall::PromoteReadReplica { .. }
                | ApiCall::ChangeResourceRecordSets { .. } => None,
            });
            if let Some((id, want)) = inversion {
                let got = region.record.as_ref().and_then(|r| r.health_check_inverted);
                return match got {
                    Some(g) if g == want => Ok(()),
                    Some(g) => Err(format!(
                        "health check {id} reads Inverted {g} (want {want})"
                    )),
                    None => Err(format!("health check {id} not read")),
                };
            }
            let want = match &plan.op {
                Op::Restore {
                    weight: Some(w), ..
                } => *w,
                _ => 0,
            };
            let got = region.record.as_ref().and_then(|r| r.weight);
            if got == Some(want) {
                Ok(())
            } else {
                Err(format!(
                    "weight reads {} (want {want})",
                    got.map(|w| w.to_string()).unwrap_or_else(|| "—".into())
                ))
            }
        }
        Op::Promote { .. } => match region.database.as_ref().map(|d| &d.replication) {
            Some(Replication::Primary { .. }) => Ok(()),
            Some(r) => Err(format!("the instance still reports {}", r.label())),
            None => Err("no database reading".into()),
        },
        Op::SharedInit { .. } => Ok(()),
    }
}
