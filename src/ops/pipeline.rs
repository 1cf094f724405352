//! The one pipeline: request → plan → guards → typed confirmation → execute → verify → audit →
//! undo entry. The CLI and the console both go through [`Operator`].

use super::approval::{self as approvals, Approvals};
use super::audit::shared::SharedLog;
use super::audit::trail::Trail;
use super::audit::{self, AuditLog, AuditRecord, Decision, Phase};
use super::guards::{self, GuardInput, GuardResult, Permission};
use super::lease::{self, Holder, Leases};
use super::outcome::{OpResult, Outcome};
use super::plan::{self, Plan};
pub mod approval;
pub mod others;
pub mod setup;
pub mod target;

use super::view::FleetView;
use super::whatif::WhatIf;
use super::{Op, OpError};
use crate::fleet::clock::Clock;
use crate::fleet::{Fleet, SourceKind};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use target::{Executed, Target, Verification, VerifyLimits};

/// A hidden test hook: sleep this many milliseconds between execute and verify, so a test can
/// kill the process there.
pub const PAUSE_BEFORE_VERIFY_ENV: &str = "OPSDECK_TEST_PAUSE_BEFORE_VERIFY_MS";

/// A hidden test hook: between execute and verify, wait while this file exists, so a test holds
/// an operation (and its lease) in flight until it removes the file.
pub const HOLD_WHILE_FILE_ENV: &str = "OPSDECK_TEST_HOLD_WHILE_FILE";

/// What the pipeline takes from the command line and the fleet file: built once, in `setup`.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Whether operations may run at all (the `read-only` rule).
    pub permission: Permission,
    /// The audit log file (JSONL).
    pub audit_log: PathBuf,
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

/// Leave to make a plan's mutating calls. [`Target::execute`] takes one, and only
/// [`Operator::run`] makes one: after the typed confirmation matched the plan, nothing moved
/// since it was shown, no guard blocks, and the `requested` audit record is written and fsync'd.
/// It carries the plan it authorizes: a target executes that plan and no other.
///
/// Code outside the pipeline cannot make one (E0451: private fields):
///
/// ```compile_fail,E0451
/// use opsdeck::ops::pipeline::Authorized;
/// use opsdeck::ops::{Plan, Target};
///
/// async fn run_anyway(target: &dyn Target, plan: Plan) {
///     let token = Authorized { plan, id: "hand-made".into() }; // private fields
///     let _ = target.execute(&token).await;
/// }
/// ```
///
/// nor hand a target a plan of its own (E0308: `execute` takes the token, not a plan):
///
/// ```compile_fail,E0308
/// use opsdeck::ops::{Plan, Target};
///
/// async fn run_anyway(target: &dyn Target, plan: &Plan) {
///     let _ = target.execute(plan).await;
/// }
/// ```
///
/// while with a token the pipeline made, a target executes its plan:
///
/// ```no_run
/// use opsdeck::ops::pipeline::Authorized;
/// use opsdeck::ops::Target;
///
/// async fn make_the_calls(target: &dyn Target, token: &Authorized) {
///     let _ = target.execute(token).await;
/// }
/// ```
#[derive(Debug)]
pub struct Authorized {
    plan: Plan,
    id: String,
}

