//! Themes and keymaps: built-ins load and meet their promises, user files merge over them, broken
//! files are reported with path, line, column and reason, conflicting bindings are reported.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::app::Action;
use opsdeck::config::{ConfigError, Keymap, Mode, Theme};
use ratatui::style::{Color, Modifier, Style};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config")
}

const NONE: KeyModifiers = KeyModifiers::NONE;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;

fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, modifiers)
}

fn all_styles(t: &Theme) -> Vec<(&'static str, Style)> {
    let mut styles = vec![
        ("text", t.text),
        ("muted", t.muted),
        ("border", t.border),
        ("border_focus", t.border_focus),
        ("title", t.title),
        ("header", t.header),
        ("accent", t.accent),
        ("ok", t.ok),
        ("warn", t.warn),
        ("crit", t.crit),
        ("unknown", t.unknown),
        ("stale", t.stale),
        ("selection", t.selection),
        ("sparkline", t.sparkline),
    ];
    styles.extend(t.chart.iter().map(|s| ("chart", *s)));
    styles
}

/// Rough hue family of a colour, enough to tell a red/green pair.
fn is_reddish(c: Color) -> bool {
    match c {
        Color::Red | Color::LightRed => true,
        Color::Rgb(r, g, b) => r as i32 > g as i32 + 60 && r as i32 > b as i32 + 60,
        _ => false,
    }
}
fn is_greenish(c: Color) -> bool {
    match c {
        Color::Green | Color::LightGreen => true,
        Color::Rgb(r, g, b) => g as i32 > r as i32 + 40 && g as i32 > b as i32 + 40,
        _ => false,
    }
}

/// Relative luminance 0..1 of a colour given as #rrggbb, or of black/white by name.
fn luminance(c: Color) -> Option<f64> {
    let lin = |v: u8| {
        let v = v as f64 / 255.0;
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    match c {
        Color::Rgb(r, g, b) => Some(0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)),
        Color::Black => Some(0.0),
        Color::White => Some(1.0),
        _ => None,
    }
}

#[test]
fn every_builtin_theme_and_keymap_loads_without_conflicts() {
    assert_eq!(
        Theme::builtin_names(),
        ["default", "mono", "colorblind", "light"]
    );
    for name in Theme::builtin_names() {
        let theme = Theme::load(name, None).unwrap_or_else(|e| panic!("theme {name}: {e}"));
        assert_eq!(theme.name, name);
        assert!(!theme.chart.is_empty(), "{name} has chart colours");
    }
    assert_eq!(Keymap::builtin_names(), ["default", "vim"]);
    for name in Keymap::builtin_names() {
        let (keymap, conflicts) =
            Keymap::load(name, None).unwrap_or_else(|e| panic!("keymap {name}: {e}"));
        assert_eq!(keymap.name, name);
        assert!(conflicts.is_empty(), "{name}: {conflicts:?}");
    }
}

#[test]
fn mono_theme_has_no_colour_and_marks_states_otherwise() {
    let mono = Theme::load("mono", None).unwrap();
    for (key, style) in all_styles(&mono) {
        for c in [style.fg, style.bg] {
            assert!(
                matches!(c, None | Some(Color::Reset)),
                "mono `{key}` has colour {c:?}"
            );
        }
    }
    let states = [mono.ok, mono.warn, mono.crit, mono.unknown, mono.stale];
    for (i, a) in states.iter().enumerate() {
        for b in &states[i + 1..] {
            assert_ne!(
                a.add_modifier, b.add_modifier,
                "two states share the same modifiers"
            );
        }
    }
    let s = &mono.symbols;
    let symbols = [&s.ok, &s.warn, &s.crit, &s.unknown, &s.stale];
    for (i, a) in symbols.iter().enumerate() {
        assert!(!symbols[i + 1..].contains(a), "symbol {a} used twice");
    }
}

#[test]
fn colorblind_theme_never_tells_state_by_red_versus_green() {
    let t = Theme::load("colorblind", None).unwrap();
    let states = [
        ("ok", t.ok, &t.symbols.ok),
        ("warn", t.warn, &t.symbols.warn),
        ("crit", t.crit, &t.symbols.crit),
    ];
    for (i, (a, sa, ya)) in states.iter().enumerate() {
        for (b, sb, yb) in &states[i + 1..] {
            assert_ne!(ya, yb, "{a} and {b} share a symbol");
            let (fa, fb) = (sa.fg.unwrap(), sb.fg.unwrap());
            let red_green =
                (is_reddish(fa) && is_greenish(fb)) || (is_greenish(fa) && is_reddish(fb));
            assert!(
                !red_green,
                "{a} ({fa:?}) and {b} ({fb:?}) are a red/green pair"
            );
        }
    }
    // The default theme is a red/green pair, which is why the colour-blind theme exists.
    let d = Theme::load("default", None).unwrap();
    assert!(is_greenish(d.ok.fg.unwrap()) && is_reddish(d.crit.fg.unwrap()));
}

