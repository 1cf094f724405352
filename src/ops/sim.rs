//! Operations on the simulated fleet: the same plans and API calls, applied to the model's levers.

use super::outcome::not_settled;
use super::pipeline::Authorized;
use super::plan::{ApiCall, Plan};
use super::target::{check_settled, Executed, Target, Verification, VerifyLimits};
use super::view::{DatabaseState, FleetView, ProbeState, RecordState, RegionState, ServiceState};
use super::whatif::{self, LoadModel, WhatIf};
use super::Bounds;
use crate::fleet::clock::Clock;
use crate::fleet::{Fleet, Reading, SourceKind};
use crate::source::sim::SimFleet;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::FutureExt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub struct SimTarget {
    model: Arc<Mutex<SimFleet>>,
    /// True on the command line: nobody else moves the model's clock, so verification advances it.
    /// False in the console, where the source's task ticks it.
    drive_clock: bool,
}

/// "$USER (simulated fleet)".
pub fn local_operator() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown user".into());
    format!("{user} (simulated fleet)")
}

impl SimTarget {
    pub fn new(model: Arc<Mutex<SimFleet>>, drive_clock: bool) -> Self {
        SimTarget { model, drive_clock }
    }

    pub fn model(&self) -> &Arc<Mutex<SimFleet>> {
        &self.model
    }

    fn lock(&self) -> MutexGuard<'_, SimFleet> {
        self.model.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The model's state as an operation sees it.
    pub fn view_of(sim: &SimFleet) -> FleetView {
        let fleet: &Fleet = sim.fleet();
        let mut regions: Vec<RegionState> = fleet
            .regions
            .iter()
            .map(|spec| RegionState {
                name: spec.name.clone(),
                role: spec.role,
                services: Vec::new(),
                nodegroups: Vec::new(),
                database: None,
                record: spec.route53.as_ref().map(|r| RecordState {
                    zone_id: r.zone_id.clone(),
                    name: r.record.clone(),
                    record_type: r.record_type.clone(),
                    set_identifier: r.set_identifier.clone(),
                    weight: None,
                    healthy: None,
                    ttl: None,
                    values: Vec::new(),
                    alias: None,
                    health_check_id: r.health_check_id.clone(),
                    policy: r.policy,
                    location: r.location.clone(),
                    failover: r.failover,
                    health_check_inverted: None,
                }),
                served_rps: None,
                probe: None,
            })
            .collect();
        let mut lags = std::collections::HashMap::new();
        for (name, reading) in sim.readings() {
            let Some(r) = regions.iter_mut().find(|r| r.name == name) else {
                continue;
            };
            match reading {
                Reading::Metrics(m) => {
                    r.served_rps = m.requests_per_s;
                    lags.insert(name, m.replica_lag_s);
                }
                Reading::Ecs(services) => {
                    r.services = services
                        .into_iter()
                        .map(|s| ServiceState {
                            cluster: s.cluster,
                            service: s.service,
                            desired: s.desired,
                            running: s.running,
                            pending: s.pending,
                            bounds: None,
                        })
                        .collect();
                }
                Reading::Eks(groups) => r.nodegroups = groups,
                Reading::Topology(rep) => {
                    let instance = fleet
                        .region(&name)
                        .and_then(|s| s.rds.clone())
                        .unwrap_or_default();
                    r.database = Some(DatabaseState {
                        instance,
                        replication: rep,
                        lag_s: None,
                    });
                }
                Reading::Route53(state) => {
                    if let Some(rec) = &mut r.record {
                        rec.weight = state.weight;
                        rec.healthy = state.healthy;
                        rec.health_check_inverted = state.health_check_inverted;
                    }
                }
                Reading::Probe(p) => r.probe = Some(ProbeState::of(&p)),
                Reading::Cost(_) => {}
            }
        }
        for r in &mut regions {
            if let (Some(db), Some(lag)) = (&mut r.database, lags.get(&r.name)) {
                db.lag_s = *lag;
            }
            // The model reports the bounds of a region's limiting service: exact for one service.
            if let (Some(load), [only]) = (sim.region_load(&r.name), r.services.as_mut_slice()) {
                only.bounds = Some(Bounds {
                    min: load.min_tasks,
                    max: load.max_tasks,
                });
                if r.served_rps.is_none() {
                    r.served_rps = Some(load.served_rps);
                }
            }
        }
        FleetView {
            fleet: fleet.name.clone(),
            source: SourceKind::Sim,
            read_at: sim.now(),
            regions,
        }
    }