impl Authorized {
    /// The plan whose calls may be made.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The audit id of the operation.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Append the `requested` record (to the shared trail first, when there is one, then to the
/// local log, written and fsync'd before it returns); only then, when the pipeline decided to
/// execute, the token for the record's plan. A shared trail that cannot be written turns the
/// record into a refusal (written locally): nothing runs. Also whether the shared trail took it.
async fn record_request(
    trail: Trail<'_>,
    record: &mut AuditRecord,
    refusal: &mut Option<OpResult>,
) -> Result<(Option<Authorized>, bool), OpError> {
    let shared = trail.put_shared(record).await;
    if let (Err(e), Decision::Execute) = (&shared, record.decision) {
        record.decision = Decision::Refused;
        *refusal = Some(OpResult::Refused {
            reason: format!("the shared audit trail could not be written: {e}; nothing ran"),
            rule: Some(SHARED_TRAIL_RULE.into()),
        });
    }
    let audit = trail.local;
    audit.append(record).map_err(OpError::Audit)?;
    let token = (record.decision == Decision::Execute).then(|| Authorized {
        plan: record.plan.clone(),
        id: record.id.clone(),
    });
    Ok((token, shared.is_ok()))
}

/// An operation AWS (or the model) took: every call returned. The pipeline then watches the fleet
/// until it settles or the time limit passes.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// The audit id of the operation.
    pub id: String,
    pub op: Op,
    /// When the last call returned, on the target's clock.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// What execute and verify did: the calls made, how it ended, and when it was accepted and settled.
struct Ran {
    executed: Option<Executed>,
    result: OpResult,
    accepted_at: Option<chrono::DateTime<chrono::Utc>>,
    settled_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The audit rule name of a refusal because the shared trail could not be written.
pub const SHARED_TRAIL_RULE: &str = "shared-audit-trail";

/// Runs operations on one fleet through one target. Its parts are private: every operation goes
/// through [`Operator::prepare`] and [`Operator::run`].
pub struct Operator {
    fleet: Fleet,
    target: Arc<dyn Target>,
    audit: AuditLog,
    settings: Settings,
    shared: Option<Arc<SharedLog>>,
    leases: Leases,
    approvals: Approvals,
    /// The drill run and step the next operations belong to (`Operator::set_drill_step`).
    drill: std::sync::Mutex<Option<audit::DrillTag>>,
}

/// Who runs an operation: the identity, the audit id, and the second identity that approved it.
struct Who {
    operator: String,
    id: String,
    approved_by: Option<String>,
    /// The earlier operation found abandoned when the lease was taken.
    abandoned: Option<String>,
}

impl Operator {
    pub fn new(fleet: Fleet, target: Arc<dyn Target>, settings: Settings) -> Self {
        // Leases default to lock files beside the audit log; `setup` puts them in the state dir.
        let dir = settings
            .audit_log
            .parent()
            .map(|d| d.join("leases"))
            .unwrap_or_else(|| PathBuf::from("leases"));
        let pending = dir.with_file_name("approvals");
        Operator {
            approvals: Approvals::new(Arc::new(approvals::local::LocalApprovals::new(pending))),
            audit: AuditLog::new(&settings.audit_log),
            fleet,
            target,
            settings,
            shared: None,
            leases: Leases::new(Arc::new(lease::local::LocalLeases::new(dir))),
            drill: std::sync::Mutex::new(None),
        }
    }

    /// Tag the operations run from now on with a drill's run id and step name (in their audit
    /// records); `None` stops tagging.
    pub fn set_drill_step(&self, tag: Option<audit::DrillTag>) {
        *self.drill.lock().unwrap_or_else(|p| p.into_inner()) = tag;
    }

    fn drill_step(&self) -> Option<audit::DrillTag> {
        self.drill.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Where this operator's leases live, how long they last and how long to wait for one.
    pub fn with_leases(mut self, leases: Leases) -> Self {
        self.leases = leases;
        self
    }

    /// Also write (and read) the shared audit trail.
    pub fn with_shared_trail(mut self, shared: SharedLog) -> Self {
        self.shared = Some(Arc::new(shared));
        self
    }

    /// Where this operator's pending approvals live.
    pub fn with_approvals(mut self, approvals: Approvals) -> Self {
        self.approvals = approvals;
        self
    }

    pub fn approvals(&self) -> &Approvals {
        &self.approvals
    }

    pub fn leases(&self) -> &Leases {
        &self.leases
    }

    /// The local audit log and the shared trail, when the fleet has one.
    pub fn trail(&self) -> Trail<'_> {
        Trail {
            local: &self.audit,
            shared: self.shared.as_deref(),
        }
    }

    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The simulated fleet or AWS.
    pub fn kind(&self) -> SourceKind {
        self.target.kind()
    }

    /// The clock of the target: the time operations, guards and audit records read.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.target.clock()
    }

    /// Close the operations a dead process left between execute and verify (at this clock's
    /// time); the ids closed.
    pub fn close_interrupted(&self) -> Result<Vec<String>, String> {
        self.audit.close_interrupted(self.clock().now())
    }

    /// "If `failed` fails now", from a fresh read. Changes nothing.
    pub async fn what_if(&self, failed: &str) -> Result<WhatIf, String> {
        self.target.what_if(&self.fleet, failed).await
    }

    /// Read the fleet fresh, plan `op`, evaluate the guards.
    pub async fn prepare(&self, op: &Op) -> Result<Prepared, OpError> {
        let before = self.target.read_for(op).await.map_err(OpError::Target)?;
        let clock = self.target.clock();
        for id in self
            .audit
            .close_interrupted(clock.now())
            .map_err(OpError::Audit)?
        {
            tracing::warn!(
                "audit: operation {id} was interrupted before it was verified; recorded as such"
            );
        }
        // Read from the end of the log, never all of it (`audit::file`).
        let recorded = self
            .trail()
            .recorded_weight_of(&self.fleet.name, op.region(), clock.now())
            .await
            .map_err(OpError::Audit)?;
        let plan = plan::build(op, &before, &self.fleet, recorded)?;
        let now = clock.now();
        let since = now - chrono::Duration::seconds(self.fleet.guards.cooldown_s as i64);
        let last_change = self
            .trail()
            .last_change_since(&self.fleet.name, &plan.resource, since)
            .await
            .map_err(OpError::Audit)?;
        let guards = guards::evaluate(&GuardInput {
            plan: &plan,
            before: &before,
            fleet: &self.fleet,
            permission: self.settings.permission,
            last_change,
            now,
        });
        Ok(Prepared {
            plan,
            guards,
            before,
        })
    }

