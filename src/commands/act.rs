//! `opsdeck act {scale|promote|drain|restore}`: print the plan, or run it with
//! `--execute --confirm REGION`. Exit 0 when the plan is printed or the change is applied (settled,
//! or accepted but not yet settled), 1 when it is refused or fails, 2 for bad usage.
//! `opsdeck act pending` lists the operations waiting for a second identity; `opsdeck act approve
//! ID --confirm REGION` approves one (exit 1 when refused).

use crate::cli::{ActOp, Format, GlobalArgs, RunArgs};
use crate::fleet::{Fleet, SourceKind};
use crate::ops::approval::Pending;
use crate::ops::aws::AwsTarget;
use crate::ops::guards::{self, GuardResult};
use crate::ops::plan::{self, Plan};
use crate::ops::sim::SimTarget;
use crate::ops::target::VerifyLimits;
use crate::ops::text;
use crate::ops::{Confirmation, Op, OpError, OpResult, Operator, Outcome, Prepared, Target};
use crate::setup::{self, CliError};
use crate::source::sim::SimFleet;
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The target for a headless command: a fresh simulated fleet at `--start` (with `--scenario`,
/// advanced by `after`), or AWS.
pub async fn target(
    g: &GlobalArgs,
    fleet: &Fleet,
    is_sim: bool,
    after: Option<f64>,
) -> Result<Arc<dyn Target>, CliError> {
    if !is_sim {
        if after.is_some() {
            return Err(CliError::Input(
                "--after applies to the simulated fleet only".into(),
            ));
        }
        setup::check_aws_credentials(g, fleet).await?;
        return Ok(Arc::new(
            AwsTarget::connect(
                fleet.clone(),
                g.profile.as_deref(),
                g.endpoint_url.as_deref(),
                Arc::new(setup::wall_clock()),
            )
            .await,
        ));
    }
    let start = setup::start_time(g)?;
    let mut model = SimFleet::new(fleet, g.seed, start);
    if let Some((region, s)) = setup::scenario(g, fleet)? {
        model.inject(&region, s).map_err(CliError::Input)?;
    }
    model.advance(after.unwrap_or(0.0));
    Ok(Arc::new(SimTarget::new(Arc::new(Mutex::new(model)), true)))
}

pub fn op_error(e: OpError) -> CliError {
    match e {
        OpError::Input(m) => CliError::Input(m),
        e => CliError::Runtime(e.to_string()),
    }
}

/// What `--format json` prints.
#[derive(Debug, Serialize)]
struct Report<'a> {
    plan: &'a Plan,
    guards: &'a [GuardResult],
    /// Rules that block the plan as it stands.
    blocked: Vec<&'a str>,
    executed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'a Outcome>,
    audit_log: String,
}

