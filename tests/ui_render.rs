//! Every pane and dialog rendered on a fixed-size TestBackend: insta snapshots of the text, plus
//! style assertions (snapshots hold no colours).

mod common;

use chrono::Duration;
use opsdeck::app::{update, Action, ChartWindow, State, View};
use opsdeck::config::Theme;
use opsdeck::fleet::{DataKind, SourceError};
use opsdeck::source::SourceEvent;
use opsdeck::ui::export::buffer_to_text;
use opsdeck::ui::{format, help, layout};
use ratatui::backend::TestBackend;
use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::Terminal;

fn render(state: &State, w: u16, h: u16) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    let keymap = common::keymap();
    term.draw(|f| {
        opsdeck::ui::draw(f, state, &Theme::fallback(), &keymap);
    })
    .unwrap();
    term.backend().buffer().clone()
}

fn text(state: &State, w: u16, h: u16) -> String {
    buffer_to_text(&render(state, w, h))
}

/// The cell where `needle` starts inside `area`, searching row by row.
fn find(buf: &Buffer, needle: &str, area: Rect) -> Option<(u16, u16)> {
    for y in area.top()..area.bottom() {
        let mut row = String::new();
        let mut starts = Vec::new();
        for x in area.left()..area.right() {
            starts.push((row.len(), x));
            row.push_str(buf[(x, y)].symbol());
        }
        if let Some(at) = row.find(needle) {
            let x = starts
                .iter()
                .rev()
                .find(|(off, _)| *off <= at)
                .map(|(_, x)| *x)
                .unwrap();
            return Some((x, y));
        }
    }
    None
}

fn cell<'a>(buf: &'a Buffer, needle: &str, area: Rect) -> &'a Cell {
    let (x, y) = find(buf, needle, area)
        .unwrap_or_else(|| panic!("{needle:?} not on screen:\n{}", buffer_to_text(buf)));
    &buf[(x, y)]
}

fn full(w: u16, h: u16) -> Rect {
    Rect::new(0, 0, w, h)
}

fn pane(state: &State, w: u16, h: u16, i: usize) -> Rect {
    layout::overview_region_rects(full(w, h), state.regions.len())[i]
}

// ---- snapshots ----

#[test]
fn overview_80x24_healthy() {
    insta::assert_snapshot!(text(&common::healthy_state(), 80, 24));
}

#[test]
fn overview_80x24_incident() {
    insta::assert_snapshot!(text(&common::incident_state(), 80, 24));
}

#[test]
fn overview_160x48_healthy() {
    insta::assert_snapshot!(text(&common::healthy_state(), 160, 48));
}

#[test]
fn overview_160x48_incident() {
    insta::assert_snapshot!(text(&common::incident_state(), 160, 48));
}

#[test]
fn overview_20_regions_160x48() {
    insta::assert_snapshot!(text(&common::twenty_region_state(), 160, 48));
}

#[test]
fn overview_20_regions_80x24() {
    insta::assert_snapshot!(text(&common::twenty_region_state(), 80, 24));
}

#[test]
fn overview_region_without_data() {
    insta::assert_snapshot!(text(&common::no_data_state(), 80, 24));
}

#[test]
fn detail_1h_80x24() {
    let mut s = common::incident_state();
    s.view = View::Detail;
    s.focus = 1;
    s.window = ChartWindow::H1;
    insta::assert_snapshot!(text(&s, 80, 24));
}

#[test]
fn detail_1h_160x48() {
    let mut s = common::incident_state();
    s.view = View::Detail;
    s.focus = 1;
    insta::assert_snapshot!(text(&s, 160, 48));
}

#[test]
fn detail_15m_stale_primary_120x40() {
    let mut s = common::incident_state();
    s.view = View::Detail;
    s.focus = 0;
    s.window = ChartWindow::M15;
    insta::assert_snapshot!(text(&s, 120, 40));
}

#[test]
fn events_view_100x30() {
    let mut s = common::incident_state();
    s.view = View::Events;
    insta::assert_snapshot!(text(&s, 100, 30));
}

#[test]
fn events_view_scrolled_100x12() {
    let mut s = common::incident_state();
    update(&mut s, Action::Events);
    for _ in 0..3 {
        update(&mut s, Action::ScrollDown);
    }
    insta::assert_snapshot!(text(&s, 100, 12));
}

