//! The review's charts as inline SVG, drawn by `plotters` (SVG backend): hourly p50/p99,
//! requests/s, 5xx share, replica lag (max and p99) and cache hit ratio, one line per region, and
//! the worst-hours heatmap (region × hour of the week). The `xmlns` attribute is taken out: SVG
//! inline in HTML needs none, and the file then refers to nothing outside itself.

use super::series::Hour;
use super::Report;
use chrono::Duration;
use plotters::prelude::*;

const WIDTH: u32 = 580;
const HEIGHT: u32 = 230;
const PALETTE: [RGBColor; 6] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x8c, 0x56, 0x4b),
];

/// One line of a chart: a label, a colour, thin or bold, values per hour of the window.
struct Line {
    label: String,
    color: RGBColor,
    bold: bool,
    points: Vec<(f64, Option<f64>)>,
}

fn strip(svg: String) -> String {
    svg.replace(" xmlns=\"http://www.w3.org/2000/svg\"", "")
        .replace(" xmlns:xlink=\"http://www.w3.org/1999/xlink\"", "")
}

fn hours_of(r: &Report, h: &[Hour], f: impl Fn(&Hour) -> Option<f64>) -> Vec<(f64, Option<f64>)> {
    h.iter()
        .map(|x| ((x.hour - r.from).num_minutes() as f64 / 60.0, f(x)))
        .collect()
}

fn chart(r: &Report, title: &str, lines: &[Line], limit: Option<f64>) -> String {
    let percent = title.contains("share") || title.contains("ratio");
    let span = ((r.until - r.from).num_minutes() as f64 / 60.0).max(1.0);
    let top = lines
        .iter()
        .flat_map(|l| l.points.iter().filter_map(|p| p.1))
        .chain(limit)
        .fold(0.0f64, f64::max);
    let top = if top > 0.0 { top * 1.1 } else { 1.0 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let from = r.from;
        let built = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 14))
            .margin(8)
            .x_label_area_size(22)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..span, 0f64..top);
        let Ok(mut c) = built else {
            return String::new();
        };
        let day = |x: &f64| {
            (from + Duration::minutes((x * 60.0) as i64))
                .format("%a %d")
                .to_string()
        };
        let _ = c
            .configure_mesh()
            .x_labels(8)
            .y_labels(5)
            .x_label_formatter(&day)
            .y_label_formatter(&|y: &f64| {
                if percent && top < 0.1 {
                    format!("{:.2}%", y * 100.0)
                } else if percent {
                    format!("{:.0}%", y * 100.0)
                } else {
                    format!("{y:.0}")
                }
            })
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .draw();
        if let Some(l) = limit {
            let _ = c
                .draw_series(LineSeries::new(
                    [(0.0, l), (span, l)],
                    RGBColor(0x99, 0x99, 0x99),
                ))
                .map(|s| {
                    s.label("objective").legend(|(x, y)| {
                        PathElement::new([(x, y), (x + 14, y)], RGBColor(0x99, 0x99, 0x99))
                    })
                });
        }
        for line in lines {
            let style = line.color.stroke_width(if line.bold { 2 } else { 1 });
            let mut labelled = false;
            // Gaps (hours without data) split the line.
            for run in line
                .points
                .split(|p| p.1.is_none())
                .filter(|s| !s.is_empty())
            {
                let pts: Vec<(f64, f64)> = run.iter().map(|p| (p.0, p.1.unwrap_or(0.0))).collect();
                if let Ok(s) = c.draw_series(LineSeries::new(pts, style)) {
                    if !labelled {
                        let color = line.color;
                        s.label(line.label.clone()).legend(move |(x, y)| {
                            PathElement::new([(x, y), (x + 14, y)], color.stroke_width(2))
                        });
                        labelled = true;
                    }
                }
            }
        }
        let _ = c
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(0xcc, 0xcc, 0xcc))
            .label_font(("sans-serif", 11))
            .draw();
        let _ = root.present();
    }
    strip(svg)
}

