//! The console's operation dialogs: reachable from the keyboard on the focused region, driven
//! through `app::update` with the pipeline run on a simulated fleet, rendered on a fixed-size
//! TestBackend and snapshotted. A wrong confirmation runs nothing.

use chrono::{DateTime, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::app::dialog::{Dialog, DialogKey, OpEffect, OpReport, PlanDialog};
use opsdeck::app::{update, Action, Effect, State, View};
use opsdeck::config::{Keymap, Mode, Theme};
use opsdeck::fleet::Fleet;
use opsdeck::ops::audit::tail::VIEW_RECORDS;
use opsdeck::ops::plan_lines::{self, PlanLine, Verdict};
use opsdeck::ops::sim::SimTarget;
use opsdeck::ops::target::VerifyLimits;
use opsdeck::ops::{Operator, Permission, Settings};
use opsdeck::source::sim::SimFleet;
use opsdeck::source::{Scenario, SourceEvent};
use opsdeck::ui::export::buffer_to_text;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 14, 0, 0).unwrap()
}

/// The pipeline on `model`, with its audit log in `dir`.
fn operator(
    fleet: &Fleet,
    model: &Arc<Mutex<SimFleet>>,
    dir: &std::path::Path,
    permission: Permission,
) -> Operator {
    let settings = Settings {
        permission,
        audit_log: dir.join("audit.jsonl"),
        // Longer than a promotion takes to settle in the model (a minute of "modifying").
        verify: VerifyLimits {
            limit: Duration::from_secs(300),
            poll: Duration::from_secs(5),
        },
    };
    Operator::new(
        fleet.clone(),
        Arc::new(SimTarget::new(model.clone(), true)),
        settings,
    )
}

struct Console {
    state: State,
    operator: Operator,
    model: Arc<Mutex<SimFleet>>,
    _dir: tempfile::TempDir,
}

impl Console {
    fn new(scenario: Option<(&str, Scenario)>) -> Self {
        Self::on(Fleet::builtin(), scenario)
    }

    fn on(fleet: Fleet, scenario: Option<(&str, Scenario)>) -> Self {
        let mut sim = SimFleet::new(&fleet, 5, start());
        if let Some((region, s)) = scenario {
            sim.inject(region, s).unwrap();
            sim.advance(300.0);
        }
        let model = Arc::new(Mutex::new(sim));
        let dir = tempfile::tempdir().unwrap();
        let operator = operator(&fleet, &model, dir.path(), Permission::Allowed);
        let now = model.lock().unwrap().now();
        let state = State::new(fleet, opsdeck::fleet::SourceKind::Sim, now);
        let mut console = Console {
            state,
            operator,
            model,
            _dir: dir,
        };
        console.read_model();
        console
    }

    /// What the console's source does on a tick: the model's readings, at the model's time.
    fn read_model(&mut self) {
        let (now, readings) = {
            let m = self.model.lock().unwrap();
            (m.now(), m.readings())
        };
        for (region, reading) in readings {
            update(
                &mut self.state,
                Action::Source(SourceEvent::Reading {
                    region,
                    at: now,
                    reading,
                }),
            );
        }
    }

    /// What the console loop does with effects: run them through the pipeline, feed the reports.
    async fn apply(&mut self, effects: Vec<Effect>) {
        let mut effects = std::collections::VecDeque::from(effects);
        while let Some(effect) = effects.pop_front() {
            let Effect::Op(op) = effect else { continue };
            let report = match op {
                OpEffect::Plan { op, undo_of } => OpReport::Planned {
                    prepared: Box::new(self.operator.prepare(&op).await.unwrap()),
                    undo_of,
                },
                OpEffect::Run {
                    prepared,
                    confirmation,
                } => {
                    // As the console's runner does: "accepted" first, then the settled outcome.
                    let accepted = Arc::new(Mutex::new(None));
                    let seen = accepted.clone();
                    let mut outcome = self
                        .operator
                        .run_watching(&prepared, &confirmation, move |a| {
                            *seen.lock().unwrap() = Some(a)
                        })
                        .await
                        .unwrap();
                    let id = "20261122T140000000Z-1-0".to_string();
                    if let Some(mut a) = accepted.lock().unwrap().take() {
                        assert_eq!(a.id, outcome.id);
                        a.id = id.clone();
                        update(
                            &mut self.state,
                            Action::OpReport(OpReport::Accepted(Box::new(a))),
                        );
                        assert!(
                            matches!(self.state.dialog, Some(Dialog::Accepted(_))),
                            "{:?}",
                            self.state.dialog
                        );
                    }
                    outcome.id = id;
                    OpReport::Finished(Box::new(outcome))
                }
                OpEffect::WhatIf { region } => {
                    let report = self.operator.what_if(&region).await.unwrap();
                    OpReport::WhatIf(Box::new(report))
                }
                other => panic!("unexpected effect {other:?}"),
            };
            effects.extend(update(&mut self.state, Action::OpReport(report)));
        }
    }

