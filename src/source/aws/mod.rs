//! The AWS source (issue 3): live readings from CloudWatch, ECS, RDS, Route53, Cost Explorer and
//! health probes, one poller task per region plus one global task. Credentials and settings come
//! from `aws-config`'s standard chain; `endpoint_url` (or `AWS_ENDPOINT_URL`) points every client at
//! an emulator such as moto.

pub mod autoscaling;
pub mod body_limit;
pub mod clients;
pub mod cloudfront;
pub mod cost;
pub mod cw_query;
pub mod discover;
pub mod ecs;
pub mod eks;
pub mod errors;
pub mod metrics;
pub mod poller;
pub mod probe;
pub mod rds;
pub mod route53;

pub use clients::{FleetClients, GlobalClients, RegionClients};
pub use discover::discover;

use crate::fleet::{DataKind, Fleet, RefreshConfig, RegionSpec, SourceError, SourceKind};
use crate::source::{SourceCommand, SourceEvent, SourceHandle};
use aws_config::SdkConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::ProvideCredentials;
use chrono::Utc;
use poller::{Control, GlobalPoll, RegionPoll};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// How to reach AWS.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AwsOptions {
    /// Send every call here (an emulator such as moto); `AWS_ENDPOINT_URL` works too.
    pub endpoint_url: Option<String>,
    /// A named profile of the shared config files (`--profile`); `AWS_PROFILE` works too.
    pub profile: Option<String>,
    /// SDK retries per call on top of the first attempt (0 in tests: emulators answer
    /// unimplemented calls with HTTP 500).
    pub retries: u32,
    /// Refresh intervals and per-call time limit; None takes the fleet file's `[refresh]`.
    pub refresh: Option<RefreshConfig>,
}

/// Why the AWS source could not start.
#[derive(Debug, thiserror::Error)]
pub enum AwsSetupError {
    #[error("{0}")]
    NoCredentials(String),
    #[error("invalid endpoint URL {0}")]
    InvalidEndpoint(String),
    #[error("{0}")]
    Other(String),
}

/// What to tell someone who has no usable credentials.
pub const CREDENTIALS_HELP: &str = "Provide AWS credentials in one of these ways:\n  \
- export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys)\n  \
- use a profile from ~/.aws/credentials or ~/.aws/config: --profile NAME or AWS_PROFILE=NAME\n  \
- for IAM Identity Center (SSO): aws sso login --profile NAME, then --profile NAME\n  \
- on EC2, ECS or Lambda, attach an IAM role\n\
Or run `opsdeck` without --fleet for the built-in simulated fleet.";

/// A connected AWS source, ready to spawn its pollers.
#[derive(Debug)]
pub struct AwsSource {
    identity: String,
    config: Option<SdkConfig>,
    regions: Vec<(String, RegionClients)>,
    global: GlobalClients,
    refresh: Option<RefreshConfig>,
}

/// Load the configuration and make sure credentials can be had, with an actionable message if not.
pub(crate) async fn load_checked(
    opts: &AwsOptions,
    timeout_s: u64,
) -> Result<SdkConfig, AwsSetupError> {
    let config = clients::load_config(opts, timeout_s).await?;
    let Some(provider) = config.credentials_provider() else {
        return Err(AwsSetupError::NoCredentials(format!(
            "no AWS credentials provider is configured.\n{CREDENTIALS_HELP}"
        )));
    };
    let limit = Duration::from_secs(timeout_s.max(1) * 2);
    let whose = opts
        .profile
        .as_ref()
        .map(|p| format!(" for profile `{p}`"))
        .unwrap_or_default();
    match tokio::time::timeout(limit, provider.provide_credentials()).await {
        Ok(Ok(_)) => Ok(config),
        Ok(Err(CredentialsError::CredentialsNotLoaded(_))) => Err(AwsSetupError::NoCredentials(format!(
            "no AWS credentials found{whose} (looked in the environment, the shared config and credentials \
             files, SSO, web identity and container/instance metadata).\n{CREDENTIALS_HELP}"
        ))),
        Ok(Err(e)) => Err(AwsSetupError::NoCredentials(format!(
            "no usable AWS credentials{whose}: {}.\n{CREDENTIALS_HELP}",
            errors::short(&errors::chain(&e))
        ))),
        Err(_) => Err(AwsSetupError::NoCredentials(format!(
            "no AWS credentials found{whose} within {} s.\n{CREDENTIALS_HELP}",
            limit.as_secs()
        ))),
    }
}

/// Build the clients (one set per region of the fleet, plus us-east-1 for Route53, Cost Explorer
/// and STS), check that credentials are present, and ask STS who we are. An STS failure that is
/// not about credentials leaves the identity "unknown".
pub async fn connect(fleet: &Fleet, opts: &AwsOptions) -> Result<AwsSource, AwsSetupError> {
    let refresh = opts
        .refresh
        .clone()
        .unwrap_or_else(|| fleet.refresh.clone());
    let config = load_checked(opts, refresh.timeout_s).await?;
    let global = GlobalClients::new(&config);
    let identity = match global.sts.get_caller_identity().send().await {
        Ok(out) => crate::fleet::text::clean(out.arn().unwrap_or("unknown")).into_owned(),
        Err(e) => match errors::classify(&e) {
            SourceError::NoCredentials(m) | SourceError::ExpiredCredentials(m) => {
                return Err(AwsSetupError::NoCredentials(format!(
                    "AWS rejected the credentials: {m}.\n{CREDENTIALS_HELP}"
                )))
            }
            _ => "unknown".to_string(),
        },
    };
    let regions = fleet
        .regions
        .iter()
        .map(|r| (r.name.clone(), RegionClients::new(&config, &r.name)))
        .collect();
    Ok(AwsSource {
        identity,
        config: Some(config),
        regions,
        global,
        refresh: opts.refresh.clone(),
    })
}

