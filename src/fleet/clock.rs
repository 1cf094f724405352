//! One clock for one moment: guards (cooldown), audit times, verification's polling, plan age and
//! the event log all read the time from the clock injected where they run — the simulator's
//! virtual clock on the simulated fleet, the wall clock against AWS.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::FutureExt;
use std::time::Duration;

/// A hidden test hook: seconds added to the wall clock (e.g. `600`), so a test of the real binary
/// against an emulator can stand past a cooldown without sleeping.
pub const CLOCK_OFFSET_ENV: &str = "OPSDECK_TEST_CLOCK_OFFSET_S";

pub trait Clock: Send + Sync {
    /// The time now.
    fn now(&self) -> DateTime<Utc>;

    /// Let `d` of this clock's time pass: the wall clock sleeps, a simulated clock advances its
    /// model or waits until the model's time has moved on by `d`.
    fn sleep(&self, d: Duration) -> BoxFuture<'_, ()>;
}

/// The wall clock, optionally shifted (the [`CLOCK_OFFSET_ENV`] test hook).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WallClock {
    offset: chrono::Duration,
}

impl WallClock {
    pub fn new() -> Self {
        WallClock::default()
    }

    /// The wall clock `offset_s` seconds ahead.
    pub fn shifted(offset_s: i64) -> Self {
        WallClock {
            offset: chrono::Duration::seconds(offset_s),
        }
    }

    /// The wall clock, shifted by [`CLOCK_OFFSET_ENV`] when it is set to a number of seconds.
    pub fn from_env() -> Self {
        std::env::var(CLOCK_OFFSET_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .map(WallClock::shifted)
            .unwrap_or_default()
    }
}

impl Clock for WallClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }

    fn sleep(&self, d: Duration) -> BoxFuture<'_, ()> {
        tokio::time::sleep(d).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shifted_wall_clock_runs_ahead_by_its_offset() {
        let ahead = WallClock::shifted(600).now() - WallClock::new().now();
        assert!((599..=600).contains(&ahead.num_seconds()), "{ahead}");
    }
}
