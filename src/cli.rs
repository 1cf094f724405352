//! The command line: one binary, the same code paths as the TUI.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "opsdeck",
    version,
    about = "A terminal operations console for services deployed across several AWS regions",
    long_about = "A terminal operations console for services deployed across several AWS regions.\n\n\
        Without --fleet it runs the built-in simulated Atlas-like fleet (no AWS account needed).\n\
        With --fleet FILE it reads that fleet from AWS (credentials from the standard chain),\n\
        unless --sim is given, which simulates the fleet file instead.",
    after_help = "Examples:\n  opsdeck                                   # console on the built-in simulated fleet\n  \
        opsdeck --speed 60 --scenario outage@us-east-1\n  \
        opsdeck --fleet fleets/kaldrix.toml --sim  # simulate another fleet\n  \
        opsdeck --fleet prod.toml --profile ops    # real AWS, read-only unless --allow-actions\n  \
        opsdeck snapshot --format json"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Fleet file (TOML). Without it, the built-in simulated Atlas-like fleet.
    #[arg(long, global = true, value_name = "FILE")]
    pub fleet: Option<PathBuf>,
    /// Simulate the fleet file instead of reading AWS.
    #[arg(long, global = true)]
    pub sim: bool,
    /// Simulator seed: the same seed, start and inputs give the same run.
    #[arg(long, global = true, default_value_t = 7)]
    pub seed: u64,
    /// Simulator speed: virtual seconds per real second.
    #[arg(long, global = true, default_value_t = 1.0, value_parser = parse_speed)]
    pub speed: f64,
    /// Simulator start time (RFC 3339, e.g. 2026-11-22T12:00:00Z); default: now.
    #[arg(long, global = true, value_name = "TIME")]
    pub start: Option<String>,
    /// Inject an incident at start: NAME[@REGION] with NAME one of error-storm, replica-lag, cache-flush, outage
    /// (default region: the first secondary).
    #[arg(long, global = true, value_name = "NAME[@REGION]")]
    pub scenario: Option<String>,
    /// Theme name (built-in: default, mono, colorblind, light; or a file in the config dir's themes/).
    #[arg(long, global = true, env = "OPSDECK_THEME")]
    pub theme: Option<String>,
    /// Keymap name (built-in: default, vim; or a file in the config dir's keymaps/).
    #[arg(long, global = true, env = "OPSDECK_KEYMAP")]
    pub keymap: Option<String>,
    /// AWS profile from the shared config files.
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// Send every AWS call to this endpoint (an emulator such as moto).
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Refuse every operation (global kill switch).
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Enable operations against real AWS (off by default; always on for the simulated fleet).
    #[arg(long, global = true)]
    pub allow_actions: bool,
    /// Audit log file (JSONL); default: opsdeck/audit.jsonl in the state dir.
    #[arg(long, global = true, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    /// Do not capture the mouse.
    #[arg(long, global = true)]
    pub no_mouse: bool,
}

fn parse_speed(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if v.is_finite() && v > 0.0 && v <= 100_000.0 {
        Ok(v)
    } else {
        Err("speed must be greater than 0 and at most 100000".into())
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the current state of every region once and exit.
    Snapshot(SnapshotArgs),
    /// A guarded operation: print its plan, or run it with --execute --confirm REGION.
    #[command(subcommand)]
    Act(ActOp),
    /// Failover what-if: what happens if REGION fails now (changes nothing).
    Simulate(SimulateArgs),
    /// Write a fleet file from what the AWS account holds (ECS, RDS, ALBs, ElastiCache, Route53).
    Discover(DiscoverArgs),
}

#[derive(Debug, Subcommand)]
pub enum ActOp {
    /// Set an ECS service's desired count (and, under autoscaling, its min/max with it).
    Scale {
        /// The region (as named in the fleet file).
        #[arg(long)]
        region: String,
        /// The service's name, or cluster/service.
        #[arg(long)]
        service: String,
        /// The new desired task count.
        #[arg(long)]
        desired: i64,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Promote the region's RDS read replica to a standalone primary (one-way).
    Promote {
        /// The region (as named in the fleet file).
        #[arg(long)]
        region: String,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Set the region's Route53 weighted record to 0.
    Drain {
        /// The region (as named in the fleet file).
        #[arg(long)]
        region: String,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Put the region's weight back: the weight its last drain found (audit log), or --weight.
    Restore {
        /// The region (as named in the fleet file).
        #[arg(long)]
        region: String,
        /// The weight to set (default: the one recorded by the record's last drain).
        #[arg(long)]
        weight: Option<i64>,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Undo the last reversible operation in the audit log (scale back, restore a drained weight).
    Undo {
        #[command(flatten)]
        run: RunArgs,
    },
}

/// How `act` runs: plan only, or execute with a typed confirmation.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Run the plan. Without it the plan is printed and nothing changes.
    #[arg(long)]
    pub execute: bool,
    /// The region's name, typed to confirm (needed with --execute).
    #[arg(long, value_name = "REGION")]
    pub confirm: Option<String>,
    /// Pass an overridable safety rule (repeatable); each needs --confirm-override RULE.
    #[arg(long = "override", value_name = "RULE")]
    pub overrides: Vec<String>,
    /// The overridden rule's name, typed again to confirm the override.
    #[arg(long = "confirm-override", value_name = "RULE")]
    pub confirm_overrides: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Simulated fleet: advance virtual time by this long before planning (e.g. 5m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_s)]
    pub after: Option<f64>,
    /// Give up verifying after this many seconds (reported as "not yet verified").
    #[arg(long, default_value_t = 120)]
    pub wait_s: u64,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The region that fails.
    #[arg(long, value_name = "REGION")]
    pub fail: String,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Simulated fleet: advance virtual time by this long first (e.g. 5m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_s)]
    pub after: Option<f64>,
}

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// Regions to look in, comma-separated (the first with a writer database becomes the primary).
    #[arg(long, value_delimiter = ',', required = true, value_name = "A,B,C")]
    pub regions: Vec<String>,
    /// Only resources with this tag (KEY=VALUE).
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub tag: Option<(String, String)>,
    /// Write the fleet file here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

fn parse_tag(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Simulated fleet: advance virtual time by this long before the snapshot (e.g. 90s, 5m, 2h).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_s)]
    pub after: Option<f64>,
    /// Real AWS: give up waiting for slow data after this many seconds (what arrived is printed).
    #[arg(long, default_value_t = 20)]
    pub wait_s: u64,
}

/// "90", "90s", "5m", "2h", "1d" as seconds.
pub fn parse_duration_s(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let (num, unit) = match s.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 90s, 5m, 2h, 7d)"))?;
    let mult = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (use s, m, h or d)")),
    };
    if v < 0.0 || !v.is_finite() {
        return Err(format!("`{s}` must not be negative"));
    }
    Ok(v * mult)
}
