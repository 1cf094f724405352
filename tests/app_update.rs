//! State transitions driven by `Action`s.

use chrono::{DateTime, TimeZone, Utc};
use opsdeck::app::{update, Action, ChartWindow, Effect, State, View};
use opsdeck::fleet::{
    DataKind, EcsCounts, Fleet, MetricValues, Reading, Replication, SourceError, Status,
};
use opsdeck::source::{Scenario, SourceCommand, SourceEvent};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

fn metrics(p99: f64, err: f64, lag: Option<f64>) -> MetricValues {
    MetricValues {
        latency_ms: [
            ("p50".to_string(), Some(p99 / 4.0)),
            ("p99".to_string(), Some(p99)),
        ]
        .into_iter()
        .collect(),
        requests_per_s: Some(400.0),
        error_rate: Some(err),
        replica_lag_s: lag,
        cache_hit_ratio: Some(0.93),
        cdn: None,
        running_pods: Default::default(),
    }
}

fn reading(region: &str, secs: i64, reading: Reading) -> Action {
    Action::Source(SourceEvent::Reading {
        region: region.into(),
        at: t0() + chrono::Duration::seconds(secs),
        reading,
    })
}

fn state() -> State {
    State::new(Fleet::builtin(), opsdeck::fleet::SourceKind::Sim, t0())
}

#[test]
fn focus_moves_and_wraps() {
    let mut s = state();
    assert_eq!(s.focus, 0);
    update(&mut s, Action::NextRegion);
    update(&mut s, Action::NextRegion);
    assert_eq!(s.focused().name(), "ap-southeast-1");
    update(&mut s, Action::NextRegion);
    assert_eq!(s.focus, 0, "wraps to the first region");
    update(&mut s, Action::PrevRegion);
    assert_eq!(s.focused().name(), "ap-southeast-1");
}

#[test]
fn views_help_and_back() {
    let mut s = state();
    update(&mut s, Action::OpenDetail);
    assert_eq!(s.view, View::Detail);
    update(&mut s, Action::Help);
    assert!(s.help);
    update(&mut s, Action::Back);
    assert!(!s.help, "back closes the overlay first");
    assert_eq!(s.view, View::Detail);
    update(&mut s, Action::Back);
    assert_eq!(s.view, View::Overview);
    update(&mut s, Action::Events);
    assert_eq!(s.view, View::Events);
    update(&mut s, Action::Events);
    assert_eq!(s.view, View::Overview);
}

#[test]
fn chart_window_steps_and_clamps() {
    let mut s = state();
    assert_eq!(s.window, ChartWindow::H1);
    for _ in 0..5 {
        update(&mut s, Action::NextWindow);
    }
    // Past 24 h: the 7-day window (issue 13 §6), the longest.
    assert_eq!(s.window, ChartWindow::D7);
    for _ in 0..5 {
        update(&mut s, Action::PrevWindow);
    }
    assert_eq!(s.window, ChartWindow::M15);
}

#[test]
fn quit_is_an_effect() {
    let mut s = state();
    let effects = update(&mut s, Action::Quit);
    assert!(s.quit);
    assert_eq!(effects, vec![Effect::Quit]);
}

#[test]
fn scenarios_target_the_focused_region_on_the_simulator_only() {
    let mut s = state();
    update(&mut s, Action::NextRegion);
    let effects = update(&mut s, Action::ScenarioOutage);
    assert_eq!(
        effects,
        vec![Effect::Source(SourceCommand::Inject {
            region: "us-east-1".into(),
            scenario: Scenario::Outage
        })]
    );
    let mut aws = State::new(Fleet::builtin(), opsdeck::fleet::SourceKind::Aws, t0());
    assert!(
        update(&mut aws, Action::ScenarioOutage).is_empty(),
        "no scenario against real AWS"
    );
    assert!(aws.flash.as_deref().unwrap_or("").contains("simulated"));
}