    async fn press(&mut self, a: Action) {
        let effects = update(&mut self.state, a);
        self.apply(effects).await;
    }

    /// Type into the dialog; the effects of the last key.
    fn type_text(&mut self, s: &str) {
        for c in s.chars() {
            assert!(update(&mut self.state, Action::DialogKey(DialogKey::Char(c))).is_empty());
        }
    }

    /// Type an overridable rule's name and Enter: its override is confirmed.
    fn override_rule(&mut self, rule: &str) {
        self.type_text(rule);
        assert!(self.enter().is_empty(), "an override runs nothing");
        let Some(Dialog::Plan(p)) = &self.state.dialog else {
            panic!("{:?}", self.state.dialog)
        };
        assert!(p.overrides.iter().any(|o| o == rule), "{:?}", p.message);
    }

    fn enter(&mut self) -> Vec<Effect> {
        update(&mut self.state, Action::DialogKey(DialogKey::Enter))
    }

    fn screen(&self) -> String {
        self.screen_sized(110, 40)
    }

    fn screen_sized(&self, w: u16, h: u16) -> String {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        let (keymap, _) = Keymap::load("default", None).unwrap();
        term.draw(|f| {
            opsdeck::ui::draw(f, &self.state, &Theme::fallback(), &keymap);
        })
        .unwrap();
        buffer_to_text(term.backend().buffer())
    }

    /// The style of the cell where `needle` first appears.
    fn style_of(&self, needle: &str) -> ratatui::style::Style {
        let mut term = Terminal::new(TestBackend::new(110, 40)).unwrap();
        let (keymap, _) = Keymap::load("default", None).unwrap();
        term.draw(|f| {
            opsdeck::ui::draw(f, &self.state, &Theme::fallback(), &keymap);
        })
        .unwrap();
        let buf = term.backend().buffer();
        for y in 0..buf.area.height {
            let row: String = (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect();
            if let Some(at) = row.find(needle) {
                let x = row[..at].chars().count() as u16;
                return buf[(x, y)].style();
            }
        }
        panic!("{needle} not on screen")
    }

    fn weight(&self, region: &str) -> Option<i64> {
        let view = SimTarget::view_of(&self.model.lock().unwrap());
        view.region(region).unwrap().record.as_ref().unwrap().weight
    }
}

#[test]
fn every_operation_is_on_a_key_in_the_overview() {
    let (keymap, _) = Keymap::load("default", None).unwrap();
    for (key, action) in [
        ('s', Action::ScaleUp),
        ('S', Action::ScaleDown),
        ('d', Action::Drain),
        ('R', Action::Restore),
        ('P', Action::Promote),
        ('w', Action::WhatIf),
        ('a', Action::AuditLog),
        ('u', Action::Undo),
    ] {
        let ev = KeyEvent::new(KeyCode::Char(key), KeyModifiers::NONE);
        assert_eq!(
            keymap.lookup(Mode::Overview, &ev),
            Some(action.clone()),
            "{key}"
        );
        assert_eq!(keymap.lookup(Mode::Detail, &ev), Some(action), "{key}");
    }
}

#[tokio::test]
async fn drain_plan_confirmation_and_result() {
    let mut c = Console::new(None);
    c.press(Action::Drain).await;
    assert!(
        matches!(c.state.dialog, Some(Dialog::Plan(_))),
        "{:?}",
        c.state.dialog
    );
    insta::assert_snapshot!("drain_plan", c.screen());
    // The survivors would be over their rated capacity: the override is typed first.
    c.override_rule("survivor-capacity");

    // A wrong confirmation runs nothing and says so.
    c.type_text("eu-west");
    insta::assert_snapshot!("drain_typing", c.screen());
    assert!(c.enter().is_empty(), "a mismatch must not run");
    assert_eq!(c.weight("eu-west-1"), Some(100));
    assert!(c.operator.audit().read().unwrap().is_empty());
    let Some(Dialog::Plan(p)) = &c.state.dialog else {
        panic!("the plan stays open")
    };
    assert_eq!(
        p.message.as_deref(),
        Some("`eu-west` does not match `eu-west-1`: nothing ran")
    );
    assert_eq!(p.input, "");

    c.type_text("eu-west-1");
    let effects = c.enter();
    assert!(
        matches!(effects.as_slice(), [Effect::Op(OpEffect::Run { .. })]),
        "{effects:?}"
    );
    assert!(matches!(c.state.dialog, Some(Dialog::Running { .. })));
    c.apply(effects).await;
    assert_eq!(c.weight("eu-west-1"), Some(0));
    insta::assert_snapshot!("drain_result", c.screen());
    assert_eq!(c.operator.audit().read().unwrap().len(), 2);
    assert!(c.state.events.iter().any(|e| e.text
        == "drain eu-west-1: accepted at 14:00:00 UTC; watching until the fleet shows it"));
    assert!(
        c.state.events.iter().any(|e| e.text
            == "drain eu-west-1: applied: accepted at 14:00:00 UTC, settled at 14:00:00 UTC (after 0 s)"),
        "{:?}",
        c.state.events
    );
    assert!(c.state.watching.is_empty(), "settled: no longer watched");
}

/// On an EKS region the scale dialog offers the node group, counted in nodes, and plans a
/// node-group scale through the same pipeline.
#[tokio::test]
async fn scale_on_an_eks_region_offers_its_node_group() {
    let fleet = Fleet::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fleets/kaldrix.toml"
    )))
    .unwrap();
    let group = fleet.regions[2].eks[0].clone();
    let mut c = Console::on(fleet, None);
    c.state.focus = 2;
    let region = c.state.focused().name().to_string();
    let now = c.state.focused().eks.as_ref().expect("node groups read")[0].desired;
    c.press(Action::ScaleUp).await;
    let Some(Dialog::Count {
        services, desired, ..
    }) = &c.state.dialog
    else {
        panic!("{:?}", c.state.dialog)
    };
    assert!(services[0].nodegroup, "{services:?}");
    assert_eq!(services[0].name, group.nodegroup);
    assert_eq!(*desired, now + 1);
    let screen = c.screen();
    assert!(
        screen.contains(&format!(
            "EKS node group {}/{}",
            group.cluster, group.nodegroup
        )),
        "{screen}"
    );
    assert!(
        screen.contains(&format!("desired nodes: {now} →")),
        "{screen}"
    );
    let effects = c.enter();
    let [Effect::Op(OpEffect::Plan { op, .. })] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(
        op,
        &opsdeck::ops::Op::ScaleNodegroup {
            region,
            cluster: group.cluster.clone(),
            nodegroup: group.nodegroup.clone(),
            desired: now + 1,
            min: None,
            max: None,
        }
    );
}

