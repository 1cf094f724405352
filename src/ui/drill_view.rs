//! The drill walkthrough panel (`D`), drawn beside the live panes: the runbooks and past runs; an
//! open drill as a checklist with the current step's plan and the clock since the failure against
//! the RTO objective; a past run's timeline with what it measured and its verdict.

use super::format;
use crate::app::drill::{
    failure_at, step_state, DrillPanel, Listed, OpenDrill, PastRun, StepState,
};
use crate::app::State;
use crate::config::Theme;
use crate::drill::engine::Hold;
use crate::drill::timeline::{Event, EventKind, Verdict};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Widget, Wrap};

/// The panel's width on a frame `width` wide (the live panes keep the rest).
pub fn width(width: u16) -> u16 {
    (width / 2).clamp(40.min(width), 72)
}

/// "02:15" (minutes:seconds) of a duration in seconds.
fn mmss(s: i64) -> String {
    let s = s.max(0);
    format!("{:02}:{:02}", s / 60, s % 60)
}

fn verdict_style(v: Verdict, theme: &Theme) -> Style {
    match v {
        Verdict::Pass => theme.ok,
        Verdict::Fail | Verdict::Aborted => theme.crit,
        Verdict::Interrupted => theme.warn,
    }
}

pub fn render(area: Rect, buf: &mut Buffer, state: &State, theme: &Theme) {
    let p = &state.drills;
    if !p.open || area.width < 10 || area.height < 4 {
        return;
    }
    Clear.render(area, buf);
    let (title, hint, lines, scroll) = if let Some(past) = &p.past {
        (
            " drill run (read-only) ".to_string(),
            " ↑/↓ scroll · esc back ".to_string(),
            past_lines(past, theme),
            past.scroll,
        )
    } else if let Some(d) = &p.drill {
        (
            format!(" drill: {} ", d.runbook.name),
            drill_hint(d, state.source.is_sim()),
            drill_lines(d, state, theme),
            d.scroll,
        )
    } else {
        (
            " drills ".to_string(),
            " ↑/↓ choose · enter open · esc hide ".to_string(),
            list_lines(p, theme),
            0,
        )
    };
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.border_focus)
        .title(Span::styled(title, theme.title))
        .title_bottom(Line::styled(hint, theme.muted));
    Paragraph::new(lines)
        .block(block)
        .wrap(Wrap { trim: false })
        .scroll((scroll, 0))
        .render(area, buf);
}

fn list_lines(p: &DrillPanel, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    if p.loading {
        out.push(Line::styled("looking for runbooks…", theme.muted));
        return out;
    }
    let runbooks: Vec<(usize, &Listed)> = p
        .listed
        .iter()
        .enumerate()
        .filter(|(_, l)| !matches!(l, Listed::Past { .. }))
        .collect();
    let past: Vec<(usize, &Listed)> = p
        .listed
        .iter()
        .enumerate()
        .filter(|(_, l)| matches!(l, Listed::Past { .. }))
        .collect();
    out.push(Line::styled("RUNBOOKS", theme.header));
    if runbooks.is_empty() {
        out.push(Line::styled("  none found", theme.muted));
    }
    for (i, l) in runbooks {
        let mark = if i == p.selected { "▸ " } else { "  " };
        let style = if i == p.selected {
            theme.selection
        } else {
            theme.text
        };
        match l {
            Listed::Runbook(r) => out.push(Line::from(vec![
                Span::styled(format!("{mark}{}", r.name), style),
                Span::styled(
                    format!(
                        "  {} steps · RTO {:.0} s · RPO {:.0} s",
                        r.steps.len(),
                        r.objectives.rto_s,
                        r.objectives.rpo_s
                    ),
                    theme.muted,
                ),
            ])),
            Listed::Broken { path, .. } => out.push(Line::from(vec![
                Span::styled(format!("{mark}{}", path.display()), style),
                Span::styled("  does not load (enter: why)", theme.crit),
            ])),
            Listed::Past { .. } => {}
        }
    }
    out.push(Line::raw(""));
    out.push(Line::styled("PAST RUNS", theme.header));
    if past.is_empty() {
        out.push(Line::styled("  none yet", theme.muted));
    }
    for (i, l) in past {
        let Listed::Past {
            drill,
            mode,
            verdict,
            started_at,
            ..
        } = l
        else {
            continue;
        };
        let mark = if i == p.selected { "▸ " } else { "  " };
        let style = if i == p.selected {
            theme.selection
        } else {
            theme.text
        };
        let when = started_at
            .map(|t| t.format("%m-%d %H:%M").to_string())
            .unwrap_or_default();
        let (v, vs) = match verdict {
            Some(v) => (v.as_str().to_string(), verdict_style(*v, theme)),
            None => ("no end".to_string(), theme.warn),
        };
        out.push(Line::from(vec![
            Span::styled(format!("{mark}{when} {drill}"), style),
            Span::styled(format!("  {mode} · "), theme.muted),
            Span::styled(v, vs),
        ]));
    }
    if let Some(e) = &p.error {
        out.push(Line::raw(""));
        out.push(Line::styled(e.clone(), theme.crit));
    }
    out.push(Line::raw(""));
    out.push(Line::styled("looked in:", theme.muted));
    for d in &p.looked_in {
        out.push(Line::styled(format!("  {}", d.display()), theme.muted));
    }
    out
}