#[test]
fn light_theme_text_is_dark_and_nothing_is_white_or_yellow() {
    let t = Theme::load("light", None).unwrap();
    let text = luminance(t.text.fg.expect("light text has a colour"))
        .expect("text colour is black or #rrggbb");
    assert!(text < 0.1, "text luminance {text}");
    for (key, style) in all_styles(&t) {
        let Some(fg) = style.fg else { continue };
        assert!(
            !matches!(
                fg,
                Color::White | Color::Yellow | Color::LightYellow | Color::Gray
            ),
            "`{key}` is {fg:?} on a light background"
        );
        // Without its own background, a foreground must stand out from white (contrast ≥ 3:1).
        if style.bg.is_none() {
            let l =
                luminance(fg).unwrap_or_else(|| panic!("`{key}`: use #rrggbb in the light theme"));
            assert!((1.05) / (l + 0.05) >= 3.0, "`{key}` ({fg:?}) is too light");
        }
    }
}

/// (keymap, mode, key, modifiers as terminals report them, expected action)
type Case = (&'static str, Mode, KeyCode, KeyModifiers, Action);

fn assert_lookups(cases: &[Case]) {
    for (name, mode, code, mods, want) in cases {
        let (km, _) = Keymap::load(name, None).unwrap();
        let got = km.lookup(*mode, &key(*code, *mods));
        assert_eq!(
            got.as_ref(),
            Some(want),
            "{name} [{mode:?}] {code:?} {mods:?}"
        );
    }
}

#[test]
fn help_and_quit_keys_are_the_same_in_both_keymaps() {
    let mut cases: Vec<Case> = Vec::new();
    for name in Keymap::builtin_names() {
        for mode in Mode::ALL {
            // Terminals report '?' with SHIFT; lookup must not care.
            cases.push((name, mode, KeyCode::Char('?'), SHIFT, Action::Help));
            cases.push((name, mode, KeyCode::Char('q'), NONE, Action::Quit));
            cases.push((name, mode, KeyCode::Char('c'), CTRL, Action::Quit));
        }
        let (km, _) = Keymap::load(name, None).unwrap();
        for action in Action::BINDABLE {
            let bound = km.bindings.iter().any(|b| &b.action == action);
            assert!(bound, "{name} does not bind {action:?}");
        }
    }
    assert_lookups(&cases);
}

#[test]
fn keymaps_move_between_regions_as_documented() {
    use KeyCode::*;
    assert_lookups(&[
        ("default", Mode::Overview, Tab, NONE, Action::NextRegion),
        (
            "default",
            Mode::Overview,
            BackTab,
            SHIFT,
            Action::PrevRegion,
        ),
        ("default", Mode::Overview, Enter, NONE, Action::OpenDetail),
        ("default", Mode::Detail, Esc, NONE, Action::Back),
        (
            "default",
            Mode::Detail,
            Char('+'),
            SHIFT,
            Action::NextWindow,
        ),
        ("default", Mode::Events, Down, NONE, Action::ScrollDown),
        ("vim", Mode::Overview, Char('l'), NONE, Action::NextRegion),
        ("vim", Mode::Events, Char('d'), CTRL, Action::ScrollDown),
        ("vim", Mode::Help, Char('u'), CTRL, Action::ScrollUp),
        // 'K' (next keymap) and 'k' (previous region) are different keys.
        ("vim", Mode::Overview, Char('K'), SHIFT, Action::NextKeymap),
        ("vim", Mode::Overview, Char('k'), NONE, Action::PrevRegion),
    ]);
}

#[test]
fn help_rows_follow_bindable_order_and_join_keys() {
    let (km, _) = Keymap::load("default", None).unwrap();
    let rows = km.help_rows();
    let global: Vec<&Action> = rows
        .iter()
        .filter(|r| r.0 == Mode::Global)
        .map(|r| &r.2)
        .collect();
    assert_eq!(global.first(), Some(&&Action::Help));
    assert_eq!(global.get(1), Some(&&Action::Quit));
    let quit = rows
        .iter()
        .find(|r| r.0 == Mode::Global && r.2 == Action::Quit)
        .unwrap();
    assert_eq!(quit.1, "q, ctrl-c");
    let next = rows
        .iter()
        .find(|r| r.0 == Mode::Overview && r.2 == Action::NextRegion)
        .unwrap();
    assert_eq!(next.1, "tab, right, down");
    let modes: Vec<Mode> = rows.iter().map(|r| r.0).collect();
    assert!(
        modes.windows(2).all(|w| w[0] <= w[1]),
        "rows grouped by mode in Mode::ALL order"
    );
}

#[test]
fn user_theme_merges_over_the_builtin_and_new_names_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("themes")).unwrap();
    std::fs::write(
        dir.path().join("themes/default.toml"),
        "crit = { fg = \"#ff5555\", modifiers = [\"bold\"] }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("themes/night.toml"),
        "ok = \"light-blue\"\n[symbols]\nok = \"+\"\n",
    )
    .unwrap();

    let builtin = Theme::load("default", None).unwrap();
    let merged = Theme::load("default", Some(dir.path())).unwrap();
    assert_eq!(
        merged.crit,
        Style::default()
            .fg(Color::Rgb(0xff, 0x55, 0x55))
            .add_modifier(Modifier::BOLD)
    );
    assert_ne!(merged.crit, builtin.crit);
    assert_eq!(
        Theme {
            crit: builtin.crit,
            ..merged.clone()
        },
        builtin,
        "only crit changed"
    );

    let night = Theme::load("night", Some(dir.path())).unwrap();
    assert_eq!(night.name, "night");
    assert_eq!(night.ok.fg, Some(Color::LightBlue));
    assert_eq!(night.symbols.ok, "+");
    assert_eq!(night.warn, builtin.warn, "a new theme starts from default");

    let available = Theme::available(Some(dir.path()));
    assert_eq!(
        available,
        ["colorblind", "default", "light", "mono", "night"]
    );
    assert!(!Theme::available(None).contains(&"night".to_string()));
    let err = Theme::load("nightt", Some(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unknown theme `nightt`") && err.contains("night"),
        "{err}"
    );
}

