//! The operation dialogs: choose a count, the plan (diff, API calls, guards, notes) with the typed
//! confirmation, progress, the result, the what-if and errors. Pure: state in, cells out. Verdicts
//! are words (pass / BLOCK / OVERRIDDEN), so they read without colour.

use super::format;
use super::layout;
use crate::app::dialog::{Dialog, PlanDialog, Prompt};
use crate::app::State;
use crate::config::Theme;
use crate::ops::plan_lines::{self, PlanLine, Verdict};
use crate::ops::{OpResult, Outcome};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Widget};

/// Draw the open dialog, if any, over `area`.
pub fn render(area: Rect, buf: &mut Buffer, state: &State, theme: &Theme) {
    let Some(dialog) = &state.dialog else { return };
    match dialog {
        Dialog::Count {
            region,
            services,
            index,
            desired,
            typing,
        } => {
            let t = &services[*index];
            let cursor = if *typing { "▏" } else { "" };
            let what = if t.nodegroup { "EKS node group " } else { "" };
            let lines = vec![
                Line::raw(format!("{what}{}/{} in {region}", t.cluster, t.name)),
                Line::raw(""),
                Line::from(vec![
                    Span::raw(format!("desired {}: {} → ", t.unit(), t.desired)),
                    Span::styled(format!("[ {desired}{cursor} ]"), theme.accent),
                ]),
                Line::raw(""),
                Line::styled(
                    "type a number or +/- · tab next service · enter plan · esc cancel",
                    theme.muted,
                ),
            ];
            simple(area, buf, theme, " scale ", lines, theme.border_focus);
        }
        Dialog::Waiting { title, .. } => {
            let lines = vec![
                Line::raw(title.clone()),
                Line::styled("reading the fleet…", theme.muted),
            ];
            simple(area, buf, theme, " please wait ", lines, theme.border_focus);
        }
        Dialog::Running { summary, .. } => {
            let lines = vec![
                Line::raw(summary.clone()),
                Line::styled(
                    "executing, then watching until the fleet settles (esc hides this)",
                    theme.muted,
                ),
            ];
            simple(area, buf, theme, " running ", lines, theme.border_focus);
        }
        Dialog::Accepted(a) => {
            let lines = vec![
                Line::raw(a.op.summary()),
                Line::raw(""),
                Line::styled(
                    format!("ACCEPTED at {}", a.at.format("%H:%M:%S UTC")),
                    theme.ok,
                ),
                Line::raw("watching until the fleet shows the new state;"),
                Line::raw("the event log says when it settles"),
                Line::raw(""),
                Line::styled(format!("audit id {}", a.id), theme.muted),
                Line::styled("enter / esc close (the watch goes on)", theme.muted),
            ];
            simple(area, buf, theme, " accepted ", lines, theme.border_focus);
        }
        Dialog::Plan(p) => plan(area, buf, p, state.now, theme),
        Dialog::Result(o) => result(area, buf, o, theme),
        Dialog::WhatIf { report, scroll } => {
            let lines: Vec<Line> = crate::ops::text::what_if(report)
                .lines()
                .map(|l| Line::raw(l.to_string()))
                .collect();
            let popup = Scrolled {
                title: format!(" what-if: {} fails now ", report.failed),
                body: lines,
                foot: vec![Line::styled("↑/↓ scroll · esc close", theme.muted)],
                scroll: *scroll,
                border: theme.border_focus,
            };
            scrolled(area, buf, theme, popup);
        }
        Dialog::Error { title, message } => {
            let mut lines: Vec<Line> = format::wrap(message, 70)
                .into_iter()
                .map(|l| Line::styled(l, theme.crit))
                .collect();
            lines.push(Line::raw(""));
            lines.push(Line::styled("nothing ran · esc close", theme.muted));
            simple(area, buf, theme, &format!(" {title} "), lines, theme.crit);
        }
    }
}

/// A popup sized to its lines.
fn simple(
    area: Rect,
    buf: &mut Buffer,
    theme: &Theme,
    title: &str,
    lines: Vec<Line>,
    border: Style,
) {
    let w = lines
        .iter()
        .map(|l| l.width())
        .max()
        .unwrap_or(0)
        .max(format::width(title)) as u16
        + 4;
    let rect = layout::centered(area, w, lines.len() as u16 + 2);
    let inner = frame(rect, buf, theme, title, border);
    for (i, line) in lines.iter().take(inner.height as usize).enumerate() {
        buf.set_line(
            inner.x + 1,
            inner.y + i as u16,
            line,
            inner.width.saturating_sub(2),
        );
    }
}

