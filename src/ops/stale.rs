//! A plan shown some time ago against the plan made again at confirmation: what moved enough that
//! the operator must see the new plan before anything runs. A change, an API call or a guard's
//! verdict that differs, or a value the plan was weighed on (`plan::weighed`) that moved
//! materially: requests/s or running tasks by more than [`MATERIAL`], a weight, a health check or
//! a probe verdict that changed, a survivor crossing the 80 % or 100 % mark of its rated capacity,
//! the promoted replica's lag. Drift within that band is no reason to refuse: the operation runs,
//! and its audit record keeps the fresh plan, with the values it ran on.

use super::capacity;
use super::guards::GuardResult;
use super::plan::weighed::Weighed;
use super::plan::Plan;
use super::view::FleetView;
use super::Op;
use crate::fleet::{health::WARN_FRACTION, Fleet};

/// The `rule` of the refusal when the plan moved since it was shown.
pub const STALE_PLAN: &str = "stale-plan";

/// A relative move beyond this is material.
pub const MATERIAL: f64 = 0.10;
/// Requests/s moves no larger than this are noise, whatever their share (a drained region).
const RPS_FLOOR: f64 = 2.0;
/// Replica lag moves no larger than this (seconds) are noise.
const LAG_FLOOR_S: f64 = 1.0;

/// One plan as the operator saw it (or as it is now).
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    pub plan: &'a Plan,
    pub guards: &'a [GuardResult],
    pub before: &'a FleetView,
}

/// What moved materially from `shown` to `fresh`, one line each; empty when the shown plan still
/// holds.
pub fn moved(shown: Seen, fresh: Seen, fleet: &Fleet) -> Vec<String> {
    let mut out = Vec::new();
    for c in &fresh.plan.changes {
        if !shown.plan.changes.contains(c) {
            out.push(format!(
                "change {} {}: now {} → {}",
                c.resource, c.field, c.before, c.after
            ));
        }
    }
    if shown.plan.changes.len() != fresh.plan.changes.len() && out.is_empty() {
        out.push("the changes differ".into());
    }
    if shown.plan.calls != fresh.plan.calls {
        let names = |p: &Plan| {
            let names: Vec<String> = p
                .calls
                .iter()
                .map(|c| format!("{} {}", c.service(), c.operation()))
                .collect();
            names.join(", ")
        };
        out.push(format!("the API calls differ (now: {})", names(fresh.plan)));
    }
    for g in fresh.guards {
        let was = shown.guards.iter().find(|s| s.rule == g.rule);
        if was.map(|s| s.passed) != Some(g.passed) {
            let word = |p: bool| if p { "pass" } else { "BLOCK" };
            out.push(format!(
                "{}: {} → {} ({})",
                g.rule,
                was.map(|s| word(s.passed)).unwrap_or("not evaluated"),
                word(g.passed),
                g.reason
            ));
        }
    }
    let promoted = match &fresh.plan.op {
        Op::Promote { region } => Some(region.as_str()),
        _ => None,
    };
    out.extend(weighed(&shown.plan.weighed, &fresh.plan.weighed, promoted));
    let marks = |v: f64| [WARN_FRACTION, 1.0].iter().filter(|m| v > **m).count();
    let before = capacity::survivors_after(shown.before, &shown.plan.op, fleet);
    for l in capacity::survivors_after(fresh.before, &fresh.plan.op, fleet) {
        if let Some(b) = before.iter().find(|b| b.region == l.region) {
            if marks(b.utilisation()) != marks(l.utilisation()) {
                out.push(format!(
                    "{} afterwards: {} → {} of its rated capacity",
                    l.region,
                    capacity::percent(b.utilisation()),
                    capacity::percent(l.utilisation())
                ));
            }
        }
    }
    out
}

const REASON_HEAD: &str = "the fleet moved since the plan was shown: ";
const REASON_TAIL: &str = "; nothing ran, review the new plan";

/// The refusal's reason: what moved, and that nothing ran.
pub fn reason(moved: &[String]) -> String {
    format!("{REASON_HEAD}{}{REASON_TAIL}", moved.join("; "))
}

/// What moved, from a refusal's [`reason`] (the whole text if it is not one).
pub fn what_moved(reason: &str) -> &str {
    reason
        .strip_prefix(REASON_HEAD)
        .and_then(|r| r.strip_suffix(REASON_TAIL))
        .unwrap_or(reason)
}

/// True when `now` is more than [`MATERIAL`] away from `then` (relative to the larger).
pub fn material(then: f64, now: f64) -> bool {
    let scale = then.abs().max(now.abs());
    scale > 0.0 && (now - then).abs() / scale > MATERIAL
}

/// Per region: requests/s and running tasks moved materially, the weight, the health check or the
/// probe's verdict changed; the promoted replica's lag moved materially.
fn weighed(shown: &[Weighed], fresh: &[Weighed], promoted: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    for f in fresh {
        let Some(s) = shown.iter().find(|s| s.region == f.region) else {
            continue;
        };
        let name = &f.region;
        if s.weight != f.weight {
            out.push(format!(
                "{name} weight {} (was {})",
                show(f.weight),
                show(s.weight)
            ));
        }
        if s.health_check != f.health_check {
            out.push(format!(
                "{name} Route53 health check {}",
                verdict(f.health_check)
            ));
        }
        let probe_ok = |w: &Weighed| w.probe.as_ref().map(|p| p.ok);
        if probe_ok(s) != probe_ok(f) {
            let now = match &f.probe {
                Some(p) if !p.ok => format!("fails now ({})", p.detail),
                p => verdict(p.as_ref().map(|p| p.ok)),
            };
            out.push(format!("{name} health probe {now}"));
        }
        match (s.served_rps, f.served_rps) {
            (Some(a), Some(b)) if material(a, b) && (b - a).abs() > RPS_FLOOR => {
                out.push(format!("{name} serves {b:.0} req/s (was {a:.0})"));
            }
            (Some(a), None) => out.push(format!("{name} requests/s unknown now (was {a:.0})")),
            _ => {}
        }
        let (a, b) = (s.running_tasks, f.running_tasks);
        if material(a as f64, b as f64) {
            out.push(format!("{name} runs {b} tasks (was {a})"));
        }
        if promoted == Some(name.as_str()) {
            match (s.replica_lag_s, f.replica_lag_s) {
                (Some(a), Some(b)) if material(a, b) && (b - a).abs() > LAG_FLOOR_S => {
                    out.push(format!("{name} replica lag {b:.1} s (was {a:.1} s)"));
                }
                (Some(a), None) => {
                    out.push(format!("{name} replica lag unknown now (was {a:.1} s)"))
                }
                _ => {}
            }
        }
    }
    out
}

fn verdict(v: Option<bool>) -> String {
    match v {
        Some(true) => "passes now",
        Some(false) => "fails now",
        None => "unknown now",
    }
    .into()
}

fn show(v: Option<i64>) -> String {
    v.map(|w| w.to_string()).unwrap_or_else(|| "—".into())
}
