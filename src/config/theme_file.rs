//! Reading a theme file: flat semantic keys whose values are a colour (`crit = "#ff5555"`) or a
//! style table (`crit = { fg = "red", bg = "reset", modifiers = ["bold"] }`), `chart = [..]` and a
//! `[symbols]` table.

use super::document::{Document, Node};
use super::theme::Theme;
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

/// Sets every key the document names on `theme`; returns the keys it set (symbols as
/// `symbols.ok`, …), so built-in themes can be checked for completeness.
pub(crate) fn apply(theme: &mut Theme, doc: &Document) -> Result<Vec<String>, ConfigError> {
    let mut set = Vec::new();
    for (key, value) in &doc.root {
        let name = key.get_ref().as_str();
        if let Some(slot) = style_slot(theme, name) {
            *slot = style(doc, name, value)?;
        } else if name == "chart" {
            let Node::Array(items) = value.get_ref() else {
                let found = value.get_ref().kind();
                let msg = format!("expected an array of colours for key `chart`, found {found}");
                return Err(doc.error(value.span().start, msg));
            };
            theme.chart = items
                .iter()
                .map(|i| style(doc, "chart", i))
                .collect::<Result<_, _>>()?;
        } else if name == "symbols" {
            symbols(theme, doc, value, &mut set)?;
        } else {
            let msg = format!(
                "unknown theme key `{name}`{}",
                hint(name, STYLE_KEYS.iter().chain(OTHER_THEME_KEYS).copied())
            );
            return Err(doc.error(key.span().start, msg));
        }
        set.push(name.to_string());
    }
    Ok(set)
}

fn style_slot<'t>(theme: &'t mut Theme, key: &str) -> Option<&'t mut Style> {
    Some(match key {
        "text" => &mut theme.text,
        "muted" => &mut theme.muted,
        "border" => &mut theme.border,
        "border_focus" => &mut theme.border_focus,
        "title" => &mut theme.title,
        "header" => &mut theme.header,
        "accent" => &mut theme.accent,
        "ok" => &mut theme.ok,
        "warn" => &mut theme.warn,
        "crit" => &mut theme.crit,
        "unknown" => &mut theme.unknown,
        "stale" => &mut theme.stale,
        "selection" => &mut theme.selection,
        "sparkline" => &mut theme.sparkline,
        _ => return None,
    })
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
    theme: &mut Theme,
    doc: &Document,
    value: &Spanned<Node>,
    set: &mut Vec<String>,
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
        let slot = match name {
            "ok" => &mut theme.symbols.ok,
            "warn" => &mut theme.symbols.warn,
            "crit" => &mut theme.symbols.crit,
            "unknown" => &mut theme.symbols.unknown,
            "stale" => &mut theme.symbols.stale,
            _ => {
                let msg = format!(
                    "unknown symbol `{name}`{}",
                    hint(name, SYMBOL_KEYS.iter().copied())
                );
                return Err(doc.error(key.span().start, msg));
            }
        };
        match v.get_ref() {
            Node::Str(s) if !s.trim().is_empty() => *slot = s.clone(),
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
        set.push(format!("symbols.{name}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        let mut theme = Theme::fallback();
        apply(&mut theme, &Document::parse("t.toml", text).unwrap())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_colour_string_sets_only_the_foreground() {
        let mut theme = Theme::fallback();
        let doc = Document::parse(
            "t.toml",
            "crit = \"#ff0000\"\nchart = [\"red\", { bg = \"blue\" }]\n",
        )
        .unwrap();
        assert_eq!(apply(&mut theme, &doc).unwrap(), ["crit", "chart"]);
        assert_eq!(theme.crit, Style::default().fg(Color::Rgb(255, 0, 0)));
        assert_eq!(
            theme.chart,
            [
                Style::default().fg(Color::Red),
                Style::default().bg(Color::Blue)
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
