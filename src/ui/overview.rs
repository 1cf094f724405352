//! The overview: one pane per region in a grid, recent events in the room left over.

use super::format::{self, fit};
use super::metrics::{self, MetricRow};
use super::{events, layout, spark};
use crate::app::{RegionView, State};
use crate::config::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Widget};

/// Narrowest sparkline worth drawing.
const MIN_SPARK: usize = 6;
/// Narrowest cell of a two-column pane.
const MIN_CELL: u16 = 17;

/// Draw the region panes, the spare grid cells and the event strip of a whole-frame `area`.
pub fn render(area: Rect, buf: &mut Buffer, state: &State, theme: &Theme) {
    let fleet_rows = fleet_rows(state);
    if fleet_rows > 0 {
        let line = layout::fleet_lines_area(area, fleet_rows);
        super::cdn_line::render(line, buf, state, theme);
    }
    let rects = region_rects(area, state);
    for (i, (r, rect)) in state.regions.iter().zip(rects).enumerate() {
        region_pane(rect, buf, state, r, i == state.focus, theme);
    }
    if let Some(spare) = layout::spare_grid_area(area, state.regions.len(), fleet_rows) {
        let block = Block::bordered()
            .border_style(theme.border)
            .title(Span::styled(" recent events ", theme.title));
        events::render_recent(spare, buf, state, theme, block);
    }
    let strip = layout::event_strip_area(area);
    if strip.height > 0 {
        let title = format!(" events ({}) ", state.events.len());
        let block = Block::new()
            .borders(Borders::TOP)
            .border_style(theme.border)
            .title(Span::styled(title, theme.title));
        events::render_recent(strip, buf, state, theme, block);
    }
}

/// Fleet-wide lines above the region panes: one for the CDN when the fleet has one.
pub fn fleet_rows(state: &State) -> u16 {
    u16::from(state.fleet.cdn.is_some())
}

/// Where each region's pane is on the overview of a whole-frame `area`.
pub fn region_rects(area: Rect, state: &State) -> Vec<Rect> {
    layout::overview_region_rects_below(area, state.regions.len(), fleet_rows(state))
}

/// The pane title: region name, role, status symbol and word, fitted to `width`. A region whose
/// every kind of data is stale says so ("◌ STALE 48 s") instead of its last judgement; a region
/// drained and serving nothing is "OUT OF SERVICE", whatever its breaches (they are in its pane).
pub fn title(state: &State, r: &RegionView, width: usize, theme: &Theme) -> Line<'static> {
    let status = r.status;
    let stale = r.all_stale_age(state.now);
    let out = state.out_of_service().contains(&r.name());
    let (symbol, word, style) = match stale {
        None if out => (
            OUT_OF_SERVICE_SYMBOL.to_string(),
            format!("{OUT_OF_SERVICE_SYMBOL} OUT OF SERVICE"),
            theme.muted,
        ),
        Some(age) => (
            theme.symbols.stale.clone(),
            match age {
                Some(age) => format!("{} STALE {}", theme.symbols.stale, format::age(age)),
                None => format!("{} NO DATA", theme.symbols.stale),
            },
            theme.stale,
        ),
        None => (
            theme.symbol(status).to_string(),
            format!(
                "{} {}",
                theme.symbol(status),
                status.as_str().to_uppercase()
            ),
            theme.status(status),
        ),
    };
    let role = format!(" · {}", r.spec.role.as_str());
    let name = r.name().to_string();
    let (name_w, role_w, word_w) = (
        format::width(&name),
        format::width(&role),
        format::width(&word),
    );
    let mut spans = vec![Span::raw(" "), Span::styled(name, theme.title)];
    if 1 + name_w + role_w + 2 + word_w < width {
        spans.push(Span::styled(role, theme.muted));
    }
    if 1 + name_w + 2 + word_w < width {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(word, style));
    } else {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(symbol, style));
    }
    spans.push(Span::raw(" "));
    Line::from(spans)
}

/// The mark of a region drained and serving nothing.
pub const OUT_OF_SERVICE_SYMBOL: &str = "⊘";

/// "⌛ metrics stale 45 s: ThrottlingException" for the pane's bottom border, fitted to `width`.
pub fn stale_marker(
    r: &RegionView,
    state: &State,
    width: usize,
    theme: &Theme,
) -> Option<Line<'static>> {
    let (kind, _) = r.failures.iter().next()?;
    let label = r.stale_label(*kind, state.now)?;
    let more = match r.failures.len() {
        1 => String::new(),
        n => format!(" (+{} more)", n - 1),
    };
    let sym = &theme.symbols.stale;
    let long = format!(" {sym} {} {label}{more} ", kind.label());
    let text = if format::width(&long) <= width {
        long
    } else {
        format!(
            " {} ",
            fit(&format!("{sym} {label}"), width.saturating_sub(2))
        )
    };
    Some(Line::from(Span::styled(text, theme.stale)))
}

