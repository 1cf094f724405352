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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_aws_unreachable_regions_go_unknown_and_the_status_line_says_so() {
    moto_env();
    // Nobody listens on either port: connections are refused at once.
    let aws = dead_url().replace("/health/regional", "");
    let fleet = fleet(&dead_url());
    let opts = AwsOptions {
        endpoint_url: Some(aws),
        profile: None,
        retries: 0,
        refresh: Some(RefreshConfig {
            timeout_s: 1,
            ..RefreshConfig::default()
        }),
    };
    let source = connect(&fleet, &opts)
        .await
        .expect("an unreachable STS leaves the identity unknown");
    let mut handle = source.spawn(fleet.clone());
    let mut state = State::new(fleet, SourceKind::Aws, Utc::now());
    let probed = |s: &State| {
        s.regions
            .iter()
            .all(|r| r.fetched.contains_key(&DataKind::Probe))
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !(state.offline.is_some() && probed(&state)) {
        match tokio::time::timeout_at(deadline, handle.events.recv()).await {
            Ok(Some(ev)) => {
                update(&mut state, Action::Source(ev));
            }
            _ => break,
        }
    }
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
