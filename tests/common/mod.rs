//! Console states for render tests, built by feeding hand-made readings through `app::update`
//! (no simulator): an hour of 30-second samples ending at 04:00:00 UTC.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyModifiers};
use opsdeck::app::{update, Action, State};
use opsdeck::config::keymap::Binding;
use opsdeck::config::{Keymap, Mode};
use opsdeck::fleet::{
    CostReport, DataKind, EcsCounts, Fleet, MetricValues, ProbeResult, Reading, Replication, Role,
    Route53State, SourceError,
};
use opsdeck::source::SourceEvent;

pub const STEPS: i64 = 120;
pub const STEP_S: i64 = 30;

pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
}

pub fn end() -> DateTime<Utc> {
    start() + Duration::seconds(STEPS * STEP_S)
}

/// A region's steady behaviour plus what goes wrong with it, as functions of the step.
#[derive(Clone, Copy)]
pub struct Profile {
    pub rps: f64,
    pub p50: f64,
    pub p99: f64,
    pub error_rate: f64,
    pub lag_s: f64,
    pub cache_hit: f64,
    pub tasks: i64,
    pub cost_mtd: f64,
    pub rtt_ms: f64,
    /// From this step the 5xx rate ramps to 12 % and latency climbs (an error storm).
    pub storm_from: Option<i64>,
    /// From this step the replica lag grows by 0.2 s per step.
    pub lag_from: Option<i64>,
    /// From this step metrics fetches fail with ThrottlingException.
    pub throttled_from: Option<i64>,
}

impl Profile {
    pub fn healthy(i: usize) -> Profile {
        let k = i as f64;
        Profile {
            rps: 520.0 - 90.0 * (k % 3.0),
            p50: 41.0 + 7.0 * (k % 4.0),
            p99: 120.0 + 9.0 * (k % 3.0),
            error_rate: 0.004 - 0.001 * (k % 3.0),
            lag_s: 0.8 + 0.2 * (k % 3.0),
            cache_hit: 0.93 - 0.01 * (k % 3.0),
            tasks: 4 - (i as i64 % 3),
            cost_mtd: 612.4 - 17.0 * (k % 4.0),
            rtt_ms: 38.0 + 40.0 * (k % 4.0),
            storm_from: None,
            lag_from: None,
            throttled_from: None,
        }
    }
}

/// A deterministic wobble of ±`amp` around 1.
fn wobble(step: i64, phase: f64, amp: f64) -> f64 {
    1.0 + amp * ((step as f64) * 0.21 + phase).sin()
}

fn feed(state: &mut State, region: &str, at: DateTime<Utc>, reading: Reading) {
    update(
        state,
        Action::Source(SourceEvent::Reading {
            region: region.to_string(),
            at,
            reading,
        }),
    );
}

