//! Issue 9, point 5: theme and keymap files rejected with file:line:column and words, control
//! characters and invalid UTF-8 included.

use opsdeck::config::{Keymap, Theme};

fn user_dir(sub: &str, name: &str, bytes: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(sub)).unwrap();
    std::fs::write(dir.path().join(sub).join(format!("{name}.toml")), bytes).unwrap();
    dir
}

fn theme_error(bytes: &[u8]) -> String {
    let dir = user_dir("themes", "mine", bytes);
    Theme::load("mine", Some(dir.path()))
        .unwrap_err()
        .to_string()
}

fn keymap_error(bytes: &[u8]) -> String {
    let dir = user_dir("keymaps", "mine", bytes);
    Keymap::load("mine", Some(dir.path()))
        .map(|_| ())
        .unwrap_err()
        .to_string()
}

/// `…/NAME.toml:LINE:COL: message` with a message that has words.
fn assert_located(err: &str, line_col: &str, words: &str) {
    let (_, rest) = err
        .split_once(&format!(".toml:{line_col}: "))
        .unwrap_or_else(|| panic!("no .toml:{line_col}: in `{err}`"));
    assert!(rest.trim().len() > 5, "empty message: `{err}`");
    assert!(rest.contains(words), "`{err}` lacks `{words}`");
    assert!(!err.contains('\u{7}'), "raw BEL in `{err}`");
}

#[test]
fn a_bel_in_a_comment_is_reported_in_words() {
    assert_located(&theme_error(b"# a theme\n# \x07\n"), "2:3", "U+0007");
    assert_located(&keymap_error(b"# \x07\n"), "1:3", "U+0007");
}

#[test]
fn invalid_utf8_names_its_line() {
    assert_located(
        &theme_error(b"# ok\n\n\n# caf\xe9\n"),
        "4:6",
        "not valid UTF-8",
    );
    assert_located(&keymap_error(b"\xff\n"), "1:1", "not valid UTF-8");
}

#[test]
fn escape_sequences_quoted_in_a_message_are_stripped() {
    let err = theme_error(b"text = \"\\u001b]0;PWNED\\u0007red\"\n");
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
}