#[test]
fn readings_set_status_and_log_threshold_crossings_with_times() {
    let mut s = state();
    update(
        &mut s,
        reading(
            "us-east-1",
            0,
            Reading::Metrics(metrics(120.0, 0.004, Some(0.4))),
        ),
    );
    assert_eq!(s.regions[1].status, Status::Ok);
    assert!(s.events.is_empty());
    update(
        &mut s,
        reading(
            "us-east-1",
            60,
            Reading::Metrics(metrics(120.0, 0.09, Some(0.4))),
        ),
    );
    assert_eq!(s.regions[1].status, Status::Crit);
    let e = &s.events[0];
    assert_eq!(e.region.as_deref(), Some("us-east-1"));
    assert_eq!(e.level, Status::Crit);
    assert!(e.text.contains("5xx rate 9.0%"), "{}", e.text);
    assert_eq!(e.at, t0() + chrono::Duration::seconds(60));
    assert_eq!(s.worst().map(|w| w.region).as_deref(), Some("us-east-1"));
    update(
        &mut s,
        reading(
            "us-east-1",
            120,
            Reading::Metrics(metrics(120.0, 0.004, Some(0.4))),
        ),
    );
    assert_eq!(s.regions[1].status, Status::Ok);
    assert_eq!(
        s.events.len(),
        1,
        "recovery is logged once it has held for a minute"
    );
    update(
        &mut s,
        reading(
            "us-east-1",
            180,
            Reading::Metrics(metrics(120.0, 0.004, Some(0.4))),
        ),
    );
    assert!(
        s.events[0].text.contains("RECOVERED"),
        "{}",
        s.events[0].text
    );
    assert_eq!(s.events[0].at, t0() + chrono::Duration::seconds(180));
}

#[test]
fn a_metric_hovering_at_warn_does_not_flood_the_log() {
    let mut s = state();
    for i in 0..20 {
        let p99 = if i % 2 == 0 { 170.0 } else { 150.0 };
        update(
            &mut s,
            reading(
                "eu-west-1",
                i * 30,
                Reading::Metrics(metrics(p99, 0.0, None)),
            ),
        );
    }
    assert!(
        s.events.is_empty(),
        "flapping every 30 s never holds a minute: {:?}",
        s.events
    );
    for i in 20..24 {
        update(
            &mut s,
            reading(
                "eu-west-1",
                i * 30,
                Reading::Metrics(metrics(170.0, 0.0, None)),
            ),
        );
    }
    assert_eq!(s.events.len(), 1, "{:?}", s.events);
    assert_eq!(s.events[0].level, Status::Warn);
}

#[test]
fn warn_before_crit_on_latency() {
    let mut s = state();
    update(
        &mut s,
        reading("eu-west-1", 0, Reading::Metrics(metrics(170.0, 0.0, None))),
    );
    assert_eq!(
        s.regions[0].status,
        Status::Warn,
        "170 ms is over 80% of the 200 ms limit"
    );
    update(
        &mut s,
        reading("eu-west-1", 10, Reading::Metrics(metrics(230.0, 0.0, None))),
    );
    assert_eq!(s.regions[0].status, Status::Crit);
}

#[test]
fn a_failed_fetch_keeps_last_good_data_and_says_how_stale() {
    let mut s = state();
    update(
        &mut s,
        reading(
            "eu-west-1",
            0,
            Reading::Metrics(metrics(100.0, 0.001, None)),
        ),
    );
    update(
        &mut s,
        Action::Source(SourceEvent::Failed {
            region: "eu-west-1".into(),
            kind: DataKind::Metrics,
            at: t0() + chrono::Duration::seconds(30),
            error: SourceError::Throttled("Rate exceeded".into()),
        }),
    );
    update(
        &mut s,
        Action::Source(SourceEvent::Clock(t0() + chrono::Duration::seconds(45))),
    );
    let r = &s.regions[0];
    assert_eq!(
        r.metrics.as_ref().and_then(|m| m.requests_per_s),
        Some(400.0),
        "last good data kept"
    );
    assert_eq!(
        r.stale_label(DataKind::Metrics, s.now).as_deref(),
        Some("stale 45 s: ThrottlingException")
    );
    assert_eq!(r.stale_s(s.now), 45);
    assert!(s.events[0].text.contains("metrics fetch failed"));
    // recovery clears the marker
    update(
        &mut s,
        reading(
            "eu-west-1",
            50,
            Reading::Metrics(metrics(100.0, 0.001, None)),
        ),
    );
    assert!(s.regions[0].stale_label(DataKind::Metrics, s.now).is_none());
}

