//! The region detail view: window tabs, a chart per metric family, and a side list of facts.

use super::chart::{self, Plot};
use super::format::{self, NO_DATA};
use super::metrics;
use super::overview;
use super::spark::Gauge;
use crate::app::week_charts::WeekChart;
use crate::app::{ChartWindow, RegionView, State};
use crate::config::Theme;
use crate::fleet::series::Series;
use crate::fleet::{DataKind, Replication, Role, Status};
use crate::report::region_week::RegionWeek;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Widget};

/// Smallest chart height that still shows a shape.
const MIN_CHART_ROWS: u16 = 6;

/// Draw the focused region's detail into the body `area` (between status line and footer).
pub fn render(area: Rect, buf: &mut Buffer, state: &State, theme: &Theme) {
    if area.height < 2 {
        return;
    }
    let r = state.focused();
    let [tabs, main] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    buf.set_line(
        tabs.x,
        tabs.y,
        &tab_line(state, r, theme, tabs.width as usize),
        tabs.width,
    );
    let side_w = match main.width {
        w if w >= 140 => 44,
        w if w >= 100 => 36,
        w if w >= 70 => 30,
        _ => 0,
    };
    let [charts, side] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(side_w)]).areas(main);
    render_charts(charts, buf, state, r, theme);
    if side_w > 0 {
        render_side(side, buf, state, r, theme);
    }
}

/// " eu-west-1 · primary  ✖ CRIT   window: 15m [1h] 6h 24h".
fn tab_line(state: &State, r: &RegionView, theme: &Theme, width: usize) -> Line<'static> {
    let mut spans = overview::title(state, r, width.saturating_sub(30), theme).spans;
    spans.push(Span::styled("  window:", theme.muted));
    for w in ChartWindow::ALL {
        spans.push(Span::raw(" "));
        if w == state.window {
            spans.push(Span::styled(
                format!("[{}]", w.label()),
                theme.selection.patch(theme.accent),
            ));
        } else {
            spans.push(Span::styled(format!(" {} ", w.label()), theme.muted));
        }
    }
    if state.window == ChartWindow::D7 {
        spans.extend(week_status(state, r, theme));
    } else if !r.failures.is_empty() {
        let kinds: Vec<&str> = r.failures.keys().map(|k| k.label()).collect();
        spans.push(Span::styled(
            format!("   {} {} stale", theme.symbols.stale, kinds.join(", ")),
            theme.stale,
        ));
    }
    Line::from(spans)
}

/// The 7-day window's state: "7 d to Wed 14:00 UTC · read 14:03 · 3 h without data", "reading
/// the 7 days…" or why they could not be read.
fn week_status(state: &State, r: &RegionView, theme: &Theme) -> Vec<Span<'static>> {
    match state.week_charts.get(r.name()) {
        None => vec![],
        Some(WeekChart::Loading { since }) => vec![Span::styled(
            format!(
                "   reading the 7 days… (asked {})",
                format::clock_short(*since)
            ),
            theme.muted,
        )],
        Some(WeekChart::Failed { error, at }) => vec![Span::styled(
            format!(
                "   {} 7 days not read ({}): {error}",
                theme.symbols.stale,
                format::clock_short(*at)
            ),
            theme.crit,
        )],
        Some(WeekChart::Ready(w)) => {
            let (_, until) =
                crate::report::window(state.now, crate::report::region_week::HOURS * 3600);
            let mut out = vec![Span::styled(
                format!(
                    "   to {} UTC · read {}",
                    w.until.format("%a %H:%M"),
                    w.read_at.format("%a %H:%M")
                ),
                if w.until < until {
                    theme.stale
                } else {
                    theme.muted
                },
            )];
            if w.hours_without_data > 0 {
                out.push(Span::styled(
                    format!(
                        " · {} {} h without data",
                        theme.symbols.stale, w.hours_without_data
                    ),
                    theme.stale,
                ));
            }
            out
        }
    }
}

fn value_span(text: String, level: Option<Status>, theme: &Theme) -> Span<'static> {
    Span::styled(text, level.map(|s| theme.status(s)).unwrap_or(theme.text))
}

