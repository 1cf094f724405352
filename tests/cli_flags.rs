//! The real binary's flags: each command's `--help` lists exactly the flags it uses, and a flag
//! may be given before or after the subcommand.

use std::collections::BTreeSet;
use std::process::{Command, Output};

const START: &str = "2026-11-22T12:00:00Z";

fn opsdeck(args: &[&str], state_dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(args)
        .env("OPSDECK_STATE_DIR", state_dir)
        .env("OPSDECK_CONFIG", state_dir.join("config"))
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env_remove("OPSDECK_THEME")
        .env_remove("OPSDECK_KEYMAP")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run opsdeck")
}

/// The long flags in the options list of `opsdeck ARGS --help`.
fn help_flags(args: &[&str]) -> BTreeSet<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut all = args.to_vec();
    all.push("--help");
    let out = opsdeck(&all, dir.path());
    assert!(out.status.success(), "{all:?}");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let flags: BTreeSet<String> = text
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
        .filter_map(|l| l.split([' ', ',', '=']).find(|w| w.starts_with("--")))
        .map(|w| w.trim_start_matches("--").to_string())
        .collect();
    assert!(
        flags.contains("help"),
        "{all:?}: no options list in\n{text}"
    );
    flags
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

const FLEET: &[&str] = &["fleet", "sim"];
const SIM: &[&str] = &["seed", "start", "scenario"];
const AWS: &[&str] = &["profile", "endpoint-url"];
const OPS: &[&str] = &["read-only", "allow-actions", "audit-log"];
const LOOK: &[&str] = &["theme", "keymap", "no-mouse"];

#[test]
fn each_help_lists_exactly_the_flags_its_command_uses() {
    let groups = |gs: &[&[&str]], own: &[&str]| {
        let mut s = set(own);
        for g in gs {
            s.extend(set(g));
        }
        s.insert("help".into());
        s
    };
    let run = [
        "execute",
        "confirm",
        "override",
        "confirm-override",
        "format",
        "after",
        "wait-s",
        "wait",
    ];
    let cases: Vec<(Vec<&str>, BTreeSet<String>)> = vec![
        (
            vec![],
            groups(&[FLEET, SIM, AWS, OPS, LOOK], &["speed", "version"]),
        ),
        (
            vec!["snapshot"],
            groups(&[FLEET, SIM, AWS], &["format", "after", "wait-s"]),
        ),
        (
            vec!["simulate"],
            groups(&[FLEET, SIM, AWS], &["fail", "format", "after"]),
        ),
        (vec!["discover"], groups(&[AWS], &["regions", "tag", "out"])),
        (
            vec!["act", "drain"],
            groups(&[FLEET, SIM, AWS, OPS], &[&["region"][..], &run].concat()),
        ),
        (
            vec!["act", "promote"],
            groups(&[FLEET, SIM, AWS, OPS], &[&["region"][..], &run].concat()),
        ),
        (
            vec!["act", "restore"],
            groups(
                &[FLEET, SIM, AWS, OPS],
                &[&["region", "weight"][..], &run].concat(),
            ),
        ),
        (
            vec!["act", "scale"],
            groups(
                &[FLEET, SIM, AWS, OPS],
                &[
                    &["region", "service", "nodegroup", "desired", "min", "max"][..],
                    &run,
                ]
                .concat(),
            ),
        ),
        (vec!["act", "undo"], groups(&[FLEET, SIM, AWS, OPS], &run)),
    ];
    for (args, want) in cases {
        assert_eq!(help_flags(&args), want, "opsdeck {} --help", args.join(" "));
    }
    // The examples, spelled out.
    let snapshot = help_flags(&["snapshot"]);
    for absent in [
        "no-mouse",
        "keymap",
        "theme",
        "speed",
        "read-only",
        "audit-log",
    ] {
        assert!(
            !snapshot.contains(absent),
            "snapshot --help lists --{absent}"
        );
    }
    assert!(!help_flags(&["discover"]).contains("scenario"));
}

