//! The drill walkthrough in the console (`D`): the runbooks found beside the fleet file and in the
//! config directory, and past runs; an open runbook as a checklist beside the live panes, run one
//! step (or `parallel_with` group) at a time through the drill engine (`drill::engine`, paced by
//! its [`Gate`](crate::drill::engine::Gate)); past runs as read-only timelines. State and
//! transitions only: the loop (`console::runner`) loads, runs and reports back.
//!
//! While the panel is open it takes the keys raw, as a dialog does (a typed region name must not
//! trigger bindings): ↑/↓ choose, enter opens / starts / runs the next step, `t` ticks a manual
//! step, `s` skips it, `A` (with nothing typed) aborts the drill, which rolls back what it
//! changed; esc hides the panel (a running drill waits) or goes back to the list.

use super::dialog::DialogKey;
use super::{Effect, State};
use crate::drill::engine::{Answer, Hold, Manual};
use crate::drill::timeline::{Event, EventKind, Verdict};
use crate::drill::Runbook;
use std::path::PathBuf;

/// One line of the list.
#[derive(Debug, Clone, PartialEq)]
pub enum Listed {
    Runbook(Box<Runbook>),
    /// A runbook file that does not load: why (file:line:column and the reason).
    Broken {
        path: PathBuf,
        error: String,
    },
    /// A past run's timeline.
    Past {
        path: PathBuf,
        drill: String,
        mode: String,
        /// None: it has no end (running, or killed).
        verdict: Option<Verdict>,
        started_at: Option<chrono::DateTime<chrono::Utc>>,
    },
}

/// An open runbook: before it starts, while it runs, after its verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenDrill {
    pub runbook: Box<Runbook>,
    pub started: bool,
    /// The timeline so far (samples left out).
    pub events: Vec<Event>,
    /// What the drill waits for.
    pub hold: Option<Hold>,
    /// Typed so far (the region's name at an act step's plan).
    pub input: String,
    pub message: Option<String>,
    pub verdict: Option<Verdict>,
    /// The report written when it ended.
    pub report: Option<PathBuf>,
    pub scroll: u16,
}

/// A past run read back.
#[derive(Debug, Clone, PartialEq)]
pub struct PastRun {
    pub path: PathBuf,
    pub events: Vec<Event>,
    pub bad_lines: usize,
    pub scroll: u16,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DrillPanel {
    pub open: bool,
    pub loading: bool,
    pub listed: Vec<Listed>,
    /// Where the list looked.
    pub looked_in: Vec<PathBuf>,
    pub selected: usize,
    pub error: Option<String>,
    pub drill: Option<OpenDrill>,
    pub past: Option<PastRun>,
}

/// What the loop reports about drills.
#[derive(Debug, Clone, PartialEq)]
pub enum DrillReport {
    Listed {
        listed: Vec<Listed>,
        looked_in: Vec<PathBuf>,
    },
    Event(Box<Event>),
    Hold(Hold),
    /// The drill ended; its report was written there (or could not be: why).
    Ended {
        verdict: Verdict,
        report: Result<PathBuf, String>,
    },
    Past(Result<PastRun, String>),
    /// The drill could not start or stopped unrecorded.
    Failed(String),
}

/// Work for the loop.
#[derive(Debug, Clone, PartialEq)]
pub enum DrillEffect {
    List,
    Start(Box<Runbook>),
    Answer(Answer),
    LoadPast(PathBuf),
}

impl DrillPanel {
    /// Whether the panel takes the keys.
    pub fn takes_keys(&self) -> bool {
        self.open
    }