#[tokio::test]
async fn scale_asks_for_the_count_then_plans_it() {
    let mut c = Console::new(None);
    c.state.focus = 2; // ap-southeast-1, 2 tasks
    c.press(Action::ScaleUp).await;
    let Some(Dialog::Count { desired, .. }) = &c.state.dialog else {
        panic!("{:?}", c.state.dialog)
    };
    assert_eq!(*desired, 3);
    update(&mut c.state, Action::DialogKey(DialogKey::Char('+')));
    insta::assert_snapshot!("scale_count", c.screen());
    let effects = c.enter();
    let [Effect::Op(OpEffect::Plan { op, .. })] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(op.summary(), "scale atlas-ap/api in ap-southeast-1 to 4");
    c.apply(effects).await;
    let Some(Dialog::Plan(p)) = &c.state.dialog else {
        panic!("{:?}", c.state.dialog)
    };
    assert!(matches!(
        p.prepared.plan.calls.last().unwrap(),
        opsdeck::ops::ApiCall::UpdateService {
            desired_count: 4,
            ..
        }
    ));
    // Esc closes without running anything.
    assert!(update(&mut c.state, Action::DialogKey(DialogKey::Esc)).is_empty());
    assert!(c.state.dialog.is_none());
    assert_eq!(
        c.model
            .lock()
            .unwrap()
            .region_load("ap-southeast-1")
            .unwrap()
            .desired_tasks,
        2
    );
}

