//! The review written out: Markdown that reads well in a pull request or a wiki, one
//! self-contained HTML file (inline CSS, charts as inline SVG, nothing fetched), JSON (the
//! contract: keys may be added, never renamed).

use super::charts;
use super::{Cost, Headline, RegionReport, Report};
use chrono::{DateTime, Utc};
use std::fmt::Write;

pub fn json(r: &Report) -> String {
    serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%a %Y-%m-%d %H:%M").to_string()
}

pub fn pct(v: Option<f64>, decimals: usize) -> String {
    v.map(|v| format!("{:.*} %", decimals, v * 100.0))
        .unwrap_or_else(|| "—".into())
}

pub fn usd(v: Option<f64>) -> String {
    v.map(|v| format!("${v:.2}")).unwrap_or_else(|| "—".into())
}

pub fn num(v: Option<f64>, decimals: usize, unit: &str) -> String {
    v.map(|v| format!("{v:.decimals$}{unit}"))
        .unwrap_or_else(|| "—".into())
}

/// Percentage points (or plain difference) from before to now, signed.
fn delta_pp(now: Option<f64>, before: Option<f64>, decimals: usize) -> String {
    match (now, before) {
        (Some(a), Some(b)) => format!("{:+.*} pp", decimals, (a - b) * 100.0),
        _ => "—".into(),
    }
}

fn delta_rel(now: Option<f64>, before: Option<f64>) -> String {
    match (now, before) {
        (Some(a), Some(b)) if b.abs() > 1e-9 => format!("{:+.1} %", (a - b) / b * 100.0),
        _ => "—".into(),
    }
}

/// Headline rows: (what, now, before, change).
fn headline_rows(now: &Headline, before: &Headline) -> Vec<[String; 4]> {
    vec![
        [
            "Availability".into(),
            pct(now.availability, 3),
            pct(before.availability, 3),
            delta_pp(now.availability, before.availability, 3),
        ],
        [
            "Error budget remaining".into(),
            pct(now.budget_remaining, 0),
            pct(before.budget_remaining, 0),
            delta_pp(now.budget_remaining, before.budget_remaining, 0),
        ],
        [
            "Latency attainment".into(),
            pct(now.latency, 2),
            pct(before.latency, 2),
            delta_pp(now.latency, before.latency, 2),
        ],
        [
            "Incidents".into(),
            now.incidents.to_string(),
            before.incidents.to_string(),
            format!("{:+}", now.incidents as i64 - before.incidents as i64),
        ],
        [
            "Cost (window)".into(),
            usd(now.cost_window_usd),
            usd(before.cost_window_usd),
            delta_rel(now.cost_window_usd, before.cost_window_usd),
        ],
    ]
}

pub fn status(r: &RegionReport) -> String {
    match r.availability.status {
        Some(s) => serde_json::to_value(s)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        None => "NO DATA".into(),
    }
}

pub fn budget_cell(c: &Cost) -> String {
    match (c.forecast_usd, c.budget_usd) {
        (Some(f), Some(b)) => {
            let word = if f > b { "OVER" } else { "within" };
            format!("{} / {} ({word})", usd(Some(f)), usd(Some(b)))
        }
        (f, _) => format!("{} / no budget", usd(f)),
    }
}

/// Rows of the region table.
fn region_rows(r: &Report) -> Vec<Vec<String>> {
    r.regions
        .iter()
        .map(|x| {
            vec![
                x.name.clone(),
                format!(
                    "{} ({})",
                    pct(x.availability.attained, 3),
                    pct(Some(x.availability.target), 2)
                ),
                pct(x.availability.budget_remaining, 0),
                status(x),
                format!(
                    "{} / {}",
                    num(x.burn_rate_max.one_hour, 1, "x"),
                    num(x.burn_rate_max.six_hours, 1, "x")
                ),
                format!(
                    "{} ({} ≤ {:.0} ms, {})",
                    pct(x.latency.attained, 2),
                    x.latency.stat,
                    x.latency.threshold_ms,
                    pct(Some(x.latency.target), 1)
                ),
                x.incidents.len().to_string(),
                usd(x.cost.window_usd),
                usd(x.cost.month_to_date_usd),
                budget_cell(&x.cost),
            ]
        })
        .collect()
}