#[test]
fn help_overlay_80x24() {
    let mut s = common::healthy_state();
    s.help = true;
    insta::assert_snapshot!(text(&s, 80, 24));
}

#[test]
fn help_overlay_scrolled_over_detail_120x40() {
    let mut s = common::incident_state();
    s.view = View::Detail;
    update(&mut s, Action::Help);
    for _ in 0..12 {
        update(&mut s, Action::ScrollDown);
    }
    insta::assert_snapshot!(text(&s, 120, 30));
}

#[test]
fn footer_shows_flash_message() {
    let mut s = common::healthy_state();
    s.flash = Some("scenario outage injected into us-east-1".into());
    let buf = render(&s, 100, 24);
    let footer = buffer_to_text(&buf).lines().last().unwrap().to_string();
    insta::assert_snapshot!(footer);
    let c = cell(&buf, "scenario outage", Rect::new(0, 23, 100, 1));
    assert_eq!(c.fg, Theme::fallback().accent.fg.unwrap());
}

// ---- what the panes must say ----

#[test]
fn read_only_is_always_on_the_status_line() {
    let mut s = common::incident_state();
    assert!(!text(&s, 80, 24)
        .lines()
        .next()
        .unwrap()
        .contains("READ-ONLY"));
    s.read_only = true;
    for (w, h) in [(80, 24), (160, 48)] {
        let top = text(&s, w, h).lines().next().unwrap().to_string();
        assert!(
            top.contains("READ-ONLY") && top.contains("us-east-1"),
            "{w}x{h}: {top}"
        );
    }
}

#[test]
fn status_line_fits_80_columns_and_names_the_worst_region() {
    let s = common::incident_state();
    let buf = render(&s, 80, 24);
    let top = buffer_to_text(&buf).lines().next().unwrap().to_string();
    assert!(format::width(&top) <= 80);
    assert!(top.contains("us-east-1") && top.contains("CRIT"), "{top}");
    assert!(
        top.contains("5xx 12 % since 03:52"),
        "the worst breach is the 5xx storm, with since when: {top}"
    );
    let wide = text(&s, 200, 24);
    let top = wide.lines().next().unwrap();
    assert!(
        top.contains("oncall/sam") && top.contains("opsdeck") && top.contains("4 alerts"),
        "{top}"
    );
}

#[test]
fn healthy_status_line_says_all_regions_ok() {
    let top = text(&common::healthy_state(), 80, 24)
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(
        top.contains("all regions ok") && top.contains("0 alerts"),
        "{top}"
    );
}

#[test]
fn a_stale_pane_keeps_its_last_values() {
    let s = common::incident_state();
    let eu = &s.regions[0];
    let buf = render(&s, 80, 24);
    let rect = pane(&s, 80, 24, 0);
    let hit = eu.metrics.as_ref().unwrap().cache_hit_ratio.unwrap();
    assert!(
        find(&buf, &format::pct(hit), rect).is_some(),
        "last cache hit value still shown"
    );
    let label = eu.stale_label(DataKind::Metrics, s.now).unwrap();
    assert_eq!(label, "stale 60 s: ThrottlingException");
    assert!(find(&buf, &label, rect).is_some());
}

#[test]
fn help_lists_every_binding_of_the_keymap() {
    let keymap = common::keymap();
    let groups = help::groups(&keymap);
    for b in &keymap.bindings {
        let key = opsdeck::config::keymap::key_label(b.code, b.modifiers);
        let group = groups
            .iter()
            .find(|g| g.mode == b.mode)
            .expect("mode listed");
        assert!(
            group
                .rows
                .iter()
                .any(|(keys, desc)| keys.split(", ").any(|k| k == key)
                    && *desc == b.action.describe()),
            "{key} → {:?} missing from the {:?} group",
            b.action,
            b.mode
        );
    }
    let mut s = common::healthy_state();
    s.help = true;
    let screen = text(&s, 80, 24);
    assert!(screen.contains("help · keymap: default"));
    assert!(screen.contains("show / hide this help"));
}