#[test]
fn broken_replication_and_dead_tasks_are_crit() {
    let mut s = state();
    update(
        &mut s,
        reading(
            "ap-southeast-1",
            0,
            Reading::Metrics(metrics(100.0, 0.001, Some(0.5))),
        ),
    );
    update(
        &mut s,
        reading(
            "ap-southeast-1",
            0,
            Reading::Topology(Replication::Broken {
                instance: "atlas-db-ap".into(),
                source: Some("atlas-db-eu".into()),
                reason: "ReplicaLag -1".into(),
                last_lag_s: None,
                last_seen: None,
            }),
        ),
    );
    assert_eq!(s.regions[2].status, Status::Crit);
    let mut s = state();
    update(
        &mut s,
        reading(
            "eu-west-1",
            0,
            Reading::Metrics(metrics(100.0, 0.001, None)),
        ),
    );
    let ecs = |running, pending| {
        vec![EcsCounts {
            cluster: "atlas-eu".into(),
            service: "api".into(),
            desired: 4,
            running,
            pending,
        }]
    };
    update(&mut s, reading("eu-west-1", 0, Reading::Ecs(ecs(0, 0))));
    assert_eq!(s.regions[0].status, Status::Crit);
    update(&mut s, reading("eu-west-1", 0, Reading::Ecs(ecs(3, 1))));
    assert_eq!(
        s.regions[0].status,
        Status::Ok,
        "a task starting while scaling out is not a fault"
    );
    update(&mut s, reading("eu-west-1", 0, Reading::Ecs(ecs(3, 0))));
    assert_eq!(
        s.regions[0].status,
        Status::Warn,
        "a task missing with none starting is"
    );
}

/// The hit map of the frame `ui::draw` renders for the state, as the console keeps it.
fn drawn_hits(s: &State, width: u16, height: u16) -> opsdeck::ui::HitMap {
    let mut term =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height)).unwrap();
    let theme = opsdeck::config::Theme::fallback();
    let (keymap, _) = opsdeck::config::Keymap::load("default", None).unwrap();
    let mut hits = Default::default();
    term.draw(|f| hits = opsdeck::ui::draw(f, s, &theme, &keymap))
        .unwrap();
    hits
}

#[test]
fn click_focuses_a_region_and_a_second_click_opens_it() {
    let mut s = state();
    update(&mut s, Action::Resize(160, 48));
    let hits = drawn_hits(&s, 160, 48);
    assert_eq!(hits.regions.len(), 3, "one pane per region");
    let r = hits.regions[2];
    // The pane's own cells map to it, the status line above the panes to nothing.
    assert_eq!(hits.region_at(r.x + 2, r.y + 2), Some(2));
    assert_eq!(hits.region_at(r.x + 2, 0), None);
    let click = Action::ClickRegion(hits.region_at(r.x + 2, r.y + 2).unwrap());
    update(&mut s, click.clone());
    assert_eq!(s.focus, 2);
    assert_eq!(s.view, View::Overview);
    update(&mut s, click);
    assert_eq!(s.view, View::Detail);
    // Nothing is clickable when the overview is not on screen.
    assert!(drawn_hits(&s, 160, 48).regions.is_empty());
    update(&mut s, Action::Back);
    update(&mut s, Action::Help);
    assert!(drawn_hits(&s, 160, 48).regions.is_empty());
}

#[test]
fn switching_the_theme_or_keymap_is_an_effect_and_a_failure_goes_back() {
    use opsdeck::app::look::{LookKind, LookReport};
    let mut s = state();
    s.theme_names = vec!["default".into(), "light".into(), "broken".into()];
    s.keymap_names = vec!["default".into(), "vim".into()];
    assert_eq!(
        update(&mut s, Action::NextTheme),
        vec![Effect::LoadTheme("light".into())]
    );
    assert_eq!(s.theme_name(), "light");
    assert_eq!(
        update(&mut s, Action::NextTheme),
        vec![Effect::LoadTheme("broken".into())]
    );
    // The loop could not load it: back to the theme still in use, said in the flash and the log.
    update(
        &mut s,
        Action::Look(LookReport::Failed {
            kind: LookKind::Theme,
            wanted: "broken".into(),
            kept: "light".into(),
            error: "themes/broken.toml:3:1: expected a table".into(),
        }),
    );
    assert_eq!(s.theme_name(), "light");
    assert!(s.flash.as_deref().unwrap().contains("broken.toml:3:1"));
    assert!(s.events[0].text.contains("theme broken not loaded"));
    assert_eq!(
        update(&mut s, Action::NextKeymap),
        vec![Effect::LoadKeymap("vim".into())]
    );
    update(
        &mut s,
        Action::Look(LookReport::KeymapConflicts(vec!["j bound twice".into()])),
    );
    assert_eq!(s.keymap_name(), "vim");
    assert_eq!(s.events[0].text, "keymap conflict: j bound twice");
}

