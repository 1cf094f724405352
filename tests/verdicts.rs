//! Verdicts in failure modes (issue 8, points 3 and 4): the worst region is the one with the most
//! impact, and no data never reads as good news. Scenes run the simulated fleet on its virtual
//! clock through `app::update`; panes are rendered on a fixed-size TestBackend.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use opsdeck::app::{update, Action, State};
use opsdeck::config::Theme;
use opsdeck::fleet::{DataKind, Fleet, SourceError, SourceKind, Status};
use opsdeck::source::sim::SimFleet;
use opsdeck::source::{Scenario, SourceEvent};
use opsdeck::ui::export::buffer_to_text;
use opsdeck::ui::layout;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::Terminal;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

/// The simulated fleet and the console state it feeds, read every 30 virtual seconds.
struct Scene {
    model: SimFleet,
    state: State,
}

impl Scene {
    fn new(fleet: Fleet) -> Scene {
        let model = SimFleet::new(&fleet, 7, start());
        let mut scene = Scene {
            model,
            state: State::new(fleet, SourceKind::Sim, start()),
        };
        scene.feed();
        scene
    }

    fn feed(&mut self) {
        let at = self.model.now();
        for (region, reading) in self.model.readings() {
            update(
                &mut self.state,
                Action::Source(SourceEvent::Reading {
                    region,
                    at,
                    reading,
                }),
            );
        }
    }

    fn run(&mut self, secs: i64) {
        for _ in 0..secs / 30 {
            self.model.advance(30.0);
            self.feed();
        }
    }

    fn region(&self, name: &str) -> &opsdeck::app::RegionView {
        &self.state.regions[self.state.region_index(name).unwrap()]
    }
}

fn text(state: &State, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    let keymap = common::keymap();
    term.draw(|f| {
        opsdeck::ui::draw(f, state, &Theme::fallback(), &keymap);
    })
    .unwrap();
    buffer_to_text(term.backend().buffer())
}

/// The text of one region pane (rows of the rectangle), border included.
fn pane_text(state: &State, w: u16, h: u16, i: usize) -> Vec<String> {
    let screen = text(state, w, h);
    let rect = layout::overview_region_rects(Rect::new(0, 0, w, h), state.regions.len())[i];
    screen
        .lines()
        .skip(rect.y as usize)
        .take(rect.height as usize)
        .map(|l| {
            l.chars()
                .skip(rect.x as usize)
                .take(rect.width as usize)
                .collect()
        })
        .collect()
}

fn row<'a>(pane: &'a [String], label: &str) -> &'a str {
    pane.iter()
        .find(|l| l.chars().skip(1).collect::<String>().starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} row in {pane:#?}"))
}

/// An outage of us-east-1 on the built-in fleet, three minutes in: the primary and the other
/// replica are crit too (latency from the traffic they took over), but us-east-1 is the region
/// that is down.
fn outage_scene() -> Scene {
    let mut scene = Scene::new(Fleet::builtin());
    scene.run(10 * 60);
    scene.model.inject("us-east-1", Scenario::Outage).unwrap();
    scene.run(3 * 60);
    scene
}

#[test]
fn in_a_region_outage_the_worst_is_the_region_that_is_down_since_its_onset() {
    let scene = outage_scene();
    let s = &scene.state;
    let eu = scene.region("eu-west-1");
    assert_eq!(
        eu.status,
        Status::Crit,
        "the scene has another crit region, first in the fleet file, to rank against: {:?}",
        eu.breaches
    );
    let w = s.worst().expect("a region is down");
    assert_eq!(w.region, "us-east-1", "{w:?}");
    assert_eq!(w.status, Status::Crit);
    assert_eq!(w.reason, "5xx 100 %");
    // Injected at 12:10:00, first read down at 12:10:30.
    assert_eq!(w.since, Some(start() + Duration::seconds(630)));
    let top = text(s, 120, 30).lines().next().unwrap().to_string();
    assert!(
        top.contains("us-east-1 ✖ CRIT  5xx 100 % since 12:10"),
        "{top}"
    );
}

/// The outage, then us-east-1 and ap-southeast-1 drained: eu-west-1 is the last survivor and
/// serves all traffic, over its capacity (autoscaling off).
fn drained_scene() -> Scene {
    let mut scene = outage_scene();
    scene.model.set_autoscaling(false);
    scene.model.set_weight("us-east-1", 0).unwrap();
    scene.model.set_weight("ap-southeast-1", 0).unwrap();
    scene.run(5 * 60);
    scene
}

#[test]
fn a_drained_dead_region_is_out_of_service_and_the_overloaded_survivor_is_worst() {
    let scene = drained_scene();
    let s = &scene.state;
    let eu = scene.region("eu-west-1");
    assert_eq!(eu.status, Status::Crit, "{:?}", eu.breaches);
    assert_eq!(scene.region("us-east-1").status, Status::Crit);
    let w = s.worst().unwrap();
    assert_eq!(w.region, "eu-west-1", "{w:?}");
    assert_eq!(s.out_of_service(), vec!["us-east-1", "ap-southeast-1"]);
}

#[test]
fn a_drained_dead_region_never_logs_recovered_for_lack_of_requests() {
    let scene = drained_scene();
    let us = scene.region("us-east-1");
    assert_eq!(
        us.metrics.as_ref().unwrap().requests_per_s,
        Some(0.0),
        "the scene has a region without requests"
    );
    assert_eq!(
        us.metrics.as_ref().unwrap().error_rate,
        None,
        "no requests: no 5xx rate"
    );
    let said: Vec<&str> = scene
        .state
        .events
        .iter()
        .filter(|e| e.region.as_deref() == Some("us-east-1"))
        .map(|e| e.text.as_str())
        .collect();
    assert!(
        said.iter().any(|t| t.starts_with("CRIT 5xx rate")),
        "{said:#?}"
    );
    assert!(
        !said.iter().any(|t| t.starts_with("RECOVERED")),
        "no data is not a recovery: {said:#?}"
    );
}