/// The kinds the AWS source reports for a region: metrics, ECS, Route53 and cost always; RDS
/// topology only with an `rds` instance; probes only with a `health_url`.
pub fn reported_kinds(region: &RegionSpec) -> Vec<DataKind> {
    let mut kinds = vec![
        DataKind::Metrics,
        DataKind::Ecs,
        DataKind::Route53,
        DataKind::Cost,
    ];
    if region.rds.is_some() {
        kinds.push(DataKind::Topology);
    }
    if !region.eks.is_empty() {
        kinds.push(DataKind::Eks);
    }
    if region.health_url.is_some() {
        kinds.push(DataKind::Probe);
    }
    kinds
}

impl AwsSource {
    /// A source over clients built elsewhere (tests use `aws-smithy-mocks` clients).
    pub fn from_clients(
        identity: &str,
        regions: Vec<(String, RegionClients)>,
        global: GlobalClients,
        refresh: Option<RefreshConfig>,
    ) -> AwsSource {
        AwsSource {
            identity: identity.to_string(),
            config: None,
            regions,
            global,
            refresh,
        }
    }

    /// The STS caller ARN, or "unknown".
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Spawn the pollers (needs a tokio runtime): one task per region, one global task, and a
    /// supervisor that turns `SourceCommand`s into refreshes and shutdowns and ticks the clock.
    pub fn spawn(self, fleet: Fleet) -> SourceHandle {
        let (events_tx, events) = mpsc::unbounded_channel();
        let (commands, mut commands_rx) = mpsc::unbounded_channel();
        let (control, _) = broadcast::channel(16);
        let refresh = self
            .refresh
            .clone()
            .unwrap_or_else(|| fleet.refresh.clone());
        let timeout = Duration::from_secs(refresh.timeout_s.max(1));
        let prober = probe::Prober::new(probe::Limits::of(&fleet.probe, timeout));
        let seed = Utc::now().timestamp_nanos_opt().unwrap_or(0) as u64;
        let _ = events_tx.send(SourceEvent::Identity(self.identity.clone()));
        let mut tasks = Vec::new();
        for (i, spec) in fleet.regions.iter().enumerate() {
            let clients = match (
                self.regions.iter().find(|(n, _)| *n == spec.name),
                &self.config,
            ) {
                (Some((_, c)), _) => c.clone(),
                (None, Some(config)) => RegionClients::new(config, &spec.name),
                (None, None) => {
                    let _ = events_tx.send(SourceEvent::Note {
                        at: Utc::now(),
                        region: Some(spec.name.clone()),
                        text: "no AWS clients for this region".into(),
                    });
                    continue;
                }
            };
            let poll = RegionPoll {
                spec: spec.clone(),
                clients,
                probe: prober.clone(),
                metrics: fleet.metrics.clone(),
                cdn: fleet
                    .cdn
                    .as_ref()
                    .filter(|_| spec.name == crate::fleet::cdn::METRICS_REGION)
                    .map(|c| c.cloudfront.clone()),
                intervals: refresh.clone(),
                last_topology: None,
                replication_stopped: false,
                last_lag: None,
            };
            let rx = control.subscribe();
            tasks.push(tokio::spawn(poller::run(
                poll,
                events_tx.clone(),
                rx,
                timeout,
                seed ^ (i as u64 + 1),
            )));
        }
        let global = GlobalPoll {
            fleet: fleet.clone(),
            clients: self.global.clone(),
            intervals: refresh.clone(),
        };
        tasks.push(tokio::spawn(poller::run(
            global,
            events_tx.clone(),
            control.subscribe(),
            timeout,
            seed,
        )));
        tokio::spawn(async move {
            let mut clock = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    cmd = commands_rx.recv() => match cmd {
                        Some(SourceCommand::Refresh) => {
                            let _ = control.send(Control::Refresh);
                        }
                        Some(SourceCommand::Inject { region, .. }) => {
                            let text = "scenarios exist only on the simulated fleet".to_string();
                            let _ = events_tx.send(SourceEvent::Note { at: Utc::now(), region: Some(region), text });
                        }
                        Some(SourceCommand::ClearScenarios) => {
                            let text = "scenarios exist only on the simulated fleet".to_string();
                            let _ = events_tx.send(SourceEvent::Note { at: Utc::now(), region: None, text });
                        }
                        Some(SourceCommand::Shutdown) | None => break,
                    },
                    _ = clock.tick() => {
                        if events_tx.send(SourceEvent::Clock(Utc::now())).is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = control.send(Control::Shutdown);
            for t in &tasks {
                t.abort();
            }
        });
        SourceHandle {
            kind: SourceKind::Aws,
            events,
            commands,
        }
    }
}
