//! Key names as written in keymap files ("q", "?", "ctrl-c", "shift-tab", "pageup", "f5", "J")
//! and back. Shift is never stored: "shift-j" is `J`, "shift-tab" is `BackTab`, and a letter
//! under ctrl is lower case ("Ctrl-C" is "ctrl-c"), as terminals report them.

use super::did_you_mean;
use crossterm::event::{KeyCode, KeyModifiers};

const NAMED: &[(&str, KeyCode)] = &[
    ("enter", KeyCode::Enter),
    ("return", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("escape", KeyCode::Esc),
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("backspace", KeyCode::Backspace),
    ("space", KeyCode::Char(' ')),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("pageup", KeyCode::PageUp),
    ("pgup", KeyCode::PageUp),
    ("pagedown", KeyCode::PageDown),
    ("pgdn", KeyCode::PageDown),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("insert", KeyCode::Insert),
    ("ins", KeyCode::Insert),
    ("delete", KeyCode::Delete),
    ("del", KeyCode::Delete),
];

/// "ctrl-c", "shift-tab", "?", "enter", "f5" for a key.
pub fn key_label(code: KeyCode, modifiers: KeyModifiers) -> String {
    let mut s = String::new();
    if modifiers.contains(KeyModifiers::CONTROL) {
        s.push_str("ctrl-");
    }
    if modifiers.contains(KeyModifiers::ALT) {
        s.push_str("alt-");
    }
    let base = match code {
        KeyCode::Char(' ') => "space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "enter".into(),
        KeyCode::Esc => "esc".into(),
        KeyCode::Tab => "tab".into(),
        KeyCode::BackTab => "shift-tab".into(),
        KeyCode::Backspace => "backspace".into(),
        KeyCode::Up => "up".into(),
        KeyCode::Down => "down".into(),
        KeyCode::Left => "left".into(),
        KeyCode::Right => "right".into(),
        KeyCode::PageUp => "pageup".into(),
        KeyCode::PageDown => "pagedown".into(),
        KeyCode::Home => "home".into(),
        KeyCode::End => "end".into(),
        KeyCode::F(n) => format!("f{n}"),
        other => format!("{other:?}").to_lowercase(),
    };
    s.push_str(&base);
    s
}

/// Parses a key as written in a keymap file; the error says why it is not a key.
pub fn parse_key(s: &str) -> Result<(KeyCode, KeyModifiers), String> {
    let mut modifiers = KeyModifiers::NONE;
    let mut shift = false;
    let mut rest = s;
    // Modifiers are prefixes ending in '-'; what is left ("-" in "ctrl--") is the key.
    while let Some((head, tail)) = rest.split_once('-') {
        if tail.is_empty() {
            break;
        }
        match head.to_lowercase().as_str() {
            "ctrl" | "control" => modifiers |= KeyModifiers::CONTROL,
            "alt" | "meta" => modifiers |= KeyModifiers::ALT,
            "shift" => shift = true,
            _ => break,
        }
        rest = tail;
    }
    let mut chars = rest.chars();
    let code = match (chars.next(), chars.next()) {
        (None, _) => return Err("empty key name".into()),
        (Some(c), None) if shift && c.is_ascii_alphabetic() => KeyCode::Char(c.to_ascii_uppercase()),
        (Some(c), None) if shift => {
            return Err(format!("shift- goes with a letter or tab only; write the character itself instead of shift-{c}"))
        }
        (Some(c), None) if modifiers.contains(KeyModifiers::CONTROL) => KeyCode::Char(c.to_ascii_lowercase()),
        (Some(c), None) => KeyCode::Char(c),
        _ => {
            let lower = rest.to_lowercase();
            let code = match NAMED.iter().find(|(n, _)| *n == lower) {
                Some((_, code)) => *code,
                None => function_key(&lower).ok_or_else(|| {
                    let hint = did_you_mean(&lower, NAMED.iter().map(|(n, _)| *n));
                    format!("unknown key name `{rest}`{hint}")
                })?,
            };
            match (shift, code) {
                (false, code) => code,
                (true, KeyCode::Tab | KeyCode::BackTab) => KeyCode::BackTab,
                (true, _) => return Err(format!("shift- goes with a letter or tab only, not `{rest}`")),
            }
        }
    };
    Ok((code, modifiers))
}

fn function_key(name: &str) -> Option<KeyCode> {
    let n: u8 = name.strip_prefix('f')?.parse().ok()?;
    (1..=24).contains(&n).then_some(KeyCode::F(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_back_to_the_same_key() {
        for s in [
            "q",
            "?",
            "J",
            "ctrl-c",
            "alt-x",
            "shift-tab",
            "enter",
            "esc",
            "space",
            "pageup",
            "f5",
            "-",
            "ctrl--",
        ] {
            let (code, mods) = parse_key(s).unwrap();
            assert_eq!(key_label(code, mods), s);
        }
    }

    #[test]
    fn spellings_of_one_key_agree() {
        assert_eq!(parse_key("Ctrl-C"), parse_key("ctrl-c"));
        assert_eq!(parse_key("backtab"), parse_key("shift-tab"));
        assert_eq!(parse_key("shift-j"), parse_key("J"));
        assert_eq!(parse_key("PgUp"), parse_key("pageup"));
        assert_ne!(parse_key("j"), parse_key("J"));
    }

    #[test]
    fn bad_keys_say_why() {
        assert!(parse_key("entr")
            .unwrap_err()
            .contains("did you mean `enter`"));
        assert!(parse_key("f25").is_err());
        assert!(parse_key("shift-up").is_err());
        assert!(parse_key("").is_err());
    }
}