/// The charts: latency, requests/s, 5xx, replica lag, cache hit, running tasks.
fn plots<'a>(state: &'a State, r: &'a RegionView, theme: &Theme) -> Vec<Plot<'a>> {
    let rows = metrics::rows(state, r);
    let find = |label: &str| rows.iter().find(|x| x.label == label);
    let t = state.fleet.thresholds_for(&r.spec.name);
    let titled = |name: &str, label: &str| {
        let mut parts = vec![Line::from(Span::styled(format!(" {name} "), theme.title))];
        if let Some(row) = find(label) {
            parts.push(Line::from(vec![
                value_span(row.value.clone(), row.level, theme),
                Span::raw(" "),
            ]));
        }
        parts
    };
    let mut latency_title = vec![Line::from(Span::styled(" latency ", theme.title))];
    let mut latency = Vec::new();
    // The threshold statistic (the last) first: it is the one a narrow title must not lose.
    for (i, stat) in state.fleet.metrics.latency_stats.iter().enumerate().rev() {
        if let Some(row) = find(stat) {
            latency_title.push(Line::from(vec![
                Span::styled(format!("{stat} "), theme.chart_style(i)),
                value_span(row.value.clone(), row.level, theme),
                Span::raw(" "),
            ]));
        }
        if let Some(s) = r.history.latency.get(stat) {
            latency.push((s, theme.chart_style(i)));
        }
    }
    latency_title.push(Line::from(Span::styled(
        format!(" limit {} ", format::ms(t.latency_ms)),
        theme.muted,
    )));
    let plot = |title, series, gauge, scale, top| Plot {
        title,
        series,
        gauge,
        scale,
        top,
        note: None,
    };
    let tasks = &r.history.running_tasks;
    let mut lag = plot(
        titled("replica lag s", "lag"),
        vec![(&r.history.replica_lag_s, theme.chart_style(0))],
        Gauge::Above(t.replica_lag_s),
        1.0,
        None,
    );
    if matches!(r.replication, Some(Replication::Primary { .. }))
        || (r.replication.is_none() && r.spec.role == Role::Primary)
    {
        lag.note = Some("primary: writes here, no replica lag".into());
    }
    vec![
        plot(
            latency_title,
            latency,
            Gauge::Above(t.latency_ms),
            1.0,
            None,
        ),
        plot(
            titled("requests/s", "req/s"),
            vec![(&r.history.requests_per_s, theme.chart_style(0))],
            Gauge::FromZero,
            1.0,
            None,
        ),
        plot(
            titled("5xx %", "5xx"),
            vec![(&r.history.error_rate, theme.chart_style(0))],
            Gauge::Above(t.error_rate),
            100.0,
            None,
        ),
        lag,
        plot(
            titled("cache hit %", "cache hit"),
            vec![(&r.history.cache_hit_ratio, theme.chart_style(0))],
            Gauge::Below(t.cache_hit_ratio_min),
            100.0,
            Some(100.0),
        ),
        plot(
            running_title(r, theme),
            vec![(tasks, theme.chart_style(0))],
            Gauge::FromZero,
            1.0,
            None,
        ),
    ]
}

/// " running tasks 4/4 " (running/desired over all services), coloured like the ECS rows.
fn running_title(r: &RegionView, theme: &Theme) -> Vec<Line<'static>> {
    let mut parts = vec![Line::from(Span::styled(" running tasks ", theme.title))];
    if let Some(e) = &r.ecs {
        let (run, want) = e
            .iter()
            .fold((0, 0), |(a, b), s| (a + s.running, b + s.desired));
        let level = if want > 0 && run == 0 {
            Status::Crit
        } else if run < want {
            Status::Warn
        } else {
            Status::Ok
        };
        parts.push(Line::from(vec![
            value_span(format!("{run}/{want}"), Some(level), theme),
            Span::raw(" "),
        ]));
    }
    parts
}

/// The highest (the lowest for a minimum gauge) value of a 7-day series.
fn extreme(s: &Series, low: bool) -> Option<f64> {
    let v = s.iter().map(|p| p.1).filter(|v| !v.is_nan());
    if low {
        v.reduce(f64::min)
    } else {
        v.reduce(f64::max)
    }
}

