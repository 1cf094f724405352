//! opsdeck's own connection lost: every AWS call of every region fails with a network error and
//! every health probe goes unanswered. That is one picture — opsdeck is offline — not every
//! region down: the status line says "cannot reach AWS since T", regions are unknown, nothing is
//! crit and no alert is raised.

mod support;

use chrono::Utc;
use opsdeck::app::{update, Action, State};
use opsdeck::config::Theme;
use opsdeck::fleet::{DataKind, Fleet, RefreshConfig, SourceKind, Status};
use opsdeck::source::aws::{connect, AwsOptions};
use std::path::Path;
use std::time::Duration;
use support::{dead_url, moto_env};

fn fleet(health_url: &str) -> Fleet {
    let region = |name: &str, role: &str| {
        format!(
            r#"
[[region]]
name = "{name}"
role = "{role}"
alb = "app/api-{name}/50dc6c495c0c9188"
ecs = [{{ cluster = "api-{name}", service = "api" }}]
rds = "db-{name}"
health_url = "{health_url}"
route53 = {{ zone_id = "Z0ABC", record = "api.example.com.", set_identifier = "{name}" }}
"#
        )
    };
    let text = format!(
        "name = \"offline\"\n{}{}",
        region("eu-west-1", "primary"),
        region("us-east-1", "secondary")
    );
    Fleet::parse(&text, Path::new("offline.toml")).unwrap()
}

/// Options for AWS where nobody listens (connections are refused at once), no retries.
fn dead_aws() -> AwsOptions {
    AwsOptions {
        endpoint_url: Some(dead_url().replace("/health/regional", "")),
        profile: None,
        retries: 0,
        refresh: Some(RefreshConfig {
            timeout_s: 1,
            ..RefreshConfig::default()
        }),
    }
}

