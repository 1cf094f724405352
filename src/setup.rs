//! From command-line flags to a fleet, a source, a theme and a keymap — shared by every command.

use crate::cli::GlobalArgs;
use crate::config::{self, ConfigError, Keymap, Theme};
use crate::fleet::{Fleet, Role, SourceKind};
use crate::ops::target::VerifyLimits;
use crate::source::Scenario;
use chrono::{DateTime, Utc};
use std::path::PathBuf;
use std::time::Duration;

/// A failure of a command, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad usage or bad input (exit 2).
    #[error("{0}")]
    Input(String),
    /// A runtime failure (exit 1).
    #[error("{0}")]
    Runtime(String),
    /// Standard output's reader went away (`| head`): nothing more to say, a quiet end (exit 0).
    #[error("standard output closed by its reader")]
    OutputClosed,
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Input(_) => 2,
            CliError::Runtime(_) => 1,
            CliError::OutputClosed => 0,
        }
    }
}

/// The fleet to show, and whether it is simulated.
pub fn load_fleet(g: &GlobalArgs) -> Result<(Fleet, bool), CliError> {
    match &g.fleet {
        None => Ok((Fleet::builtin(), true)),
        Some(path) => {
            let fleet = Fleet::load(path).map_err(|e| CliError::Input(e.to_string()))?;
            Ok((fleet, g.sim))
        }
    }
}

/// The simulator's start: `--start` or now, to the second.
pub fn start_time(g: &GlobalArgs) -> Result<DateTime<Utc>, CliError> {
    match &g.start {
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                CliError::Input(format!(
                    "--start `{s}`: {e} (expected RFC 3339, e.g. 2026-11-22T12:00:00Z)"
                ))
            }),
        None => {
            let now = Utc::now();
            Ok(DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now))
        }
    }
}

/// `--scenario NAME[@REGION]`: default region is the first secondary (or the only region).
pub fn scenario(g: &GlobalArgs, fleet: &Fleet) -> Result<Option<(String, Scenario)>, CliError> {
    let Some(spec) = &g.scenario else {
        return Ok(None);
    };
    let (name, region) = match spec.split_once('@') {
        Some((n, r)) => (n, Some(r.to_string())),
        None => (spec.as_str(), None),
    };
    let scenario = Scenario::parse(name).ok_or_else(|| {
        let names: Vec<_> = Scenario::ALL.iter().map(|s| s.name()).collect();
        CliError::Input(format!(
            "--scenario: unknown scenario `{name}` (one of: {})",
            names.join(", ")
        ))
    })?;
    let region = match region {
        Some(r) => {
            let cdn = r == crate::source::sim::CDN_TARGET && fleet.cdn.is_some();
            if fleet.region(&r).is_none() && !cdn {
                let names: Vec<_> = fleet.regions.iter().map(|r| r.name.as_str()).collect();
                return Err(CliError::Input(format!(
                    "--scenario: fleet `{}` has no region `{r}` (regions: {})",
                    fleet.name,
                    names.join(", ")
                )));
            }
            r
        }
        None => fleet
            .regions
            .iter()
            .find(|r| r.role == Role::Secondary)
            .or(fleet.regions.first())
            .map(|r| r.name.clone())
            .unwrap_or_default(),
    };
    Ok(Some((region, scenario)))
}

/// The look: the chosen theme (mono under NO_COLOR when none is chosen) and keymap, with the names to
/// cycle through. Conflicting bindings come back as warnings.
pub struct Look {
    pub user_dir: Option<PathBuf>,
    pub themes: Vec<String>,
    pub theme: Theme,
    pub keymaps: Vec<String>,
    pub keymap: Keymap,
    pub warnings: Vec<String>,
}

