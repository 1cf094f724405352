//! `opsdeck act` and `opsdeck simulate` on the simulated fleet: the real binary, its exit codes,
//! its JSON, and the audit log it leaves — including when it is killed between execute and verify.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const START: &str = "2026-11-22T14:00:00Z";

struct Run {
    dir: tempfile::TempDir,
}

impl Run {
    fn new() -> Self {
        Run {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn audit(&self) -> PathBuf {
        self.dir.path().join("audit.jsonl")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
        c.args(args).args(["--start", START]);
        // Only `act` keeps an audit log (`simulate` changes nothing and does not take the flag).
        if args.contains(&"act") {
            c.arg("--audit-log").arg(self.audit());
        }
        c.env("OPSDECK_STATE_DIR", self.dir.path())
            .env("OPSDECK_CONFIG", self.dir.path().join("config"))
            .env("USER", "oncall")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_PROFILE")
            .env_remove("OPSDECK_TEST_PAUSE_BEFORE_VERIFY_MS")
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run opsdeck")
    }

    fn records(&self) -> Vec<Value> {
        match std::fs::read_to_string(self.audit()) {
            Ok(t) => t
                .lines()
                .map(|l| serde_json::from_str(l).expect("each audit line is JSON"))
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)))
}

/// A drain whose traffic would overload a survivor says so in the plan, naming the survivor and its
/// load; one that fits says nothing of the kind.
#[test]
fn a_drain_plan_warns_when_survivors_would_be_overloaded() {
    let r = Run::new();
    // 14:00 UTC: EU afternoon, us-east-1's users move onto busy survivors.
    let out = r.run(&["act", "drain", "--region", "us-east-1"]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("WARNING eu-west-1 would run at")
            && stdout.contains("of its rated capacity"),
        "{stdout}"
    );
    assert!(
        stdout.contains("opsdeck simulate --fail us-east-1") && stdout.contains("`w` on us-east-1"),
        "{stdout}"
    );
    // Past 100 % it is no longer only a note: the survivor-capacity guard blocks (overridable).
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("BLOCK") && l.contains("survivor-capacity")),
        "{stdout}"
    );
    // 03:00 UTC is quiet everywhere: draining ap-southeast-1 fits.
    let out = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args([
            "act",
            "drain",
            "--region",
            "ap-southeast-1",
            "--start",
            "2026-11-22T03:00:00Z",
        ])
        .env("OPSDECK_STATE_DIR", r.dir.path())
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success() && stdout.contains("NOTES"), "{stdout}");
    assert!(!stdout.contains("WARNING"), "{stdout}");
}

