//! The operation dialogs and the audit view: state and transitions. Keys typed while a dialog is
//! open arrive here raw (a typed region name must not trigger bindings). Nothing runs without an
//! exact typed confirmation: the only path to [`OpEffect::Run`] is Enter on a matching input.

use super::{Action, Effect, State};
use crate::fleet::Status;
use crate::ops::audit::tail::AuditTail;
use crate::ops::audit::AuditRecord;
use crate::ops::pipeline::Accepted;
use crate::ops::plan_lines::Verdict;
use crate::ops::whatif::WhatIf;
use crate::ops::{Confirmation, Op, OpResult, Outcome, Prepared};
use crate::source::SourceCommand;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key as a dialog sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogKey {
    Char(char),
    Backspace,
    Enter,
    Esc,
    Up,
    Down,
    Tab,
}

impl DialogKey {
    pub fn from_event(k: &KeyEvent) -> Option<DialogKey> {
        if k.modifiers.contains(KeyModifiers::CONTROL) {
            return matches!(k.code, KeyCode::Char('c') | KeyCode::Char('g'))
                .then_some(DialogKey::Esc);
        }
        Some(match k.code {
            KeyCode::Char(c) => DialogKey::Char(c),
            KeyCode::Backspace => DialogKey::Backspace,
            KeyCode::Enter => DialogKey::Enter,
            KeyCode::Esc => DialogKey::Esc,
            KeyCode::Up | KeyCode::PageUp => DialogKey::Up,
            KeyCode::Down | KeyCode::PageDown => DialogKey::Down,
            KeyCode::Tab => DialogKey::Tab,
            _ => return None,
        })
    }
}

/// The plan, the guards and what has been typed so far.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanDialog {
    pub prepared: Prepared,
    pub input: String,
    /// Overridable rules whose override has been typed.
    pub overrides: Vec<String>,
    pub message: Option<String>,
    /// Why this plan is shown again: what moved since the plan the operator confirmed (nothing
    /// ran). Kept while typing.
    pub moved: Option<String>,
    pub undo_of: Option<String>,
    pub scroll: u16,
}

/// What the plan dialog asks for next.
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    /// Type this overridable rule's name to override it.
    Override(String),
    /// Type the region name to run.
    Confirm(String),
    /// A rule that cannot be overridden blocks: nothing can run.
    Blocked(String),
    /// The plan changes nothing.
    Nothing,
}

impl PlanDialog {
    pub fn prompt(&self) -> Prompt {
        let p = &self.prepared;
        if p.plan.is_noop() {
            return Prompt::Nothing;
        }
        let open: Vec<_> = p
            .guards
            .iter()
            .filter(|g| matches!(Verdict::of(g, &self.overrides), Verdict::Block { .. }))
            .collect();
        if let Some(g) = open.iter().find(|g| !g.overridable) {
            return Prompt::Blocked(g.rule.clone());
        }
        match open.first() {
            Some(g) => Prompt::Override(g.rule.clone()),
            None => Prompt::Confirm(p.plan.region.clone()),
        }
    }
}

/// What the scale dialog scales: an ECS service (tasks) or an EKS node group (nodes).
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleTarget {
    pub cluster: String,
    /// The ECS service or the node group.
    pub name: String,
    /// Its desired count now (0 when unread).
    pub desired: i64,
    pub nodegroup: bool,
}

