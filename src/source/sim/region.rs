//! One region's state in the model and how it moves with time.

use super::autoscale::Autoscaler;
use super::ecs::ServiceModel;
use super::noise::RegionNoise;
use super::params::RegionParams;
use super::traffic::{daily_curve, local_hour};
use crate::fleet::{Fleet, RegionSpec, Role};
use crate::source::Scenario;
use chrono::{DateTime, Datelike, TimeZone, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Route53 checks a region's health URL every 30 s and changes its verdict after 3 results in a row.
pub const HEALTH_CHECK_INTERVAL_S: f64 = 30.0;
pub const HEALTH_CHECK_THRESHOLD: u32 = 3;
/// Clients follow a DNS change over about this long (record TTL).
const DNS_FOLLOW_TAU_S: f64 = 20.0;
/// Warm cache hit ratio, and how fast a flushed cache warms back.
pub const WARM_HIT_RATIO: f64 = 0.93;
const CACHE_WARM_TAU_S: f64 = 200.0;
/// Under the replica-lag scenario the replica falls this many seconds behind per second.
pub const LAG_GROWTH_PER_S: f64 = 0.5;
const LAG_MAX_S: f64 = 3600.0;
/// A replica that is behind applies changes this much faster than real time while catching up.
const CATCH_UP_SPEED: f64 = 3.0;
/// A promoted instance reports "modifying" this long before "available".
pub const PROMOTION_S: f64 = 60.0;
/// Share of a region's monthly cost that is ECS tasks (the rest does not scale with them).
const ECS_COST_SHARE: f64 = 0.15;
pub const HOURS_PER_MONTH: f64 = 730.0;

/// The model's Route53 health check of one region.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HealthCheck {
    pub healthy: bool,
    streak: u32,
    until_next_s: f64,
}

impl HealthCheck {
    pub fn new(phase_s: f64) -> Self {
        HealthCheck {
            healthy: true,
            streak: 0,
            until_next_s: phase_s,
        }
    }

