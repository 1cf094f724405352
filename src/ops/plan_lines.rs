//! The plan as lines with meanings: one model of what a plan shows, in order, with one rule for
//! each guard's verdict. `text::plan` writes it as plain text for the command line;
//! `ui::dialogs` draws it styled, wrapped to the dialog.

use super::guards::GuardResult;
use super::plan::Plan;

/// A guard as the plan shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Blocked, and passed anyway by a confirmed override (typed in the dialog, or
    /// `--override … --confirm-override …` on the command line).
    Overridden,
    /// Nothing runs while this holds; `overridable` says whether an override can lift it.
    Block {
        overridable: bool,
    },
}

impl Verdict {
    /// The one rule: a failed guard is overridden when the pipeline recorded the override or the
    /// user confirmed it for this plan.
    pub fn of(g: &GuardResult, overrides: &[String]) -> Verdict {
        if g.passed {
            Verdict::Pass
        } else if g.overridden || overrides.contains(&g.rule) {
            Verdict::Overridden
        } else {
            Verdict::Block {
                overridable: g.overridable,
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum PlanLine {
    /// A section: CHANGES, API CALLS, GUARDS, NOTES, FLEET AFTER.
    Heading(&'static str),
    Change {
        resource: String,
        field: String,
        before: String,
        after: String,
    },
    /// The plan changes nothing.
    NoChange,
    /// An API call: "route53 ChangeResourceRecordSets (us-east-1)" and its parameters as JSON.
    Call {
        head: String,
        params: String,
    },
    Guard {
        verdict: Verdict,
        rule: String,
        reason: String,
    },
    Note(String),
    /// One region of the fleet afterwards.
    After(String),
    /// The operation that undoes this one.
    Undo(String),
    /// The operation cannot be undone.
    OneWay,
}

/// The plan's lines, in the order both renderings show them.
pub fn lines(plan: &Plan, guards: &[GuardResult], overrides: &[String]) -> Vec<PlanLine> {
    let mut out = vec![PlanLine::Heading("CHANGES")];
    out.extend(plan.changes.iter().map(|c| PlanLine::Change {
        resource: c.resource.clone(),
        field: c.field.clone(),
        before: c.before.to_string(),
        after: c.after.to_string(),
    }));
    if plan.changes.is_empty() {
        out.push(PlanLine::NoChange);
    }
    out.push(PlanLine::Heading("API CALLS"));
    out.extend(plan.calls.iter().map(|c| PlanLine::Call {
        head: format!("{} {} ({})", c.service(), c.operation(), c.region()),
        params: c.params().to_string(),
    }));
    out.push(PlanLine::Heading("GUARDS"));
    out.extend(guards.iter().map(|g| PlanLine::Guard {
        verdict: Verdict::of(g, overrides),
        rule: g.rule.clone(),
        reason: g.reason.clone(),
    }));
    out.push(PlanLine::Heading("NOTES"));
    out.extend(plan.notes.iter().cloned().map(PlanLine::Note));
    out.push(PlanLine::Heading("FLEET AFTER"));
    out.extend(plan.after.iter().cloned().map(PlanLine::After));
    out.push(match (&plan.undo, plan.reversible) {
        (Some(u), true) => PlanLine::Undo(u.summary()),
        _ => PlanLine::OneWay,
    });
    out
}

/// Width of the widest rule name, to align the guards.
pub fn rule_width(lines: &[PlanLine]) -> usize {
    lines
        .iter()
        .filter_map(|l| match l {
            PlanLine::Guard { rule, .. } => Some(rule.len()),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}