pub fn load_look(g: &GlobalArgs) -> Result<Look, CliError> {
    let user_dir = config::config_dir();
    let mut warnings = Vec::new();
    let theme_name = g
        .theme
        .clone()
        .unwrap_or_else(|| Theme::default_name().to_string());
    // A broken user file is reported and a built-in used instead (the preset of that name, or
    // `default` for a name of the user's own), so a typo never keeps the console from starting;
    // an unknown name is bad usage.
    let theme = match Theme::load(&theme_name, user_dir.as_deref()) {
        Ok(t) => t,
        Err(e @ ConfigError::UnknownName { .. }) => return Err(CliError::Input(e.to_string())),
        Err(e) => {
            let fallback = Theme::load(&theme_name, None).or_else(|_| Theme::load("default", None));
            let t = fallback.map_err(|b| CliError::Runtime(b.to_string()))?;
            warnings.push(format!("{e} (using the built-in {} theme)", t.name));
            t
        }
    };
    let keymap_name = g.keymap.clone().unwrap_or_else(|| "default".into());
    let keymap = match Keymap::load(&keymap_name, user_dir.as_deref()) {
        Ok((k, conflicts)) => {
            warnings.extend(conflicts.iter().map(|c| format!("keymap conflict: {c}")));
            k
        }
        Err(e @ ConfigError::UnknownName { .. }) => return Err(CliError::Input(e.to_string())),
        Err(e) => {
            let fallback =
                Keymap::load(&keymap_name, None).or_else(|_| Keymap::load("default", None));
            let (k, _) = fallback.map_err(|b| CliError::Runtime(b.to_string()))?;
            warnings.push(format!("{e} (using the built-in {} keymap)", k.name));
            k
        }
    };
    let mut themes = Theme::available(user_dir.as_deref());
    if !themes.contains(&theme.name) {
        themes.push(theme.name.clone());
    }
    let mut keymaps = Keymap::available(user_dir.as_deref());
    if !keymaps.contains(&keymap.name) {
        keymaps.push(keymap.name.clone());
    }
    Ok(Look {
        user_dir,
        themes,
        theme,
        keymaps,
        keymap,
        warnings,
    })
}

/// What operations take from the flags and the fleet file, decided here once: the permission
/// (`--read-only` or `guards.read_only` is the kill switch; against AWS operations need
/// `--allow-actions` or `guards.allow_actions`), the audit log (`--audit-log`, else `audit.jsonl`
/// in the state dir), and how long the console verifies a change.
pub fn ops_settings(g: &GlobalArgs, fleet: &Fleet, kind: SourceKind) -> crate::ops::Settings {
    let permission = crate::ops::Permission::decide(
        kind,
        g.read_only || fleet.guards.read_only,
        g.allow_actions || fleet.guards.allow_actions,
    );
    let audit_log = g
        .audit_log
        .clone()
        .unwrap_or_else(|| crate::logging::state_dir().join("audit.jsonl"));
    let verify = match kind {
        // Long enough for new tasks to start (60–90 s in the model, minutes on AWS) and a promoted
        // instance to become available (a minute in the model, up to 15 on AWS): the console
        // watches in the background, keys keep working.
        SourceKind::Sim => VerifyLimits {
            limit: Duration::from_secs(300),
            poll: Duration::from_millis(500),
        },
        SourceKind::Aws => VerifyLimits {
            limit: Duration::from_secs(900),
            poll: Duration::from_secs(3),
        },
    };
    crate::ops::Settings {
        permission,
        audit_log,
        verify,
    }
}

/// Where `operator`'s leases live and whether it writes a shared audit trail: with the fleet's
/// `[shared]` table against AWS, the DynamoDB lock table and the CloudWatch Logs group in
/// `shared.region`; otherwise lock files in the state directory (the simulated fleet never
/// touches AWS). `wait`: how long an operation waits for a held lease (`act --wait`).
pub async fn coordinate(
    g: &GlobalArgs,
    fleet: &Fleet,
    kind: SourceKind,
    operator: crate::ops::Operator,
    wait: Duration,
) -> Result<crate::ops::Operator, CliError> {
    use crate::ops::approval::{dynamo::DynamoApprovals, local::LocalApprovals, Approvals};
    use crate::ops::lease::{dynamo::DynamoLeases, local::LocalLeases, Leases};
    let (mut leases, approvals, operator) = match (&fleet.shared, kind) {
        (Some(shared), SourceKind::Aws) => {
            let config = shared_sdk_config(g, fleet, shared).await?;
            let trail = crate::ops::audit::shared::SharedLog::new(&config, &shared.audit_log_group);
            let leases = Leases::new(std::sync::Arc::new(DynamoLeases::new(
                &config,
                &shared.lock_table,
            )));
            let approvals = Approvals::new(std::sync::Arc::new(DynamoApprovals::new(
                &config,
                &shared.lock_table,
            )));
            (leases, approvals, operator.with_shared_trail(trail))
        }
        _ => {
            let state = crate::logging::state_dir();
            (
                Leases::new(std::sync::Arc::new(LocalLeases::new(state.join("leases")))),
                Approvals::new(std::sync::Arc::new(LocalApprovals::new(
                    state.join("approvals"),
                ))),
                operator,
            )
        }
    };
    leases.wait = wait;
    Ok(operator.with_leases(leases).with_approvals(approvals))
}

