//! The drill walkthrough panel (issue 12 §6) drawn beside the live overview on a TestBackend:
//! the list of runbooks and past runs, and a drill opened and run to the middle — the checklist,
//! the current step's plan with its typed confirmation, the clock since the failure against the
//! RTO objective (the state's clock, never the wall clock). The keys go through `update`.

mod common;

use chrono::{DateTime, Duration, Utc};
use opsdeck::app::dialog::DialogKey;
use opsdeck::app::drill::{DrillEffect, DrillReport, Listed};
use opsdeck::app::{update, Action, Effect, State};
use opsdeck::config::Theme;
use opsdeck::drill::engine::{Answer, Hold, Manual};
use opsdeck::drill::runbook::{self, Objectives};
use opsdeck::drill::timeline::{Event, EventKind, Predicted, Verdict};
use opsdeck::ui::export::buffer_to_text;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::path::{Path, PathBuf};

const RUNBOOK: &str = r#"
name = "atlas: lose eu-west-1"
[objectives]
rto_s = 300
rpo_s = 60
[[steady_state]]
region = "*"
metric = "error_rate"
max = 0.05
[[step]]
name = "lose eu-west-1"
inject = { scenario = "outage", region = "eu-west-1" }
[[step]]
name = "drain eu-west-1"
act = { op = "drain", region = "eu-west-1" }
[[step]]
name = "ops confirms writes in us-east-1"
manual = "Create a test contact; check it is written in us-east-1"
[[step]]
name = "recovered"
wait = { until = "steady_state", timeout_s = 600 }
"#;

fn text(state: &State, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    let keymap = common::keymap();
    term.draw(|f| {
        opsdeck::ui::draw(f, state, &Theme::fallback(), &keymap);
    })
    .unwrap();
    buffer_to_text(term.backend().buffer())
}

fn key(state: &mut State, k: DialogKey) -> Vec<Effect> {
    update(state, Action::DrillKey(k))
}

fn report(state: &mut State, r: DrillReport) {
    update(state, Action::DrillReport(r));
}

fn event(state: &mut State, at: DateTime<Utc>, kind: EventKind) {
    report(state, DrillReport::Event(Box::new(Event { at, kind })));
}

/// The healthy console with `D` pressed and the loop's listing arrived: the runbook, a broken
/// one and a past run.
fn listed() -> State {
    let mut s = common::healthy_state();
    let effects = update(&mut s, Action::Drills);
    assert_eq!(effects, vec![Effect::Drill(DrillEffect::List)]);
    let rb = runbook::parse(RUNBOOK, Path::new("drills/atlas.toml"), &s.fleet).unwrap();
    let listed = vec![
        Listed::Runbook(Box::new(rb)),
        Listed::Broken {
            path: PathBuf::from("drills/typo.toml"),
            error: "drills/typo.toml:7:8: unknown op `scael`".into(),
        },
        Listed::Past {
            path: PathBuf::from("state/drills/drill-1.jsonl"),
            drill: "atlas: lose eu-west-1".into(),
            mode: "simulation".into(),
            verdict: Some(Verdict::Pass),
            started_at: Some(common::start()),
        },
    ];
    report(
        &mut s,
        DrillReport::Listed {
            listed,
            looked_in: vec![
                PathBuf::from("fleets/drills"),
                PathBuf::from("config/drills"),
            ],
        },
    );
    s
}

#[test]
fn drill_list_beside_the_overview_160x40() {
    let s = listed();
    let screen = text(&s, 160, 40);
    // The live panes stay: every region's pane is still drawn left of the panel.
    for r in ["eu-west-1", "us-east-1", "ap-southeast-1"] {
        assert!(screen.contains(r), "{screen}");
    }
    insta::assert_snapshot!(screen);
}

