//! The week summary overlay: per region the SLO attainment against target, the error budget left,
//! the worst 1 h burn, incidents, and cost against budget over the last 7 days; the fleet's
//! headline on top. The numbers are `opsdeck report`'s (`report::week`), formatted as its
//! Markdown formats them (`report::render`).

use super::format;
use super::layout;
use crate::app::State;
use crate::config::Theme;
use crate::report::render::{budget_cell, num, pct, status, usd};
use crate::report::Report;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// Column widths: region, availability (target), error budget left, its status, worst 1 h burn,
/// incidents,
/// cost 7 d; the forecast against the budget takes the rest.
const COLS: [usize; 7] = [16, 22, 8, 9, 9, 6, 11];

fn row(cells: &[String], rest: &str) -> String {
    let mut s = String::new();
    for (c, w) in cells.iter().zip(COLS) {
        s.push_str(&format::left(c, w));
        s.push(' ');
    }
    s.push_str(rest);
    s
}

fn status_style(word: &str, theme: &Theme) -> Style {
    match word {
        "OK" => theme.ok,
        "WARNING" => theme.warn,
        "BREACHED" => theme.crit,
        _ => theme.muted,
    }
}

/// The lines of a computed review.
fn lines<'a>(r: &Report, scroll: usize, theme: &Theme) -> Vec<Line<'a>> {
    let mut out = vec![
        Line::from(vec![
            Span::styled("fleet  ", theme.muted),
            Span::raw(format!(
                "availability {} (target {})  ·  budget left {}  ·  incidents {}",
                pct(r.overall.availability, 3),
                pct(Some(r.slo.availability), 2),
                pct(r.overall.budget_remaining, 0),
                r.overall.incidents
            )),
        ]),
        Line::from(vec![
            Span::styled("cost   ", theme.muted),
            Span::raw(format!(
                "7 days {}  ·  month to date {}  ·  forecast / budget {}",
                usd(r.overall_cost.window_usd),
                usd(r.overall_cost.month_to_date_usd),
                budget_cell(&r.overall_cost)
            )),
        ]),
        Line::raw(""),
        Line::styled(
            row(
                &[
                    "region".into(),
                    "availability (target)".into(),
                    "budget".into(),
                    "status".into(),
                    "burn 1 h".into(),
                    "inc.".into(),
                    "cost 7 d".into(),
                ],
                "forecast / budget",
            ),
            theme.title,
        ),
    ];
    for x in r.regions.iter().skip(scroll) {
        let word = status(x);
        let cells = [
            x.name.clone(),
            format!(
                "{} ({})",
                pct(x.availability.attained, 3),
                pct(Some(x.availability.target), 2)
            ),
            pct(x.availability.budget_remaining, 0),
        ];
        let tail = [
            num(x.burn_rate_max.one_hour, 1, "x"),
            x.incidents.len().to_string(),
            usd(x.cost.window_usd),
        ];
        let budget = budget_cell(&x.cost);
        let over = x.cost.over_budget() == Some(true);
        let mut spans = vec![Span::raw(row(&cells, ""))];
        spans.push(Span::styled(
            format!("{} ", format::left(&word, COLS[3])),
            status_style(&word, theme),
        ));
        let mut rest = String::new();
        for (c, w) in tail.iter().zip(&COLS[4..]) {
            rest.push_str(&format::left(c, *w));
            rest.push(' ');
        }
        spans.push(Span::raw(rest));
        spans.push(Span::styled(
            budget,
            if over { theme.crit } else { theme.text },
        ));
        out.push(Line::from(spans));
    }
    out
}

pub fn render(area: Rect, buf: &mut Buffer, state: &State, theme: &Theme) {
    let view = &state.week;
    if !view.open {
        return;
    }
    let rect = layout::centered(
        area,
        area.width.saturating_sub(4).min(130),
        area.height.saturating_sub(2),
    );
    let read = view
        .read_at
        .map(|t| format!(" · read {}", format::clock(t)))
        .unwrap_or_default();
    let title = match &view.report {
        Some(r) => format!(
            " week summary · {} · {} → {} UTC{read} ",
            r.fleet,
            r.from.format("%a %m-%d %H:%M"),
            r.until.format("%a %m-%d %H:%M")
        ),
        None => " week summary · last 7 days ".into(),
    };
    let inner = layout::overlay_frame(
        rect,
        buf,
        theme,
        title,
        " as `opsdeck report --since 7d` · ↑/↓ scroll · esc close ".into(),
    );
    let width = inner.width.saturating_sub(2);
    let mut out: Vec<Line> = Vec::new();
    if let Some(since) = state.offline {
        // Offline: whatever is shown was read before; say so, with when.
        let text = match (view.report.is_some(), view.read_at) {
            (true, Some(at)) if at <= since => format!(
                "{} opsdeck cannot reach AWS since {} UTC: these numbers were read at {} UTC, before it went offline",
                theme.symbols.stale,
                format::clock(since),
                format::clock(at)
            ),
            (true, Some(at)) => format!(
                "{} opsdeck cannot reach AWS since {} UTC: these numbers were read at {} UTC",
                theme.symbols.stale,
                format::clock(since),
                format::clock(at)
            ),
            _ => format!(
                "{} opsdeck cannot reach AWS since {} UTC: the week cannot be read until it can",
                theme.symbols.stale,
                format::clock(since)
            ),
        };
        for part in format::wrap(&text, width as usize) {
            out.push(Line::styled(part, theme.stale));
        }
    }
    if let Some(e) = &view.error {
        out.push(Line::styled(
            format!(
                "cannot compute the week: {}",
                format::fit(e, width as usize)
            ),
            theme.crit,
        ));
    }
    if view.computing {
        out.push(Line::styled(
            "computing… (the review of the 7 days that end now, as `opsdeck report` makes it)",
            theme.muted,
        ));
    }
    if let Some(r) = &view.report {
        out.extend(lines(r, view.scroll, theme));
    }
    for (i, line) in out.iter().take(inner.height as usize).enumerate() {
        buf.set_line(inner.x + 1, inner.y + i as u16, line, width);
    }
}