/// The AWS settings of `[shared]`: the flags' credentials and endpoint, in `shared.region`.
pub async fn shared_sdk_config(
    g: &GlobalArgs,
    fleet: &Fleet,
    shared: &crate::fleet::shared::SharedConfig,
) -> Result<aws_config::SdkConfig, CliError> {
    Ok(
        crate::source::aws::clients::load_config(&aws_options(g), fleet.refresh.timeout_s)
            .await
            .map_err(aws_error)?
            .to_builder()
            .region(aws_config::Region::new(shared.region.clone()))
            .build(),
    )
}

/// Against AWS, a fleet whose `[shared]` table or log group does not exist: what is missing and
/// how to create it (operations are refused until they exist; reading works). None when all
/// exist, without `[shared]`, on the simulated fleet, or when they cannot be read (logged: the
/// operation then says what failed).
pub async fn shared_missing(g: &GlobalArgs, fleet: &Fleet, kind: SourceKind) -> Option<String> {
    let (Some(shared), SourceKind::Aws) = (&fleet.shared, kind) else {
        return None;
    };
    let config = shared_sdk_config(g, fleet, shared).await.ok()?;
    let found = match crate::ops::lease::init::SharedSetup::new(&config, shared)
        .inspect()
        .await
    {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!("[shared] resources not read: {e}");
            return None;
        }
    };
    let missing = found.missing(shared);
    let path = g
        .fleet
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| fleet.name.clone());
    (!missing.is_empty()).then(|| {
        format!(
            "fleet `{}`: [shared] {} missing in {} ({}): operations are refused until they exist; create them with `opsdeck shared init --fleet {path}`",
            fleet.name,
            if missing.len() == 1 { "resource is" } else { "resources are" },
            shared.region,
            missing.join(", ")
        )
    })
}

/// The clock against AWS: the wall clock, shifted only by the hidden test hook
/// [`crate::fleet::clock::CLOCK_OFFSET_ENV`].
pub fn wall_clock() -> crate::fleet::clock::WallClock {
    crate::fleet::clock::WallClock::from_env()
}

/// AWS settings from the flags; SDK retries stay at the SDK's standard count.
pub fn aws_options(g: &GlobalArgs) -> crate::source::aws::AwsOptions {
    crate::source::aws::AwsOptions {
        endpoint_url: g.endpoint_url.clone(),
        profile: g.profile.clone(),
        retries: 2,
        refresh: None,
    }
}

/// No credentials or a bad endpoint is bad input (exit 2); anything else a runtime failure.
pub fn aws_error(e: crate::source::aws::AwsSetupError) -> CliError {
    use crate::source::aws::AwsSetupError;
    match e {
        AwsSetupError::NoCredentials(m) => CliError::Input(m),
        AwsSetupError::InvalidEndpoint(_) => CliError::Input(e.to_string()),
        AwsSetupError::Other(m) => CliError::Runtime(m),
    }
}

/// [`aws_error`] for a fleet file read from AWS: no credentials also reminds that `--sim`
/// simulates the file instead (the usual slip of someone trying opsdeck out).
pub fn fleet_aws_error(e: crate::source::aws::AwsSetupError) -> CliError {
    match e {
        crate::source::aws::AwsSetupError::NoCredentials(m) => CliError::Input(format!(
            "{m}\nTo simulate the fleet file instead of reading AWS, add --sim."
        )),
        e => aws_error(e),
    }
}

/// Before anything is read from AWS: credentials must be had, else bad input (exit 2) saying how to
/// provide them — the answer every command gives (the console shows it in its panes instead).
pub async fn check_aws_credentials(g: &GlobalArgs, fleet: &Fleet) -> Result<(), CliError> {
    crate::source::aws::load_checked(&aws_options(g), fleet.refresh.timeout_s)
        .await
        .map(|_| ())
        .map_err(fleet_aws_error)
}
