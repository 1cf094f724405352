//! Panes and dialogs as pure render functions of the state and the theme.

pub mod layout;

use crate::app::State;
use crate::config::{Keymap, Theme};
use ratatui::Frame;

/// Draw the whole console.
pub fn draw(frame: &mut Frame, state: &State, theme: &Theme, keymap: &Keymap) {
    let _ = (frame, state, theme, keymap);
}