/// Open the runbook, start it, and play the engine's side up to the drain's typed confirmation,
/// two minutes after the failure.
fn mid_drill() -> (State, DateTime<Utc>) {
    let mut s = listed();
    assert!(
        key(&mut s, DialogKey::Enter).is_empty(),
        "opening runs nothing"
    );
    let effects = key(&mut s, DialogKey::Enter);
    assert!(
        matches!(&effects[..], [Effect::Drill(DrillEffect::Start(r))] if r.name == "atlas: lose eu-west-1"),
        "{effects:?}"
    );
    let failed = s.now - Duration::seconds(130);
    let t0 = failed - Duration::seconds(5);
    event(
        &mut s,
        t0,
        EventKind::DrillStart {
            drill: "atlas: lose eu-west-1".into(),
            run_id: "drill-1".into(),
            mode: "simulation".into(),
            fleet: "atlas-crm".into(),
            source: "sim".into(),
            runbook: "drills/atlas.toml".into(),
            pid: 1,
            objectives: Objectives {
                rto_s: 300.0,
                rpo_s: 60.0,
            },
            predicted: Predicted::default(),
            predicted_for: None,
        },
    );
    event(
        &mut s,
        t0,
        EventKind::SteadyState {
            phase: "before".into(),
            ok: true,
            results: Vec::new(),
        },
    );
    let start = |step: &str, kind: &str| EventKind::StepStart {
        step: step.into(),
        kind: kind.into(),
        summary: String::new(),
    };
    let end = |step: &str, kind: &str, result: &str| EventKind::StepEnd {
        step: step.into(),
        kind: kind.into(),
        result: result.into(),
        detail: None,
        audit_id: None,
        undo: None,
        one_way: None,
        accepted_at: None,
        settled_at: None,
    };
    event(&mut s, failed, start("lose eu-west-1", "inject"));
    event(
        &mut s,
        failed,
        EventKind::Failure {
            step: "lose eu-west-1".into(),
            region: "eu-west-1".into(),
        },
    );
    event(&mut s, failed, end("lose eu-west-1", "inject", "ok"));
    report(
        &mut s,
        DrillReport::Hold(Hold::Next {
            steps: vec!["drain eu-west-1".into()],
            plans: vec![("drain eu-west-1".into(), "PLAN drain eu-west-1".into())],
        }),
    );
    assert_eq!(
        key(&mut s, DialogKey::Enter),
        vec![Effect::Drill(DrillEffect::Answer(Answer::Go))]
    );
    event(&mut s, failed, start("drain eu-west-1", "act"));
    report(
        &mut s,
        DrillReport::Hold(Hold::Confirm {
            step: "drain eu-west-1".into(),
            plan: "PLAN  drain eu-west-1: Route53 weight 100 → 0\nGUARD last-serving-region  pass"
                .into(),
            region: "eu-west-1".into(),
            moved: None,
        }),
    );
    (s, failed)
}

#[test]
fn drill_mid_way_shows_checklist_plan_and_clock_160x40() {
    let (mut s, _) = mid_drill();
    for c in "eu-west".chars() {
        assert!(key(&mut s, DialogKey::Char(c)).is_empty());
    }
    let screen = text(&s, 160, 40);
    assert!(
        screen.contains("since the failure 02:10 / RTO 05:00"),
        "{screen}"
    );
    assert!(screen.contains("[✓] lose eu-west-1"), "{screen}");
    assert!(screen.contains("[▶] drain eu-west-1"), "{screen}");
    assert!(
        screen.contains("[ ] ops confirms writes in us-east-1"),
        "{screen}"
    );
    assert!(screen.contains("us-east-1") && screen.contains("ap-southeast-1"));
    insta::assert_snapshot!(screen);
}

#[test]
fn a_wrong_region_runs_nothing_the_right_one_answers_typed() {
    let (mut s, _) = mid_drill();
    for c in "us-east-1".chars() {
        key(&mut s, DialogKey::Char(c));
    }
    assert!(
        key(&mut s, DialogKey::Enter).is_empty(),
        "a mismatch runs nothing"
    );
    let d = s.drills.drill.as_ref().unwrap();
    assert!(d.message.as_deref().unwrap().contains("does not match"));
    assert!(matches!(d.hold, Some(Hold::Confirm { .. })), "still asking");
    for c in "eu-west-1".chars() {
        key(&mut s, DialogKey::Char(c));
    }
    assert_eq!(
        key(&mut s, DialogKey::Enter),
        vec![Effect::Drill(DrillEffect::Answer(Answer::Typed(
            "eu-west-1".into()
        )))]
    );
}

#[test]
fn a_manual_step_is_ticked_skipped_or_aborts() {
    let (mut s, _) = mid_drill();
    let manual = || {
        DrillReport::Hold(Hold::Manual {
            step: "ops confirms writes in us-east-1".into(),
            text: "Create a test contact".into(),
        })
    };
    report(&mut s, manual());
    let screen = text(&s, 160, 40);
    assert!(
        screen.contains("MANUAL  `ops confirms writes in us-east-1`"),
        "{screen}"
    );
    assert!(
        screen.contains("t tick done · s skip · A abort"),
        "{screen}"
    );
    assert_eq!(
        key(&mut s, DialogKey::Char('t')),
        vec![Effect::Drill(DrillEffect::Answer(Answer::Manual(
            Manual::Done
        )))]
    );
    report(&mut s, manual());
    assert!(matches!(
        &key(&mut s, DialogKey::Char('s'))[..],
        [Effect::Drill(DrillEffect::Answer(Answer::Manual(
            Manual::Skipped(_)
        )))]
    ));
    report(&mut s, manual());
    assert_eq!(
        key(&mut s, DialogKey::Char('A')),
        vec![Effect::Drill(DrillEffect::Answer(Answer::Abort))]
    );
}

