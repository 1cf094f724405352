//! Themes: flat semantic keys mapped to ratatui styles, plus status symbols so that no state is
//! told by colour alone.

use super::document::Document;
use super::theme_file::{self, Setting, STYLE_KEYS, SYMBOL_KEYS};
use super::{available_names, read_user_file, ConfigError};
use crate::fleet::Status;
use ratatui::style::{Color, Modifier, Style};
use std::path::Path;

/// The built-in themes, embedded in the binary.
const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("mono", include_str!("../../themes/mono.toml")),
    ("colorblind", include_str!("../../themes/colorblind.toml")),
    ("light", include_str!("../../themes/light.toml")),
];

#[derive(Debug, Clone, PartialEq)]
pub struct StatusSymbols {
    pub ok: String,
    pub warn: String,
    pub crit: String,
    pub unknown: String,
    pub stale: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    /// Plain text.
    pub text: Style,
    /// Labels, secondary text.
    pub muted: Style,
    pub border: Style,
    /// Border of the focused pane.
    pub border_focus: Style,
    pub title: Style,
    /// Header and status-line background/foreground.
    pub header: Style,
    pub accent: Style,
    pub ok: Style,
    pub warn: Style,
    pub crit: Style,
    pub unknown: Style,
    pub stale: Style,
    /// Selected row / tab.
    pub selection: Style,
    pub sparkline: Style,
    /// Colours of chart series, in order.
    pub chart: Vec<Style>,
    pub symbols: StatusSymbols,
}

impl Theme {
    pub fn builtin_names() -> Vec<&'static str> {
        BUILTIN.iter().map(|(name, _)| *name).collect()
    }

    /// The theme to use when none was chosen: `mono` when `NO_COLOR` is set (and not empty),
    /// else `default`.
    pub fn default_name() -> &'static str {
        match std::env::var_os("NO_COLOR") {
            Some(v) if !v.is_empty() => "mono",
            _ => "default",
        }
    }

    /// Built-in and user themes, sorted and deduplicated.
    pub fn available(user_dir: Option<&Path>) -> Vec<String> {
        available_names(&Self::builtin_names(), user_dir, "themes")
    }

    /// The theme `name`: `user_dir/themes/NAME.toml` merged over the built-in theme of that name,
    /// or over `default` when there is no such built-in.
    pub fn load(name: &str, user_dir: Option<&Path>) -> Result<Theme, ConfigError> {
        let user = read_user_file(user_dir, "themes", name)?;
        let mut theme = match (Self::builtin(name), &user) {
            (Some(theme), _) => theme?,
            (None, Some(_)) => Self::builtin("default").expect("default theme is built in")?,
            (None, None) => {
                let available = Self::available(user_dir);
                return Err(ConfigError::UnknownName {
                    what: "theme",
                    name: name.into(),
                    available,
                });
            }
        };
        if let Some((path, text)) = &user {
            theme.merge_file(path, text)?;
        }
        theme.name = name.to_string();
        Ok(theme)
    }

    /// Sets every key the theme file `text` names (shown as `path` in errors) on this theme.
    pub fn merge_file(&mut self, path: &str, text: &str) -> Result<(), ConfigError> {
        self.apply(&theme_file::read(&Document::parse(path, text)?)?);
        Ok(())
    }

    fn apply(&mut self, settings: &[Setting]) {
        for s in settings {
            match s {
                Setting::Style(key, style) => {
                    if let Some(slot) = self.style_slot(key) {
                        *slot = *style;
                    }
                }
                Setting::Chart(chart) => self.chart = chart.clone(),
                Setting::Symbol(key, symbol) => {
                    let slot = match *key {
                        "ok" => &mut self.symbols.ok,
                        "warn" => &mut self.symbols.warn,
                        "crit" => &mut self.symbols.crit,
                        "unknown" => &mut self.symbols.unknown,
                        "stale" => &mut self.symbols.stale,
                        _ => continue,
                    };
                    *slot = symbol.clone();
                }
            }
        }
    }

    /// The style a key of [`STYLE_KEYS`] sets.
    fn style_slot(&mut self, key: &str) -> Option<&mut Style> {
        Some(match key {
            "text" => &mut self.text,
            "muted" => &mut self.muted,
            "border" => &mut self.border,
            "border_focus" => &mut self.border_focus,
            "title" => &mut self.title,
            "header" => &mut self.header,
            "accent" => &mut self.accent,
            "ok" => &mut self.ok,
            "warn" => &mut self.warn,
            "crit" => &mut self.crit,
            "unknown" => &mut self.unknown,
            "stale" => &mut self.stale,
            "selection" => &mut self.selection,
            "sparkline" => &mut self.sparkline,
            _ => return None,
        })
    }

    /// A built-in theme, which must set every key.
    fn builtin(name: &str) -> Option<Result<Theme, ConfigError>> {
        let (name, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
        let path = format!("themes/{name}.toml");
        let load = || {
            let mut theme = Theme::fallback();
            theme.name = name.to_string();
            let doc = Document::parse(&path, text)?;
            let settings = theme_file::read(&doc)?;
            theme.apply(&settings);
            let set: Vec<String> = settings.iter().map(Setting::key).collect();
            let symbols = SYMBOL_KEYS.iter().map(|k| format!("symbols.{k}"));
            let wanted = STYLE_KEYS
                .iter()
                .map(|k| k.to_string())
                .chain(["chart".into()])
                .chain(symbols);
            if let Some(missing) = wanted.into_iter().find(|k| !set.contains(k)) {
                return Err(doc.error(0, format!("built-in theme does not set `{missing}`")));
            }
            Ok(theme)
        };
        Some(load())
    }

    pub fn status(&self, s: Status) -> Style {
        match s {
            Status::Ok => self.ok,
            Status::Warn => self.warn,
            Status::Crit => self.crit,
            Status::Unknown => self.unknown,
        }
    }

    pub fn symbol(&self, s: Status) -> &str {
        match s {
            Status::Ok => &self.symbols.ok,
            Status::Warn => &self.symbols.warn,
            Status::Crit => &self.symbols.crit,
            Status::Unknown => &self.symbols.unknown,
        }
    }

    pub fn chart_style(&self, i: usize) -> Style {
        if self.chart.is_empty() {
            self.accent
        } else {
            self.chart[i % self.chart.len()]
        }
    }

    /// A hard-coded theme used when nothing else can be loaded (and by unit tests).
    pub fn fallback() -> Theme {
        Theme {
            name: "default".into(),
            text: Style::default().fg(Color::White),
            muted: Style::default().fg(Color::Gray),
            border: Style::default().fg(Color::DarkGray),
            border_focus: Style::default().fg(Color::Cyan),
            title: Style::default()
                .fg(Color::White)
                .add_modifier(Modifier::BOLD),
            header: Style::default().fg(Color::Black).bg(Color::Cyan),
            accent: Style::default().fg(Color::Cyan),
            ok: Style::default().fg(Color::Green),
            warn: Style::default().fg(Color::Yellow),
            crit: Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            unknown: Style::default().fg(Color::DarkGray),
            stale: Style::default().fg(Color::Magenta),
            selection: Style::default().add_modifier(Modifier::REVERSED),
            sparkline: Style::default().fg(Color::Cyan),
            chart: vec![
                Style::default().fg(Color::Cyan),
                Style::default().fg(Color::Magenta),
                Style::default().fg(Color::Yellow),
            ],
            symbols: StatusSymbols {
                ok: "●".into(),
                warn: "▲".into(),
                crit: "✖".into(),
                unknown: "?".into(),
                stale: "⌛".into(),
            },
        }
    }
}
