//! `opsdeck drill run RUNBOOK`: simulation (the default) on the simulated fleet and its virtual
//! clock; real against AWS (without `--execute` every step's plan is printed and nothing
//! changes); rollback of the last real run of the runbook. Exit 0 when the verdict is pass, 1 for
//! fail, aborted or interrupted, 2 for a bad runbook or bad usage.

use crate::cli::{DrillCommand, DrillMode, DrillRunArgs, Format, GlobalArgs};
use crate::drill::engine::{self, Ask, Done, Drill, Manual, Mode, NonInteractive, World};
use crate::drill::report::{self, Report};
use crate::drill::runbook::{self, Action, Runbook, Step};
use crate::drill::timeline::{self, EventKind, Timeline, Verdict};
use crate::fleet::{Fleet, SourceKind};
use crate::ops::audit::{Decision, Phase};
use crate::ops::sim::SimTarget;
use crate::ops::target::VerifyLimits;
use crate::ops::{Operator, Target};
use crate::setup::{self, CliError};
use crate::source::sim::SimFleet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub async fn run(g: &GlobalArgs, cmd: &DrillCommand) -> Result<(), CliError> {
    match cmd {
        DrillCommand::Run(args) => run_drill(g, args).await,
    }
}

/// The fleet (`--fleet`, else the runbook's `fleet = "..."`) and the checked runbook.
pub fn load(g: &GlobalArgs, path: &Path) -> Result<(Fleet, Runbook), CliError> {
    let bad = |e: runbook::RunbookError| CliError::Input(e.to_string());
    let fleet_path = match &g.fleet {
        Some(f) => f.clone(),
        None => runbook::fleet_path(path).map_err(bad)?.ok_or_else(|| {
            CliError::Input(format!(
                "{}: no fleet: give --fleet FILE or `fleet = \"FILE\"` in the runbook",
                path.display()
            ))
        })?,
    };
    let fleet = Fleet::load(&fleet_path).map_err(|e| CliError::Input(e.to_string()))?;
    let runbook = runbook::load(path, &fleet).map_err(bad)?;
    Ok((fleet, runbook))
}

/// `--from-aws`: the fleet file's simulation settings replaced by what AWS shows now — each
/// region's running tasks and autoscaling bounds, its record's weight, and its own users' demand
/// scaled so the simulated daily curve serves what the region serves now — and the start is now.
async fn from_aws(
    g: &GlobalArgs,
    fleet: &Fleet,
) -> Result<(Fleet, chrono::DateTime<chrono::Utc>), CliError> {
    use crate::source::sim::{daily_curve, guess_utc_offset, local_hour};
    let target = super::act::target(g, fleet, false, None).await?;
    let view = target.read().await.map_err(CliError::Runtime)?;
    let now = target.clock().now();
    let start = chrono::DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
    let mut fleet = fleet.clone();
    for spec in &mut fleet.regions {
        let Some(r) = view.region(&spec.name) else {
            continue;
        };
        if let Some(s) = r.services.first() {
            spec.sim.tasks = Some(u32::try_from(s.running.max(0)).unwrap_or(0));
            if let Some(b) = s.bounds {
                spec.sim.min_tasks = u32::try_from(b.min).ok();
                spec.sim.max_tasks = u32::try_from(b.max).ok();
            }
        }
        if let Some(w) = r.record.as_ref().and_then(|x| x.weight) {
            spec.sim.weight = Some(w);
        }
        if let Some(rps) = r.served_rps.filter(|v| v.is_finite() && *v >= 0.0) {
            let offset = spec
                .sim
                .utc_offset_h
                .unwrap_or_else(|| guess_utc_offset(&spec.name));
            spec.sim.peak_rps = Some(rps / daily_curve(local_hour(start, offset)).max(0.05));
        }
    }
    Ok((fleet, start))
}

