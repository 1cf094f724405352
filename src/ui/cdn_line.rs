//! The overview's fleet-wide CDN line: the CloudFront distribution's status, cache hit ratio (or
//! why there is none), 5xx and 4xx rates and requests/s, each value coloured by its threshold.
//! Cut at the frame's edge, least important last.

use super::format;
use crate::app::State;
use crate::config::Theme;
use crate::fleet::health::{level_above, level_below};
use crate::fleet::Status;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

pub fn render(area: Rect, buf: &mut Buffer, state: &State, theme: &Theme) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    line(state, theme, area.width as usize).render(area, buf);
}

/// The line, at most `width` columns (empty when the fleet has no CDN).
pub fn line(state: &State, theme: &Theme, width: usize) -> Line<'static> {
    let Some(cdn) = state.cdn() else {
        return Line::default();
    };
    let t = &state.fleet.thresholds;
    let level = |s: Status| theme.status(s);
    let mut spans = vec![
        Span::styled(" CDN ", theme.title),
        Span::styled(
            format!(
                "{} {} ",
                theme.symbol(cdn.status),
                cdn.status.as_str().to_uppercase()
            ),
            level(cdn.status),
        ),
    ];
    let v = cdn.values.clone().unwrap_or_default();
    spans.push(Span::styled(" hit ", theme.muted));
    match v.cache_hit_ratio {
        Some(hit) => spans.push(Span::styled(
            format!("{:.0}%", hit * 100.0),
            level(level_below(hit, t.cdn_hit_ratio_min)),
        )),
        None => spans.push(Span::styled("—", theme.unknown)),
    }
    if let Some(note) = &cdn.note {
        spans.push(Span::styled(format!(" ({note})"), theme.stale));
    }
    spans.push(Span::styled("  5xx ", theme.muted));
    spans.push(match v.error_rate {
        Some(e) => Span::styled(format::pct(e), level(level_above(e, t.error_rate))),
        None => Span::styled("—", theme.unknown),
    });
    spans.push(Span::styled("  4xx ", theme.muted));
    spans.push(match v.error_rate_4xx {
        Some(e) => Span::styled(format::pct(e), theme.text),
        None => Span::styled("—", theme.unknown),
    });
    if let Some(rps) = v.requests_per_s {
        spans.push(Span::styled(
            format!("  {} req/s", format::count(rps)),
            theme.text,
        ));
    }
    spans.push(Span::styled(
        format!("  CloudFront {}", cdn.distribution),
        theme.muted,
    ));
    fit(spans, width)
}

/// Spans cut to `width` columns, the last one shown ending in "…" when cut.
fn fit(spans: Vec<Span<'static>>, width: usize) -> Line<'static> {
    let mut out = Vec::new();
    let mut left = width;
    for s in spans {
        let w = format::width(&s.content);
        if w <= left {
            left -= w;
            out.push(s);
        } else {
            if left > 1 {
                out.push(Span::styled(format::fit(&s.content, left), s.style));
            }
            break;
        }
    }
    Line::from(out)
}
