//! The alert and event log: a strip of recent lines on the overview, and a full scrollable view.

use super::format;
use crate::app::{LogEvent, State};
use crate::config::Theme;
use crate::fleet::Status;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Scrollbar, ScrollbarOrientation, ScrollbarState, StatefulWidget, Widget,
};

/// Width of the region column: the longest region name of the fleet ("fleet" for fleet-wide lines).
fn region_width(state: &State) -> usize {
    state
        .regions
        .iter()
        .map(|r| format::width(r.name()))
        .max()
        .unwrap_or(5)
        .max(5)
}

fn time_label(e: &LogEvent, state: &State) -> String {
    if e.at.date_naive() == state.now.date_naive() {
        format::clock(e.at)
    } else {
        e.at.format("%m-%d %H:%M:%S").to_string()
    }
}

fn text_style(e: &LogEvent, theme: &Theme) -> Style {
    match e.level {
        Status::Warn | Status::Crit => theme.status(e.level),
        _ => theme.text,
    }
}

/// One log line: time, level symbol, region (left out when `region_w` is 0), text. The date is
/// shown when it is not today's.
pub fn event_line(e: &LogEvent, state: &State, theme: &Theme, region_w: usize) -> Line<'static> {
    let mut spans = vec![
        Span::styled(time_label(e, state), theme.muted),
        Span::raw(" "),
        Span::styled(theme.symbol(e.level).to_string(), theme.status(e.level)),
        Span::raw(" "),
    ];
    if region_w > 0 {
        spans.push(Span::styled(
            format::left(e.region.as_deref().unwrap_or("fleet"), region_w),
            theme.text,
        ));
        spans.push(Span::raw(" "));
    }
    spans.push(Span::styled(e.text.clone(), text_style(e, theme)));
    Line::from(spans)
}

/// An event as two lines for narrow boxes: "time symbol region", then the text indented.
fn event_lines_narrow(e: &LogEvent, state: &State, theme: &Theme) -> [Line<'static>; 2] {
    [
        Line::from(vec![
            Span::styled(time_label(e, state), theme.muted),
            Span::raw(" "),
            Span::styled(theme.symbol(e.level).to_string(), theme.status(e.level)),
            Span::raw(" "),
            Span::styled(
                e.region.clone().unwrap_or_else(|| "fleet".into()),
                theme.text,
            ),
        ]),
        Line::from(vec![
            Span::raw("  "),
            Span::styled(e.text.clone(), text_style(e, theme)),
        ]),
    ]
}

/// The newest events that fit inside `block` in `area`; two lines per event when narrow.
pub fn render_recent(area: Rect, buf: &mut Buffer, state: &State, theme: &Theme, block: Block<'_>) {
    let inner = block.inner(area);
    block.render(area, buf);
    if state.events.is_empty() {
        buf.set_line(
            inner.x,
            inner.y,
            &Line::from(Span::styled("no events yet", theme.muted)),
            inner.width,
        );
        return;
    }
    let region_w = region_width(state);
    let narrow = (inner.width as usize) < 9 + 2 + region_w + 1 + 40;
    let mut y = inner.y;
    for e in &state.events {
        if narrow {
            for line in event_lines_narrow(e, state, theme) {
                if y >= inner.y + inner.height {
                    return;
                }
                buf.set_line(inner.x, y, &line, inner.width);
                y += 1;
            }
        } else {
            if y >= inner.y + inner.height {
                return;
            }
            buf.set_line(
                inner.x,
                y,
                &event_line(e, state, theme, region_w),
                inner.width,
            );
            y += 1;
        }
    }
}

/// The events view: every event, newest first, from `state.event_scroll`, with a scrollbar.
pub fn render_log(area: Rect, buf: &mut Buffer, state: &State, theme: &Theme) {
    let total = state.events.len();
    let visible = area.height.saturating_sub(2) as usize;
    let first = state.event_scroll.min(total.saturating_sub(visible));
    let last = (first + visible).min(total);
    let range = if total == 0 {
        "no events".to_string()
    } else {
        format!("{}–{last} of {total}", first + 1)
    };
    let block = Block::bordered()
        .border_style(theme.border_focus)
        .title(Span::styled(
            " alert & event log · newest first ",
            theme.title,
        ))
        .title_top(Line::from(Span::styled(format!(" {range} "), theme.muted)).right_aligned());
    let inner = block.inner(area);
    block.render(area, buf);
    if total == 0 {
        let text = "no threshold crossings or events yet";
        buf.set_line(
            inner.x + 1,
            inner.y,
            &Line::from(Span::styled(text, theme.muted)),
            inner.width,
        );
        return;
    }
    let region_w = region_width(state);
    let text_area = Rect {
        width: inner.width.saturating_sub(1),
        ..inner
    };
    for (i, e) in state.events.iter().skip(first).take(visible).enumerate() {
        let line = event_line(e, state, theme, region_w);
        buf.set_line(
            text_area.x + 1,
            text_area.y + i as u16,
            &line,
            text_area.width.saturating_sub(1),
        );
    }
    if total > visible {
        let mut sb = ScrollbarState::new(total.saturating_sub(visible))
            .position(first)
            .viewport_content_length(visible);
        Scrollbar::new(ScrollbarOrientation::VerticalRight)
            .style(theme.border)
            .thumb_style(theme.border_focus)
            .render(area, buf, &mut sb);
    }
}
