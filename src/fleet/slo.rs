//! Service level objectives and budgets: the fleet's `[slo]` table, a region's
//! `[[region]] slo = { ... }` over it (`Fleet::slo_for`), and the monthly cost budget of the fleet
//! (`[slo] budget_usd`) or of one region (`[[region]] budget_usd`, `Fleet::budget_for`).

use super::Fleet;
use serde::{Deserialize, Serialize};

/// What a region is held to. Every key has a default, so a fleet without `[slo]` still gets a
/// weekly review against the usual 99.9 % / p99 200 ms.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Slo {
    /// Share of requests answered without a 5xx, 0..1 (request-weighted over the window).
    pub availability: f64,
    /// The latency statistic must stay under this, ms ...
    pub latency_ms: f64,
    /// ... this statistic (a CloudWatch statistic: p50, p99, p99.9, Average, Maximum) ...
    pub latency_stat: String,
    /// ... for this share of the time, 0..1.
    pub latency_target: f64,
    /// Monthly cost budget of the whole fleet, USD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_usd: Option<f64>,
}

impl Default for Slo {
    fn default() -> Self {
        Slo {
            availability: 0.999,
            latency_ms: 200.0,
            latency_stat: "p99".into(),
            latency_target: 0.99,
            budget_usd: None,
        }
    }
}

impl Slo {
    pub fn is_default(&self) -> bool {
        *self == Slo::default()
    }
}

/// The keys a region overrides (`[[region]] slo = { latency_ms = 50.0 }`); the budget is the
/// region's own key `budget_usd`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SloOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_stat: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_target: Option<f64>,
}

impl SloOverrides {
    pub fn is_empty(&self) -> bool {
        *self == SloOverrides::default()
    }

    pub fn over(&self, base: &Slo) -> Slo {
        Slo {
            availability: self.availability.unwrap_or(base.availability),
            latency_ms: self.latency_ms.unwrap_or(base.latency_ms),
            latency_stat: self
                .latency_stat
                .clone()
                .unwrap_or_else(|| base.latency_stat.clone()),
            latency_target: self.latency_target.unwrap_or(base.latency_target),
            budget_usd: base.budget_usd,
        }
    }
}

/// A latency statistic CloudWatch computes: `pNN` / `pNN.N` (0 < NN < 100) or one of the plain
/// statistics. `None` when it is one, else what is wrong.
pub fn latency_stat_problem(stat: &str) -> Option<String> {
    if matches!(stat, "Average" | "Maximum" | "Minimum") {
        return None;
    }
    let ok = stat
        .strip_prefix('p')
        .filter(|n| {
            !n.is_empty() && n.len() <= 6 && n.chars().all(|c| c.is_ascii_digit() || c == '.')
        })
        .and_then(|n| n.parse::<f64>().ok())
        .is_some_and(|n| n > 0.0 && n < 100.0);
    (!ok).then(|| {
        format!(
            "`{}` is not a latency statistic: use p50, p99, p99.9 (a percentile) or Average, Maximum, Minimum",
            super::text::clean(stat)
        )
    })
}

impl Fleet {
    /// The objectives `region` is held to: the fleet's `[slo]` with the region's own keys over it.
    pub fn slo_for(&self, region: &str) -> Slo {
        match self.region(region) {
            Some(r) => r.slo.over(&self.slo),
            None => self.slo.clone(),
        }
    }

    /// The region's monthly budget: its own `budget_usd`, else what is left of the fleet's
    /// `[slo] budget_usd` after the regions with their own, shared evenly. None without either.
    pub fn budget_for(&self, region: &str) -> Option<f64> {
        let spec = self.region(region)?;
        if let Some(own) = spec.budget_usd {
            return Some(own);
        }
        let fleet = self.slo.budget_usd?;
        let (own_total, others) =
            self.regions
                .iter()
                .fold((0.0, 0usize), |(sum, n), r| match r.budget_usd {
                    Some(b) => (sum + b, n),
                    None => (sum, n + 1),
                });
        Some(((fleet - own_total) / others.max(1) as f64).max(0.0))
    }

    /// The fleet's monthly budget: `[slo] budget_usd`, else the regions' own budgets added up when
    /// every region has one.
    pub fn fleet_budget(&self) -> Option<f64> {
        self.slo.budget_usd.or_else(|| {
            self.regions
                .iter()
                .map(|r| r.budget_usd)
                .sum::<Option<f64>>()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn fleet(text: &str) -> Fleet {
        Fleet::parse(text, Path::new("t.toml")).unwrap()
    }

    const TWO: &str = r#"name = "t"
[slo]
availability = 0.9995
latency_ms = 100.0
budget_usd = 2000.0
[[region]]
name = "us-east-1"
role = "primary"
slo = { latency_ms = 50.0, latency_stat = "p95" }
budget_usd = 800.0
[[region]]
name = "eu-west-1"
role = "secondary"
[[region]]
name = "ap-southeast-1"
role = "secondary"
"#;

    #[test]
    fn a_region_overrides_only_the_keys_it_names() {
        let f = fleet(TWO);
        let us = f.slo_for("us-east-1");
        assert_eq!((us.latency_ms, us.latency_stat.as_str()), (50.0, "p95"));
        assert_eq!(us.availability, 0.9995);
        let eu = f.slo_for("eu-west-1");
        assert_eq!((eu.latency_ms, eu.latency_stat.as_str()), (100.0, "p99"));
        assert_eq!(eu.latency_target, 0.99);
    }

    #[test]
    fn the_fleet_budget_left_after_own_budgets_is_shared_evenly() {
        let f = fleet(TWO);
        assert_eq!(f.budget_for("us-east-1"), Some(800.0));
        assert_eq!(f.budget_for("eu-west-1"), Some(600.0));
        assert_eq!(f.budget_for("ap-southeast-1"), Some(600.0));
        assert_eq!(f.fleet_budget(), Some(2000.0));
    }

    #[test]
    fn without_slo_the_defaults_hold_and_there_is_no_budget() {
        let f = fleet("name = \"t\"\n[[region]]\nname = \"us-east-1\"\nrole = \"primary\"\n");
        assert_eq!(f.slo_for("us-east-1"), Slo::default());
        assert_eq!(f.budget_for("us-east-1"), None);
        assert_eq!(f.fleet_budget(), None);
    }

    #[test]
    fn latency_statistics_are_checked() {
        for ok in ["p99", "p50", "p99.9", "Average", "Maximum"] {
            assert_eq!(latency_stat_problem(ok), None, "{ok}");
        }
        for bad in ["p100", "p0", "P99", "avg", "p", "p9x", ""] {
            assert!(latency_stat_problem(bad).is_some(), "{bad}");
        }
    }
}