#[tokio::test]
async fn an_override_is_typed_before_the_confirmation() {
    let mut c = Console::new(Some(("us-east-1", Scenario::ReplicaLag)));
    c.state.focus = 1;
    c.press(Action::Promote).await;
    insta::assert_snapshot!("promote_blocked", c.screen());
    let theme = Theme::fallback();
    assert_eq!(
        c.style_of("BLOCK").fg,
        theme.crit.fg,
        "a blocked rule is drawn in the crit colour"
    );
    assert_eq!(c.style_of("pass").fg, theme.ok.fg);
    // The region name does not pass the blocked rule.
    c.type_text("us-east-1");
    assert!(c.enter().is_empty());
    // One override typed for each rule that blocks, in the plan's order.
    c.type_text("primary-takes-writes");
    assert!(c.enter().is_empty());
    c.type_text("us-east-1");
    assert!(c.enter().is_empty(), "the lag rule still blocks");
    c.type_text("replica-lag-over-rpo");
    assert!(c.enter().is_empty());
    c.type_text("us-east-1");
    let effects = c.enter();
    let [Effect::Op(OpEffect::Run {
        confirmation,
        prepared,
    })] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(
        confirmation.overrides,
        ["primary-takes-writes", "replica-lag-over-rpo"]
    );
    let mut prepared = prepared.as_ref().clone();
    c.apply(effects).await;
    let Some(Dialog::Result(o)) = &c.state.dialog else {
        panic!("{:?}", c.state.dialog)
    };
    assert_eq!(o.result.label(), "applied");
    assert_eq!(
        o.overrides,
        ["primary-takes-writes", "replica-lag-over-rpo"]
    );
    // One rule for the verdict: the override the pipeline recorded reads the same in the plan
    // model, the CLI text and the dialog (which once only knew the overrides typed into it).
    let verdict = |lines: &[PlanLine]| {
        lines.iter().find_map(|l| match l {
            PlanLine::Guard { verdict, rule, .. } if rule == "replica-lag-over-rpo" => {
                Some(*verdict)
            }
            _ => None,
        })
    };
    let recorded = plan_lines::lines(&o.plan, &o.guards, &[]);
    assert_eq!(verdict(&recorded), Some(Verdict::Overridden));
    let text = opsdeck::ops::text::plan(&o.plan, &o.guards, true);
    assert!(text.contains("  OVERRIDE  replica-lag-over-rpo"), "{text}");
    prepared.guards = o.guards.clone();
    c.state.dialog = Some(Dialog::Plan(Box::new(PlanDialog {
        prepared,
        input: String::new(),
        overrides: Vec::new(),
        message: None,
        moved: None,
        undo_of: None,
        scroll: 0,
    })));
    assert!(
        c.screen().contains("OVERRIDDEN  replica-lag-over-rpo"),
        "{}",
        c.screen()
    );
    assert_eq!(c.style_of("OVERRIDDEN").fg, theme.warn.fg);
}

#[tokio::test]
async fn a_rule_that_cannot_be_overridden_leaves_nothing_to_type() {
    let mut c = Console::new(None);
    c.operator = operator(
        &Fleet::builtin(),
        &c.model,
        c._dir.path(),
        Permission::ReadOnly,
    );
    c.press(Action::Drain).await;
    for attempt in ["read-only", "eu-west-1"] {
        c.type_text(attempt);
        assert!(c.enter().is_empty(), "{attempt}");
    }
    assert!(c
        .screen()
        .contains("blocked by read-only: this operation cannot run"));
    assert_eq!(c.weight("eu-west-1"), Some(100));
}

/// Repro: reaching 10 tasks took six `+`. Digits typed replace the count; +/- still step it.
#[tokio::test]
async fn the_scale_dialog_takes_a_typed_number() {
    let mut c = Console::new(None);
    c.state.focus = 2; // ap-southeast-1, 2 tasks
    c.press(Action::ScaleUp).await;
    c.type_text("10");
    let Some(Dialog::Count { desired, .. }) = &c.state.dialog else {
        panic!("{:?}", c.state.dialog)
    };
    assert_eq!(*desired, 10, "typed, not stepped");
    insta::assert_snapshot!("scale_typed", c.screen());
    // Backspace takes the last digit; + steps from there and the next digit starts afresh.
    update(&mut c.state, Action::DialogKey(DialogKey::Backspace));
    c.type_text("+");
    let count = |c: &Console| match &c.state.dialog {
        Some(Dialog::Count { desired, .. }) => *desired,
        other => panic!("{other:?}"),
    };
    assert_eq!(count(&c), 2);
    c.type_text("7");
    assert_eq!(count(&c), 7);
    c.type_text("99999");
    assert_eq!(count(&c), 7999, "a count past 9999 is not taken");
    update(&mut c.state, Action::DialogKey(DialogKey::Backspace));
    update(&mut c.state, Action::DialogKey(DialogKey::Backspace));
    update(&mut c.state, Action::DialogKey(DialogKey::Backspace));
    c.type_text("-");
    assert_eq!(count(&c), 6);
    let effects = c.enter();
    let [Effect::Op(OpEffect::Plan { op, .. })] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(op.summary(), "scale atlas-ap/api in ap-southeast-1 to 6");
}

