//! The model as a source: a tokio task that replays some history, then moves the virtual clock on
//! every tick and sends every region's readings into the app channel.

use super::SimFleet;
use crate::fleet::{Fleet, SourceKind};
use crate::source::{Scenario, SourceCommand, SourceEvent, SourceHandle};
use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::time::MissedTickBehavior;

/// Who the simulator says we are.
pub const IDENTITY: &str = "local user (simulated fleet)";
/// Virtual seconds between two replayed history readings.
const HISTORY_STEP_S: i64 = 60;

#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    pub seed: u64,
    /// Virtual seconds per real second.
    pub speed: f64,
    /// Virtual time at which the live run starts (history ends).
    pub start: DateTime<Utc>,
    /// Real milliseconds between two ticks.
    pub tick_ms: u64,
    /// Virtual seconds of history replayed before `start`.
    pub history_s: i64,
    /// Injected at `start`.
    pub scenario: Option<(String, Scenario)>,
}

impl SimOptions {
    /// Seed 1, real-time speed, a tick a second, an hour of history, no scenario.
    pub fn new(start: DateTime<Utc>) -> Self {
        SimOptions {
            seed: 1,
            speed: 1.0,
            start,
            tick_ms: 1000,
            history_s: 3600,
            scenario: None,
        }
    }
}

/// Run the simulated fleet as a source. Must be called inside a tokio runtime.
pub fn spawn(fleet: Fleet, opts: SimOptions) -> SourceHandle {
    spawn_shared(fleet, opts).0
}

/// Like [`spawn`], and also hand out the model, so operations can pull its levers while it runs.
/// The model starts `history_s` before `start`; the task replays that history first.
pub fn spawn_shared(fleet: Fleet, opts: SimOptions) -> (SourceHandle, Arc<Mutex<SimFleet>>) {
    let history_start = opts.start - Duration::seconds(opts.history_s.max(0));
    let model = Arc::new(Mutex::new(SimFleet::new(&fleet, opts.seed, history_start)));
    let (events_tx, events) = mpsc::unbounded_channel();
    let (commands, commands_rx) = mpsc::unbounded_channel();
    tokio::spawn(run(model.clone(), opts, events_tx, commands_rx));
    (
        SourceHandle {
            kind: SourceKind::Sim,
            events,
            commands,
        },
        model,
    )
}

fn lock(model: &Mutex<SimFleet>) -> MutexGuard<'_, SimFleet> {
    model
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Send every region's readings; false when nobody listens any more.
fn send_readings(sim: &SimFleet, tx: &UnboundedSender<SourceEvent>) -> bool {
    let at = sim.now();
    sim.readings().into_iter().all(|(region, reading)| {
        tx.send(SourceEvent::Reading {
            region,
            at,
            reading,
        })
        .is_ok()
    })
}

fn note(
    sim: &SimFleet,
    tx: &UnboundedSender<SourceEvent>,
    region: Option<&str>,
    text: String,
) -> bool {
    tx.send(SourceEvent::Note {
        at: sim.now(),
        region: region.map(str::to_string),
        text,
    })
    .is_ok()
}

fn inject(
    sim: &mut SimFleet,
    tx: &UnboundedSender<SourceEvent>,
    region: &str,
    scenario: Scenario,
) -> bool {
    let text = match sim.inject(region, scenario) {
        Ok(()) => format!("scenario {} injected into {region}", scenario.name()),
        Err(e) => format!("scenario {} not injected: {e}", scenario.name()),
    };
    note(sim, tx, Some(region), text)
}

/// Replay history, then tick until told to stop or nobody listens.
async fn run(
    model: Arc<Mutex<SimFleet>>,
    opts: SimOptions,
    tx: UnboundedSender<SourceEvent>,
    mut commands: UnboundedReceiver<SourceCommand>,
) {
    if !replay_history(&model, &opts, &tx) {
        return;
    }
    let tick_ms = opts.tick_ms.max(1);
    let step_s = opts.speed.max(0.0) * tick_ms as f64 / 1000.0;
    let mut ticks = tokio::time::interval(std::time::Duration::from_millis(tick_ms));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        let alive = tokio::select! {
            _ = ticks.tick() => tick(&mut lock(&model), step_s, &tx),
            command = commands.recv() => match command {
                None | Some(SourceCommand::Shutdown) => false,
                Some(command) => handle(&mut lock(&model), command, &tx),
            },
        };
        if !alive {
            return;
        }
    }
}

fn replay_history(
    model: &Mutex<SimFleet>,
    opts: &SimOptions,
    tx: &UnboundedSender<SourceEvent>,
) -> bool {
    let mut sim = lock(model);
    if tx.send(SourceEvent::Identity(IDENTITY.into())).is_err() {
        return false;
    }
    while sim.now() < opts.start {
        if !send_readings(&sim, tx) {
            return false;
        }
        let left = (opts.start - sim.now()).num_milliseconds() as f64 / 1000.0;
        sim.advance(left.min(HISTORY_STEP_S as f64));
    }
    if let Some((region, scenario)) = &opts.scenario {
        if !inject(&mut sim, tx, region, *scenario) {
            return false;
        }
    }
    send_readings(&sim, tx) && tx.send(SourceEvent::Clock(sim.now())).is_ok()
}

fn tick(sim: &mut SimFleet, step_s: f64, tx: &UnboundedSender<SourceEvent>) -> bool {
    let before = sim.active_scenarios();
    sim.advance(step_s);
    let after = sim.active_scenarios();
    for (region, scenario) in before.iter().filter(|s| !after.contains(s)) {
        let text = format!("scenario {} in {region} ended by itself", scenario.name());
        if !note(sim, tx, Some(region), text) {
            return false;
        }
    }
    send_readings(sim, tx) && tx.send(SourceEvent::Clock(sim.now())).is_ok()
}

fn handle(sim: &mut SimFleet, command: SourceCommand, tx: &UnboundedSender<SourceEvent>) -> bool {
    match command {
        SourceCommand::Refresh => send_readings(sim, tx),
        SourceCommand::Inject { region, scenario } => {
            inject(sim, tx, &region, scenario) && send_readings(sim, tx)
        }
        SourceCommand::ClearScenarios => {
            let active = sim.active_scenarios();
            sim.clear_scenarios();
            let text = if active.is_empty() {
                "no scenario was running".to_string()
            } else {
                let names: Vec<String> = active
                    .iter()
                    .map(|(r, s)| format!("{} in {r}", s.name()))
                    .collect();
                format!("scenarios ended: {}", names.join(", "))
            };
            note(sim, tx, None, text) && send_readings(sim, tx)
        }
        SourceCommand::Shutdown => false,
    }
}
