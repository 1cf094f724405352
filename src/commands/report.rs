//! `opsdeck report`: the weekly ops review of the window `--since` long that ends at `--until`,
//! as Markdown, self-contained HTML or JSON. On the simulated fleet (the default) the model runs
//! over the previous window and this one on its virtual clock, seeded, with the incidents
//! `--inject` schedules and the seed's daily "weather"; against AWS it reads CloudWatch
//! (one GetMetricData per region) and Cost Explorer (once).

use crate::cli::{parse_duration_s, AwsArgs, FleetArgs, GlobalArgs};
use crate::fleet::Fleet;
use crate::report::sim::Scheduled;
use crate::report::{self, actions, drills, Input};
use crate::setup::{self, CliError};
use crate::source::Scenario;
use chrono::{DateTime, Duration, Utc};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// The longest window a review covers.
const MAX_SINCE_S: f64 = 31.0 * 86_400.0;

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ReportFormat {
    Md,
    Html,
    Json,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// How far back the window reaches from --until (e.g. 7d, 24h); whole hours, at most 31d.
    #[arg(long, default_value = "7d", value_parser = parse_duration_s)]
    pub since: f64,
    /// The window's end: `now` or an RFC 3339 time (rounded down to the hour).
    #[arg(long, default_value = "now", value_name = "now|TIME")]
    pub until: String,
    #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
    pub format: ReportFormat,
    /// Write the review to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Simulated fleet: the model's seed (the same seed and window give the same review).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Simulated fleet: run an incident NAME@REGION/START/DURATION, START an RFC 3339 time or
    /// +DURATION after the window's start (e.g. error-storm@us-east-1/+58h/45m). Repeatable.
    #[arg(long = "inject", value_name = "NAME@REGION/START/DURATION")]
    pub inject: Vec<String>,
    /// Simulated fleet: no incidents but the injected ones (no daily "weather" from the seed).
    #[arg(long)]
    pub calm: bool,
    /// Audit log to take the window's operations from; default: opsdeck/audit.jsonl in the
    /// state dir.
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

fn parse_time(flag: &str, s: &str) -> Result<DateTime<Utc>, CliError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            CliError::Input(format!(
                "{flag} `{s}`: {e} (expected `now` or RFC 3339, e.g. 2026-11-29T00:00:00Z)"
            ))
        })
}

/// `--inject NAME@REGION/START/DURATION` against the fleet and the two windows.
pub fn parse_inject(
    spec: &str,
    fleet: &Fleet,
    from: DateTime<Utc>,
    earliest: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Scheduled, CliError> {
    let bad = |why: String| {
        CliError::Input(format!(
            "--inject `{}`: {why} (expected NAME@REGION/START/DURATION, e.g. error-storm@us-east-1/+58h/45m)",
            crate::fleet::text::clean(spec)
        ))
    };
    let parts: Vec<&str> = spec.split('/').collect();
    let [what, start, length] = parts[..] else {
        return Err(bad("three parts separated by `/` are needed".into()));
    };
    let (name, region) = what
        .split_once('@')
        .ok_or_else(|| bad("no @REGION".into()))?;
    let scenario = Scenario::parse(name).ok_or_else(|| {
        let names: Vec<_> = Scenario::ALL.iter().map(|s| s.name()).collect();
        bad(format!(
            "unknown scenario `{name}` (one of: {})",
            names.join(", ")
        ))
    })?;
    if fleet.region(region).is_none() {
        return Err(bad(format!(
            "fleet `{}` has no region `{region}`",
            fleet.name
        )));
    }
    let start = match start.strip_prefix('+') {
        Some(offset) => from + Duration::seconds(parse_duration_s(offset).map_err(bad)? as i64),
        None => parse_time("--inject", start)?,
    };
    let length = parse_duration_s(length).map_err(bad)?;
    if length < 60.0 {
        return Err(bad("the incident must last at least 1m".into()));
    }
    let end = start + Duration::seconds(length as i64);
    if start < earliest || end > until {
        return Err(bad(format!(
            "it must run between {earliest} (the previous window's start) and {until}"
        )));
    }
    Ok(Scheduled {
        region: region.to_string(),
        scenario,
        start,
        end,
    })
}

/// The review of `args` on the simulated fleet, computed (what `run` writes out).
pub fn sim_input(
    fleet: Fleet,
    args: &ReportArgs,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Input, CliError> {
    let prev_from = from - (until - from);
    let mut injected = Vec::new();
    for spec in &args.inject {
        injected.push(parse_inject(spec, &fleet, from, prev_from, until)?);
    }
    report::sim::input(fleet, args.seed, args.calm, injected, from, until).map_err(CliError::Input)
}

pub async fn run(g: &GlobalArgs, args: &ReportArgs) -> Result<(), CliError> {
    let (fleet, is_sim) = setup::load_fleet(g)?;
    if !(3600.0..=MAX_SINCE_S).contains(&args.since) {
        return Err(CliError::Input(format!(
            "--since {} s: a review covers 1h to 31d",
            args.since
        )));
    }
    let until = match args.until.as_str() {
        "now" => Utc::now(),
        s => parse_time("--until", s)?,
    };
    let (from, until) = report::window(until, args.since as i64);
    let mut input = if is_sim {
        sim_input(fleet, args, from, until)?
    } else {
        report::aws::input(fleet, &setup::aws_options(g), from, until)
            .await
            .map_err(CliError::Runtime)?
    };
    let audit = args
        .audit_log
        .clone()
        .or_else(|| g.audit_log.clone())
        .unwrap_or_else(|| crate::logging::state_dir().join("audit.jsonl"));
    let (acts, note) = actions::read(&audit, &input.fleet.name, from, until);
    input.actions = acts;
    input.notes.extend(note);
    input.drills = drills::read(&crate::logging::state_dir(), &input.fleet.name, from, until);
    let r = report::compute(&input);
    let text = match args.format {
        ReportFormat::Md => report::render::markdown(&r),
        ReportFormat::Html => report::render::html(&r),
        ReportFormat::Json => report::render::json(&r) + "\n",
    };
    match &args.out {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| CliError::Runtime(format!("{}: cannot write: {e}", path.display()))),
        None => super::output::print(&text),
    }
}
