//! Running a drill: the steady state checked before, the steps in order (a `parallel_with` group
//! started together), every `act` step through the one pipeline with the run id and step name in
//! its audit records, the fleet watched after every step and every tick of the clock — alerts,
//! stop conditions, the recovery — and the steady state checked after. Everything lands in the
//! timeline as it happens; the report is computed from the timeline alone.
//!
//! The drill, not the pipeline, watches an accepted change settle: act steps run with the
//! pipeline's verification limit at zero (their `ended` record says accepted, and settled when it
//! already was), so that a group's changes are accepted at the same moment and stop conditions are
//! judged on every tick while they settle. The step's `settled_at` in the timeline is when the
//! drill saw the fleet show the change (`ops::target::check_settled`).

use super::observe::{self, Alerts, Fired, Latest, Observation, StopWatch};
use super::runbook::{Action, Runbook, Step};
use super::timeline::{EventKind, Predicted, Timeline, Verdict};
use crate::fleet::Replication;
use crate::ops::audit::DrillTag;
use crate::ops::target::check_settled;
use crate::ops::{Confirmation, Op, OpResult, Operator, Plan, Target};
use crate::source::sim::SimFleet;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Simulation,
    Real,
    Rollback,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Simulation => "simulation",
            Mode::Real => "real",
            Mode::Rollback => "rollback",
        }
    }
}

/// Where the drill runs: the simulated fleet (the drill moves its virtual clock), the console's
/// live simulated fleet (its source moves the virtual clock; the drill waits for it), or AWS (the
/// wall clock moves by itself).
pub enum World {
    Sim(Arc<Mutex<SimFleet>>),
    Live(Arc<Mutex<SimFleet>>),
    Real,
}

impl World {
    fn model(&self) -> Option<&Arc<Mutex<SimFleet>>> {
        match self {
            World::Sim(m) | World::Live(m) => Some(m),
            World::Real => None,
        }
    }
}

/// The answer to a manual step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manual {
    Done,
    Skipped(String),
    Abort,
    /// The operator interrupted the whole run (Ctrl-C): the drill ends `interrupted`, nothing is
    /// rolled back (`--mode rollback` undoes what it executed).
    Interrupted,
}

/// Who answers manual steps: the terminal, the console, or nobody (`--non-interactive`).
pub trait Ask: Send + Sync {
    fn manual(&mut self, step: &Step, text: &str) -> Manual;

    /// Real mode, the drill stopped: run this rollback (newest first)? Asked once. By default
    /// yes: `--execute --confirm NAME` consented to the drill and its rollback.
    fn rollback(&mut self, _lines: &[String]) -> bool {
        true
    }
}

/// Records every manual step as skipped.
pub struct NonInteractive;

impl Ask for NonInteractive {
    fn manual(&mut self, _: &Step, _: &str) -> Manual {
        Manual::Skipped("skipped: --non-interactive".into())
    }
}

/// What a drill paced by the console waits for (see [`Gate`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Hold {
    /// The next steps (a group: they start together), with the plan the pipeline shows for each
    /// act step among them; [`Answer::Go`] starts them.
    Next {
        steps: Vec<String>,
        plans: Vec<(String, String)>,
    },
    /// An act step's plan and guards as the pipeline made them now: the typed confirmation (the
    /// region's name, [`Answer::Typed`]) runs it. `moved`: why it is shown again.
    Confirm {
        step: String,
        plan: String,
        region: String,
        moved: Option<String>,
    },
    /// A manual step: tick it ([`Answer::Manual`]).
    Manual { step: String, text: String },
    /// Real mode, the drill stopped: the rollback it will run, confirmed once ([`Answer::Go`]); any
    /// other answer records it as planned only.
    Rollback { lines: Vec<String> },
}

/// The operator's answer to a [`Hold`].
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Go,
    Typed(String),
    Manual(Manual),
    /// Stop the drill; what it changed is rolled back.
    Abort,
}

/// The console's hold on a drill: the drill runs one step (or group) at a time, each when the
/// operator says so, and every act step only with its typed confirmation. While it waits, the
/// drill keeps watching the fleet (stop conditions, the recovery).
pub struct Gate {
    pub holds: tokio::sync::mpsc::UnboundedSender<Hold>,
    pub answers: tokio::sync::mpsc::UnboundedReceiver<Answer>,
}

/// How many times a console-paced act step's plan is shown again because the fleet moved.
const REPLANS: usize = 3;

/// Why the steps stopped before the end.
#[derive(Debug, Clone, PartialEq)]
enum Stop {
    Aborted(Fired),
    Failed(String),
    ByOperator,
}

/// A change a step made that the rollback may undo.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    pub step: String,
    pub audit_id: String,
    pub op: Op,
    pub undo: Option<Op>,
}

