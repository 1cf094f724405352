//! `update(&mut State, Action) -> Vec<Effect>`: pure, so every transition is testable.

use super::dialog::{self, OpReport};
use super::look::{self, LookKind};
use super::{Action, State, View};
use crate::fleet::Status;
use crate::ops::others::{lease_line, pending_line, record_line};
use crate::source::{Scenario, SourceCommand, SourceEvent};

/// What the loop must do after an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Source(SourceCommand),
    Quit,
    /// Plan, run or inspect a guarded operation (see `app::dialog`).
    Op(super::dialog::OpEffect),
    /// Load this theme and draw with it (a failure comes back as `Action::Look`).
    LoadTheme(String),
    /// Load this keymap and read keys with it (conflicts and failures come back as `Action::Look`).
    LoadKeymap(String),
    /// List, start, answer or read drills (see `app::drill`).
    Drill(super::drill::DrillEffect),
}

pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    let before = super::week_charts::shown(state);
    let mut effects = update_view(state, action);
    // The 7-day window reads its week when it is opened on a region, never on a frame.
    if let Some(region) = super::week_charts::opened(state, before) {
        effects.push(Effect::Op(dialog::OpEffect::LoadRegionWeek { region }));
    }
    effects
}

fn update_view(state: &mut State, action: Action) -> Vec<Effect> {
    if let Some(overlay) = captures(state, &action) {
        // Nothing opens or moves behind an overlay: say what is on top and how to close it.
        state.flash = Some(hint(overlay));
        state.dirty = true;
        return Vec::new();
    }
    let mut effects = Vec::new();
    let n = state.regions.len().max(1);
    match action {
        Action::Quit => {
            state.quit = true;
            effects.push(Effect::Quit);
        }
        Action::Help => {
            state.help = !state.help;
            state.help_scroll = 0;
        }
        // The overlay on top takes Back and scrolling: the audit view, then the help.
        Action::Back => {
            if state.audit.open {
                state.audit.open = false;
            } else if state.week.open {
                state.week.open = false;
            } else if state.help {
                state.help = false;
            } else {
                state.view = View::Overview;
            }
        }
        Action::NextRegion => state.focus = (state.focus + 1) % n,
        Action::PrevRegion => state.focus = (state.focus + n - 1) % n,
        Action::OpenDetail => state.view = View::Detail,
        Action::Events => {
            state.view = if state.view == View::Events {
                View::Overview
            } else {
                View::Events
            };
            state.event_scroll = 0;
        }
        Action::NextWindow => state.window = state.window.next(),
        Action::PrevWindow => state.window = state.window.prev(),
        Action::NextTheme => effects.push(Effect::LoadTheme(look::next(state, LookKind::Theme))),
        Action::NextKeymap => effects.push(Effect::LoadKeymap(look::next(state, LookKind::Keymap))),
        Action::Look(report) => look::report(state, report),
        Action::Refresh => {
            state.flash = Some("refreshing…".into());
            effects.push(Effect::Source(SourceCommand::Refresh));
        }
        Action::ScrollUp => {
            if state.audit.open {
                state.audit.scroll_by(-1);
            } else if state.week.open {
                state.week.scroll_by(-1);
            } else if state.help {
                state.help_scroll = state.help_scroll.saturating_sub(1);
            } else {
                state.event_scroll = state.event_scroll.saturating_sub(1);
            }
        }
        Action::ScrollDown => {
            if state.audit.open {
                state.audit.scroll_by(1);
            } else if state.week.open {
                state.week.scroll_by(1);
            } else if state.help {
                state.help_scroll += 1;
            } else {
                state.event_scroll =
                    (state.event_scroll + 1).min(state.events.len().saturating_sub(1));
            }
        }
        Action::ScenarioErrorStorm => inject(state, Scenario::ErrorStorm, &mut effects),
        Action::ScenarioReplicaLag => inject(state, Scenario::ReplicaLag, &mut effects),
        Action::ScenarioCacheFlush => inject(state, Scenario::CacheFlush, &mut effects),
        Action::ScenarioOutage => inject(state, Scenario::Outage, &mut effects),
        Action::ClearScenarios => {
            if state.source.is_sim() {
                state.flash = Some("all simulated incidents ended".into());
                effects.push(Effect::Source(SourceCommand::ClearScenarios));
            } else {
                state.flash = Some("scenarios exist only on the simulated fleet".into());
            }
        }
        Action::Tick => {
            // Ages in stale markers move with time: redraw when anything is stale.
            if state.regions.iter().any(|r| !r.failures.is_empty()) {
                state.dirty = true;
            }
            return effects;
        }
        Action::Resize(w, h) => state.size = (w, h),
        Action::ClickRegion(i) => {
            // The console found the pane under the pointer in the frame it drew last.
            if state.view == View::Overview && i < state.regions.len() {
                if state.focus == i {
                    state.view = View::Detail;
                }
                state.focus = i;
            }
        }
        Action::Source(ev) => apply_source_event(state, ev),
        // Operations, their dialogs and reports: `dialog`.
        op @ (Action::ScaleUp
        | Action::ScaleDown
        | Action::Drain
        | Action::Restore
        | Action::Promote
        | Action::WhatIf
        | Action::AuditLog
        | Action::Undo) => effects = dialog::operation(state, &op),
        Action::WeekSummary => {
            state.week.open = !state.week.open;
            state.week.scroll = 0;
            // Each opening computes the week that ends now; one computation at a time.
            if state.week.open && !state.week.computing {
                state.week.computing = true;
                state.week.report = None;
                state.week.read_at = None;
                state.week.error = None;
                effects.push(Effect::Op(dialog::OpEffect::LoadWeek));
            }
        }
        Action::DialogKey(k) => effects = dialog::key(state, k),
        Action::Drills => effects = super::drill::toggle(state),
        Action::DrillKey(k) => effects = super::drill::key(state, k),
        Action::DrillReport(r) => super::drill::report(state, r),
        // What other operators do is not a dialog's business: logged, kept for the status line.
        Action::OpReport(OpReport::Others(others)) => others_seen(state, *others),
        Action::OpReport(OpReport::RegionWeek { region, result }) => {
            super::week_charts::report(state, region, result)
        }
        Action::OpReport(r) => effects = dialog::report(state, r),
    }
    state.dirty = true;
    effects
}

