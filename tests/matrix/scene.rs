//! One failure mode set up on one fleet: the simulated fleet on its virtual clock, the console
//! state fed every 30 s, and what opsdeck concludes at the end.

use chrono::{DateTime, Duration, TimeZone, Utc};
use opsdeck::app::{update, Action, State};
use opsdeck::fleet::Role;
use opsdeck::fleet::{DataKind, Fleet, ProbeResult, Reading, Replication, SourceError, SourceKind};
use opsdeck::ops::guards::{self, GuardInput, GuardResult, Permission};
use opsdeck::ops::sim::{SimModel, SimTarget};
use opsdeck::ops::whatif::{self, WhatIf};
use opsdeck::ops::{plan, FleetView, Op};
use opsdeck::source::sim::SimFleet;
use opsdeck::source::{Scenario, SourceEvent};
use std::path::{Path, PathBuf};

/// Every fleet file shipped in `fleets/`, and the built-in fleet's (Atlas CRM routed by weight).
pub fn fleet_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("fleets");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    out.sort();
    assert!(out.len() >= 4, "{out:?}");
    out.push(root.join("src/fleet/builtin.toml"));
    out
}

pub fn load(path: &Path) -> Fleet {
    Fleet::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// 20:00 UTC: mid-afternoon in us-east-1, evening in Europe, night in Asia.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 20, 0, 0).unwrap()
}

/// Minutes of steady state before the incident.
pub const WARM_UP_S: i64 = 10 * 60;

/// A region by the part it plays in the fleet, whatever its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    /// The region of the writer.
    Primary,
    /// The replica region a promotion takes first (the failover order, else the most capacity).
    First,
    /// The other replica region.
    Other,
}

impl Part {
    pub const ALL: [Part; 3] = [Part::Primary, Part::First, Part::Other];
}

/// The regions of a three-region fleet by part.
#[derive(Debug, Clone)]
pub struct Parts {
    pub primary: String,
    pub first: String,
    pub other: String,
}

impl Parts {
    pub fn of(fleet: &Fleet) -> Parts {
        assert_eq!(
            fleet.regions.len(),
            3,
            "{}: the matrix is for three regions",
            fleet.name
        );
        let primary = fleet
            .regions
            .iter()
            .find(|r| r.role == Role::Primary)
            .expect("a primary")
            .name
            .clone();
        let sim = SimFleet::new(fleet, 7, start());
        let view = SimTarget::view_of(&sim);
        let order = opsdeck::ops::failover::order(&view, fleet, Some(&primary));
        assert_eq!(order.len(), 2, "{order:?}");
        Parts {
            primary,
            first: order[0].to_string(),
            other: order[1].to_string(),
        }
    }

    pub fn name(&self, part: Part) -> &str {
        match part {
            Part::Primary => &self.primary,
            Part::First => &self.first,
            Part::Other => &self.other,
        }
    }

