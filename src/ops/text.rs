//! Plans and what-ifs as plain text: what `opsdeck act` and `opsdeck simulate` print, and what
//! the console's what-if overlay shows.

use super::guards::GuardResult;
use super::plan::Plan;
use super::plan_lines::{self, PlanLine, Verdict};
use super::whatif::WhatIf;
use super::Op;

/// The plan as text, for the terminal.
pub fn plan(plan: &Plan, guards: &[GuardResult], is_sim: bool) -> String {
    let mut out = format!(
        "PLAN      {} ({}, {}, read {})\n",
        plan.op.summary(),
        plan.fleet,
        if is_sim { "simulated fleet" } else { "AWS" },
        plan.read_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let lines = plan_lines::lines(plan, guards, &[]);
    let width = plan_lines::rule_width(&lines);
    for line in &lines {
        let text = match line {
            PlanLine::Heading(h) => h.to_string(),
            PlanLine::Change {
                resource,
                field,
                before,
                after,
            } => format!("  {resource}  {field}: {before} → {after}"),
            PlanLine::NoChange => "  none".into(),
            PlanLine::Call { head, params } => format!("  {head} {params}"),
            PlanLine::Guard {
                verdict,
                rule,
                reason,
            } => {
                let (word, hint) = match verdict {
                    Verdict::Pass => ("pass    ", String::new()),
                    Verdict::Overridden => ("OVERRIDE", String::new()),
                    Verdict::Block { overridable } => (
                        "BLOCK   ",
                        if *overridable {
                            format!(" (overridable: --override {rule} --confirm-override {rule})")
                        } else {
                            String::new()
                        },
                    ),
                };
                format!("  {word}  {rule:<width$}  {reason}{hint}")
            }
            PlanLine::Note(n) => format!("  {n}"),
            PlanLine::After(a) => format!("  {a}"),
            PlanLine::Undo(u) => format!("UNDO      {u}"),
            PlanLine::OneWay => "UNDO      none: one-way".into(),
        };
        out.push_str(&text);
        out.push('\n');
    }
    out
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map(f).unwrap_or_else(|| "—".into())
}

/// The what-if as text.
pub fn what_if(w: &WhatIf) -> String {
    let mut out = format!(
        "WHAT IF   {} fails at {} ({}, {})\n",
        w.failed,
        w.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        w.fleet,
        if w.source.is_sim() {
            "simulated fleet"
        } else {
            "AWS"
        }
    );
    let weighted = w.routing == "weighted";
    let how = match w.routing.as_str() {
        "weighted" => "to the serving survivors by weight".to_string(),
        "latency" => "by latency routing: each user to the nearest serving region".to_string(),
        "geolocation" => {
            "by geolocation routing: to the continent's or the default record (see the notes)"
                .to_string()
        }
        "failover" => "by failover routing: to the secondary".to_string(),
        other => format!("as {other} routing answers (see the notes)"),
    };
    out.push_str(&format!(
        "TRAFFIC   {} req/s move {how}\n",
        opt(w.moved_rps, |v| format!("{v:.0}"))
    ));
    // ECS survivors count tasks, EKS ones nodes; a fleet with both labels each cell.
    let mixed = w.survivors.iter().any(|s| s.unit != w.survivors[0].unit);
    let units = match w.survivors.first() {
        Some(_) if mixed => "TASKS/NODES".to_string(),
        Some(s) => s.unit.to_uppercase(),
        None => "TASKS".to_string(),
    };
    let mut rows = vec![[
        "SURVIVOR",
        if weighted { "WEIGHT" } else { "ROUTING" },
        "RPS NOW",
        "RPS AFTER",
        "CAPACITY",
        "LOAD",
        units.as_str(),
        "NEED",
        "ADD",
        &format!("{} AFTER", w.stat),
        &format!("{} SCALED", w.stat),
    ]
    .map(String::from)
    .to_vec()];
    for s in &w.survivors {
        rows.push(vec![
            s.region.clone(),
            match (s.weight, weighted) {
                (Some(v), _) => v.to_string(),
                (None, false) => w.routing.clone(),
                (None, true) => "—".into(),
            },
            opt(s.rps_now, |v| format!("{v:.0}")),
            format!("{:.0}", s.rps_after),
            format!("{:.0}", s.capacity_rps),
            opt(s.utilisation_after, |v| format!("{:.0}%", v * 100.0)),
            if mixed {
                format!("{} {}", s.running_tasks, s.unit)
            } else {
                s.running_tasks.to_string()
            },
            s.tasks_needed.to_string(),
            format!("+{}", s.tasks_to_add),
            opt(s.latency_after_ms, |v| format!("{v:.0} ms")),
            opt(s.latency_scaled_ms, |v| format!("{v:.0} ms")),
        ]);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect();
        out.push_str(&format!("  {}\n", cells.join("  ").trim_end()));
    }
    let own: Vec<String> = w
        .survivors
        .iter()
        .filter(|s| s.threshold_ms > 0.0 && s.threshold_ms != w.threshold_ms)
        .map(|s| format!("{} {:.0} ms", s.region, s.threshold_ms))
        .collect();
    out.push_str(&format!(
        "THRESHOLD {} {:.0} ms{}\n",
        w.stat,
        w.threshold_ms,
        if own.is_empty() {
            String::new()
        } else {
            format!(" ({})", own.join(", "))
        }
    ));
    if w.writes_down {
        out.push_str(&format!(
            "WRITES    down since {}: no primary takes writes until a replica is promoted\n",
            w.writes_down_since
                .map(|t| t.format("%H:%M:%S UTC").to_string())
                .unwrap_or_else(|| "an unknown time".into())
        ));
    }
    match (&w.promotion, w.failed_is_primary || w.writes_down) {
        (Some(p), _) => out.push_str(&format!(
            "PROMOTE   {} in {}: RPO {} (budget {:.0} s){}\n",
            p.instance,
            p.region,
            match (p.rpo_s, p.rpo_observed_at) {
                (Some(v), Some(t)) if p.rpo_basis.starts_with("last") => format!(
                    "~{v:.1} s, the last lag seen before replication stopped ({})",
                    t.format("%H:%M:%S UTC")
                ),
                (Some(v), _) => format!("{v:.1} s"),
                (None, _) => format!("unknown: {}", p.rpo_basis),
            },
            p.rpo_budget_s,
            match p.within_budget {
                Some(true) => "",
                Some(false) => " OVER BUDGET",
                None => " cannot be bounded",
            }
        )),
        (None, true) => out.push_str(
            "PROMOTE   no replica can be promoted: writes stay down until the primary returns\n",
        ),
        (None, false) => out.push_str("PROMOTE   not needed: the primary survives\n"),
    }
    out.push_str("STEPS\n");
    for s in &w.steps {
        out.push_str(&format!(
            "  {:>4.0} s  {}{}\n",
            s.seconds,
            s.name,
            if s.after_previous {
                " (after the step above)"
            } else if s.parallel {
                " (in parallel)"
            } else {
                ""
            }
        ));
    }
    if (w.failed_is_primary || w.writes_down) && w.promotion.is_none() {
        out.push_str("RTO       none: writes are down until the primary returns\n");
    } else {
        let verdict = if w.rto_s <= w.rto_budget_s {
            "within"
        } else {
            "OVER"
        };
        out.push_str(&format!(
            "RTO       ~{:.0} s, {verdict} the budget of {:.0} s\n",
            w.rto_s, w.rto_budget_s
        ));
    }
    out.push_str("RECOMMEND\n");
    for op in &w.recommended {
        if let Op::Scale {
            region,
            service,
            desired,
            ..
        } = op
        {
            out.push_str(&format!(
                "  opsdeck act scale --region {region} --service {service} --desired {desired}\n"
            ));
        }
    }
    for op in &w.recommended {
        if let Op::ScaleNodegroup {
            region,
            nodegroup,
            desired,
            max,
            ..
        } = op
        {
            let max = max.map(|m| format!(" --max {m}")).unwrap_or_default();
            out.push_str(&format!(
                "  opsdeck act scale --region {region} --nodegroup {nodegroup} --desired {desired}{max}\n"
            ));
        }
    }
    if w.recommended.is_empty() {
        out.push_str("  no scale-up needed\n");
    }
    for n in &w.notes {
        out.push_str(&format!("NOTE      {n}\n"));
    }
    out
}
