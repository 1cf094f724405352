//! The built-in simulated fleet: a model of a multi-region deployment, not noise.
//!
//! Each region's own users follow a daily curve (`traffic`); Route53's weights and health checks
//! decide where they are served; latency and 5xx follow utilisation through a queueing formula
//! (`fleet::load`); ECS tasks take a minute or so to start (`ecs`); replicas lag behind the primary's
//! writes; the cache warms after a flush; cost accrues per resource-hour (`region`). Scenarios
//! inject incidents (`scenario`), operations change the model (`levers`). Everything is seeded and
//! driven by a virtual clock that [`SimFleet::advance`] moves, so a run is reproducible; `task`
//! runs the model in the background as a source.

mod autoscale;
mod cdn;
mod ecs;
mod levers;
mod noise;
mod observe;
mod params;
mod region;
mod scenario;
mod task;
mod traffic;

pub use autoscale::TARGET_UTILISATION;
pub use cdn::TARGET as CDN_TARGET;
pub use params::{guess_utc_offset, DEFAULT_MONTHLY_COST_USD, DEFAULT_PEAK_RPS, DEFAULT_WEIGHT};
pub use region::{HEALTH_CHECK_INTERVAL_S, HEALTH_CHECK_THRESHOLD, HOURS_PER_MONTH, PROMOTION_S};
pub use task::{spawn, spawn_shared, SimOptions, IDENTITY};
pub use traffic::{daily_curve, local_hour};

use crate::fleet::load::LatencyModel;
use crate::fleet::{Fleet, Reading};
use chrono::{DateTime, Duration, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use region::{PrimaryState, RegionModel};
use traffic::{route, RouteInput};

/// The longest step the model takes at once, virtual seconds.
pub const MAX_STEP_S: f64 = 5.0;

/// A region's load as the model sees it: inputs for a what-if.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionLoad {
    /// Requests/s arriving at the region now (its own users plus any routed to it).
    pub served_rps: f64,
    /// Requests/s the running tasks serve at the latency target.
    pub capacity_rps: f64,
    /// Running and desired tasks of the region's limiting ECS service.
    pub running_tasks: i64,
    pub desired_tasks: i64,
    pub weight: i64,
    /// The model's Route53 health check passes.
    pub healthy: bool,
    /// Requests/s of the region's own users (what moves elsewhere if it fails).
    pub demand_rps: f64,
    /// Autoscaling bounds of the limiting service.
    pub min_tasks: i64,
    pub max_tasks: i64,
}

/// The simulated fleet: its regions' state and a virtual clock.
#[derive(Debug, Clone)]
pub struct SimFleet {
    fleet: Fleet,
    /// Each region's latency calibration (its own target), fleet order.
    latency: Vec<LatencyModel>,
    /// The fleet's CloudFront distribution, when it has one.
    cdn: Option<cdn::CdnModel>,
    now: DateTime<Utc>,
    regions: Vec<RegionModel>,
    /// Steps every noise factor each sub-step, whatever else happens.
    noise_rng: ChaCha8Rng,
    /// Draws for events (task start delays, storm strength), so actions never shift the noise.
    event_rng: ChaCha8Rng,
}

