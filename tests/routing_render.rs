//! The Route53 line of the region pane under each routing policy: "w70 ✔ healthy" for a weighted
//! record, "latency ✔ healthy", "geo EU ✔ healthy", "failover PRIMARY ✖ drained" (its health check
//! inverted). An insta snapshot of the overview plus assertions on the lines themselves.

mod common;

use opsdeck::app::{update, Action, State};
use opsdeck::config::Theme;
use opsdeck::fleet::routing::{FailoverRole, Policy};
use opsdeck::fleet::{Fleet, Reading, Route53State};
use opsdeck::source::SourceEvent;
use opsdeck::ui::export::buffer_to_text;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn text(state: &State, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    let keymap = common::keymap();
    term.draw(|f| {
        opsdeck::ui::draw(f, state, &Theme::fallback(), &keymap);
    })
    .unwrap();
    buffer_to_text(term.backend().buffer())
}

fn routed(readings: [Route53State; 3]) -> State {
    let fleet = Fleet::builtin();
    let profiles: Vec<common::Profile> = (0..fleet.regions.len())
        .map(common::Profile::healthy)
        .collect();
    let mut state = common::run(fleet, &profiles);
    let names: Vec<String> = state.fleet.regions.iter().map(|r| r.name.clone()).collect();
    for (region, reading) in names.into_iter().zip(readings) {
        update(
            &mut state,
            Action::Source(SourceEvent::Reading {
                region,
                at: common::end(),
                reading: Reading::Route53(reading),
            }),
        );
    }
    state.flash = None;
    state
}

#[test]
fn the_route53_line_names_each_policy_and_its_health() {
    let state = routed([
        Route53State {
            healthy: Some(true),
            policy: Some(Policy::Latency),
            health_check_id: Some("hc-1".into()),
            health_check_inverted: Some(false),
            ..Default::default()
        },
        Route53State {
            healthy: Some(true),
            policy: Some(Policy::Geolocation),
            location: Some("EU".into()),
            health_check_id: Some("hc-2".into()),
            health_check_inverted: Some(false),
            ..Default::default()
        },
        Route53State {
            healthy: Some(false),
            policy: Some(Policy::Failover),
            failover: Some(FailoverRole::Primary),
            health_check_id: Some("hc-3".into()),
            health_check_inverted: Some(true),
            ..Default::default()
        },
    ]);
    let screen = text(&state, 160, 48);
    for line in [
        "latency ✔ healthy",
        "geo EU ✔ healthy",
        "failover PRIMARY ✖ drained",
    ] {
        assert!(screen.contains(line), "no `{line}` in\n{screen}");
    }
    // Drained by its inverted check: the failing check is the drain, not an alert.
    assert!(
        !screen.contains("Route53 health check unhealthy") && !screen.contains("CRIT"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);

    let weighted = routed([
        Route53State {
            weight: Some(70),
            healthy: Some(true),
            policy: Some(Policy::Weighted),
            ..Default::default()
        },
        Route53State {
            weight: Some(20),
            healthy: Some(true),
            ..Default::default()
        },
        Route53State {
            healthy: None,
            policy: Some(Policy::Latency),
            ..Default::default()
        },
    ]);
    let screen = text(&weighted, 160, 48);
    for line in ["w70 ✔ healthy", "w20 ✔ healthy", "latency no check"] {
        assert!(screen.contains(line), "no `{line}` in\n{screen}");
    }
}