/// The 7-day charts of `w`: the 24 h charts' families and thresholds, hour by hour; titles show
/// the week's worst value (coloured against the threshold).
fn week_plots<'a>(
    state: &State,
    r: &RegionView,
    w: &'a RegionWeek,
    theme: &Theme,
) -> Vec<Plot<'a>> {
    let t = state.fleet.thresholds_for(&r.spec.name);
    let worst = |name: &str, s: &Series, gauge: Gauge, show: &dyn Fn(f64) -> String| {
        let mut parts = vec![Line::from(Span::styled(format!(" {name} "), theme.title))];
        let low = matches!(gauge, Gauge::Below(_));
        if let Some(v) = extreme(s, low) {
            let level = match gauge {
                Gauge::Above(l) if v > l => Some(Status::Crit),
                Gauge::Below(l) if v < l => Some(Status::Crit),
                Gauge::Above(_) | Gauge::Below(_) => Some(Status::Ok),
                _ => None,
            };
            parts.push(Line::from(vec![
                Span::styled(if low { "low " } else { "peak " }, theme.muted),
                value_span(show(v), level, theme),
                Span::raw(" "),
            ]));
        }
        parts
    };
    let plot = |title, series, gauge, scale, top, note: Option<String>| Plot {
        title,
        series,
        gauge,
        scale,
        top,
        note,
    };
    let stats = &state.fleet.metrics.latency_stats;
    let mut latency_title = vec![Line::from(Span::styled(" latency ", theme.title))];
    let mut latency = Vec::new();
    for (i, stat) in stats.iter().enumerate().rev() {
        if let Some(s) = w.latency_ms.get(stat) {
            let mut part = vec![Span::styled(format!("{stat} "), theme.chart_style(i))];
            if let Some(v) = extreme(s, false) {
                let level = if v > t.latency_ms {
                    Status::Crit
                } else {
                    Status::Ok
                };
                part.push(Span::styled("peak ", theme.muted));
                part.push(value_span(format::ms(v), Some(level), theme));
            }
            part.push(Span::raw(" "));
            latency_title.push(Line::from(part));
            latency.push((s, theme.chart_style(i)));
        }
    }
    latency_title.push(Line::from(Span::styled(
        format!(" limit {} ", format::ms(t.latency_ms)),
        theme.muted,
    )));
    let primary = matches!(r.replication, Some(Replication::Primary { .. }))
        || (r.replication.is_none() && r.spec.role == Role::Primary);
    vec![
        plot(
            latency_title,
            latency,
            Gauge::Above(t.latency_ms),
            1.0,
            None,
            None,
        ),
        plot(
            worst(
                "requests/s",
                &w.requests_per_s,
                Gauge::FromZero,
                &format::compact,
            ),
            vec![(&w.requests_per_s, theme.chart_style(0))],
            Gauge::FromZero,
            1.0,
            None,
            None,
        ),
        plot(
            worst(
                "5xx %",
                &w.error_rate,
                Gauge::Above(t.error_rate),
                &format::pct,
            ),
            vec![(&w.error_rate, theme.chart_style(0))],
            Gauge::Above(t.error_rate),
            100.0,
            None,
            None,
        ),
        plot(
            worst(
                "replica lag s",
                &w.replica_lag_s,
                Gauge::Above(t.replica_lag_s),
                &|v| format!("{v:.1} s"),
            ),
            vec![(&w.replica_lag_s, theme.chart_style(0))],
            Gauge::Above(t.replica_lag_s),
            1.0,
            None,
            primary.then(|| "primary: writes here, no replica lag".into()),
        ),
        plot(
            worst(
                "cache hit %",
                &w.cache_hit_ratio,
                Gauge::Below(t.cache_hit_ratio_min),
                &format::pct,
            ),
            vec![(&w.cache_hit_ratio, theme.chart_style(0))],
            Gauge::Below(t.cache_hit_ratio_min),
            100.0,
            Some(100.0),
            None,
        ),
        plot(
            vec![Line::from(Span::styled(" running tasks ", theme.title))],
            Vec::new(),
            Gauge::FromZero,
            1.0,
            None,
            Some("not in the 7-day series: 24h shows it".into()),
        ),
    ]
}