impl SimFleet {
    pub fn new(fleet: &Fleet, seed: u64, start: DateTime<Utc>) -> Self {
        let mut noise_rng = ChaCha8Rng::seed_from_u64(seed);
        let event_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x9E37_79B9_7F4A_7C15);
        let regions = fleet
            .regions
            .iter()
            .enumerate()
            .map(|(i, spec)| RegionModel::new(fleet, spec, i, start, &mut noise_rng))
            .collect();
        let mut sim = SimFleet {
            fleet: fleet.clone(),
            latency: fleet
                .regions
                .iter()
                .map(|r| LatencyModel::new(fleet, &r.name))
                .collect(),
            cdn: fleet
                .cdn
                .as_ref()
                .map(|c| cdn::CdnModel::new(&c.cloudfront, seed)),
            now: start,
            regions,
            noise_rng,
            event_rng,
        };
        let routed = route(&sim.route_inputs(None), &sim.fleet.routing);
        for (r, rps) in sim.regions.iter_mut().zip(routed) {
            r.arrival_rps = rps;
        }
        let primary = sim.primary_state();
        for r in &mut sim.regions {
            r.settle_lag(&primary);
        }
        sim
    }

    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Advance virtual time by `dt_s` seconds, in sub-steps of at most [`MAX_STEP_S`].
    pub fn advance(&mut self, dt_s: f64) {
        self.advance_in_steps(dt_s, MAX_STEP_S);
    }

    /// Advance virtual time by `dt_s` seconds in sub-steps of at most `max_step_s` (at least
    /// [`MAX_STEP_S`]): a week for the weekly review in 30 s steps costs a sixth of 5 s steps, and
    /// every part of the model steps exactly (decays and noise are exponential in the step).
    pub fn advance_in_steps(&mut self, dt_s: f64, max_step_s: f64) {
        if !dt_s.is_finite() || dt_s <= 0.0 {
            return;
        }
        let max_step_s = max_step_s.max(MAX_STEP_S);
        let start = self.now;
        let total_ms = (dt_s * 1000.0).round() as i64;
        let steps = (dt_s / max_step_s).ceil().max(1.0) as i64;
        let mut done_ms = 0;
        for k in 1..=steps {
            let until_ms = total_ms * k / steps;
            self.now = start + Duration::milliseconds(until_ms);
            self.step((until_ms - done_ms) as f64 / 1000.0);
            done_ms = until_ms;
        }
    }

    fn step(&mut self, dt_s: f64) {
        for r in &mut self.regions {
            r.noise.step(&mut self.noise_rng, dt_s);
        }
        let routed = route(&self.route_inputs(None), &self.fleet.routing);
        let primary = self.primary_state();
        let now = self.now;
        for (r, rps) in self.regions.iter_mut().zip(routed) {
            let per_unit = r.params.unit_rps;
            r.step(dt_s, now, rps, per_unit, &primary, &mut self.event_rng);
        }
        if let Some(c) = &mut self.cdn {
            c.step(dt_s);
        }
    }

    /// The distribution's values now: its edges serve every region's users.
    fn cdn_values(&self) -> Option<crate::fleet::cdn::CdnValues> {
        let c = self.cdn.as_ref()?;
        let origin: f64 = self.regions.iter().map(|r| r.arrival_rps).sum();
        let errors: f64 = self
            .regions
            .iter()
            .map(|r| r.arrival_rps * r.error_rate(&self.fleet))
            .sum();
        Some(c.values(origin, if origin > 0.0 { errors / origin } else { 0.0 }))
    }

    /// Recompute every replica's replication state from the scenarios now running.
    pub(crate) fn sync_replication(&mut self) {
        let (primary, now) = (self.primary_state(), self.now);
        for r in &mut self.regions {
            r.sync_replication(&primary, now);
        }
    }

    /// Turn the ECS autoscaling policy of every region on or off (on by default).
    pub fn set_autoscaling(&mut self, enabled: bool) {
        for r in &mut self.regions {
            r.autoscaler.enabled = enabled;
        }
    }

    /// Route53's view of every region; `failed` is treated as unhealthy. A region with no record
    /// keeps its own users.
    fn route_inputs(&self, failed: Option<usize>) -> Vec<RouteInput> {
        self.regions
            .iter()
            .enumerate()
            .map(|(i, r)| RouteInput {
                region: r.spec.name.clone(),
                policy: r
                    .spec
                    .route53
                    .as_ref()
                    .map(|x| x.policy)
                    .unwrap_or_default(),
                location: r.spec.route53.as_ref().and_then(|x| x.location.clone()),
                failover: r.spec.route53.as_ref().and_then(|x| x.failover),
                demand_rps: r.own_demand_rps(self.now),
                weight: r.weight,
                base_weight: r.params.weight,
                healthy: r.route_healthy() && Some(i) != failed,
            })
            .collect()
    }

    fn primary_index(&self) -> Option<usize> {
        self.fleet
            .regions
            .iter()
            .position(|r| r.role == crate::fleet::Role::Primary)
    }

    fn primary_state(&self) -> PrimaryState {
        match self.primary_index().map(|i| &self.regions[i]) {
            Some(p) => PrimaryState {
                down: p.has(crate::source::Scenario::Outage),
                write_ratio: p.arrival_rps / p.params.peak_rps.max(1.0),
                lag_burst: p.has(crate::source::Scenario::ReplicaLag),
            },
            None => PrimaryState {
                down: false,
                write_ratio: 0.0,
                lag_burst: false,
            },
        }
    }

    pub(crate) fn index_of(&self, region: &str) -> Result<usize, String> {
        self.regions
            .iter()
            .position(|r| r.spec.name == region)
            .ok_or_else(|| format!("no region `{region}` in fleet `{}`", self.fleet.name))
    }

    /// One reading of every kind for every region, in fleet order (Topology only for regions with
    /// an `rds` instance, Probe only for regions with a `health_url`).
    pub fn readings(&self) -> Vec<(String, Reading)> {
        let primary = self.primary_index();
        let source = primary
            .and_then(|i| self.regions[i].db.as_ref())
            .map(|db| db.instance.as_str());
        let mut out = Vec::new();
        for (i, r) in self.regions.iter().enumerate() {
            let replicas = if Some(i) == primary {
                self.regions
                    .iter()
                    .filter_map(|o| o.replica_entry(&self.fleet))
                    .collect()
            } else {
                Vec::new()
            };
            for mut reading in r.readings(&self.fleet, &self.latency[i], self.now, source, replicas)
            {
                // CloudFront's metrics are read in us-east-1's call, as on AWS.
                if let Reading::Metrics(m) = &mut reading {
                    if r.spec.name == crate::fleet::cdn::METRICS_REGION {
                        m.cdn = self.cdn_values();
                    }
                }
                out.push((r.spec.name.clone(), reading));
            }
        }
        out
    }

    pub fn region_load(&self, region: &str) -> Option<RegionLoad> {
        let r = &self.regions[self.index_of(region).ok()?];
        let limit = r.bottleneck();
        Some(RegionLoad {
            served_rps: r.arrival_rps,
            capacity_rps: r.capacity_rps(r.params.unit_rps),
            running_tasks: limit.running,
            desired_tasks: limit.desired,
            weight: r.weight,
            healthy: r.route_healthy(),
            demand_rps: r.own_demand_rps(self.now),
            min_tasks: limit.min_tasks,
            max_tasks: limit.max_tasks,
        })
    }

    /// Requests/s each region would receive if `failed` stopped serving now (Route53's weighted
    /// redistribution of the current demand), fleet order.
    pub fn route_without(&self, failed: &str) -> Option<Vec<(String, f64)>> {
        let i = self.index_of(failed).ok()?;
        let routed = route(&self.route_inputs(Some(i)), &self.fleet.routing);
        Some(
            self.regions
                .iter()
                .zip(routed)
                .map(|(r, rps)| (r.spec.name.clone(), rps))
                .collect(),
        )
    }

    /// Latency (ms) of `stat` for `served_rps` on `running_tasks` tasks: the model's queueing
    /// formula without noise or incidents. None for an unknown region or without running tasks.
    pub fn predicted_latency_ms(
        &self,
        region: &str,
        stat: &str,
        served_rps: f64,
        running_tasks: f64,
    ) -> Option<f64> {
        let i = self.index_of(region).ok()?;
        self.latency[i].predicted_ms(
            stat,
            served_rps,
            running_tasks,
            self.regions[i].params.unit_rps,
        )
    }
}
