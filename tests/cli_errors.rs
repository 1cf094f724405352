//! What a newcomer meets on the command line, and output that nobody reads any more: the real
//! binary, each case an exit code and a message (never a raw SDK error, never a panic).

use std::path::Path;
use std::process::{Command, Output, Stdio};

const START: &str = "2026-11-22T12:00:00Z";
/// 03:00 UTC is quiet everywhere: draining ap-southeast-1 leaves the survivors room
/// (at noon the survivor-capacity guard refuses it, as it should).
const QUIET: &str = "2026-11-22T03:00:00Z";

/// opsdeck with no AWS credentials anywhere and a private state and config dir.
fn opsdeck(args: &[&str], dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    c.args(args)
        .env("HOME", dir)
        .env("OPSDECK_STATE_DIR", dir)
        .env("OPSDECK_CONFIG", dir.join("config"))
        .env("AWS_CONFIG_FILE", dir.join("nonexistent-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.join("nonexistent-credentials"),
        )
        // Never ask instance metadata (169.254.169.254) from a test.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    for v in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_ENDPOINT_URL",
        "OPSDECK_THEME",
        "OPSDECK_KEYMAP",
        "NO_COLOR",
    ] {
        c.env_remove(v);
    }
    c
}

fn run(args: &[&str], dir: &Path) -> Output {
    opsdeck(args, dir).output().expect("run opsdeck")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn every_command_without_credentials_says_how_to_provide_them_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = ["--fleet", "fleets/kaldrix.toml"];
    // Nothing listens on port 9: any call that got through would fail with a connector error.
    let closed = ["--endpoint-url", "http://127.0.0.1:9"];
    let cases: Vec<Vec<&str>> = vec![
        // The repro: a fleet file without --sim reads AWS.
        [&["simulate", "--fail", "us-east-1"][..], &fleet].concat(),
        [&["simulate", "--fail", "us-east-1"][..], &fleet, &closed].concat(),
        [&["act", "drain", "--region", "us-east-1"][..], &fleet].concat(),
        [
            &["act", "drain", "--region", "us-east-1"][..],
            &fleet,
            &closed,
        ]
        .concat(),
        [
            &[
                "act",
                "scale",
                "--region",
                "us-east-1",
                "--nodegroup",
                "kaldrix-api",
                "--desired",
                "4",
            ][..],
            &fleet,
            &closed,
        ]
        .concat(),
        [
            &["act", "promote", "--region", "us-west-2"][..],
            &fleet,
            &closed,
        ]
        .concat(),
        [
            &["act", "restore", "--region", "us-east-1", "--weight", "50"][..],
            &fleet,
            &closed,
        ]
        .concat(),
        [&["snapshot"][..], &fleet, &closed].concat(),
        [&["discover", "--regions", "us-east-1"][..], &closed].concat(),
    ];
    for args in cases {
        let out = run(&args, dir.path());
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        for hint in [
            "no AWS credentials",
            "AWS_ACCESS_KEY_ID",
            "--profile",
            "aws sso login",
        ] {
            assert!(err.contains(hint), "{args:?} should mention {hint}: {err}");
        }
        if args.contains(&"--fleet") {
            assert!(
                err.contains("add --sim"),
                "{args:?} reminds of --sim: {err}"
            );
        }
        for raw in ["DispatchFailure", "ConnectorError", "panicked"] {
            assert!(!err.contains(raw), "{args:?}: {err}");
        }
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
    }
}