const REGION_HEAD: [&str; 10] = [
    "Region",
    "Availability (target)",
    "Budget left",
    "Budget",
    "Worst burn 1 h / 6 h",
    "Latency attainment",
    "Incidents",
    "Cost (window)",
    "Month to date",
    "Forecast / budget",
];

fn peak(i: &super::incidents::Incident) -> String {
    use crate::fleet::health::Family;
    match i.metric {
        Family::ErrorRate => format!("{:.1} % 5xx", i.peak * 100.0),
        Family::Latency => format!("{:.0} ms", i.peak),
        Family::ReplicaLag => format!("{:.1} s lag", i.peak),
        Family::CacheHit => format!("{:.0} % hits", i.peak * 100.0),
        _ => format!("{:.2}", i.peak),
    }
}

fn metric(i: &super::incidents::Incident) -> &'static str {
    i.metric.label()
}

fn incident_rows(r: &Report) -> Vec<Vec<String>> {
    let mut all: Vec<(&str, &super::incidents::Incident)> = r
        .regions
        .iter()
        .flat_map(|x| x.incidents.iter().map(move |i| (x.name.as_str(), i)))
        .collect();
    all.sort_by_key(|(n, i)| (i.start, *n));
    all.into_iter()
        .map(|(n, i)| {
            vec![
                n.to_string(),
                metric(i).to_string(),
                time(i.start),
                i.end.map(time).unwrap_or_else(|| "ongoing".into()),
                format!("{} min", i.minutes(r.until)),
                peak(i),
            ]
        })
        .collect()
}

fn worst_rows(r: &Report) -> Vec<Vec<String>> {
    let mut all: Vec<(&str, &super::WorstHour)> = r
        .regions
        .iter()
        .flat_map(|x| x.worst_hours.iter().map(move |h| (x.name.as_str(), h)))
        .collect();
    all.sort_by(|a, b| {
        b.1.error_rate
            .unwrap_or(0.0)
            .total_cmp(&a.1.error_rate.unwrap_or(0.0))
            .then(a.1.hour.cmp(&b.1.hour))
    });
    all.into_iter()
        .take(10)
        .map(|(n, h)| {
            vec![
                n.to_string(),
                time(h.hour),
                pct(h.error_rate, 2),
                num(h.p99_ms, 0, " ms"),
                format!("{:.0}", h.requests),
            ]
        })
        .collect()
}

fn action_rows(r: &Report) -> Vec<Vec<String>> {
    r.actions
        .iter()
        .map(|a| {
            let result = match &a.reason {
                Some(why) => format!("{}: {why}", a.result),
                None => a.result.clone(),
            };
            vec![time(a.time), a.operator.clone(), a.summary.clone(), result]
        })
        .collect()
}

fn drill_rows(r: &Report) -> Vec<Vec<String>> {
    r.drills
        .iter()
        .map(|d| {
            vec![
                time(d.start),
                d.drill.clone(),
                d.mode.clone(),
                d.verdict.clone(),
            ]
        })
        .collect()
}

fn footer(r: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    if r.api_calls.is_empty() {
        lines
            .push("Source: the simulated fleet's model on its virtual clock: no AWS calls.".into());
    } else {
        let calls: Vec<String> = r
            .api_calls
            .iter()
            .map(|(k, v)| format!("{k} × {v}"))
            .collect();
        lines.push(format!(
            "AWS calls: {} (about ${:.4}).",
            calls.join(", "),
            r.api_cost_usd
        ));
    }
    lines.extend(r.notes.iter().cloned());
    lines
}

/// Shade of a 5xx share for the text heatmap: blank under 0.1 %, then ░ ▒ ▓ █ up to 5 % and over.
fn shade(v: Option<f64>) -> char {
    match v {
        None => '·',
        Some(v) if v < 0.001 => ' ',
        Some(v) if v < 0.005 => '░',
        Some(v) if v < 0.02 => '▒',
        Some(v) if v < 0.05 => '▓',
        Some(_) => '█',
    }
}