fn drill_hint(d: &OpenDrill, is_sim: bool) -> String {
    if !d.started {
        return if is_sim {
            " enter start · esc back ".into()
        } else {
            " type the runbook's name + enter to run against AWS · esc back ".into()
        };
    }
    if d.verdict.is_some() {
        return " ↑/↓ scroll · esc back to the list ".into();
    }
    match &d.hold {
        Some(Hold::Next { .. }) => " enter run next step · A abort · esc hide ".into(),
        Some(Hold::Confirm { region, .. }) => {
            format!(" type {region} + enter to run · A abort · esc hide ")
        }
        Some(Hold::Manual { .. }) => " t tick done · s skip · A abort · esc hide ".into(),
        Some(Hold::Rollback { .. }) => " y run the rollback · n record it planned ".into(),
        None => " running… · esc hide ".into(),
    }
}

fn step_mark(s: &StepState, theme: &Theme) -> (String, Style) {
    match s {
        StepState::Pending => ("[ ]".into(), theme.muted),
        StepState::Running => ("[▶]".into(), theme.accent),
        StepState::Ended(r) if r == "ok" => ("[✓]".into(), theme.ok),
        StepState::Ended(r) if r == "skipped" => ("[–]".into(), theme.warn),
        StepState::Ended(_) => ("[✗]".into(), theme.crit),
    }
}

/// "since the failure 02:15 / RTO 15:00", or the measured RTO once it recovered.
fn clock_line(d: &OpenDrill, now: chrono::DateTime<chrono::Utc>, theme: &Theme) -> Line<'static> {
    let rto = d.runbook.objectives.rto_s;
    let Some(failed) = failure_at(&d.events) else {
        return Line::from(vec![
            Span::styled("clock  ", theme.muted),
            Span::raw(format!(
                "the failure is not marked yet · RTO objective {}",
                mmss(rto as i64)
            )),
        ]);
    };
    let m = crate::drill::report::measure(&d.events);
    if let Some(rto_s) = m.rto_s {
        let style = if rto_s <= rto { theme.ok } else { theme.crit };
        return Line::from(vec![
            Span::styled("clock  ", theme.muted),
            Span::styled(
                format!(
                    "recovered after {} / RTO {}",
                    mmss(rto_s as i64),
                    mmss(rto as i64)
                ),
                style,
            ),
        ]);
    }
    let end = d
        .events
        .iter()
        .find(|e| matches!(e.kind, EventKind::DrillEnd { .. }))
        .map(|e| e.at)
        .unwrap_or(now);
    let since = (end - failed).num_seconds();
    let style = if (since as f64) <= rto {
        theme.text
    } else {
        theme.crit
    };
    Line::from(vec![
        Span::styled("clock  ", theme.muted),
        Span::styled(
            format!(
                "since the failure {} / RTO {}",
                mmss(since),
                mmss(rto as i64)
            ),
            style,
        ),
    ])
}