/// Repro: a scale plan left open for six simulated minutes was planned again at confirmation and
/// ran without showing anything. The dialog shows its age; when the fleet moved meanwhile (here
/// us-east-1 failed and its users went to the survivors) nothing runs: the new plan is shown with
/// what moved, and the region's name is asked for again.
#[tokio::test]
async fn a_plan_that_moved_is_shown_again_with_what_moved_not_run() {
    let mut c = Console::new(None);
    c.model.lock().unwrap().set_autoscaling(false);
    c.state.focus = 2; // ap-southeast-1, 2 tasks
    c.press(Action::ScaleUp).await;
    let effects = c.enter();
    c.apply(effects).await;
    assert!(matches!(c.state.dialog, Some(Dialog::Plan(_))));
    assert!(c
        .screen()
        .contains("planned from a read at 14:00:00 UTC, 0 s ago"));
    {
        let mut m = c.model.lock().unwrap();
        m.inject("us-east-1", Scenario::Outage).unwrap();
        m.advance(360.0);
    }
    c.read_model();
    assert_eq!(c.state.now, c.model.lock().unwrap().now());
    assert!(
        c.screen()
            .contains("planned from a read at 14:00:00 UTC, 6 min ago"),
        "{}",
        c.screen()
    );
    c.type_text("ap-southeast-1");
    let effects = c.enter();
    c.apply(effects).await;
    let Some(Dialog::Plan(p)) = &c.state.dialog else {
        panic!("the new plan is shown: {:?}", c.state.dialog)
    };
    let moved = p.moved.clone().unwrap_or_default();
    assert!(
        moved.contains("ap-southeast-1 serves")
            && moved.contains("us-east-1 Route53 health check fails now"),
        "{moved}"
    );
    assert_eq!(p.prepared.plan.read_at, c.state.now, "planned again now");
    let desired = |c: &Console| {
        c.model
            .lock()
            .unwrap()
            .region_load("ap-southeast-1")
            .unwrap()
            .desired_tasks
    };
    assert_eq!(desired(&c), 2, "nothing ran");
    let screen = c.screen();
    assert!(screen.contains("PLANNED AGAIN"), "{screen}");
    assert!(screen.contains("06:00 UTC, 0 s ago"), "{screen}");
    insta::assert_snapshot!("scale_plan_moved", screen);
    // What moved stays on screen while the region is typed again; then this plan runs.
    c.type_text("ap-southeast");
    assert!(c.screen().contains("PLANNED AGAIN"));
    c.type_text("-1");
    let effects = c.enter();
    c.apply(effects).await;
    assert!(
        matches!(c.state.dialog, Some(Dialog::Result(_))),
        "{:?}",
        c.state.dialog
    );
    assert_eq!(desired(&c), 3);
}

/// Repro: with the audit view open, `d` opened a drain plan behind it and Enter the detail view.
#[tokio::test]
async fn the_audit_view_is_modal() {
    let mut c = Console::new(None);
    update(&mut c.state, Action::AuditLog);
    for a in [
        Action::Drain,
        Action::OpenDetail,
        Action::ScaleUp,
        Action::WhatIf,
        Action::NextRegion,
        Action::ClickRegion(1),
        Action::Events,
    ] {
        assert!(update(&mut c.state, a.clone()).is_empty(), "{a:?}");
        assert!(
            c.state.dialog.is_none(),
            "{a:?} opened {:?}",
            c.state.dialog
        );
        assert_eq!(c.state.view, View::Overview, "{a:?}");
        assert_eq!(c.state.focus, 0, "{a:?}");
        assert!(c.state.audit.open, "{a:?} closed the audit view");
    }
    let screen = c.screen();
    assert!(screen.contains("audit log"), "{screen}");
    assert!(
        screen.contains("the audit log is open: esc closes it first"),
        "{screen}"
    );
    update(&mut c.state, Action::Back);
    assert!(!c.state.audit.open);
    c.press(Action::Drain).await;
    assert!(matches!(c.state.dialog, Some(Dialog::Plan(_))));
}

#[tokio::test]
async fn the_audit_view_lists_the_records_newest_first() {
    let mut c = Console::new(None);
    c.press(Action::Drain).await;
    c.override_rule("survivor-capacity");
    c.type_text("eu-west-1");
    let effects = c.enter();
    c.apply(effects).await;
    update(&mut c.state, Action::DialogKey(DialogKey::Esc));
    let effects = update(&mut c.state, Action::AuditLog);
    assert_eq!(effects, vec![Effect::Op(OpEffect::LoadAudit)]);
    let records = c.operator.audit().read_last(VIEW_RECORDS);
    update(&mut c.state, Action::OpReport(OpReport::Audit(records)));
    let screen = c.screen();
    let applied = screen.find("applied").expect(&screen);
    let requested = screen.find("requested").expect(&screen);
    assert!(applied < requested, "newest first:\n{screen}");
    assert!(screen.contains("drain eu-west-1"), "{screen}");
    assert!(
        screen.contains("audit log · 2 records "),
        "the whole (small) log:\n{screen}"
    );
    // Back and scrolling go to the view on top — the audit view — and nowhere else.
    c.state.view = View::Events;
    assert_eq!(c.state.audit.records.len(), 2, "requested and applied");
    update(&mut c.state, Action::ScrollDown);
    update(&mut c.state, Action::ScrollDown);
    assert_eq!(c.state.audit.scroll, 1, "scrolled, within the records");
    assert_eq!(
        c.state.event_scroll, 0,
        "the event log under it did not move"
    );
    update(&mut c.state, Action::ScrollUp);
    assert_eq!(c.state.audit.scroll, 0);
    update(&mut c.state, Action::Back);
    assert!(!c.state.audit.open);
    assert_eq!(
        c.state.view,
        View::Events,
        "Back closed only the audit view"
    );
    update(&mut c.state, Action::Back);
    assert_eq!(c.state.view, View::Overview);
}