fn check_usage(args: &DrillRunArgs, runbook: &Runbook) -> Result<(), CliError> {
    if args.from_aws && args.mode != DrillMode::Simulation {
        return Err(CliError::Input(
            "--from-aws applies to --mode simulation (real mode reads AWS anyway)".into(),
        ));
    }
    if args.execute && args.mode == DrillMode::Simulation {
        return Err(CliError::Input(
            "--execute applies to --mode real and rollback (a simulation needs none)".into(),
        ));
    }
    if args.execute {
        match &args.confirm {
            None => {
                return Err(CliError::Input(format!(
                    "--execute needs --confirm NAME (the runbook's name, `{}`, typed to confirm)",
                    runbook.name
                )))
            }
            Some(c) if *c != runbook.name => {
                return Err(CliError::Input(format!(
                    "--confirm `{c}` does not match the runbook's name `{}`: nothing ran",
                    runbook.name
                )))
            }
            Some(_) => {}
        }
    }
    if let Some(r) = &args.report {
        if report_kind(r).is_none() {
            return Err(CliError::Input(format!(
                "--report {}: the extension must be .md, .html or .json",
                r.display()
            )));
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ReportKind {
    Markdown,
    Html,
    Json,
}

fn report_kind(p: &Path) -> Option<ReportKind> {
    match p.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "md" | "markdown" => Some(ReportKind::Markdown),
        "html" | "htm" => Some(ReportKind::Html),
        "json" => Some(ReportKind::Json),
        _ => None,
    }
}

/// The pipeline for a drill: the drill watches changes settle, so the pipeline only records
/// whether they were accepted (verification limit zero).
pub fn drill_settings(g: &GlobalArgs, fleet: &Fleet, kind: SourceKind) -> crate::ops::Settings {
    let mut settings = setup::ops_settings(g, fleet, kind);
    settings.verify = VerifyLimits {
        limit: Duration::ZERO,
        poll: Duration::from_secs(1),
    };
    settings
}

async fn operator_for(
    g: &GlobalArgs,
    fleet: &Fleet,
    target: Arc<dyn Target>,
) -> Result<Operator, CliError> {
    let kind = target.kind();
    let operator = Operator::new(fleet.clone(), target, drill_settings(g, fleet, kind));
    setup::coordinate(g, fleet, kind, operator, Duration::ZERO).await
}

/// Real mode's metrics: one GetMetricData call per region (as the console makes), in parallel.
pub async fn cloudwatch(g: &GlobalArgs, fleet: &Fleet) -> Result<engine::MetricsReader, CliError> {
    let config =
        crate::source::aws::clients::load_config(&setup::aws_options(g), fleet.refresh.timeout_s)
            .await
            .map_err(setup::aws_error)?;
    let regions: Vec<(crate::fleet::RegionSpec, aws_sdk_cloudwatch::Client)> = fleet
        .regions
        .iter()
        .map(|r| {
            let c = config
                .to_builder()
                .region(aws_config::Region::new(r.name.clone()))
                .build();
            (r.clone(), aws_sdk_cloudwatch::Client::new(&c))
        })
        .collect();
    let regions = Arc::new(regions);
    let cfg = fleet.metrics.clone();
    Ok(Box::new(move || {
        let (regions, cfg) = (regions.clone(), cfg.clone());
        Box::pin(async move {
            let now = chrono::Utc::now();
            let reads = regions.iter().map(|(spec, client)| {
                let cfg = cfg.clone();
                async move {
                    let got =
                        crate::source::aws::metrics::fetch(client, spec, &cfg, true, now).await;
                    (spec.name.clone(), got)
                }
            });
            futures::future::join_all(reads)
                .await
                .into_iter()
                .filter_map(|(name, got)| match got {
                    Ok(m) => Some((name, m.values)),
                    Err(e) => {
                        tracing::warn!("drill: metrics of {name}: {e}");
                        None
                    }
                })
                .collect()
        })
    }))
}

/// Set when SIGINT (Ctrl-C) arrived during a drill (see `execute`): a question waiting on the
/// terminal gives up, the drill ends `interrupted`.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// One line from the terminal, read on its own thread so that Ctrl-C is heard while it waits;
/// `None` when interrupted, `Some("")` at the end of input.
fn read_answer() -> Option<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let got = std::io::stdin().lock().read_line(&mut line).map(|_| line);
        let _ = tx.send(got.unwrap_or_default());
    });
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(line) => return Some(line),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if INTERRUPTED.load(Ordering::SeqCst) {
                    return None;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Some(String::new()),
        }
    }
}

/// Asks on the terminal: done, skip or abort.
struct Terminal;