#[test]
fn no_data_and_broken_replication_are_gaps_never_zero() {
    let scene = drained_scene();
    let s = &scene.state;
    let us = pane_text(s, 80, 24, 1);
    let lag = row(&us, "lag");
    assert!(lag.contains("BROKEN"), "{lag}");
    let five = row(&us, "5xx");
    assert!(five.contains("— 3 m"), "no data, with its age: {five}");
    for line in [lag, five] {
        let spark: String = line.chars().rev().skip(1).take(6).collect();
        assert!(
            spark.trim().is_empty(),
            "the newest points are gaps, not bars: {line:?}"
        );
    }
    insta::assert_snapshot!(text(s, 80, 24));
}

#[test]
fn alerts_name_the_threshold_they_crossed_and_since_when() {
    let scene = outage_scene();
    let lines: Vec<&str> = scene.state.events.iter().map(|e| e.text.as_str()).collect();
    assert!(
        lines.contains(&"CRIT 5xx rate 100.0% (crit > 5.0%) since 12:10:30"),
        "{lines:#?}"
    );
    // A warning is logged once it has held a minute, and says since when it has held.
    let incident = common::incident_state();
    let warn = incident
        .events
        .iter()
        .find(|e| e.level == Status::Warn && e.text.starts_with("WARN p99 latency"))
        .expect("the storm warns on latency before it is crit");
    assert_eq!(
        warn.text,
        "WARN p99 latency 182 ms (warn > 160 ms, crit > 200 ms) since 03:52:30"
    );
    assert_eq!(warn.at.format("%H:%M:%S").to_string(), "03:53:30");
}

#[test]
fn a_region_whose_data_is_all_stale_says_so_in_its_title() {
    let mut s = common::healthy_state();
    let end = common::end();
    for kind in DataKind::ALL {
        let ev = SourceEvent::Failed {
            region: "eu-west-1".into(),
            kind,
            at: end + Duration::seconds(18),
            error: SourceError::Throttled("Rate exceeded".into()),
        };
        update(&mut s, Action::Source(ev));
    }
    update(
        &mut s,
        Action::Source(SourceEvent::Clock(end + Duration::seconds(48))),
    );
    assert_eq!(s.regions[0].status, Status::Unknown);
    let eu = pane_text(&s, 80, 24, 0);
    assert!(eu[0].contains("STALE 48 s"), "{}", eu[0]);
    assert!(!eu[0].contains("OK"), "{}", eu[0]);
}

#[test]
fn the_snapshot_names_the_worst_region_with_reason_and_since() {
    let run = |extra: &[&str]| -> serde_json::Value {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec![
            "snapshot",
            "--format",
            "json",
            "--start",
            "2026-11-22T12:00:00Z",
            "--fleet",
            "fleets/kaldrix.toml",
            "--sim",
        ];
        args.extend_from_slice(extra);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
            .args(&args)
            .env("OPSDECK_STATE_DIR", dir.path())
            .env("OPSDECK_CONFIG", dir.path().join("config"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let quiet = run(&[]);
    assert!(quiet["worst"].is_null(), "{}", quiet["worst"]);
    let outage = run(&["--scenario", "outage@us-east-1", "--after", "3m"]);
    let w = &outage["worst"];
    assert_eq!(w["region"], "us-east-1", "{w}");
    assert_eq!(w["status"], "crit");
    assert_eq!(w["reason"], "5xx 100 %");
    assert_eq!(w["since"], "2026-11-22T12:00:00Z");
    assert_eq!(
        outage["regions"][1]["status"], "crit",
        "us-west-2 is crit too, yet carries less of the traffic"
    );
}

#[test]
fn offline_ends_when_aws_answers_again_and_regions_are_judged_afresh() {
    let mut s = common::healthy_state();
    let end = common::end();
    let names: Vec<String> = s.regions.iter().map(|r| r.name().to_string()).collect();
    for (i, name) in names.iter().enumerate() {
        for kind in [
            DataKind::Metrics,
            DataKind::Ecs,
            DataKind::Route53,
            DataKind::Cost,
        ] {
            let ev = SourceEvent::Failed {
                region: name.clone(),
                kind,
                at: end + Duration::seconds(5 + i as i64),
                error: SourceError::Unreachable("connection refused".into()),
            };
            update(&mut s, Action::Source(ev));
        }
    }
    assert_eq!(s.offline, Some(end + Duration::seconds(5)));
    assert!(s.regions.iter().all(|r| r.status == Status::Unknown));
    assert_eq!(
        s.worst(),
        None,
        "no region is the worst while the fault is ours"
    );
    // One answer from AWS: not offline any more, and the region is judged on its data again.
    let metrics = s.regions[0].metrics.clone().unwrap();
    update(
        &mut s,
        Action::Source(SourceEvent::Reading {
            region: names[0].clone(),
            at: end + Duration::seconds(40),
            reading: opsdeck::fleet::Reading::Metrics(metrics),
        }),
    );
    assert_eq!(s.offline, None);
    assert_eq!(s.regions[0].status, Status::Ok);
    assert_eq!(s.events[0].text, "AWS answers again");
}