impl ScaleTarget {
    /// "tasks" or "nodes".
    pub fn unit(&self) -> &'static str {
        if self.nodegroup {
            "nodes"
        } else {
            "tasks"
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Dialog {
    /// Scale: type the new desired count, or step it with +/-, then plan.
    Count {
        region: String,
        services: Vec<ScaleTarget>,
        index: usize,
        desired: i64,
        /// Digits typed so far replace the count; the next digit appends (false after +/-).
        typing: bool,
    },
    /// Reading the fleet and planning (or computing a what-if).
    Waiting {
        title: String,
        /// Shown with the plan when it arrives: why it was planned again.
        moved: Option<String>,
    },
    Plan(Box<PlanDialog>),
    Running {
        summary: String,
        /// The undo being run, if it is one (kept when the plan must be shown again).
        undo_of: Option<String>,
    },
    /// AWS took the request; the console watches the fleet until it settles (closing this
    /// dialog does not stop the watch: the event log says when it settled).
    Accepted(Box<Accepted>),
    Result(Box<Outcome>),
    WhatIf {
        report: Box<WhatIf>,
        scroll: u16,
    },
    Error {
        title: String,
        message: String,
    },
}

/// The audit log overlay: the last records, newest first (read from the end of the log, never
/// all of it: `AuditLog::read_last`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditView {
    pub open: bool,
    pub records: Vec<AuditRecord>,
    /// Older records exist that are not loaded.
    pub partial: bool,
    /// Unreadable lines skipped among those read.
    pub bad_lines: usize,
    pub error: Option<String>,
    pub scroll: usize,
}

/// The week summary overlay: the review of the last 7 days (`report::week`), computed by the
/// loop off the UI thread; `computing` until it arrives.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WeekView {
    pub open: bool,
    pub computing: bool,
    pub report: Option<Box<crate::report::Report>>,
    pub error: Option<String>,
    pub scroll: usize,
    /// When the numbers shown were read (the console's clock): said beside them, so numbers read
    /// before opsdeck went offline are not taken for current ones.
    pub read_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl WeekView {
    pub fn scroll_by(&mut self, delta: isize) {
        let rows = self.report.as_ref().map_or(0, |r| r.regions.len());
        self.scroll = self
            .scroll
            .saturating_add_signed(delta)
            .min(rows.saturating_sub(1));
    }
}

/// Work for the loop: read, plan, run, compute, load.
#[derive(Debug, Clone, PartialEq)]
pub enum OpEffect {
    Plan {
        op: Op,
        undo_of: Option<String>,
    },
    Run {
        prepared: Box<Prepared>,
        confirmation: Confirmation,
    },
    WhatIf {
        region: String,
    },
    LoadAudit,
    /// Compute the review of the 7 days that end now (`report::week`).
    LoadWeek,
    /// Read the 7 days that end now of one region for the detail view's 7-day window
    /// (`report::region_week`).
    LoadRegionWeek {
        region: String,
    },
    /// Plan the undo of the newest reversible operation in the audit log.
    PlanUndo,
}

/// What the loop reports back.
#[derive(Debug, Clone, PartialEq)]
pub enum OpReport {
    Planned {
        prepared: Box<Prepared>,
        undo_of: Option<String>,
    },
    /// Every call returned; the run goes on watching the fleet until it settles.
    Accepted(Box<Accepted>),
    Finished(Box<Outcome>),
    WhatIf(Box<WhatIf>),
    /// The newest records of the log.
    Audit(Result<AuditTail, String>),
    /// The week's review, or why it could not be made.
    Week(Result<Box<crate::report::Report>, String>),
    /// The 7-day window's read for `region`: the weeks it brought, or why it failed.
    RegionWeek {
        region: String,
        result: Result<Vec<crate::report::region_week::RegionWeek>, String>,
    },
    /// What the other operators are doing (polled).
    Others(Box<crate::ops::others::Others>),
    /// Planning, running or the what-if failed before anything ran (or could be recorded).
    Failed {
        title: String,
        message: String,
    },
}

/// Start an operation, the what-if, the undo or the audit view (`update` routes them here).
/// One dialog at a time: another operation waits until this one is closed.
pub fn operation(state: &mut State, action: &Action) -> Vec<Effect> {
    if state.dialog.is_some() {
        return Vec::new();
    }
    let region = state.focused().name().to_string();
    match action {
        Action::ScaleUp | Action::ScaleDown => {
            let step = if *action == Action::ScaleUp { 1 } else { -1 };
            let r = state.focused();
            let ecs = |cluster: &str, name: &str, desired: i64| ScaleTarget {
                cluster: cluster.into(),
                name: name.into(),
                desired,
                nodegroup: false,
            };
            let mut services: Vec<ScaleTarget> = match &r.ecs {
                Some(e) => e
                    .iter()
                    .map(|s| ecs(&s.cluster, &s.service, s.desired))
                    .collect(),
                None => r
                    .spec
                    .ecs
                    .iter()
                    .map(|s| ecs(&s.cluster, &s.service, 0))
                    .collect(),
            };
            // EKS node groups, their desired count as last read (0 when unread).
            services.extend(r.spec.eks.iter().map(|g| {
                ScaleTarget {
                    cluster: g.cluster.clone(),
                    name: g.nodegroup.clone(),
                    desired: r
                        .eks
                        .iter()
                        .flatten()
                        .find(|s| s.cluster == g.cluster && s.nodegroup == g.nodegroup)
                        .map(|s| s.desired)
                        .unwrap_or(0),
                    nodegroup: true,
                }
            }));
            match services.first() {
                Some(s) => {
                    let desired = (s.desired + step).max(0);
                    open(
                        state,
                        Dialog::Count {
                            region,
                            services,
                            index: 0,
                            desired,
                            typing: false,
                        },
                    );
                }
                None => {
                    state.flash = Some(format!(
                        "{region} has no ECS service or EKS node group to scale"
                    ))
                }
            }
            Vec::new()
        }
        Action::Drain => plan(state, Op::Drain { region }),
        Action::Restore => plan(
            state,
            Op::Restore {
                region,
                weight: None,
            },
        ),
        Action::Promote => plan(state, Op::Promote { region }),
        Action::WhatIf => {
            open(
                state,
                Dialog::Waiting {
                    title: format!("what-if: {region} fails now"),
                    moved: None,
                },
            );
            vec![Effect::Op(OpEffect::WhatIf { region })]
        }
        Action::Undo => {
            state.audit.open = false;
            open(
                state,
                Dialog::Waiting {
                    title: "undo the last reversible operation".into(),
                    moved: None,
                },
            );
            vec![Effect::Op(OpEffect::PlanUndo)]
        }
        Action::AuditLog => {
            state.audit.open = !state.audit.open;
            state.audit.scroll = 0;
            if state.audit.open {
                vec![Effect::Op(OpEffect::LoadAudit)]
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    }
}

impl AuditView {
    /// Scroll by `delta` records, within the records loaded.
    pub fn scroll_by(&mut self, delta: isize) {
        let last = self.records.len().saturating_sub(1);
        self.scroll = self.scroll.saturating_add_signed(delta).min(last);
    }
}

fn open(state: &mut State, dialog: Dialog) {
    state.help = false;
    state.dialog = Some(dialog);
}

fn plan(state: &mut State, op: Op) -> Vec<Effect> {
    open(
        state,
        Dialog::Waiting {
            title: format!("planning: {}", op.summary()),
            moved: None,
        },
    );
    vec![Effect::Op(OpEffect::Plan { op, undo_of: None })]
}

/// The largest count the scale dialog takes (a typo of one digit too many is not planned).
pub const MAX_TYPED_COUNT: i64 = 9999;

/// A key typed while a dialog is open.
pub fn key(state: &mut State, k: DialogKey) -> Vec<Effect> {
    let Some(dialog) = state.dialog.as_mut() else {
        return Vec::new();
    };
    match (dialog, k) {
        (_, DialogKey::Esc) => state.dialog = None,
        (
            Dialog::Count {
                services,
                index,
                desired,
                typing,
                ..
            },
            k,
        ) => match k {
            DialogKey::Up | DialogKey::Char('+') | DialogKey::Char('=') => {
                *desired = (*desired + 1).min(MAX_TYPED_COUNT);
                *typing = false;
            }
            DialogKey::Down | DialogKey::Char('-') => {
                *desired = (*desired - 1).max(0);
                *typing = false;
            }
            DialogKey::Char(c) if c.is_ascii_digit() => {
                let digit = i64::from(c as u8 - b'0');
                let next = if *typing {
                    *desired * 10 + digit
                } else {
                    digit
                };
                if next <= MAX_TYPED_COUNT {
                    *desired = next;
                }
                *typing = true;
            }
            DialogKey::Backspace => {
                *desired /= 10;
                *typing = true;
            }
            DialogKey::Tab => {
                *index = (*index + 1) % services.len().max(1);
                *desired = services.get(*index).map(|s| s.desired).unwrap_or(0);
                *typing = false;
            }
            DialogKey::Enter => {
                let Some(Dialog::Count {
                    region,
                    services,
                    index,
                    desired,
                    ..
                }) = state.dialog.take()
                else {
                    return Vec::new();
                };
                let t = services[index].clone();
                let op = if t.nodegroup {
                    Op::ScaleNodegroup {
                        region,
                        cluster: t.cluster,
                        nodegroup: t.name,
                        desired,
                        min: None,
                        max: None,
                    }
                } else {
                    Op::Scale {
                        region,
                        cluster: t.cluster,
                        service: t.name,
                        desired,
                        bounds: None,
                    }
                };
                return plan(state, op);
            }
            _ => {}
        },
        (Dialog::Plan(p), k) => {
            let effects = plan_key(p, k);
            if let Some(Effect::Op(OpEffect::Run {
                prepared,
                confirmation,
            })) = effects.first()
            {
                state.dialog = Some(Dialog::Running {
                    summary: prepared.plan.op.summary(),
                    undo_of: confirmation.undo_of.clone(),
                });
            }
            return effects;
        }
        (Dialog::WhatIf { scroll, .. }, DialogKey::Up) => *scroll = scroll.saturating_sub(1),
        (Dialog::WhatIf { scroll, .. }, DialogKey::Down) => *scroll += 1,
        (
            Dialog::Result(_) | Dialog::Accepted(_) | Dialog::Error { .. } | Dialog::WhatIf { .. },
            DialogKey::Enter,
        ) => state.dialog = None,
        _ => {}
    }
    Vec::new()
}

/// Typing in the plan dialog. Enter on an exact match confirms an override or runs the plan;
/// anything else runs nothing.
fn plan_key(p: &mut PlanDialog, k: DialogKey) -> Vec<Effect> {
    match k {
        DialogKey::Char(c) if !c.is_control() => {
            p.input.push(c);
            p.message = None;
        }
        DialogKey::Backspace => {
            p.input.pop();
        }
        DialogKey::Up => p.scroll = p.scroll.saturating_sub(1),
        DialogKey::Down => p.scroll += 1,
        DialogKey::Enter => {
            let typed = std::mem::take(&mut p.input);
            match p.prompt() {
                Prompt::Override(rule) if typed == rule => {
                    p.message = Some(format!("override of {rule} confirmed (it will be logged)"));
                    p.overrides.push(rule);
                }
                Prompt::Override(rule) => {
                    p.message = Some(format!("`{typed}` is not `{rule}`: nothing ran"));
                }
                Prompt::Confirm(region) if typed == region => {
                    let confirmation = Confirmation {
                        typed,
                        overrides: p.overrides.clone(),
                        undo_of: p.undo_of.clone(),
                    };
                    return vec![Effect::Op(OpEffect::Run {
                        prepared: Box::new(p.prepared.clone()),
                        confirmation,
                    })];
                }
                Prompt::Confirm(region) => {
                    p.message = Some(format!("`{typed}` does not match `{region}`: nothing ran"));
                }
                Prompt::Blocked(rule) => {
                    p.message = Some(format!("blocked by {rule}: nothing can run"))
                }
                Prompt::Nothing => p.message = Some("the plan changes nothing".into()),
            }
        }
        _ => {}
    }
    Vec::new()
}

/// A plan, result, what-if, audit records or a failure arrived from the loop.
pub fn report(state: &mut State, r: OpReport) -> Vec<Effect> {
    let waiting = matches!(state.dialog, Some(Dialog::Waiting { .. }));
    match r {
        OpReport::Planned { prepared, undo_of } => {
            if let Some(Dialog::Waiting { moved, .. }) = &mut state.dialog {
                let moved = moved.take();
                state.dialog = Some(Dialog::Plan(Box::new(PlanDialog {
                    prepared: *prepared,
                    input: String::new(),
                    overrides: Vec::new(),
                    message: None,
                    moved,
                    undo_of,
                    scroll: 0,
                })));
            }
        }
        // Handled by `update` before a report reaches the dialog.
        OpReport::Others(_) => {}
        OpReport::WhatIf(report) => {
            if waiting {
                state.dialog = Some(Dialog::WhatIf { report, scroll: 0 });
            }
        }
        OpReport::Failed { title, message } => {
            state.log(state.now, None, Status::Warn, format!("{title}: {message}"));
            if waiting || matches!(state.dialog, Some(Dialog::Running { .. })) {
                state.dialog = Some(Dialog::Error { title, message });
            }
        }
        OpReport::Accepted(accepted) => {
            let text = format!(
                "{}: accepted at {}; watching until the fleet shows it",
                accepted.op.summary(),
                accepted.at.format("%H:%M:%S UTC")
            );
            state.log(
                accepted.at,
                Some(accepted.op.region().to_string()),
                Status::Ok,
                text,
            );
            state.watching.push((*accepted).clone());
            if matches!(state.dialog, Some(Dialog::Running { .. })) {
                state.dialog = Some(Dialog::Accepted(accepted));
            }
            return vec![Effect::Source(SourceCommand::Refresh)];
        }
        OpReport::Finished(outcome) => {
            let level = match outcome.result {
                OpResult::Applied => Status::Ok,
                OpResult::NotYetVerified { .. } | OpResult::Refused { .. } => Status::Warn,
                OpResult::Failed { .. } => Status::Crit,
            };
            // "…: applied: accepted at T, settled at T (after N s)": the settle time drills measure.
            let text = format!("{}: {}", outcome.plan.op.summary(), outcome.text());
            // At the ended record's time: the same moment reads the same in the log and the audit.
            state.log(outcome.at, Some(outcome.plan.region.clone()), level, text);
            let (running, undo_of) = match &state.dialog {
                Some(Dialog::Running { undo_of, .. }) => (true, undo_of.clone()),
                _ => (false, None),
            };
            if let (
                true,
                OpResult::Refused {
                    rule: Some(rule),
                    reason,
                },
            ) = (running, &outcome.result)
            {
                if rule == crate::ops::stale::STALE_PLAN {
                    // Nothing ran: show the plan made now, with what moved, and ask again.
                    state.dialog = Some(Dialog::Waiting {
                        title: format!("planning again: {}", outcome.plan.op.summary()),
                        moved: Some(reason.clone()),
                    });
                    return vec![Effect::Op(OpEffect::Plan {
                        op: outcome.plan.op.clone(),
                        undo_of,
                    })];
                }
            }
            state.watching.retain(|w| w.id != outcome.id);
            let shown =
                running || matches!(&state.dialog, Some(Dialog::Accepted(a)) if a.id == outcome.id);
            if shown {
                state.dialog = Some(Dialog::Result(outcome));
            }
            return vec![Effect::Source(SourceCommand::Refresh)];
        }
        OpReport::Week(result) => {
            state.week.computing = false;
            match result {
                Ok(r) => {
                    state.week.report = Some(r);
                    state.week.read_at = Some(state.now);
                    state.week.error = None;
                }
                Err(e) => state.week.error = Some(e),
            }
        }
        // Routed to `week_charts` by `update`.
        OpReport::RegionWeek { .. } => {}
        OpReport::Audit(result) => match result {
            Ok(tail) => {
                state.audit.records = tail.records;
                state.audit.partial = tail.partial;
                state.audit.bad_lines = tail.bad_lines;
                state.audit.error = None;
            }
            Err(e) => state.audit.error = Some(e),
        },
    }
    Vec::new()
}
