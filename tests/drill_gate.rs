//! The drill engine paced by the console (`drill::engine::Gate`), on a live simulated fleet whose
//! clock moves only while the drill waits (virtual time, a driven clock): nothing of a step starts
//! before the operator's go, an act step runs only with the region typed, and while the operator
//! thinks the stop conditions are still judged — one that fires aborts and rolls back.

use chrono::{DateTime, TimeZone, Utc};
use opsdeck::drill::engine::{Answer, Drill, Gate, Hold, Mode, NonInteractive, World};
use opsdeck::drill::runbook;
use opsdeck::drill::timeline::{EventKind, Timeline, Verdict};
use opsdeck::fleet::Fleet;
use opsdeck::ops::sim::SimTarget;
use opsdeck::ops::target::VerifyLimits;
use opsdeck::ops::{Operator, Permission, Settings, Target};
use opsdeck::source::sim::SimFleet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 15, 0, 0).unwrap()
}

const RUNBOOK: &str = r#"
name = "crypto: lose eu-west-1, stop on errors"
[[stop_when]]
region = "eu-west-1"
metric = "error_rate"
above = 0.5
for_s = 60
[[step]]
name = "scale us-east-1"
act = { op = "scale", region = "us-east-1", service = "api", desired = 3 }
[[step]]
name = "lose eu-west-1"
inject = { scenario = "outage", region = "eu-west-1" }
[[step]]
name = "drain eu-west-1"
act = { op = "drain", region = "eu-west-1" }
"#;

struct Run {
    holds: UnboundedReceiver<Hold>,
    answers: UnboundedSender<Answer>,
    handle: tokio::task::JoinHandle<(Verdict, Vec<opsdeck::drill::timeline::Event>)>,
}

/// The drill started in its own task on Crypto-ERP's simulated fleet.
fn start_drill(dir: &Path) -> Run {
    let fleet = Fleet::load(Path::new("fleets/crypto-erp.toml")).unwrap();
    let book = runbook::parse(RUNBOOK, Path::new("gate.toml"), &fleet).unwrap();
    let model = Arc::new(Mutex::new(SimFleet::new(&fleet, 7, start())));
    // The driven clock: a wait of the drill moves the model (no source ticks it here).
    let target: Arc<dyn Target> = Arc::new(SimTarget::new(model.clone(), true));
    let settings = Settings {
        permission: Permission::Allowed,
        audit_log: dir.join("audit.jsonl"),
        verify: VerifyLimits {
            limit: Duration::ZERO,
            poll: Duration::from_secs(1),
        },
    };
    let (holds_tx, holds) = unbounded_channel();
    let (answers, answers_rx) = unbounded_channel();
    let dir = dir.to_path_buf();
    let handle = tokio::spawn(async move {
        let operator = Operator::new(fleet, target.clone(), settings);
        let tl = Timeline::create(&dir, "drill-gate").unwrap();
        let mut drill = Drill::new(
            &book,
            &operator,
            target,
            World::Live(model),
            Mode::Simulation,
            "drill-gate".into(),
            tl,
            Box::new(NonInteractive),
        );
        drill.gate = Some(Gate {
            holds: holds_tx,
            answers: answers_rx,
        });
        let verdict = drill.run().await.unwrap();
        (verdict, drill.timeline.events.clone())
    });
    Run {
        holds,
        answers,
        handle,
    }
}

fn started(events: &[opsdeck::drill::timeline::Event], step: &str) -> bool {
    events
        .iter()
        .any(|e| matches!(&e.kind, EventKind::StepStart { step: s, .. } if s == step))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_wait_for_go_and_the_typed_region_and_a_stop_condition_fires_while_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = start_drill(dir.path());
    let tl = dir.path().join("drill-gate.jsonl");
    let read = || -> Vec<serde_json::Value> {
        std::fs::read_to_string(&tl)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };

    // The first step is announced with the plan the pipeline made; nothing started yet.
    match run.holds.recv().await.unwrap() {
        Hold::Next { steps, plans } => {
            assert_eq!(steps, ["scale us-east-1"]);
            assert_eq!(plans.len(), 1);
            assert!(plans[0].1.contains("us-east-1"), "{}", plans[0].1);
        }
        h => panic!("{h:?}"),
    }
    assert!(read().iter().all(|e| e["event"] != "step_start"));
    run.answers.send(Answer::Go).unwrap();
    // The act step asks for its region (what is typed goes to the pipeline's confirmation).
    let Hold::Confirm { region, .. } = run.holds.recv().await.unwrap() else {
        panic!("expected the confirmation")
    };
    assert_eq!(region, "us-east-1");
    run.answers.send(Answer::Typed("us-east-1".into())).unwrap();
    assert!(matches!(run.holds.recv().await.unwrap(), Hold::Next { .. }));
    run.answers.send(Answer::Go).unwrap();
    // The outage is injected; then the drill waits before the drain, the operator says nothing,
    // and the virtual clock moves on: the stop condition fires while it waits.
    let Hold::Next { steps, .. } = run.holds.recv().await.unwrap() else {
        panic!("expected the next step")
    };
    assert_eq!(steps, ["drain eu-west-1"]);
    let (verdict, events) = run.handle.await.unwrap();
    assert_eq!(verdict, Verdict::Aborted);
    assert!(
        !started(&events, "drain eu-west-1"),
        "never confirmed: never run"
    );
    let fired = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::StopCondition(f) => Some((e.at, f.clone())),
            _ => None,
        })
        .expect("the stop condition fired");
    assert_eq!(fired.1.region, "eu-west-1");
    let failure = events
        .iter()
        .find(|e| matches!(e.kind, EventKind::Failure { .. }))
        .unwrap()
        .at;
    assert!(
        (fired.0 - failure).num_seconds() >= 60,
        "it held for its 60 s: {fired:?}"
    );
    // The scale is rolled back through the pipeline.
    let rollback: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Rollback { step, result, .. } => Some((step.as_str(), result.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(rollback, [("scale us-east-1", "ok")]);
    assert_eq!(read().last().unwrap()["verdict"], "aborted");
}
