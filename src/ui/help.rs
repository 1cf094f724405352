//! The help overlay: every binding of the active keymap, grouped by mode, as "keys  description".

use super::format;
use super::layout;
use crate::app::{Action, State};
use crate::config::keymap::key_label;
use crate::config::{Keymap, Mode, Theme};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Scrollbar, ScrollbarOrientation, ScrollbarState, StatefulWidget};

/// One group of the help: a mode and its (keys, description) rows in `Action::BINDABLE` order.
pub struct HelpGroup {
    pub mode: Mode,
    pub rows: Vec<(String, &'static str)>,
}

/// The keymap's bindings grouped by mode; the keys of one action in one mode share a row.
pub fn groups(keymap: &Keymap) -> Vec<HelpGroup> {
    let mut out = Vec::new();
    for mode in Mode::ALL {
        let mut rows: Vec<(String, &'static str)> = Vec::new();
        let in_mode: Vec<_> = keymap.bindings.iter().filter(|b| b.mode == mode).collect();
        let order = |a: &Action| {
            Action::BINDABLE
                .iter()
                .position(|x| x == a)
                .unwrap_or(usize::MAX)
        };
        let mut actions: Vec<&Action> = Vec::new();
        for b in &in_mode {
            if !actions.contains(&&b.action) {
                actions.push(&b.action);
            }
        }
        actions.sort_by_key(|a| order(a));
        for action in actions {
            let keys: Vec<String> = in_mode
                .iter()
                .filter(|b| &b.action == action)
                .map(|b| key_label(b.code, b.modifiers))
                .collect();
            rows.push((keys.join(", "), action.describe()));
        }
        if !rows.is_empty() {
            out.push(HelpGroup { mode, rows });
        }
    }
    out
}

/// The help's text lines: a heading per mode, then its rows.
pub fn lines(keymap: &Keymap, theme: &Theme) -> Vec<Line<'static>> {
    let groups = groups(keymap);
    let key_w = groups
        .iter()
        .flat_map(|g| g.rows.iter())
        .map(|(k, _)| format::width(k))
        .max()
        .unwrap_or(0)
        .min(18);
    let mut out = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        if i > 0 {
            out.push(Line::raw(""));
        }
        let heading = match g.mode {
            Mode::Global => "everywhere".to_string(),
            m => format!("{} view", m.as_str()),
        };
        out.push(Line::from(Span::styled(heading, theme.title)));
        for (keys, desc) in &g.rows {
            out.push(Line::from(vec![
                Span::raw("  "),
                Span::styled(format::left(keys, key_w), theme.accent),
                Span::raw("  "),
                Span::styled(*desc, theme.text),
            ]));
        }
    }
    out
}

/// The overlay, centred over whatever is under it, scrolled by `state.help_scroll`.
pub fn render(area: Rect, buf: &mut Buffer, state: &State, theme: &Theme, keymap: &Keymap) {
    let lines = lines(keymap, theme);
    let content_w = lines.iter().map(|l| l.width()).max().unwrap_or(20) as u16;
    let popup = layout::centered(area, (content_w + 6).max(44), lines.len() as u16 + 2);
    let visible = popup.height.saturating_sub(2) as usize;
    let max_scroll = lines.len().saturating_sub(visible);
    let first = state.help_scroll.min(max_scroll);
    let close = keymap
        .keys_for(Mode::Help, &Action::Back)
        .into_iter()
        .next()
        .unwrap_or_else(|| "esc".into());
    let mut bottom = format!(" {close} close ");
    if max_scroll > 0 {
        bottom = format!(
            " {}–{} of {} · {bottom}",
            first + 1,
            (first + visible).min(lines.len()),
            lines.len()
        );
    }
    let inner = layout::overlay_frame(
        popup,
        buf,
        theme,
        format!(" help · keymap: {} ", keymap.name),
        bottom,
    );
    for (i, line) in lines.iter().skip(first).take(visible).enumerate() {
        buf.set_line(
            inner.x + 1,
            inner.y + i as u16,
            line,
            inner.width.saturating_sub(2),
        );
    }
    if max_scroll > 0 {
        let mut sb = ScrollbarState::new(max_scroll)
            .position(first)
            .viewport_content_length(visible);
        Scrollbar::new(ScrollbarOrientation::VerticalRight)
            .thumb_style(theme.border_focus)
            .render(popup, buf, &mut sb);
    }
}
