//! Themes and keymaps: embedded defaults (`themes/*.toml`, `keymaps/*.toml` via `include_str!`),
//! user files in the config dir merged over them; errors name file, line and column.

pub mod keymap;
pub mod theme;

pub use keymap::{Keymap, Mode};
pub use theme::Theme;
