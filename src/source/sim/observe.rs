//! What a source would read from the model: one `Reading` of each kind for a region.

use super::region::{next_month_start, DbRole, RegionModel, WARM_HIT_RATIO};
use crate::fleet::load::{overload_error_rate, LatencyModel};
use crate::fleet::{
    CostReport, EcsCounts, Fleet, MetricValues, ProbeResult, Reading, Replication, Route53State,
};
use crate::source::Scenario;
use chrono::{DateTime, Utc};

/// Baseline 5xx share of a healthy region (before noise).
const BASELINE_ERROR_RATE: f64 = 0.0025;
/// Below this many requests/s CloudWatch has no datapoints for latency or 5xx.
const NO_TRAFFIC_RPS: f64 = 0.01;

impl RegionModel {
    /// Utilisation: arriving requests/s over what the running tasks serve at the latency target.
    pub fn utilisation(&self, fleet: &Fleet) -> f64 {
        let _ = fleet;
        let capacity = self.capacity_rps(self.params.unit_rps);
        if capacity <= 0.0 {
            f64::INFINITY
        } else {
            self.arrival_rps / capacity
        }
    }

    /// 5xx / requests: baseline, overload, error storm and dead targets combined.
    pub fn error_rate(&self, fleet: &Fleet) -> f64 {
        if self.running_tasks() == 0 {
            return 1.0;
        }
        let baseline = BASELINE_ERROR_RATE * self.noise.errors.value.exp();
        let overload = overload_error_rate(self.utilisation(fleet));
        let storm = if self.has(Scenario::ErrorStorm) {
            (self.storm_level * (1.0 + 0.3 * self.noise.errors.value)).clamp(0.0, 1.0)
        } else {
            0.0
        };
        1.0 - (1.0 - baseline) * (1.0 - overload) * (1.0 - storm)
    }

    /// How much slower the queueing term is: a cold cache sends requests to the database, an
    /// error storm adds retries.
    pub fn slowdown(&self) -> f64 {
        let cold = (WARM_HIT_RATIO - self.cache_hit).max(0.0);
        let storm = if self.has(Scenario::ErrorStorm) {
            1.2
        } else {
            1.0
        };
        (1.0 + 0.8 * cold) * storm
    }

    pub fn metrics(&self, fleet: &Fleet, latency: &LatencyModel) -> MetricValues {
        let has_alb = self.spec.alb.is_some();
        let traffic = self.arrival_rps >= NO_TRAFFIC_RPS;
        let serving = traffic && self.running_tasks() > 0;
        let rho = self.utilisation(fleet);
        let wobble = (1.0 + self.noise.latency.value).max(0.5);
        let latency_ms = fleet
            .metrics
            .latency_stats
            .iter()
            .map(|stat| {
                let v = (has_alb && serving)
                    .then(|| latency.latency_ms(stat, rho, self.slowdown()) * wobble);
                (stat.clone(), v)
            })
            .collect();
        let replica_lag_s = self.db.as_ref().and_then(|db| match (db.role, db.broken) {
            (DbRole::Replica, None) => self.observed_lag_s(),
            _ => None,
        });
        MetricValues {
            latency_ms,
            requests_per_s: has_alb.then_some(if traffic { self.arrival_rps } else { 0.0 }),
            error_rate: (has_alb && traffic).then(|| self.error_rate(fleet)),
            replica_lag_s,
            cache_hit_ratio: self
                .spec
                .cache
                .as_ref()
                .map(|_| (self.cache_hit + self.noise.cache.value).clamp(0.0, 1.0)),
            cdn: None,
            running_pods: self.running_pods(),
        }
    }

    /// Every node group of the region, as `DescribeNodegroup` would answer.
    pub fn node_groups(&self) -> Vec<crate::fleet::eks::NodegroupState> {
        let outage = self.has(Scenario::Outage);
        self.services
            .iter()
            .chain(&self.side_groups)
            .filter(|s| s.node_group)
            .map(|s| {
                let updating = s.pending() > 0 || s.running > s.desired;
                let (status, issues) =
                    if outage || (s.desired > 0 && s.running == 0 && !updating) {
                        (
                        "DEGRADED",
                        vec!["NodeCreationFailure: instances failed to join the kubernetes cluster"
                            .to_string()],
                    )
                    } else if updating {
                        ("UPDATING", Vec::new())
                    } else {
                        ("ACTIVE", Vec::new())
                    };
                crate::fleet::eks::NodegroupState {
                    cluster: s.cluster.clone(),
                    nodegroup: s.service.clone(),
                    desired: s.desired,
                    min: s.min_tasks,
                    max: s.max_tasks,
                    status: status.into(),
                    issues,
                }
            })
            .collect()
    }

    /// Container Insights' running pods of each node group's service: pods per node on every
    /// running node; no data during an outage (the agents report nothing).
    fn running_pods(&self) -> std::collections::BTreeMap<String, Option<f64>> {
        let outage = self.has(Scenario::Outage);
        self.spec
            .eks
            .iter()
            .map(|g| {
                let nodes = self
                    .services
                    .iter()
                    .chain(&self.side_groups)
                    .find(|s| s.node_group && s.cluster == g.cluster && s.service == g.nodegroup)
                    .map(|s| s.running)
                    .unwrap_or(0);
                let pods = (!outage).then(|| (nodes * self.params.pods_per_node) as f64);
                (g.pods_key(), pods)
            })
            .collect()
    }