fn render_charts(area: Rect, buf: &mut Buffer, state: &State, r: &RegionView, theme: &Theme) {
    let mut end = state.now;
    let plots = if state.window == ChartWindow::D7 {
        match state.week_charts.get(r.name()) {
            Some(WeekChart::Ready(w)) => {
                end = w.until;
                week_plots(state, r, w, theme)
            }
            other => {
                // Nothing drawn until the week is read: never an empty chart read as zero.
                let (text, style) = match other {
                    Some(WeekChart::Failed { error, .. }) => (
                        format!("the 7 days of {} could not be read: {error}", r.name()),
                        theme.crit,
                    ),
                    _ => (format!("reading the 7 days of {}…", r.name()), theme.muted),
                };
                let block = Block::bordered()
                    .border_style(theme.border)
                    .title(Span::styled(" 7 days ", theme.title));
                let inner = block.inner(area);
                block.render(area, buf);
                for (i, part) in format::wrap(&text, inner.width.saturating_sub(2) as usize)
                    .into_iter()
                    .take(inner.height as usize)
                    .enumerate()
                {
                    buf.set_line(
                        inner.x + 1,
                        inner.y + i as u16,
                        &Line::from(Span::styled(part, style)),
                        inner.width.saturating_sub(1),
                    );
                }
                return;
            }
        }
    } else {
        plots(state, r, theme)
    };
    let n = plots.len() as u16;
    let cols: u16 = if area.height / n >= MIN_CHART_ROWS + 2 || area.width < 40 {
        1
    } else {
        2
    };
    let rows = n.div_ceil(cols);
    let row_areas =
        Layout::vertical(vec![Constraint::Ratio(1, rows as u32); rows as usize]).split(area);
    for (i, plot) in plots.iter().enumerate() {
        let row = row_areas[i / cols as usize];
        let cells =
            Layout::horizontal(vec![Constraint::Ratio(1, cols as u32); cols as usize]).split(row);
        chart::render(
            cells[i % cols as usize],
            buf,
            plot,
            state.window,
            end,
            theme,
        );
    }
}

/// The side list: breaches, stale data, ECS services, Route53, database, probe, cost.
pub fn side_lines(
    state: &State,
    r: &RegionView,
    theme: &Theme,
    width: usize,
) -> Vec<Line<'static>> {
    let mut out: Vec<Line<'static>> = Vec::new();
    let head = |text: &str| Line::from(Span::styled(text.to_string(), theme.title));
    let wrapped = |out: &mut Vec<Line<'static>>, text: String, style: Style| {
        for (i, part) in format::wrap(&text, width.saturating_sub(2))
            .into_iter()
            .enumerate()
        {
            let indent = if i == 0 { "" } else { "  " };
            out.push(Line::from(Span::styled(format!("{indent}{part}"), style)));
        }
    };
    out.push(head("status"));
    if r.breaches.is_empty() {
        let (status, text) = if r.metrics.is_none() {
            (Status::Unknown, "no data yet")
        } else {
            (Status::Ok, "all within thresholds")
        };
        wrapped(
            &mut out,
            format!("{} {text}", theme.symbol(status)),
            theme.status(status),
        );
    }
    let mut breaches: Vec<_> = r.breaches.iter().collect();
    breaches.sort_by_key(|b| std::cmp::Reverse(b.status.severity()));
    for b in breaches {
        wrapped(
            &mut out,
            format!("{} {}", theme.symbol(b.status), b.message),
            theme.status(b.status),
        );
    }
    for kind in DataKind::ALL {
        if let Some(label) = r.stale_label(kind, state.now) {
            wrapped(
                &mut out,
                format!("{} {} {label}", theme.symbols.stale, kind.label()),
                theme.stale,
            );
        }
    }
    out.push(head("values"));
    out.extend(value_pairs(state, r, theme, width));
    out.push(head("ecs"));
    match &r.ecs {
        None => wrapped(&mut out, NO_DATA.into(), theme.muted),
        Some(services) => {
            for s in services {
                let level = crate::fleet::health::ecs_level(s);
                let text = format!(
                    "{}/{} {}/{} ({} pending)",
                    s.cluster, s.service, s.running, s.desired, s.pending
                );
                wrapped(&mut out, text, theme.status(level));
            }
        }
    }
    if !r.spec.eks.is_empty() {
        out.push(head("eks"));
        for spec in &r.spec.eks {
            let read = r
                .eks
                .iter()
                .flatten()
                .find(|g| g.cluster == spec.cluster && g.nodegroup == spec.nodegroup);
            let pods = r
                .metrics
                .as_ref()
                .and_then(|m| m.running_pods.get(&spec.pods_key()).copied().flatten());
            let p = pods
                .map(|p| format!("{p:.0}"))
                .unwrap_or_else(|| NO_DATA.into());
            match read {
                None => wrapped(&mut out, format!("{} {NO_DATA}", spec.id()), theme.muted),
                Some(g) => {
                    let level = crate::fleet::health::eks_level(g, pods);
                    let text = format!(
                        "{} {} nodes (min {}, max {}) {} · {}/{} {p} pods running",
                        g.id(),
                        g.desired,
                        g.min,
                        g.max,
                        g.status,
                        spec.namespace,
                        spec.service
                    );
                    wrapped(&mut out, text, theme.status(level));
                    for issue in &g.issues {
                        wrapped(&mut out, format!("  {issue}"), theme.status(level));
                    }
                }
            }
        }
    }
    out.push(head("route53"));
    if let Some(spec) = &r.spec.route53 {
        wrapped(
            &mut out,
            format!("{} {}", spec.record, spec.set_identifier),
            theme.muted,
        );
    }
    let r53 = metrics::rows(state, r)
        .into_iter()
        .find(|x| x.label == "route53");
    if let Some(row) = r53 {
        wrapped(
            &mut out,
            row.value.clone(),
            row.level.map(|s| theme.status(s)).unwrap_or(theme.text),
        );
    }
    out.push(head("database"));
    let db = match &r.replication {
        None => (
            r.spec.rds.clone().unwrap_or_else(|| NO_DATA.into()),
            theme.muted,
        ),
        Some(Replication::Primary { instance, status }) => {
            (format!("{instance} writer, {status}"), theme.text)
        }
        Some(Replication::Replica {
            instance,
            source,
            status,
        }) => (format!("{instance} ← {source}, {status}"), theme.text),
        Some(Replication::Broken {
            instance, reason, ..
        }) => (format!("{instance} BROKEN: {reason}"), theme.crit),
    };
    wrapped(&mut out, db.0, db.1);
    out.push(head("probe"));
    match &r.probe {
        None => wrapped(&mut out, NO_DATA.into(), theme.muted),
        Some(p) => {
            let row = metrics::rows(state, r)
                .into_iter()
                .find(|x| x.label == "probe");
            let style = row
                .and_then(|x| x.level)
                .map(|s| theme.status(s))
                .unwrap_or(theme.text);
            let code = p
                .http_status
                .map(|c| format!("HTTP {c}"))
                .unwrap_or_else(|| "no answer".into());
            let status = p.status.clone().unwrap_or_default();
            wrapped(
                &mut out,
                format!("{code} {status} in {}", format::ms(p.rtt_ms)),
                style,
            );
            for (region, status, ms) in &p.replicas {
                let ms = ms.map(format::ms).unwrap_or_else(|| NO_DATA.into());
                wrapped(&mut out, format!("  {region}: {status} {ms}"), theme.muted);
            }
        }
    }
    out.push(head("cost"));
    match &r.cost {
        None => wrapped(&mut out, NO_DATA.into(), theme.muted),
        Some(c) => {
            let mtd = c
                .month_to_date_usd
                .map(format::usd)
                .unwrap_or_else(|| NO_DATA.into());
            let fc = c
                .forecast_usd
                .map(format::usd)
                .unwrap_or_else(|| NO_DATA.into());
            let how = if c.forecast_is_projection {
                " (projected)"
            } else {
                ""
            };
            wrapped(&mut out, format!("{mtd} month to date"), theme.text);
            wrapped(&mut out, format!("{fc} forecast{how}"), theme.text);
        }
    }
    out
}