/// Region × hour of the week (Monday first), the 5xx share of each hour.
pub fn heatmap_text(r: &Report) -> String {
    let mut out = String::new();
    let width = r.regions.iter().map(|x| x.name.len()).max().unwrap_or(6);
    let _ = writeln!(out, "{:width$}      0     6     12    18    (hour UTC)", "");
    for x in &r.regions {
        let grid = super::series::week_grid(&x.hourly);
        for (d, day) in ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
            .iter()
            .enumerate()
        {
            let name = if d == 0 { x.name.as_str() } else { "" };
            let cells: String = (0..24).map(|h| shade(grid[d * 24 + h])).collect();
            let _ = writeln!(out, "{name:width$}  {day} {cells}");
        }
    }
    let _ = write!(
        out,
        "5xx share: ' ' < 0.1 %  ░ < 0.5 %  ▒ < 2 %  ▓ < 5 %  █ ≥ 5 %  · no data"
    );
    out
}

fn md_table(out: &mut String, head: &[&str], rows: &[Vec<String>]) {
    let esc = |s: &str| s.replace('|', "\\|");
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let _ = writeln!(out, "|{}", head.iter().map(|_| "---|").collect::<String>());
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| esc(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
}

fn source_words(r: &Report) -> &'static str {
    if r.source.is_sim() {
        "simulated fleet"
    } else {
        "AWS"
    }
}

pub fn markdown(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Weekly ops review — {}\n", r.fleet);
    let _ = writeln!(
        o,
        "**{} → {} UTC** · {} · objective: availability {} and {} ≤ {:.0} ms {} of the time{}\n",
        time(r.from),
        time(r.until),
        source_words(r),
        pct(Some(r.slo.availability), 2),
        r.slo.latency_stat,
        r.slo.latency_ms,
        pct(Some(r.slo.latency_target), 0),
        r.slo
            .budget_usd
            .map(|b| format!(" · budget ${b:.0} a month"))
            .unwrap_or_default()
    );
    let _ = writeln!(o, "## Headline (week over week)\n");
    let rows: Vec<Vec<String>> = headline_rows(&r.overall, &r.previous)
        .into_iter()
        .map(|x| x.to_vec())
        .collect();
    md_table(&mut o, &["", "This window", "Previous", "Change"], &rows);
    let _ = writeln!(o, "\n## Regions, least budget left first\n");
    md_table(&mut o, &REGION_HEAD, &region_rows(r));
    let _ = writeln!(o, "\n## Incidents\n");
    let inc = incident_rows(r);
    if inc.is_empty() {
        let _ = writeln!(o, "No threshold was crossed at crit level in the window.");
    } else {
        md_table(
            &mut o,
            &["Region", "Metric", "Start", "End", "Duration", "Peak"],
            &inc,
        );
    }
    let _ = writeln!(o, "\n## Worst hours\n");
    md_table(
        &mut o,
        &["Region", "Hour", "5xx", "p99", "Requests"],
        &worst_rows(r),
    );
    let _ = writeln!(o, "\n```text\n{}\n```", heatmap_text(r));
    let _ = writeln!(o, "\n## Actions\n");
    let acts = action_rows(r);
    if acts.is_empty() {
        let _ = writeln!(o, "No operation was requested in the window.");
    } else {
        md_table(&mut o, &["Time", "Operator", "Operation", "Result"], &acts);
    }
    let _ = writeln!(o, "\n## Drills\n");
    let drills = drill_rows(r);
    if drills.is_empty() {
        let _ = writeln!(o, "No drill was run in the window.");
    } else {
        md_table(&mut o, &["Started", "Drill", "Mode", "Verdict"], &drills);
    }
    let _ = writeln!(o, "\n## Cost\n");
    let mut cost_rows: Vec<Vec<String>> = r
        .regions
        .iter()
        .map(|x| {
            vec![
                x.name.clone(),
                usd(x.cost.window_usd),
                usd(x.previous.cost_window_usd),
                usd(x.cost.month_to_date_usd),
                budget_cell(&x.cost),
            ]
        })
        .collect();
    cost_rows.push(vec![
        "fleet".into(),
        usd(r.overall_cost.window_usd),
        usd(r.previous.cost_window_usd),
        usd(r.overall_cost.month_to_date_usd),
        budget_cell(&r.overall_cost),
    ]);
    md_table(
        &mut o,
        &[
            "Region",
            "Window",
            "Previous",
            "Month to date",
            "Forecast / budget",
        ],
        &cost_rows,
    );
    let _ = writeln!(o, "\n---\n");
    for line in footer(r) {
        let _ = writeln!(o, "{line}  ");
    }
    crate::fleet::text::clean_lines(&o).into_owned()
}