#[test]
fn an_unknown_theme_or_keymap_is_exit_2_naming_the_known_ones_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    // The console checks the look before it touches the terminal, so no terminal is needed here.
    for (args, env, names) in [
        (
            vec!["--theme", "nosuch"],
            None,
            "colorblind, default, light, mono",
        ),
        (
            vec![],
            Some(("OPSDECK_THEME", "nosuch")),
            "colorblind, default, light, mono",
        ),
        (vec!["--keymap", "nosuch"], None, "default, vim"),
        (vec![], Some(("OPSDECK_KEYMAP", "nosuch")), "default, vim"),
    ] {
        let mut c = opsdeck(&args, dir.path());
        if let Some((k, v)) = env {
            c.env(k, v);
        }
        let out = c.stdin(Stdio::null()).output().unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {err}");
        assert!(
            err.contains("`nosuch`") && err.contains(names),
            "{args:?} {env:?}: {err}"
        );
    }
    // Commands that draw nothing take no --theme or --keymap: bad usage too, not a silent 0.
    for args in [
        vec!["snapshot", "--theme", "nosuch"],
        vec!["simulate", "--fail", "eu-west-1", "--keymap", "nosuch"],
    ] {
        let out = run(&args, dir.path());
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains("unexpected argument"),
            "{args:?}"
        );
    }
}

/// Run opsdeck with standard output a pipe whose reading end is already closed.
fn into_closed_pipe(args: &[&str], dir: &Path) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let child = opsdeck(args, dir)
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_pipe_ends_every_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let audit = audit.to_str().unwrap();
    for args in [
        vec!["snapshot", "--format", "json", "--start", START],
        vec!["snapshot", "--start", START],
        vec!["simulate", "--fail", "eu-west-1", "--start", START],
        vec!["simulate", "--fail", "eu-west-1", "--format", "json"],
        vec![
            "act",
            "drain",
            "--region",
            "eu-west-1",
            "--audit-log",
            audit,
        ],
        vec![
            "act",
            "drain",
            "--region",
            "eu-west-1",
            "--format",
            "json",
            "--audit-log",
            audit,
        ],
        vec!["--help"],
        vec!["snapshot", "--help"],
    ] {
        let out = into_closed_pipe(&args, dir.path());
        let err = text(&out.stderr);
        assert_ne!(out.status.code(), Some(101), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?} says nothing: {err}");
    }
    let log = std::fs::read_to_string(dir.path().join("opsdeck.log")).unwrap();
    assert!(!log.contains("panic"), "{log}");
    assert!(log.contains("standard output closed"), "{log}");
}

#[test]
fn an_executed_operation_reports_its_result_even_when_nobody_reads_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let args = [
        "act",
        "drain",
        "--region",
        "ap-southeast-1",
        "--execute",
        "--confirm",
        "ap-southeast-1",
        "--start",
        QUIET,
        "--audit-log",
        audit.to_str().unwrap(),
    ];
    let out = into_closed_pipe(&args, dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let records = std::fs::read_to_string(&audit).unwrap();
    assert!(records.contains("\"ended\""), "{records}");
    // A refusal still exits 1 with its reason on stderr.
    let args = [
        "--read-only",
        "act",
        "drain",
        "--region",
        "ap-southeast-1",
        "--execute",
        "--confirm",
        "ap-southeast-1",
        "--start",
        START,
        "--audit-log",
        audit.to_str().unwrap(),
    ];
    let out = into_closed_pipe(&args, dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("refused"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_closed_stderr_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    for (args, code) in [
        // The error message has nowhere to go: the exit code still says what happened.
        (vec!["--theme", "nosuch"], 2),
        (
            vec![
                "simulate",
                "--fail",
                "us-east-1",
                "--fleet",
                "fleets/kaldrix.toml",
            ],
            2,
        ),
        // The console against AWS says "connecting…" before it needs a terminal (there is none
        // here, so it then fails with exit 1).
        (
            vec![
                "--fleet",
                "fleets/kaldrix.toml",
                "--endpoint-url",
                "http://127.0.0.1:9",
            ],
            1,
        ),
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = opsdeck(&args, dir.path())
            .stdin(Stdio::null())
            .stderr(writer)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}");
    }
    let log = std::fs::read_to_string(dir.path().join("opsdeck.log")).unwrap();
    assert!(!log.contains("panic"), "{log}");
}