/// An accepted change the drill watches until it settles.
struct Settling {
    step: usize,
    plan: Plan,
    audit_id: String,
    accepted_at: Option<DateTime<Utc>>,
    deadline: DateTime<Utc>,
}

/// A wait step in progress.
struct Waiting {
    step: usize,
    until_steady: bool,
    deadline: DateTime<Utc>,
}

/// Reads every region's metrics now (real mode: CloudWatch), by region name.
pub type MetricsReader = Box<
    dyn Fn() -> futures::future::BoxFuture<'static, BTreeMap<String, crate::fleet::MetricValues>>
        + Send
        + Sync,
>;

/// Real mode reads metrics at most this often (CloudWatch's period is a minute).
pub const METRICS_EVERY_S: i64 = 60;

pub struct Drill<'a> {
    pub runbook: &'a Runbook,
    pub operator: &'a Operator,
    pub target: Arc<dyn Target>,
    pub world: World,
    pub mode: Mode,
    pub run_id: String,
    pub timeline: Timeline,
    pub ask: Box<dyn Ask + 'a>,
    /// How far the clock moves between two looks at the fleet.
    pub tick: Duration,
    latest: Latest,
    alerts: Alerts,
    stops: StopWatch,
    failure_at: Option<DateTime<Utc>>,
    broken_since_failure: bool,
    recovered: bool,
    pub done: Vec<Done>,
    /// Real mode: where metrics come from (none: only what a fresh read of the fleet shows).
    pub metrics: Option<MetricsReader>,
    metrics_read: Option<(DateTime<Utc>, BTreeMap<String, crate::fleet::MetricValues>)>,
    /// Paced by the console (none: the steps run one after the other).
    pub gate: Option<Gate>,
}

/// What the text for a one-way step says a person must do.
pub fn one_way_text(op: &Op) -> Option<String> {
    match op {
        Op::Promote { region } => Some(format!(
            "the replica in {region} is now a standalone primary and cannot become a replica again: \
             to go back, create a new read replica of the primary you keep in the other region, \
             point the application's writer at it, and retire the instance you do not keep"
        )),
        _ => None,
    }
}

impl<'a> Drill<'a> {
    pub fn new(
        runbook: &'a Runbook,
        operator: &'a Operator,
        target: Arc<dyn Target>,
        world: World,
        mode: Mode,
        run_id: String,
        timeline: Timeline,
        ask: Box<dyn Ask + 'a>,
    ) -> Self {
        Drill {
            runbook,
            operator,
            target,
            world,
            mode,
            run_id,
            timeline,
            ask,
            tick: Duration::from_secs(5),
            latest: Latest::default(),
            alerts: Alerts::default(),
            stops: StopWatch::default(),
            failure_at: None,
            broken_since_failure: false,
            recovered: false,
            done: Vec::new(),
            metrics: None,
            metrics_read: None,
            gate: None,
        }
    }

    /// Wait for the operator's answer to `hold`, watching the fleet meanwhile. `Err(Stop)`: a
    /// stop condition fired first. An error: the console went away (the drill is interrupted).
    async fn hold(&mut self, hold: Hold) -> Result<Result<Answer, Stop>, String> {
        let gone = || "the console closed the drill before it ended".to_string();
        let Some(gate) = self.gate.as_mut() else {
            return Ok(Ok(Answer::Go));
        };
        gate.holds.send(hold).map_err(|_| gone())?;
        loop {
            // The simulation the drill drives stands still while the operator thinks.
            let watch = !matches!(self.world, World::Sim(_));
            let clock = self.operator.clock();
            let gate = self.gate.as_mut().ok_or_else(gone)?;
            let answer = tokio::select! {
                a = gate.answers.recv() => Some(a.ok_or_else(gone)?),
                _ = clock.sleep(self.tick), if watch => None,
            };
            if let Some(a) = answer {
                return Ok(Ok(a));
            }
            let obs = self.observe().await?;
            if let Some(stop) = self.watch(&obs)? {
                return Ok(Err(stop));
            }
        }
    }

    /// The plan of an act step as the pipeline shows it.
    async fn plan_text(&self, op: &Op) -> String {
        let is_sim = self.operator.kind() == crate::fleet::SourceKind::Sim;
        match self.operator.prepare(op).await {
            Ok(p) => crate::ops::text::plan(&p.plan, &p.guards, is_sim),
            Err(e) => format!("cannot plan: {e}"),
        }
    }

    /// What the rollback would do, newest first, one line each.
    pub fn rollback_lines(&self) -> Vec<String> {
        self.done
            .iter()
            .rev()
            .map(|d| match &d.undo {
                Some(u) => format!("undo `{}`: {}", d.step, u.summary()),
                None => format!("`{}` is one-way: {}", d.step, d.op.summary()),
            })
            .collect()
    }