/// Panes this short drop their bottom border and pack metrics side by side, most important first.
const PACKED_MAX_HEIGHT: u16 = 3;

fn region_pane(
    rect: Rect,
    buf: &mut Buffer,
    state: &State,
    r: &RegionView,
    focused: bool,
    theme: &Theme,
) {
    let w = rect.width.saturating_sub(2) as usize;
    let packed = rect.height <= PACKED_MAX_HEIGHT;
    let mut title = title(state, r, w, theme);
    let mut block = Block::new()
        .borders(if packed {
            Borders::TOP | Borders::LEFT | Borders::RIGHT
        } else {
            Borders::ALL
        })
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(if focused {
            theme.border_focus
        } else {
            theme.border
        });
    if packed {
        if !r.failures.is_empty() && title.width() + 3 <= w {
            title.spans.push(Span::styled(
                format!("{} ", theme.symbols.stale),
                theme.stale,
            ));
        }
    } else if let Some(stale) = stale_marker(r, state, w, theme) {
        block = block.title_bottom(stale);
    }
    let block = block.title(title);
    let inner = block.inner(rect);
    block.render(rect, buf);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let rows = metrics::rows(state, r);
    let h = inner.height as usize;
    let essential = rows
        .iter()
        .filter(|x| x.priority < metrics::OPTIONAL)
        .count();
    if packed {
        packed_lines(inner, buf, r, &rows, theme);
    } else if essential <= h || inner.width < 2 * MIN_CELL {
        let shown = keep_most_important(rows, h);
        let reserve = if r.breaches.is_empty() {
            0
        } else {
            r.breaches.len() as u16 + 1
        };
        let used = single_column(inner, buf, r, &shown, theme, reserve);
        let rest = Rect::new(inner.x, inner.y + used, inner.width, inner.height - used);
        let used = breaches(rest, buf, r, theme);
        region_events(
            Rect::new(rest.x, rest.y + used, rest.width, rest.height - used),
            buf,
            state,
            r,
            theme,
        );
    } else {
        let shown = keep_most_important(rows, 2 * h);
        two_columns(inner, buf, r, &shown, theme);
    }
}

/// "5xx 0.51%  p99 126 ms  lag 0.7 s ..." in priority order, as many as fit on the lines of `area`.
fn packed_lines(
    area: Rect,
    buf: &mut Buffer,
    r: &RegionView,
    rows: &[MetricRow<'_>],
    theme: &Theme,
) {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| (rows[i].priority, i));
    let (mut x, mut y) = (0u16, 0u16);
    for i in order {
        let row = &rows[i];
        let stale = r.failures.contains_key(&row.kind);
        let label = row.short_label();
        let value = row.compact_value();
        let mark = if stale {
            theme.symbols.stale.as_str()
        } else {
            ""
        };
        let w = (format::width(&label) + 1 + format::width(value) + format::width(mark)) as u16;
        if w > area.width {
            continue;
        }
        if x > 0 && x + 2 + w > area.width {
            (x, y) = (0, y + 1);
        }
        if y >= area.height {
            break;
        }
        if x > 0 {
            x += 2;
        }
        let spans = vec![
            Span::styled(format!("{label} "), label_style(row, r, theme)),
            Span::styled(value.to_string(), value_style(row, theme)),
            Span::styled(mark.to_string(), theme.stale),
        ];
        buf.set_line(area.x + x, area.y + y, &Line::from(spans), w);
        x += w;
    }
}

/// The `cap` rows of highest priority, in display order.
fn keep_most_important(rows: Vec<MetricRow<'_>>, cap: usize) -> Vec<MetricRow<'_>> {
    if rows.len() <= cap {
        return rows;
    }
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| (rows[i].priority, i));
    let mut keep = vec![false; rows.len()];
    for &i in order.iter().take(cap) {
        keep[i] = true;
    }
    rows.into_iter()
        .zip(keep)
        .filter_map(|(r, k)| k.then_some(r))
        .collect()
}

fn value_style(row: &MetricRow<'_>, theme: &Theme) -> Style {
    row.level.map(|s| theme.status(s)).unwrap_or(theme.text)
}

fn label_style(row: &MetricRow<'_>, r: &RegionView, theme: &Theme) -> Style {
    if r.failures.contains_key(&row.kind) {
        theme.stale
    } else {
        theme.muted
    }
}

