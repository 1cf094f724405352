//! The drill report, computed from the timeline alone (a past run's file gives the same report):
//! the JSON contract (`--format json`, `--report FILE.json`), Markdown and a plain table.

use super::observe::{CheckResult, Fired};
use super::runbook::Objectives;
use super::timeline::{Event, EventKind, Predicted, Verdict};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// What the timeline measured.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Measured {
    /// From the failure until the steady state held again (for good); null when it did not.
    pub rto_s: Option<f64>,
    /// The replica lag the promotion lost; null without a promotion.
    pub rpo_s: Option<f64>,
    pub failure_at: Option<String>,
    pub recovered_at: Option<String>,
    /// How the RPO was measured ("replica lag at promotion", "last replica lag observed before
    /// replication stopped").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpo_basis: Option<String>,
    /// When that lag was observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpo_observed_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    pub name: String,
    /// inject, act, wait, check, manual.
    pub kind: String,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    /// ok, skipped, failed, refused, timed out, not settled, not finished, aborted; null when
    /// it never ended (the run was interrupted).
    pub result: Option<String>,
    pub audit_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SteadyReport {
    pub before: Vec<CheckResult>,
    pub after: Vec<CheckResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertReport {
    pub at: String,
    pub region: String,
    pub level: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollbackReport {
    pub at: String,
    pub step: String,
    pub result: String,
    pub detail: String,
    pub audit_id: Option<String>,
    pub undo_of: Option<String>,
}

/// The JSON contract (keys may be added, never renamed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub drill: String,
    pub run_id: String,
    pub mode: String,
    pub fleet: String,
    pub source: String,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub objectives: Objectives,
    pub predicted: Predicted,
    pub measured: Measured,
    /// pass, fail, aborted, interrupted.
    pub verdict: String,
    /// The stop condition that aborted the drill.
    pub stopped_by: Option<Fired>,
    /// Why the verdict is not pass.
    pub reasons: Vec<String>,
    pub steady_state: SteadyReport,
    pub steps: Vec<StepReport>,
    pub alerts: Vec<AlertReport>,
    pub rollback: Vec<RollbackReport>,
    /// The timeline file.
    pub timeline: String,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// RTO and RPO as the timeline shows them.
pub fn measure(events: &[Event]) -> Measured {
    let failure = events
        .iter()
        .find(|e| matches!(e.kind, EventKind::Failure { .. }))
        .map(|e| e.at);
    // The recovery that was not lost again afterwards.
    let mut recovered = None;
    for e in events {
        match e.kind {
            EventKind::Recovered => recovered = Some(e.at),
            EventKind::SteadyStateLost { .. } => recovered = None,
            _ => {}
        }
    }
    let rpo = events.iter().find_map(|e| match &e.kind {
        EventKind::Rpo {
            rpo_s,
            basis,
            observed_at,
            ..
        } => Some((*rpo_s, basis.clone(), *observed_at)),
        _ => None,
    });
    Measured {
        rto_s: match (failure, recovered) {
            (Some(f), Some(r)) => Some((r - f).num_milliseconds() as f64 / 1000.0),
            _ => None,
        },
        rpo_s: rpo.as_ref().and_then(|r| r.0),
        failure_at: failure.map(ts),
        recovered_at: recovered.filter(|_| failure.is_some()).map(ts),
        rpo_basis: rpo.as_ref().map(|r| r.1.clone()),
        rpo_observed_at: rpo.and_then(|r| r.2).map(ts),
    }
}

/// The report of a timeline (`path`: where it is written).
pub fn build(events: &[Event], path: &str) -> Report {
    let mut r = Report {
        drill: String::new(),
        run_id: String::new(),
        mode: String::new(),
        fleet: String::new(),
        source: String::new(),
        started_at: None,
        ended_at: None,
        objectives: Objectives {
            rto_s: 0.0,
            rpo_s: 0.0,
        },
        predicted: Predicted::default(),
        measured: measure(events),
        verdict: Verdict::Interrupted.as_str().into(),
        stopped_by: None,
        reasons: Vec::new(),
        steady_state: SteadyReport::default(),
        steps: Vec::new(),
        alerts: Vec::new(),
        rollback: Vec::new(),
        timeline: path.into(),
    };
    let mut ended = false;
    for e in events {
        match &e.kind {
            EventKind::DrillStart {
                drill,
                run_id,
                mode,
                fleet,
                source,
                objectives,
                predicted,
                ..
            } => {
                r.drill = drill.clone();
                r.run_id = run_id.clone();
                r.mode = mode.clone();
                r.fleet = fleet.clone();
                r.source = source.clone();
                r.objectives = *objectives;
                r.predicted = *predicted;
                r.started_at = Some(ts(e.at));
            }
            EventKind::SteadyState { phase, results, .. } => {
                if phase == "before" {
                    r.steady_state.before = results.clone();
                } else {
                    r.steady_state.after = results.clone();
                }
            }
            EventKind::StepStart { step, kind, .. } => r.steps.push(StepReport {
                name: step.clone(),
                kind: kind.clone(),
                started_at: Some(ts(e.at)),
                ended_at: None,
                result: None,
                audit_id: None,
                detail: None,
                settled_at: None,
            }),
            EventKind::StepEnd {
                step,
                result,
                detail,
                audit_id,
                settled_at,
                ..
            } => {
                if let Some(s) = r.steps.iter_mut().rev().find(|s| &s.name == step) {
                    s.ended_at = Some(ts(e.at));
                    s.result = Some(result.clone());
                    s.audit_id = audit_id.clone();
                    s.detail = detail.clone();
                    s.settled_at = settled_at.map(ts);
                }
            }
            EventKind::Alert {
                region,
                level,
                text,
            } => r.alerts.push(AlertReport {
                at: ts(e.at),
                region: region.clone(),
                level: level.clone(),
                text: text.clone(),
            }),
            EventKind::StopCondition(f) => r.stopped_by = Some(f.clone()),
            EventKind::Rollback {
                step,
                result,
                detail,
                audit_id,
                undo_of,
            } => r.rollback.push(RollbackReport {
                at: ts(e.at),
                step: step.clone(),
                result: result.clone(),
                detail: detail.clone(),
                audit_id: audit_id.clone(),
                undo_of: undo_of.clone(),
            }),
            EventKind::DrillEnd { verdict, reasons } => {
                ended = true;
                r.verdict = verdict.as_str().into();
                r.reasons = reasons.clone();
                r.ended_at = Some(ts(e.at));
            }
            EventKind::Failure { .. }
            | EventKind::Sample { .. }
            | EventKind::Rpo { .. }
            | EventKind::Recovered
            | EventKind::SteadyStateLost { .. } => {}
        }
    }
    if !ended {
        r.reasons
            .push("the timeline has no end: the run was interrupted or is still running".into());
    }
    r
}

fn secs(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1} s")).unwrap_or_else(|| "—".into())
}

/// A plain-text summary for the terminal.
pub fn table(r: &Report) -> String {
    let mut out = format!(
        "DRILL     {} ({} on {}, {})\nRUN       {}\nVERDICT   {}\n",
        r.drill,
        r.mode,
        r.fleet,
        r.source,
        r.run_id,
        r.verdict.to_uppercase()
    );
    for why in &r.reasons {
        out.push_str(&format!("          {why}\n"));
    }
    out.push_str(&format!(
        "RTO       measured {}  predicted {}  objective {:.0} s\n",
        secs(r.measured.rto_s),
        secs(r.predicted.rto_s),
        r.objectives.rto_s
    ));
    out.push_str(&format!(
        "RPO       measured {}  predicted {}  objective {:.0} s{}\n",
        secs(r.measured.rpo_s),
        secs(r.predicted.rpo_s),
        r.objectives.rpo_s,
        r.measured
            .rpo_basis
            .as_deref()
            .map(|b| format!("  ({b})"))
            .unwrap_or_default()
    ));
    out.push_str(&format!(
        "FAILURE   {}  RECOVERED {}\n",
        r.measured.failure_at.as_deref().unwrap_or("—"),
        r.measured.recovered_at.as_deref().unwrap_or("—")
    ));
    out.push_str("STEPS\n");
    for s in &r.steps {
        out.push_str(&format!(
            "  {:<10} {:<8} {:<36} {}{}{}\n",
            s.started_at.as_deref().map(|t| &t[11..19]).unwrap_or(""),
            s.kind,
            s.name,
            s.result.as_deref().unwrap_or("(never ended)"),
            s.detail
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default(),
            s.audit_id
                .as_deref()
                .map(|a| format!(" [audit {a}]"))
                .unwrap_or_default()
        ));
    }
    if !r.rollback.is_empty() {
        out.push_str("ROLLBACK\n");
        for b in &r.rollback {
            out.push_str(&format!("  {} {}: {}\n", b.result, b.step, b.detail));
        }
    }
    out.push_str(&format!("TIMELINE  {}", r.timeline));
    crate::fleet::text::clean_lines(&out).into_owned()
}

/// The Markdown report.
pub fn markdown(r: &Report) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out = format!("# Drill: {}\n\n", cell(&r.drill));
    out.push_str(&format!(
        "- Run: `{}` ({} mode, fleet `{}`, {})\n- Started {}, ended {}\n- **Verdict: {}**\n",
        r.run_id,
        r.mode,
        cell(&r.fleet),
        r.source,
        r.started_at.as_deref().unwrap_or("—"),
        r.ended_at.as_deref().unwrap_or("—"),
        r.verdict.to_uppercase()
    ));
    for why in &r.reasons {
        out.push_str(&format!("  - {}\n", cell(why)));
    }
    out.push_str("\n## Objectives, prediction and measurement\n\n| | objective | predicted (what-if at start) | measured |\n|---|---|---|---|\n");
    out.push_str(&format!(
        "| RTO | {:.0} s | {} | {} |\n| RPO | {:.0} s | {} | {} |\n\n",
        r.objectives.rto_s,
        secs(r.predicted.rto_s),
        secs(r.measured.rto_s),
        r.objectives.rpo_s,
        secs(r.predicted.rpo_s),
        secs(r.measured.rpo_s),
    ));
    out.push_str(&format!(
        "Failure at {}, steady state again at {}.{}\n\n",
        r.measured.failure_at.as_deref().unwrap_or("—"),
        r.measured.recovered_at.as_deref().unwrap_or("—"),
        r.measured
            .rpo_basis
            .as_deref()
            .map(|b| format!(
                " RPO: {b}{}.",
                r.measured
                    .rpo_observed_at
                    .as_deref()
                    .map(|t| format!(", observed at {t}"))
                    .unwrap_or_default()
            ))
            .unwrap_or_default()
    ));
    for (title, checks) in [
        ("before", &r.steady_state.before),
        ("after", &r.steady_state.after),
    ] {
        out.push_str(&format!(
            "## Steady state {title}\n\n| check | ok | value |\n|---|---|---|\n"
        ));
        for c in checks {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                cell(&c.check),
                if c.ok { "yes" } else { "**no**" },
                c.value.map(|v| v.to_string()).unwrap_or_else(|| "—".into())
            ));
        }
        out.push('\n');
    }
    out.push_str(
        "## Steps\n\n| started | step | kind | result | audit id |\n|---|---|---|---|---|\n",
    );
    for s in &r.steps {
        out.push_str(&format!(
            "| {} | {} | {} | {}{} | {} |\n",
            s.started_at.as_deref().unwrap_or("—"),
            cell(&s.name),
            s.kind,
            s.result.as_deref().unwrap_or("never ended"),
            s.detail
                .as_deref()
                .map(|d| format!(": {}", cell(d)))
                .unwrap_or_default(),
            s.audit_id.as_deref().unwrap_or("—")
        ));
    }
    if !r.alerts.is_empty() {
        out.push_str("\n## Alerts\n\n| at | region | level | alert |\n|---|---|---|---|\n");
        for a in &r.alerts {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                a.at,
                a.region,
                a.level,
                cell(&a.text)
            ));
        }
    }
    if let Some(f) = &r.stopped_by {
        out.push_str(&format!(
            "\n## Stopped by\n\n{} ({} in {}, holding since {})\n",
            cell(&f.condition),
            f.value,
            f.region,
            ts(f.since)
        ));
    }
    if !r.rollback.is_empty() {
        out.push_str("\n## Rollback\n\n");
        for b in &r.rollback {
            out.push_str(&format!(
                "- {} `{}`: {}\n",
                b.result,
                cell(&b.step),
                cell(&b.detail)
            ));
        }
    }
    out.push_str(&format!("\nTimeline: `{}`\n", r.timeline));
    crate::fleet::text::clean_lines(&out).into_owned()
}