    fn now(&self) -> DateTime<Utc> {
        self.operator.clock().now()
    }

    fn push(&mut self, kind: EventKind) -> Result<(), String> {
        let at = self.now();
        self.timeline.push(at, kind)
    }

    /// The region a failure is predicted for: the first outage injected, else the first region
    /// drained.
    pub fn failed_region(&self) -> Option<String> {
        let steps = &self.runbook.steps;
        steps
            .iter()
            .find_map(|s| match &s.action {
                Action::Inject {
                    scenario: crate::source::Scenario::Outage,
                    region,
                } => Some(region.clone()),
                _ => None,
            })
            .or_else(|| {
                steps.iter().find_map(|s| match &s.action {
                    Action::Act(Op::Drain { region }) => Some(region.clone()),
                    _ => None,
                })
            })
    }

    /// Run the drill to its verdict. Errors are the timeline or the audit log failing to be
    /// written: nothing may run unrecorded.
    pub async fn run(&mut self) -> Result<Verdict, String> {
        let failed = self.failed_region();
        let mut predicted = Predicted::default();
        if let Some(region) = &failed {
            if let Ok(w) = self.operator.what_if(region).await {
                predicted = Predicted {
                    rto_s: Some(w.rto_s),
                    rpo_s: w.promotion.as_ref().and_then(|p| p.rpo_s),
                };
            }
        }
        let fleet = self.operator.fleet();
        self.push(EventKind::DrillStart {
            drill: self.runbook.name.clone(),
            run_id: self.run_id.clone(),
            mode: self.mode.as_str().into(),
            fleet: fleet.name.clone(),
            source: self.target.kind().to_string(),
            runbook: self.runbook.path.display().to_string(),
            pid: std::process::id(),
            objectives: self.runbook.objectives,
            predicted,
            predicted_for: failed,
        })?;
        let before = self.observe().await?;
        let (ok, results) = before.check_all(&self.runbook.steady_state);
        self.push(EventKind::SteadyState {
            phase: "before".into(),
            ok,
            results: results.clone(),
        })?;
        let stop = if !ok {
            let why: Vec<String> = results.iter().filter_map(|r| r.detail.clone()).collect();
            Some(Stop::Failed(format!(
                "the steady state does not hold before the drill ({}): nothing was run",
                why.join("; ")
            )))
        } else {
            self.steps().await?
        };
        if let Some(Stop::Aborted(_) | Stop::ByOperator) = &stop {
            // In real mode the rollback is shown and confirmed once; declined, it is recorded as
            // planned (nothing undone).
            let execute = if self.mode == Mode::Real && !self.done.is_empty() {
                let lines = self.rollback_lines();
                if self.gate.is_some() {
                    matches!(self.hold(Hold::Rollback { lines }).await?, Ok(Answer::Go))
                } else {
                    self.ask.rollback(&lines)
                }
            } else {
                true
            };
            let done = self.done.clone();
            rollback(
                self.operator,
                &self.run_id,
                &mut self.timeline,
                &done,
                execute,
            )
            .await?;
        }
        let mut reasons = Vec::new();
        if !matches!(&stop, Some(Stop::Failed(why)) if why.contains("nothing was run")) {
            let after = self.observe().await?;
            let (ok, results) = after.check_all(&self.runbook.steady_state);
            self.note_recovery(&after, ok)?;
            self.push(EventKind::SteadyState {
                phase: "after".into(),
                ok,
                results: results.clone(),
            })?;
            if !ok && stop.is_none() {
                let why: Vec<String> = results.iter().filter_map(|r| r.detail.clone()).collect();
                reasons.push(format!(
                    "the steady state does not hold after the drill: {}",
                    why.join("; ")
                ));
            }
        }
        let verdict = match &stop {
            Some(Stop::Aborted(f)) => {
                reasons.insert(
                    0,
                    format!(
                        "stop condition {} held ({} in {}): aborted and rolled back",
                        f.condition, f.value, f.region
                    ),
                );
                Verdict::Aborted
            }
            Some(Stop::ByOperator) => {
                reasons.insert(0, "aborted by the operator: rolled back".into());
                Verdict::Aborted
            }
            Some(Stop::Failed(why)) => {
                reasons.insert(0, why.clone());
                Verdict::Fail
            }
            None => {
                let m = super::report::measure(&self.timeline.events);
                let o = self.runbook.objectives;
                if self.failure_at.is_some() && !self.runbook.steady_state.is_empty() {
                    match m.rto_s {
                        None => reasons
                            .push("the steady state did not hold again after the failure".into()),
                        Some(rto) if rto > o.rto_s => reasons.push(format!(
                            "measured RTO {rto:.0} s exceeds the objective of {:.0} s",
                            o.rto_s
                        )),
                        Some(_) => {}
                    }
                }
                if let Some(rpo) = m.rpo_s.filter(|r| *r > o.rpo_s) {
                    reasons.push(format!(
                        "measured RPO {rpo:.1} s exceeds the objective of {:.0} s",
                        o.rpo_s
                    ));
                }
                if reasons.is_empty() {
                    Verdict::Pass
                } else {
                    Verdict::Fail
                }
            }
        };
        self.operator.set_drill_step(None);
        self.push(EventKind::DrillEnd { verdict, reasons })?;
        Ok(verdict)
    }