    /// Run what was shown under the fleet's lease: plan again from a fresh read taken under the
    /// lease, refuse unless the confirmation matches, the overrides are valid, nothing moved and
    /// no guard blocks; record; execute; watch until the fleet settles (or the limit passes);
    /// record; release the lease. A lease held by someone else refuses (recorded like any
    /// refusal).
    pub async fn run(&self, shown: &Prepared, confirm: &Confirmation) -> Result<Outcome, OpError> {
        self.run_watching(shown, confirm, |_| {}).await
    }

    /// [`Operator::run`], telling `accepted` as soon as every call returned, before the pipeline
    /// watches the fleet settle (the console reports "accepted" while it keeps watching).
    pub async fn run_watching(
        &self,
        shown: &Prepared,
        confirm: &Confirmation,
        accepted: impl FnOnce(Accepted) + Send,
    ) -> Result<Outcome, OpError> {
        let operator = self.target.identity().await;
        // An operation that needs a second identity, confirmed and unblocked as shown, waits for
        // its approval first; then it runs as any other (lease, fresh plan, guards again).
        let mut approved_by = None;
        if self.fleet.guards.needs_approval(shown.plan.op.name())
            && refusal(
                shown,
                shown,
                &self.fleet,
                confirm,
                &mut shown.guards.clone(),
            )
            .is_none()
        {
            match self.await_approval(shown, &operator).await {
                Ok(by) => approved_by = Some(by),
                Err(refused) => {
                    let id = audit::new_id(self.target.clock().now());
                    let who = Who {
                        operator,
                        id,
                        approved_by: None,
                        abandoned: None,
                    };
                    return self
                        .record(
                            shown.clone(),
                            shown.guards.clone(),
                            confirm,
                            who,
                            Some(refused),
                            accepted,
                        )
                        .await;
                }
            }
        }
        let clock = self.target.clock();
        let id = audit::new_id(clock.now());
        let holder = Holder {
            identity: operator.clone(),
            host: lease::host_name(),
            pid: std::process::id(),
            token: lease::new_token(clock.now()),
            audit_id: id.clone(),
            op: shown.plan.op.clone(),
            since: clock.now(),
            until: clock.now(),
        };
        match self.leases.take(&self.fleet.name, holder, clock).await {
            Ok(held) => {
                let abandoned = held.abandoned().map(lease::abandoned_note);
                let who = Who {
                    operator,
                    id,
                    approved_by,
                    abandoned: abandoned.clone(),
                };
                let out = self.run_leased(shown, confirm, who, accepted).await;
                held.release().await;
                out.map(|o| Outcome { abandoned, ..o })
            }
            Err(refused) => {
                let refusal = OpResult::Refused {
                    reason: refused.reason,
                    rule: Some(lease::RULE.into()),
                };
                let who = Who {
                    operator,
                    id,
                    approved_by,
                    abandoned: None,
                };
                self.record(
                    shown.clone(),
                    shown.guards.clone(),
                    confirm,
                    who,
                    Some(refusal),
                    accepted,
                )
                .await
            }
        }
    }

    /// [`Operator::run_watching`] once the lease is held.
    async fn run_leased(
        &self,
        shown: &Prepared,
        confirm: &Confirmation,
        who: Who,
        accepted: impl FnOnce(Accepted) + Send,
    ) -> Result<Outcome, OpError> {
        let fresh = self.prepare(&shown.plan.op).await?;
        let mut guards = fresh.guards.clone();
        let refusal = refusal(shown, &fresh, &self.fleet, confirm, &mut guards);
        self.record(fresh, guards, confirm, who, refusal, accepted)
            .await
    }

