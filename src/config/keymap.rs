//! Keymaps: sections per mode (`[overview] "j" = "next_region"`), merged over the defaults.

pub use super::binding::{Binding, Conflict, Mode};
use super::document::Document;
use super::keymap_file;
use super::{available_names, read_user_file, ConfigError};
use crate::app::Action;
use crossterm::event::{KeyEvent, KeyModifiers};
use std::path::Path;

pub use super::keys::{key_label, parse_key};

/// The built-in keymaps, embedded in the binary.
const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../../keymaps/default.toml")),
    ("vim", include_str!("../../keymaps/vim.toml")),
];

#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    pub name: String,
    pub bindings: Vec<Binding>,
}

impl Keymap {
    pub fn builtin_names() -> Vec<&'static str> {
        BUILTIN.iter().map(|(name, _)| *name).collect()
    }

    /// Built-in and user keymaps, sorted and deduplicated.
    pub fn available(user_dir: Option<&Path>) -> Vec<String> {
        available_names(&Self::builtin_names(), user_dir, "keymaps")
    }

    /// `user_dir/keymaps/NAME.toml` merged over the built-in keymap of the same name (or
    /// `default`), with the conflicts found in either file. A conflict is not fatal.
    pub fn load(
        name: &str,
        user_dir: Option<&Path>,
    ) -> Result<(Keymap, Vec<Conflict>), ConfigError> {
        let user = read_user_file(user_dir, "keymaps", name)?;
        let builtin = BUILTIN.iter().find(|(n, _)| *n == name);
        let (base_name, base_text) = match (builtin, &user) {
            (Some(b), _) => *b,
            (None, Some(_)) => BUILTIN[0],
            (None, None) => {
                let available = Self::available(user_dir);
                return Err(ConfigError::UnknownName {
                    what: "keymap",
                    name: name.into(),
                    available,
                });
            }
        };
        let mut keymap = Keymap {
            name: name.to_string(),
            bindings: Vec::new(),
        };
        let mut conflicts = keymap.merge_file(&format!("keymaps/{base_name}.toml"), base_text)?;
        if let Some((path, text)) = &user {
            conflicts.extend(keymap.merge_file(path, text)?);
        }
        Ok((keymap, conflicts))
    }

    /// Adds the bindings of the keymap file `text` (shown as `path`), replacing any binding of
    /// the same key in the same mode; returns the conflicts within the file.
    pub fn merge_file(&mut self, path: &str, text: &str) -> Result<Vec<Conflict>, ConfigError> {
        let (bindings, conflicts) = keymap_file::bindings(&Document::parse(path, text)?)?;
        for new in bindings {
            self.bindings.retain(|b| {
                !(b.mode == new.mode && b.code == new.code && b.modifiers == new.modifiers)
            });
            self.bindings.push(new);
        }
        Ok(conflicts)
    }

    /// (keys, action) rows per mode for the help overlay, in `Action::BINDABLE` order; the keys
    /// of one action are joined ("j, down").
    pub fn help_rows(&self) -> Vec<(Mode, String, Action)> {
        let mut rows = Vec::new();
        for mode in Mode::ALL {
            for action in Action::BINDABLE {
                let mut keys: Vec<String> = Vec::new();
                for b in self
                    .bindings
                    .iter()
                    .filter(|b| b.mode == mode && &b.action == action)
                {
                    let label = key_label(b.code, b.modifiers);
                    if !keys.contains(&label) {
                        keys.push(label);
                    }
                }
                if !keys.is_empty() {
                    rows.push((mode, keys.join(", "), action.clone()));
                }
            }
        }
        rows
    }

    /// The action bound to `key` in `mode` (falling back to global bindings).
    pub fn lookup(&self, mode: Mode, key: &KeyEvent) -> Option<Action> {
        let mods = key.modifiers - KeyModifiers::SHIFT;
        let matches =
            |b: &&Binding| b.code == key.code && (b.modifiers - KeyModifiers::SHIFT) == mods;
        self.bindings
            .iter()
            .filter(|b| b.mode == mode)
            .find(matches)
            .or_else(|| {
                self.bindings
                    .iter()
                    .filter(|b| b.mode == Mode::Global)
                    .find(matches)
            })
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