#[test]
fn a_plan_without_execute_exits_0_and_changes_nothing() {
    let r = Run::new();
    let out = r.run(&["act", "drain", "--region", "eu-west-1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("weight: 100 → 0"), "{stdout}");
    assert!(
        stdout.contains("route53 ChangeResourceRecordSets"),
        "{stdout}"
    );
    assert!(stdout.contains("dry run: nothing changed"), "{stdout}");
    assert!(r.records().is_empty(), "a dry run writes no audit record");

    let out = r.run(&[
        "act",
        "scale",
        "--region",
        "us-east-1",
        "--service",
        "api",
        "--desired",
        "5",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["executed"], false);
    assert_eq!(v["plan"]["op"]["kind"], "scale");
    assert_eq!(v["plan"]["calls"][1]["operation"], "UpdateService");
    assert_eq!(v["plan"]["calls"][1]["params"]["desiredCount"], 5);
    assert_eq!(v["plan"]["undo"]["desired"], 3);
    assert!(v["guards"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["passed"] == true));
    assert!(r.records().is_empty());
}

#[test]
fn executing_writes_a_requested_and_an_ended_record() {
    let r = Run::new();
    let out = r.run(&[
        "act",
        "scale",
        "--region",
        "ap-southeast-1",
        "--service",
        "api",
        "--desired",
        "4",
        "--execute",
        "--confirm",
        "ap-southeast-1",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json(&out);
    assert_eq!(v["outcome"]["result"]["status"], "applied");
    assert_eq!(v["executed"], true);
    let recs = r.records();
    assert_eq!(recs.len(), 2, "{recs:#?}");
    assert_eq!(
        (recs[0]["phase"].as_str(), recs[1]["phase"].as_str()),
        (Some("requested"), Some("ended"))
    );
    assert_eq!(recs[0]["id"], recs[1]["id"]);
    assert_eq!(recs[0]["operator"], "oncall (simulated fleet)");
    assert_eq!(recs[0]["fleet"], "atlas-crm");
    assert_eq!(recs[0]["region"], "ap-southeast-1");
    assert_eq!(recs[0]["op"]["desired"], 4);
    assert!(recs[0].get("result").is_none());
    assert_eq!(recs[1]["result"]["status"], "applied");
    assert!(!recs[1]["guards"].as_array().unwrap().is_empty());
}

#[test]
fn a_wrong_confirmation_runs_nothing() {
    let r = Run::new();
    let out = r.run(&[
        "act",
        "drain",
        "--region",
        "eu-west-1",
        "--execute",
        "--confirm",
        "eu-west",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("does not match"),
        "{}",
        text(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["executed"], false);
    assert_eq!(v["outcome"]["result"]["status"], "refused");
    let recs = r.records();
    assert_eq!(recs.len(), 2);
    assert!(recs.iter().all(|x| x["decision"] == "refused"), "{recs:#?}");
    assert!(recs[1].get("executed").is_none(), "nothing was called");
}

#[test]
fn bad_usage_exits_2_before_anything_runs() {
    let r = Run::new();
    for (args, says) in [
        (
            vec!["act", "drain", "--region", "eu-west-1", "--execute"],
            "needs --confirm",
        ),
        (
            vec!["act", "drain", "--region", "mars-1"],
            "no region `mars-1`",
        ),
        (
            vec![
                "act",
                "scale",
                "--region",
                "us-east-1",
                "--service",
                "web",
                "--desired",
                "3",
            ],
            "no ECS service `web`",
        ),
        (
            vec![
                "act",
                "drain",
                "--region",
                "eu-west-1",
                "--override",
                "last-serving-region",
                "--confirm-override",
                "last-serving-region",
            ],
            "cannot be overridden",
        ),
        (
            vec![
                "act",
                "promote",
                "--region",
                "us-east-1",
                "--override",
                "replica-lag-over-rpo",
            ],
            "needs --confirm-override",
        ),
        (
            vec!["act", "promote", "--region", "eu-west-1"],
            "already a primary",
        ),
        (
            vec!["act", "restore", "--region", "eu-west-1"],
            "no drain of eu-west-1",
        ),
        (vec!["simulate", "--fail", "mars-1"], "no region `mars-1`"),
    ] {
        let out = r.run(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert!(r.records().is_empty());
}

const PAIR: &str = r#"
name = "pair"
[[region]]
name = "eu-west-1"
role = "primary"
alb = "app/pair-eu/1"
ecs = [{ cluster = "pair-eu", service = "api" }]
route53 = { zone_id = "Z1", record = "api.pair.example.", set_identifier = "eu" }
[[region]]
name = "us-east-1"
role = "secondary"
alb = "app/pair-us/1"
ecs = [{ cluster = "pair-us", service = "api" }]
route53 = { zone_id = "Z1", record = "api.pair.example.", set_identifier = "us" }
"#;

#[test]
fn a_guard_block_exits_1_naming_the_rule() {
    let r = Run::new();
    let fleet = r.dir.path().join("pair.toml");
    std::fs::write(&fleet, PAIR).unwrap();
    let f = fleet.to_str().unwrap();
    let args = [
        "--fleet",
        f,
        "--sim",
        "--scenario",
        "outage@us-east-1",
        "act",
        "drain",
        "--region",
        "eu-west-1",
    ];
    let mut exec = args.to_vec();
    exec.extend(["--after", "5m", "--execute", "--confirm", "eu-west-1"]);
    let out = r.run(&exec);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("last-serving-region"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("BLOCK     last-serving-region"),
        "{}",
        text(&out.stdout)
    );
    let recs = r.records();
    assert_eq!(recs[1]["result"]["rule"], "last-serving-region");

    let out = r.run(&[
        "--read-only",
        "act",
        "drain",
        "--region",
        "us-east-1",
        "--execute",
        "--confirm",
        "us-east-1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("read-only"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn simulate_prints_the_what_if_as_json() {
    let r = Run::new();
    let out = r.run(&["simulate", "--fail", "eu-west-1", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json(&out);
    assert_eq!(v["failed"], "eu-west-1");
    assert_eq!(v["failed_is_primary"], true);
    assert_eq!(v["survivors"].as_array().unwrap().len(), 2);
    assert!(v["promotion"]["instance"]
        .as_str()
        .unwrap()
        .starts_with("atlas-db-"));
    assert_eq!(
        v["rto_s"].as_f64().unwrap(),
        210.0,
        "detection 90 s, then the simulated fleet's 60 s promotion and the 60 s writer switch"
    );
    assert!(!v["recommended"].as_array().unwrap().is_empty());
    let out = r.run(&["simulate", "--fail", "ap-southeast-1"]);
    assert_eq!(out.status.code(), Some(0));
    let t = text(&out.stdout);
    assert!(
        t.contains("not needed: the primary survives") && t.contains("RTO"),
        "{t}"
    );
}

/// The hidden hook keeps the process between execute and verify; SIGKILL it there.
#[test]
fn a_kill_between_execute_and_verify_leaves_the_requested_record_and_the_next_run_closes_it() {
    let r = Run::new();
    let mut child = r
        .command(&[
            "act",
            "drain",
            "--region",
            "us-east-1",
            "--execute",
            "--confirm",
            "us-east-1",
            "--override",
            "survivor-capacity",
            "--confirm-override",
            "survivor-capacity",
        ])
        .env("OPSDECK_TEST_PAUSE_BEFORE_VERIFY_MS", "60000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while r.records().is_empty() {
        assert!(Instant::now() < deadline, "no requested record within 30 s");
        assert!(
            child.try_wait().unwrap().is_none(),
            "opsdeck ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());
    let recs = r.records();
    assert_eq!(recs.len(), 1, "{recs:#?}");
    assert_eq!(recs[0]["phase"], "requested");
    assert_eq!(recs[0]["decision"], "execute");
    assert_eq!(recs[0]["op"]["kind"], "drain");
    assert!(
        read_lines(&r.audit()).iter().all(|l| !l.is_empty()),
        "no torn line"
    );

    // The next opsdeck to use the log closes the interrupted operation with an ended record
    // saying so: every operation ends up with both records.
    let out = r.run(&["act", "drain", "--region", "ap-southeast-1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let recs = r.records();
    assert_eq!(recs.len(), 2, "{recs:#?}");
    assert_eq!(recs[1]["phase"], "ended");
    assert_eq!(recs[1]["id"], recs[0]["id"]);
    assert_eq!(
        recs[1]["result"]["status"], "not_yet_verified",
        "{}",
        recs[1]["result"]
    );
    assert!(
        recs[1]["result"]["reason"]
            .as_str()
            .unwrap()
            .contains("interrupted"),
        "{}",
        recs[1]["result"]
    );
    // ... once: a second run adds nothing for it.
    r.run(&["act", "drain", "--region", "ap-southeast-1"]);
    assert_eq!(r.records().len(), 2);
}

fn read_lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}
