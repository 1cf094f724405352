//! The fleet's CDN as the console knows it: CloudFront's values from us-east-1's metrics reading,
//! judged fleet-wide, with why a value is missing (not read, additional metrics off, no requests,
//! stale) said in words.

use super::State;
use crate::fleet::cdn::{self, CdnValues};
use crate::fleet::{DataKind, Status};

#[derive(Debug, Clone, PartialEq)]
pub struct CdnView {
    pub distribution: String,
    /// The latest values read (kept while a refresh fails).
    pub values: Option<CdnValues>,
    pub status: Status,
    /// A sentence per threshold crossed ("CDN cache hit 62% (crit < 80%)").
    pub breaches: Vec<String>,
    /// Why something is missing or old: not read, additional metrics off, no requests, stale.
    pub note: Option<String>,
}

impl State {
    /// The fleet's CDN; `None` when the fleet has none.
    pub fn cdn(&self) -> Option<CdnView> {
        let config = self.fleet.cdn.as_ref()?;
        let mut view = CdnView {
            distribution: config.cloudfront.clone(),
            values: None,
            status: Status::Unknown,
            breaches: Vec::new(),
            note: None,
        };
        let Some(region) = self
            .regions
            .iter()
            .find(|r| r.name() == cdn::METRICS_REGION)
        else {
            view.note = Some(cdn::NOT_READ.into());
            return Some(view);
        };
        view.values = region.metrics.as_ref().and_then(|m| m.cdn.clone());
        let stale = region.stale_label(DataKind::Metrics, self.now);
        match (&view.values, stale) {
            (_, Some(stale)) => view.note = Some(stale),
            (None, None) => view.note = Some("no data yet".into()),
            (Some(v), None) => {
                let (status, breaches) = cdn::judge(&self.fleet, v);
                view.breaches = breaches;
                view.note = cdn::missing_hit_ratio(v).map(String::from);
                view.status = if self.offline.is_some() {
                    Status::Unknown
                } else {
                    status
                };
            }
        }
        Some(view)
    }
}
