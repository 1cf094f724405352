//! The README screenshots, rendered from the real render code on the simulated fleet with a fixed
//! seed and clock: `cargo run --example screenshots` writes them, and a test checks the committed
//! ones still match what the console draws.

use crate::app::dialog::{Dialog, PlanDialog};
use crate::app::{update, Action, State, View};
use crate::config::{Keymap, Theme};
use crate::fleet::{Fleet, SourceKind};
use crate::ops::sim::SimTarget;
use crate::ops::target::VerifyLimits;
use crate::ops::{Op, Operator, Permission, Settings};
use crate::source::sim::SimFleet;
use crate::source::{Scenario, SourceEvent};
use chrono::{TimeZone, Utc};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use ratatui::Terminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const WIDTH: u16 = 160;
pub const HEIGHT: u16 = 48;

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

fn shot(state: &State, theme: &Theme, keymap: &Keymap) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("test backend");
    terminal
        .draw(|f| {
            crate::ui::draw(f, state, theme, keymap);
        })
        .expect("draw");
    terminal.backend().buffer().clone()
}

/// One screenshot: its file name (without extension), the screen, and the terminal background
/// it is meant for (None: a dark terminal).
pub struct Shot {
    pub name: String,
    pub buffer: Buffer,
    pub background: Option<Color>,
}

fn dark(name: &str, buffer: Buffer) -> Shot {
    Shot {
        name: name.to_string(),
        buffer,
        background: None,
    }
}

/// The drain plan dialog (half-typed confirmation) and the what-if of us-east-1 failing, planned
/// by the real pipeline on a copy of the model.
fn operation_dialogs(fleet: &Fleet, model: &SimFleet) -> (Dialog, Dialog) {
    let target = SimTarget::new(Arc::new(Mutex::new(model.clone())), true);
    let settings = Settings {
        permission: Permission::Allowed,
        // Planning only reads the log (cooldowns, recorded weights): a path with no file is an empty log.
        audit_log: std::env::temp_dir().join("opsdeck-gallery-no-such-dir/audit.jsonl"),
        verify: VerifyLimits {
            limit: Duration::from_secs(30),
            poll: Duration::from_secs(5),
        },
    };
    let operator = Operator::new(fleet.clone(), Arc::new(target), settings);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let op = Op::Drain {
        region: "us-east-1".into(),
    };
    let prepared = rt.block_on(operator.prepare(&op)).expect("plan the drain");
    let report = rt.block_on(operator.what_if("us-east-1")).expect("what-if");
    let plan = Dialog::Plan(Box::new(PlanDialog {
        prepared,
        input: "us-east".into(),
        overrides: Vec::new(),
        message: None,
        moved: None,
        undo_of: None,
        scroll: 0,
    }));
    (
        plan,
        Dialog::WhatIf {
            report: Box::new(report),
            scroll: 0,
        },
    )
}

/// Every screenshot.
pub fn gallery() -> Vec<Shot> {
    let theme = Theme::load("default", None).expect("built-in theme");
    let (keymap, _) = Keymap::load("default", None).expect("built-in keymap");
    let fleet = Fleet::builtin();
    // Start a day earlier so the sparklines and charts have 24 h of history.
    let start = Utc.with_ymd_and_hms(2026, 11, 21, 14, 0, 0).unwrap();
    let mut model = SimFleet::new(&fleet, 7, start);
    let mut state = State::new(fleet, SourceKind::Sim, start);
    state.identity = Some(crate::source::sim::IDENTITY.to_string());
    state.size = (WIDTH, HEIGHT);
    run(&mut state, &mut model, 24 * 60);
    state.events.clear();
    let mut out = vec![dark("overview", shot(&state, &theme, &keymap))];

    state.focus = 1;
    state.view = View::Detail;
    out.push(dark("detail", shot(&state, &theme, &keymap)));

    state.view = View::Overview;
    state.help = true;
    out.push(dark("help", shot(&state, &theme, &keymap)));
    state.help = false;

    // A guarded operation: the drain plan for us-east-1, its guards, and the typed confirmation.
    let (plan, what_if) = operation_dialogs(&state.fleet, &model);
    state.dialog = Some(plan);
    out.push(dark("plan", shot(&state, &theme, &keymap)));
    state.dialog = Some(what_if);
    out.push(dark("what-if", shot(&state, &theme, &keymap)));
    state.dialog = None;

    // An incident in progress: a 5xx storm in us-east-1 while ap-southeast-1's replica falls behind.
    model
        .inject("us-east-1", Scenario::ErrorStorm)
        .expect("scenario");
    model
        .inject("ap-southeast-1", Scenario::ReplicaLag)
        .expect("scenario");
    run(&mut state, &mut model, 3);
    out.push(dark("incident", shot(&state, &theme, &keymap)));
    for name in Theme::builtin_names() {
        if name != "default" {
            let t = Theme::load(name, None).expect("built-in theme");
            // The light theme is for light terminals: show it on one.
            let background = (name == "light").then_some(Color::Rgb(0xfa, 0xfa, 0xfa));
            out.push(Shot {
                name: format!("incident-{name}"),
                buffer: shot(&state, &t, &keymap),
                background,
            });
        }
    }
    out
}