#[test]
fn a_flag_for_another_command_is_bad_usage_after_the_subcommand_and_ignored_before_it() {
    let dir = tempfile::tempdir().unwrap();
    for (args, flag) in [
        (vec!["snapshot", "--no-mouse"], "--no-mouse"),
        (vec!["snapshot", "--theme", "mono"], "--theme"),
        (
            vec!["discover", "--regions", "eu-west-1", "--fleet", "x.toml"],
            "--fleet",
        ),
        (
            vec!["simulate", "--fail", "eu-west-1", "--audit-log", "a.jsonl"],
            "--audit-log",
        ),
        (
            vec!["act", "drain", "--region", "eu-west-1", "--keymap", "vim"],
            "--keymap",
        ),
    ] {
        let out = opsdeck(&args, dir.path());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&format!("unexpected argument '{flag}'")),
            "{args:?}: {err}"
        );
    }
    // Before the subcommand the console's flags are accepted as they always were, and a flag the
    // command does not use is named as ignored (never silently).
    for (args, flag) in [
        (
            vec!["--no-mouse", "snapshot", "--start", START],
            "--no-mouse",
        ),
        (
            vec!["--theme", "nosuch", "snapshot", "--start", START],
            "--theme",
        ),
        (
            vec!["--speed", "60", "snapshot", "--start", START],
            "--speed",
        ),
        (
            vec!["--audit-log", "a.jsonl", "simulate", "--fail", "eu-west-1"],
            "--audit-log",
        ),
    ] {
        let out = opsdeck(&args, dir.path());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        let sub = if args.contains(&"simulate") {
            "simulate"
        } else {
            "snapshot"
        };
        assert!(
            err.contains(&format!(
                "warning: {flag} has no effect on `opsdeck {sub}`; ignored"
            )),
            "{args:?}: {err}"
        );
        assert!(!out.stdout.is_empty(), "{args:?} still runs");
    }
}

#[test]
fn flags_before_and_after_the_subcommand_mean_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let json = |args: &[&str]| {
        let out = opsdeck(args, dir.path());
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v.as_object_mut().unwrap().remove("taken_at");
        v
    };
    let before = json(&[
        "--fleet",
        "fleets/kaldrix.toml",
        "--sim",
        "--seed",
        "3",
        "--start",
        START,
        "--scenario",
        "outage@us-east-1",
        "snapshot",
        "--format",
        "json",
        "--after",
        "3m",
    ]);
    let after = json(&[
        "snapshot",
        "--format",
        "json",
        "--after",
        "3m",
        "--fleet",
        "fleets/kaldrix.toml",
        "--sim",
        "--seed",
        "3",
        "--start",
        START,
        "--scenario",
        "outage@us-east-1",
    ]);
    assert_eq!(before, after);
    assert_eq!(before["fleet"], "kaldrix", "{before}");
    // After the subcommand wins over before it.
    let mixed = json(&[
        "--seed",
        "9",
        "snapshot",
        "--format",
        "json",
        "--fleet",
        "fleets/kaldrix.toml",
        "--sim",
        "--seed",
        "3",
        "--start",
        START,
        "--scenario",
        "outage@us-east-1",
        "--after",
        "3m",
    ]);
    assert_eq!(mixed, after);
}

#[test]
fn act_and_simulate_take_scenario_and_after_on_the_simulated_fleet() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let base = ["--fleet", "fleets/kaldrix.toml", "--sim", "--start", START];
    let scene = ["--scenario", "outage@us-east-1", "--after", "3m"];
    let run = |args: &[&str]| {
        let out = opsdeck(args, dir.path());
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };

    let mut sim = vec!["simulate", "--fail", "us-east-1", "--format", "json"];
    sim.extend(base);
    let calm: serde_json::Value = serde_json::from_str(&run(&sim)).unwrap();
    sim.extend(scene);
    let outage: serde_json::Value = serde_json::from_str(&run(&sim)).unwrap();
    assert_eq!(calm["at"], "2026-11-22T12:00:00Z");
    assert_eq!(
        outage["at"], "2026-11-22T12:03:00Z",
        "--after moved the clock"
    );
    // Three minutes into the outage us-east-1 serves almost nothing, so little traffic moves.
    let moved = |v: &serde_json::Value| v["moved_rps"].as_f64().unwrap();
    assert!(moved(&outage) < moved(&calm) / 2.0, "{outage} vs {calm}");

    let mut act = vec!["act", "drain", "--region", "us-east-1"];
    act.extend(base);
    act.extend(["--audit-log", audit.to_str().unwrap()]);
    let calm = run(&act);
    act.extend(scene);
    let outage = run(&act);
    assert!(
        calm.contains("read 2026-11-22T12:00:00Z") && !calm.contains("broken"),
        "{calm}"
    );
    assert!(
        outage.contains("read 2026-11-22T12:03:00Z") && outage.contains("replication broken"),
        "{outage}"
    );
}