#[test]
fn snapshot_contract_nulls_primary_lag_and_lists_errors() {
    let mut s = state();
    update(
        &mut s,
        reading(
            "eu-west-1",
            0,
            Reading::Metrics(metrics(100.0, 0.001, Some(3.0))),
        ),
    );
    update(
        &mut s,
        Action::Source(SourceEvent::Failed {
            region: "us-east-1".into(),
            kind: DataKind::Cost,
            at: t0(),
            error: SourceError::AccessDenied("ce:GetCostAndUsage".into()),
        }),
    );
    let snap = opsdeck::app::snapshot::build(&s);
    let json = serde_json::to_value(&snap).unwrap();
    assert_eq!(
        json["regions"][0]["replica_lag_s"],
        serde_json::Value::Null,
        "a primary has no lag"
    );
    assert_eq!(json["regions"][1]["status"], "unknown");
    assert_eq!(
        json["regions"][1]["latency_ms"]["p99"],
        serde_json::Value::Null
    );
    let errs = json["regions"][1]["errors"].as_array().unwrap();
    assert!(
        errs[0].as_str().unwrap().contains("AccessDenied"),
        "{errs:?}"
    );
    assert_eq!(json["taken_at"], "2026-11-22T12:00:00Z");
}

/// Repro: a click focused a region under an open dialog, the help or the audit view.
#[test]
fn overlays_capture_clicks_and_keys_nothing_opens_behind_them() {
    use opsdeck::app::Dialog;
    let mut s = state();
    s.dialog = Some(Dialog::Waiting {
        title: "planning".into(),
        moved: None,
    });
    for a in [
        Action::ClickRegion(1),
        Action::NextRegion,
        Action::OpenDetail,
        Action::Back,
        Action::Drain,
        Action::AuditLog,
        Action::Help,
    ] {
        assert!(update(&mut s, a.clone()).is_empty(), "{a:?}");
        assert_eq!((s.focus, s.view), (0, View::Overview), "{a:?}");
        assert!(!s.audit.open && !s.help, "{a:?}");
        assert!(s.dialog.is_some(), "{a:?} closed the dialog");
    }
    s.dialog = None;
    update(&mut s, Action::Help);
    for a in [Action::ClickRegion(1), Action::Drain, Action::OpenDetail] {
        assert!(update(&mut s, a.clone()).is_empty(), "{a:?}");
        assert_eq!((s.focus, s.view), (0, View::Overview), "{a:?}");
        assert!(s.dialog.is_none() && s.help, "{a:?}");
    }
    assert_eq!(
        s.flash.as_deref(),
        Some("the help is open: esc or ? closes it first")
    );
    // Data keeps arriving underneath, and the overlay's own keys work.
    update(
        &mut s,
        reading(
            "us-east-1",
            5,
            Reading::Metrics(metrics(90.0, 0.0, Some(1.0))),
        ),
    );
    assert!(s.now > t0());
    update(&mut s, Action::Back);
    assert!(!s.help);
    update(&mut s, Action::ClickRegion(1));
    assert_eq!(s.focus, 1, "with nothing on top the click focuses");
}

/// The event log is newest first by the event's own time, whatever order events arrive in: the
/// simulator's history lands after the console's own startup notes, and must not hide them.
#[test]
fn the_event_log_is_newest_first_whatever_order_events_arrive_in() {
    let mut s = state();
    let at = |m: i64| t0() + chrono::Duration::minutes(m);
    s.log(at(180), None, Status::Warn, "startup note".into());
    s.log(
        at(0),
        Some("eu-west-1".into()),
        Status::Warn,
        "history 1".into(),
    );
    s.log(
        at(60),
        Some("eu-west-1".into()),
        Status::Ok,
        "history 2".into(),
    );
    s.log(at(180), None, Status::Warn, "second note".into());
    s.log(at(-600), None, Status::Warn, "old".into());
    let texts: Vec<&str> = s.events.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "second note",
            "startup note",
            "history 2",
            "history 1",
            "old"
        ]
    );
    assert!(s
        .events
        .iter()
        .zip(s.events.iter().skip(1))
        .all(|(a, b)| a.at >= b.at));
}