    /// The steps, group by group, until the end or a stop.
    async fn steps(&mut self) -> Result<Option<Stop>, String> {
        for group in self.runbook.groups() {
            if self.gate.is_some() {
                let mut plans = Vec::new();
                for &i in &group {
                    if let Action::Act(op) = &self.runbook.steps[i].action {
                        let text = self.plan_text(op).await;
                        plans.push((self.runbook.steps[i].name.clone(), text));
                    }
                }
                let steps = group
                    .iter()
                    .map(|&i| self.runbook.steps[i].name.clone())
                    .collect();
                match self.hold(Hold::Next { steps, plans }).await? {
                    Err(stop) => return Ok(Some(stop)),
                    Ok(Answer::Abort) => return Ok(Some(Stop::ByOperator)),
                    Ok(_) => {}
                }
            }
            if let Some(stop) = self.group(&group).await? {
                return Ok(Some(stop));
            }
        }
        Ok(None)
    }

    /// Start every step of a group, then watch until each has ended.
    async fn group(&mut self, members: &[usize]) -> Result<Option<Stop>, String> {
        let mut settling: Vec<Settling> = Vec::new();
        let mut waiting: Vec<Waiting> = Vec::new();
        for &i in members {
            let step = &self.runbook.steps[i];
            self.push(EventKind::StepStart {
                step: step.name.clone(),
                kind: step.action.kind().into(),
                summary: step.action.summary(),
            })?;
            let stop = match step.action.clone() {
                Action::Inject { scenario, region } => self.inject(i, scenario, &region)?,
                Action::Act(op) => match self.act(i, &op).await? {
                    Ok(Some(s)) => {
                        settling.push(s);
                        None
                    }
                    Ok(None) => None,
                    Err(stop) => Some(stop),
                },
                Action::Wait {
                    until_steady,
                    seconds,
                } => {
                    waiting.push(Waiting {
                        step: i,
                        until_steady,
                        deadline: self.now()
                            + chrono::Duration::milliseconds((seconds * 1000.0) as i64),
                    });
                    None
                }
                Action::Manual(text) => {
                    let answer = if self.gate.is_some() {
                        let hold = Hold::Manual {
                            step: step.name.clone(),
                            text: text.clone(),
                        };
                        match self.hold(hold).await? {
                            Ok(Answer::Manual(m)) => m,
                            Ok(Answer::Abort) => Manual::Abort,
                            Ok(_) => Manual::Done,
                            Err(stop) => {
                                self.end_step(
                                    i,
                                    "not finished",
                                    Some("a stop condition fired first".into()),
                                    None,
                                )?;
                                self.abandon(&settling, &waiting)?;
                                return Ok(Some(stop));
                            }
                        }
                    } else {
                        self.ask.manual(step, &text)
                    };
                    if answer == Manual::Interrupted {
                        return Err("interrupted by the operator (Ctrl-C)".into());
                    }
                    let (result, detail, stop) = match answer {
                        Manual::Done | Manual::Interrupted => ("ok", None, None),
                        Manual::Skipped(why) => ("skipped", Some(why), None),
                        Manual::Abort => (
                            "aborted",
                            Some("the operator aborted the drill".to_string()),
                            Some(Stop::ByOperator),
                        ),
                    };
                    self.end_step(i, result, detail, None)?;
                    stop
                }
                Action::Check(probe) => {
                    let obs = self.observe().await?;
                    let r = obs.check(&probe);
                    let detail = r.detail.clone().or_else(|| {
                        r.value
                            .map(|v| format!("{} reads {}", probe.metric, observe::round(v)))
                    });
                    self.end_step(i, if r.ok { "ok" } else { "failed" }, detail.clone(), None)?;
                    (!r.ok).then(|| {
                        Stop::Failed(format!(
                            "step `{}`: check {} failed: {}",
                            step.name,
                            probe.label(),
                            detail.unwrap_or_default()
                        ))
                    })
                }
            };
            if let Some(stop) = stop {
                self.abandon(&settling, &waiting)?;
                return Ok(Some(stop));
            }
        }
        // A look right after the group started: an injected failure shows at once.
        let obs = self.observe().await?;
        if let Some(stop) = self.watch(&obs)? {
            self.abandon(&settling, &waiting)?;
            return Ok(Some(stop));
        }
        let mut first = true;
        while !settling.is_empty() || !waiting.is_empty() {
            if !first {
                self.advance().await;
            }
            first = false;
            let obs = self.observe().await?;
            if let Some(stop) = self.watch(&obs)? {
                self.abandon(&settling, &waiting)?;
                return Ok(Some(stop));
            }
            let view = self.target.read().await;
            let now = obs.at;
            let mut failed = None;
            let mut still = Vec::new();
            for s in settling.drain(..) {
                let settled = view
                    .as_ref()
                    .map_err(|e| e.clone())
                    .map(|v| check_settled(&s.plan, v));
                match settled {
                    Ok(Ok(())) => {
                        let detail = s.accepted_at.map(|a| {
                            format!(
                                "settled {} s after it was accepted",
                                (now - a).num_seconds()
                            )
                        });
                        self.end_settle(&s, "ok", detail, Some(now))?;
                    }
                    Ok(Err(why)) | Err(why) if now >= s.deadline => {
                        let name = self.runbook.steps[s.step].name.clone();
                        let detail = format!("not settled within its timeout: {why}");
                        self.end_settle(&s, "timed out", Some(detail.clone()), None)?;
                        failed.get_or_insert(Stop::Failed(format!("step `{name}`: {detail}")));
                    }
                    _ => still.push(s),
                }
            }
            settling = still;
            let steady = obs.check_all(&self.runbook.steady_state).0;
            let mut still = Vec::new();
            for w in waiting.drain(..) {
                let name = self.runbook.steps[w.step].name.clone();
                if w.until_steady && steady {
                    self.end_step(w.step, "ok", Some("the steady state holds".into()), None)?;
                } else if now >= w.deadline && w.until_steady {
                    let (_, results) = obs.check_all(&self.runbook.steady_state);
                    let why: Vec<String> =
                        results.iter().filter_map(|r| r.detail.clone()).collect();
                    let detail = format!(
                        "the steady state did not hold within the timeout: {}",
                        why.join("; ")
                    );
                    self.end_step(w.step, "timed out", Some(detail.clone()), None)?;
                    failed.get_or_insert(Stop::Failed(format!("step `{name}`: {detail}")));
                } else if now >= w.deadline {
                    self.end_step(w.step, "ok", None, None)?;
                } else {
                    still.push(w);
                }
            }
            waiting = still;
            if let Some(stop) = failed {
                self.abandon(&settling, &waiting)?;
                return Ok(Some(stop));
            }
        }
        Ok(None)
    }