/// The help overlay's own content (the cells inside its border, not what is around it), row by
/// row, and its bottom border.
fn help_overlay(screen: &str) -> (Vec<String>, String) {
    let lines: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
    let top = lines
        .iter()
        .position(|l| String::from_iter(l).contains("help · keymap:"))
        .unwrap_or_else(|| panic!("no help overlay:\n{screen}"));
    let left = lines[top].iter().position(|c| *c == '╭').unwrap();
    // The right border column: the scrollbar (▲ … ▼) covers it when the help does not fit.
    let right = lines[top].iter().rposition(|c| *c == '─').unwrap() + 1;
    let cells = |l: &Vec<char>| String::from_iter(&l[left..=right.min(l.len() - 1)]);
    let bottom = top
        + lines[top..]
            .iter()
            .position(|l| l.get(left) == Some(&'╰'))
            .unwrap_or_else(|| panic!("help overlay has no bottom border:\n{screen}"));
    let rows = lines[top + 1..bottom]
        .iter()
        .map(|l| {
            cells(l)
                .trim_matches(['│', ' ', '█', '║', '▲', '▼'])
                .to_string()
        })
        .collect();
    (rows, cells(&lines[bottom]))
}

#[test]
fn help_scroll_stops_at_the_last_line() {
    let keymap = common::keymap();
    let groups = help::groups(&keymap);
    // The overlay's lines: a heading per group, its rows, a blank line between groups.
    let total: usize = groups.iter().map(|g| g.rows.len() + 1).sum::<usize>() + groups.len() - 1;
    let last = groups.last().unwrap().rows.last().unwrap().1;
    let first_heading = "everywhere";
    let mut s = common::healthy_state();
    s.help = true;

    let screen = text(&s, 80, 24);
    let (rows, bottom) = help_overlay(&screen);
    assert!(
        rows.len() < total,
        "24 rows must not hold all of the help:\n{screen}"
    );
    assert!(rows[0].contains(first_heading), "{screen}");
    assert!(!rows.iter().any(|r| r.contains(last)), "{screen}");
    assert!(
        bottom.contains(&format!("1–{} of {total}", rows.len())),
        "{screen}"
    );

    // Scrolled far past the end: the last line is the overlay's last row, the first is gone.
    s.help_scroll = 10_000;
    let screen = text(&s, 80, 24);
    let (rows, bottom) = help_overlay(&screen);
    assert!(rows.last().unwrap().contains(last), "{screen}");
    assert!(!rows.iter().any(|r| r.contains(first_heading)), "{screen}");
    let from = total - rows.len() + 1;
    assert!(
        bottom.contains(&format!("{from}–{total} of {total}")),
        "{screen}"
    );
}

// ---- colours ----

#[test]
fn value_cells_take_their_threshold_colour() {
    let theme = Theme::fallback();
    let s = common::incident_state();
    let buf = render(&s, 80, 24);
    let us = &s.regions[1];
    let err = format::pct(us.metrics.as_ref().unwrap().error_rate.unwrap());
    let c = cell(&buf, &err, pane(&s, 80, 24, 1));
    assert_eq!(c.fg, theme.crit.fg.unwrap(), "crit 5xx value");
    assert!(c.modifier.contains(Modifier::BOLD));
    let ap = &s.regions[2];
    let lag = format::secs(ap.metrics.as_ref().unwrap().replica_lag_s.unwrap());
    assert_eq!(
        cell(&buf, &lag, pane(&s, 80, 24, 2)).fg,
        theme.warn.fg.unwrap(),
        "warn replica lag"
    );
    let us_lag = format::secs(us.metrics.as_ref().unwrap().replica_lag_s.unwrap());
    assert_eq!(
        cell(&buf, &us_lag, pane(&s, 80, 24, 1)).fg,
        theme.ok.fg.unwrap(),
        "ok replica lag"
    );
    let p50 = format::ms(us.metrics.as_ref().unwrap().latency_ms["p50"].unwrap());
    assert_eq!(
        cell(&buf, &p50, pane(&s, 80, 24, 1)).fg,
        theme.text.fg.unwrap(),
        "p50 has no threshold"
    );
}

