//! The fleet's CloudFront distribution on the simulated fleet and in the console (issue 11,
//! point 2): the model reports it in us-east-1's metrics as AWS does, a cache flush of the CDN
//! (`cache-flush@cdn`) lowers its hit ratio until the edges warm back, the overview shows it on a
//! fleet-wide line (insta), the snapshot JSON carries it, and a bad `cdn` key is refused where
//! it stands.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use opsdeck::app::{update, Action, State};
use opsdeck::config::Theme;
use opsdeck::fleet::cdn::CdnValues;
use opsdeck::fleet::{Fleet, FleetError, MetricValues, Reading, SourceKind, Status};
use opsdeck::source::sim::SimFleet;
use opsdeck::source::{Scenario, SourceEvent};
use opsdeck::ui::export::buffer_to_text;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::Value;
use std::path::Path;

const FIXTURE: &str = "tests/fixtures/fleets/cloudfront.toml";
const START: &str = "2026-11-22T12:00:00Z";

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

fn fleet() -> Fleet {
    Fleet::load(Path::new(FIXTURE)).expect("fixture loads")
}

/// The simulated fleet and the console state it feeds.
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
        update(&mut self.state, Action::Source(SourceEvent::Clock(at)));
    }

    fn run(&mut self, secs: i64) {
        for _ in 0..secs / 30 {
            self.model.advance(30.0);
            self.feed();
        }
    }

    fn hit(&self) -> f64 {
        let cdn = self.state.cdn().expect("the fleet has a CDN");
        cdn.values
            .and_then(|v| v.cache_hit_ratio)
            .expect("a hit ratio")
    }
}

fn frame(state: &State, w: u16, h: u16) -> (String, opsdeck::ui::HitMap) {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    let keymap = common::keymap();
    let mut hits = Default::default();
    term.draw(|f| hits = opsdeck::ui::draw(f, state, &Theme::fallback(), &keymap))
        .unwrap();
    (buffer_to_text(term.backend().buffer()), hits)
}

/// The status line, the CDN line and the top border of the panes.
fn top(state: &State, w: u16) -> String {
    let (text, _) = frame(state, w, 30);
    text.lines().take(3).collect::<Vec<_>>().join("\n")
}

#[test]
fn the_model_reports_the_distribution_in_us_east_1s_metrics_only() {
    let sim = SimFleet::new(&fleet(), 7, start());
    let mut seen = Vec::new();
    for (region, reading) in sim.readings() {
        if let Reading::Metrics(m) = reading {
            seen.push((region, m.cdn));
        }
    }
    for (region, cdn) in &seen {
        match (region.as_str(), cdn) {
            ("us-east-1", Some(c)) => {
                assert_eq!(c.distribution, "E2QWRUHEXAMPLE");
                let hit = c.cache_hit_ratio.unwrap();
                assert!((0.9..1.0).contains(&hit), "warm edges: {hit}");
                assert!(c.error_rate.unwrap() < 0.01, "{c:?}");
                assert!(c.requests_per_s.unwrap() > 0.0, "{c:?}");
                assert!(!c.additional_metrics_off);
            }
            ("us-east-1", None) => panic!("us-east-1 carries no CDN values"),
            (_, Some(_)) => panic!("{region} carries CDN values: only us-east-1 reads them"),
            (_, None) => {}
        }
    }
    assert_eq!(seen.len(), 3);
}

