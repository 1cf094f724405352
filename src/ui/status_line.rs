//! The fleet status line: fleet, source, identity, clock, worst region (or "cannot reach AWS")
//! and alert count, in one row.

use super::format::{self, fit};
use crate::app::State;
use crate::config::Theme;
use crate::fleet::impact::Worst;
use crate::fleet::Status;
use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

/// What the status line says about the fleet's health: the worst region (the one with the most
/// impact, see `fleet::impact`) with its reason and since when, or that opsdeck cannot reach AWS.
enum Verdict {
    AllOk { out_of_service: usize },
    Offline(DateTime<Utc>),
    Worst(Worst),
}

/// The CDN's level and its first breach ("cache hit 21% (crit < 90%)") when it is warn or crit.
fn cdn_note(state: &State) -> Option<(Status, String)> {
    let cdn = state
        .cdn()
        .filter(|c| matches!(c.status, Status::Warn | Status::Crit))?;
    let why = cdn.breaches.first().cloned().unwrap_or_default();
    let why = why.strip_prefix("CDN ").map(str::to_string).unwrap_or(why);
    Some((cdn.status, why))
}

fn verdict(state: &State) -> Verdict {
    if let Some(since) = state.offline {
        return Verdict::Offline(since);
    }
    match state.worst() {
        Some(w) => Verdict::Worst(w),
        None => Verdict::AllOk {
            out_of_service: state.out_of_service().len(),
        },
    }
}

/// The status word as a badge: the status colour as background, so it reads on the header bar.
fn badge(theme: &Theme, status: Status) -> Style {
    let s = theme.status(status);
    match s.fg {
        Some(c) => Style::default()
            .bg(c)
            .fg(theme.header.fg.unwrap_or(Color::Black))
            .add_modifier(Modifier::BOLD),
        None => theme.header.patch(s).add_modifier(Modifier::REVERSED),
    }
}

/// How much of the line to keep; each step drops or shortens one part.
struct Cut {
    brand: bool,
    identity: bool,
    source: bool,
    worst_word: bool,
    /// Columns allowed for the breach sentence; `None` = whole, `Some(0)` = none.
    reason: Option<usize>,
    /// "since 03:50" after the reason.
    since: bool,
    /// What the other operators do (`State::others`).
    others: bool,
}

fn compose(state: &State, verdict: &Verdict, theme: &Theme, cut: &Cut) -> Vec<Span<'static>> {
    let sep = || Span::styled(" · ", theme.header);
    let mut spans = vec![Span::styled(" ", theme.header)];
    if cut.brand {
        spans.push(Span::styled(
            "opsdeck",
            theme.header.add_modifier(Modifier::BOLD),
        ));
        spans.push(sep());
    }
    spans.push(Span::styled(
        state.fleet.name.clone(),
        theme.header.add_modifier(Modifier::BOLD),
    ));
    if cut.source {
        spans.push(sep());
        spans.push(Span::styled(state.source.as_str(), theme.header));
    }
    if state.read_only {
        spans.push(sep());
        spans.push(Span::styled("READ-ONLY", badge(theme, Status::Warn)));
    }
    if let (true, Some(id)) = (cut.identity, &state.identity) {
        spans.push(sep());
        spans.push(Span::styled(id.clone(), theme.header));
    }
    spans.push(sep());
    spans.push(Span::styled(
        format!("{} UTC", format::clock(state.now)),
        theme.header,
    ));
    if let Some(down) = writes_down(state, theme) {
        spans.push(sep());
        spans.push(down);
    }
    spans.push(sep());
    match verdict {
        Verdict::AllOk { out_of_service } => {
            let text = if *out_of_service > 0 {
                format!(" {} all serving regions ok ", theme.symbol(Status::Ok))
            } else {
                format!(" {} all regions ok ", theme.symbol(Status::Ok))
            };
            spans.push(Span::styled(text, badge(theme, Status::Ok)));
            if *out_of_service > 0 {
                spans.push(Span::styled(
                    format!(" {out_of_service} out of service"),
                    theme.header,
                ));
            }
            // Every region ok, and the CDN in front of them not: say so on the line.
            if let Some((status, why)) = cdn_note(state) {
                spans.push(sep());
                spans.push(Span::styled(
                    format!(" {} CDN ", theme.symbol(status)),
                    badge(theme, status),
                ));
                let why = match cut.reason {
                    None => why,
                    Some(0) => String::new(),
                    Some(n) => fit(&why, n),
                };
                if !why.is_empty() {
                    spans.push(Span::styled(format!(" {why}"), theme.header));
                }
            }
        }
        Verdict::Offline(since) => spans.push(Span::styled(
            format!(
                " {} cannot reach AWS since {} ",
                theme.symbols.stale,
                format::clock_short(*since)
            ),
            badge(theme, Status::Unknown),
        )),
        Verdict::Worst(w) => {
            if cut.worst_word {
                spans.push(Span::styled("worst: ", theme.header));
            }
            let word = format!(
                " {} {} {} ",
                w.region,
                theme.symbol(w.status),
                w.status.as_str().to_uppercase()
            );
            spans.push(Span::styled(word, badge(theme, w.status)));
            let reason = match cut.reason {
                None => w.reason.clone(),
                Some(0) => String::new(),
                Some(n) => fit(&w.reason, n),
            };
            if !reason.is_empty() {
                let since = w
                    .since
                    .filter(|_| cut.since)
                    .map(|t| format!(" since {}", format::clock_short(t)))
                    .unwrap_or_default();
                spans.push(Span::styled(format!(" {reason}{since}"), theme.header));
            }
        }
    }
    let alerts = state.active_alerts();
    spans.push(sep());
    let noun = if alerts == 1 { "alert" } else { "alerts" };
    let style = if alerts > 0 {
        theme.header.add_modifier(Modifier::BOLD)
    } else {
        theme.header
    };
    spans.push(Span::styled(format!("{alerts} {noun}"), style));
    if let (true, Some(text)) = (cut.others, state.others.headline(state.now)) {
        spans.push(sep());
        let style = if state.others.lease.is_some() || !state.others.pending.is_empty() {
            badge(theme, Status::Warn)
        } else {
            theme.header
        };
        spans.push(Span::styled(format!(" {text} "), style));
    }
    spans
}