fn drill_lines(d: &OpenDrill, state: &State, theme: &Theme) -> Vec<Line<'static>> {
    let r = &d.runbook;
    let mode = if state.source.is_sim() {
        "simulation on the live simulated fleet"
    } else {
        "real: against AWS"
    };
    let mut out = vec![
        Line::from(vec![
            Span::styled("mode   ", theme.muted),
            Span::raw(mode.to_string()),
        ]),
        Line::from(vec![
            Span::styled("goal   ", theme.muted),
            Span::raw(format!(
                "RTO {:.0} s · RPO {:.0} s",
                r.objectives.rto_s, r.objectives.rpo_s
            )),
        ]),
        clock_line(d, state.now, theme),
        Line::raw(""),
    ];
    for step in &r.steps {
        let st = step_state(&d.events, &step.name);
        let (mark, style) = step_mark(&st, theme);
        let mut spans = vec![
            Span::styled(format!("{mark} "), style),
            Span::raw(step.name.clone()),
            Span::styled(format!("  {}", step.action.kind()), theme.muted),
        ];
        if let StepState::Ended(result) = &st {
            if result != "ok" {
                spans.push(Span::styled(format!(" · {result}"), style));
            }
        }
        out.push(Line::from(spans));
    }
    out.push(Line::raw(""));
    match &d.hold {
        Some(Hold::Next { steps, plans }) => {
            out.push(Line::styled(
                format!("NEXT  {}", steps.join(" + ")),
                theme.accent,
            ));
            for (step, plan) in plans {
                out.push(Line::styled(format!("plan of `{step}`:"), theme.muted));
                out.extend(plan.lines().map(|l| Line::raw(l.to_string())));
            }
        }
        Some(Hold::Confirm {
            step,
            plan,
            region,
            moved,
        }) => {
            out.push(Line::styled(format!("CONFIRM  `{step}`"), theme.accent));
            out.push(Line::from(vec![
                Span::styled(format!("type {region} to run: "), theme.accent),
                Span::raw(format!("{}▏", d.input)),
            ]));
            if let Some(m) = &d.message {
                out.push(Line::styled(m.clone(), theme.warn));
            }
            if let Some(m) = moved {
                out.push(Line::styled(format!("planned again: {m}"), theme.warn));
            }
            out.extend(plan.lines().map(|l| Line::raw(l.to_string())));
        }
        Some(Hold::Manual { step, text }) => {
            out.push(Line::styled(format!("MANUAL  `{step}`"), theme.accent));
            out.push(Line::raw(text.clone()));
        }
        Some(Hold::Rollback { lines }) => {
            out.push(Line::styled(
                "THE DRILL STOPPED: ROLLBACK (newest first)",
                theme.warn,
            ));
            out.extend(lines.iter().map(|l| Line::raw(format!("  {l}"))));
        }
        None => {}
    }
    if !d.started && !state.source.is_sim() {
        out.push(Line::from(vec![
            Span::styled(format!("type `{}` to run: ", r.name), theme.accent),
            Span::raw(format!("{}▏", d.input)),
        ]));
    }
    out.extend(rollback_lines(&d.events, theme));
    if let Some(v) = d.verdict {
        out.extend(verdict_lines(v, &d.events, theme));
        if let Some(p) = &d.report {
            out.push(Line::from(vec![
                Span::styled("report ", theme.muted),
                Span::raw(p.display().to_string()),
            ]));
        }
    }
    if let Some(m) = &d.message {
        out.push(Line::styled(m.clone(), theme.muted));
    }
    out
}

fn rollback_lines(events: &[Event], theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for e in events {
        if let EventKind::Rollback {
            step,
            result,
            detail,
            ..
        } = &e.kind
        {
            if out.is_empty() {
                out.push(Line::styled("ROLLBACK", theme.warn));
            }
            let style = if result == "ok" { theme.ok } else { theme.warn };
            out.push(Line::from(vec![
                Span::styled(format!("  {result} "), style),
                Span::raw(format!("`{step}`: {}", format::fit(detail, 200))),
            ]));
        }
    }
    out
}