/// HTML-escape.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn parse_ts(s: &Option<String>) -> Option<DateTime<Utc>> {
    s.as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// The steps on a time axis, as inline SVG: one bar per step from its start to its end, the
/// failure and the recovery marked.
fn timeline_svg(r: &Report) -> String {
    let Some(start) = parse_ts(&r.started_at) else {
        return String::new();
    };
    let end = parse_ts(&r.ended_at)
        .or_else(|| r.steps.iter().filter_map(|s| parse_ts(&s.ended_at)).max())
        .unwrap_or(start);
    let span = ((end - start).num_milliseconds() as f64 / 1000.0).max(1.0);
    let (left, width, row) = (260.0, 600.0, 22.0);
    let x =
        |t: DateTime<Utc>| left + width * ((t - start).num_milliseconds() as f64 / 1000.0) / span;
    let height = row * (r.steps.len() as f64 + 2.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-family=\"monospace\" font-size=\"12\">",
        left + width + 20.0
    );
    for (i, s) in r.steps.iter().enumerate() {
        let y = row * (i as f64 + 1.0);
        let (Some(a), b) = (parse_ts(&s.started_at), parse_ts(&s.ended_at)) else {
            continue;
        };
        let b = b.unwrap_or(end);
        let color = match s.result.as_deref() {
            Some("ok") => "#2e7d32",
            Some("skipped") => "#9e9e9e",
            None => "#ef6c00",
            _ => "#c62828",
        };
        svg.push_str(&format!(
            "<text x=\"4\" y=\"{}\">{}</text><rect x=\"{:.1}\" y=\"{}\" width=\"{:.1}\" height=\"{}\" fill=\"{color}\"><title>{}: {}</title></rect>",
            y + 14.0,
            esc(&s.name.chars().take(34).collect::<String>()),
            x(a),
            y + 3.0,
            (x(b) - x(a)).max(2.0),
            row - 6.0,
            esc(&s.name),
            esc(s.result.as_deref().unwrap_or("never ended"))
        ));
    }
    let bottom = height - row / 2.0;
    for (label, t, color) in [
        ("failure", parse_ts(&r.measured.failure_at), "#c62828"),
        ("recovered", parse_ts(&r.measured.recovered_at), "#2e7d32"),
    ] {
        if let Some(t) = t {
            svg.push_str(&format!(
                "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"0\" y2=\"{bottom}\" stroke=\"{color}\" stroke-dasharray=\"4 3\"/><text x=\"{0:.1}\" y=\"{1}\" fill=\"{color}\">{label}</text>",
                x(t),
                bottom + 10.0
            ));
        }
    }
    svg.push_str(&format!(
        "<text x=\"{left}\" y=\"{}\">0 s</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{span:.0} s</text></svg>",
        row - 6.0,
        left + width,
        row - 6.0
    ));
    svg
}