/// The console loop's runner, end to end: drain, then undo from the keyboard.
#[tokio::test]
async fn undo_from_the_console_restores_the_drained_weight() {
    let Console {
        mut state,
        model,
        _dir,
        ..
    } = Console::new(None);
    let mut fleet = Fleet::builtin();
    fleet.guards.cooldown_s = 0;
    let operator = operator(&fleet, &model, _dir.path(), Permission::Allowed);
    let mut runner = opsdeck::console::runner::OpsRunner::new(Some(operator));
    async fn drive(
        state: &mut State,
        runner: &mut opsdeck::console::runner::OpsRunner,
        effects: Vec<Effect>,
    ) {
        for e in effects {
            if let Effect::Op(op) = e {
                runner.handle(op);
                // A run reports "accepted" before its outcome.
                loop {
                    let report = runner.next().await.unwrap();
                    let accepted = matches!(report, Action::OpReport(OpReport::Accepted(_)));
                    update(state, report);
                    if !accepted {
                        break;
                    }
                }
            }
        }
    }
    let weight = || {
        SimTarget::view_of(&model.lock().unwrap()).regions[0]
            .record
            .as_ref()
            .unwrap()
            .weight
    };
    for (action, expect) in [(Action::Drain, Some(0)), (Action::Undo, Some(100))] {
        let effects = update(&mut state, action.clone());
        drive(&mut state, &mut runner, effects).await;
        let Some(Dialog::Plan(p)) = &state.dialog else {
            panic!("{:?}", state.dialog)
        };
        assert_eq!(p.undo_of.is_some(), expect == Some(100));
        let typed = match action {
            Action::Drain => "survivor-capacity\neu-west-1",
            _ => "eu-west-1",
        };
        for c in typed.chars() {
            if c == '\n' {
                update(&mut state, Action::DialogKey(DialogKey::Enter));
                continue;
            }
            update(&mut state, Action::DialogKey(DialogKey::Char(c)));
        }
        let effects = update(&mut state, Action::DialogKey(DialogKey::Enter));
        drive(&mut state, &mut runner, effects).await;
        let Some(Dialog::Result(o)) = &state.dialog else {
            panic!("{:?}", state.dialog)
        };
        assert_eq!(o.result.label(), "applied");
        assert_eq!(weight(), expect);
        update(&mut state, Action::DialogKey(DialogKey::Esc));
    }
    // Nothing left to undo: the drain was undone, and an undo is not undone again.
    let effects = update(&mut state, Action::Undo);
    drive(&mut state, &mut runner, effects).await;
    let Some(Dialog::Error { message, .. }) = &state.dialog else {
        panic!("{:?}", state.dialog)
    };
    assert!(message.contains("no reversible operation"), "{message}");
}

#[tokio::test]
async fn the_what_if_overlay_shows_survivors_promotion_and_rto() {
    let mut c = Console::new(None);
    c.press(Action::WhatIf).await;
    let Some(Dialog::WhatIf { report, .. }) = &c.state.dialog else {
        panic!("{:?}", c.state.dialog)
    };
    assert_eq!(report.failed, "eu-west-1");
    let screen = c.screen();
    insta::assert_snapshot!("what_if", screen);
    assert!(screen.contains("what-if: eu-west-1 fails now"));
    assert!(
        screen.contains("PROMOTE") && screen.contains("RTO"),
        "{screen}"
    );
    update(&mut c.state, Action::DialogKey(DialogKey::Down));
    assert!(matches!(
        c.state.dialog,
        Some(Dialog::WhatIf { scroll: 1, .. })
    ));
    update(&mut c.state, Action::DialogKey(DialogKey::Enter));
    assert!(c.state.dialog.is_none(), "enter closes it");
    assert_eq!(
        c.weight("eu-west-1"),
        Some(100),
        "a what-if changes nothing"
    );
}

