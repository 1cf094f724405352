//! The UI message. Bindable variants deserialize from keymap files (snake_case); internal ones are
//! `#[serde(skip)]` so a keymap cannot bind them.

use super::dialog::{DialogKey, OpReport};
use super::drill::DrillReport;
use crate::source::SourceEvent;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Quit,
    /// Open or close the help overlay.
    Help,
    NextRegion,
    PrevRegion,
    /// Open the focused region's detail view.
    OpenDetail,
    /// Close the dialog, overlay or view on top; back to the overview.
    Back,
    /// Chart window: 15 m → 1 h → 6 h → 24 h → 7 d (the week from the review's reads).
    NextWindow,
    PrevWindow,
    /// Open or close the alert and event log.
    Events,
    NextTheme,
    NextKeymap,
    /// Fetch everything now.
    Refresh,
    ScrollUp,
    ScrollDown,
    /// Inject a 5xx storm into the focused region (simulated fleet).
    ScenarioErrorStorm,
    /// Make the focused region's replica fall behind (simulated fleet).
    ScenarioReplicaLag,
    /// Flush the focused region's cache (simulated fleet).
    ScenarioCacheFlush,
    /// Take the focused region down (simulated fleet).
    ScenarioOutage,
    /// End every injected scenario (simulated fleet).
    ClearScenarios,
    /// Scale the focused region's service up (asks for the count).
    ScaleUp,
    /// Scale the focused region's service down (asks for the count).
    ScaleDown,
    /// Drain the focused region (Route53 weight 0).
    Drain,
    /// Restore the focused region's Route53 weight.
    Restore,
    /// Promote the focused region's read replica.
    Promote,
    /// What if the focused region failed now.
    WhatIf,
    /// Open or close the audit log.
    AuditLog,
    /// Undo the last reversible operation.
    Undo,
    /// Open or close the week summary: SLO attainment, error budget and cost of the last 7 days.
    WeekSummary,
    /// Open or hide the drill walkthrough: runbooks, a drill step by step, past runs.
    Drills,

    // ---- internal, never bound ----
    #[serde(skip)]
    Tick,
    #[serde(skip)]
    Resize(u16, u16),
    /// A click on the n-th region pane of the overview (the console hit-tests the drawn frame).
    #[serde(skip)]
    ClickRegion(usize),
    /// The loop loaded (or failed to load) the theme or keymap an update asked for.
    #[serde(skip)]
    Look(LookReport),
    #[serde(skip)]
    Source(SourceEvent),
    /// A key typed while an operation dialog is open.
    #[serde(skip)]
    DialogKey(DialogKey),
    /// An operation's plan, result, what-if or audit records arrived.
    #[serde(skip)]
    OpReport(OpReport),
    /// A key typed while the drill panel is open.
    #[serde(skip)]
    DrillKey(DialogKey),
    /// Runbooks listed, a drill's events, holds and end, a past run read back.
    #[serde(skip)]
    DrillReport(DrillReport),
}

impl Action {
    /// Every bindable action, in the order the help lists them.
    pub const BINDABLE: &'static [Action] = &[
        Action::Help,
        Action::Quit,
        Action::NextRegion,
        Action::PrevRegion,
        Action::OpenDetail,
        Action::Back,
        Action::NextWindow,
        Action::PrevWindow,
        Action::Events,
        Action::ScrollUp,
        Action::ScrollDown,
        Action::Refresh,
        Action::NextTheme,
        Action::NextKeymap,
        Action::ScenarioErrorStorm,
        Action::ScenarioReplicaLag,
        Action::ScenarioCacheFlush,
        Action::ScenarioOutage,
        Action::ClearScenarios,
        Action::ScaleUp,
        Action::ScaleDown,
        Action::Drain,
        Action::Restore,
        Action::Promote,
        Action::WhatIf,
        Action::AuditLog,
        Action::Undo,
        Action::WeekSummary,
        Action::Drills,
    ];

    /// What the action does, for the help overlay.
    pub fn describe(&self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "show / hide this help",
            Action::NextRegion => "focus next region",
            Action::PrevRegion => "focus previous region",
            Action::OpenDetail => "open region detail (charts)",
            Action::Back => "close / back to overview",
            Action::NextWindow => "chart window: longer (up to 7d)",
            Action::PrevWindow => "chart window: shorter",
            Action::Events => "alert & event log",
            Action::NextTheme => "next theme",
            Action::NextKeymap => "next keymap",
            Action::Refresh => "refresh now",
            Action::ScrollUp => "scroll up",
            Action::ScrollDown => "scroll down",
            Action::ScenarioErrorStorm => "sim: 5xx storm in focused region",
            Action::ScenarioReplicaLag => "sim: replica falls behind",
            Action::ScenarioCacheFlush => "sim: flush the cache",
            Action::ScenarioOutage => "sim: region outage",
            Action::ClearScenarios => "sim: end all incidents",
            Action::ScaleUp => "op: scale the focused region up",
            Action::ScaleDown => "op: scale the focused region down",
            Action::Drain => "op: drain the focused region (weight 0)",
            Action::Restore => "op: restore the focused region's weight",
            Action::Promote => "op: promote the focused region's replica",
            Action::WhatIf => "what-if: the focused region fails now",
            Action::AuditLog => "audit log of operations",
            Action::Undo => "op: undo the last reversible operation",
            Action::WeekSummary => "week summary: SLO, error budget, cost (7 days)",
            Action::Drills => "DR drills: runbooks step by step, past runs",
            Action::Tick
            | Action::Resize(..)
            | Action::ClickRegion(_)
            | Action::Look(_)
            | Action::Source(_)
            | Action::DialogKey(_)
            | Action::OpReport(_)
            | Action::DrillKey(_)
            | Action::DrillReport(_) => "",
        }
    }

    /// The snake_case name used in keymap files.
    pub fn name(&self) -> String {
        let dbg = format!("{self:?}");
        let head = dbg.split(['(', ' ', '{']).next().unwrap_or("");
        let mut out = String::new();
        for (i, c) in head.chars().enumerate() {
            if c.is_uppercase() {
                if i > 0 {
                    out.push('_');
                }
                out.extend(c.to_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    }
}

/// Which look a switch is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookKind {
    Theme,
    Keymap,
}

impl LookKind {
    pub fn label(self) -> &'static str {
        match self {
            LookKind::Theme => "theme",
            LookKind::Keymap => "keymap",
        }
    }
}

/// What the loop reports after loading a look.
#[derive(Debug, Clone, PartialEq)]
pub enum LookReport {
    /// The keymap loaded; these bindings conflict (the later one wins).
    KeymapConflicts(Vec<String>),
    /// `wanted` could not be loaded: `kept` stays in use.
    Failed {
        kind: LookKind,
        wanted: String,
        kept: String,
        error: String,
    },
}