impl Ask for Terminal {
    fn manual(&mut self, step: &Step, text: &str) -> Manual {
        super::output::say(&format!(
            "MANUAL STEP `{}`: {text}\n  [d]one / [s]kip / [a]bort the drill? ",
            step.name
        ));
        let _ = std::io::stderr().flush();
        match read_answer() {
            None => Manual::Interrupted,
            Some(line) if line.is_empty() => {
                Manual::Skipped("skipped: no answer on the terminal".into())
            }
            Some(line) => match line.trim().to_ascii_lowercase().as_str() {
                "d" | "done" | "y" | "yes" => Manual::Done,
                "a" | "abort" => Manual::Abort,
                other => Manual::Skipped(format!("skipped by the operator (`{other}`)")),
            },
        }
    }

    fn rollback(&mut self, lines: &[String]) -> bool {
        let mut text = String::from("THE DRILL STOPPED. ROLLBACK (newest first):\n");
        for l in lines {
            text.push_str(&format!("  {l}\n"));
        }
        text.push_str(
            "  run this rollback now? [y]es / [n]o (recorded as planned; undo later with --mode rollback) ",
        );
        super::output::say(&text);
        let _ = std::io::stderr().flush();
        read_answer().is_some_and(|l| matches!(l.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
    }
}

async fn run_drill(g: &GlobalArgs, args: &DrillRunArgs) -> Result<(), CliError> {
    let (fleet, runbook) = load(g, &args.runbook)?;
    check_usage(args, &runbook)?;
    match args.mode {
        DrillMode::Simulation => {
            let (fleet, start) = if args.from_aws {
                from_aws(g, &fleet).await?
            } else {
                (fleet, setup::start_time(g)?)
            };
            let model = Arc::new(Mutex::new(SimFleet::new(&fleet, g.seed, start)));
            let target: Arc<dyn Target> = Arc::new(SimTarget::new(model.clone(), true));
            // A rehearsal writes its own audit log beside its timeline (unless --audit-log says
            // otherwise): its virtual clock overlaps other rehearsals', whose records must not
            // trip this one's cooldowns.
            let run_id = timeline::new_run_id(chrono::Utc::now());
            let mut g = g.clone();
            if g.audit_log.is_none() {
                g.audit_log = Some(
                    timeline::dir(&crate::logging::state_dir())
                        .join(format!("{run_id}.audit.jsonl")),
                );
            }
            let operator = operator_for(&g, &fleet, target.clone()).await?;
            execute(
                args,
                &runbook,
                &operator,
                target,
                World::Sim(model),
                Mode::Simulation,
                run_id,
                None,
            )
            .await
        }
        DrillMode::Real => {
            let target = super::act::target(g, &fleet, false, None).await?;
            let operator = operator_for(g, &fleet, target.clone()).await?;
            if !args.execute {
                return dry_run(args, &runbook, &operator).await;
            }
            let run_id = timeline::new_run_id(chrono::Utc::now());
            let metrics = Some(cloudwatch(g, &fleet).await?);
            execute(
                args,
                &runbook,
                &operator,
                target,
                World::Real,
                Mode::Real,
                run_id,
                metrics,
            )
            .await
        }
        DrillMode::Rollback => {
            let target = super::act::target(g, &fleet, false, None).await?;
            let operator = operator_for(g, &fleet, target.clone()).await?;
            rollback(args, &runbook, &operator).await
        }
    }
}

/// Run the drill to its verdict (Ctrl-C: interrupted), print and write the report.
async fn execute(
    args: &DrillRunArgs,
    runbook: &Runbook,
    operator: &Operator,
    target: Arc<dyn Target>,
    world: World,
    mode: Mode,
    run_id: String,
    metrics: Option<engine::MetricsReader>,
) -> Result<(), CliError> {
    let dir = timeline::dir(&crate::logging::state_dir());
    let tl = Timeline::create(&dir, &run_id).map_err(CliError::Runtime)?;
    let ask: Box<dyn Ask> = if args.non_interactive || !std::io::stdin().is_terminal() {
        Box::new(NonInteractive)
    } else {
        Box::new(Terminal)
    };
    let mut drill = Drill::new(runbook, operator, target, world, mode, run_id, tl, ask);
    drill.metrics = metrics;
    // SIGINT is taken before the drill starts (a drill that does not yield, or waits on the
    // terminal, would otherwise die of it unrecorded) and heard on another thread.
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(|e| CliError::Runtime(format!("SIGINT: {e}")))?;
    let (interrupted_tx, interrupted) = tokio::sync::oneshot::channel::<()>();
    let listener = tokio::spawn(async move {
        if sigint.recv().await.is_some() {
            INTERRUPTED.store(true, Ordering::SeqCst);
            let _ = interrupted_tx.send(());
        }
    });
    let outcome = tokio::select! {
        v = drill.run() => v,
        _ = interrupted => Err("interrupted (Ctrl-C)".to_string()),
    };
    listener.abort();
    let verdict = match outcome {
        Ok(v) => v,
        Err(why) => {
            operator.set_drill_step(None);
            let verdict = Verdict::Interrupted;
            let _ = drill.timeline.push(
                operator.clock().now(),
                EventKind::DrillEnd {
                    verdict,
                    reasons: vec![format!("the drill stopped: {why}")],
                },
            );
            verdict
        }
    };
    let report = report::build(
        &drill.timeline.events,
        &drill.timeline.path().display().to_string(),
    );
    finish(args, &report, &drill.timeline.events, verdict)
}

/// Print the report (table or JSON), write `--report`, and map the verdict to the exit code.
fn finish(
    args: &DrillRunArgs,
    report: &Report,
    events: &[timeline::Event],
    verdict: Verdict,
) -> Result<(), CliError> {
    if let Some(path) = &args.report {
        write_report(path, report, events)?;
    }
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(report).unwrap_or_default(),
        Format::Table => report::table(report),
    };
    super::output::println(&text)?;
    match verdict {
        Verdict::Pass => Ok(()),
        v => Err(CliError::Runtime(format!(
            "drill `{}`: {}{}",
            report.drill,
            v.as_str(),
            report
                .reasons
                .first()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ))),
    }
}

fn write_report(
    path: &PathBuf,
    report: &Report,
    events: &[timeline::Event],
) -> Result<(), CliError> {
    let text = match report_kind(path) {
        Some(ReportKind::Markdown) => report::markdown(report),
        Some(ReportKind::Json) => serde_json::to_string_pretty(report).unwrap_or_default(),
        Some(ReportKind::Html) => crate::drill::report::html(report, events),
        None => unreachable!("checked in check_usage"),
    };
    std::fs::write(path, text)
        .map_err(|e| CliError::Runtime(format!("--report {}: {e}", path.display())))
}

/// Real mode without --execute: every step and the plan of every act step; nothing changes.
async fn dry_run(
    args: &DrillRunArgs,
    runbook: &Runbook,
    operator: &Operator,
) -> Result<(), CliError> {
    let is_sim = operator.kind() == SourceKind::Sim;
    let mut out = format!(
        "DRILL `{}` (real mode, dry run: nothing changes)\nOBJECTIVES RTO {:.0} s, RPO {:.0} s\n",
        runbook.name, runbook.objectives.rto_s, runbook.objectives.rpo_s
    );
    for (rule_step, rule) in runbook.overrides() {
        out.push_str(&format!(
            "OVERRIDE  step `{rule_step}` overrides rule `{rule}` (confirmed with the drill)\n"
        ));
    }
    for (n, group) in runbook.groups().iter().enumerate() {
        for (k, &i) in group.iter().enumerate() {
            let step = &runbook.steps[i];
            let together = if k > 0 {
                " (starts together with the step above)"
            } else {
                ""
            };
            out.push_str(&format!(
                "\nSTEP {} `{}` [{}]{together}\n  {}\n",
                n + 1,
                step.name,
                step.action.kind(),
                step.action.summary()
            ));
            match &step.action {
                Action::Act(op) => match operator.prepare(op).await {
                    Ok(p) => {
                        for line in crate::ops::text::plan(&p.plan, &p.guards, is_sim).lines() {
                            out.push_str(&format!("  {line}\n"));
                        }
                    }
                    Err(e) => out.push_str(&format!("  cannot plan: {e}\n")),
                },
                Action::Inject { .. } => {
                    out.push_str("  real mode: marks the failure time, injects nothing\n")
                }
                _ => {}
            }
        }
    }
    out.push_str(&format!(
        "\ndry run: nothing changed. To run it: --mode real --execute --confirm '{}'",
        runbook.name
    ));
    let _ = args;
    super::output::println(&crate::fleet::text::clean_lines(&out))
}

/// What the run `run_id` executed, oldest first, from the audit log: every operation it asked
/// to execute (also one whose process died before it ended: the change may have applied), less
/// those already undone.
fn executed_by(operator: &Operator, run_id: &str) -> Result<Vec<Done>, CliError> {
    let scan = |needle: &str| -> Result<Vec<crate::ops::AuditRecord>, CliError> {
        let needle = serde_json::to_string(needle).unwrap_or_default();
        let mut records = Vec::new();
        crate::ops::audit::file::scan_back_holding(
            operator.audit().path(),
            256 * 1024 * 1024,
            Some(needle.as_bytes()),
            |r| {
                records.push(r);
                true
            },
        )
        .map_err(CliError::Runtime)?;
        records.reverse();
        Ok(records)
    };
    let mut done = Vec::new();
    let records = scan(run_id)?;
    let ran = records
        .iter()
        .filter(|r| r.phase == Phase::Requested && r.decision == Decision::Execute)
        .filter(|r| r.undo_of.is_none())
        .filter(|r| r.drill.as_ref().is_some_and(|d| d.run_id == run_id));
    for r in ran {
        // Undone already: an executed record (of a later rollback) names it in `undo_of`.
        let undone = scan(&r.id)?
            .iter()
            .any(|u| u.decision == Decision::Execute && u.undo_of.as_deref() == Some(&r.id));
        if undone {
            continue;
        }
        done.push(Done {
            step: r.drill.as_ref().map(|d| d.step.clone()).unwrap_or_default(),
            audit_id: r.id.clone(),
            op: r.op.clone(),
            undo: r.plan.reversible.then(|| r.plan.undo.clone()).flatten(),
        });
    }
    Ok(done)
}

/// Rollback mode: undo what the last real run of this runbook executed, newest first.
async fn rollback(
    args: &DrillRunArgs,
    runbook: &Runbook,
    operator: &Operator,
) -> Result<(), CliError> {
    let dir = timeline::dir(&crate::logging::state_dir());
    let now = operator.clock().now();
    let last =
        timeline::last_run(&dir, &runbook.name, Mode::Real.as_str(), now).ok_or_else(|| {
            CliError::Input(format!(
                "no real run of drill `{}` in {}: nothing to roll back",
                runbook.name,
                dir.display()
            ))
        })?;
    let (_, last_id, _, pid) = last.start().unwrap_or_default();
    let last_id = last_id.to_string();
    if !last.ended() && timeline::may_be_running(pid) {
        return Err(CliError::Input(format!(
            "the last real run of `{}` ({last_id}, pid {pid}) is still running: stop it first",
            runbook.name
        )));
    }
    if let Err(e) = operator.close_interrupted() {
        tracing::warn!("audit: {e}");
    }
    let done = executed_by(operator, &last_id)?;
    let run_id = timeline::new_run_id(chrono::Utc::now());
    let mut tl = if args.execute {
        Timeline::create(&dir, &run_id).map_err(CliError::Runtime)?
    } else {
        Timeline::in_memory()
    };
    let start = |tl: &mut Timeline| {
        tl.push(
            operator.clock().now(),
            EventKind::DrillStart {
                drill: runbook.name.clone(),
                run_id: run_id.clone(),
                mode: Mode::Rollback.as_str().into(),
                fleet: operator.fleet().name.clone(),
                source: operator.kind().to_string(),
                runbook: runbook.path.display().to_string(),
                pid: std::process::id(),
                objectives: runbook.objectives,
                predicted: Default::default(),
                predicted_for: Some(last_id.clone()),
            },
        )
    };
    start(&mut tl).map_err(CliError::Runtime)?;
    engine::rollback(operator, &run_id, &mut tl, &done, args.execute)
        .await
        .map_err(CliError::Runtime)?;
    let failed: Vec<String> = tl
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Rollback { step, result, .. }
                if result == "failed" || result == "refused" =>
            {
                Some(format!("undo of `{step}` {result}"))
            }
            _ => None,
        })
        .collect();
    let verdict = if failed.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    let mut reasons = failed;
    reasons.insert(
        0,
        format!(
            "rolls back run {last_id} ({} operation(s) it executed){}",
            done.len(),
            if args.execute {
                ""
            } else {
                "; dry run: nothing changed. To run it: --execute --confirm NAME"
            }
        ),
    );
    tl.push(
        operator.clock().now(),
        EventKind::DrillEnd { verdict, reasons },
    )
    .map_err(CliError::Runtime)?;
    let report = report::build(&tl.events, &tl.path().display().to_string());
    finish(args, &report, &tl.events, verdict)
}