/// Label, value, stale mark and sparkline per row; returns the lines used. Values longer than the
/// value column push their sparkline right, so every sparkline still ends at the newest sample.
/// When the pane has room beyond `reserve` lines, a blank line separates the metric groups.
fn single_column(
    area: Rect,
    buf: &mut Buffer,
    r: &RegionView,
    rows: &[MetricRow<'_>],
    theme: &Theme,
    reserve: u16,
) -> u16 {
    let w = area.width as usize;
    let label_w = rows
        .iter()
        .map(|x| format::width(&x.label))
        .max()
        .unwrap_or(0)
        .min(10);
    let value_w = rows
        .iter()
        .filter(|x| x.history.is_some())
        .map(|x| format::width(&x.value))
        .max()
        .unwrap_or(0)
        .min(9);
    let any_stale = rows.iter().any(|x| r.failures.contains_key(&x.kind));
    let mark_w = if any_stale {
        1 + format::width(&theme.symbols.stale)
    } else {
        0
    };
    let gaps = rows.windows(2).filter(|p| p[0].group != p[1].group).count();
    let spaced = rows.len() + gaps + reserve as usize <= area.height as usize;
    let mut y = area.y;
    for (i, row) in rows.iter().enumerate() {
        if spaced && i > 0 && rows[i - 1].group != row.group {
            y += 1;
        }
        if y >= area.bottom() {
            break;
        }
        let stale = r.failures.contains_key(&row.kind);
        let value_col = value_w
            .max(format::width(&row.value))
            .min(w.saturating_sub(label_w + 1));
        let mut spans = vec![
            Span::styled(
                format::left(&row.label, label_w),
                label_style(row, r, theme),
            ),
            Span::raw(" "),
            Span::styled(
                format::right(&row.value, value_col),
                value_style(row, theme),
            ),
        ];
        if mark_w > 0 {
            let mark = if stale {
                format!(" {}", theme.symbols.stale)
            } else {
                " ".repeat(mark_w)
            };
            spans.push(Span::styled(mark, theme.stale));
        }
        let used = label_w + 1 + value_col + mark_w + 1;
        let spark_w = w.saturating_sub(used);
        if let (Some((series, gauge)), true) = (row.history, spark_w >= MIN_SPARK) {
            spans.push(Span::raw(" "));
            spans.extend(spark::spans(series, gauge, spark_w, theme));
        }
        buf.set_line(area.x, y, &Line::from(spans), area.width);
        y += 1;
    }
    y - area.y
}

/// Two metrics per line, without sparklines, for short panes.
fn two_columns(
    area: Rect,
    buf: &mut Buffer,
    r: &RegionView,
    rows: &[MetricRow<'_>],
    theme: &Theme,
) {
    let h = rows.len().div_ceil(2).max(1);
    let cell_w = area.width / 2;
    for (i, row) in rows.iter().enumerate() {
        let (col, line) = (i / h, i % h);
        let x = area.x + col as u16 * cell_w;
        let value_w = (cell_w as usize).saturating_sub(7);
        let mark = if r.failures.contains_key(&row.kind) {
            theme.symbols.stale.as_str()
        } else {
            " "
        };
        let spans = vec![
            Span::styled(
                format::left(&row.short_label(), 5),
                label_style(row, r, theme),
            ),
            Span::raw(" "),
            Span::styled(
                format::left(row.compact_value(), value_w),
                value_style(row, theme),
            ),
            Span::styled(mark.to_string(), theme.stale),
        ];
        buf.set_line(x, area.y + line as u16, &Line::from(spans), cell_w);
    }
}

/// Breach sentences under the metric rows, after a blank line; returns the rows used.
fn breaches(area: Rect, buf: &mut Buffer, r: &RegionView, theme: &Theme) -> u16 {
    if area.height < 2 || r.breaches.is_empty() {
        return 0;
    }
    let mut sorted: Vec<_> = r.breaches.iter().collect();
    sorted.sort_by_key(|b| std::cmp::Reverse(b.status.severity()));
    let w = area.width as usize;
    let n = sorted.len().min(area.height as usize - 1);
    for (i, b) in sorted.iter().take(n).enumerate() {
        let text = fit(&format!("{} {}", theme.symbol(b.status), b.message), w);
        buf.set_line(
            area.x,
            area.y + 1 + i as u16,
            &Line::from(Span::styled(text, theme.status(b.status))),
            area.width,
        );
    }
    1 + n as u16
}

/// The region's own latest events, in the room left at the bottom of a tall pane.
fn region_events(area: Rect, buf: &mut Buffer, state: &State, r: &RegionView, theme: &Theme) {
    if area.height < 3 {
        return;
    }
    let mine = state
        .events
        .iter()
        .filter(|e| e.region.as_deref() == Some(r.name()));
    let lines: Vec<Line<'static>> = mine
        .take(area.height as usize - 2)
        .map(|e| events::event_line(e, state, theme, 0))
        .collect();
    if lines.is_empty() {
        return;
    }
    buf.set_line(
        area.x,
        area.y + 1,
        &Line::from(Span::styled("recent events", theme.muted)),
        area.width,
    );
    for (i, line) in lines.iter().enumerate() {
        buf.set_line(area.x, area.y + 2 + i as u16, line, area.width);
    }
}