pub async fn run(g: &GlobalArgs, act: &ActOp) -> Result<(), CliError> {
    let (fleet, is_sim) = setup::load_fleet(g)?;
    let kind = if is_sim {
        SourceKind::Sim
    } else {
        SourceKind::Aws
    };
    let mut settings = setup::ops_settings(g, &fleet, kind);
    let (requested, args) = match act {
        ActOp::Undo { run } | ActOp::Pending { run } | ActOp::Approve { run, .. } => (None, run),
        _ => {
            let (op, args) = request(&fleet, act)?;
            (Some(op), args)
        }
    };
    check_usage(args)?;
    let target = target(g, &fleet, is_sim, args.after).await?;
    let poll = if is_sim {
        Duration::from_secs(5)
    } else {
        Duration::from_secs(2)
    };
    settings.verify = VerifyLimits {
        limit: Duration::from_secs(args.wait_s),
        poll,
    };
    // Operations need the fleet's [shared] resources: missing ones refuse with how to create them.
    if let Some(missing) = setup::shared_missing(g, &fleet, kind).await {
        return Err(CliError::Runtime(format!("refused: {missing}")));
    }
    let wait = Duration::try_from_secs_f64(args.lease_wait.unwrap_or(0.0)).unwrap_or_default();
    let operator = Operator::new(fleet.clone(), target, settings);
    let operator = setup::coordinate(g, &fleet, kind, operator, wait).await?;
    let mut leases = operator.leases().clone();
    leases.on_wait = Some(Arc::new(|m: &str| super::output::say(m)));
    let mut approvals = operator.approvals().clone();
    approvals.on_pending = Some(Arc::new(|p: &Pending| {
        super::output::say(&format!(
            "{} needs a second identity's approval: pending as {} until {}; waiting. Another operator approves it with `opsdeck act approve {} --confirm {}`",
            p.op.summary(),
            p.id,
            p.expires_at.format("%H:%M:%S UTC"),
            p.id,
            p.plan.region
        ))
    }));
    let operator = operator.with_leases(leases).with_approvals(approvals);
    match act {
        ActOp::Pending { .. } => return pending(&operator, args.format).await,
        ActOp::Approve { id, .. } => return approve(&operator, id, args).await,
        _ => {}
    }
    let (op, undo_of) = match requested {
        Some(op) => (op, None),
        None => {
            let (op, id) = last_undo(&operator).await?;
            (op, Some(id))
        }
    };
    let prepared = operator.prepare(&op).await.map_err(op_error)?;
    let audit_log = operator.audit().path().display().to_string();
    if !args.execute || prepared.plan.is_noop() {
        return print(args.format, &prepared, None, &audit_log, is_sim);
    }
    let confirmation = Confirmation {
        typed: args.confirm.clone().unwrap_or_default(),
        overrides: args.overrides.clone(),
        undo_of,
    };
    let outcome = operator
        .run(&prepared, &confirmation)
        .await
        .map_err(op_error)?;
    if let Some(note) = &outcome.abandoned {
        super::output::say(note);
    }
    // What happened decides the exit code, even when nobody reads the report any more.
    let printed = print(args.format, &prepared, Some(&outcome), &audit_log, is_sim);
    match &outcome.result {
        OpResult::Applied => printed,
        OpResult::NotYetVerified { reason } => {
            super::output::say(&format!(
                "{}: not yet verified: {reason}",
                outcome.plan.op.summary()
            ));
            printed
        }
        OpResult::Refused { reason, .. } => Err(CliError::Runtime(format!("refused: {reason}"))),
        OpResult::Failed { reason } => Err(CliError::Runtime(format!("failed: {reason}"))),
    }
}

/// `act pending`: the fleet's operations waiting for approval (table or JSON).
async fn pending(operator: &Operator, format: Format) -> Result<(), CliError> {
    let all = operator.pending().await.map_err(op_error)?;
    let now = operator.clock().now();
    let text = match format {
        Format::Json => {
            let rows: Vec<serde_json::Value> = all
                .iter()
                .map(|p| {
                    let mut v = serde_json::to_value(p).unwrap_or_default();
                    v["state"] = p.state(now).into();
                    v
                })
                .collect();
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        }
        Format::Table if all.is_empty() => format!(
            "no operation of fleet `{}` is pending approval",
            operator.fleet().name
        ),
        Format::Table => all
            .iter()
            .map(|p| crate::ops::approval::line(p, now))
            .collect::<Vec<_>>()
            .join("\n"),
    };
    super::output::println(&text)
}

/// `act approve ID --confirm REGION`: approve another identity's pending operation.
async fn approve(operator: &Operator, id: &str, args: &RunArgs) -> Result<(), CliError> {
    if !operator.settings().permission.allows() {
        return Err(CliError::Runtime(format!(
            "approving is acting: {}",
            match operator.settings().permission {
                guards::Permission::ReadOnly => "the fleet is read-only",
                _ => "actions are off (enable them with --allow-actions or [guards] allow_actions)",
            }
        )));
    }
    let typed = args.confirm.as_deref().ok_or_else(|| {
        CliError::Input("approve needs --confirm REGION (the operation's region, typed)".into())
    })?;
    match operator.approve(id, typed).await.map_err(op_error)? {
        Ok(p) => super::output::println(&format!(
            "approved {} ({}) requested by {}: the requester's opsdeck now plans it afresh and runs it under the fleet's lease",
            p.op.summary(),
            p.id,
            p.requester
        )),
        Err(OpResult::Refused { reason, .. }) => Err(CliError::Runtime(format!("refused: {reason}"))),
        Err(other) => Err(CliError::Runtime(other.to_string())),
    }
}

/// The undo of the last reversible operation on this fleet and source in the audit trail (the
/// shared one too, with `[shared]`), and that operation's id.
async fn last_undo(operator: &Operator) -> Result<(Op, String), CliError> {
    let (audit, fleet, source) = (operator.audit(), operator.fleet(), operator.kind());
    let last = operator
        .trail()
        .last_reversible_of(&fleet.name, source, operator.clock().now())
        .await
        .map_err(CliError::Runtime)?;
    let last = last.ok_or_else(|| {
        CliError::Input(format!(
            "nothing to undo: {} holds no reversible operation on fleet `{}` ({source}) that is not undone yet",
            audit.path().display(),
            fleet.name
        ))
    })?;
    let op = last
        .plan
        .undo
        .clone()
        .ok_or_else(|| CliError::Input("the last operation has no undo".into()))?;
    super::output::say(&format!(
        "undoing {} (audit id {})",
        last.op.summary(),
        last.id
    ));
    Ok((op, last.id.clone()))
}