    /// Steps of a group still running when the drill stops end "not finished".
    fn abandon(&mut self, settling: &[Settling], waiting: &[Waiting]) -> Result<(), String> {
        for s in settling {
            self.end_settle(
                s,
                "not settled",
                Some("the drill stopped first".into()),
                None,
            )?;
        }
        for w in waiting {
            self.end_step(
                w.step,
                "not finished",
                Some("the drill stopped first".into()),
                None,
            )?;
        }
        Ok(())
    }

    fn end_step(
        &mut self,
        i: usize,
        result: &str,
        detail: Option<String>,
        audit_id: Option<String>,
    ) -> Result<(), String> {
        let step = &self.runbook.steps[i];
        self.push(EventKind::StepEnd {
            step: step.name.clone(),
            kind: step.action.kind().into(),
            result: result.into(),
            detail,
            audit_id,
            undo: None,
            one_way: None,
            accepted_at: None,
            settled_at: None,
        })
    }

    fn end_settle(
        &mut self,
        s: &Settling,
        result: &str,
        detail: Option<String>,
        settled_at: Option<DateTime<Utc>>,
    ) -> Result<(), String> {
        let step = &self.runbook.steps[s.step];
        let done = self.done.iter().find(|d| d.audit_id == s.audit_id);
        self.push(EventKind::StepEnd {
            step: step.name.clone(),
            kind: "act".into(),
            result: result.into(),
            detail,
            audit_id: Some(s.audit_id.clone()),
            undo: done.and_then(|d| d.undo.clone()),
            one_way: done.and_then(|d| one_way_text(&d.op)),
            accepted_at: s.accepted_at,
            settled_at,
        })
    }

    fn inject(
        &mut self,
        i: usize,
        scenario: crate::source::Scenario,
        region: &str,
    ) -> Result<Option<Stop>, String> {
        let name = self.runbook.steps[i].name.clone();
        let injected = match self.world.model() {
            Some(model) => model
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .inject(region, scenario),
            None => Ok(()),
        };
        if let Err(why) = injected {
            self.end_step(i, "failed", Some(why.clone()), None)?;
            return Ok(Some(Stop::Failed(format!("step `{name}`: {why}"))));
        }
        if self.failure_at.is_none() {
            self.failure_at = Some(self.now());
            self.push(EventKind::Failure {
                step: name,
                region: region.into(),
            })?;
        }
        let detail = match self.world {
            World::Sim(_) | World::Live(_) => None,
            World::Real => Some("real mode: only marks the failure time, nothing injected".into()),
        };
        self.end_step(i, "ok", detail, None)?;
        Ok(None)
    }

