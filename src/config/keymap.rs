//! Keymaps: sections per mode (`[overview] "j" = "next_region"`), merged over the defaults.

use crate::app::Action;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a binding applies. `Global` bindings apply in every mode unless the mode rebinds the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    Global,
    Overview,
    Detail,
    Events,
    Help,
}

impl Mode {
    pub const ALL: [Mode; 5] = [Mode::Global, Mode::Overview, Mode::Detail, Mode::Events, Mode::Help];
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Global => "global",
            Mode::Overview => "overview",
            Mode::Detail => "detail",
            Mode::Events => "events",
            Mode::Help => "help",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub mode: Mode,
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    pub name: String,
    pub bindings: Vec<Binding>,
}

/// "ctrl-c", "shift-tab", "?", "enter", "f5" for a key.
pub fn key_label(code: KeyCode, modifiers: KeyModifiers) -> String {
    let mut s = String::new();
    if modifiers.contains(KeyModifiers::CONTROL) {
        s.push_str("ctrl-");
    }
    if modifiers.contains(KeyModifiers::ALT) {
        s.push_str("alt-");
    }
    let base = match code {
        KeyCode::Char(' ') => "space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "enter".into(),
        KeyCode::Esc => "esc".into(),
        KeyCode::Tab => "tab".into(),
        KeyCode::BackTab => "shift-tab".into(),
        KeyCode::Backspace => "backspace".into(),
        KeyCode::Up => "up".into(),
        KeyCode::Down => "down".into(),
        KeyCode::Left => "left".into(),
        KeyCode::Right => "right".into(),
        KeyCode::PageUp => "pageup".into(),
        KeyCode::PageDown => "pagedown".into(),
        KeyCode::Home => "home".into(),
        KeyCode::End => "end".into(),
        KeyCode::F(n) => format!("f{n}"),
        other => format!("{other:?}").to_lowercase(),
    };
    s.push_str(&base);
    s
}

impl Keymap {
    /// The action bound to `key` in `mode` (falling back to global bindings).
    pub fn lookup(&self, mode: Mode, key: &KeyEvent) -> Option<Action> {
        let mods = key.modifiers - KeyModifiers::SHIFT;
        let matches = |b: &&Binding| {
            b.code == key.code && (b.modifiers - KeyModifiers::SHIFT) == mods
        };
        self.bindings
            .iter()
            .filter(|b| b.mode == mode)
            .find(matches)
            .or_else(|| self.bindings.iter().filter(|b| b.mode == Mode::Global).find(matches))
            .map(|b| b.action.clone())
    }

    /// Key labels bound to `action` in `mode` or globally, for hints ("q", "?").
    pub fn keys_for(&self, mode: Mode, action: &Action) -> Vec<String> {
        self.bindings
            .iter()
            .filter(|b| (b.mode == mode || b.mode == Mode::Global) && &b.action == action)
            .map(|b| key_label(b.code, b.modifiers))
            .collect()
    }
}
