//! A TOML document read with byte spans on every key and value, so that semantic errors
//! (unknown colour, unknown action, bad key) can name the line and column they come from.

use super::ConfigError;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use toml::Spanned;

/// One TOML value; tables keep their keys in file order.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Str(String),
    Table(Vec<(Spanned<String>, Spanned<Node>)>),
    Array(Vec<Spanned<Node>>),
    /// A number or boolean: never meaningful in a theme or keymap.
    Other(&'static str),
}

impl Node {
    /// What the value is, for "expected …, found …" messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Node::Str(_) => "a string",
            Node::Table(_) => "a table",
            Node::Array(_) => "an array",
            Node::Other(k) => k,
        }
    }
}

/// A parsed file: its path as given, its text (for line/column) and its root table.
pub(crate) struct Document<'a> {
    pub path: &'a str,
    pub text: &'a str,
    pub root: Vec<(Spanned<String>, Spanned<Node>)>,
}

impl<'a> Document<'a> {
    pub(crate) fn parse(path: &'a str, text: &'a str) -> Result<Document<'a>, ConfigError> {
        match toml::from_str::<Node>(text) {
            Ok(Node::Table(root)) => Ok(Document { path, text, root }),
            Ok(other) => Err(ConfigError::Syntax {
                path: path.to_string(),
                line: 1,
                column: 1,
                message: format!("expected a table, found {}", other.kind()),
            }),
            Err(e) => {
                let offset = e.span().map_or(0, |s| s.start);
                let (line, column) = line_col(text, offset);
                let mut message = crate::fleet::diagnose::message(text, offset, e.message());
                if message.contains("$__toml_private_datetime") {
                    // toml hands dates over as a private table that cannot carry a span.
                    message = "a date is not valid here".into();
                }
                Err(ConfigError::Syntax {
                    path: path.to_string(),
                    line,
                    column,
                    message,
                })
            }
        }
    }

    /// A semantic error at byte `offset` of this document.
    pub(crate) fn error(&self, offset: usize, message: impl Into<String>) -> ConfigError {
        let (line, column) = line_col(self.text, offset);
        ConfigError::Invalid {
            path: self.path.to_string(),
            line,
            column,
            // A message may quote the file: never hand its control characters to a terminal.
            message: crate::fleet::text::clean(&message.into()).into_owned(),
        }
    }

    /// The 1-based line of byte `offset`.
    pub(crate) fn line(&self, offset: usize) -> usize {
        line_col(self.text, offset).0
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    crate::fleet::diagnose::line_col(text, offset)
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a TOML value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Other("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Other("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Other("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Other("a number"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<Spanned<Node>>()?;
            entries.push((key, value));
        }
        Ok(Node::Table(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = "a = 1\nsym = \"✖\" x";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, text.find("x").unwrap()), (2, 11));
    }

    #[test]
    fn numbers_are_kept_and_dates_rejected_where_they_stand() {
        let doc = Document::parse("t.toml", "n = 3\nb = true\n").unwrap();
        let kinds: Vec<&str> = doc.root.iter().map(|(_, v)| v.get_ref().kind()).collect();
        assert_eq!(kinds, ["a number", "a boolean"]);
        let err = Document::parse("t.toml", "ok = 1\nwhen = 1979-05-27\n")
            .err()
            .unwrap();
        assert_eq!(err.to_string(), "t.toml:2:8: a date is not valid here");
    }
}
