//! The audit log overlay: the latest records, newest first — when, what, result, who.

use super::format;
use super::layout;
use crate::app::State;
use crate::config::Theme;
use crate::ops::audit::{AuditRecord, Decision, Phase};
use crate::ops::OpResult;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// "requested", or how it ended.
fn outcome(r: &AuditRecord, theme: &Theme) -> (String, Style) {
    match (r.phase, &r.result) {
        (Phase::Requested, _) if r.decision == Decision::Refused => {
            ("requested (refused)".into(), theme.muted)
        }
        (Phase::Requested, _) => ("requested".into(), theme.muted),
        (Phase::Ended, Some(OpResult::Applied)) => ("applied".into(), theme.ok),
        (
            Phase::Ended,
            Some(res @ (OpResult::NotYetVerified { .. } | OpResult::Refused { .. })),
        ) => (res.label().into(), theme.warn),
        (Phase::Ended, Some(res)) => (res.label().into(), theme.crit),
        (Phase::Ended, None) => ("ended".into(), theme.muted),
    }
}

/// " audit log · newest 200 records · 1 unreadable line skipped ".
fn title(view: &crate::app::AuditView) -> String {
    let newest = if view.partial { "newest " } else { "" };
    let mut t = format!(" audit log · {newest}{} records ", view.records.len());
    match view.bad_lines {
        0 => {}
        1 => t.push_str("· 1 unreadable line skipped "),
        n => t.push_str(&format!("· {n} unreadable lines skipped ")),
    }
    t
}

pub fn render(area: Rect, buf: &mut Buffer, state: &State, theme: &Theme) {
    let view = &state.audit;
    if !view.open {
        return;
    }
    let rect = layout::centered(
        area,
        area.width.saturating_sub(4).min(120),
        area.height.saturating_sub(2),
    );
    let inner = layout::overlay_frame(
        rect,
        buf,
        theme,
        title(view),
        " u undo last reversible · ↑/↓ scroll · esc close ".into(),
    );
    let width = inner.width.saturating_sub(2);
    let mut lines: Vec<Line> = Vec::new();
    if let Some(e) = &view.error {
        lines.push(Line::styled(
            format!("cannot read the audit log: {e}"),
            theme.crit,
        ));
    }
    if view.records.is_empty() && view.error.is_none() {
        lines.push(Line::styled("no operation recorded yet", theme.muted));
    }
    for r in view.records.iter().skip(view.scroll) {
        let (what, style) = outcome(r, theme);
        let time = r.time.format("%m-%d %H:%M:%S").to_string();
        let mut spans = vec![
            Span::styled(time, theme.muted),
            Span::raw("  "),
            Span::styled(format::left(&what, 19), style),
            Span::raw("  "),
            Span::raw(r.op.summary()),
        ];
        if !r.overrides.is_empty() {
            spans.push(Span::styled(
                format!("  override: {}", r.overrides.join(", ")),
                theme.warn,
            ));
        }
        spans.push(Span::styled(format!("  · {}", r.operator), theme.muted));
        lines.push(Line::from(spans));
        if let Some(reason) = r.result.as_ref().and_then(|x| x.reason()) {
            lines.push(Line::styled(
                format!(
                    "{}{}",
                    " ".repeat(16),
                    format::fit(reason, (width as usize).saturating_sub(16))
                ),
                style,
            ));
        }
    }
    for (i, line) in lines.iter().take(inner.height as usize).enumerate() {
        buf.set_line(inner.x + 1, inner.y + i as u16, line, width);
    }
}
