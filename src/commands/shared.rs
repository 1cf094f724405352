//! `opsdeck shared init --fleet F`: print what the fleet's `[shared]` needs on AWS (the DynamoDB
//! lock table with its key schema and TTL attribute, the CloudWatch Logs group with a retention)
//! and what of it exists; `--execute --confirm FLEET_NAME` creates what is missing, through the
//! pipeline (`read-only` rule, typed confirmation, audited). A re-run says what exists. Exit 0
//! when printed or created, 1 when refused or failed, 2 for bad usage.

use crate::cli::{Format, GlobalArgs, SharedOp};
use crate::fleet::SourceKind;
use crate::ops::lease::init::{SharedSetup, Step};
use crate::ops::plan::{Change, Plan};
use crate::ops::{Confirmation, Op, OpResult, Operator};
use crate::setup::{self, CliError};
use futures::FutureExt;
use std::time::Duration;

pub async fn run(g: &GlobalArgs, op: &SharedOp) -> Result<(), CliError> {
    let SharedOp::Init { run: args } = op;
    let (fleet, is_sim) = setup::load_fleet(g)?;
    if is_sim {
        return Err(CliError::Input(
            "shared init creates AWS resources: give an AWS fleet file (--fleet) without --sim"
                .into(),
        ));
    }
    let shared = fleet.shared.clone().ok_or_else(|| {
        CliError::Input(format!(
            "fleet `{}` has no [shared] table: add region, lock_table and audit_log_group first",
            fleet.name
        ))
    })?;
    if args.execute && args.confirm.is_none() {
        return Err(CliError::Input(
            "--execute needs --confirm FLEET_NAME (the fleet's name, typed to confirm)".into(),
        ));
    }
    let settings = setup::ops_settings(g, &fleet, SourceKind::Aws);
    let target = super::act::target(g, &fleet, false, None).await?;
    let operator = Operator::new(fleet.clone(), target, settings);
    let operator = setup::coordinate(g, &fleet, SourceKind::Aws, operator, Duration::ZERO).await?;
    let config = setup::shared_sdk_config(g, &fleet, &shared).await?;
    let init = SharedSetup::new(&config, &shared);
    let found = init.inspect().await.map_err(CliError::Runtime)?;
    if let Some(problem) = found.table_problem(&shared) {
        return Err(CliError::Runtime(problem));
    }
    let steps = found.steps(&shared);
    let plan = Plan {
        op: Op::SharedInit {
            region: shared.region.clone(),
        },
        fleet: fleet.name.clone(),
        source: SourceKind::Aws,
        region: shared.region.clone(),
        resource: format!(
            "dynamodb:{} logs:{}",
            shared.lock_table, shared.audit_log_group
        ),
        read_at: operator.clock().now(),
        changes: steps
            .iter()
            .filter(|s| !s.exists)
            .map(|s| Change {
                resource: s.what.clone(),
                field: "exists".into(),
                before: "no".into(),
                after: "yes".into(),
            })
            .collect(),
        calls: Vec::new(),
        notes: steps
            .iter()
            .filter(|s| s.exists)
            .map(|s| format!("exists: {}", s.what))
            .collect(),
        reversible: false,
        undo: None,
        after: Vec::new(),
        weighed: Vec::new(),
    };
    let nothing = plan.changes.is_empty();
    if !args.execute || nothing {
        let last = if nothing {
            "everything exists: nothing to do".to_string()
        } else {
            format!(
                "dry run: nothing created. To create it, add --execute --confirm {}",
                fleet.name
            )
        };
        return print(args.format, &steps, &last, None);
    }
    let confirm = Confirmation {
        typed: args.confirm.clone().unwrap_or_default(),
        ..Default::default()
    };
    let outcome = operator
        .run_setup(plan, &confirm, init.create(&found).boxed())
        .await
        .map_err(super::act::op_error)?;
    let last = format!(
        "RESULT    {} (audit id {}, {})",
        outcome.text(),
        outcome.id,
        operator.audit().path().display()
    );
    let printed = print(args.format, &steps, &last, Some(&outcome));
    match &outcome.result {
        OpResult::Applied | OpResult::NotYetVerified { .. } => printed,
        OpResult::Refused { reason, .. } => Err(CliError::Runtime(format!("refused: {reason}"))),
        OpResult::Failed { reason } => Err(CliError::Runtime(format!("failed: {reason}"))),
    }
}

fn print(
    format: Format,
    steps: &[Step],
    last: &str,
    outcome: Option<&crate::ops::Outcome>,
) -> Result<(), CliError> {
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&serde_json::json!({
            "steps": steps,
            "executed": outcome.is_some_and(|o| o.result.took_effect()),
            "outcome": outcome,
        }))
        .unwrap_or_default(),
        Format::Table => {
            let mut out = String::from("SHARED INIT\n");
            for s in steps {
                let mark = if s.exists { "exists " } else { "create " };
                out.push_str(&format!("  {mark} {}\n", s.what));
            }
            out.push_str(last);
            out
        }
    };
    super::output::println(&text)
}