/// One clock: the event log line of an operation and its `ended` audit record read the same
/// moment, the simulated fleet's virtual time (not the wall clock), as does the plan's read time.
#[tokio::test]
async fn the_event_log_and_the_audit_record_say_the_same_time_for_one_moment() {
    let mut c = Console::new(None);
    c.press(Action::Drain).await;
    c.override_rule("survivor-capacity");
    c.type_text("eu-west-1");
    let effects = c.enter();
    c.apply(effects).await;
    let records = c.operator.audit().read().unwrap();
    let ended = records.last().unwrap();
    assert_eq!(ended.phase, opsdeck::ops::audit::Phase::Ended);
    let line = c
        .state
        .events
        .iter()
        .find(|e| e.text.starts_with("drain eu-west-1"))
        .expect("the outcome is in the event log");
    assert_eq!(line.at, ended.time, "{line:?}");
    let model_now = c.model.lock().unwrap().now();
    assert_eq!(
        ended.time, model_now,
        "the model's clock, not the wall clock"
    );
    assert!(records[0].time >= ended.plan.read_at && records[0].time <= ended.time);
    assert_eq!(ended.time.date_naive(), start().date_naive());
}

/// An accepted operation is watched in the background: closing the "accepted" dialog leaves the
/// watch in the footer, keys work (the what-if opens), and when it settles the event log says when
/// without covering what the operator opened since.
#[tokio::test]
async fn an_accepted_operation_is_watched_in_the_background_while_keys_work() {
    let mut c = Console::new(None);
    c.state.focus = 2; // ap-southeast-1, 2 tasks
    c.press(Action::ScaleUp).await;
    update(&mut c.state, Action::DialogKey(DialogKey::Char('5')));
    let effects = c.enter();
    c.apply(effects).await;
    c.type_text("ap-southeast-1");
    let effects = c.enter();
    let [Effect::Op(OpEffect::Run {
        prepared,
        confirmation,
    })] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    // The console's runner sends "accepted" at once and the outcome when the fleet settled.
    let accepted = Arc::new(Mutex::new(None));
    let seen = accepted.clone();
    let outcome = c
        .operator
        .run_watching(prepared, confirmation, move |a| {
            *seen.lock().unwrap() = Some(a)
        })
        .await
        .unwrap();
    let accepted = accepted.lock().unwrap().take().expect("accepted");
    assert_eq!(accepted.at, start());
    let settled = outcome.settled_at.expect("the three new tasks ran");
    assert!(settled > accepted.at);

    update(
        &mut c.state,
        Action::OpReport(OpReport::Accepted(Box::new(accepted.clone()))),
    );
    let screen = c.screen();
    assert!(screen.contains("ACCEPTED at 14:00:00 UTC"), "{screen}");
    assert!(
        c.state.events.iter().any(|e| e.text
            == "scale atlas-ap/api in ap-southeast-1 to 5: accepted at 14:00:00 UTC; \
                watching until the fleet shows it"),
        "{:?}",
        c.state.events
    );
    // Closing the dialog does not stop the watch; the footer keeps saying so.
    update(&mut c.state, Action::DialogKey(DialogKey::Esc));
    assert!(c.state.dialog.is_none());
    assert_eq!(c.state.watching, vec![accepted]);
    let screen = c.screen();
    assert!(
        screen.contains("watching: scale atlas-ap/api in ap-southeast-1 to 5 (accepted 14:00:00)"),
        "{screen}"
    );
    // Keys work meanwhile: the what-if opens.
    c.press(Action::WhatIf).await;
    assert!(
        matches!(c.state.dialog, Some(Dialog::WhatIf { .. })),
        "{:?}",
        c.state.dialog
    );

    update(
        &mut c.state,
        Action::OpReport(OpReport::Finished(Box::new(outcome))),
    );
    assert!(
        matches!(c.state.dialog, Some(Dialog::WhatIf { .. })),
        "the result does not cover the what-if: {:?}",
        c.state.dialog
    );
    assert!(c.state.watching.is_empty());
    let took = (settled - start()).num_seconds();
    let line = format!(
        "scale atlas-ap/api in ap-southeast-1 to 5: applied: accepted at 14:00:00 UTC, \
         settled at {} (after {took} s)",
        settled.format("%H:%M:%S UTC")
    );
    assert!(
        c.state.events.iter().any(|e| e.text == line),
        "{line}\n{:?}",
        c.state.events
    );
}