fn verdict_lines(v: Verdict, events: &[Event], theme: &Theme) -> Vec<Line<'static>> {
    let r = crate::drill::report::build(events, "");
    let num = |v: Option<f64>| v.map(|x| format!("{x:.1} s")).unwrap_or_else(|| "—".into());
    let mut out = vec![
        Line::from(vec![
            Span::styled("VERDICT ", theme.header),
            Span::styled(v.as_str().to_uppercase(), verdict_style(v, theme)),
        ]),
        Line::raw(format!(
            "measured RTO {} · RPO {}  (objectives {:.0} s · {:.0} s)",
            num(r.measured.rto_s),
            num(r.measured.rpo_s),
            r.objectives.rto_s,
            r.objectives.rpo_s
        )),
        Line::raw(format!(
            "predicted RTO {} · RPO {}",
            num(r.predicted.rto_s),
            num(r.predicted.rpo_s)
        )),
    ];
    out.extend(
        r.reasons
            .iter()
            .map(|x| Line::styled(format!("· {x}"), theme.muted)),
    );
    out
}

fn past_lines(p: &PastRun, theme: &Theme) -> Vec<Line<'static>> {
    let r = crate::drill::report::build(&p.events, &p.path.display().to_string());
    let mut out = vec![
        Line::from(vec![
            Span::styled("drill  ", theme.muted),
            Span::raw(format!("{} · {} · {}", r.drill, r.mode, r.run_id)),
        ]),
        Line::from(vec![
            Span::styled("ran    ", theme.muted),
            Span::raw(format!(
                "{} → {}",
                r.started_at.clone().unwrap_or_default(),
                r.ended_at.clone().unwrap_or_else(|| "no end".into())
            )),
        ]),
    ];
    let verdict = p.events.iter().find_map(|e| match &e.kind {
        EventKind::DrillEnd { verdict, .. } => Some(*verdict),
        _ => None,
    });
    match verdict {
        Some(v) => out.extend(verdict_lines(v, &p.events, theme)),
        None => out.push(Line::styled(
            "no end recorded: still running, or its process was killed",
            theme.warn,
        )),
    }
    out.push(Line::raw(""));
    out.push(Line::styled("TIMELINE", theme.header));
    for e in &p.events {
        let text = match &e.kind {
            EventKind::DrillStart { mode, .. } => format!("drill start ({mode})"),
            EventKind::SteadyState { phase, ok, .. } => format!(
                "steady state {phase}: {}",
                if *ok { "holds" } else { "does not hold" }
            ),
            EventKind::StepStart { step, kind, .. } => format!("start `{step}` ({kind})"),
            EventKind::StepEnd { step, result, .. } => format!("end `{step}`: {result}"),
            EventKind::Failure { region, .. } => format!("failure marked: {region}"),
            EventKind::Rpo { rpo_s, basis, .. } => format!(
                "RPO {}: {basis}",
                rpo_s
                    .map(|x| format!("{x:.1} s"))
                    .unwrap_or_else(|| "—".into())
            ),
            EventKind::Recovered => "the steady state holds again".into(),
            EventKind::SteadyStateLost { .. } => "the steady state broke again".into(),
            EventKind::Alert {
                region,
                level,
                text,
            } => format!("{level} {region}: {text}"),
            EventKind::StopCondition(f) => format!("stop condition {}", f.condition),
            EventKind::Sample { .. } => continue,
            EventKind::Rollback { step, result, .. } => format!("rollback `{step}`: {result}"),
            EventKind::DrillEnd { verdict, .. } => format!("drill end: {}", verdict.as_str()),
        };
        out.push(Line::from(vec![
            Span::styled(format!("{} ", e.at.format("%H:%M:%S")), theme.muted),
            Span::raw(text),
        ]));
    }
    if p.bad_lines > 0 {
        out.push(Line::styled(
            format!("{} unreadable lines skipped", p.bad_lines),
            theme.warn,
        ));
    }
    out
}