/// Feed `state` the source's events against unreachable AWS until it is offline and every
/// region's probe went unanswered (or 30 s passed).
async fn go_offline(state: &mut State) -> opsdeck::source::SourceHandle {
    let source = connect(&state.fleet, &dead_aws())
        .await
        .expect("an unreachable STS leaves the identity unknown");
    let mut handle = source.spawn(state.fleet.clone());
    let probed = |s: &State| {
        s.regions
            .iter()
            .all(|r| r.fetched.contains_key(&DataKind::Probe))
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !(state.offline.is_some() && probed(state)) {
        match tokio::time::timeout_at(deadline, handle.events.recv()).await {
            Ok(Some(ev)) => {
                update(state, Action::Source(ev));
            }
            _ => break,
        }
    }
    handle
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_aws_unreachable_regions_go_unknown_and_the_status_line_says_so() {
    moto_env();
    let fleet = fleet(&dead_url());
    let mut state = State::new(fleet, SourceKind::Aws, Utc::now());
    let handle = go_offline(&mut state).await;
    let probed = |s: &State| {
        s.regions
            .iter()
            .all(|r| r.fetched.contains_key(&DataKind::Probe))
    };
    let failures: Vec<String> = state
        .regions
        .iter()
        .flat_map(|r| {
            r.failures
                .iter()
                .map(move |(k, f)| format!("{} {k:?}: {}", r.name(), f.error))
        })
        .collect();
    let since = state
        .offline
        .unwrap_or_else(|| panic!("offline not noticed; failures: {failures:#?}"));
    assert!(probed(&state), "every probe went unanswered");
    for r in &state.regions {
        assert_eq!(
            r.status,
            Status::Unknown,
            "{}: {:?} (failures {failures:#?})",
            r.name(),
            r.breaches
        );
        assert!(r.probe.as_ref().unwrap().http_status.is_none());
    }
    let alerts: Vec<&str> = state
        .events
        .iter()
        .filter(|e| e.level == Status::Crit)
        .map(|e| e.text.as_str())
        .collect();
    assert!(alerts.is_empty(), "no region is crit: {alerts:#?}");
    let line: String = opsdeck::ui::status_line::line(&state, &Theme::fallback(), 160)
        .spans
        .iter()
        .map(|s| s.content.to_string())
        .collect();
    let expected = format!("cannot reach AWS since {}", since.format("%H:%M"));
    assert!(line.contains(&expected), "{line}");
    assert!(!line.contains("CRIT"), "{line}");
    // The snapshot says the same: offline since T, and no region named worst.
    let snap = opsdeck::app::snapshot::build(&state);
    assert!(snap.worst.is_none(), "{:?}", snap.worst);
    assert_eq!(
        snap.offline_since,
        Some(since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    );
    assert!(
        state
            .events
            .iter()
            .any(|e| e.text.starts_with("cannot reach AWS since")),
        "the loss is logged once"
    );
    let _ = handle
        .commands
        .send(opsdeck::source::SourceCommand::Shutdown);
}

/// The week summary (`W`) while opsdeck cannot reach AWS (issue 13 §6): numbers read before the
/// loss stay on screen only with the time they were read and the loss said beside them; opened
/// again while offline it shows no numbers, only why the week cannot be read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_week_summary_offline_shows_when_its_numbers_were_read_or_why_none() {
    moto_env();
    let fleet = fleet(&dead_url());
    let mut state = State::new(fleet.clone(), SourceKind::Aws, Utc::now());
    let theme = Theme::fallback();
    let screen = |state: &State| {
        let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(140, 30)).unwrap();
        term.draw(|f| opsdeck::ui::week_view::render(f.area(), f.buffer_mut(), state, &theme))
            .unwrap();
        opsdeck::ui::export::buffer_to_text(term.backend().buffer())
    };
    // Read while AWS answered (the simulated week stands in for the numbers it gave).
    let read_at = state.now;
    update(&mut state, Action::WeekSummary);
    let earlier = opsdeck::report::week(
        fleet.clone(),
        opsdeck::report::WeekSource::Sim { seed: 3 },
        read_at,
    )
    .await
    .unwrap();
    update(
        &mut state,
        Action::OpReport(opsdeck::app::dialog::OpReport::Week(Ok(Box::new(earlier)))),
    );
    let handle = go_offline(&mut state).await;
    let since = state.offline.expect("offline");
    let shown = screen(&state);
    let read = read_at.format("%H:%M:%S").to_string();
    assert!(shown.contains("fleet  availability"), "{shown}");
    assert!(shown.contains(&format!("read {read}")), "{shown}");
    let line = shown
        .split_whitespace()
        .filter(|w| *w != "│")
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        line.contains(&format!(
            "cannot reach AWS since {} UTC: these numbers were read at {read} UTC",
            since.format("%H:%M:%S")
        )),
        "{shown}"
    );

    // Opened again offline: the numbers go, the read fails, and the screen says why.
    update(&mut state, Action::WeekSummary);
    assert!(!state.week.open);
    let effects = update(&mut state, Action::WeekSummary);
    assert_eq!(
        effects,
        vec![opsdeck::app::Effect::Op(
            opsdeck::app::dialog::OpEffect::LoadWeek
        )]
    );
    let options = dead_aws();
    let failed =
        opsdeck::report::week(fleet, opsdeck::report::WeekSource::Aws(options), state.now).await;
    let error = failed.expect_err("AWS is unreachable");
    update(
        &mut state,
        Action::OpReport(opsdeck::app::dialog::OpReport::Week(Err(error.clone()))),
    );
    let shown = screen(&state);
    assert!(!shown.contains("fleet  availability"), "{shown}");
    assert!(!shown.contains(&format!("read {read}")), "{shown}");
    assert!(shown.contains("cannot compute the week:"), "{shown}");
    let line = shown
        .split_whitespace()
        .filter(|w| *w != "│")
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        line.contains("the week cannot be read until it can"),
        "{shown}"
    );
    let _ = handle
        .commands
        .send(opsdeck::source::SourceCommand::Shutdown);
}