/// The current traffic and data-tier values, two to a line when there is room: "p99 202 ms".
fn value_pairs(state: &State, r: &RegionView, theme: &Theme, width: usize) -> Vec<Line<'static>> {
    let rows = metrics::rows(state, r);
    let cells: Vec<Vec<Span<'static>>> = rows
        .iter()
        .filter(|x| x.group <= 1)
        .map(|x| {
            let label = Span::styled(format!("{} ", x.short_label()), theme.muted);
            vec![
                label,
                value_span(x.compact_value().to_string(), x.level, theme),
            ]
        })
        .collect();
    let half = width / 2;
    let fits = |c: &Vec<Span<'_>>| c.iter().map(|s| s.width()).sum::<usize>() < half;
    if cells.iter().all(fits) {
        cells
            .chunks(2)
            .map(|pair| {
                let mut spans = pair[0].clone();
                let used: usize = spans.iter().map(|s| s.width()).sum();
                if let Some(second) = pair.get(1) {
                    spans.push(Span::raw(" ".repeat(half - used)));
                    spans.extend(second.iter().cloned());
                }
                Line::from(spans)
            })
            .collect()
    } else {
        cells.into_iter().map(Line::from).collect()
    }
}

fn render_side(area: Rect, buf: &mut Buffer, state: &State, r: &RegionView, theme: &Theme) {
    let block = Block::bordered()
        .border_style(theme.border)
        .title(Span::styled(" now ", theme.title));
    let inner = block.inner(area);
    block.render(area, buf);
    let lines = side_lines(state, r, theme, inner.width.saturating_sub(1) as usize);
    for (i, line) in lines.iter().take(inner.height as usize).enumerate() {
        buf.set_line(
            inner.x + 1,
            inner.y + i as u16,
            line,
            inner.width.saturating_sub(1),
        );
    }
}
