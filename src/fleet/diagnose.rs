//! Words for every rejection of a TOML file (fleet, theme, keymap): the parser sometimes gives an
//! empty message (a control character in a comment), and a file that is not UTF-8 has no text to
//! point into. Both get a line, a column and a sentence here.

use std::path::Path;

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// A file's text, or why it has none: `Err((line, column, message))` when it is not UTF-8.
pub fn decode(bytes: Vec<u8>) -> Result<String, (usize, usize, String)> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let valid = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
        let (line, column) = line_col(valid, at);
        (
            line,
            column,
            format!(
                "the file is not valid UTF-8: byte 0x{:02x} cannot start or continue a character",
                bytes[at]
            ),
        )
    })
}

/// Read a file's text: `Ok(Err(..))` when it is there but not UTF-8.
pub fn read(path: &Path) -> std::io::Result<Result<String, (usize, usize, String)>> {
    std::fs::read(path).map(decode)
}

/// The parser's message, or, when it has none, what stands at `offset` in words.
pub fn message(text: &str, offset: usize, parser_message: &str) -> String {
    let message = parser_message.trim();
    let found = text.get(offset..).and_then(|rest| rest.chars().next());
    let describe = |c: char| match c {
        c if c.is_control() || super::text::is_hostile_text(c.encode_utf8(&mut [0; 4])) => {
            format!("control character U+{:04X} is not allowed here", c as u32)
        }
        c => format!("unexpected `{c}`"),
    };
    if !message.is_empty() {
        let mut m = super::text::clean(message).into_owned();
        if m.trim().is_empty() {
            m = "invalid TOML".into();
        }
        return m;
    }
    match found {
        Some(c) => format!("invalid TOML: {}", describe(c)),
        None => "invalid TOML: the file ends too early".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_names_its_line_and_column() {
        let (line, column, message) = decode(b"name = \"x\"\n# caf\xe9\n".to_vec()).unwrap_err();
        assert_eq!((line, column), (2, 6));
        assert!(
            message.contains("not valid UTF-8") && message.contains("0xe9"),
            "{message}"
        );
    }

    #[test]
    fn an_empty_parser_message_gets_words() {
        let text = "name = \"x\"\n# \u{7}\n";
        let m = message(text, text.find('\u{7}').unwrap(), "");
        assert_eq!(
            m,
            "invalid TOML: control character U+0007 is not allowed here"
        );
        assert_eq!(message(text, 0, " expected `=` "), "expected `=`");
    }
}
