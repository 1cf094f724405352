//! The footer: key hints for the current mode from the active keymap, and the flash message.

use super::format::{self, fit};
use crate::app::{Action, State, View};
use crate::config::{Keymap, Mode, Theme};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

/// The keymap mode the console is in.
pub fn mode(state: &State) -> Mode {
    if state.help {
        return Mode::Help;
    }
    match state.view {
        View::Overview => Mode::Overview,
        View::Detail => Mode::Detail,
        View::Events => Mode::Events,
    }
}

/// The hints worth a footer slot in each mode, most useful first, with a one-word label.
fn hints(mode: Mode) -> &'static [(Action, &'static str)] {
    match mode {
        Mode::Help => &[
            (Action::Back, "close"),
            (Action::ScrollDown, "scroll down"),
            (Action::ScrollUp, "scroll up"),
        ],
        Mode::Detail => &[
            (Action::Help, "help"),
            (Action::Back, "back"),
            (Action::NextWindow, "longer"),
            (Action::PrevWindow, "shorter"),
            (Action::NextRegion, "next region"),
            (Action::Events, "events"),
            (Action::Quit, "quit"),
        ],
        Mode::Events => &[
            (Action::Help, "help"),
            (Action::Back, "back"),
            (Action::ScrollDown, "scroll down"),
            (Action::ScrollUp, "scroll up"),
            (Action::Quit, "quit"),
        ],
        Mode::Overview | Mode::Global => &[
            (Action::Help, "help"),
            (Action::Quit, "quit"),
            (Action::OpenDetail, "detail"),
            (Action::NextRegion, "next"),
            (Action::Events, "events"),
            (Action::WhatIf, "what-if"),
            (Action::Drain, "drain"),
            (Action::ScaleUp, "scale"),
            (Action::AuditLog, "audit"),
            (Action::Refresh, "refresh"),
            (Action::NextTheme, "theme"),
        ],
    }
}

/// "? help  q quit  enter detail ..." fitted to `max` columns; actions without a key are left out.
pub fn hint_spans(keymap: &Keymap, mode: Mode, theme: &Theme, max: usize) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    let mut used = 0;
    for (action, label) in hints(mode) {
        let Some(key) = keymap.keys_for(mode, action).into_iter().next() else {
            continue;
        };
        let w = format::width(&key) + 1 + format::width(label) + 2;
        if used + w > max {
            break;
        }
        used += w;
        spans.push(Span::styled(key, theme.accent));
        spans.push(Span::styled(format!(" {label}  "), theme.muted));
    }
    spans
}

pub fn render(area: Rect, buf: &mut Buffer, state: &State, theme: &Theme, keymap: &Keymap) {
    let w = area.width as usize;
    // An accepted operation still settling is worth the slot when nothing else is flashed.
    let watching = state.watching.last().map(|a| {
        let more = match state.watching.len() {
            1 => String::new(),
            n => format!(" (+{} more)", n - 1),
        };
        format!(
            "watching: {} (accepted {}){more}",
            a.op.summary(),
            a.at.format("%H:%M:%S")
        )
    });
    let flash = state
        .flash
        .clone()
        .or(watching)
        .as_deref()
        .map(|f| fit(f, w.saturating_sub(2) * 2 / 3))
        .unwrap_or_default();
    let flash_w = if flash.is_empty() {
        0
    } else {
        format::width(&flash) + 2
    };
    let mut spans = vec![Span::raw(" ")];
    spans.extend(hint_spans(
        keymap,
        mode(state),
        theme,
        w.saturating_sub(1 + flash_w),
    ));
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
    if flash_w > 0 {
        let x = area.x + (w - flash_w + 1) as u16;
        buf.set_line(
            x,
            area.y,
            &Line::from(Span::styled(flash, theme.accent)),
            area.width,
        );
    }
}