    pub fn part(&self, name: &str) -> Part {
        Part::ALL
            .into_iter()
            .find(|p| self.name(*p) == name)
            .unwrap_or_else(|| panic!("{name} is not a region of the fleet"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Healthy,
    ReplicaOutage,
    PrimaryOutage,
    ReplicationBroken,
    LagOverRpo,
    ErrorStorm,
    Overload,
    CacheFlush,
    ConnectionLost,
    OneRegionStale,
    Drained,
    DrainedAndDead,
    TwoRegionsDown,
}

impl Mode {
    pub const ALL: [Mode; 13] = [
        Mode::Healthy,
        Mode::ReplicaOutage,
        Mode::PrimaryOutage,
        Mode::ReplicationBroken,
        Mode::LagOverRpo,
        Mode::ErrorStorm,
        Mode::Overload,
        Mode::CacheFlush,
        Mode::ConnectionLost,
        Mode::OneRegionStale,
        Mode::Drained,
        Mode::DrainedAndDead,
        Mode::TwoRegionsDown,
    ];

    /// The region the what-if fails.
    pub fn failed(self) -> Part {
        match self {
            Mode::ReplicationBroken | Mode::LagOverRpo => Part::Primary,
            m => m.subject(),
        }
    }

    /// The region the mode is about: the one the what-if fails and the operations act on.
    pub fn subject(self) -> Part {
        match self {
            Mode::Healthy | Mode::PrimaryOutage | Mode::ConnectionLost | Mode::TwoRegionsDown => {
                Part::Primary
            }
            Mode::OneRegionStale => Part::Other,
            _ => Part::First,
        }
    }
}

/// The simulated fleet and the console state it feeds.
pub struct Scene {
    pub fleet: Fleet,
    pub parts: Parts,
    pub sim: SimFleet,
    pub state: State,
    /// When the incident began (the end of the warm-up).
    pub onset: DateTime<Utc>,
    /// The fleet as the operation pipeline reads it; `None`: the read fails.
    pub view: Option<FleetView>,
}

impl Scene {
    fn new(fleet: &Fleet) -> Scene {
        let sim = SimFleet::new(fleet, 7, start());
        let mut scene = Scene {
            fleet: fleet.clone(),
            parts: Parts::of(fleet),
            state: State::new(fleet.clone(), SourceKind::Sim, start()),
            sim,
            onset: start(),
            view: None,
        };
        scene.feed();
        scene.run(WARM_UP_S);
        scene.onset = scene.sim.now();
        scene
    }

    /// Take the region out of Route53's answers as `act drain` would for its record's policy:
    /// weight 0 for a weighted record, its health check inverted for any other.
    pub fn drain(&mut self, part: Part) {
        let name = self.parts.name(part).to_string();
        let spec = self.fleet.region(&name).expect("region");
        let weighted = spec
            .route53
            .as_ref()
            .is_none_or(|r| r.policy == opsdeck::fleet::routing::Policy::Weighted);
        if weighted {
            self.sim.set_weight(&name, 0).unwrap();
        } else {
            self.sim.set_inverted(&name, true).unwrap();
        }
    }

    pub fn region(&self, part: Part) -> &opsdeck::app::RegionView {
        let i = self.state.region_index(self.parts.name(part)).unwrap();
        &self.state.regions[i]
    }

    /// The region's pane title as the overview draws it.
    pub fn title(&self, part: Part) -> String {
        let r = self.region(part);
        opsdeck::ui::overview::title(&self.state, r, 60, &opsdeck::config::Theme::fallback())
            .spans
            .iter()
            .map(|x| x.content.to_string())
            .collect()
    }

    /// The status line, wide enough to hold everything.
    pub fn status_line(&self) -> String {
        opsdeck::ui::status_line::line(&self.state, &opsdeck::config::Theme::fallback(), 240)
            .spans
            .iter()
            .map(|x| x.content.to_string())
            .collect()
    }

    fn name(&self, part: Part) -> String {
        self.parts.name(part).to_string()
    }

    fn feed_with(&mut self, edit: &dyn Fn(&str, Reading) -> Option<Reading>) {
        let at = self.sim.now();
        for (region, reading) in self.sim.readings() {
            if let Some(reading) = edit(&region, reading) {
                update(
                    &mut self.state,
                    Action::Source(SourceEvent::Reading {
                        region,
                        at,
                        reading,
                    }),
                );
            }
        }
    }

    fn feed(&mut self) {
        self.feed_with(&|_, r| Some(r));
    }

    pub fn run(&mut self, secs: i64) {
        for _ in 0..secs / 30 {
            self.sim.advance(30.0);
            self.feed();
        }
    }

    fn inject(&mut self, part: Part, scenario: Scenario) {
        let name = self.name(part);
        self.sim.inject(&name, scenario).unwrap();
    }

    fn fail(&mut self, part: Part, kind: DataKind, at: DateTime<Utc>, error: SourceError) {
        let region = self.name(part);
        update(
            &mut self.state,
            Action::Source(SourceEvent::Failed {
                region,
                kind,
                at,
                error,
            }),
        );
    }
}

/// Set up `mode` on `fleet` and read what opsdeck concludes.
pub fn scene(fleet: &Fleet, mode: Mode) -> Scene {
    let mut s = Scene::new(fleet);
    let first = Part::First;
    match mode {
        Mode::Healthy => s.run(180),
        Mode::ReplicaOutage => {
            s.inject(first, Scenario::Outage);
            s.run(180);
        }
        Mode::PrimaryOutage => {
            s.inject(Part::Primary, Scenario::Outage);
            s.run(180);
        }
        Mode::ReplicationBroken => {
            // What RDS reports when a replica's replication stops with an error while its
            // source takes writes (ReplicaLag -1): the region itself serves on.
            s.run(150);
            s.sim.advance(30.0);
            let name = s.name(first);
            let at = s.sim.now();
            let broken = |region: &str, r: Reading| match r {
                Reading::Topology(Replication::Replica {
                    instance, source, ..
                }) if region == name => Some(Reading::Topology(Replication::Broken {
                    instance,
                    source: Some(source),
                    reason: "replication error".into(),
                    last_lag_s: None,
                    last_seen: None,
                })),
                Reading::Metrics(mut m) if region == name => {
                    m.replica_lag_s = None;
                    Some(Reading::Metrics(m))
                }
                other => Some(other),
            };
            s.feed_with(&broken);
            let mut view = SimTarget::view_of(&s.sim);
            for r in view.regions.iter_mut().filter(|r| r.name == name) {
                let db = r.database.as_mut().unwrap();
                if let Some(Reading::Topology(rep)) =
                    broken(&name, Reading::Topology(db.replication.clone()))
                {
                    db.replication = rep;
                }
                db.lag_s = None;
            }
            let _ = at;
            s.view = Some(view);
            return s;
        }
        Mode::LagOverRpo => {
            s.inject(first, Scenario::ReplicaLag);
            // Half a second behind per second: past every fleet's RPO budget (≤ 300 s).
            s.run(12 * 60);
        }
        Mode::ErrorStorm => {
            s.inject(first, Scenario::ErrorStorm);
            s.run(180);
        }
        Mode::Overload => {
            // One task left and autoscaling off: the region's own users are more than it serves.
            let name = s.name(first);
            s.sim.set_autoscaling(false);
            let spec = fleet.region(&name).unwrap();
            match (spec.ecs.first(), spec.eks.first()) {
                (Some(svc), _) => {
                    let id = format!("{}/{}", svc.cluster, svc.service);
                    s.sim.set_scaling_bounds(&name, &id, 1, 24).unwrap();
                    s.sim.set_desired(&name, &id, 1).unwrap();
                }
                // An EKS region: one node left (its node group may shrink to 1).
                (None, Some(g)) => {
                    s.sim
                        .set_nodegroup(&name, &g.cluster, &g.nodegroup, 1, 1, 24)
                        .unwrap();
                }
                (None, None) => panic!("{name} has no compute"),
            }
            s.run(180);
        }
        Mode::CacheFlush => {
            s.inject(first, Scenario::CacheFlush);
            s.run(60);
        }
        Mode::ConnectionLost => {
            // Every call to AWS fails with a network error, every probe goes unanswered.
            let t0 = s.sim.now();
            for k in 1..=6 {
                let at = t0 + Duration::seconds(30 * k);
                for part in Part::ALL {
                    for kind in [
                        DataKind::Metrics,
                        DataKind::Ecs,
                        DataKind::Eks,
                        DataKind::Topology,
                        DataKind::Route53,
                        DataKind::Cost,
                    ] {
                        s.fail(
                            part,
                            kind,
                            at,
                            SourceError::Unreachable("connection refused".into()),
                        );
                    }
                    let region = s.name(part);
                    update(
                        &mut s.state,
                        Action::Source(SourceEvent::Reading {
                            region,
                            at,
                            reading: Reading::Probe(ProbeResult {
                                http_status: None,
                                status: None,
                                rtt_ms: 0.0,
                                replicas: Vec::new(),
                                failure: Some("connection refused".into()),
                            }),
                        }),
                    );
                }
            }
            s.sim.advance(180.0);
            update(
                &mut s.state,
                Action::Source(SourceEvent::Clock(s.sim.now())),
            );
            s.view = None;
            return s;
        }
        Mode::OneRegionStale => {
            // Every call for one region is throttled for 48 s; the others answer.
            let part = Part::Other;
            let name = s.name(part);
            for k in 1..=2 {
                s.sim.advance(24.0);
                let at = s.sim.now();
                s.feed_with(&|region, r| (region != name).then_some(r));
                for kind in DataKind::ALL {
                    s.fail(
                        part,
                        kind,
                        at,
                        SourceError::Throttled("Rate exceeded".into()),
                    );
                }
                let _ = k;
            }
        }
        Mode::Drained => {
            s.drain(first);
            s.run(180);
        }
        Mode::DrainedAndDead => {
            s.inject(first, Scenario::Outage);
            s.run(180);
            s.drain(first);
            s.run(180);
        }
        Mode::TwoRegionsDown => {
            s.inject(Part::Primary, Scenario::Outage);
            s.inject(first, Scenario::Outage);
            s.run(180);
        }
    }
    if mode != Mode::OneRegionStale {
        update(
            &mut s.state,
            Action::Source(SourceEvent::Clock(s.sim.now())),
        );
    }
    s.view = Some(SimTarget::view_of(&s.sim));
    s
}

/// Every region's record is weighted (or it has none).
pub fn weighted(fleet: &Fleet) -> bool {
    fleet
        .regions
        .iter()
        .filter_map(|r| r.route53.as_ref())
        .all(|r| r.policy.is_weighted())
}

/// The four operations the matrix asks the guards about: drain, restore (to the fleet file's
/// weight) and scale down by one task (lowering the autoscaling min with it when needed) of the
/// mode's subject, and promote the first replica in the failover order.
pub fn operations(s: &Scene, subject: Part) -> Vec<(&'static str, Op)> {
    let name = s.name(subject);
    let spec = s.fleet.region(&name).unwrap();
    let weighted = spec.route53.as_ref().is_none_or(|r| r.policy.is_weighted());
    let restore_weight = weighted.then(|| spec.sim.weight.unwrap_or(100));
    // A scale-down by one: of the region's ECS service, or of its EKS node group.
    let scale = match spec.ecs.first() {
        Some(svc) => scale_service(s, &name, svc),
        None => scale_nodegroup(s, &name, &spec.eks[0]),
    };
    vec![
        (
            "drain",
            Op::Drain {
                region: name.clone(),
            },
        ),
        (
            "restore",
            Op::Restore {
                region: name.clone(),
                weight: restore_weight,
            },
        ),
        ("scale", scale),
        (
            "promote",
            Op::Promote {
                region: s.parts.first.clone(),
            },
        ),
    ]
}

fn scale_nodegroup(s: &Scene, name: &str, g: &opsdeck::fleet::eks::EksRef) -> Op {
    let current = s
        .view
        .as_ref()
        .and_then(|v| v.region(name))
        .and_then(|r| r.nodegroups.first().cloned());
    let (desired, min) = match current {
        Some(c) => {
            let desired = (c.desired - 1).max(0);
            (desired, (desired < c.min).then_some(desired))
        }
        None => (1, None),
    };
    Op::ScaleNodegroup {
        region: name.to_string(),
        cluster: g.cluster.clone(),
        nodegroup: g.nodegroup.clone(),
        desired,
        min,
        max: None,
    }
}

fn scale_service(s: &Scene, name: &str, svc: &opsdeck::fleet::EcsServiceRef) -> Op {
    let current = s
        .view
        .as_ref()
        .and_then(|v| v.region(name))
        .and_then(|r| r.services.first().cloned());
    let (desired, bounds) = match current {
        Some(c) => {
            let desired = (c.desired - 1).max(0);
            let bounds = c
                .bounds
                .filter(|b| desired < b.min)
                .map(|b| opsdeck::ops::Bounds {
                    min: desired,
                    max: b.max,
                });
            (desired, bounds)
        }
        None => (1, None),
    };
    Op::Scale {
        region: name.to_string(),
        cluster: svc.cluster.clone(),
        service: svc.service.clone(),
        desired,
        bounds,
    }
}

/// The guards' verdict on `op`: the first rule that blocks, or pass; `Err` when no plan can be made.
pub fn verdict(s: &Scene, op: &Op) -> Result<Vec<GuardResult>, String> {
    let view = s.view.as_ref().ok_or("the fleet cannot be read")?;
    let plan = plan::build(op, view, &s.fleet, None).map_err(|e| e.to_string())?;
    Ok(guards::evaluate(&GuardInput {
        plan: &plan,
        before: view,
        fleet: &s.fleet,
        permission: Permission::Allowed,
        last_change: None,
        now: s.sim.now(),
    }))
}

pub fn what_if(s: &Scene, failed: Part) -> Result<WhatIf, String> {
    let view = s.view.as_ref().ok_or("the fleet cannot be read")?;
    whatif::analyse(view, &s.fleet, s.parts.name(failed), &SimModel(&s.sim))
}

/// Debug text of everything the matrix checks.
pub fn describe(s: &Scene, mode: Mode) -> String {
    let mut out = format!(
        "== {} {:?} (subject {:?})\n",
        s.fleet.name,
        mode,
        mode.subject()
    );
    for r in &s.state.regions {
        out += &format!(
            "  {:?} {} {:?} out={} breaches={:?}\n",
            s.parts.part(r.name()),
            r.name(),
            r.status,
            s.state.out_of_service().contains(&r.name()),
            r.breaches
                .iter()
                .map(|b| (b.status, b.short.clone()))
                .collect::<Vec<_>>()
        );
    }
    out += &format!("  worst {:?}\n", s.state.worst());
    out += &format!(
        "  offline {:?} writes {:?}\n",
        s.state.offline,
        s.state.writes()
    );
    for e in s
        .state
        .events
        .iter()
        .filter(|e| e.at >= s.onset - Duration::seconds(WARM_UP_S))
    {
        out += &format!(
            "  event {} {:?} {:?} {}\n",
            e.at.format("%H:%M:%S"),
            e.region,
            e.level,
            e.text
        );
    }
    match what_if(s, mode.failed()) {
        Ok(w) => {
            out += &format!(
                "  whatif: survivors {:?}\n  promotion {:?}\n  writes_down {} {:?} rto {} steps {:?}\n  notes {:?}\n",
                w.survivors.iter().map(|x| (x.region.clone(), x.rps_after.round(), x.serving, x.utilisation_after)).collect::<Vec<_>>(),
                w.promotion,
                w.writes_down,
                w.writes_down_since,
                w.rto_s,
                w.steps.iter().map(|x| x.name.clone()).collect::<Vec<_>>(),
                w.notes
            );
        }
        Err(e) => out += &format!("  whatif: error {e}\n"),
    }
    for (name, op) in operations(s, mode.subject()) {
        match verdict(s, &op) {
            Ok(gs) => {
                let blocked: Vec<String> = gs
                    .iter()
                    .filter(|g| !g.passed)
                    .map(|g| format!("{}: {}", g.rule, g.reason))
                    .collect();
                out += &format!("  guard {name}: {:?}\n", blocked);
            }
            Err(e) => out += &format!("  guard {name}: error {e}\n"),
        }
    }
    out
}
