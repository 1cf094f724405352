//! Reading a keymap file: one table per mode, `"key" = "action_name"`.

use super::binding::{Binding, Conflict, Mode};
use super::document::{Document, Node};
use super::keys::{key_label, parse_key};
use super::{hint, ConfigError};
use crate::app::Action;
use serde::de::value::{Error as ValueError, StrDeserializer};
use serde::Deserialize;
use toml::Spanned;

/// The file's bindings in file order (a key written twice in one mode keeps the later
/// action) and the conflicts found on the way.
pub(crate) fn bindings(doc: &Document) -> Result<(Vec<Binding>, Vec<Conflict>), ConfigError> {
    let mut bindings: Vec<Binding> = Vec::new();
    let mut conflicts = Vec::new();
    for (section, table) in &doc.root {
        let Node::Table(entries) = table.get_ref() else {
            let msg = format!(
                "`{}` is not a mode section; bindings go in [global], [overview], [detail], [events] or [help]",
                section.get_ref()
            );
            return Err(doc.error(section.span().start, msg));
        };
        let mode = mode(doc, section)?;
        for (key, value) in entries {
            let (code, modifiers) = parse_key(key.get_ref()).map_err(|why| {
                doc.error(
                    key.span().start,
                    format!("bad key `{}` in [{}]: {why}", key.get_ref(), mode.as_str()),
                )
            })?;
            let action = action(doc, key, value)?;
            let same_key =
                |b: &Binding| b.mode == mode && b.code == code && b.modifiers == modifiers;
            if let Some(i) = bindings.iter().position(same_key) {
                let earlier = bindings.remove(i);
                if earlier.action != action {
                    conflicts.push(Conflict {
                        mode,
                        key: key_label(code, modifiers),
                        actions: vec![earlier.action.name(), action.name()],
                        file: doc.path.to_string(),
                        line: doc.line(key.span().start),
                    });
                }
            }
            bindings.push(Binding {
                mode,
                code,
                modifiers,
                action,
            });
        }
    }
    Ok((bindings, conflicts))
}

fn mode(doc: &Document, section: &Spanned<String>) -> Result<Mode, ConfigError> {
    let name = section.get_ref().as_str();
    Mode::ALL
        .into_iter()
        .find(|m| m.as_str() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = Mode::ALL.iter().map(|m| m.as_str()).collect();
            let msg = format!("unknown mode `{name}`{}", hint(name, names.iter().copied()));
            doc.error(section.span().start, msg)
        })
}

fn action(
    doc: &Document,
    key: &Spanned<String>,
    value: &Spanned<Node>,
) -> Result<Action, ConfigError> {
    let Node::Str(name) = value.get_ref() else {
        let msg = format!(
            "expected an action name for key `{}`, found {}",
            key.get_ref(),
            value.get_ref().kind()
        );
        return Err(doc.error(value.span().start, msg));
    };
    let parsed = Action::deserialize(StrDeserializer::<ValueError>::new(name)).ok();
    match parsed.filter(|a| Action::BINDABLE.contains(a)) {
        Some(action) => Ok(action),
        None => {
            let names: Vec<String> = Action::BINDABLE.iter().map(Action::name).collect();
            let hint = hint(name, names.iter().map(String::as_str));
            Err(doc.error(value.span().start, format!("unknown action `{name}`{hint}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        let doc = Document::parse("k.toml", text).unwrap();
        bindings(&doc).unwrap_err().to_string()
    }

    #[test]
    fn bindings_outside_a_mode_section_are_explained() {
        assert_eq!(
            error("q = \"quit\"\n"),
            "k.toml:1:1: `q` is not a mode section; bindings go in [global], [overview], [detail], [events] or [help]"
        );
    }

    #[test]
    fn internal_and_non_string_actions_are_rejected() {
        assert!(error("[global]\nx = \"tick\"\n").starts_with("k.toml:2:5: unknown action `tick`"));
        assert_eq!(
            error("[global]\nx = 1\n"),
            "k.toml:2:5: expected an action name for key `x`, found a number"
        );
    }
}