#[test]
fn a_cdn_cache_flush_lowers_the_hit_ratio_until_the_edges_warm_back() {
    let mut scene = Scene::new(fleet());
    let warm = scene.hit();
    assert_eq!(scene.state.cdn().unwrap().status, Status::Ok);
    scene.model.inject("cdn", Scenario::CacheFlush).unwrap();
    scene.run(30);
    let cold = scene.hit();
    assert!(cold < 0.2 && cold < warm, "flushed: {cold} (warm {warm})");
    let cdn = scene.state.cdn().unwrap();
    assert_eq!(cdn.status, Status::Crit);
    assert!(
        cdn.breaches[0].starts_with("CDN cache hit") && cdn.breaches[0].ends_with("(crit < 90%)"),
        "{:?}",
        cdn.breaches
    );
    assert!(scene
        .model
        .active_scenarios()
        .contains(&("cdn".to_string(), Scenario::CacheFlush)));
    // The alert log raised it once, fleet-wide, and the status line says it while every region
    // is ok.
    let cdn_lines = |s: &Scene| -> Vec<String> {
        s.state
            .events
            .iter()
            .filter(|e| e.region.is_none() && e.text.contains("CDN"))
            .map(|e| e.text.clone())
            .collect()
    };
    let raised = cdn_lines(&scene);
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert!(raised[0].starts_with("CRIT CDN cache hit"), "{raised:?}");
    if scene.state.worst().is_none() {
        let line = top(&scene.state, 200);
        assert!(
            line.contains("✖ CDN") && line.contains(" cache hit "),
            "{line}"
        );
    }
    // The flush ends by itself once the edges are warm: wait for that (an hour at most).
    let mut waited = 0;
    while !scene.model.active_scenarios().is_empty() {
        assert!(
            waited < 3600,
            "still warming after an hour: {}",
            scene.hit()
        );
        scene.run(30);
        waited += 30;
    }
    assert!(scene.hit() > 0.9, "warm again: {}", scene.hit());
    assert_eq!(scene.state.cdn().unwrap().status, Status::Ok);
    // Newest first: recovered once, after the level steps it went down through as it warmed.
    let lines = cdn_lines(&scene);
    assert!(lines[0].starts_with("RECOVERED CDN"), "{lines:?}");
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("RECOVERED")).count(),
        1,
        "{lines:?}"
    );
    assert_eq!(lines.last(), raised.first(), "{lines:?}");
}

#[test]
fn only_a_cache_flush_applies_to_the_cdn_and_only_when_there_is_one() {
    let mut sim = SimFleet::new(&fleet(), 7, start());
    assert!(sim.inject("cdn", Scenario::ErrorStorm).is_err());
    let mut bare = SimFleet::new(&Fleet::builtin(), 7, start());
    let err = bare.inject("cdn", Scenario::CacheFlush).unwrap_err();
    assert!(err.contains("no CDN"), "{err}");
}

fn opsdeck(args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(args)
        .env("OPSDECK_STATE_DIR", dir.path())
        .env("OPSDECK_CONFIG", dir.path().join("config"))
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run opsdeck")
}

