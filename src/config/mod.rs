//! Themes and keymaps: embedded defaults (`themes/*.toml`, `keymaps/*.toml` via `include_str!`),
//! user files in the config dir merged over them; errors name file, line and column.

mod binding;
mod document;
pub mod keymap;
mod keymap_file;
mod keys;
pub mod theme;
mod theme_file;

pub use keymap::{parse_key, Conflict, Keymap, Mode};
pub use theme::Theme;

use std::path::{Path, PathBuf};

/// The user's config dir: `$OPSDECK_CONFIG` if set, else the platform's (XDG) config dir.
pub fn config_dir() -> Option<PathBuf> {
    match std::env::var_os("OPSDECK_CONFIG") {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => {
            directories::ProjectDirs::from("", "", "opsdeck").map(|p| p.config_dir().to_path_buf())
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// Valid TOML that names an unknown colour, action, key, mode or setting.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// No built-in or user file has this name.
    #[error("unknown {what} `{name}` (available: {})", available.join(", "))]
    UnknownName {
        what: &'static str,
        name: String,
        available: Vec<String>,
    },
}

impl ConfigError {
    /// (line, column) for errors that point into a file.
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            ConfigError::Syntax { line, column, .. }
            | ConfigError::Invalid { line, column, .. } => Some((*line, *column)),
            _ => None,
        }
    }
}

/// Names of the `*.toml` files in `dir/sub`, plus `builtin`, sorted and deduplicated.
pub(crate) fn available_names(builtin: &[&str], user_dir: Option<&Path>, sub: &str) -> Vec<String> {
    let mut names: Vec<String> = builtin.iter().map(|s| s.to_string()).collect();
    if let Some(entries) = user_dir.and_then(|d| std::fs::read_dir(d.join(sub)).ok()) {
        for path in entries.flatten().map(|e| e.path()) {
            if path.extension().is_some_and(|e| e == "toml") {
                if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                    names.push(stem.to_string());
                }
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// The user's file `dir/sub/NAME.toml`, if there is one: (path as displayed, text).
pub(crate) fn read_user_file(
    user_dir: Option<&Path>,
    sub: &str,
    name: &str,
) -> Result<Option<(String, String)>, ConfigError> {
    let Some(dir) = user_dir else { return Ok(None) };
    let path = dir.join(sub).join(format!("{name}.toml"));
    let shown = path.display().to_string();
    match crate::fleet::diagnose::read(&path) {
        Ok(Ok(text)) => Ok(Some((shown, text))),
        Ok(Err((line, column, message))) => Err(ConfigError::Syntax {
            path: shown,
            line,
            column,
            message,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Io {
            path: shown,
            source,
        }),
    }
}

/// " (did you mean `x`?)" when one candidate is close to `word`, else " (expected one of a, b, …)".
pub(crate) fn hint<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str> + Clone,
) -> String {
    match did_you_mean(word, candidates.clone()) {
        h if h.is_empty() => format!(
            " (expected one of {})",
            candidates.into_iter().collect::<Vec<_>>().join(", ")
        ),
        h => h,
    }
}

/// " (did you mean `x`?)" when one candidate is close to `word`, else "".
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    let word = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word, c), c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("quiet", ["quit", "help"]),
            " (did you mean `quit`?)"
        );
        assert_eq!(did_you_mean("zzzzzz", ["quit", "help"]), "");
    }
}