fn step_region(state: &mut State, idx: usize, p: &Profile, step: i64) {
    let spec = state.fleet.regions[idx].clone();
    let name = spec.name.as_str();
    let at = start() + Duration::seconds(step * STEP_S);
    let phase = idx as f64 * 1.3;
    let storm = match p.storm_from {
        Some(s) if step >= s => ((step - s) as f64 / 8.0).clamp(0.0, 1.0),
        _ => 0.0,
    };
    let throttled = p.throttled_from.is_some_and(|s| step >= s);
    if throttled {
        let error = SourceError::Throttled("Rate exceeded".into());
        let ev = SourceEvent::Failed {
            region: name.to_string(),
            kind: DataKind::Metrics,
            at,
            error,
        };
        update(state, Action::Source(ev));
    } else {
        let primary = spec.role == Role::Primary;
        let lag = p
            .lag_from
            .filter(|s| step >= *s)
            .map(|s| (step - s) as f64 * 0.2)
            .unwrap_or(0.0);
        let stats = &state.fleet.metrics.latency_stats;
        let latency = stats
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let base = if i + 1 == stats.len() {
                    p.p99 * (1.0 + 0.5 * storm)
                } else {
                    p.p50 * (1.0 + 0.2 * storm)
                };
                (
                    s.clone(),
                    Some((base * wobble(step, phase + i as f64, 0.06) * 10.0).round() / 10.0),
                )
            })
            .collect();
        let metrics = MetricValues {
            latency_ms: latency,
            requests_per_s: Some((p.rps * wobble(step, phase, 0.08)).round()),
            error_rate: Some(
                p.error_rate * wobble(step, phase + 2.0, 0.3) * (1.0 - storm) + 0.12 * storm,
            ),
            replica_lag_s: (!primary).then(|| p.lag_s * wobble(step, phase + 1.0, 0.2) + lag),
            cache_hit_ratio: Some(p.cache_hit * wobble(step, phase + 3.0, 0.01)),
            cdn: None,
            running_pods: Default::default(),
        };
        feed(state, name, at, Reading::Metrics(metrics));
    }
    if step % 2 == 0 {
        let short_one = storm > 0.5;
        let ecs = spec
            .ecs
            .iter()
            .map(|s| EcsCounts {
                cluster: s.cluster.clone(),
                service: s.service.clone(),
                desired: p.tasks,
                running: if short_one { p.tasks - 1 } else { p.tasks },
                pending: if short_one { 1 } else { 0 },
            })
            .collect();
        feed(state, name, at, Reading::Ecs(ecs));
        feed(
            state,
            name,
            at,
            Reading::Route53(Route53State {
                weight: Some(100),
                healthy: Some(true),
                ..Default::default()
            }),
        );
    }
    if step == 0 {
        let rds = spec.rds.clone().unwrap_or_default();
        let primary = state
            .fleet
            .primary()
            .and_then(|r| r.rds.clone())
            .unwrap_or_default();
        let topology = if spec.role == Role::Primary {
            Replication::Primary {
                instance: rds,
                status: "available".into(),
            }
        } else {
            Replication::Replica {
                instance: rds,
                source: primary,
                status: "replicating".into(),
            }
        };
        feed(state, name, at, Reading::Topology(topology));
    }
    let cost = CostReport {
        month_to_date_usd: Some(p.cost_mtd + step as f64 * 0.05),
        forecast_usd: Some(905.0 + (idx % 3) as f64 * 12.0),
        forecast_is_projection: false,
    };
    feed(state, name, at, Reading::Cost(cost));
    let probe = ProbeResult {
        http_status: Some(200),
        status: Some(if storm > 0.5 { "degraded" } else { "ok" }.into()),
        rtt_ms: (p.rtt_ms * wobble(step, phase, 0.1)).round(),
        replicas: Vec::new(),
        failure: None,
    };
    feed(state, name, at, Reading::Probe(probe));
}

/// A state after `STEPS` steps of every region following its profile.
pub fn run(fleet: Fleet, profiles: &[Profile]) -> State {
    let mut state = State::new(fleet, opsdeck::fleet::SourceKind::Sim, start());
    for step in 0..=STEPS {
        for (idx, p) in profiles.iter().enumerate() {
            step_region(&mut state, idx, p, step);
        }
        if profiles.iter().any(|p| p.storm_from == Some(step)) {
            let region = state.fleet.regions[profiles
                .iter()
                .position(|p| p.storm_from == Some(step))
                .unwrap()]
            .name
            .clone();
            let at = start() + Duration::seconds(step * STEP_S);
            let text = format!("scenario error-storm injected into {region}");
            update(
                &mut state,
                Action::Source(SourceEvent::Note {
                    at,
                    region: Some(region),
                    text,
                }),
            );
        }
    }
    update(&mut state, Action::Source(SourceEvent::Clock(end())));
    state.flash = None;
    state
}

/// The built-in three-region fleet, all within thresholds.
pub fn healthy_state() -> State {
    let fleet = Fleet::builtin();
    let profiles: Vec<Profile> = (0..fleet.regions.len()).map(Profile::healthy).collect();
    run(fleet, &profiles)
}

/// us-east-1 in a 5xx storm (crit, one task short), ap-southeast-1's replica falling behind (warn),
/// eu-west-1's metrics throttled for the last minute (stale).
pub fn incident_state() -> State {
    let fleet = Fleet::builtin();
    let mut profiles: Vec<Profile> = (0..fleet.regions.len()).map(Profile::healthy).collect();
    profiles[0].throttled_from = Some(STEPS - 1);
    profiles[1].storm_from = Some(STEPS - 20);
    profiles[2].lag_from = Some(STEPS - 40);
    let mut state = run(fleet, &profiles);
    state.identity = Some("arn:aws:sts::000000000000:assumed-role/oncall/sam".into());
    state
}

