//! Issue 9, point 1: text from fleet files, AWS answers and probe bodies never reaches the
//! terminal raw. A fleet named `us\e]0;PWNED\a\e[2J` would set the window title and clear the
//! screen if its name were written as it is.

use chrono::{TimeZone, Utc};
use opsdeck::app::{update, Action, State};
use opsdeck::config::{Keymap, Theme};
use opsdeck::fleet::{DataKind, Fleet, SourceError, DEFAULT_FLEET};
use opsdeck::source::SourceEvent;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;
use std::path::Path;
use std::process::Command;

/// The fleet file of the issue: its `name` holds an OSC (window title) and a CSI (clear screen).
fn hostile_fleet_text() -> String {
    DEFAULT_FLEET.replacen(
        "name = \"atlas-crm\"",
        "name = \"us\\u001b]0;PWNED\\u0007\\u001b[2J\"",
        1,
    )
}

const RAW: &str = "us\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{9b}31m\u{202e}";

fn render(state: &State) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();
    let keymap = Keymap::load("default", None).unwrap().0;
    term.draw(|f| {
        opsdeck::ui::draw(f, state, &Theme::fallback(), &keymap);
    })
    .unwrap();
    term.backend().buffer().clone()
}

fn screen(buf: &Buffer) -> String {
    buf.content().iter().map(|c| c.symbol()).collect()
}

fn assert_inert(text: &str, what: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|c| {
            (c.is_control() && *c != '\n')
                || ('\u{202a}'..='\u{202e}').contains(c)
                || ('\u{2066}'..='\u{2069}').contains(c)
        })
        .collect();
    assert!(bad.is_empty(), "{what} carries {bad:?}:\n{text}");
}

#[test]
fn console_shows_a_hostile_fleet_name_without_its_escapes() {
    let fleet = Fleet::parse(&hostile_fleet_text(), Path::new("f.toml")).unwrap();
    let state = State::new(
        fleet,
        opsdeck::fleet::SourceKind::Sim,
        Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 0).unwrap(),
    );
    let text = screen(&render(&state));
    assert_inert(&text, "the console");
    assert!(!text.contains("PWNED") && !text.contains("[2J"), "{text}");
}

#[test]
fn console_never_draws_control_characters_whatever_a_pane_is_given() {
    // Straight into the state, past every boundary: the frame itself is the last defence.
    let mut fleet = Fleet::builtin();
    fleet.name = RAW.into();
    let now = Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 0).unwrap();
    let mut state = State::new(fleet, opsdeck::fleet::SourceKind::Aws, now);
    update(
        &mut state,
        Action::Source(SourceEvent::Failed {
            region: "eu-west-1".into(),
            kind: DataKind::Metrics,
            at: now,
            error: SourceError::Other(RAW.into()),
        }),
    );
    update(
        &mut state,
        Action::Source(SourceEvent::Identity(RAW.into())),
    );
    let text = screen(&render(&state));
    assert_inert(&text, "the console");
}

#[test]
fn aws_error_messages_are_cleaned_where_they_are_sorted() {
    let e = opsdeck::source::aws::errors::classify_code("Throttling", RAW);
    assert_eq!(e, SourceError::Throttled("Throttling: us".into()));
}

#[test]
fn snapshot_table_of_a_hostile_fleet_is_inert() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.toml");
    std::fs::write(&path, hostile_fleet_text()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args([
            "snapshot",
            "--sim",
            "--fleet",
            path.to_str().unwrap(),
            "--seed",
            "1",
        ])
        .env("OPSDECK_STATE_DIR", dir.path())
        .env("OPSDECK_CONFIG", dir.path().join("config"))
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_inert(&stdout, "snapshot's table");
    assert!(stdout.starts_with("us (sim) at "), "{stdout}");
    assert!(!stdout.contains("PWNED"), "{stdout}");
}
