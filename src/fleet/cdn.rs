//! The fleet's CDN: a CloudFront distribution in front of every region. Its metrics live in
//! CloudWatch `AWS/CloudFront` with the dimensions `DistributionId` and `Region = Global`, and only
//! in us-east-1: opsdeck reads them in that region's one `GetMetricData` call and judges them
//! fleet-wide (`thresholds.cdn_hit_ratio_min`, `thresholds.error_rate`).

use super::health::{crossed, level_above, level_below, WARN_FRACTION};
pub use super::readings::CdnValues;
use super::{Fleet, Status};
use serde::{Deserialize, Serialize};

/// The one region CloudFront's metrics can be read in.
pub const METRICS_REGION: &str = "us-east-1";

/// `cdn = { cloudfront = "E2QWRUHEXAMPLE" }` (contract key).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CdnConfig {
    /// The CloudFront distribution ID.
    pub cloudfront: String,
}

/// A distribution ID is letters and digits (CloudFront's are upper case, 13 or 14 of them).
pub fn validate_config(c: &CdnConfig) -> Result<(), String> {
    let id = c.cloudfront.as_str();
    if id.trim().is_empty() {
        return Err(
            "`cdn.cloudfront` is empty: give the distribution ID or leave `cdn` out".into(),
        );
    }
    if !id
        .chars()
        .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit())
        || id.len() > 32
    {
        return Err(format!(
            "`cdn.cloudfront` = `{}` is not a CloudFront distribution ID (upper-case letters and digits, like E2QWRUHEXAMPLE)",
            super::text::clean(id)
        ));
    }
    Ok(())
}

/// Why there is no cache hit ratio to show, in words; `None` when there is one.
pub fn missing_hit_ratio(v: &CdnValues) -> Option<&'static str> {
    match (v.cache_hit_ratio, v.additional_metrics_off) {
        (Some(_), _) => None,
        (None, true) => Some(NOT_ENABLED),
        (None, false) => Some(NO_REQUESTS),
    }
}

pub const NOT_ENABLED: &str =
    "additional metrics not enabled: CloudFront reports no cache hit rate for this distribution";
pub const NO_REQUESTS: &str = "no requests: no cache hit rate";
/// No us-east-1 region in the fleet: nothing reads CloudFront's metrics.
pub const NOT_READ: &str =
    "not read: CloudFront's metrics are in us-east-1, which is not a region of this fleet";

/// The CDN's status and a sentence for each threshold it crossed. `Unknown` when there is no
/// cache hit ratio (additional metrics off, or no requests) and nothing else is wrong.
pub fn judge(fleet: &Fleet, v: &CdnValues) -> (Status, Vec<String>) {
    let t = &fleet.thresholds;
    let mut out = Vec::new();
    let mut status = if v.cache_hit_ratio.is_some() {
        Status::Ok
    } else {
        Status::Unknown
    };
    if let Some(hit) = v.cache_hit_ratio {
        let min = t.cdn_hit_ratio_min;
        let level = level_below(hit, min);
        if level != Status::Ok {
            let warn = min + (1.0 - min) * 0.25;
            out.push(format!(
                "CDN cache hit {:.0}% {}",
                hit * 100.0,
                crossed(
                    level,
                    "<",
                    format!("{:.0}%", warn * 100.0),
                    format!("{:.0}%", min * 100.0)
                )
            ));
            status = status.max(level);
        }
    }
    if let Some(e) = v.error_rate {
        let level = level_above(e, t.error_rate);
        if level != Status::Ok {
            let pct = |x: f64| format!("{:.1}%", x * 100.0);
            out.push(format!(
                "CDN 5xx rate {} {}",
                pct(e),
                crossed(
                    level,
                    ">",
                    pct(t.error_rate * WARN_FRACTION),
                    pct(t.error_rate)
                )
            ));
            status = status.max(level);
        }
    }
    (status, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(hit: Option<f64>, err: Option<f64>, off: bool) -> CdnValues {
        CdnValues {
            distribution: "E2QWRUHEXAMPLE".into(),
            requests_per_s: Some(10.0),
            cache_hit_ratio: hit,
            error_rate: err,
            error_rate_4xx: Some(0.01),
            additional_metrics_off: off,
        }
    }

    #[test]
    fn the_hit_ratio_is_judged_against_its_own_minimum() {
        let mut fleet = Fleet::builtin();
        fleet.thresholds.cdn_hit_ratio_min = 0.85;
        assert_eq!(
            judge(&fleet, &values(Some(0.95), Some(0.0), false)).0,
            Status::Ok
        );
        let (s, why) = judge(&fleet, &values(Some(0.87), Some(0.0), false));
        assert_eq!(s, Status::Warn);
        assert_eq!(why, ["CDN cache hit 87% (warn < 89%, crit < 85%)"]);
        let (s, why) = judge(&fleet, &values(Some(0.40), Some(0.0), false));
        assert_eq!(s, Status::Crit);
        assert_eq!(why, ["CDN cache hit 40% (crit < 85%)"]);
    }

    #[test]
    fn no_hit_ratio_is_unknown_and_says_why_but_5xx_still_counts() {
        let fleet = Fleet::builtin();
        let off = values(None, Some(0.0), true);
        assert_eq!(judge(&fleet, &off).0, Status::Unknown);
        assert_eq!(missing_hit_ratio(&off), Some(NOT_ENABLED));
        assert_eq!(
            missing_hit_ratio(&values(None, None, false)),
            Some(NO_REQUESTS)
        );
        let (s, why) = judge(&fleet, &values(None, Some(0.2), true));
        assert_eq!(s, Status::Crit);
        assert_eq!(why, ["CDN 5xx rate 20.0% (crit > 5.0%)"]);
    }

    #[test]
    fn a_distribution_id_is_letters_and_digits() {
        let ok = CdnConfig {
            cloudfront: "E2QWRUHEXAMPLE".into(),
        };
        assert!(validate_config(&ok).is_ok());
        for bad in [
            "",
            " ",
            "e2qwruhexample",
            "E2QW RUH",
            "arn:aws:cloudfront::1:distribution/E2",
        ] {
            let c = CdnConfig {
                cloudfront: bad.into(),
            };
            assert!(validate_config(&c).is_err(), "{bad:?} accepted");
        }
    }
}
