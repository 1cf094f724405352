//! Render cost of one full overview frame: the built-in fleet and a 20-region fleet, on a
//! TestBackend at 160×48, with 24 h of simulated history behind every sparkline.
//! Run: `cargo bench --bench render` (prints measured numbers; nothing is asserted).

use chrono::{TimeZone, Utc};
use opsdeck::app::{update, Action, State};
use opsdeck::config::{Keymap, Theme};
use opsdeck::fleet::{Fleet, RegionSpec, Role};
use opsdeck::source::sim::SimFleet;
use opsdeck::source::SourceEvent;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::time::Instant;

fn fleet_of(n: usize) -> Fleet {
    let mut fleet = Fleet::builtin();
    let template = fleet.regions[1].clone();
    fleet.regions.truncate(1);
    for i in 1..n {
        let mut r: RegionSpec = template.clone();
        r.name = format!("region-{i:02}");
        r.role = Role::Secondary;
        if let Some(r53) = r.route53.as_mut() {
            r53.set_identifier = r.name.clone();
        }
        fleet.regions.push(r);
    }
    fleet.name = format!("bench-{n}");
    fleet
}

fn state_with_history(fleet: Fleet) -> State {
    let start = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap();
    let mut model = SimFleet::new(&fleet, 1, start);
    let mut state = State::new(fleet, opsdeck::fleet::SourceKind::Sim, start);
    for _ in 0..(24 * 60) {
        model.advance(60.0);
        let at = model.now();
        for (region, reading) in model.readings() {
            update(
                &mut state,
                Action::Source(SourceEvent::Reading {
                    region,
                    at,
                    reading,
                }),
            );
        }
    }
    state
}

fn bench(name: &str, state: &State, theme: &Theme, keymap: &Keymap) {
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    for _ in 0..20 {
        terminal
            .draw(|f| {
                opsdeck::ui::draw(f, state, theme, keymap);
            })
            .unwrap();
    }
    let mut samples = Vec::new();
    for _ in 0..300 {
        let t = Instant::now();
        terminal
            .draw(|f| {
                opsdeck::ui::draw(f, state, theme, keymap);
            })
            .unwrap();
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    println!(
        "{name:<28} frames {:>4}  mean {:>8.1} µs  median {:>8.1} µs  p99 {:>8.1} µs",
        samples.len(),
        mean,
        samples[samples.len() / 2],
        samples[samples.len() * 99 / 100]
    );
}

fn main() {
    let theme = Theme::load("default", None).expect("built-in theme");
    let (keymap, _) = Keymap::load("default", None).expect("built-in keymap");
    println!(
        "overview frame at 160x48 ({} build)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    bench(
        "built-in fleet (3 regions)",
        &state_with_history(Fleet::builtin()),
        &theme,
        &keymap,
    );
    bench(
        "20-region fleet",
        &state_with_history(fleet_of(20)),
        &theme,
        &keymap,
    );
}
