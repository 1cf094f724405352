//! Reading a theme file: flat semantic keys whose values are a colour (`crit = "#ff5555"`) or a
//! style table (`crit = { fg = "red", bg = "reset", modifiers = ["bold"] }`), `chart = [..]` and a
//! `[symbols]` table.

use super::document::{Document, Node};
use super::{hint, ConfigError};
use ratatui::style::{Color, Modifier, Style};
use std::str::FromStr;
use toml::Spanned;

/// Keys holding one style, in the order of `Theme`'s fields.
pub(crate) const STYLE_KEYS: &[&str] = &[
    "text",
    "muted",
    "border",
    "border_focus",
    "title",
    "header",
    "accent",
    "ok",
    "warn",
    "crit",
    "unknown",
    "stale",
    "selection",
    "sparkline",
];
/// Top-level keys of a theme file besides the style keys.
const OTHER_THEME_KEYS: &[&str] = &["chart", "symbols"];
pub(crate) const SYMBOL_KEYS: &[&str] = &["ok", "warn", "crit", "unknown", "stale"];
const MODIFIERS: &[(&str, Modifier)] = &[
    ("bold", Modifier::BOLD),
    ("dim", Modifier::DIM),
    ("italic", Modifier::ITALIC),
    ("underlined", Modifier::UNDERLINED),
    ("reversed", Modifier::REVERSED),
    ("slow_blink", Modifier::SLOW_BLINK),
    ("rapid_blink", Modifier::RAPID_BLINK),
    ("hidden", Modifier::HIDDEN),
    ("crossed_out", Modifier::CROSSED_OUT),
];