#[test]
fn user_keymap_merges_over_the_builtin() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("keymaps")).unwrap();
    std::fs::write(
        dir.path().join("keymaps/default.toml"),
        "[overview]\n\"n\" = \"next_region\"\n\"tab\" = \"events\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("keymaps/mine.toml"),
        "[global]\n\"x\" = \"refresh\"\n",
    )
    .unwrap();

    let (km, conflicts) = Keymap::load("default", Some(dir.path())).unwrap();
    assert!(
        conflicts.is_empty(),
        "overriding a built-in binding is not a conflict: {conflicts:?}"
    );
    let press = |c| key(c, KeyModifiers::NONE);
    assert_eq!(
        km.lookup(Mode::Overview, &press(KeyCode::Char('n'))),
        Some(Action::NextRegion)
    );
    assert_eq!(
        km.lookup(Mode::Overview, &press(KeyCode::Tab)),
        Some(Action::Events)
    );
    assert_eq!(
        km.lookup(Mode::Overview, &press(KeyCode::Right)),
        Some(Action::NextRegion),
        "kept"
    );

    let (mine, _) = Keymap::load("mine", Some(dir.path())).unwrap();
    assert_eq!(
        mine.lookup(Mode::Detail, &press(KeyCode::Char('x'))),
        Some(Action::Refresh)
    );
    assert_eq!(
        mine.lookup(Mode::Detail, &press(KeyCode::Char('?'))),
        Some(Action::Help),
        "from default"
    );
    assert_eq!(
        Keymap::available(Some(dir.path())),
        ["default", "mine", "vim"]
    );
}

/// Loads a broken fixture and checks the message names the file, the position and the reason.
fn assert_broken(err: ConfigError, file: &str, line: usize, column: usize, reason: &str) {
    let path = fixtures().join(file).display().to_string();
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("{path}:{line}:{column}: ")),
        "{msg}\nexpected {path}:{line}:{column}"
    );
    assert!(msg.contains(reason), "{msg}\nexpected reason {reason}");
    assert_eq!(err.position(), Some((line, column)));
}

#[test]
fn broken_theme_files_are_reported_with_path_line_column_and_reason() {
    let dir = fixtures();
    let err = Theme::load("bad-syntax", Some(&dir)).unwrap_err();
    assert!(matches!(err, ConfigError::Syntax { .. }), "{err:?}");
    let cases = [
        ("bad-syntax", 3, 12, "invalid basic string"),
        (
            "bad-colour",
            3,
            8,
            "unknown colour `blu` for key `crit` (expected a colour name or #rrggbb)",
        ),
        (
            "bad-modifier",
            2,
            46,
            "unknown modifier `blink` for key `warn`",
        ),
    ];
    for (name, line, column, reason) in cases {
        let err = Theme::load(name, Some(&dir)).unwrap_err();
        assert_broken(err, &format!("themes/{name}.toml"), line, column, reason);
    }
}