/// Text for HTML: escaped, and every `/` written as an entity, so nothing in the file can read
/// as a reference (`//host`, `http://…`).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in crate::fleet::text::clean(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '/' => out.push_str("&#47;"),
            c => out.push(c),
        }
    }
    out
}

fn html_table(out: &mut String, head: &[&str], rows: &[Vec<String>]) {
    out.push_str("<table><thead><tr>");
    for h in head {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for c in row {
            let _ = write!(out, "<td>{}</td>", esc(c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>\n");
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:24px;color:#1d2330;background:#fff;max-width:1360px}\
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde;padding-bottom:4px}\
.sub{color:#556;margin-bottom:12px}table{border-collapse:collapse;font-size:13px;margin:6px 0}\
th,td{border:1px solid #dde;padding:3px 6px;text-align:left}th{background:#f3f5f9}\
.charts{display:grid;grid-template-columns:1fr 1fr;gap:8px}.charts svg{width:100%;height:auto}\
.foot{color:#667;font-size:12px;margin-top:24px}.BREACHED{color:#b00020;font-weight:bold}.WARNING{color:#a15c00;font-weight:bold}";

pub fn html(r: &Report) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Weekly ops review: {}</title><style>{CSS}</style></head><body>\n",
        esc(&r.fleet)
    );
    let _ = writeln!(o, "<h1>Weekly ops review — {}</h1>", esc(&r.fleet));
    let _ = writeln!(
        o,
        "<div class=\"sub\">{} → {} UTC · {} · objective: availability {} and {} ≤ {:.0} ms {} of the time</div>",
        esc(&time(r.from)),
        esc(&time(r.until)),
        source_words(r),
        esc(&pct(Some(r.slo.availability), 2)),
        esc(&r.slo.latency_stat),
        r.slo.latency_ms,
        esc(&pct(Some(r.slo.latency_target), 0))
    );
    o.push_str("<h2>Headline (week over week)</h2>");
    let rows: Vec<Vec<String>> = headline_rows(&r.overall, &r.previous)
        .into_iter()
        .map(|x| x.to_vec())
        .collect();
    html_table(&mut o, &["", "This window", "Previous", "Change"], &rows);
    o.push_str("<h2>Regions, least budget left first</h2>");
    html_table(&mut o, &REGION_HEAD, &region_rows(r));
    o.push_str("<h2>Hour by hour</h2><div class=\"charts\">");
    for svg in charts::all(r) {
        o.push_str(&svg);
    }
    o.push_str("</div><h2>Worst hours: 5xx share by hour of the week</h2>");
    o.push_str(&charts::heatmap(r));
    html_table(
        &mut o,
        &["Region", "Hour", "5xx", "p99", "Requests"],
        &worst_rows(r),
    );
    o.push_str("<h2>Incidents</h2>");
    let inc = incident_rows(r);
    if inc.is_empty() {
        o.push_str("<p>No threshold was crossed at crit level in the window.</p>");
    } else {
        html_table(
            &mut o,
            &["Region", "Metric", "Start", "End", "Duration", "Peak"],
            &inc,
        );
    }
    o.push_str("<h2>Actions</h2>");
    let acts = action_rows(r);
    if acts.is_empty() {
        o.push_str("<p>No operation was requested in the window.</p>");
    } else {
        html_table(&mut o, &["Time", "Operator", "Operation", "Result"], &acts);
    }
    o.push_str("<h2>Drills</h2>");
    let drills = drill_rows(r);
    if drills.is_empty() {
        o.push_str("<p>No drill was run in the window.</p>");
    } else {
        html_table(&mut o, &["Started", "Drill", "Mode", "Verdict"], &drills);
    }
    o.push_str("<div class=\"foot\">");
    for line in footer(r) {
        let _ = write!(o, "{}<br>", esc(&line));
    }
    o.push_str("</div></body></html>\n");
    o
}