    pub fn step(&mut self, dt_s: f64, up: bool) {
        self.until_next_s -= dt_s;
        while self.until_next_s <= 0.0 {
            self.until_next_s += HEALTH_CHECK_INTERVAL_S;
            if up == self.healthy {
                self.streak = 0;
            } else {
                self.streak += 1;
                if self.streak >= HEALTH_CHECK_THRESHOLD {
                    self.healthy = up;
                    self.streak = 0;
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum DbRole {
    Primary,
    Replica,
    /// A former replica, now a standalone primary; seconds since promotion.
    Promoted(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DbModel {
    pub instance: String,
    pub role: DbRole,
    /// Seconds behind the primary (replicas only).
    pub lag_s: f64,
    /// Replication is not running, and why.
    pub broken: Option<&'static str>,
    /// The lag readings showed when replication stopped (with noise, as observed), and when.
    pub last_lag: Option<(f64, DateTime<Utc>)>,
}

/// What a region's step needs to know about the fleet's primary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PrimaryState {
    pub down: bool,
    /// Write load relative to the primary's daily peak.
    pub write_ratio: f64,
    /// The replica-lag scenario runs on the primary (a write burst behind every replica).
    pub lag_burst: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RegionModel {
    pub spec: RegionSpec,
    pub params: RegionParams,
    pub services: Vec<ServiceModel>,
    /// EKS node groups of a region whose ECS services limit it (modelled, not on the path).
    pub side_groups: Vec<ServiceModel>,
    pub autoscaler: Autoscaler,
    pub weight: i64,
    pub health: HealthCheck,
    /// Its Route53 health check is inverted (a drain of a latency, geolocation, failover or
    /// multivalue record).
    pub inverted: bool,
    /// Requests/s arriving at the region's ALB.
    pub arrival_rps: f64,
    /// Underlying cache hit ratio (readings add noise).
    pub cache_hit: f64,
    pub db: Option<DbModel>,
    /// Injected scenarios, oldest first.
    pub scenarios: Vec<Scenario>,
    /// 5xx share while an error storm runs.
    pub storm_level: f64,
    pub noise: RegionNoise,
    pub month_to_date_usd: f64,
    month: (i32, u32),
}

impl RegionModel {
    pub fn new(
        fleet: &Fleet,
        spec: &RegionSpec,
        index: usize,
        start: DateTime<Utc>,
        noise_rng: &mut ChaCha8Rng,
    ) -> Self {
        let params = RegionParams::from_spec(fleet, spec);
        let mut services: Vec<ServiceModel> = spec
            .ecs
            .iter()
            .map(|s| {
                ServiceModel::new(
                    &s.cluster,
                    &s.service,
                    params.tasks,
                    params.min_tasks,
                    params.max_tasks,
                    true,
                )
            })
            .collect();
        let groups = spec.eks.iter().map(|g| {
            ServiceModel::node_group(
                &g.cluster,
                &g.nodegroup,
                params.nodes,
                params.min_nodes,
                params.max_nodes,
            )
        });
        // In an EKS region the node groups are the compute on the request path; next to ECS
        // services they are modelled and reported but do not limit the region.
        let mut side_groups = Vec::new();
        if services.is_empty() {
            services.extend(groups);
        } else {
            side_groups.extend(groups);
        }
        if services.is_empty() {
            services.push(ServiceModel::new(
                "",
                "",
                params.tasks,
                params.min_tasks,
                params.max_tasks,
                false,
            ));
        }
        let db = spec.rds.as_ref().map(|instance| DbModel {
            instance: instance.clone(),
            role: if spec.role == Role::Primary {
                DbRole::Primary
            } else {
                DbRole::Replica
            },
            lag_s: 0.0,
            broken: None,
            last_lag: None,
        });
        let phase =
            HEALTH_CHECK_INTERVAL_S * (index as f64 + 1.0) / (fleet.regions.len() as f64 + 1.0);
        let hours_so_far = (start - month_start(start)).num_seconds() as f64 / 3600.0;
        let mut region = RegionModel {
            weight: params.weight,
            month_to_date_usd: hours_so_far * params.monthly_cost_usd / HOURS_PER_MONTH,
            params,
            spec: spec.clone(),
            services,
            side_groups,
            autoscaler: Autoscaler::new(true),
            health: HealthCheck::new(phase),
            inverted: false,
            arrival_rps: 0.0,
            cache_hit: WARM_HIT_RATIO,
            db,
            scenarios: Vec::new(),
            storm_level: 0.0,
            noise: RegionNoise::new(noise_rng),
            month: (start.year(), start.month()),
        };
        region.arrival_rps = region.own_demand_rps(start);
        region
    }

    /// The verdict Route53 routes on: the model's check, inverted when it is. A latency,
    /// geolocation, failover or multivalue record without a health check always answers.
    pub fn route_healthy(&self) -> bool {
        match &self.spec.route53 {
            Some(r) if !r.policy.is_weighted() && r.health_check_id.is_none() => true,
            _ => self.health.healthy != self.inverted,
        }
    }

    pub fn has(&self, scenario: Scenario) -> bool {
        self.scenarios.contains(&scenario)
    }

    /// Requests/s of the region's own users now (before routing).
    pub fn own_demand_rps(&self, now: DateTime<Utc>) -> f64 {
        let curve = daily_curve(local_hour(now, self.params.utc_offset_h));
        (self.params.peak_rps * curve * (1.0 + self.noise.traffic.value)).max(0.0)
    }

    /// The service with the fewest running tasks limits the region: every service is on the
    /// request path.
    pub fn bottleneck(&self) -> &ServiceModel {
        self.services
            .iter()
            .min_by_key(|s| s.running)
            .expect("a region has at least one service")
    }

    pub fn running_tasks(&self) -> i64 {
        self.bottleneck().running
    }

    pub fn capacity_rps(&self, rps_per_task: f64) -> f64 {
        self.running_tasks() as f64 * rps_per_task
    }

    /// The health URL does not answer: the region is out, or no task runs.
    pub fn down(&self) -> bool {
        self.has(Scenario::Outage) || self.running_tasks() == 0
    }

    /// Cost per hour at the current number of running tasks.
    pub fn hourly_cost_usd(&self) -> f64 {
        let base_tasks = (self.params.tasks * self.services.len() as i64).max(1) as f64;
        let running: i64 = self.services.iter().map(|s| s.running).sum();
        let scale = (1.0 - ECS_COST_SHARE) + ECS_COST_SHARE * running as f64 / base_tasks;
        self.params.monthly_cost_usd / HOURS_PER_MONTH * scale
    }

    /// Where replication would stand given the primary's state (replicas only).
    fn replication_broken(&self, primary: &PrimaryState) -> Option<&'static str> {
        if self.has(Scenario::Outage) {
            Some("replica instance unreachable (region outage)")
        } else if primary.down {
            Some("source instance unreachable (primary region outage)")
        } else {
            None
        }
    }

    pub fn step(
        &mut self,
        dt_s: f64,
        now: DateTime<Utc>,
        routed_rps: f64,
        rps_per_task: f64,
        primary: &PrimaryState,
        rng: &mut ChaCha8Rng,
    ) {
        let outage = self.has(Scenario::Outage);
        for s in self.services.iter_mut().chain(&mut self.side_groups) {
            s.step(dt_s, outage, rng);
        }
        self.arrival_rps +=
            (routed_rps - self.arrival_rps) * (1.0 - (-dt_s / DNS_FOLLOW_TAU_S).exp());
        self.autoscaler.step(
            dt_s,
            self.arrival_rps,
            rps_per_task,
            &mut self.services,
            rng,
        );
        let up = !self.down();
        self.health.step(dt_s, up);
        self.cache_hit +=
            (WARM_HIT_RATIO - self.cache_hit) * (1.0 - (-dt_s / CACHE_WARM_TAU_S).exp());
        if self.has(Scenario::CacheFlush) && self.cache_hit >= WARM_HIT_RATIO - 0.01 {
            self.scenarios.retain(|s| *s != Scenario::CacheFlush);
        }
        self.step_db(dt_s, primary, now);
        self.step_cost(dt_s, now);
    }

    /// Bring the replication state in line with the scenarios now (after an inject or a clear).
    pub fn sync_replication(&mut self, primary: &PrimaryState, now: DateTime<Utc>) {
        let broken = self.replication_broken(primary);
        self.set_broken(broken, now);
    }

    /// The lag a reading shows now (the model's lag with the reading noise).
    pub fn observed_lag_s(&self) -> Option<f64> {
        let db = self.db.as_ref()?;
        Some(db.lag_s * (1.0 + self.noise.lag.value).max(0.5))
    }

    /// A replica's replication stops (`Some(why)`) or runs again (`None`). When it stops, the lag
    /// it was last seen at is kept with the time, for the RPO of a promotion.
    fn set_broken(&mut self, broken: Option<&'static str>, now: DateTime<Utc>) {
        let observed = self.observed_lag_s();
        let Some(db) = self.db.as_mut().filter(|db| db.role == DbRole::Replica) else {
            return;
        };
        match (db.broken, broken) {
            (None, Some(_)) => db.last_lag = observed.map(|l| (l, now)),
            (_, None) => db.last_lag = None,
            _ => {}
        }
        db.broken = broken;
    }

    fn step_db(&mut self, dt_s: f64, primary: &PrimaryState, now: DateTime<Utc>) {
        let broken = self.replication_broken(primary);
        self.set_broken(broken, now);
        let lagging = self.has(Scenario::ReplicaLag) || primary.lag_burst;
        let link_ms = self.params.link_ms;
        let Some(db) = self.db.as_mut() else { return };
        match db.role {
            DbRole::Primary => {}
            DbRole::Promoted(since) => db.role = DbRole::Promoted(since + dt_s),
            DbRole::Replica => {
                let target = 0.2 + 2.0 * link_ms / 1000.0 + 0.5 * primary.write_ratio;
                if broken.is_some() {
                    db.lag_s = (db.lag_s + dt_s).min(LAG_MAX_S);
                } else if lagging {
                    db.lag_s = (db.lag_s + LAG_GROWTH_PER_S * dt_s).min(LAG_MAX_S);
                } else if db.lag_s > target + 1.0 {
                    db.lag_s = (db.lag_s - (CATCH_UP_SPEED - 1.0) * dt_s).max(target);
                } else {
                    db.lag_s += (target - db.lag_s) * (1.0 - (-dt_s / 10.0).exp());
                }
            }
        }
    }

    /// Settle the replica's lag at its steady value (at start, before any step).
    pub fn settle_lag(&mut self, primary: &PrimaryState) {
        let target = 0.2 + 2.0 * self.params.link_ms / 1000.0 + 0.5 * primary.write_ratio;
        if let Some(db) = self.db.as_mut() {
            if db.role == DbRole::Replica {
                db.lag_s = target;
            }
        }
    }

    fn step_cost(&mut self, dt_s: f64, now: DateTime<Utc>) {
        if (now.year(), now.month()) != self.month {
            self.month = (now.year(), now.month());
            self.month_to_date_usd = 0.0;
        }
        self.month_to_date_usd += self.hourly_cost_usd() * dt_s / 3600.0;
    }

    pub fn promotion_status(&self) -> Option<&'static str> {
        match self.db.as_ref()?.role {
            DbRole::Promoted(since) if since < PROMOTION_S => Some("modifying"),
            _ => None,
        }
    }

    /// An error storm's share of 5xx, drawn when it starts: 15–27 %.
    pub fn start_storm(&mut self, rng: &mut ChaCha8Rng) {
        self.storm_level = 0.15 + 0.12 * rng.gen::<f64>();
    }
}

/// Midnight UTC of the first day of `t`'s month.
pub fn month_start(t: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(t.year(), t.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(t)
}

/// Midnight UTC of the first day of the month after `t`'s.
pub fn next_month_start(t: DateTime<Utc>) -> DateTime<Utc> {
    let (y, m) = if t.month() == 12 {
        (t.year() + 1, 1)
    } else {
        (t.year(), t.month() + 1)
    };
    Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).single().unwrap_or(t)
}