    /// Plan, guards and run through the pipeline. `Ok(Ok(Some))`: accepted, to watch settle.
    async fn act(&mut self, i: usize, op: &Op) -> Result<Result<Option<Settling>, Stop>, String> {
        let step = self.runbook.steps[i].clone();
        self.operator.set_drill_step(Some(DrillTag {
            run_id: self.run_id.clone(),
            step: step.name.clone(),
        }));
        let prepared = match self.operator.prepare(op).await {
            Ok(p) => p,
            Err(e) => {
                self.end_step(i, "failed", Some(e.to_string()), None)?;
                return Ok(Err(Stop::Failed(format!("step `{}`: {e}", step.name))));
            }
        };
        if prepared.plan.is_noop() {
            self.end_step(i, "ok", Some("nothing to change".into()), None)?;
            return Ok(Ok(None));
        }
        let mut prepared = prepared;
        let mut moved: Option<String> = None;
        let mut attempt = 0;
        let outcome = loop {
            // Paced by the console: the plan is shown, the operator types the region's name (the
            // pipeline checks it like any typed confirmation). Otherwise the drill's own
            // confirmation (`--execute --confirm NAME`) stands for it.
            let typed = if self.gate.is_some() {
                let is_sim = self.operator.kind() == crate::fleet::SourceKind::Sim;
                let hold = Hold::Confirm {
                    step: step.name.clone(),
                    plan: crate::ops::text::plan(&prepared.plan, &prepared.guards, is_sim),
                    region: prepared.plan.region.clone(),
                    moved: moved.take(),
                };
                match self.hold(hold).await? {
                    Ok(Answer::Typed(t)) => t,
                    Ok(_) => {
                        self.end_step(
                            i,
                            "aborted",
                            Some("the operator aborted the drill at its plan: nothing ran".into()),
                            None,
                        )?;
                        return Ok(Err(Stop::ByOperator));
                    }
                    Err(stop) => {
                        self.end_step(
                            i,
                            "not run",
                            Some("a stop condition fired before it was confirmed".into()),
                            None,
                        )?;
                        return Ok(Err(stop));
                    }
                }
            } else {
                prepared.plan.region.clone()
            };
            if attempt == 0 {
                if let Op::Promote { region } = op {
                    self.rpo(&step.name, region, &prepared.before)?;
                }
                if let (Op::Drain { region }, None) = (op, self.failure_at) {
                    self.failure_at = Some(self.now());
                    self.push(EventKind::Failure {
                        step: step.name.clone(),
                        region: region.clone(),
                    })?;
                }
            }
            let confirm = Confirmation {
                typed,
                overrides: step.overrides.clone(),
                undo_of: None,
            };
            let outcome = match self.operator.run(&prepared, &confirm).await {
                Ok(o) => o,
                Err(e) => return Err(e.to_string()),
            };
            // The fleet moved materially since the plan was shown: nothing ran; the console shows
            // the plan made now and asks again (as its operation dialog does).
            if let OpResult::Refused {
                rule: Some(rule),
                reason,
            } = &outcome.result
            {
                if self.gate.is_some() && rule == crate::ops::stale::STALE_PLAN && attempt < REPLANS
                {
                    attempt += 1;
                    moved = Some(reason.clone());
                    prepared = match self.operator.prepare(op).await {
                        Ok(p) => p,
                        Err(e) => {
                            self.end_step(i, "failed", Some(e.to_string()), None)?;
                            return Ok(Err(Stop::Failed(format!("step `{}`: {e}", step.name))));
                        }
                    };
                    continue;
                }
            }
            break outcome;
        };
        if outcome.result.took_effect() || matches!(outcome.result, OpResult::Failed { .. }) {
            self.done.push(Done {
                step: step.name.clone(),
                audit_id: outcome.id.clone(),
                op: op.clone(),
                undo: outcome.undo.clone(),
            });
        }
        let deadline =
            self.now() + chrono::Duration::milliseconds((step.timeout_s * 1000.0) as i64);
        let settling = Settling {
            step: i,
            plan: outcome.plan.clone(),
            audit_id: outcome.id.clone(),
            accepted_at: outcome.accepted_at,
            deadline,
        };
        match &outcome.result {
            OpResult::Applied => {
                let detail = Some(outcome.text());
                self.end_settle(&settling, "ok", detail, outcome.settled_at)?;
                Ok(Ok(None))
            }
            OpResult::NotYetVerified { .. } => Ok(Ok(Some(settling))),
            OpResult::Refused { reason, .. } => {
                self.push(EventKind::StepEnd {
                    step: step.name.clone(),
                    kind: "act".into(),
                    result: "refused".into(),
                    detail: Some(reason.clone()),
                    audit_id: Some(outcome.id.clone()),
                    undo: None,
                    one_way: None,
                    accepted_at: None,
                    settled_at: None,
                })?;
                Ok(Err(Stop::Failed(format!(
                    "step `{}` was refused: {reason}",
                    step.name
                ))))
            }
            OpResult::Failed { reason } => {
                self.end_settle(&settling, "failed", Some(reason.clone()), None)?;
                Ok(Err(Stop::Failed(format!(
                    "step `{}` failed: {reason}",
                    step.name
                ))))
            }
        }
    }

