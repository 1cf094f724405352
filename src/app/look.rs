//! Switching the theme or the keymap: `update` names the one wanted in an `Effect`, the loop
//! loads it (files are I/O) and answers with a [`LookReport`] when something is worth saying.

pub use super::action::{LookKind, LookReport};
use super::State;
use crate::fleet::Status;

/// Step to the next theme or keymap; returns its name, for the loop to load.
pub fn next(state: &mut State, kind: LookKind) -> String {
    let (names, index) = match kind {
        LookKind::Theme => (&state.theme_names, &mut state.theme),
        LookKind::Keymap => (&state.keymap_names, &mut state.keymap),
    };
    *index = (*index + 1) % names.len().max(1);
    let name = match kind {
        LookKind::Theme => state.theme_name(),
        LookKind::Keymap => state.keymap_name(),
    }
    .to_string();
    state.flash = Some(format!("{}: {name}", kind.label()));
    name
}

/// Say what happened; a failed switch goes back to the look still in use.
pub fn report(state: &mut State, report: LookReport) {
    match report {
        LookReport::KeymapConflicts(conflicts) => {
            for c in conflicts {
                state.log(
                    state.now,
                    None,
                    Status::Warn,
                    format!("keymap conflict: {c}"),
                );
            }
        }
        LookReport::Failed {
            kind,
            wanted,
            kept,
            error,
        } => {
            let label = kind.label();
            state.flash = Some(format!("{label} {wanted}: {error}"));
            state.log(
                state.now,
                None,
                Status::Warn,
                format!("{label} {wanted} not loaded: {error}"),
            );
            let (names, index) = match kind {
                LookKind::Theme => (&state.theme_names, &mut state.theme),
                LookKind::Keymap => (&state.keymap_names, &mut state.keymap),
            };
            *index = names.iter().position(|n| *n == kept).unwrap_or(0);
        }
    }
}
