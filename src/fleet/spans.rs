//! Where a value stands in a fleet file: the TOML read a second time with a span on every key and
//! value, so that a rejected value is named by file:line:column.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use toml::Spanned;

enum Node {
    Table(Vec<(Spanned<String>, Spanned<Node>)>),
    Array(Vec<Spanned<Node>>),
    Leaf,
}

/// One step of a path into the file: a key or an index of an array (`[[region]]`).
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

impl<'a> From<&'a str> for Step<'a> {
    fn from(k: &'a str) -> Self {
        Step::Key(k)
    }
}

impl From<usize> for Step<'_> {
    fn from(i: usize) -> Self {
        Step::Index(i)
    }
}

/// Finds the byte offset of a value by its path.
pub struct Spans {
    root: Option<Spanned<Node>>,
}

impl Spans {
    pub fn of(text: &str) -> Spans {
        Spans {
            root: toml::from_str::<Spanned<Node>>(text).ok(),
        }
    }

    /// Byte offset of the value at `path`, else of the deepest part of it that is in the file
    /// (a key left out takes its default: the table it belongs to is pointed at).
    pub fn offset(&self, path: &[Step]) -> usize {
        let Some(root) = &self.root else { return 0 };
        let mut node = root;
        let mut at = 0;
        for step in path {
            let next = match (step, node.get_ref()) {
                (Step::Key(k), Node::Table(entries)) => entries
                    .iter()
                    .find(|(key, _)| key.get_ref() == k)
                    .map(|(key, value)| {
                        at = key.span().start;
                        value
                    }),
                (Step::Index(i), Node::Array(items)) => items.get(*i),
                _ => None,
            };
            match next {
                Some(n) => {
                    node = n;
                    if matches!(step, Step::Index(_)) || !matches!(n.get_ref(), Node::Table(_)) {
                        at = n.span().start;
                    }
                }
                None => break,
            }
        }
        at
    }
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
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_string<E: de::Error>(self, _: String) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Leaf)
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
    fn finds_values_in_arrays_of_tables_and_inline_tables() {
        let text = "name = \"x\"\n[[region]]\nname = \"a\"\n[[region]]\nname = \"b\"\nsim = { tasks = 0 }\n";
        let spans = Spans::of(text);
        let at = |p: &[Step]| super::super::diagnose::line_col(text, spans.offset(p));
        assert_eq!(at(&["name".into()]), (1, 8));
        assert_eq!(at(&["region".into(), 1.into(), "name".into()]), (5, 8));
        assert_eq!(
            at(&["region".into(), 1.into(), "sim".into(), "tasks".into()]),
            (6, 17)
        );
        // A key left out: its table.
        assert_eq!(at(&["region".into(), 0.into(), "sim".into()]), (2, 1));
    }
}