    /// The replica lag a promotion of `region` loses, from the read made right before it.
    fn rpo(
        &mut self,
        step: &str,
        region: &str,
        before: &crate::ops::FleetView,
    ) -> Result<(), String> {
        let db = before.region(region).and_then(|r| r.database.as_ref());
        let (rpo_s, basis, observed_at) = match db.map(|d| (&d.replication, d.lag_s)) {
            Some((Replication::Replica { .. }, lag)) => (
                lag,
                "replica lag at promotion".to_string(),
                Some(before.read_at),
            ),
            Some((r @ Replication::Broken { .. }, _)) => match r.last_lag() {
                Some((lag, seen)) => (
                    Some(lag),
                    "last replica lag observed before replication stopped".into(),
                    Some(seen),
                ),
                None => (
                    None,
                    "replication had stopped; no lag was observed before".into(),
                    None,
                ),
            },
            Some((Replication::Primary { .. }, _)) => {
                (None, "already a primary: nothing to lose".into(), None)
            }
            None => (None, "no database reading".into(), None),
        };
        self.push(EventKind::Rpo {
            step: step.into(),
            region: region.into(),
            rpo_s: rpo_s.map(observe::round),
            basis,
            observed_at,
        })
    }

    /// Let the clock move by one tick.
    async fn advance(&mut self) {
        match &self.world {
            World::Sim(model) => {
                model
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .advance(self.tick.as_secs_f64());
                // A simulated drill never waits: let whoever races it (Ctrl-C) be heard.
                tokio::task::yield_now().await;
            }
            World::Live(_) | World::Real => self.operator.clock().sleep(self.tick).await,
        }
    }

    /// Look at the fleet now; alerts raised or recovered since the last look go to the timeline.
    async fn observe(&mut self) -> Result<Observation, String> {
        let (view, metrics) = match &self.world {
            World::Sim(model) | World::Live(model) => {
                let sim = model.lock().unwrap_or_else(|p| p.into_inner());
                let readings = sim.readings();
                let view = crate::ops::sim::SimTarget::view_of(&sim);
                drop(sim);
                self.latest.take(readings);
                (view, self.latest.metrics())
            }
            World::Real => match self.target.read().await {
                Ok(v) => {
                    let stale = self
                        .metrics_read
                        .as_ref()
                        .is_none_or(|(at, _)| (v.read_at - *at).num_seconds() >= METRICS_EVERY_S);
                    if let (Some(read), true) = (&self.metrics, stale) {
                        self.metrics_read = Some((v.read_at, read().await));
                    }
                    let m = self
                        .metrics_read
                        .as_ref()
                        .map(|(_, m)| m.clone())
                        .unwrap_or_default();
                    (v, m)
                }
                Err(e) => {
                    tracing::warn!("drill: the fleet could not be read: {e}");
                    return Ok(Observation {
                        at: self.now(),
                        regions: Vec::new(),
                    });
                }
            },
        };
        let at = view.read_at;
        if let World::Sim(_) | World::Live(_) = self.world {
            let changes = self.alerts.observe(self.operator.fleet(), &self.latest, at);
            for c in changes {
                self.timeline.push(
                    at,
                    EventKind::Alert {
                        region: c.region,
                        level: c.level.as_str().into(),
                        text: c.text,
                    },
                )?;
            }
        }
        let obs = observe::observe(&view, &metrics);
        self.sample(&obs)?;
        Ok(obs)
    }

