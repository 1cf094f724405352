//! The `[slo]` table and each region's `slo = { ... }` and `budget_usd`: shares strictly between
//! 0 and 1 (a target of 1 leaves no error budget to spend), a positive latency, a statistic
//! CloudWatch computes, a budget that is a finite amount of money.

use super::super::slo::latency_stat_problem;
use super::super::{Fleet, FleetError};
use super::{Check, Step};

const BUDGET_MAX_USD: f64 = 1e9;

pub(super) fn check(c: &Check, fleet: &Fleet) -> Result<(), FleetError> {
    let s = &fleet.slo;
    let at = |k: &'static str| [Step::Key("slo"), Step::Key(k)];
    objectives(
        c,
        &[Step::Key("slo")],
        "slo",
        Some(s.availability),
        Some(s.latency_ms),
        Some(&s.latency_stat),
        Some(s.latency_target),
    )?;
    if let Some(b) = s.budget_usd {
        c.number(
            &at("budget_usd"),
            "slo.budget_usd",
            b,
            0.0,
            true,
            BUDGET_MAX_USD,
        )?;
    }
    for (i, r) in fleet.regions.iter().enumerate() {
        let o = &r.slo;
        let base = [Step::Key("region"), Step::Index(i), Step::Key("slo")];
        objectives(
            c,
            &base,
            &format!("region {}: slo", r.name),
            o.availability,
            o.latency_ms,
            o.latency_stat.as_deref(),
            o.latency_target,
        )?;
        if let Some(b) = r.budget_usd {
            c.number(
                &[Step::Key("region"), Step::Index(i), Step::Key("budget_usd")],
                &format!("region {}: budget_usd", r.name),
                b,
                0.0,
                true,
                BUDGET_MAX_USD,
            )?;
        }
    }
    Ok(())
}

fn objectives(
    c: &Check,
    base: &[Step],
    name: &str,
    availability: Option<f64>,
    latency_ms: Option<f64>,
    latency_stat: Option<&str>,
    latency_target: Option<f64>,
) -> Result<(), FleetError> {
    let at = |k: &'static str| {
        let mut p = base.to_vec();
        p.push(Step::Key(k));
        p
    };
    for (key, value) in [
        ("availability", availability),
        ("latency_target", latency_target),
    ] {
        let Some(v) = value else { continue };
        if !v.is_finite() || v <= 0.0 || v >= 1.0 {
            return Err(c.fail(
                &at(key),
                format!(
                    "`{name}.{key}` = {v} must be a share between 0 and 1, both excluded (0.999 is 99.9 %; 1 leaves no error budget)"
                ),
            ));
        }
    }
    if let Some(v) = latency_ms {
        c.number(
            &at("latency_ms"),
            &format!("{name}.latency_ms"),
            v,
            0.0,
            true,
            600_000.0,
        )?;
    }
    if let Some(stat) = latency_stat {
        if let Some(p) = latency_stat_problem(stat) {
            return Err(c.fail(&at("latency_stat"), format!("`{name}.latency_stat`: {p}")));
        }
    }
    Ok(())
}
