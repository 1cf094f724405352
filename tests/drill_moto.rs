//! `opsdeck drill run --mode real|rollback` against a moto server seeded with the four-region
//! deployment: the runbook drains a region and scales a survivor, and the values are read back
//! with the SDK; without --execute nothing changes; rollback restores every weight and desired
//! count; a run killed mid-operation is found interrupted and rolled back.
// Each test holds the moto lock for its whole run; each has its own runtime.
#![allow(clippy::await_holding_lock)]

mod support;

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::drill::{jsonl, report, text, DrillRun};
use support::moto::Moto;
use support::pty::Session;
use support::seed::{self, RECORD, SEEDED};
use support::{dead_url, moto_env};

const NAME: &str = "moto: drain us-east-1";
const COOLDOWN_S: u64 = 600;

struct Real {
    run: DrillRun,
    endpoint: String,
    zone_id: String,
    fleet: PathBuf,
    book: PathBuf,
}

async fn deploy(moto: &Moto) -> Real {
    deploy_with(moto, COOLDOWN_S).await
}

/// The deployment, its fleet's cooldown `cooldown_s`.
async fn deploy_with(moto: &Moto, cooldown_s: u64) -> Real {
    moto_env();
    let seeded = seed::seed(&moto.url(), moto).await;
    let urls: Vec<String> = SEEDED.iter().map(|_| dead_url()).collect();
    let mut fleet_text = seed::fleet_toml(&seeded, &urls, "");
    fleet_text.push_str(&format!("[guards]\ncooldown_s = {cooldown_s}\n"));
    let run = DrillRun::new();
    let fleet = run.file("atlas-moto.toml", &fleet_text);
    let book = run.file(
        "drill.toml",
        &format!(
            r#"name = "{NAME}"
fleet = "atlas-moto.toml"
[[steady_state]]
region = "eu-west-1"
metric = "route53_weight"
min = 1.0
[[steady_state]]
region = "eu-west-1"
metric = "error_rate"
max = 0.05
[[step]]
name = "scale ap-southeast-1"
act = {{ op = "scale", region = "ap-southeast-1", service = "api", desired = 4 }}
[[step]]
name = "drain us-east-1"
act = {{ op = "drain", region = "us-east-1" }}
[[step]]
name = "ops confirms"
manual = "Check the dashboards"
"#
        ),
    );
    Real {
        run,
        endpoint: moto.url(),
        zone_id: seeded.zone_id,
        fleet,
        book,
    }
}

impl Real {
    fn audit(&self) -> PathBuf {
        self.run.dir.path().join("audit.jsonl")
    }

    fn command(&self, offset_s: u64, args: &[&str]) -> Command {
        self.command_for(&self.book, offset_s, args)
    }

    /// `command` with another runbook.
    fn command_for(&self, book: &std::path::Path, offset_s: u64, args: &[&str]) -> Command {
        let mut c = self
            .run
            .command(&[&[book.to_str().unwrap()], args].concat());
        c.arg("--fleet")
            .arg(&self.fleet)
            .args([
                "--endpoint-url",
                &self.endpoint,
                "--allow-actions",
                "--audit-log",
            ])
            .arg(self.audit())
            .env(
                opsdeck::fleet::clock::CLOCK_OFFSET_ENV,
                offset_s.to_string(),
            )
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_SESSION_TOKEN");
        c
    }

    /// The real drill (`--execute`) on the terminal of a pseudo-terminal, its report in `report`:
    /// manual steps and the rollback ask there.
    fn on_terminal(&self, report: &std::path::Path) -> Session {
        let (book, fleet, audit, report) = (
            self.book.display().to_string(),
            self.fleet.display().to_string(),
            self.audit().display().to_string(),
            report.display().to_string(),
        );
        let args = [
            "drill",
            "run",
            &book,
            "--fleet",
            &fleet,
            "--endpoint-url",
            &self.endpoint,
            "--allow-actions",
            "--audit-log",
            &audit,
            "--mode",
            "real",
            "--execute",
            "--confirm",
            NAME,
            "--report",
            &report,
        ];
        Session::start_with(&args, 40, 200, &self.terminal_env())
    }