fn frame(rect: Rect, buf: &mut Buffer, theme: &Theme, title: &str, border: Style) -> Rect {
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(border)
        .title(Span::styled(title.to_string(), theme.title));
    Clear.render(rect, buf);
    buf.set_style(rect, theme.text);
    let inner = block.inner(rect);
    block.render(rect, buf);
    inner
}

/// A large popup: a body scrolled by `scroll` and a fixed footer.
struct Scrolled<'a> {
    title: String,
    body: Vec<Line<'a>>,
    foot: Vec<Line<'a>>,
    scroll: u16,
    border: Style,
}

fn scrolled(area: Rect, buf: &mut Buffer, theme: &Theme, p: Scrolled) {
    let w = area.width.saturating_sub(4).min(110);
    let h = (p.body.len() + p.foot.len() + 3) as u16;
    let rect = layout::centered(area, w, h.min(area.height.saturating_sub(2)).max(6));
    let inner = frame(rect, buf, theme, &p.title, p.border);
    let foot_h = (p.foot.len() as u16 + 1).min(inner.height);
    let body_h = inner.height - foot_h;
    let first = (p.scroll as usize).min(p.body.len().saturating_sub(body_h as usize));
    for (i, line) in p.body.iter().skip(first).take(body_h as usize).enumerate() {
        buf.set_line(
            inner.x + 1,
            inner.y + i as u16,
            line,
            inner.width.saturating_sub(2),
        );
    }
    if first + (body_h as usize) < p.body.len() && body_h > 0 {
        let more = format!("↓ {} more", p.body.len() - first - body_h as usize);
        let x = inner
            .right()
            .saturating_sub(more.chars().count() as u16 + 1);
        buf.set_string(x, inner.y + body_h - 1, more, theme.muted);
    }
    for (i, line) in p.foot.iter().enumerate() {
        let y = inner.y + body_h + 1 + i as u16;
        if y < inner.bottom() {
            buf.set_line(inner.x + 1, y, line, inner.width.saturating_sub(2));
        }
    }
}

/// Cut `s` into pieces of at most `max` columns (JSON has no spaces to wrap at).
fn chunks(s: &str, max: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    chars
        .chunks(max.max(1))
        .map(|c| c.iter().collect())
        .collect()
}

fn heading<'a>(text: &'a str, theme: &Theme) -> Line<'a> {
    Line::styled(text, theme.header)
}

fn plan(
    area: Rect,
    buf: &mut Buffer,
    d: &PlanDialog,
    now: chrono::DateTime<chrono::Utc>,
    theme: &Theme,
) {
    let p = &d.prepared.plan;
    let width = area.width.saturating_sub(8).min(106) as usize;
    let lines = plan_lines::lines(p, &d.prepared.guards, &d.overrides);
    let rule_w = plan_lines::rule_width(&lines);
    let mut body = Vec::new();
    if let Some(m) = &d.moved {
        body.push(Line::styled(
            "PLANNED AGAIN  nothing ran: the fleet moved since the plan you confirmed",
            theme.warn,
        ));
        let what = crate::ops::stale::what_moved(m);
        for piece in format::wrap(what, width.saturating_sub(2)) {
            body.push(Line::styled(format!("  {piece}"), theme.warn));
        }
        body.push(Line::raw(""));
    }
    for line in lines {
        match line {
            PlanLine::Heading(h) => body.push(heading(h, theme)),
            PlanLine::Change {
                resource,
                field,
                before,
                after,
            } => body.push(Line::from(vec![
                Span::raw(format!("  {resource}  {field}: ")),
                Span::styled(format!("{before} → {after}"), theme.accent),
            ])),
            PlanLine::NoChange => body.push(Line::styled("  none", theme.muted)),
            PlanLine::Call { head, params } => {
                body.push(Line::raw(format!("  {head}")));
                for piece in chunks(&params, width.saturating_sub(4)) {
                    body.push(Line::styled(format!("    {piece}"), theme.muted));
                }
            }
            PlanLine::Guard {
                verdict,
                rule,
                reason,
            } => {
                let (word, style, tail) = match verdict {
                    Verdict::Pass => ("pass      ", theme.ok, ""),
                    Verdict::Overridden => ("OVERRIDDEN", theme.warn, ""),
                    Verdict::Block { overridable } => (
                        "BLOCK     ",
                        theme.crit,
                        if overridable { " (overridable)" } else { "" },
                    ),
                };
                let text = format!("{rule:<rule_w$}  {reason}{tail}");
                for (i, piece) in format::wrap(&text, width.saturating_sub(14))
                    .into_iter()
                    .enumerate()
                {
                    let lead = if i == 0 {
                        Span::styled(format!("  {word}  "), style)
                    } else {
                        Span::raw(" ".repeat(14))
                    };
                    let text_style = if verdict == Verdict::Pass {
                        theme.text
                    } else {
                        style
                    };
                    body.push(Line::from(vec![lead, Span::styled(piece, text_style)]));
                }
            }
            PlanLine::Note(n) => {
                for (i, piece) in format::wrap(&n, width.saturating_sub(4))
                    .into_iter()
                    .enumerate()
                {
                    let indent = if i == 0 { "  " } else { "    " };
                    body.push(Line::raw(format!("{indent}{piece}")));
                }
            }
            PlanLine::After(a) => body.push(Line::raw(format!("  {a}"))),
            PlanLine::Undo(u) => body.push(Line::raw(format!("UNDO  {u}"))),
            PlanLine::OneWay => body.push(Line::styled("UNDO  none: one-way", theme.warn)),
        }
    }
    let input = Span::styled(format!("{}▏", d.input), theme.accent);
    let mut foot = vec![match d.prompt() {
        Prompt::Confirm(region) => Line::from(vec![
            Span::raw(format!("type {region} to run: ")),
            input,
            Span::styled("   enter run · esc cancel", theme.muted),
        ]),
        Prompt::Override(rule) => Line::from(vec![
            Span::styled(
                format!("{rule} blocks; type {rule} to override it (logged): "),
                theme.warn,
            ),
            input,
        ]),
        Prompt::Blocked(rule) => Line::styled(
            format!("blocked by {rule}: this operation cannot run · esc close"),
            theme.crit,
        ),
        Prompt::Nothing => Line::styled("nothing to change · esc close", theme.muted),
    }];
    if let Some(m) = &d.message {
        for piece in format::wrap(m, width) {
            foot.push(Line::styled(piece, theme.warn));
        }
    }
    foot.push(Line::styled(plan_age(p.read_at, now), theme.muted));
    let border = if d.prepared.blocked().is_empty() {
        theme.border_focus
    } else {
        theme.crit
    };
    let title = format!(" plan: {} ", p.op.summary());
    scrolled(
        area,
        buf,
        theme,
        Scrolled {
            title,
            body,
            foot,
            scroll: d.scroll,
            border,
        },
    );
}