#[test]
fn broken_keymap_files_are_reported_with_path_line_column_and_reason() {
    let dir = fixtures();
    let cases = [
        ("bad-syntax", 3, 1, "duplicate key `x`"),
        (
            "bad-action",
            3,
            9,
            "unknown action `quiet` (did you mean `quit`?)",
        ),
        (
            "bad-mode",
            4,
            2,
            "unknown mode `overveiw` (did you mean `overview`?)",
        ),
        (
            "bad-key",
            3,
            1,
            "bad key `ctrl-entr` in [overview]: unknown key name `entr`",
        ),
    ];
    for (name, line, column, reason) in cases {
        let err = Keymap::load(name, Some(&dir)).unwrap_err();
        assert_broken(err, &format!("keymaps/{name}.toml"), line, column, reason);
    }
}

#[test]
fn conflicting_bindings_are_reported_with_mode_and_key() {
    let (km, conflicts) = Keymap::load("conflicts", Some(&fixtures())).unwrap();
    let path = fixtures().join("keymaps/conflicts.toml");
    let path = path.display();
    let shown: Vec<String> = conflicts.iter().map(|c| c.to_string()).collect();
    assert_eq!(
        shown,
        [
            format!("{path}:5: `ctrl-c` in [global] bound to both quit and refresh"),
            format!(
                "{path}:9: `shift-tab` in [overview] bound to both prev_region and next_region"
            ),
        ]
    );
    let where_: Vec<(Mode, &str)> = conflicts.iter().map(|c| (c.mode, c.key.as_str())).collect();
    assert_eq!(
        where_,
        [(Mode::Global, "ctrl-c"), (Mode::Overview, "shift-tab")]
    );
    // The later binding wins; shadowing a global key in a mode is not a conflict.
    let on = |mode, code, mods| km.lookup(mode, &key(code, mods));
    assert_eq!(
        on(Mode::Detail, KeyCode::Char('c'), CTRL),
        Some(Action::Refresh)
    );
    assert_eq!(
        on(Mode::Overview, KeyCode::BackTab, SHIFT),
        Some(Action::NextRegion)
    );
    assert_eq!(
        on(Mode::Overview, KeyCode::Char('r'), NONE),
        Some(Action::NextTheme)
    );
    assert_eq!(
        on(Mode::Detail, KeyCode::Char('r'), NONE),
        Some(Action::Refresh)
    );
}

#[test]
fn environment_chooses_config_dir_and_no_color_theme() {
    // The only test that touches the environment, so no other test can race with it.
    std::env::set_var("OPSDECK_CONFIG", "/tmp/opsdeck-test-config");
    assert_eq!(
        opsdeck::config::config_dir(),
        Some(PathBuf::from("/tmp/opsdeck-test-config"))
    );
    std::env::remove_var("OPSDECK_CONFIG");
    let dir = opsdeck::config::config_dir();
    assert!(
        dir.as_ref().is_none_or(|d| d.ends_with("opsdeck")),
        "{dir:?}"
    );

    std::env::set_var("NO_COLOR", "1");
    assert_eq!(Theme::default_name(), "mono");
    std::env::set_var("NO_COLOR", "");
    assert_eq!(Theme::default_name(), "default");
    std::env::remove_var("NO_COLOR");
    assert_eq!(Theme::default_name(), "default");
}

/// Pressing the theme key with a broken user theme next: `update` asks for it, the console's
/// loader fails and keeps the theme in use, and the report puts the state back and says where.
#[test]
fn switching_to_a_broken_theme_keeps_the_current_one_and_says_why() {
    use opsdeck::app::{update, Action, Effect, State};
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("themes")).unwrap();
    std::fs::write(
        dir.path().join("themes/zz.toml"),
        "ok = \"no-such-colour\"\n",
    )
    .unwrap();
    let fleet = opsdeck::fleet::Fleet::builtin();
    let mut state = State::new(fleet, opsdeck::fleet::SourceKind::Sim, chrono::Utc::now());
    state.theme_names = vec!["default".into(), "zz".into()];
    let mut theme = Theme::load("default", Some(dir.path())).unwrap();
    let before = theme.clone();
    let effects = update(&mut state, Action::NextTheme);
    let [Effect::LoadTheme(name)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let report = opsdeck::console::switch_theme(name, &mut theme, Some(dir.path()))
        .expect("a broken theme is reported");
    assert_eq!(theme, before, "the theme in use stays");
    update(&mut state, report);
    assert_eq!(state.theme_name(), "default");
    let flash = state.flash.clone().unwrap();
    assert!(flash.contains("zz.toml:1:6"), "{flash}");
    assert!(flash.contains("no-such-colour"), "{flash}");
    // A good one loads and says nothing more.
    let (mut keymap, _) = Keymap::load("default", None).unwrap();
    assert_eq!(
        opsdeck::console::switch_keymap("vim", &mut keymap, None),
        None
    );
    assert_eq!(keymap.name, "vim");
}
