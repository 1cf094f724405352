//! What the detail view's 7-day window holds per region (`app::week_charts` fills it): the week
//! read, the read under way, or why it failed — each with its time on the console's clock.

use crate::report::region_week::RegionWeek;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub enum WeekChart {
    /// Asked for at this time (the console's clock); the answer has not come back.
    Loading {
        since: DateTime<Utc>,
    },
    Ready(Box<RegionWeek>),
    Failed {
        error: String,
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, Default)]
pub struct WeekCharts {
    pub regions: BTreeMap<String, WeekChart>,
}

impl WeekCharts {
    pub fn get(&self, region: &str) -> Option<&WeekChart> {
        self.regions.get(region)
    }
}