#[test]
fn sparkline_bars_over_the_limit_are_crit() {
    let theme = Theme::fallback();
    let s = common::incident_state();
    let buf = render(&s, 80, 24);
    let rect = pane(&s, 80, 24, 1);
    let (_, y) = find(&buf, "5xx", rect).unwrap();
    let last_bar = &buf[(rect.right() - 2, y)];
    assert_eq!(last_bar.symbol(), "█");
    assert_eq!(last_bar.fg, theme.crit.fg.unwrap());
    let (_, y) = find(&buf, "5xx", pane(&s, 80, 24, 0)).unwrap();
    assert_eq!(
        buf[(pane(&s, 80, 24, 0).right() - 2, y)].fg,
        theme.sparkline.fg.unwrap()
    );
}

#[test]
fn focused_pane_border_uses_border_focus() {
    let theme = Theme::fallback();
    let mut s = common::healthy_state();
    for focus in [0, 2] {
        s.focus = focus;
        let buf = render(&s, 80, 24);
        for i in 0..3 {
            let r = pane(&s, 80, 24, i);
            let corner = &buf[(r.x, r.y)];
            let want = if i == focus {
                theme.border_focus
            } else {
                theme.border
            };
            assert_eq!(corner.fg, want.fg.unwrap(), "pane {i} with focus {focus}");
            assert_eq!(corner.symbol(), if i == focus { "┏" } else { "┌" });
        }
    }
}

#[test]
fn stale_marker_uses_the_stale_style() {
    let theme = Theme::fallback();
    let s = common::incident_state();
    let buf = render(&s, 80, 24);
    let rect = pane(&s, 80, 24, 0);
    let bottom = Rect::new(rect.x, rect.bottom() - 1, rect.width, 1);
    assert_eq!(cell(&buf, "stale 60 s", bottom).fg, theme.stale.fg.unwrap());
    let (_, y) = find(&buf, "cache hit", rect).unwrap();
    assert_eq!(
        buf[(rect.x + 1, y)].fg,
        theme.stale.fg.unwrap(),
        "label of a stale row"
    );
}

#[test]
fn status_badge_has_the_status_colour_behind_it() {
    let theme = Theme::fallback();
    let buf = render(&common::incident_state(), 120, 24);
    let c = cell(&buf, "CRIT", Rect::new(0, 0, 120, 1));
    assert_eq!(c.bg, theme.crit.fg.unwrap());
    let header = cell(&buf, "atlas-crm", Rect::new(0, 0, 120, 1));
    assert_eq!(header.bg, theme.header.bg.unwrap());
}

#[test]
fn event_strip_colours_levels() {
    let theme = Theme::fallback();
    let s = common::incident_state();
    let buf = render(&s, 160, 48);
    let strip = layout::event_strip_area(full(160, 48));
    let crit = s
        .events
        .iter()
        .find(|e| e.level == opsdeck::fleet::Status::Crit)
        .unwrap();
    let c = cell(&buf, &crit.text, strip);
    assert_eq!(c.fg, theme.crit.fg.unwrap());
}

#[test]
fn detail_window_tab_is_highlighted() {
    let theme = Theme::fallback();
    let mut s = common::incident_state();
    s.view = View::Detail;
    for w in ChartWindow::ALL {
        s.window = w;
        let buf = render(&s, 120, 40);
        let c = cell(&buf, &format!("[{}]", w.label()), Rect::new(0, 1, 120, 1));
        assert!(c.modifier.contains(theme.selection.add_modifier), "{w:?}");
    }
}

#[test]
fn draw_survives_tiny_and_huge_terminals() {
    let s = common::twenty_region_state();
    for (w, h) in [(1, 1), (10, 3), (40, 10), (80, 24), (300, 100)] {
        let mut s = s.clone();
        s.flash = Some("a flash message longer than a tiny terminal is wide".into());
        for view in [View::Overview, View::Detail, View::Events] {
            for help in [false, true] {
                s.view = view;
                s.help = help;
                let _ = render(&s, w, h);
            }
        }
    }
}

#[test]
fn failed_fetch_without_any_data_says_no_data() {
    let mut s = State::new(
        opsdeck::fleet::Fleet::builtin(),
        opsdeck::fleet::SourceKind::Aws,
        common::start(),
    );
    let at = common::start() + Duration::seconds(5);
    let error = SourceError::NoCredentials("no profile".into());
    update(
        &mut s,
        Action::Source(SourceEvent::Failed {
            region: "us-east-1".into(),
            kind: DataKind::Metrics,
            at,
            error,
        }),
    );
    let buf = render(&s, 80, 24);
    assert!(
        find(&buf, "no data: NoCredentials", pane(&s, 80, 24, 1)).is_some(),
        "{}",
        buffer_to_text(&buf)
    );
    assert!(find(&buf, format::NO_DATA, pane(&s, 80, 24, 0)).is_some());
}