/// Every chart of the window, as SVG elements.
pub fn all(r: &Report) -> Vec<String> {
    let color = |i: usize| PALETTE[i % PALETTE.len()];
    let per_region = |f: &dyn Fn(&Hour) -> Option<f64>, bold: bool, suffix: &str| -> Vec<Line> {
        r.regions
            .iter()
            .enumerate()
            .map(|(i, x)| Line {
                label: format!("{}{suffix}", x.name),
                color: color(i),
                bold,
                points: hours_of(r, &x.hourly, f),
            })
            .filter(|l| l.points.iter().any(|p| p.1.is_some()))
            .collect()
    };
    let mut latency = per_region(&|h| h.p99_ms, true, " p99");
    latency.extend(per_region(&|h| h.p50_ms, false, " p50"));
    let mut lag = per_region(&|h| h.replica_lag_max_s, true, " max");
    lag.extend(per_region(&|h| h.replica_lag_p99_s, false, " p99"));
    let latency_limit = (r.slo.latency_stat == "p99").then_some(r.slo.latency_ms);
    vec![
        chart(r, "Latency p50 / p99, ms", &latency, latency_limit),
        chart(
            r,
            "Requests per second",
            &per_region(&|h| h.requests_per_s, true, ""),
            None,
        ),
        chart(
            r,
            "5xx share",
            &per_region(&|h| h.error_rate, true, ""),
            Some(1.0 - r.slo.availability),
        ),
        chart(r, "Replica lag, s (max, p99)", &lag, None),
        chart(
            r,
            "Cache hit ratio",
            &per_region(&|h| h.cache_hit_ratio, true, ""),
            None,
        ),
    ]
}

/// Colour of a 5xx share: white under 0.1 %, to deep red at 5 % and over; grey without data.
fn heat(v: Option<f64>) -> RGBColor {
    let Some(v) = v else {
        return RGBColor(0xe8, 0xe8, 0xe8);
    };
    let x = ((v.max(1e-4).log10() + 3.0) / (0.05f64.log10() + 3.0)).clamp(0.0, 1.0);
    let lerp = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * x).round() as u8;
    RGBColor(lerp(0xff, 0xb0), lerp(0xf7, 0x10), lerp(0xe8, 0x20))
}

/// Region × hour of the week (Monday 00:00 UTC first), coloured by the hour's 5xx share.
pub fn heatmap(r: &Report) -> String {
    let rows = r.regions.len().max(1);
    let height = 50 + 26 * rows as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH * 2, height)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let names: Vec<String> = r.regions.iter().map(|x| x.name.clone()).collect();
        let built = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(22)
            .y_label_area_size(110)
            .build_cartesian_2d(0f64..168f64, 0f64..rows as f64);
        let Ok(mut c) = built else {
            return String::new();
        };
        let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let _ = c
            .configure_mesh()
            .disable_mesh()
            .x_labels(0)
            .y_labels(0)
            .draw();
        let font = ("sans-serif", 12).into_font().color(&BLACK);
        for (d, day) in days.iter().enumerate() {
            let (px, py) = c.backend_coord(&(d as f64 * 24.0 + 12.0, 0.0));
            let _ = root.draw(&Text::new(day.to_string(), (px - 12, py + 6), font.clone()));
        }
        for (i, name) in names.iter().enumerate() {
            let (px, py) = c.backend_coord(&(0.0, (rows - 1 - i) as f64 + 0.5));
            let _ = root.draw(&Text::new(name.clone(), (px - 104, py - 6), font.clone()));
        }
        for (i, x) in r.regions.iter().enumerate() {
            let y = (rows - 1 - i) as f64;
            let grid = super::series::week_grid(&x.hourly);
            let _ = c.draw_series(grid.iter().enumerate().map(|(h, v)| {
                Rectangle::new(
                    [(h as f64, y + 0.08), (h as f64 + 0.92, y + 0.92)],
                    heat(*v).filled(),
                )
            }));
        }
        let _ = root.present();
    }
    strip(svg)
}
