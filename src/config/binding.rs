//! What a keymap is made of: a key bound to an action in a mode, and a conflict between two
//! bindings of one key. Read from files by `keymap_file`, collected by `keymap`.

use crate::app::Action;
use crossterm::event::{KeyCode, KeyModifiers};
use std::fmt;

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
    pub const ALL: [Mode; 5] = [
        Mode::Global,
        Mode::Overview,
        Mode::Detail,
        Mode::Events,
        Mode::Help,
    ];
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

/// One key bound to two actions in one mode of one file; the later binding wins.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub mode: Mode,
    pub key: String,
    /// Action names, the earlier first.
    pub actions: Vec<String>,
    pub file: String,
    /// Line of the later binding.
    pub line: usize,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "{}:{}: `{}` in [{}] bound to both {}",
            self.file,
            self.line,
            self.key,
            self.mode.as_str(),
            self.actions.join(" and ")
        )
    }
}