// ---- export ----

#[test]
fn svg_export_has_colours_bold_and_text() {
    let mut buf = Buffer::empty(Rect::new(0, 0, 12, 2));
    buf.set_string(
        0,
        0,
        "ok",
        Style::default()
            .fg(Color::Green)
            .add_modifier(Modifier::BOLD),
    );
    buf.set_string(
        3,
        0,
        "<crit>",
        Style::default().fg(Color::Rgb(255, 85, 85)).bg(Color::Blue),
    );
    buf.set_string(0, 1, "✔ done", Style::default());
    let svg = opsdeck::ui::export::buffer_to_svg(&buf, None);
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(
        svg.contains(r##"fill="#00cd00" textLength="16.8" lengthAdjust="spacingAndGlyphs" font-weight="bold">ok</text>"##),
        "{svg}"
    );
    assert!(
        svg.contains(r##"fill="#ff5555" textLength="50.4" lengthAdjust="spacingAndGlyphs">&lt;crit&gt;</text>"##),
        "{svg}"
    );
    assert!(
        svg.contains(r##"fill="#0000ee""##),
        "blue background rect: {svg}"
    );
    assert!(svg.contains(opsdeck::ui::export::DEFAULT_BG));
    assert!(svg.contains("✔"));
    let light = opsdeck::ui::export::buffer_to_svg(&buf, Some(Color::Rgb(250, 250, 250)));
    assert!(light.contains("#fafafa"));
}

#[test]
fn text_export_keeps_wide_symbols_in_place() {
    let mut buf = Buffer::empty(Rect::new(0, 0, 8, 2));
    buf.set_string(0, 0, "⌛ab", Style::default());
    buf.set_string(0, 1, "x ", Style::default());
    assert_eq!(buffer_to_text(&buf), "⌛ab\nx\n");
}

/// One rule for an ECS service's level (`fleet::health::ecs_level`): region health, the overview
/// pane and the detail view agree — a scale-out in progress (tasks starting) is ok everywhere,
/// running short with nothing starting is warn everywhere.
#[test]
fn an_ecs_service_has_the_same_level_in_health_and_every_pane() {
    use opsdeck::fleet::health::Family;
    use opsdeck::fleet::{EcsCounts, Reading, Status};
    let theme = Theme::fallback();
    for (running, pending, want, style) in [
        (3, 2, Status::Ok, theme.ok),
        (3, 0, Status::Warn, theme.warn),
    ] {
        let mut s = common::healthy_state();
        let spec = s.fleet.regions[0].ecs[0].clone();
        let (at, region) = (s.now, s.fleet.regions[0].name.clone());
        update(
            &mut s,
            Action::Source(SourceEvent::Reading {
                region,
                at,
                reading: Reading::Ecs(vec![EcsCounts {
                    cluster: spec.cluster.clone(),
                    service: spec.service.clone(),
                    desired: 5,
                    running,
                    pending,
                }]),
            }),
        );
        let r = &s.regions[0];
        let ecs_breach = r.breaches.iter().find(|b| b.family == Family::Ecs);
        assert_eq!(ecs_breach.map(|b| b.status).unwrap_or(Status::Ok), want);
        assert_eq!(
            r.status, want,
            "region health, {running} running + {pending} starting"
        );
        let buf = render(&s, 160, 48);
        let value = cell(&buf, "3/5", pane(&s, 160, 48, 0));
        assert_eq!(
            value.fg,
            style.fg.unwrap(),
            "overview pane, {pending} starting"
        );
        s.view = View::Detail;
        let buf = render(&s, 160, 48);
        let line = format!("{}/{} 3/5", spec.cluster, spec.service);
        let c = cell(&buf, &line, layout::body_area(full(160, 48)));
        assert_eq!(c.fg, style.fg.unwrap(), "detail view, {pending} starting");
    }
}

// ---- the detail view's 7-day window (issue 13 §6) ----

use opsdeck::app::dialog::{OpEffect, OpReport};
use opsdeck::app::week_charts::WeekChart;
use opsdeck::app::Effect;
use opsdeck::report::region_week::{self, RegionWeek};

/// The plot area of the chart titled `title`: (first column, last column, rows top..bottom of
/// the plot above its x axis), found from the chart's borders and axis corner on screen.
fn plot_area(buf: &Buffer, title: &str) -> (u16, u16, u16, u16) {
    let (tx, ty) = find(buf, title, buf.area).unwrap_or_else(|| panic!("{title:?}"));
    let left = tx - 1;
    assert_eq!(
        buf[(left, ty)].symbol(),
        "┌",
        "{title:?} is not a chart title"
    );
    let right = (tx..buf.area.right())
        .find(|x| buf[(*x, ty)].symbol() == "┐")
        .unwrap();
    let bottom = (ty + 1..buf.area.bottom())
        .find(|y| buf[(left, *y)].symbol() == "└")
        .unwrap();
    // The x axis: the row inside with the axis corner.
    let (axis_x, axis_y) = (ty + 1..bottom)
        .flat_map(|y| (left + 1..right).map(move |x| (x, y)))
        .find(|p| buf[*p].symbol() == "└")
        .unwrap_or_else(|| panic!("no axis in {title:?}:\n{}", buffer_to_text(buf)));
    (axis_x + 1, right - 1, ty + 1, axis_y)
}

fn is_braille(c: &Cell) -> bool {
    c.symbol()
        .chars()
        .next()
        .is_some_and(|c| ('\u{2801}'..='\u{28FF}').contains(&c))
}

/// Columns of the plot with the data line somewhere in rows `top..bottom`.
fn drawn_columns(buf: &Buffer, area: (u16, u16, u16, u16), top: u16, bottom: u16) -> Vec<u16> {
    (area.0..=area.1)
        .filter(|x| (top..bottom).any(|y| is_braille(&buf[(*x, y)])))
        .collect()
}

/// The time a plot column stands for in the 7-day window that ends at `until`.
fn column_time(area: (u16, u16, u16, u16), x: u16, until: chrono::DateTime<chrono::Utc>) -> f64 {
    let width = (area.1 - area.0 + 1) as f64;
    let frac = (x - area.0) as f64 / (width - 1.0);
    until.timestamp() as f64 - (1.0 - frac) * 7.0 * 86_400.0
}

/// The highest value of a 7-day series.
fn extreme_of(s: &opsdeck::fleet::series::Series) -> f64 {
    s.iter()
        .map(|p| p.1)
        .filter(|v| !v.is_nan())
        .fold(f64::MIN, f64::max)
}

fn week_of<'a>(s: &'a State, region: &str) -> &'a RegionWeek {
    match s.week_charts.get(region) {
        Some(WeekChart::Ready(w)) => w,
        other => panic!("{region}: {other:?}"),
    }
}

/// `+` past 24 h opens the 7-day window: it asks for the region's week once (a "reading" line
/// meanwhile, no chart), and draws the model's week over the days — an error storm injected
/// four days before the console's clock shows above the 5xx limit at that day's columns and
/// nowhere else, with the days on the x axis. Asked again within the hour it is not read again;
/// an hour later, at the next opening, it is.
#[test]
fn detail_7d_shows_an_incident_days_earlier_at_its_day() {
    let mut s = common::incident_state();
    s.view = View::Detail;
    s.focus = 2;
    s.window = ChartWindow::H24;
    let region = s.focused().name().to_string();
    let effects = update(&mut s, Action::NextWindow);
    assert_eq!(s.window, ChartWindow::D7);
    assert_eq!(
        effects,
        vec![Effect::Op(OpEffect::LoadRegionWeek {
            region: region.clone()
        })]
    );
    let loading = text(&s, 160, 48);
    assert!(
        loading.contains(&format!("reading the 7 days of {region}…")),
        "{loading}"
    );
    assert!(!loading.contains(" 5xx % "), "{loading}");
    // Nothing more asked while it is read, whatever moves.
    assert!(update(&mut s, Action::NextWindow).is_empty());
    assert!(update(&mut s, Action::Tick).is_empty());

    let now = s.now;
    let seed = 7;
    let start = now - Duration::days(4) + Duration::minutes(30);
    let storm = opsdeck::report::sim::Scheduled {
        region: region.clone(),
        scenario: opsdeck::source::Scenario::ErrorStorm,
        start,
        end: start + Duration::minutes(90),
    };
    // The seed's own weather leaves this region alone around then: what shows is the storm.
    let (from, until) = opsdeck::report::window(now, 7 * 86_400);
    assert!(
        !opsdeck::report::sim::weather(&s.fleet, seed, from, until)
            .iter()
            .any(|w| w.region == region),
        "pick another seed: the weather hits {region}"
    );
    let weeks = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(region_week::read(
            s.fleet.clone(),
            opsdeck::report::WeekSource::Sim { seed },
            region.clone(),
            now,
            vec![storm],
        ))
        .unwrap();
    assert_eq!(weeks.len(), s.regions.len(), "the model gives every region");
    update(
        &mut s,
        Action::OpReport(OpReport::RegionWeek {
            region: region.clone(),
            result: Ok(weeks),
        }),
    );
    let w = week_of(&s, &region);
    assert_eq!((w.from, w.until), (from, until));
    let limit = s.fleet.thresholds_for(&region).error_rate;
    let over: Vec<i64> = w
        .error_rate
        .iter()
        .filter(|p| p.1 > limit)
        .map(|p| p.0)
        .collect();
    let storm_hour = (start.timestamp() / 3600) * 3600;
    assert!(over.contains(&(storm_hour + 3600)), "{over:?}");
    assert!(
        over.iter()
            .all(|t| (storm_hour..storm_hour + 2 * 3600).contains(t)),
        "{over:?}"
    );

    let buf = render(&s, 160, 48);
    let screen = buffer_to_text(&buf);
    insta::assert_snapshot!("detail_7d_storm_4_days_back_160x48", screen);
    // The days on the x axis: the window's first, middle and last (8 days where they fit).
    for h in [0, 84, 168] {
        let day = (until - Duration::hours(h)).format("%a %d").to_string();
        assert!(screen.contains(&day), "{day} not on the axis:\n{screen}");
    }
    // Above the limit line (the dotted row) only at the storm's columns.
    let area = plot_area(&buf, " 5xx % ");
    let limit_row = (area.2..area.3)
        .find(|y| {
            (area.0..=area.1)
                .filter(|x| buf[(*x, *y)].symbol() == "•")
                .count()
                > 10
        })
        .unwrap_or_else(|| panic!("no limit line:\n{screen}"));
    let above = drawn_columns(&buf, area, area.2, limit_row);
    assert!(!above.is_empty(), "the storm is not drawn:\n{screen}");
    let column_s = 7.0 * 86_400.0 / (area.1 - area.0) as f64;
    for x in &above {
        let t = column_time(area, *x, until);
        assert!(
            t >= (storm_hour as f64) - 2.0 * column_s
                && t <= (storm_hour + 2 * 3600) as f64 + 2.0 * column_s,
            "column {x} ({t}) above the limit, the storm is at {start}:\n{screen}"
        );
    }
    // Coloured as the 24 h charts: the limit line and the week's peak over it crit, a peak
    // under its limit ok.
    let theme = Theme::fallback();
    let limit_cell = (area.0..=area.1)
        .map(|x| &buf[(x, limit_row)])
        .find(|c| c.symbol() == "•")
        .unwrap();
    assert_eq!(limit_cell.fg, theme.crit.fg.unwrap());
    let peak = format::pct(extreme_of(&w.error_rate));
    let header = Rect::new(0, area.2 - 1, buf.area.width, 1);
    assert_eq!(
        cell(&buf, &peak, header).fg,
        theme.crit.fg.unwrap(),
        "{peak}"
    );
    let lag_area = plot_area(&buf, " replica lag s ");
    let lag_peak = format!("{:.1} s", extreme_of(&w.replica_lag_s));
    let lag_header = Rect::new(lag_area.0, lag_area.2 - 1, buf.area.width - lag_area.0, 1);
    assert!(extreme_of(&w.replica_lag_s) < s.fleet.thresholds_for(&region).replica_lag_s);
    assert_eq!(cell(&buf, &lag_peak, lag_header).fg, theme.ok.fg.unwrap());
    // The rest of the week is drawn too (below the limit).
    assert!(
        drawn_columns(&buf, area, limit_row + 1, area.3).len() > (area.1 - area.0) as usize / 2
    );

    // Cached: closing and opening the window again within the hour reads nothing.
    assert!(update(&mut s, Action::PrevWindow).is_empty());
    assert!(update(&mut s, Action::NextWindow).is_empty());
    // The other regions came with the model's run: no read for them either.
    assert!(update(&mut s, Action::NextRegion).is_empty());
    assert!(update(&mut s, Action::PrevRegion).is_empty());
    // An hour on, the next opening reads the week that ends then.
    s.now = now + Duration::hours(1);
    assert!(update(&mut s, Action::Tick).is_empty(), "never on a tick");
    update(&mut s, Action::PrevWindow);
    assert_eq!(
        update(&mut s, Action::NextWindow),
        vec![Effect::Op(OpEffect::LoadRegionWeek {
            region: region.clone()
        })]
    );
    // A failed read says why in place of the charts and on the tab line; nothing is drawn.
    let error = "ap-southeast-1: GetMetricData: dispatch failure: connection refused";
    update(
        &mut s,
        Action::OpReport(OpReport::RegionWeek {
            region: region.clone(),
            result: Err(error.into()),
        }),
    );
    let failed = text(&s, 160, 48);
    assert!(
        failed.contains(&format!("the 7 days of {region} could not be read:")),
        "{failed}"
    );
    assert!(failed.contains("7 days not read (05:00)"), "{failed}");
    assert!(!failed.contains(" 5xx % "), "{failed}");
    // ... and the next opening asks again.
    update(&mut s, Action::PrevWindow);
    assert_eq!(
        update(&mut s, Action::NextWindow),
        vec![Effect::Op(OpEffect::LoadRegionWeek { region })]
    );
}

/// Hours without data are left blank in the 7-day charts — the line breaks there — and counted
/// on the tab line; never drawn as zero.
#[test]
fn detail_7d_leaves_hours_without_data_blank() {
    let mut s = common::incident_state();
    s.view = View::Detail;
    s.focus = 1;
    s.window = ChartWindow::D7;
    let region = s.focused().name().to_string();
    let (from, until) = opsdeck::report::window(s.now, 7 * 86_400);
    let stat = s.fleet.metrics.latency_stats.last().unwrap().clone();
    let gap = 72..120;
    let samples: Vec<opsdeck::report::series::Sample> = (0..168)
        .filter(|h| !gap.contains(h))
        .map(|h| opsdeck::report::series::Sample {
            t: from + Duration::hours(h),
            requests: Some(3600.0 * 100.0),
            errors: Some(3600.0 * (if h % 24 < 12 { 0.5 } else { 1.0 })),
            latency_ms: [(stat.clone(), 90.0)].into(),
            ..Default::default()
        })
        .collect();
    let w = RegionWeek::from_samples(
        &s.fleet,
        &region,
        &samples,
        3600,
        from,
        until,
        s.now,
        opsdeck::fleet::SourceKind::Aws,
        1,
    );
    update(
        &mut s,
        Action::OpReport(OpReport::RegionWeek {
            region: region.clone(),
            result: Ok(vec![w]),
        }),
    );
    let buf = render(&s, 160, 48);
    let screen = buffer_to_text(&buf);
    assert!(screen.contains("48 h without data"), "{screen}");
    for title in [" 5xx % ", " requests/s ", " latency "] {
        let area = plot_area(&buf, title);
        let drawn = drawn_columns(&buf, area, area.2, area.3);
        let column_s = 7.0 * 86_400.0 / (area.1 - area.0) as f64;
        let gap_from = (from + Duration::hours(gap.start)).timestamp() as f64;
        let gap_to = (from + Duration::hours(gap.end - 1)).timestamp() as f64;
        let blank: Vec<u16> = (area.0..=area.1)
            .filter(|x| {
                let t = column_time(area, *x, until);
                t > gap_from + column_s && t < gap_to - column_s
            })
            .collect();
        assert!(blank.len() >= 5, "{title}: {blank:?}");
        for x in &blank {
            assert!(
                !drawn.contains(x),
                "{title}: column {x} is drawn inside the hours without data:\n{screen}"
            );
        }
        assert!(
            drawn.len() > blank.len() * 3,
            "{title}: {drawn:?}\n{screen}"
        );
    }
}