/// The metrics the timeline samples for the charts: the fleet's threshold statistic, the 5xx
/// rate, requests/s and replica lag.
pub fn charted(fleet: &crate::fleet::Fleet) -> Vec<String> {
    vec![
        fleet.threshold_stat().to_string(),
        "error_rate".into(),
        "requests_per_s".into(),
        "replica_lag_s".into(),
    ]
}

const PALETTE: [&str; 6] = [
    "#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f",
];

/// One chart per sampled metric: a line per region over the drill, the failure and the recovery
/// marked.
fn charts_svg(r: &Report, events: &[Event]) -> String {
    let samples: Vec<(DateTime<Utc>, &Vec<super::timeline::SampleRegion>)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Sample { regions } => Some((e.at, regions)),
            _ => None,
        })
        .collect();
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return String::new();
    };
    let (t0, t1) = (first.0, last.0);
    let span = ((t1 - t0).num_milliseconds() as f64 / 1000.0).max(1.0);
    let mut metrics: Vec<String> = Vec::new();
    let mut regions: Vec<String> = Vec::new();
    for (_, rs) in &samples {
        for s in rs.iter() {
            if !regions.contains(&s.region) {
                regions.push(s.region.clone());
            }
            for k in s.values.keys() {
                if !metrics.contains(k) {
                    metrics.push(k.clone());
                }
            }
        }
    }
    let (w, h, left, top) = (600.0, 140.0, 60.0, 20.0);
    let mut out = String::new();
    for m in &metrics {
        let max = samples
            .iter()
            .flat_map(|(_, rs)| rs.iter().filter_map(|s| s.values.get(m)))
            .fold(0.0f64, |a, v| a.max(*v))
            .max(1e-9);
        let x = |t: DateTime<Utc>| left + w * ((t - t0).num_milliseconds() as f64 / 1000.0) / span;
        let y = |v: f64| top + h - h * (v / max);
        let mut svg = format!(
            "<h3>{}</h3><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"monospace\" font-size=\"11\"><rect x=\"{left}\" y=\"{top}\" width=\"{w}\" height=\"{h}\" fill=\"none\" stroke=\"#999\"/><text x=\"2\" y=\"{}\">{}</text><text x=\"2\" y=\"{}\">0</text>",
            esc(m),
            left + w + 160.0,
            top + h + 30.0,
            top + 10.0,
            round_label(max),
            top + h
        );
        for (i, region) in regions.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let points: Vec<String> = samples
                .iter()
                .filter_map(|(t, rs)| {
                    let v = rs.iter().find(|s| &s.region == region)?.values.get(m)?;
                    Some(format!("{:.1},{:.1}", x(*t), y(*v)))
                })
                .collect();
            if points.is_empty() {
                continue;
            }
            svg.push_str(&format!(
                "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{}\"/><text x=\"{}\" y=\"{}\" fill=\"{color}\">{}</text>",
                points.join(" "),
                left + w + 8.0,
                top + 12.0 + 14.0 * i as f64,
                esc(region)
            ));
        }
        for (label, t, color) in [
            ("failure", parse_ts(&r.measured.failure_at), "#c62828"),
            ("recovered", parse_ts(&r.measured.recovered_at), "#2e7d32"),
        ] {
            if let Some(t) = t.filter(|t| *t >= t0 && *t <= t1) {
                svg.push_str(&format!(
                    "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{top}\" y2=\"{1}\" stroke=\"{color}\" stroke-dasharray=\"4 3\"/><text x=\"{0:.1}\" y=\"{2}\" fill=\"{color}\">{label}</text>",
                    x(t),
                    top + h,
                    top + h + 14.0
                ));
            }
        }
        svg.push_str(&format!(
            "<text x=\"{left}\" y=\"{0}\">0 s</text><text x=\"{1}\" y=\"{0}\" text-anchor=\"end\">{span:.0} s</text></svg>",
            top + h + 26.0,
            left + w
        ));
        out.push_str(&svg);
    }
    format!("<h2>Key metrics</h2>{out}")
}