    pub fn ecs(&self) -> Vec<EcsCounts> {
        self.services
            .iter()
            .filter(|s| s.reported && !s.node_group)
            .map(|s| EcsCounts {
                cluster: s.cluster.clone(),
                service: s.service.clone(),
                desired: s.desired,
                running: s.running,
                pending: s.pending(),
            })
            .collect()
    }

    /// The database's place in the topology; `source` is the fleet primary's instance.
    pub fn topology(&self, source: Option<&str>) -> Option<Replication> {
        let db = self.db.as_ref()?;
        let instance = db.instance.clone();
        let outage = self.has(Scenario::Outage);
        Some(match db.role {
            // A promotion in progress: RDS still lists the instance as a replica ("modifying")
            // until it comes back on its own; it takes no writes yet, so nobody may read it as
            // the new writer before it does.
            DbRole::Promoted(_) if !outage && self.promotion_status().is_some() => {
                Replication::Replica {
                    instance,
                    source: source.unwrap_or("unknown").to_string(),
                    status: "modifying".into(),
                }
            }
            DbRole::Primary | DbRole::Promoted(_) => {
                let status = if outage {
                    "failed"
                } else {
                    self.promotion_status().unwrap_or("available")
                };
                Replication::Primary {
                    instance,
                    status: status.into(),
                }
            }
            DbRole::Replica => match db.broken {
                Some(reason) => Replication::Broken {
                    instance,
                    source: source.map(str::to_string),
                    reason: reason.into(),
                    last_lag_s: db.last_lag.map(|l| l.0),
                    last_seen: db.last_lag.map(|l| l.1),
                },
                None => Replication::Replica {
                    instance,
                    source: source.unwrap_or("unknown").to_string(),
                    status: "replicating".into(),
                },
            },
        })
    }

    pub fn route53(&self) -> Route53State {
        match &self.spec.route53 {
            Some(r) => {
                let checked = r.policy.is_weighted() || r.health_check_id.is_some();
                Route53State {
                    weight: r.policy.is_weighted().then_some(self.weight),
                    healthy: checked.then(|| self.route_healthy()),
                    policy: Some(r.policy),
                    location: r.location.clone(),
                    failover: r.failover,
                    health_check_id: r.health_check_id.clone(),
                    health_check_inverted: r.health_check_id.as_ref().map(|_| self.inverted),
                }
            }
            None => Route53State::default(),
        }
    }

    pub fn cost(&self, now: DateTime<Utc>) -> CostReport {
        let hours_left = (next_month_start(now) - now).num_seconds().max(0) as f64 / 3600.0;
        CostReport {
            month_to_date_usd: Some(self.month_to_date_usd),
            forecast_usd: Some(self.month_to_date_usd + hours_left * self.hourly_cost_usd()),
            forecast_is_projection: false,
        }
    }

    /// The `/health/regional` answer. `replicas` is filled on the fleet's primary.
    pub fn probe(
        &self,
        fleet: &Fleet,
        replicas: Vec<(String, String, Option<f64>)>,
    ) -> ProbeResult {
        let rtt_ms = (self.params.link_ms + 8.0) * (1.0 + self.noise.rtt.value).max(0.5);
        if self.has(Scenario::Outage) {
            return ProbeResult {
                http_status: None,
                status: None,
                rtt_ms: fleet.refresh.timeout_s as f64 * 1000.0,
                replicas: Vec::new(),
                failure: None,
            };
        }
        if self.running_tasks() == 0 {
            return ProbeResult {
                http_status: Some(503),
                status: None,
                rtt_ms,
                replicas: Vec::new(),
                failure: None,
            };
        }
        let status = if self.has(Scenario::ErrorStorm) {
            "degraded"
        } else {
            "ok"
        };
        ProbeResult {
            http_status: Some(200),
            status: Some(status.into()),
            rtt_ms,
            replicas,
            failure: None,
        }
    }

    /// How this region's replica looks from the primary's health endpoint.
    pub fn replica_entry(&self, fleet: &Fleet) -> Option<(String, String, Option<f64>)> {
        let db = self.db.as_ref()?;
        if db.role != DbRole::Replica {
            return None;
        }
        let status = if db.broken.is_some() {
            "unreachable"
        } else if db.lag_s > fleet.thresholds_for(&self.spec.name).replica_lag_s {
            "lagging"
        } else {
            "healthy"
        };
        let latency = db.broken.is_none().then_some(self.params.link_ms);
        Some((self.spec.name.clone(), status.into(), latency))
    }

    /// Every reading of this region, in `DataKind` order. Topology only with an `rds` instance,
    /// Probe only with a `health_url`.
    pub fn readings(
        &self,
        fleet: &Fleet,
        latency: &LatencyModel,
        now: DateTime<Utc>,
        source: Option<&str>,
        replicas: Vec<(String, String, Option<f64>)>,
    ) -> Vec<Reading> {
        let mut out = vec![
            Reading::Metrics(self.metrics(fleet, latency)),
            Reading::Ecs(self.ecs()),
        ];
        if !self.spec.eks.is_empty() {
            out.push(Reading::Eks(self.node_groups()));
        }
        if let Some(t) = self.topology(source) {
            out.push(Reading::Topology(t));
        }
        out.push(Reading::Route53(self.route53()));
        out.push(Reading::Cost(self.cost(now)));
        if self.spec.health_url.is_some() {
            out.push(Reading::Probe(self.probe(fleet, replicas)));
        }
        out
    }
}
