//! The fleet status line: fleet, source, identity, clock, worst region and alert count, in one row.

use super::format::{self, fit};
use crate::app::{RegionView, State};
use crate::config::Theme;
use crate::fleet::health::Family;
use crate::fleet::Status;
use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

/// Among breaches of equal severity, which one a person on call wants named first: errors users
/// see, then failing checks, then capacity, then the slower signals.
fn family_rank(f: Family) -> u8 {
    match f {
        Family::ErrorRate => 0,
        Family::Probe => 1,
        Family::Route53 => 2,
        Family::Ecs => 3,
        Family::Latency => 4,
        Family::ReplicaLag => 5,
        Family::CacheHit => 6,
    }
}

/// The sentence for the region's most severe breach, or why it has no data.
pub fn worst_reason(r: &RegionView, now: DateTime<Utc>) -> String {
    if let Some(b) = r.breaches.iter().min_by_key(|b| {
        (
            std::cmp::Reverse(b.status.severity()),
            family_rank(b.family),
        )
    }) {
        return b.message.clone();
    }
    let failing = r
        .failures
        .keys()
        .next()
        .and_then(|k| r.stale_label(*k, now));
    match failing {
        Some(why) => why,
        None if r.metrics.is_none() => "no data yet".into(),
        None => "no breach".into(),
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
}

fn compose(state: &State, theme: &Theme, cut: &Cut) -> Vec<Span<'static>> {
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
    spans.push(sep());
    match state.worst() {
        None => spans.push(Span::styled(
            format!(" {} all regions ok ", theme.symbol(Status::Ok)),
            badge(theme, Status::Ok),
        )),
        Some(r) => {
            if cut.worst_word {
                spans.push(Span::styled("worst: ", theme.header));
            }
            let word = format!(
                " {} {} {} ",
                r.name(),
                theme.symbol(r.status),
                r.status.as_str().to_uppercase()
            );
            spans.push(Span::styled(word, badge(theme, r.status)));
            let reason = worst_reason(r, state.now);
            let reason = match cut.reason {
                None => reason,
                Some(0) => String::new(),
                Some(n) => fit(&reason, n),
            };
            if !reason.is_empty() {
                spans.push(Span::styled(format!(" ({reason})"), theme.header));
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
    spans
}

fn width(spans: &[Span<'_>]) -> usize {
    spans.iter().map(|s| s.width()).sum()
}

/// The status line fitted to `max` columns: drop the identity, the brand and the word "worst",
/// then shorten the breach sentence (to a dozen columns at least), then drop the source, then the
/// sentence.
pub fn line(state: &State, theme: &Theme, max: usize) -> Line<'static> {
    let mut cut = Cut {
        brand: true,
        identity: true,
        source: true,
        worst_word: true,
        reason: None,
    };
    let reason_w = state
        .worst()
        .map(|r| format::width(&worst_reason(r, state.now)))
        .unwrap_or(0);
    let steps: [fn(&mut Cut, usize); 6] = [
        |c, _| c.identity = false,
        |c, _| c.brand = false,
        |c, _| c.worst_word = false,
        |c, over| c.reason = Some(over),
        |c, _| c.source = false,
        |c, _| c.reason = Some(0),
    ];
    let mut spans = compose(state, theme, &cut);
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
        spans = compose(state, theme, &cut);
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