fn round_label(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// One self-contained HTML file: no script, no network; the timeline and the key metrics of
/// every region drawn as inline SVG.
pub fn html(r: &Report, events: &[Event]) -> String {
    let md = markdown(r);
    let mut body = String::new();
    let mut in_table = false;
    for line in md.lines() {
        if let Some(rest) = line.strip_prefix("|") {
            if line.starts_with("|---") {
                continue;
            }
            if !in_table {
                body.push_str("<table>");
                in_table = true;
            }
            let cells: Vec<String> = rest
                .trim_end_matches('|')
                .split(" | ")
                .map(|c| format!("<td>{}</td>", esc(c.trim())))
                .collect();
            body.push_str(&format!("<tr>{}</tr>", cells.join("")));
            continue;
        }
        if in_table {
            body.push_str("</table>");
            in_table = false;
        }
        if let Some(h) = line.strip_prefix("# ") {
            body.push_str(&format!("<h1>{}</h1>", esc(h)));
        } else if let Some(h) = line.strip_prefix("## ") {
            body.push_str(&format!("<h2>{}</h2>", esc(h)));
            if h == "Steps" {
                body.push_str(&timeline_svg(r));
            }
        } else if !line.trim().is_empty() {
            body.push_str(&format!("<p>{}</p>", esc(line)));
        }
    }
    if in_table {
        body.push_str("</table>");
    }
    body.push_str(&charts_svg(r, events));
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Drill: {}</title><style>body{{font-family:sans-serif;max-width:960px;margin:2em auto}}table{{border-collapse:collapse}}td{{border:1px solid #ccc;padding:2px 6px}}</style></head><body>{body}</body></html>\n",
        esc(&r.drill)
    )
}
