//! Inline sparklines of block characters, each bar coloured by its own threshold level.

use crate::config::Theme;
use crate::fleet::health::{level_above, level_below};
use crate::fleet::series::Series;
use crate::fleet::Status;
use ratatui::style::Style;
use ratatui::text::Span;

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// How a value is judged: against an upper limit, a lower minimum, or not at all.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Gauge {
    Above(f64),
    Below(f64),
    /// No threshold; bars scale from 0 (counts, rates: a drop to half reads as half).
    FromZero,
    /// No threshold; bars span the data's own range (slow climbers like cost month-to-date).
    None,
}

impl Gauge {
    pub fn level(self, v: f64) -> Option<Status> {
        match self {
            Gauge::Above(t) => Some(level_above(v, t)),
            Gauge::Below(min) => Some(level_below(v, min)),
            Gauge::FromZero | Gauge::None => None,
        }
    }

    /// Style of a value: its level's colour, or plain text when the value has no threshold.
    pub fn style(self, v: f64, theme: &Theme) -> Style {
        self.level(v).map(|s| theme.status(s)).unwrap_or(theme.text)
    }
}

/// Per point of the last `width` points of `series` (oldest first): its height in eighths of a
/// row, 1..=8 × `rows`, and its style (warn/crit colour past a threshold, else the sparkline's);
/// `None` for a gap (no data then), which is drawn blank, never as a low bar.
///
/// Against an upper limit the bars scale from 0 to the larger of the limit and the largest point,
/// so a healthy metric draws low bars and a breach reaches the top.
fn bars(
    series: &Series,
    gauge: Gauge,
    width: usize,
    rows: usize,
    theme: &Theme,
) -> Vec<Option<(usize, Style)>> {
    let skip = series.len().saturating_sub(width);
    let values = || series.iter().skip(skip).map(|(_, v)| *v);
    let points = || values().filter(|v| !v.is_nan());
    // A minimum scales from as far below it as it is from 1; other values without a threshold
    // span their own range so that a change shows.
    let (lo, hi) = match gauge {
        Gauge::Above(t) => (0.0, points().fold(t, f64::max)),
        Gauge::Below(min) => (points().fold(min - (1.0 - min), f64::min).max(0.0), 1.0),
        // Headroom above the largest point keeps a steady metric from drawing a solid wall.
        Gauge::FromZero => (0.0, points().fold(0.0, f64::max) * 1.2),
        Gauge::None => (
            points().fold(f64::INFINITY, f64::min),
            points().fold(f64::NEG_INFINITY, f64::max),
        ),
    };
    let steps = (8 * rows - 1) as f64;
    values()
        .map(|v| {
            if v.is_nan() {
                return None;
            }
            let f = if hi > lo {
                ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
            } else {
                0.5
            };
            let style = match gauge.level(v) {
                Some(s @ (Status::Warn | Status::Crit)) => theme.status(s),
                _ => theme.sparkline,
            };
            Some((1 + (f * steps).round() as usize, style))
        })
        .collect()
}

/// One row of bars, newest at the right, padded on the left while history is short.
pub fn spans(series: &Series, gauge: Gauge, width: usize, theme: &Theme) -> Vec<Span<'static>> {
    if width == 0 || series.is_empty() {
        return Vec::new();
    }
    let bars = bars(series, gauge, width, 1, theme);
    let mut out: Vec<Span<'static>> = Vec::new();
    let pad = width.saturating_sub(bars.len());
    if pad > 0 {
        out.push(Span::raw(" ".repeat(pad)));
    }
    let mut run = String::new();
    let mut run_style = theme.sparkline;
    for bar in bars {
        let (ch, style) = match bar {
            Some((eighths, style)) => (BARS[eighths - 1], style),
            None => (' ', theme.sparkline),
        };
        if style != run_style && !run.is_empty() {
            out.push(Span::styled(std::mem::take(&mut run), run_style));
        }
        run_style = style;
        run.push(ch);
    }
    if !run.is_empty() {
        out.push(Span::styled(run, run_style));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_threshold_and_colour_breaches() {
        let theme = Theme::fallback();
        let mut s = Series::new(100, 1);
        for (t, v) in [(0, 0.0), (10, 0.05), (20, 0.1)] {
            s.push(t, v);
        }
        let spans = spans(&s, Gauge::Above(0.05), 5, &theme);
        let text: String = spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, "  ▁▅█");
        assert_eq!(spans.last().unwrap().style, theme.crit);
    }

    #[test]
    fn gaps_are_blank_never_a_low_bar() {
        let theme = Theme::fallback();
        let mut s = Series::new(100, 1);
        s.push(0, 0.04);
        s.push_gap(10);
        s.push_gap(20);
        s.push(30, 0.04);
        s.push_gap(40);
        let text: String = spans(&s, Gauge::Above(0.05), 5, &theme)
            .iter()
            .map(|s| s.content.to_string())
            .collect();
        assert_eq!(text, "▇  ▇ ");
    }
}