    /// The charted metrics of every region, once per moment.
    fn sample(&mut self, obs: &Observation) -> Result<(), String> {
        let last = self
            .timeline
            .events
            .iter()
            .rev()
            .find_map(|e| match e.kind {
                EventKind::Sample { .. } => Some(e.at),
                _ => None,
            });
        if last == Some(obs.at) || obs.regions.is_empty() {
            return Ok(());
        }
        let keep = super::report::charted(self.operator.fleet());
        let regions = obs
            .regions
            .iter()
            .map(|r| super::timeline::SampleRegion {
                region: r.name.clone(),
                serving: r.serving,
                values: r
                    .values
                    .iter()
                    .filter(|(k, _)| keep.contains(k))
                    .map(|(k, v)| (k.clone(), observe::round(*v)))
                    .collect(),
            })
            .collect();
        self.timeline.push(obs.at, EventKind::Sample { regions })
    }

    /// Judge the stop conditions and the recovery on one look.
    fn watch(&mut self, obs: &Observation) -> Result<Option<Stop>, String> {
        if let Some(fired) = self.stops.observe(obs, &self.runbook.stop_when) {
            self.timeline
                .push(obs.at, EventKind::StopCondition(fired.clone()))?;
            return Ok(Some(Stop::Aborted(fired)));
        }
        let steady = obs.check_all(&self.runbook.steady_state).0;
        self.note_recovery(obs, steady)?;
        Ok(None)
    }

    /// After the failure: the first look at which the steady state holds, after it broke, is the
    /// recovery; a later break undoes it (the RTO runs until it holds for good).
    fn note_recovery(&mut self, obs: &Observation, steady: bool) -> Result<(), String> {
        if self.failure_at.is_none() || self.runbook.steady_state.is_empty() {
            return Ok(());
        }
        if !steady {
            self.broken_since_failure = true;
            if self.recovered {
                self.recovered = false;
                let (_, results) = obs.check_all(&self.runbook.steady_state);
                let why: Vec<String> = results.iter().filter_map(|r| r.detail.clone()).collect();
                self.timeline.push(
                    obs.at,
                    EventKind::SteadyStateLost {
                        detail: why.join("; "),
                    },
                )?;
            }
        } else if !self.recovered {
            self.recovered = true;
            let at = if self.broken_since_failure {
                obs.at
            } else {
                self.failure_at.unwrap_or(obs.at)
            };
            self.timeline.push(at, EventKind::Recovered)?;
        }
        Ok(())
    }

    /// Undo, newest first, every reversible change this run made; one-way changes are listed
    /// with what a person must do.
    pub async fn rollback(&mut self) -> Result<(), String> {
        let done = self.done.clone();
        rollback(self.operator, &self.run_id, &mut self.timeline, &done, true).await
    }
}

/// Undo `done`, newest first, through the pipeline (each undo an audit record with `undo_of`);
/// with `execute` false only the plans are recorded ("planned").
pub async fn rollback(
    operator: &Operator,
    run_id: &str,
    timeline: &mut Timeline,
    done: &[Done],
    execute: bool,
) -> Result<(), String> {
    let clock = operator.clock();
    for d in done.iter().rev() {
        let Some(undo) = &d.undo else {
            let detail = one_way_text(&d.op)
                .unwrap_or_else(|| format!("{} has no undo: undo it by hand", d.op.summary()));
            timeline.push(
                clock.now(),
                EventKind::Rollback {
                    step: d.step.clone(),
                    result: "one-way".into(),
                    detail,
                    audit_id: None,
                    undo_of: Some(d.audit_id.clone()),
                },
            )?;
            continue;
        };
        operator.set_drill_step(Some(DrillTag {
            run_id: run_id.into(),
            step: format!("rollback: {}", d.step),
        }));
        let prepared = operator.prepare(undo).await;
        let (result, detail, audit_id) = match prepared {
            Err(e) => ("failed".to_string(), e.to_string(), None),
            Ok(p) if p.plan.is_noop() => ("ok".into(), "nothing to change".into(), None),
            Ok(p) if !execute => (
                "planned".into(),
                crate::ops::text::plan(
                    &p.plan,
                    &p.guards,
                    operator.kind() == crate::fleet::SourceKind::Sim,
                ),
                None,
            ),
            Ok(p) => {
                let confirm = Confirmation {
                    typed: p.plan.region.clone(),
                    overrides: Vec::new(),
                    undo_of: Some(d.audit_id.clone()),
                };
                match operator.run(&p, &confirm).await {
                    Ok(o) => {
                        let result = match &o.result {
                            r if r.took_effect() => "ok",
                            OpResult::Refused { .. } => "refused",
                            _ => "failed",
                        };
                        (
                            result.to_string(),
                            format!("{}: {}", undo.summary(), o.text()),
                            Some(o.id),
                        )
                    }
                    Err(e) => return Err(e.to_string()),
                }
            }
        };
        timeline.push(
            clock.now(),
            EventKind::Rollback {
                step: d.step.clone(),
                result,
                detail,
                audit_id,
                undo_of: Some(d.audit_id.clone()),
            },
        )?;
    }
    operator.set_drill_step(None);
    Ok(())
}