#[test]
fn the_end_shows_the_verdict_and_the_report() {
    let (mut s, failed) = mid_drill();
    event(&mut s, failed + Duration::seconds(95), EventKind::Recovered);
    let now = s.now;
    event(
        &mut s,
        now,
        EventKind::DrillEnd {
            verdict: Verdict::Pass,
            reasons: Vec::new(),
        },
    );
    report(
        &mut s,
        DrillReport::Ended {
            verdict: Verdict::Pass,
            report: Ok(PathBuf::from("state/drills/drill-1.md")),
        },
    );
    let screen = text(&s, 160, 40);
    assert!(screen.contains("VERDICT PASS"), "{screen}");
    assert!(
        screen.contains("recovered after 01:35 / RTO 05:00"),
        "{screen}"
    );
    assert!(
        screen.contains("report state/drills/drill-1.md"),
        "{screen}"
    );
    // Back to the list, listed again (the new run is among the past runs).
    assert_eq!(
        key(&mut s, DialogKey::Esc),
        vec![Effect::Drill(DrillEffect::List)]
    );
}

/// `D` is bound in the shipped keymaps and the help overlay lists it.
#[test]
fn the_help_lists_d_for_the_drills() {
    for name in ["default", "vim"] {
        let (keymap, _) = opsdeck::config::Keymap::load(name, None).unwrap();
        let listed = opsdeck::ui::help::groups(&keymap).iter().any(|g| {
            g.rows
                .iter()
                .any(|(keys, what)| keys == "D" && what.starts_with("DR drills"))
        });
        assert!(listed, "{name}");
    }
}

/// Against AWS a drill starts only once the runbook's name is typed (the CLI's `--execute
/// --confirm NAME`); anything else runs nothing.
#[test]
fn against_aws_the_runbooks_name_is_typed_to_start() {
    let mut s = listed();
    s.source = opsdeck::fleet::SourceKind::Aws;
    key(&mut s, DialogKey::Enter);
    let screen = text(&s, 160, 40);
    assert!(
        screen.contains("type `atlas: lose eu-west-1` to run:"),
        "{screen}"
    );
    assert!(screen.contains("mode   real: against AWS"), "{screen}");
    for c in "atlas".chars() {
        key(&mut s, DialogKey::Char(c));
    }
    assert!(
        key(&mut s, DialogKey::Enter).is_empty(),
        "a wrong name runs nothing"
    );
    let d = s.drills.drill.as_ref().unwrap();
    assert!(!d.started);
    assert!(d
        .message
        .as_deref()
        .unwrap()
        .contains("is not the runbook's name"));
    for c in "atlas: lose eu-west-1".chars() {
        assert!(
            key(&mut s, DialogKey::Char(c)).is_empty(),
            "typing runs nothing"
        );
    }
    let effects = key(&mut s, DialogKey::Enter);
    assert!(
        matches!(&effects[..], [Effect::Drill(DrillEffect::Start(_))]),
        "{effects:?}"
    );
}

/// Real mode, the drill stopped: the rollback is shown and confirmed once — `y` runs it, `n`
/// leaves it planned; nothing else answers.
#[test]
fn the_real_rollback_is_shown_and_confirmed_once() {
    for (k, answer) in [('y', Answer::Go), ('n', Answer::Abort)] {
        let (mut s, _) = mid_drill();
        report(
            &mut s,
            DrillReport::Hold(Hold::Rollback {
                lines: vec!["undo `drain eu-west-1`: restore eu-west-1's weight".into()],
            }),
        );
        let screen = text(&s, 160, 40);
        assert!(screen.contains("ROLLBACK (newest first)"), "{screen}");
        assert!(screen.contains("undo `drain eu-west-1`"), "{screen}");
        assert!(
            screen.contains("y run the rollback · n record it planned"),
            "{screen}"
        );
        assert!(
            key(&mut s, DialogKey::Enter).is_empty(),
            "enter does not answer"
        );
        assert_eq!(
            key(&mut s, DialogKey::Char(k)),
            vec![Effect::Drill(DrillEffect::Answer(answer))]
        );
        assert!(key(&mut s, DialogKey::Char(k)).is_empty(), "asked once");
    }
}
