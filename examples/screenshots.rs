//! Regenerate the README screenshots from the real render code:
//! `cargo run --example screenshots` writes screenshots/*.svg (and a .txt of each screen).
//! The fleet is simulated with a fixed seed and clock, so the pictures only change when the
//! console does.

use chrono::{TimeZone, Utc};
use opsdeck::app::{update, Action, State, View};
use opsdeck::config::{Keymap, Theme};
use opsdeck::fleet::Fleet;
use opsdeck::source::sim::SimFleet;
use opsdeck::source::{Scenario, SourceEvent};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::path::Path;

const W: u16 = 160;
const H: u16 = 48;

fn feed(state: &mut State, model: &SimFleet) {
    let at = model.now();
    for (region, reading) in model.readings() {
        update(
            state,
            Action::Source(SourceEvent::Reading {
                region,
                at,
                reading,
            }),
        );
    }
}

/// Run the model for `minutes`, feeding the state every virtual minute.
fn run(state: &mut State, model: &mut SimFleet, minutes: u32) {
    for _ in 0..minutes {
        model.advance(60.0);
        feed(state, model);
    }
}

fn shoot(dir: &Path, name: &str, state: &State, theme: &Theme, keymap: &Keymap) {
    let mut terminal = Terminal::new(TestBackend::new(W, H)).unwrap();
    terminal
        .draw(|f| opsdeck::ui::draw(f, state, theme, keymap))
        .unwrap();
    let buf = terminal.backend().buffer().clone();
    std::fs::write(
        dir.join(format!("{name}.svg")),
        opsdeck::ui::export::buffer_to_svg(&buf, None),
    )
    .unwrap();
    std::fs::write(
        dir.join(format!("{name}.txt")),
        opsdeck::ui::export::buffer_to_text(&buf),
    )
    .unwrap();
    println!("wrote {}/{name}.svg", dir.display());
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let theme = Theme::load("default", None).expect("built-in theme");
    let (keymap, _) = Keymap::load("default", None).expect("built-in keymap");
    let fleet = Fleet::builtin();
    // Start a day earlier so the sparklines and charts have 24 h of history.
    let start = Utc.with_ymd_and_hms(2026, 11, 21, 14, 0, 0).unwrap();
    let mut model = SimFleet::new(&fleet, 7, start);
    let mut state = State::new(fleet, "sim", start);
    state.identity = Some("local user (simulated fleet)".into());
    state.size = (W, H);
    run(&mut state, &mut model, 24 * 60);
    state.events.clear();

    shoot(&dir, "overview", &state, &theme, &keymap);

    state.focus = 1;
    state.view = View::Detail;
    shoot(&dir, "detail", &state, &theme, &keymap);

    state.view = View::Overview;
    state.help = true;
    shoot(&dir, "help", &state, &theme, &keymap);
    state.help = false;

    // An incident in progress: a 5xx storm in us-east-1 while ap-southeast-1's replica falls behind.
    model.inject("us-east-1", Scenario::ErrorStorm).unwrap();
    model
        .inject("ap-southeast-1", Scenario::ReplicaLag)
        .unwrap();
    run(&mut state, &mut model, 3);
    state.focus = 1;
    shoot(&dir, "incident", &state, &theme, &keymap);

    for name in Theme::builtin_names() {
        if name == "default" {
            continue;
        }
        let t = Theme::load(name, None).unwrap();
        shoot(&dir, &format!("incident-{name}"), &state, &t, &keymap);
    }
}