fn inject(state: &mut State, scenario: Scenario, effects: &mut Vec<Effect>) {
    if !state.source.is_sim() {
        state.flash = Some("scenarios exist only on the simulated fleet".into());
        return;
    }
    let region = state.focused().name().to_string();
    state.flash = Some(format!(
        "scenario {} injected into {region}",
        scenario.name()
    ));
    effects.push(Effect::Source(SourceCommand::Inject { region, scenario }));
}

fn apply_source_event(state: &mut State, ev: SourceEvent) {
    match ev {
        SourceEvent::Reading {
            region,
            at,
            reading,
        } => {
            if at > state.now {
                state.now = at;
            }
            if let Some(i) = state.region_index(&region) {
                state.regions[i].apply(at, reading);
                check_offline(state, at);
                reevaluate(state, i, at);
                check_cdn(state, at);
            }
        }
        SourceEvent::Failed {
            region,
            kind,
            at,
            error,
        } => {
            if let Some(i) = state.region_index(&region) {
                let was_failing = state.regions[i].failures.contains_key(&kind);
                let text = format!("{} fetch failed: {error}", kind.label());
                state.regions[i].fail(kind, at, error);
                if !was_failing {
                    state.log(at, Some(region), Status::Warn, text);
                }
                if !check_offline(state, at) {
                    let State {
                        fleet,
                        regions,
                        offline,
                        ..
                    } = state;
                    regions[i].reevaluate(fleet, at, offline.is_some());
                }
            }
        }
        SourceEvent::Clock(t) => {
            if t > state.now {
                state.now = t;
            }
        }
        SourceEvent::Identity(id) => state.identity = Some(id),
        SourceEvent::Note { at, region, text } => state.log(at, region, Status::Ok, text),
    }
}

/// Notice opsdeck losing or regaining AWS as a whole; on a change every region is judged again
/// (unknown while offline) and the change is logged once. Returns whether it changed.
fn check_offline(state: &mut State, at: chrono::DateTime<chrono::Utc>) -> bool {
    let offline = state.offline_since();
    if offline == state.offline {
        return false;
    }
    let was = state.offline.is_some();
    state.offline = offline;
    if was != offline.is_some() {
        let text = match offline {
            Some(since) => format!(
                "cannot reach AWS since {} UTC: every call fails (network or credentials); regions unknown until it answers",
                since.format("%H:%M:%S")
            ),
            None => "AWS answers again".to_string(),
        };
        state.log(at, None, Status::Warn, text);
    }
    let State {
        fleet,
        regions,
        offline,
        ..
    } = state;
    for r in regions.iter_mut() {
        r.reevaluate(fleet, at, offline.is_some());
    }
    true
}

/// Re-evaluate a region and log its threshold crossings (debounced) at the reading's time. While
/// opsdeck is offline nothing is logged: what it knows is old.
fn reevaluate(state: &mut State, i: usize, at: chrono::DateTime<chrono::Utc>) {
    let State {
        fleet,
        regions,
        offline,
        ..
    } = state;
    let region = &mut regions[i];
    let checked = region.reevaluate(fleet, at, offline.is_some());
    if offline.is_some() {
        return;
    }
    let lines = region.alerts.observe(at, &region.breaches, &checked);
    let name = region.name().to_string();
    for (level, text) in lines {
        state.log(at, Some(name.clone()), level, text);
    }
}