    /// Apply the plan's calls to the model, in order.
    fn apply(sim: &mut SimFleet, plan: &Plan) -> Result<Executed, String> {
        let mut done = Executed::default();
        for call in &plan.calls {
            let result = match call {
                ApiCall::UpdateService {
                    region,
                    cluster,
                    service,
                    desired_count,
                } => sim.set_desired(region, &format!("{cluster}/{service}"), *desired_count),
                ApiCall::RegisterScalableTarget {
                    region,
                    cluster,
                    service,
                    min_capacity,
                    max_capacity,
                } => sim.set_scaling_bounds(
                    region,
                    &format!("{cluster}/{service}"),
                    *min_capacity,
                    *max_capacity,
                ),
                ApiCall::ChangeResourceRecordSets { record_set, .. } => {
                    let id = &record_set.set_identifier;
                    sim.fleet()
                        .regions
                        .iter()
                        .find(|r| r.route53.as_ref().is_some_and(|x| x.set_identifier == *id))
                        .map(|r| r.name.clone())
                        .ok_or_else(|| format!("no region has the record set `{id}`"))
                        .and_then(|r| sim.set_weight(&r, record_set.weight))
                }
                ApiCall::UpdateNodegroupConfig {
                    region,
                    cluster,
                    nodegroup,
                    desired_size,
                    min_size,
                    max_size,
                } => sim.set_nodegroup(
                    region,
                    cluster,
                    nodegroup,
                    *desired_size,
                    *min_size,
                    *max_size,
                ),
                ApiCall::PromoteReadReplica { region, .. } => sim.promote(region),
                ApiCall::UpdateHealthCheck {
                    health_check_id,
                    inverted,
                } => sim
                    .fleet()
                    .regions
                    .iter()
                    .find(|r| {
                        r.route53
                            .as_ref()
                            .is_some_and(|x| x.health_check_id.as_ref() == Some(health_check_id))
                    })
                    .map(|r| r.name.clone())
                    .ok_or_else(|| {
                        format!("no region's record has the health check `{health_check_id}`")
                    })
                    .and_then(|r| sim.set_inverted(&r, *inverted)),
            };
            match result {
                Ok(()) => done.ok(call),
                Err(e) => return Err(done.failed_at(call, e)),
            }
        }
        Ok(done)
    }
}

impl Target for SimTarget {
    fn kind(&self) -> SourceKind {
        SourceKind::Sim
    }

    fn clock(&self) -> Arc<dyn Clock> {
        Arc::new(SimClock {
            model: self.model.clone(),
            drive: self.drive_clock,
        })
    }

    fn identity(&self) -> BoxFuture<'_, String> {
        async { local_operator() }.boxed()
    }

    fn read(&self) -> BoxFuture<'_, Result<FleetView, String>> {
        let view = SimTarget::view_of(&self.lock());
        async move { Ok(view) }.boxed()
    }

    fn execute<'a>(&'a self, token: &'a Authorized) -> BoxFuture<'a, Result<Executed, String>> {
        let result = SimTarget::apply(&mut self.lock(), token.plan());
        async move { result }.boxed()
    }

    fn verify<'a>(
        &'a self,
        plan: &'a Plan,
        _: &'a Executed,
        limits: VerifyLimits,
    ) -> BoxFuture<'a, Verification> {
        async move {
            let clock = self.clock();
            let poll = limits.poll.max(Duration::from_millis(10));
            let start = clock.now();
            loop {
                let view = SimTarget::view_of(&self.lock());
                let waited = (view.read_at - start).to_std().unwrap_or_default();
                match check_settled(plan, &view) {
                    Ok(()) => return Verification::Settled(view.read_at),
                    Err(why) if waited >= limits.limit => {
                        return Verification::NotYetVerified(not_settled(waited.as_secs(), &why))
                    }
                    Err(_) => {}
                }
                clock.sleep(poll).await;
            }
        }
        .boxed()
    }

    fn what_if<'a>(
        &'a self,
        fleet: &'a Fleet,
        failed: &'a str,
    ) -> BoxFuture<'a, Result<WhatIf, String>> {
        let sim = self.lock();
        let result = whatif::analyse(&SimTarget::view_of(&sim), fleet, failed, &SimModel(&sim));
        drop(sim);
        async move { result }.boxed()
    }
}

/// The simulated fleet's virtual clock. Driving (the command line, tests): nobody else moves the
/// model, so letting time pass advances it. Not driving (the console): the source's task ticks the
/// model, and letting time pass waits until the model's time has moved on.
pub struct SimClock {
    model: Arc<Mutex<SimFleet>>,
    drive: bool,
}

impl SimClock {
    fn lock(&self) -> MutexGuard<'_, SimFleet> {
        self.model.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        self.lock().now()
    }

    fn sleep(&self, d: Duration) -> BoxFuture<'_, ()> {
        async move {
            if self.drive {
                self.lock().advance(d.as_secs_f64());
                return;
            }
            let until = self.now() + chrono::Duration::from_std(d).unwrap_or_default();
            while self.now() < until {
                // The source's task moves the model every tick; look again shortly.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        .boxed()
    }
}

/// The model's own routing and latency formula.
pub struct SimModel<'a>(pub &'a SimFleet);

impl LoadModel for SimModel<'_> {
    fn route_without(&self, _view: &FleetView, failed: &str) -> Vec<(String, f64)> {
        self.0.route_without(failed).unwrap_or_default()
    }

    fn latency_ms(&self, region: &str, stat: &str, rps: f64, tasks: f64) -> Option<f64> {
        self.0.predicted_latency_ms(region, stat, rps, tasks)
    }

    /// The model's promoted instance reports "modifying" this long.
    fn promotion_s(&self) -> f64 {
        crate::source::sim::PROMOTION_S
    }
}