fn request<'a>(fleet: &Fleet, act: &'a ActOp) -> Result<(Op, &'a RunArgs), CliError> {
    Ok(match act {
        ActOp::Scale {
            region,
            nodegroup: Some(name),
            desired,
            min,
            max,
            run,
            ..
        } => {
            let (cluster, nodegroup) =
                plan::nodegroup::resolve(fleet, region, name).map_err(op_error)?;
            (
                Op::ScaleNodegroup {
                    region: region.clone(),
                    cluster,
                    nodegroup,
                    desired: *desired,
                    min: *min,
                    max: *max,
                },
                run,
            )
        }
        ActOp::Scale {
            region,
            service,
            desired,
            run,
            ..
        } => {
            let service = service.as_deref().unwrap_or_default();
            let (cluster, service) =
                plan::resolve_service(fleet, region, service).map_err(op_error)?;
            (
                Op::Scale {
                    region: region.clone(),
                    cluster,
                    service,
                    desired: *desired,
                    bounds: None,
                },
                run,
            )
        }
        ActOp::Promote { region, run } => (
            Op::Promote {
                region: region.clone(),
            },
            run,
        ),
        ActOp::Drain { region, run } => (
            Op::Drain {
                region: region.clone(),
            },
            run,
        ),
        ActOp::Restore {
            region,
            weight,
            run,
        } => (
            Op::Restore {
                region: region.clone(),
                weight: *weight,
            },
            run,
        ),
        ActOp::Undo { .. } | ActOp::Pending { .. } | ActOp::Approve { .. } => {
            return Err(CliError::Input("undo is planned from the audit log".into()))
        }
    })
}

/// Flags that cannot work together are bad usage, before anything is read.
fn check_usage(args: &RunArgs) -> Result<(), CliError> {
    if args.execute && args.confirm.is_none() {
        return Err(CliError::Input(
            "--execute needs --confirm REGION (the region's name, typed to confirm)".into(),
        ));
    }
    for rule in &args.overrides {
        match guards::is_overridable(rule) {
            None => return Err(CliError::Input(format!("--override: no rule `{rule}`"))),
            Some(false) => {
                return Err(CliError::Input(format!(
                    "--override: rule `{rule}` cannot be overridden"
                )))
            }
            Some(true) if !args.confirm_overrides.contains(rule) => {
                return Err(CliError::Input(format!(
                    "--override {rule} needs --confirm-override {rule}"
                )))
            }
            Some(true) => {}
        }
    }
    if let Some(extra) = args
        .confirm_overrides
        .iter()
        .find(|r| !args.overrides.contains(r))
    {
        return Err(CliError::Input(format!(
            "--confirm-override {extra} without --override {extra}"
        )));
    }
    Ok(())
}

fn print(
    format: Format,
    p: &Prepared,
    outcome: Option<&Outcome>,
    audit_log: &str,
    is_sim: bool,
) -> Result<(), CliError> {
    let text = match format {
        Format::Json => {
            let guards = outcome.map(|o| o.guards.as_slice()).unwrap_or(&p.guards);
            let report = Report {
                plan: outcome.map(|o| &o.plan).unwrap_or(&p.plan),
                guards,
                blocked: guards
                    .iter()
                    .filter(|g| g.blocks())
                    .map(|g| g.rule.as_str())
                    .collect(),
                executed: outcome.is_some_and(|o| {
                    o.result.took_effect() || matches!(o.result, OpResult::Failed { .. })
                }),
                outcome,
                audit_log: audit_log.into(),
            };
            serde_json::to_string_pretty(&report).unwrap_or_default()
        }
        Format::Table => {
            let plan = text::plan(
                &p.plan,
                outcome.map(|o| o.guards.as_slice()).unwrap_or(&p.guards),
                is_sim,
            );
            let last = match outcome {
                Some(o) => format!("RESULT    {} (audit id {}, {audit_log})", o.text(), o.id),
                None if p.plan.is_noop() => "nothing to do".into(),
                None => format!(
                    "dry run: nothing changed. To run it, add --execute --confirm {}",
                    p.plan.region
                ),
            };
            format!("{plan}{last}")
        }
    };
    super::output::println(&text)
}