// ---- Overlays are modal: the open dialog, the audit view and the help take every key and click;
// no plan, view or focus change happens behind them. Drawn in this order too: dialog over the
// audit view over the help.

/// What sits on top of the view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    Dialog,
    Audit,
    Week,
    Help,
}

/// The overlay on top, if any.
pub fn top(state: &State) -> Option<Overlay> {
    if state.dialog.is_some() {
        Some(Overlay::Dialog)
    } else if state.audit.open {
        Some(Overlay::Audit)
    } else if state.week.open {
        Some(Overlay::Week)
    } else if state.help {
        Some(Overlay::Help)
    } else {
        None
    }
}

/// The overlay that swallows `action`, if one does. Data, time, reports, looks and the keys typed
/// into a dialog always pass; so does quitting. Otherwise each overlay takes only its own keys: a
/// dialog its typed keys (`DialogKey`), the audit view closing, scrolling and undo (which closes
/// it first), the help closing and scrolling.
pub fn captures(state: &State, action: &Action) -> Option<Overlay> {
    let top = top(state)?;
    let passes = match action {
        Action::Tick
        | Action::Resize(..)
        | Action::Source(_)
        | Action::OpReport(_)
        | Action::Look(_)
        | Action::DialogKey(_)
        | Action::DrillReport(_)
        | Action::Quit => true,
        a => match top {
            Overlay::Dialog => false,
            Overlay::Audit => matches!(
                a,
                Action::Back
                    | Action::ScrollUp
                    | Action::ScrollDown
                    | Action::AuditLog
                    | Action::Undo
            ),
            Overlay::Week => matches!(
                a,
                Action::Back | Action::ScrollUp | Action::ScrollDown | Action::WeekSummary
            ),
            Overlay::Help => matches!(
                a,
                Action::Back | Action::ScrollUp | Action::ScrollDown | Action::Help
            ),
        },
    };
    (!passes).then_some(top)
}

/// The flash when a key or click was swallowed.
pub fn hint(overlay: Overlay) -> String {
    match overlay {
        Overlay::Dialog => "a dialog is open: finish it or esc to close it first".into(),
        Overlay::Audit => "the audit log is open: esc closes it first".into(),
        Overlay::Week => "the week summary is open: esc closes it first".into(),
        Overlay::Help => "the help is open: esc or ? closes it first".into(),
    }
}

/// What the other operators do, as the console shows it: each new fact once in the event log (an
/// operation that ran, a lease taken, an approval asked for), the newest in the status line.
/// A poll of `Others` arrived: log what is new since the last one, keep it for the status line.
fn others_seen(state: &mut State, others: crate::ops::others::Others) {
    let now = others.read_at.unwrap_or(state.now);
    let old = std::mem::take(&mut state.others);
    for r in others.recent.iter().rev() {
        if !old.recent.iter().any(|o| o.id == r.id) {
            let level = if r.result.as_ref().is_some_and(|x| x.took_effect()) {
                Status::Ok
            } else {
                Status::Warn
            };
            state.log(r.time, Some(r.region.clone()), level, record_line(r, now));
        }
    }
    if let Some(h) = &others.lease {
        if old.lease.as_ref().map(|o| &o.token) != Some(&h.token) {
            let region = Some(h.op.region().to_string());
            state.log(h.since, region, Status::Warn, lease_line(h));
        }
    }
    for p in &others.pending {
        if !old.pending.iter().any(|o| o.id == p.id) {
            let region = Some(p.plan.region.clone());
            state.log(p.requested_at, region, Status::Warn, pending_line(p));
        }
    }
    state.others = others;
}

/// The fleet's CDN in the alert log: a line when it turns warn or crit (naming the thresholds
/// crossed), one when it recovers; no data (unknown) neither raises nor recovers.
fn check_cdn(state: &mut State, at: chrono::DateTime<chrono::Utc>) {
    let Some(cdn) = state.cdn() else { return };
    let (was, now) = (state.cdn_level, cdn.status);
    if now == Status::Unknown || now == was {
        return;
    }
    state.cdn_level = now;
    let text = match now {
        Status::Ok => format!("RECOVERED CDN (CloudFront {})", cdn.distribution),
        level => format!(
            "{} {}",
            level.as_str().to_uppercase(),
            cdn.breaches.join("; ")
        ),
    };
    state.log(at, None, now, text);
}
