//! A line chart of one metric family over the detail view's window, threshold drawn as a line.

use super::format;
use super::spark::Gauge;
use crate::app::ChartWindow;
use crate::config::Theme;
use crate::fleet::series::Series;
use chrono::{DateTime, Duration, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Widget};

/// What one chart shows.
pub struct Plot<'a> {
    /// Title parts (name, then current values, coloured); as many as fit are shown, in order.
    pub title: Vec<Line<'static>>,
    pub series: Vec<(&'a Series, Style)>,
    pub gauge: Gauge,
    /// Display factor: 100 for ratios shown as percent.
    pub scale: f64,
    /// Fixed top of the value axis (100 for percentages), else fitted to the data.
    pub top: Option<f64>,
    /// Shown instead of the chart when set (e.g. "primary: no replica lag").
    pub note: Option<String>,
}

/// Up to `buckets` points of `series` in [start, end] as (seconds before end, value): the highest
/// value of each bucket (the lowest for a minimum gauge), so spikes and dips survive. A gap in the
/// series (no data, broken replication) ends a segment: the line breaks there instead of
/// bridging the missing time.
fn downsample(
    series: &Series,
    start: i64,
    end: i64,
    buckets: usize,
    scale: f64,
    low: bool,
) -> Vec<Vec<(f64, f64)>> {
    let span = (end - start).max(1) as f64;
    let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    let mut current: Option<(usize, f64, f64)> = None;
    for &(t, v) in series.iter().filter(|(t, _)| *t >= start) {
        if t > end {
            break;
        }
        let out = segments.last_mut().expect("one segment at least");
        if v.is_nan() {
            if let Some((_, x, v)) = current.take() {
                out.push((x, v));
            }
            if !out.is_empty() {
                segments.push(Vec::new());
            }
            continue;
        }
        let b = (((t - start) as f64 / span) * buckets as f64) as usize;
        let v = v * scale;
        let x = (t - end) as f64;
        current = match current {
            Some((cb, cx, cv)) if cb == b => {
                let keep = if low { v < cv } else { v > cv };
                Some((b, if keep { x } else { cx }, if keep { v } else { cv }))
            }
            Some((_, cx, cv)) => {
                out.push((cx, cv));
                Some((b, x, v))
            }
            None => Some((b, x, v)),
        };
    }
    if let Some((_, x, v)) = current {
        segments.last_mut().expect("one segment").push((x, v));
    }
    segments.retain(|s| !s.is_empty());
    segments
}

fn axis_time(now: DateTime<Utc>, offset_s: i64) -> String {
    format::clock_short(now - Duration::seconds(offset_s))
}

/// The 7-day window's axis: each day back from `end` ("Wed 25") where they fit, else the
/// first, the middle and the last.
fn day_labels(end: DateTime<Utc>, width: u16, theme: &Theme) -> Vec<Span<'static>> {
    let label = |hours_back: i64| {
        Span::styled(
            (end - Duration::hours(hours_back))
                .format("%a %d")
                .to_string(),
            theme.muted,
        )
    };
    if width >= 64 {
        (0..=7).rev().map(|d| label(d * 24)).collect()
    } else {
        vec![label(7 * 24), label(7 * 12), label(0)]
    }
}

/// The leading title parts that fit in `max` columns (always the first: the chart's name).
fn fit_title(parts: &[Line<'static>], max: usize) -> Line<'static> {
    let mut spans = Vec::new();
    let mut used = 0;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 && used + part.width() > max {
            break;
        }
        used += part.width();
        spans.extend(part.spans.iter().cloned());
    }
    Line::from(spans)
}

pub fn render(
    area: Rect,
    buf: &mut Buffer,
    plot: &Plot<'_>,
    window: ChartWindow,
    now: DateTime<Utc>,
    theme: &Theme,
) {
    let title = fit_title(&plot.title, area.width.saturating_sub(2) as usize);
    let block = Block::bordered().border_style(theme.border).title(title);
    let inner = block.inner(area);
    if let Some(note) = &plot.note {
        block.render(area, buf);
        buf.set_line(
            inner.x + 1,
            inner.y,
            &Line::from(Span::styled(note.clone(), theme.muted)),
            inner.width,
        );
        return;
    }
    let end = now.timestamp();
    let start = window.start(now);
    let buckets = (inner.width as usize * 2).max(2);
    let low = matches!(plot.gauge, Gauge::Below(_));
    let data: Vec<Vec<Vec<(f64, f64)>>> = plot
        .series
        .iter()
        .map(|(s, _)| downsample(s, start, end, buckets, plot.scale, low))
        .collect();
    if data.iter().all(Vec::is_empty) {
        block.render(area, buf);
        let text = format!("no data in the last {}", window.label());
        buf.set_line(
            inner.x + 1,
            inner.y,
            &Line::from(Span::styled(text, theme.muted)),
            inner.width,
        );
        return;
    }
    let limit = match plot.gauge {
        Gauge::Above(t) | Gauge::Below(t) => Some(t * plot.scale),
        Gauge::FromZero | Gauge::None => None,
    };
    let top = plot.top.unwrap_or_else(|| {
        let max = data
            .iter()
            .flatten()
            .flatten()
            .map(|p| p.1)
            .fold(limit.unwrap_or(0.0), f64::max);
        format::nice_ceiling(max * 1.1)
    });
    let w = window.seconds() as f64;
    let limit_line = limit.map(|l| [(-w, l), (0.0, l)]);
    let mut datasets: Vec<Dataset<'_>> = data
        .iter()
        .zip(&plot.series)
        .flat_map(|(segments, (_, style))| {
            segments.iter().map(move |d| {
                Dataset::default()
                    .marker(Marker::Braille)
                    .graph_type(GraphType::Line)
                    .style(*style)
                    .data(d)
            })
        })
        .collect();
    if let Some(line) = &limit_line {
        datasets.insert(
            0,
            Dataset::default()
                .marker(Marker::Dot)
                .graph_type(GraphType::Line)
                .style(theme.crit)
                .data(line),
        );
    }
    let x_labels = if window == ChartWindow::D7 {
        day_labels(now, inner.width, theme)
    } else {
        let half = window.seconds() / 2;
        vec![
            Span::styled(axis_time(now, window.seconds()), theme.muted),
            Span::styled(axis_time(now, half), theme.muted),
            Span::styled(axis_time(now, 0), theme.muted),
        ]
    };
    let y_labels = vec![
        Span::styled("0", theme.muted),
        Span::styled(format::compact(top / 2.0), theme.muted),
        Span::styled(format::compact(top), theme.muted),
    ];
    Chart::new(datasets)
        .block(block)
        .legend_position(None)
        .x_axis(
            Axis::default()
                .bounds([-w, 0.0])
                .labels(x_labels)
                .style(theme.border),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, top])
                .labels(y_labels)
                .style(theme.border),
        )
        .render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_breaks_the_line_into_segments() {
        let mut s = Series::new(100, 1);
        for t in [0, 10, 20] {
            s.push(t, 1.0);
        }
        s.push_gap(30);
        s.push_gap(40);
        s.push(50, 2.0);
        s.push(60, 2.0);
        let segments = downsample(&s, 0, 60, 100, 1.0, false);
        assert_eq!(
            segments,
            vec![
                vec![(-60.0, 1.0), (-50.0, 1.0), (-40.0, 1.0)],
                vec![(-10.0, 2.0), (0.0, 2.0)]
            ]
        );
        s.push_gap(70);
        assert_eq!(downsample(&s, 0, 70, 100, 1.0, false).len(), 2);
    }
}
