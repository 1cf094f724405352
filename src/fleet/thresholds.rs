//! Per-region thresholds: `[[region]] thresholds = { latency_ms = 50.0 }` overrides any key of the
//! fleet's `[thresholds]` for that region; every verdict about a region reads
//! [`Fleet::thresholds_for`], never `fleet.thresholds` directly.

use super::{Fleet, Thresholds};
use serde::{Deserialize, Serialize};

/// The keys a region overrides; a key left out is the fleet's. `cdn_hit_ratio_min` is not among
/// them: the CDN is fleet-wide.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ThresholdOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica_lag_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_hit_ratio_min: Option<f64>,
}

impl ThresholdOverrides {
    pub fn is_empty(&self) -> bool {
        *self == ThresholdOverrides::default()
    }

    /// `base` with this region's keys put over it.
    pub fn over(&self, base: &Thresholds) -> Thresholds {
        Thresholds {
            latency_ms: self.latency_ms.unwrap_or(base.latency_ms),
            error_rate: self.error_rate.unwrap_or(base.error_rate),
            replica_lag_s: self.replica_lag_s.unwrap_or(base.replica_lag_s),
            cache_hit_ratio_min: self.cache_hit_ratio_min.unwrap_or(base.cache_hit_ratio_min),
            ..base.clone()
        }
    }
}

impl Fleet {
    /// The thresholds `region` is judged by: the fleet's, with the region's own keys over them.
    /// A name that is not a region of the fleet gets the fleet's.
    pub fn thresholds_for(&self, region: &str) -> Thresholds {
        match self.region(region) {
            Some(r) => r.thresholds.over(&self.thresholds),
            None => self.thresholds.clone(),
        }
    }

    /// Some region judges by thresholds of its own.
    pub fn has_region_thresholds(&self) -> bool {
        self.regions.iter().any(|r| !r.thresholds.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn a_region_overrides_only_the_keys_it_names() {
        let fleet = Fleet::parse(
            r#"name = "t"
[thresholds]
latency_ms = 100.0
error_rate = 0.02
[[region]]
name = "us-east-1"
role = "primary"
thresholds = { latency_ms = 50.0 }
[[region]]
name = "eu-west-1"
role = "secondary"
"#,
            Path::new("t.toml"),
        )
        .unwrap();
        let us = fleet.thresholds_for("us-east-1");
        assert_eq!(us.latency_ms, 50.0);
        assert_eq!(us.error_rate, 0.02);
        assert_eq!(fleet.thresholds_for("eu-west-1").latency_ms, 100.0);
        assert_eq!(fleet.thresholds_for("nowhere-1").latency_ms, 100.0);
        assert!(fleet.has_region_thresholds());
    }
}