/// "✖ writes down since 04:01:07" while no primary takes writes (never cut: it is the fleet's
/// most important fact then).
fn writes_down(state: &State, theme: &Theme) -> Option<Span<'static>> {
    let crate::fleet::failover::Writes::Down { since } = state.writes() else {
        return None;
    };
    let when = since
        .map(|t| format!(" since {}", format::clock(t)))
        .unwrap_or_default();
    Some(Span::styled(
        format!(" {} writes down{when} ", theme.symbol(Status::Crit)),
        badge(theme, Status::Crit),
    ))
}

fn width(spans: &[Span<'_>]) -> usize {
    spans.iter().map(|s| s.width()).sum()
}

/// The status line fitted to `max` columns: drop what the other operators do, the identity, the brand, the word "worst" and
/// the source, then shorten the reason (to a dozen columns at least), then drop its "since", then
/// the reason.
pub fn line(state: &State, theme: &Theme, max: usize) -> Line<'static> {
    let mut cut = Cut {
        brand: true,
        identity: true,
        source: true,
        worst_word: true,
        reason: None,
        since: true,
        others: true,
    };
    let verdict = verdict(state);
    let reason_w = match &verdict {
        Verdict::Worst(w) => format::width(&w.reason),
        Verdict::AllOk { .. } => cdn_note(state).map_or(0, |(_, why)| format::width(&why)),
        _ => 0,
    };
    let steps: [fn(&mut Cut, usize); 8] = [
        |c, _| c.others = false,
        |c, _| c.identity = false,
        |c, _| c.brand = false,
        |c, _| c.worst_word = false,
        |c, _| c.source = false,
        |c, over| c.reason = Some(over),
        |c, _| c.since = false,
        |c, _| c.reason = Some(0),
    ];
    let mut spans = compose(state, &verdict, theme, &cut);
    for step in steps {
        let w = width(&spans);
        if w <= max {
            break;
        }
        let shorter = match cut.reason {
            Some(n) if n > 0 => n,
            _ => reason_w,
        };
        let keep = shorter.saturating_sub(w - max);
        step(&mut cut, if keep >= 12 { keep } else { 12.min(shorter) });
        spans = compose(state, &verdict, theme, &cut);
    }
    Line::from(spans)
}

pub fn render(area: Rect, buf: &mut Buffer, state: &State, theme: &Theme) {
    buf.set_style(area, theme.header);
    buf.set_line(
        area.x,
        area.y,
        &line(state, theme, area.width as usize),
        area.width,
    );
}
