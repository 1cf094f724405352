//! ECS service autoscaling (target tracking on requests per task), within each service's
//! min/max. Conservative like AWS's: scale out after a few minutes above the alarm, scale in only
//! after a quarter of an hour well below the target, and wait after every change.

use super::ecs::ServiceModel;
use rand_chacha::ChaCha8Rng;

/// Utilisation the policy sizes for.
pub const TARGET_UTILISATION: f64 = 0.7;
/// Scale out after utilisation stays above this for `SCALE_OUT_AFTER_S`.
const SCALE_OUT_ABOVE: f64 = 0.9;
const SCALE_OUT_AFTER_S: f64 = 180.0;
/// Scale in after utilisation stays below this for `SCALE_IN_AFTER_S`.
const SCALE_IN_BELOW: f64 = 0.45;
const SCALE_IN_AFTER_S: f64 = 900.0;
/// No new decision this long after any change of the desired count (the policy's or a person's).
const COOLDOWN_S: f64 = 300.0;
/// The policy's metric is averaged over about a minute.
const AVERAGE_TAU_S: f64 = 60.0;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Autoscaler {
    pub enabled: bool,
    average: Option<f64>,
    above_s: f64,
    below_s: f64,
    since_change_s: f64,
}

impl Autoscaler {
    pub fn new(enabled: bool) -> Self {
        Autoscaler {
            enabled,
            average: None,
            above_s: 0.0,
            below_s: 0.0,
            since_change_s: COOLDOWN_S,
        }
    }

    /// A person changed the desired count: the policy waits a cooldown before it acts again.
    pub fn manual_change(&mut self) {
        self.since_change_s = 0.0;
        self.above_s = 0.0;
        self.below_s = 0.0;
    }

    /// `arrival_rps` over the tasks of each service; a region with no running task is left alone.
    pub fn step(
        &mut self,
        dt_s: f64,
        arrival_rps: f64,
        rps_per_task: f64,
        services: &mut [ServiceModel],
        rng: &mut ChaCha8Rng,
    ) {
        self.since_change_s += dt_s;
        let running = services.iter().map(|s| s.running).min().unwrap_or(0);
        if !self.enabled || running == 0 {
            *self = Autoscaler {
                enabled: self.enabled,
                since_change_s: self.since_change_s,
                ..Autoscaler::new(true)
            };
            return;
        }
        let now = arrival_rps / (running as f64 * rps_per_task);
        let avg = match self.average {
            Some(a) => a + (now - a) * (1.0 - (-dt_s / AVERAGE_TAU_S).exp()),
            None => now,
        };
        self.average = Some(avg);
        self.above_s = if avg > SCALE_OUT_ABOVE {
            self.above_s + dt_s
        } else {
            0.0
        };
        self.below_s = if avg < SCALE_IN_BELOW {
            self.below_s + dt_s
        } else {
            0.0
        };
        if self.since_change_s < COOLDOWN_S {
            return;
        }
        let scale_out = self.above_s >= SCALE_OUT_AFTER_S;
        let scale_in = self.below_s >= SCALE_IN_AFTER_S;
        if !(scale_out || scale_in) {
            return;
        }
        let needed = (arrival_rps / (TARGET_UTILISATION * rps_per_task)).ceil() as i64;
        let mut changed = false;
        for s in services.iter_mut() {
            let wanted = needed.clamp(s.min_tasks, s.max_tasks);
            if (scale_out && wanted > s.desired) || (scale_in && wanted < s.desired) {
                s.desired = wanted;
                s.reconcile(rng);
                changed = true;
            }
        }
        if changed {
            self.manual_change();
        }
    }
}