pub const TWENTY_REGIONS: [&str; 20] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "sa-east-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "eu-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "me-south-1",
    "af-south-1",
];

/// A 20-region fleet built from the built-in one; one region in a storm, one lagging, one stale.
pub fn twenty_region_state() -> State {
    let mut fleet = Fleet::builtin();
    let template = fleet.regions[1].clone();
    fleet.name = "global-api".into();
    fleet.regions = TWENTY_REGIONS
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut r = template.clone();
            r.name = name.to_string();
            r.role = if i == 0 {
                Role::Primary
            } else {
                Role::Secondary
            };
            r.rds = Some(format!("api-db-{name}"));
            r.ecs[0].cluster = format!("api-{name}");
            if let Some(r53) = r.route53.as_mut() {
                r53.set_identifier = name.to_string();
            }
            r
        })
        .collect();
    let mut profiles: Vec<Profile> = (0..20).map(Profile::healthy).collect();
    profiles[5].storm_from = Some(STEPS - 20);
    profiles[13].lag_from = Some(STEPS - 40);
    profiles[17].throttled_from = Some(STEPS - 2);
    run(fleet, &profiles)
}

fn bind(mode: Mode, code: KeyCode, modifiers: KeyModifiers, action: Action) -> Binding {
    Binding {
        mode,
        code,
        modifiers,
        action,
    }
}

/// A keymap like the default one, written out here because keymap loading lives on another branch.
pub fn keymap() -> Keymap {
    use Action::*;
    use KeyCode::*;
    let none = KeyModifiers::NONE;
    let mut b = vec![
        bind(Mode::Global, Char('?'), none, Help),
        bind(Mode::Global, Char('q'), none, Quit),
        bind(Mode::Global, Char('c'), KeyModifiers::CONTROL, Quit),
        bind(Mode::Global, Tab, none, NextRegion),
        bind(Mode::Global, BackTab, KeyModifiers::SHIFT, PrevRegion),
        bind(Mode::Global, Char('e'), none, Events),
        bind(Mode::Global, Char('t'), none, NextTheme),
        bind(Mode::Global, Char('m'), none, NextKeymap),
        bind(Mode::Global, Char('r'), none, Refresh),
        bind(Mode::Global, Esc, none, Back),
    ];
    for (code, action) in [
        (Enter, OpenDetail),
        (Char('j'), NextRegion),
        (Down, NextRegion),
        (Char('k'), PrevRegion),
        (Up, PrevRegion),
        (Char('x'), ScenarioErrorStorm),
        (Char('l'), ScenarioReplicaLag),
        (Char('f'), ScenarioCacheFlush),
        (Char('o'), ScenarioOutage),
        (Char('c'), ClearScenarios),
    ] {
        b.push(bind(Mode::Overview, code, none, action));
    }
    for (code, action) in [
        (Char(']'), NextWindow),
        (Right, NextWindow),
        (Char('['), PrevWindow),
        (Left, PrevWindow),
    ] {
        b.push(bind(Mode::Detail, code, none, action));
    }
    for mode in [Mode::Events, Mode::Help] {
        for (code, action) in [
            (Char('j'), ScrollDown),
            (Down, ScrollDown),
            (Char('k'), ScrollUp),
            (Up, ScrollUp),
        ] {
            b.push(bind(mode, code, none, action));
        }
    }
    b.push(bind(Mode::Help, Esc, none, Back));
    Keymap {
        name: "default".into(),
        bindings: b,
    }
}

/// The built-in fleet where eu-west-1 reports and us-east-1 never has: every fetch of it fails
/// (no credentials), so its pane shows "—" and "no data".
pub fn no_data_state() -> State {
    let fleet = Fleet::builtin();
    let mut profiles: Vec<Profile> = (0..fleet.regions.len()).map(Profile::healthy).collect();
    profiles.truncate(1);
    let mut state = run(fleet, &profiles);
    let at = end();
    for kind in DataKind::ALL {
        let error = SourceError::NoCredentials("no profile".into());
        let ev = SourceEvent::Failed {
            region: "us-east-1".into(),
            kind,
            at,
            error,
        };
        update(&mut state, Action::Source(ev));
    }
    state
}