    /// Record the request; unless refused, execute and verify; record the end.
    async fn record(
        &self,
        fresh: Prepared,
        guards: Vec<GuardResult>,
        confirm: &Confirmation,
        who: Who,
        mut refusal: Option<OpResult>,
        accepted: impl FnOnce(Accepted) + Send,
    ) -> Result<Outcome, OpError> {
        let plan = fresh.plan;
        let overrides: Vec<String> = guards
            .iter()
            .filter(|g| g.overridden)
            .map(|g| g.rule.clone())
            .collect();
        let clock = self.target.clock();
        let now = clock.now();
        let mut record = AuditRecord {
            time: now,
            phase: Phase::Requested,
            id: who.id,
            operator: who.operator,
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
            accepted_at: None,
            settled_at: None,
            approved_by: who.approved_by,
            abandoned: who.abandoned,
            drill: self.drill_step(),
        };
        let (authorized, shared_took_it) =
            record_request(self.trail(), &mut record, &mut refusal).await?;
        // The token exists exactly when the record says execute, i.e. when nothing refused.
        let ran = match (authorized, refusal) {
            (Some(token), _) => self.execute_and_verify(&token, accepted).await,
            (None, refusal) => Ran {
                executed: None,
                result: refusal.unwrap_or_else(|| OpResult::Refused {
                    reason: "not authorized".into(),
                    rule: None,
                }),
                accepted_at: None,
                settled_at: None,
            },
        };
        let result = ran.result;
        record.time = clock.now();
        record.phase = Phase::Ended;
        record.executed = ran.executed;
        record.result = Some(result.clone());
        record.accepted_at = Some(ran.accepted_at);
        record.settled_at = Some(ran.settled_at);
        let shared_end = self.trail().put_shared(&record).await;
        self.audit.append(&record).map_err(|e| {
            OpError::Audit(format!(
                "the operation ended ({result}) but its ended record was not written: {e}"
            ))
        })?;
        if let (true, Err(e)) = (shared_took_it, shared_end) {
            return Err(OpError::Audit(format!(
                "the operation ended ({result}) but its ended record was not written to the shared trail: {e}"
            )));
        }
        let undo = if result.took_effect() && plan.reversible {
            plan.undo.clone()
        } else {
            None
        };
        Ok(Outcome {
            at: record.time,
            id: record.id,
            plan,
            guards,
            overrides,
            result,
            undo,
            accepted_at: ran.accepted_at,
            settled_at: ran.settled_at,
            abandoned: None,
        })
    }

    async fn execute_and_verify(
        &self,
        token: &Authorized,
        accepted: impl FnOnce(Accepted) + Send,
    ) -> Ran {
        let plan = token.plan();
        let executed = match self.target.execute(token).await {
            Ok(e) => e,
            Err(reason) => {
                return Ran {
                    executed: None,
                    result: OpResult::Failed { reason },
                    accepted_at: None,
                    settled_at: None,
                }
            }
        };
        let accepted_at = self.target.clock().now();
        tracing::info!(
            "{} ({}): accepted at {accepted_at}",
            plan.op.summary(),
            token.id()
        );
        accepted(Accepted {
            id: token.id().to_string(),
            op: plan.op.clone(),
            at: accepted_at,
        });
        if let Some(ms) = std::env::var(PAUSE_BEFORE_VERIFY_ENV)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
        {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if let Some(hold) = std::env::var_os(HOLD_WHILE_FILE_ENV) {
            while std::path::Path::new(&hold).exists() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let verification = self
            .target
            .verify(plan, &executed, self.settings.verify)
            .await;
        let (result, settled_at) = match verification {
            Verification::Settled(at) => (OpResult::Applied, Some(at.max(accepted_at))),
            Verification::NotYetVerified(reason) => (OpResult::NotYetVerified { reason }, None),
            Verification::Failed(reason) => (OpResult::Failed { reason }, None),
        };
        match settled_at {
            Some(at) => tracing::info!(
                "{} ({}): settled at {at}, {} s after it was accepted",
                plan.op.summary(),
                token.id(),
                (at - accepted_at).num_seconds()
            ),
            None => tracing::warn!("{} ({}): {result}", plan.op.summary(), token.id()),
        }
        Ran {
            executed: Some(executed),
            result,
            accepted_at: Some(accepted_at),
            settled_at,
        }
    }
}

/// Why the operation must not run, if it must not. Marks confirmed overrides on `guards`.
fn refusal(
    shown: &Prepared,
    fresh: &Prepared,
    fleet: &Fleet,
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
    if let Some(r) = stale_refusal(shown, fresh, fleet) {
        return Some(r);
    }
    if fresh.plan.is_noop() {
        return refused("nothing to change".into());
    }
    guards::first_block(guards).map(|g| OpResult::Refused {
        reason: format!("blocked by {}: {}", g.rule, g.reason),
        rule: Some(g.rule.clone()),
    })
}

/// The refusal when the plan moved materially since it was shown (`ops::stale`): nothing runs, and
/// the reason says what moved.
fn stale_refusal(shown: &Prepared, fresh: &Prepared, fleet: &Fleet) -> Option<OpResult> {
    let moved = super::stale::moved(
        super::stale::Seen {
            plan: &shown.plan,
            guards: &shown.guards,
            before: &shown.before,
        },
        super::stale::Seen {
            plan: &fresh.plan,
            guards: &fresh.guards,
            before: &fresh.before,
        },
        fleet,
    );
    (!moved.is_empty()).then(|| OpResult::Refused {
        reason: super::stale::reason(&moved),
        rule: Some(super::stale::STALE_PLAN.into()),
    })
}