fn json(args: &[&str]) -> Value {
    let out = opsdeck(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_snapshot_json_carries_the_cdn() {
    let base = [
        "snapshot", "--sim", "--fleet", FIXTURE, "--format", "json", "--start", START,
    ];
    let j = json(&base);
    let cf = &j["cdn"]["cloudfront"];
    assert_eq!(cf["distribution"], "E2QWRUHEXAMPLE");
    let hit = cf["cache_hit_ratio"].as_f64().unwrap();
    assert!((0.9..=1.0).contains(&hit), "{cf}");
    assert!(
        (0.0..0.01).contains(&cf["error_rate"].as_f64().unwrap()),
        "{cf}"
    );
    assert_eq!(cf["status"], "ok");

    let mut flushed = base.to_vec();
    flushed.extend(["--scenario", "cache-flush@cdn", "--after", "60"]);
    let cf = json(&flushed)["cdn"]["cloudfront"].clone();
    assert!(cf["cache_hit_ratio"].as_f64().unwrap() < 0.3, "{cf}");
    assert_eq!(cf["status"], "crit", "{cf}");

    // The built-in fleet has no CDN: null, and the scenario has nothing to flush.
    let j = json(&["snapshot", "--format", "json", "--start", START]);
    assert_eq!(j["cdn"], Value::Null);
    let out = opsdeck(&[
        "snapshot",
        "--start",
        START,
        "--scenario",
        "cache-flush@cdn",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// us-east-1's metrics with these CDN values, fed to `state`.
fn feed_cdn(state: &mut State, values: CdnValues) {
    let m = MetricValues {
        requests_per_s: Some(50.0),
        error_rate: Some(0.001),
        cdn: Some(values),
        ..Default::default()
    };
    let at = state.now;
    update(
        state,
        Action::Source(SourceEvent::Reading {
            region: "us-east-1".into(),
            at,
            reading: Reading::Metrics(m),
        }),
    );
}

#[test]
fn the_overview_shows_the_cdn_on_a_fleet_wide_line() {
    let mut scene = Scene::new(fleet());
    scene.run(300);
    let warm = top(&scene.state, 120);
    scene.model.inject("cdn", Scenario::CacheFlush).unwrap();
    scene.run(60);
    let flushed = top(&scene.state, 120);
    let narrow = top(&scene.state, 60);
    feed_cdn(
        &mut scene.state,
        CdnValues {
            distribution: "E2QWRUHEXAMPLE".into(),
            requests_per_s: Some(20.0),
            cache_hit_ratio: None,
            error_rate: Some(0.0),
            error_rate_4xx: Some(0.01),
            additional_metrics_off: true,
        },
    );
    let off = top(&scene.state, 120);
    insta::assert_snapshot!(
        "cdn_line",
        format!("warm:\n{warm}\n\nflushed:\n{flushed}\n\nflushed, 60 wide:\n{narrow}\n\nadditional metrics off:\n{off}")
    );
    assert!(
        off.contains("hit — (additional metrics not enabled"),
        "{off}"
    );
    assert!(!off.contains("hit 0%"), "{off}");

    // The panes moved down a line, and mouse hit-testing with them.
    let (_, hits) = frame(&scene.state, 120, 30);
    assert_eq!(hits.regions[0].y, 2);
    let (_, hits) = frame(&Scene::new(Fleet::builtin()).state, 120, 30);
    assert_eq!(hits.regions[0].y, 1);
}

#[test]
fn the_hit_ratio_is_coloured_by_its_threshold() {
    let mut scene = Scene::new(fleet());
    scene.model.inject("cdn", Scenario::CacheFlush).unwrap();
    scene.run(60);
    let theme = Theme::fallback();
    let line = opsdeck::ui::cdn_line::line(&scene.state, &theme, 120);
    let hit = line
        .spans
        .iter()
        .position(|s| s.content == " hit ")
        .expect("a hit label");
    assert_eq!(
        line.spans[hit + 1].style,
        theme.status(Status::Crit),
        "{line:?}"
    );
}

#[test]
fn a_fleet_without_us_east_1_says_the_cdn_is_not_read() {
    let text = std::fs::read_to_string(FIXTURE)
        .unwrap()
        .replace("us-east-1", "us-west-2");
    let f = Fleet::parse(&text, Path::new("f.toml")).unwrap();
    let scene = Scene::new(f);
    let cdn = scene.state.cdn().unwrap();
    assert_eq!(cdn.status, Status::Unknown);
    assert!(cdn.note.unwrap().starts_with("not read"));
}

fn rejected(text: &str) -> (usize, String) {
    match Fleet::parse(text, Path::new("f.toml")) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(FleetError::Invalid { line, message, .. }) => (line, message),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_bad_cdn_key_is_refused_where_it_stands() {
    let good = std::fs::read_to_string(FIXTURE).unwrap();
    let line_of = |t: &str, n: &str| t.lines().position(|l| l.contains(n)).unwrap() + 1;
    let text = good.replace("E2QWRUHEXAMPLE", "arn:aws:cloudfront::1:distribution/E2");
    let (line, message) = rejected(&text);
    assert_eq!(line, line_of(&text, "cdn = "), "{message}");
    assert!(
        message.contains("not a CloudFront distribution ID"),
        "{message}"
    );
    let text = good.replace("cdn_hit_ratio_min = 0.90", "cdn_hit_ratio_min = 1.5");
    let (line, message) = rejected(&text);
    assert_eq!(line, line_of(&text, "cdn_hit_ratio_min"), "{message}");
    assert!(
        message.contains("thresholds.cdn_hit_ratio_min"),
        "{message}"
    );
    // The CDN is fleet-wide: a region cannot set its own minimum.
    let text = good.replacen(
        "role = \"primary\"",
        "role = \"primary\"\nthresholds = { cdn_hit_ratio_min = 0.5 }",
        1,
    );
    let (line, message) = rejected(&text);
    assert_eq!(line, line_of(&text, "cdn_hit_ratio_min = 0.5"), "{message}");
    assert!(message.contains("cdn_hit_ratio_min"), "{message}");
    // A `cdn` table with another CDN is refused too.
    let text = good.replace("cdn = { cloudfront", "cdn = { cloudflare");
    let (line, message) = rejected(&text);
    assert_eq!(line, line_of(&text, "cloudflare"), "{message}");
}