fn result(area: Rect, buf: &mut Buffer, o: &Outcome, theme: &Theme) {
    let style = match o.result {
        OpResult::Applied => theme.ok,
        OpResult::NotYetVerified { .. } | OpResult::Refused { .. } => theme.warn,
        OpResult::Failed { .. } => theme.crit,
    };
    let mut lines = vec![
        Line::raw(o.plan.op.summary()),
        Line::raw(""),
        Line::styled(o.result.label().to_uppercase(), style),
    ];
    // "accepted at T, settled at T (after N s)" or "…, not settled after N s: what is pending".
    let detail = match o.accepted_at {
        Some(at) => Some(crate::ops::outcome::settle_text(
            &o.result,
            at,
            o.settled_at,
        )),
        None => o.result.reason().map(str::to_string),
    };
    if let Some(reason) = detail {
        lines.extend(
            format::wrap(&reason, 72)
                .into_iter()
                .map(|l| Line::styled(l, style)),
        );
    }
    lines.push(Line::raw(""));
    if !o.overrides.is_empty() {
        lines.push(Line::styled(
            format!("overrides logged: {}", o.overrides.join(", ")),
            theme.warn,
        ));
    }
    lines.push(Line::styled(format!("audit id {}", o.id), theme.muted));
    lines.push(match &o.undo {
        Some(u) => Line::raw(format!("undo (u): {}", u.summary())),
        None if !o.plan.reversible && o.result.took_effect() => {
            Line::raw("one-way: cannot be undone")
        }
        None => Line::raw("nothing to undo"),
    });
    lines.push(Line::styled("enter / esc close", theme.muted));
    simple(
        area,
        buf,
        theme,
        &format!(" result: {} ", o.result.label()),
        lines,
        style,
    );
}

/// "planned from a read at 14:00:00 UTC, 6 min ago": the age of what the plan shows, on the
/// console's clock (the simulated clock on the simulated fleet).
pub fn plan_age(
    read_at: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let secs = (now - read_at).num_seconds().max(0);
    let ago = if secs < 90 {
        format!("{secs} s ago")
    } else if secs < 90 * 60 {
        format!("{} min ago", (secs + 30) / 60)
    } else {
        format!("{:.1} h ago", secs as f64 / 3600.0)
    };
    format!(
        "planned from a read at {} UTC, {ago} (checked again when you confirm)",
        read_at.format("%H:%M:%S")
    )
}