    /// A drill is running (started, no verdict yet).
    pub fn running(&self) -> bool {
        self.drill
            .as_ref()
            .is_some_and(|d| d.started && d.verdict.is_none())
    }
}

/// `D`: show the panel (listing again when no drill is open), or hide it.
pub fn toggle(state: &mut State) -> Vec<Effect> {
    let p = &mut state.drills;
    p.open = !p.open;
    if p.open && p.drill.is_none() && p.past.is_none() {
        p.loading = true;
        return vec![Effect::Drill(DrillEffect::List)];
    }
    Vec::new()
}

fn answer(a: Answer) -> Vec<Effect> {
    vec![Effect::Drill(DrillEffect::Answer(a))]
}

/// A key while the panel is open.
pub fn key(state: &mut State, k: DialogKey) -> Vec<Effect> {
    let is_sim = state.source.is_sim();
    let p = &mut state.drills;
    if let Some(past) = p.past.as_mut() {
        match k {
            DialogKey::Esc => p.past = None,
            DialogKey::Up => past.scroll = past.scroll.saturating_sub(1),
            DialogKey::Down => past.scroll = past.scroll.saturating_add(1),
            _ => {}
        }
        return Vec::new();
    }
    let Some(d) = p.drill.as_mut() else {
        return list_key(state, k);
    };
    if !d.started {
        // Against AWS the drill runs only once the runbook's name is typed (the CLI's
        // `--execute --confirm NAME`).
        return match k {
            DialogKey::Esc => {
                p.drill = None;
                Vec::new()
            }
            DialogKey::Char(c) if !is_sim && !c.is_control() => {
                d.input.push(c);
                Vec::new()
            }
            DialogKey::Backspace if !is_sim => {
                d.input.pop();
                Vec::new()
            }
            DialogKey::Enter if !is_sim && d.input != d.runbook.name => {
                let typed = std::mem::take(&mut d.input);
                d.message = Some(format!(
                    "`{typed}` is not the runbook's name `{}`: nothing ran",
                    d.runbook.name
                ));
                Vec::new()
            }
            DialogKey::Enter | DialogKey::Char('n') => {
                d.input.clear();
                d.started = true;
                d.message = Some("starting: the steady state is checked first".into());
                vec![Effect::Drill(DrillEffect::Start(d.runbook.clone()))]
            }
            _ => Vec::new(),
        };
    }
    if d.verdict.is_some() {
        if k == DialogKey::Esc {
            p.drill = None;
            p.loading = true;
            return vec![Effect::Drill(DrillEffect::List)];
        }
        scroll(d, k);
        return Vec::new();
    }
    match (k, d.hold.clone()) {
        (DialogKey::Esc, _) => {
            p.open = false;
            state.flash = Some("the drill waits: D shows it again".into());
            Vec::new()
        }
        (DialogKey::Char('A'), Some(_)) if d.input.is_empty() => {
            d.hold = None;
            d.message = Some("aborting: what the drill changed is rolled back".into());
            answer(Answer::Abort)
        }
        (DialogKey::Enter | DialogKey::Char('n'), Some(Hold::Next { .. })) => {
            d.hold = None;
            d.message = None;
            answer(Answer::Go)
        }
        (DialogKey::Enter | DialogKey::Char('t'), Some(Hold::Manual { .. })) => {
            d.hold = None;
            answer(Answer::Manual(Manual::Done))
        }
        (DialogKey::Char('s'), Some(Hold::Manual { .. })) => {
            d.hold = None;
            answer(Answer::Manual(Manual::Skipped(
                "skipped by the operator in the console".into(),
            )))
        }
        (DialogKey::Char('y'), Some(Hold::Rollback { .. })) => {
            d.hold = None;
            answer(Answer::Go)
        }
        (DialogKey::Char('n'), Some(Hold::Rollback { .. })) => {
            d.hold = None;
            answer(Answer::Abort)
        }
        (k, Some(Hold::Confirm { region, .. })) => match k {
            DialogKey::Char(c) if !c.is_control() => {
                d.input.push(c);
                d.message = None;
                Vec::new()
            }
            DialogKey::Backspace => {
                d.input.pop();
                Vec::new()
            }
            DialogKey::Enter => {
                let typed = std::mem::take(&mut d.input);
                if typed == region {
                    d.hold = None;
                    d.message = Some(format!("running: confirmed `{typed}`"));
                    answer(Answer::Typed(typed))
                } else {
                    d.message = Some(format!("`{typed}` does not match `{region}`: nothing ran"));
                    Vec::new()
                }
            }
            k => {
                scroll(d, k);
                Vec::new()
            }
        },
        (k, _) => {
            scroll(d, k);
            Vec::new()
        }
    }
}

fn scroll(d: &mut OpenDrill, k: DialogKey) {
    match k {
        DialogKey::Up => d.scroll = d.scroll.saturating_sub(1),
        DialogKey::Down => d.scroll = d.scroll.saturating_add(1),
        _ => {}
    }
}

fn list_key(state: &mut State, k: DialogKey) -> Vec<Effect> {
    let p = &mut state.drills;
    let n = p.listed.len();
    match k {
        DialogKey::Esc => p.open = false,
        DialogKey::Up => p.selected = p.selected.saturating_sub(1),
        DialogKey::Down => p.selected = (p.selected + 1).min(n.saturating_sub(1)),
        DialogKey::Enter => match p.listed.get(p.selected) {
            Some(Listed::Runbook(r)) => {
                p.drill = Some(OpenDrill {
                    runbook: r.clone(),
                    started: false,
                    events: Vec::new(),
                    hold: None,
                    input: String::new(),
                    message: None,
                    verdict: None,
                    report: None,
                    scroll: 0,
                });
            }
            Some(Listed::Past { path, .. }) => {
                return vec![Effect::Drill(DrillEffect::LoadPast(path.clone()))];
            }
            Some(Listed::Broken { error, .. }) => p.error = Some(error.clone()),
            None => {}
        },
        _ => {}
    }
    Vec::new()
}

/// What the loop reported.
pub fn report(state: &mut State, r: DrillReport) {
    let p = &mut state.drills;
    match r {
        DrillReport::Listed { listed, looked_in } => {
            p.loading = false;
            p.listed = listed;
            p.looked_in = looked_in;
            p.selected = p.selected.min(p.listed.len().saturating_sub(1));
        }
        DrillReport::Past(Ok(past)) => p.past = Some(past),
        DrillReport::Past(Err(e)) => p.error = Some(e),
        DrillReport::Failed(e) => {
            if let Some(d) = p.drill.as_mut() {
                d.message = Some(e.clone());
            }
            state.flash = Some(format!("drill: {e}"));
        }
        DrillReport::Event(e) => {
            let Some(d) = p.drill.as_mut() else { return };
            if matches!(e.kind, EventKind::Sample { .. }) {
                return;
            }
            d.message = None;
            d.events.push(*e);
        }
        DrillReport::Hold(h) => {
            if let Some(d) = p.drill.as_mut() {
                d.input.clear();
                d.hold = Some(h);
            }
        }
        DrillReport::Ended { verdict, report } => {
            let text = match &report {
                Ok(path) => format!(
                    "drill ended: {}; report {}",
                    verdict.as_str(),
                    path.display()
                ),
                Err(e) => format!(
                    "drill ended: {}; the report was not written: {e}",
                    verdict.as_str()
                ),
            };
            if let Some(d) = p.drill.as_mut() {
                d.verdict = Some(verdict);
                d.hold = None;
                d.report = report.ok();
                d.message = None;
            }
            let level = if verdict == Verdict::Pass {
                crate::fleet::Status::Ok
            } else {
                crate::fleet::Status::Warn
            };
            state.log(state.now, None, level, text.clone());
            state.flash = Some(text);
        }
    }
}

/// Where a step stands in the timeline: not started, running, or its result.
pub fn step_state(events: &[Event], step: &str) -> StepState {
    let mut state = StepState::Pending;
    for e in events {
        match &e.kind {
            EventKind::StepStart { step: s, .. } if s == step => state = StepState::Running,
            EventKind::StepEnd {
                step: s, result, ..
            } if s == step => state = StepState::Ended(result.clone()),
            _ => {}
        }
    }
    state
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepState {
    Pending,
    Running,
    Ended(String),
}

/// When the failure was marked, if it was.
pub fn failure_at(events: &[Event]) -> Option<chrono::DateTime<chrono::Utc>> {
    events.iter().find_map(|e| match e.kind {
        EventKind::Failure { .. } => Some(e.at),
        _ => None,
    })
}