    /// The environment of opsdeck on a pseudo-terminal: this state directory, moto's test keys.
    fn terminal_env(&self) -> [(&'static str, String); 5] {
        [
            (
                "OPSDECK_STATE_DIR",
                self.run.dir.path().display().to_string(),
            ),
            ("USER", "oncall".to_string()),
            ("AWS_ACCESS_KEY_ID", "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ]
    }

    /// The console on the deployment (operations allowed), the runbook in `drills/` beside the
    /// fleet file.
    fn console(&self) -> Session {
        let drills = self.run.dir.path().join("drills");
        std::fs::create_dir_all(&drills).unwrap();
        let book = std::fs::read_to_string(&self.book).unwrap().replace(
            "fleet = \"atlas-moto.toml\"",
            "fleet = \"../atlas-moto.toml\"",
        );
        std::fs::write(drills.join("walk.toml"), book).unwrap();
        let (fleet, audit) = (
            self.fleet.display().to_string(),
            self.audit().display().to_string(),
        );
        let args = [
            "--fleet",
            &fleet,
            "--endpoint-url",
            &self.endpoint,
            "--allow-actions",
            "--audit-log",
            &audit,
            "--no-mouse",
        ];
        Session::start_with(&args, 50, 180, &self.terminal_env())
    }

    fn drill(&self, offset_s: u64, args: &[&str]) -> Output {
        self.command(offset_s, args).output().expect("run opsdeck")
    }

    fn config(&self, region: &str) -> aws_config::SdkConfig {
        seed::sdk_config(&self.endpoint)
            .to_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build()
    }

    async fn weight(&self, region: &str) -> i64 {
        let r53 = aws_sdk_route53::Client::new(&self.config("us-east-1"));
        let out = r53
            .list_resource_record_sets()
            .hosted_zone_id(&self.zone_id)
            .send()
            .await
            .unwrap();
        out.resource_record_sets()
            .iter()
            .find(|s| s.name() == RECORD && s.set_identifier() == Some(region))
            .and_then(|s| s.weight())
            .unwrap()
    }

    async fn desired(&self, region: &str) -> i32 {
        let r = SEEDED.iter().find(|r| r.name == region).unwrap();
        let ecs = aws_sdk_ecs::Client::new(&self.config(region));
        let out = ecs
            .describe_services()
            .cluster(r.cluster)
            .services("api")
            .send()
            .await
            .unwrap();
        out.services()[0].desired_count()
    }

    /// Moto starts a service's tasks when it is updated, not when it is created: update every
    /// service of `region` to its own desired count, so the region is healthy enough to take
    /// traffic back (`restore-unhealthy-region`).
    async fn run_tasks(&self, region: &str) {
        let r = SEEDED.iter().find(|r| r.name == region).unwrap();
        let ecs = aws_sdk_ecs::Client::new(&self.config(region));
        for (service, desired) in r.services {
            ecs.update_service()
                .cluster(r.cluster)
                .service(*service)
                .desired_count(*desired)
                .send()
                .await
                .unwrap();
        }
    }

    /// (us-east-1's weight, ap-southeast-1's desired count).
    async fn state(&self) -> (i64, i32) {
        (
            self.weight("us-east-1").await,
            self.desired("ap-southeast-1").await,
        )
    }

    fn records(&self) -> Vec<Value> {
        jsonl(&self.audit())
    }
}

fn ok(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

const EXECUTE: [&str; 4] = ["--mode", "real", "--execute", "--confirm"];
const ROLLBACK: [&str; 4] = ["--mode", "rollback", "--execute", "--confirm"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_drill_drains_and_scales_and_rollback_restores_both() {
    let moto = Moto::shared();
    let d = deploy(&moto).await;
    d.run_tasks("us-east-1").await;
    let before = d.state().await;
    assert_eq!(before, (20, 2));

    // Without --execute: every step's plan, nothing changes, no timeline.
    let dry = d.drill(0, &["--mode", "real"]);
    ok(&dry);
    let out = text(&dry.stdout);
    assert!(out.contains("dry run: nothing changed"), "{out}");
    assert!(
        out.contains("UpdateService") && out.contains("ChangeResourceRecordSets"),
        "{out}"
    );
    assert_eq!(d.state().await, before);
    assert!(d.records().is_empty());
    assert!(d.run.timelines().is_empty());

    // A wrong confirmation runs nothing (bad usage).
    let wrong = d.drill(0, &["--mode", "real", "--execute", "--confirm", "other"]);
    assert_eq!(wrong.status.code(), Some(2), "{}", text(&wrong.stderr));
    assert_eq!(d.state().await, before);

    let run = d.drill(0, &[&EXECUTE[..], &[NAME]].concat());
    ok(&run);
    let r = report(&run);
    assert_eq!(r["verdict"], "pass", "{r:#}");
    assert_eq!(r["mode"], "real");
    assert_eq!(r["source"], "aws");
    // The error rate is CloudWatch's (as seeded: 9 5xx of 600 requests), read in real mode.
    let checks = r["steady_state"]["before"].as_array().unwrap();
    let rate = checks[1]["value"].as_f64().unwrap();
    assert!(rate > 0.0 && rate < 0.05, "{checks:#?}");
    assert_eq!(d.state().await, (0, 4), "drained and scaled, read back");
    // Only those two: the other weights and counts are as seeded.
    assert_eq!(d.weight("eu-west-1").await, 70);
    assert_eq!(d.desired("eu-west-1").await, 4);
    let recs = d.records();
    assert_eq!(recs.len(), 4, "two operations, requested and ended each");
    for rec in &recs {
        assert_eq!(rec["drill"]["run_id"], r["run_id"], "{rec}");
    }
    assert_eq!(recs[0]["drill"]["step"], "scale ap-southeast-1");
    assert_eq!(recs[2]["drill"]["step"], "drain us-east-1");
    // In real mode the first drain marks the failure: when it is about to run, after its plan
    // was read — within the step (times are RFC 3339 UTC seconds: they order as text).
    let failure = r["measured"]["failure_at"].as_str().unwrap();
    let (started, ended) = (
        r["steps"][1]["started_at"].as_str().unwrap(),
        r["steps"][1]["ended_at"].as_str().unwrap(),
    );
    assert!(
        started <= failure && failure <= ended,
        "{failure} not in {started}..{ended}"
    );

    // Rollback without --execute prints the undo plans and changes nothing.
    let plan = d.drill(COOLDOWN_S + 1, &["--mode", "rollback"]);
    ok(&plan);
    assert_eq!(d.state().await, (0, 4));
    assert_eq!(d.records().len(), 4);

    // Past the cooldown, rollback undoes both, newest first.
    let back = d.drill(COOLDOWN_S + 1, &[&ROLLBACK[..], &[NAME]].concat());
    ok(&back);
    let b = report(&back);
    assert_eq!(b["verdict"], "pass", "{b:#}");
    assert_eq!(
        d.state().await,
        before,
        "every weight and desired count restored"
    );
    let undo: Vec<&str> = b["rollback"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["step"].as_str().unwrap())
        .collect();
    assert_eq!(undo, ["drain us-east-1", "scale ap-southeast-1"]);
    let recs = d.records();
    let undone: Vec<&Value> = recs.iter().filter(|x| x["undo_of"].is_string()).collect();
    assert_eq!(undone.len(), 4, "{recs:#?}");
    assert_eq!(undone[0]["undo_of"], recs[2]["id"]);
    assert_eq!(undone[2]["undo_of"], recs[0]["id"]);

    // A second rollback finds nothing left to undo.
    let again = d.drill(COOLDOWN_S + 1, &[&ROLLBACK[..], &[NAME]].concat());
    ok(&again);
    assert!(report(&again)["rollback"].as_array().unwrap().is_empty());
    assert_eq!(d.records().len(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_real_drill_is_interrupted_and_rollback_undoes_what_it_ran() {
    let moto = Moto::shared();
    let d = deploy(&moto).await;
    let hold = d.run.dir.path().join("hold");
    std::fs::write(&hold, "").unwrap();
    let mut child = d
        .command(0, &[&EXECUTE[..], &[NAME]].concat())
        .env(opsdeck::ops::pipeline::HOLD_WHILE_FILE_ENV, &hold)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The scale's calls are made, then the pipeline holds: kill it there.
    let deadline = Instant::now() + Duration::from_secs(60);
    while d.desired("ap-southeast-1").await != 4 || d.records().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the scale did not run within 60 s"
        );
        assert!(child.try_wait().unwrap().is_none(), "opsdeck ended early");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap(); // SIGKILL
    assert!(!child.wait().unwrap().success());
    let timelines = d.run.timelines();
    assert_eq!(timelines.len(), 1);
    let killed = jsonl(&timelines[0]);
    assert!(killed.iter().all(|e| e["event"] != "drill_end"));
    assert_eq!(d.state().await, (20, 4), "only the scale ran");

    let back = d.drill(COOLDOWN_S + 1, &[&ROLLBACK[..], &[NAME]].concat());
    ok(&back);
    // The killed run's timeline now ends, saying interrupted.
    let killed = jsonl(&timelines[0]);
    let end = killed.last().unwrap();
    assert_eq!(end["event"], "drill_end");
    assert_eq!(end["verdict"], "interrupted", "{end}");
    let b = report(&back);
    assert_eq!(b["rollback"].as_array().unwrap().len(), 1, "{b:#}");
    assert_eq!(b["rollback"][0]["step"], "scale ap-southeast-1");
    assert_eq!(d.state().await, (20, 2), "the scale undone");
}

/// `--from-aws`: the rehearsal starts from what AWS shows now (weights, running tasks), not from
/// the fleet file's simulation settings; it changes nothing on AWS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulation_from_aws_starts_where_the_account_is() {
    let moto = Moto::shared();
    let d = deploy(&moto).await;
    for r in SEEDED {
        d.run_tasks(r.name).await;
    }
    let book = d.run.file(
        "from-aws.toml",
        r#"name = "from aws"
fleet = "atlas-moto.toml"
[[step]]
name = "us-west-2 takes no traffic"
check = { region = "us-west-2", metric = "route53_weight", max = 0.0 }
[[step]]
name = "eu-west-1 weighs 70"
check = { region = "eu-west-1", metric = "route53_weight", min = 70.0, max = 70.0 }
[[step]]
name = "us-east-1 runs its 3 api tasks"
check = { region = "us-east-1", metric = "ecs_running_ratio", min = 1.0 }
"#,
    );
    let run = |extra: &[&str]| d.command_for(&book, 0, extra).output().unwrap();
    let weights_before = (d.weight("us-west-2").await, d.weight("eu-west-1").await);
    let from = run(&["--from-aws"]);
    ok(&from);
    let r = report(&from);
    assert_eq!(r["verdict"], "pass", "{r:#}");
    assert_eq!(r["mode"], "simulation");
    assert_eq!(r["source"], "sim");
    // The fleet file's simulation defaults (every weight 100) fail the same checks.
    let plain = run(&[]);
    assert_eq!(plain.status.code(), Some(1));
    let p = report(&plain);
    assert_eq!(p["steps"][0]["result"], "failed", "{p:#}");
    assert_eq!(
        (d.weight("us-west-2").await, d.weight("eu-west-1").await),
        weights_before
    );
}

/// Aborted at its manual step, a real drill shows the rollback it will run and asks once: `y`
/// runs it (every weight and desired count read back as before), `n` records it as planned and
/// changes nothing back (left for `--mode rollback`). No cooldown here: the undo follows at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_real_drill_shows_its_rollback_and_asks_once() {
    let moto = Moto::shared();
    let d = deploy_with(&moto, 0).await;
    d.run_tasks("us-east-1").await;
    let before = d.state().await;
    assert_eq!(before, (20, 2));
    for (answer, restored) in [("y", true), ("n", false)] {
        let report = d.run.dir.path().join(format!("abort-{answer}.json"));
        let mut s = d.on_terminal(&report);
        s.wait_all(&["MANUAL STEP `ops confirms`", "[a]bort"]);
        assert_eq!(
            d.state().await,
            (0, 4),
            "drained and scaled before the manual step"
        );
        s.send(b"a\r");
        let asked = s.wait_all(&["ROLLBACK (newest first)", "run this rollback now?"]);
        assert!(
            asked.contains("undo `drain us-east-1`")
                && asked.contains("undo `scale ap-southeast-1`"),
            "{asked}"
        );
        s.send(format!("{answer}\r").as_bytes());
        assert_eq!(s.wait_exit().exit_code(), 1, "{}", s.contents());
        let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        assert_eq!(r["verdict"], "aborted", "{r:#}");
        let rollback: Vec<(&str, &str)> = r["rollback"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x["step"].as_str().unwrap(), x["result"].as_str().unwrap()))
            .collect();
        let result = if restored { "ok" } else { "planned" };
        assert_eq!(
            rollback,
            [
                ("drain us-east-1", result),
                ("scale ap-southeast-1", result)
            ],
            "{r:#}"
        );
        if restored {
            assert_eq!(d.state().await, before, "rolled back, read back");
        } else {
            assert_eq!(d.state().await, (0, 4), "nothing undone");
            // Left for --mode rollback, which undoes it.
            let back = d.drill(0, &[&ROLLBACK[..], &[NAME]].concat());
            ok(&back);
            assert_eq!(d.state().await, before);
        }
    }
}

/// The console's walkthrough against AWS (moto): the drill starts once the runbook's name is
/// typed, each act step runs with its region typed, the manual step is ticked; the changes are
/// read back, every audit record carries the drill's run id, the report is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_walks_a_real_drill_against_aws() {
    let moto = Moto::shared();
    let d = deploy_with(&moto, 0).await;
    d.run_tasks("us-east-1").await;
    assert_eq!(d.state().await, (20, 2));
    let mut s = d.console();
    s.wait_all(&["eu-west-1", "us-east-1", "ap-southeast-1"]);
    s.send(b"D");
    s.wait_all(&["RUNBOOKS", NAME]);
    s.send(b"\r");
    s.wait_all(&["mode   real: against AWS", &format!("type `{NAME}` to run")]);
    s.send(format!("{NAME}\r").as_bytes());
    s.wait_all(&["NEXT  scale ap-southeast-1"]);
    s.send(b"\r");
    s.wait_all(&[
        "CONFIRM  `scale ap-southeast-1`",
        "type ap-southeast-1 to run",
    ]);
    s.send(b"ap-southeast-1\r");
    s.wait_all(&["[✓] scale ap-southeast-1", "NEXT  drain us-east-1"]);
    s.send(b"\r");
    s.wait_all(&["CONFIRM  `drain us-east-1`", "type us-east-1 to run"]);
    s.send(b"us-east-1\r");
    s.wait_all(&["[✓] drain us-east-1", "NEXT  ops confirms"]);
    s.send(b"\r");
    s.wait_all(&["MANUAL  `ops confirms`"]);
    s.send(b"t");
    let end = s.wait_all(&["VERDICT PASS", "report "]);
    assert!(end.contains("[✓] ops confirms"), "{end}");
    assert_eq!(d.state().await, (0, 4), "drained and scaled, read back");
    let reports: Vec<PathBuf> = std::fs::read_dir(d.run.dir.path().join("drills"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&reports[0]).unwrap()).unwrap();
    assert_eq!(r["verdict"], "pass", "{r:#}");
    assert_eq!(r["mode"], "real");
    assert_eq!(r["source"], "aws");
    let recs = d.records();
    assert_eq!(recs.len(), 4, "two operations, requested and ended each");
    for rec in &recs {
        assert_eq!(rec["drill"]["run_id"], r["run_id"], "{rec}");
    }
    s.send(b"\x1b");
    s.wait_all(&["PAST RUNS", "real · pass"]);
    s.send(b"\x1b");
    s.wait_gone("RUNBOOKS");
    s.send(b"q");
    assert!(s.wait_exit().success());
}