/// The week summary (issue 13 §6): `W` in both built-in keymaps, "computing…" until the runner
/// reports the review it computed off the loop (the model over the window, as `opsdeck report`),
/// then the fleet's and each region's attainment, budget and cost — the same numbers as
/// `opsdeck report --format json` for the same seed and window; esc closes it.
#[tokio::test]
async fn the_week_summary_shows_the_reports_numbers_for_the_same_seed_and_window() {
    let w = KeyEvent::new(KeyCode::Char('W'), KeyModifiers::SHIFT);
    for name in ["default", "vim"] {
        let (keymap, _) = Keymap::load(name, None).unwrap();
        assert_eq!(
            keymap.lookup(Mode::Overview, &w),
            Some(Action::WeekSummary),
            "{name}"
        );
    }
    let mut c = Console::new(None);
    let operator = operator(
        &Fleet::builtin(),
        &c.model,
        c._dir.path(),
        Permission::Allowed,
    );
    let mut runner = opsdeck::console::runner::OpsRunner::new(Some(operator))
        .with_week(opsdeck::report::WeekSource::Sim { seed: 7 });
    let effects = update(&mut c.state, Action::WeekSummary);
    assert_eq!(effects, vec![Effect::Op(OpEffect::LoadWeek)]);
    assert!(c.screen().contains("computing…"), "{}", c.screen());
    // Behind the overlay nothing moves: a region key is swallowed.
    update(&mut c.state, Action::NextRegion);
    assert_eq!(c.state.focus, 0);
    runner.handle(OpEffect::LoadWeek);
    let report = runner.next().await.unwrap();
    assert!(
        matches!(report, Action::OpReport(OpReport::Week(Ok(_)))),
        "{report:?}"
    );
    update(&mut c.state, report);
    let screen = c.screen_sized(130, 24);
    assert!(!screen.contains("computing…"), "{screen}");
    insta::assert_snapshot!("week_summary", screen);

    // The console's week ends at the model's clock: the same window from the command line.
    let until = start().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let state_dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(["report", "--until", &until, "--since", "7d", "--seed", "7"])
        .args(["--format", "json"])
        .env("OPSDECK_STATE_DIR", state_dir.path())
        .env("OPSDECK_CONFIG", state_dir.path().join("config"))
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pct = |x: &serde_json::Value, d: usize| format!("{:.*} %", d, x.as_f64().unwrap() * 100.0);
    let usd = |x: &serde_json::Value| format!("${:.2}", x.as_f64().unwrap());
    let line_of = |needle: &str| {
        screen
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle:?} not on screen:\n{screen}"))
            .to_string()
    };
    let fleet = line_of("fleet  availability");
    assert!(
        fleet.contains(&pct(&v["overall"]["availability"], 3)),
        "{fleet}"
    );
    assert!(
        fleet.contains(&format!(
            "budget left {}",
            pct(&v["overall"]["budget_remaining"], 0)
        )),
        "{fleet}"
    );
    assert!(
        fleet.contains(&format!("incidents {}", v["overall"]["incidents"])),
        "{fleet}"
    );
    let cost = line_of("cost   7 days");
    assert!(
        cost.contains(&usd(&v["overall_cost"]["window_usd"])),
        "{cost}"
    );
    assert!(
        cost.contains(&usd(&v["overall_cost"]["forecast_usd"])),
        "{cost}"
    );
    let regions = v["regions"].as_array().unwrap();
    assert_eq!(regions.len(), c.state.regions.len());
    // The report's order (least budget left first) is the summary's.
    let mut last_row = 0;
    for r in regions {
        let name = r["name"].as_str().unwrap();
        let row = screen
            .lines()
            .position(|l| l.contains(&format!("│ {name} ")))
            .unwrap_or_else(|| panic!("{name} not on screen:\n{screen}"));
        assert!(
            row > last_row,
            "{name} out of the report's order:\n{screen}"
        );
        last_row = row;
        let line = screen.lines().nth(row).unwrap();
        let a = &r["availability"];
        for shown in [
            format!("{} ({})", pct(&a["attained"], 3), pct(&a["target"], 2)),
            pct(&a["budget_remaining"], 0),
            a["status"].as_str().unwrap().to_string(),
            format!("{:.1}x", r["burn_rate_max"]["1h"].as_f64().unwrap()),
            usd(&r["cost"]["window_usd"]),
            format!(
                "{} / {}",
                usd(&r["cost"]["forecast_usd"]),
                usd(&r["cost"]["budget_usd"])
            ),
        ] {
            assert!(line.contains(&shown), "{name}: {shown:?} not in {line:?}");
        }
        let incidents = r["incidents"].as_array().unwrap().len();
        assert!(
            line.contains(&format!(" {incidents} ")),
            "{name}: {incidents} incidents not in {line:?}"
        );
    }
    update(&mut c.state, Action::Back);
    assert!(!c.state.week.open);
    assert!(!c.screen().contains("week summary ·"), "{}", c.screen());
}