/// One key a theme file sets, validated.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Setting {
    /// One of [`STYLE_KEYS`].
    Style(&'static str, Style),
    Chart(Vec<Style>),
    /// One of [`SYMBOL_KEYS`].
    Symbol(&'static str, String),
}

impl Setting {
    /// The key it sets (`symbols.ok` for a symbol), to check built-in themes for completeness.
    pub(crate) fn key(&self) -> String {
        match self {
            Setting::Style(k, _) => k.to_string(),
            Setting::Chart(_) => "chart".into(),
            Setting::Symbol(k, _) => format!("symbols.{k}"),
        }
    }
}

/// Every key the document sets, in file order; an unknown key or a bad value is an error that
/// names its file, line and column.
pub(crate) fn read(doc: &Document) -> Result<Vec<Setting>, ConfigError> {
    let mut set = Vec::new();
    for (key, value) in &doc.root {
        let name = key.get_ref().as_str();
        if let Some(k) = STYLE_KEYS.iter().find(|k| **k == name) {
            set.push(Setting::Style(k, style(doc, name, value)?));
        } else if name == "chart" {
            let Node::Array(items) = value.get_ref() else {
                let found = value.get_ref().kind();
                let msg = format!("expected an array of colours for key `chart`, found {found}");
                return Err(doc.error(value.span().start, msg));
            };
            let chart = items
                .iter()
                .map(|i| style(doc, "chart", i))
                .collect::<Result<_, _>>()?;
            set.push(Setting::Chart(chart));
        } else if name == "symbols" {
            symbols(doc, value, &mut set)?;
        } else {
            let msg = format!(
                "unknown theme key `{name}`{}",
                hint(name, STYLE_KEYS.iter().chain(OTHER_THEME_KEYS).copied())
            );
            return Err(doc.error(key.span().start, msg));
        }
    }
    Ok(set)
}

fn style(doc: &Document, key: &str, value: &Spanned<Node>) -> Result<Style, ConfigError> {
    match value.get_ref() {
        Node::Str(_) => Ok(Style::default().fg(colour(doc, key, value)?)),
        Node::Table(fields) => {
            let mut style = Style::default();
            for (field, v) in fields {
                match field.get_ref().as_str() {
                    "fg" => style = style.fg(colour(doc, key, v)?),
                    "bg" => style = style.bg(colour(doc, key, v)?),
                    "modifiers" => style = style.add_modifier(modifiers(doc, key, v)?),
                    other => {
                        let msg = format!(
                            "unknown style field `{other}` for key `{key}` (expected fg, bg or modifiers)"
                        );
                        return Err(doc.error(field.span().start, msg));
                    }
                }
            }
            Ok(style)
        }
        other => {
            let msg = format!(
                "expected a colour or a {{ fg, bg, modifiers }} table for key `{key}`, found {}",
                other.kind()
            );
            Err(doc.error(value.span().start, msg))
        }
    }
}

fn colour(doc: &Document, key: &str, value: &Spanned<Node>) -> Result<Color, ConfigError> {
    let Node::Str(s) = value.get_ref() else {
        let msg = format!(
            "expected a colour string for key `{key}`, found {}",
            value.get_ref().kind()
        );
        return Err(doc.error(value.span().start, msg));
    };
    Color::from_str(s).map_err(|_| {
        let msg =
            format!("unknown colour `{s}` for key `{key}` (expected a colour name or #rrggbb)");
        doc.error(value.span().start, msg)
    })
}

fn modifiers(doc: &Document, key: &str, value: &Spanned<Node>) -> Result<Modifier, ConfigError> {
    let Node::Array(items) = value.get_ref() else {
        let msg = format!(
            "expected an array of modifiers for key `{key}`, found {}",
            value.get_ref().kind()
        );
        return Err(doc.error(value.span().start, msg));
    };
    let mut all = Modifier::empty();
    for item in items {
        let word = match item.get_ref() {
            Node::Str(s) => s.to_lowercase().replace('-', "_"),
            other => format!("<{}>", other.kind()),
        };
        let Some((_, m)) = MODIFIERS.iter().find(|(n, _)| *n == word) else {
            let names: Vec<&str> = MODIFIERS.iter().map(|(n, _)| *n).collect();
            let msg = format!(
                "unknown modifier `{word}` for key `{key}`{}",
                hint(&word, names.iter().copied())
            );
            return Err(doc.error(item.span().start, msg));
        };
        all |= *m;
    }
    Ok(all)
}

fn symbols(
    doc: &Document,
    value: &Spanned<Node>,
    set: &mut Vec<Setting>,
) -> Result<(), ConfigError> {
    let Node::Table(entries) = value.get_ref() else {
        let msg = format!(
            "expected a table for key `symbols`, found {}",
            value.get_ref().kind()
        );
        return Err(doc.error(value.span().start, msg));
    };
    for (key, v) in entries {
        let name = key.get_ref().as_str();
        let Some(slot) = SYMBOL_KEYS.iter().find(|k| **k == name) else {
            let msg = format!(
                "unknown symbol `{name}`{}",
                hint(name, SYMBOL_KEYS.iter().copied())
            );
            return Err(doc.error(key.span().start, msg));
        };
        match v.get_ref() {
            Node::Str(s) if !s.trim().is_empty() => set.push(Setting::Symbol(slot, s.clone())),
            other => {
                let found = if matches!(other, Node::Str(_)) {
                    "an empty string"
                } else {
                    other.kind()
                };
                let msg = format!("expected a non-empty string for symbol `{name}`, found {found}");
                return Err(doc.error(v.span().start, msg));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        read(&Document::parse("t.toml", text).unwrap())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_colour_string_sets_only_the_foreground() {
        let doc = Document::parse(
            "t.toml",
            "crit = \"#ff0000\"\nchart = [\"red\", { bg = \"blue\" }]\n",
        )
        .unwrap();
        assert_eq!(
            read(&doc).unwrap(),
            [
                Setting::Style("crit", Style::default().fg(Color::Rgb(255, 0, 0))),
                Setting::Chart(vec![
                    Style::default().fg(Color::Red),
                    Style::default().bg(Color::Blue)
                ]),
            ]
        );
    }

    #[test]
    fn mistakes_point_at_the_offending_key_or_value() {
        assert_eq!(
            error("crt = \"red\"\n"),
            "t.toml:1:1: unknown theme key `crt` (did you mean `crit`?)"
        );
        assert_eq!(
            error("ok = { fgg = \"red\" }\n"),
            "t.toml:1:8: unknown style field `fgg` for key `ok` (expected fg, bg or modifiers)"
        );
        assert_eq!(
            error("ok = 3\n"),
            "t.toml:1:6: expected a colour or a { fg, bg, modifiers } table for key `ok`, found a number"
        );
        assert_eq!(
            error("[symbols]\nok = \"\"\n"),
            "t.toml:2:6: expected a non-empty string for symbol `ok`, found an empty string"
        );
        assert_eq!(
            error("[symbols]\nstal = \"+\"\n"),
            "t.toml:2:1: unknown symbol `stal` (did you mean `stale`?)"
        );
    }
}
