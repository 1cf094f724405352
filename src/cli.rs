//! The command line: one binary, the same code paths as the TUI.
//!
//! Flags come in groups, each flattened only into the commands that use it, so every `--help`
//! lists only what that command reads. A group's flags may also be given before the subcommand
//! (`opsdeck --fleet F --sim snapshot`); `parse` merges both places into one [`GlobalArgs`].

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
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
        opsdeck snapshot --format json\n\n\
        Each command's --help lists the options it takes."
)]
pub struct Cli {
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub sim: SimArgs,
    /// Simulator speed: virtual seconds per real second.
    #[arg(long, default_value_t = 1.0, value_parser = parse_speed, help_heading = "Simulated fleet")]
    pub speed: f64,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub ops: OpsArgs,
    #[command(flatten)]
    pub look: LookArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Flags given before the subcommand that it does not use: ignored, each worth a warning.
    #[arg(skip)]
    pub ignored: Vec<String>,
}

/// Which fleet, and whether to simulate it.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Fleet")]
pub struct FleetArgs {
    /// Fleet file (TOML). Without it, the built-in simulated Atlas-like fleet.
    #[arg(long, value_name = "FILE")]
    pub fleet: Option<PathBuf>,
    /// Simulate the fleet file instead of reading AWS.
    #[arg(long)]
    pub sim: bool,
}

/// How the simulated fleet starts.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Simulated fleet")]
pub struct SimArgs {
    /// Simulator seed: the same seed, start and inputs give the same run.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Simulator start time (RFC 3339, e.g. 2026-11-22T12:00:00Z); default: now.
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,
    /// Inject an incident at start: NAME[@REGION] with NAME one of error-storm, replica-lag, cache-flush, outage
    /// (default region: the first secondary).
    #[arg(long, value_name = "NAME[@REGION]")]
    pub scenario: Option<String>,
}

/// How to reach AWS.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "AWS")]
pub struct AwsArgs {
    /// AWS profile from the shared config files.
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// Send every AWS call to this endpoint (an emulator such as moto).
    #[arg(long, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,
}

/// The permission policy and the audit log of operations.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Operations")]
pub struct OpsArgs {
    /// Refuse every operation (global kill switch).
    #[arg(long)]
    pub read_only: bool,
    /// Enable operations against real AWS (off by default; always on for the simulated fleet).
    #[arg(long)]
    pub allow_actions: bool,
    /// Audit log file (JSONL); default: opsdeck/audit.jsonl in the state dir.
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
}

/// The console's look and input.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Look")]
pub struct LookArgs {
    /// Theme name (built-in: default, mono, colorblind, light; or a file in the config dir's themes/).
    #[arg(long, env = "OPSDECK_THEME")]
    pub theme: Option<String>,
    /// Keymap name (built-in: default, vim; or a file in the config dir's keymaps/).
    #[arg(long, env = "OPSDECK_KEYMAP")]
    pub keymap: Option<String>,
    /// Do not capture the mouse.
    #[arg(long)]
    pub no_mouse: bool,
}

/// Every group's value after merging the flags given before the subcommand with those given
/// after it (after wins). Groups a command does not take keep their defaults.
#[derive(Debug, Clone)]
pub struct GlobalArgs {
    pub fleet: Option<PathBuf>,
    pub sim: bool,
    pub seed: u64,
    pub speed: f64,
    pub start: Option<String>,
    pub scenario: Option<String>,
    pub theme: Option<String>,
    pub keymap: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    pub read_only: bool,
    pub allow_actions: bool,
    pub audit_log: Option<PathBuf>,
    pub no_mouse: bool,
}

impl Cli {
    /// Parse the process's arguments; bad usage prints clap's message and exits 2.
    pub fn parse_global() -> (Cli, GlobalArgs) {
        Self::try_parse_global(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

    /// Parse `argv` (program name first) into the command and the merged flag groups. After the
    /// subcommand only its own flags are accepted; a console flag given before a subcommand that does
    /// not use it (`opsdeck --no-mouse snapshot`) is ignored and listed in `Cli::ignored`.
    pub fn try_parse_global<I, T>(argv: I) -> Result<(Cli, GlobalArgs), clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let mut cmd = Cli::command();
        let matches = cmd.try_get_matches_from_mut(argv)?;
        let mut cli = Cli::from_arg_matches(&matches)?;
        let mut g = GlobalArgs {
            fleet: cli.fleet.fleet.clone(),
            sim: cli.fleet.sim,
            seed: cli.sim.seed,
            speed: cli.speed,
            start: cli.sim.start.clone(),
            scenario: cli.sim.scenario.clone(),
            theme: cli.look.theme.clone(),
            keymap: cli.look.keymap.clone(),
            profile: cli.aws.profile.clone(),
            endpoint_url: cli.aws.endpoint_url.clone(),
            read_only: cli.ops.read_only,
            allow_actions: cli.ops.allow_actions,
            audit_log: cli.ops.audit_log.clone(),
            no_mouse: cli.look.no_mouse,
        };
        let Some(command) = cli.command.take() else {
            return Ok((cli, g));
        };
        // The innermost subcommand (`act drain`), its definition and its matches.
        let (mut leaf, mut m, mut path) = (&cmd, &matches, Vec::new());
        while let Some((name, sub)) = m.subcommand() {
            leaf = leaf
                .find_subcommand(name)
                .expect("a matched subcommand is defined");
            path.push(name.to_string());
            m = sub;
        }
        let ignored = cmd
            .get_arguments()
            .filter(|a| given(&matches, a.get_id().as_str()))
            .filter(|a| !leaf.get_arguments().any(|l| l.get_id() == a.get_id()))
            .map(|a| {
                let flag = a.get_long().unwrap_or(a.get_id().as_str());
                format!("--{flag} has no effect on `opsdeck {}`", path.join(" "))
            })
            .collect();
        let uses = command.groups();
        if let Some(f) = uses.fleet {
            take(&mut g.fleet, &f.fleet, m, "fleet");
            take(&mut g.sim, &f.sim, m, "sim");
        }
        if let Some(s) = uses.sim {
            take(&mut g.seed, &s.seed, m, "seed");
            take(&mut g.start, &s.start, m, "start");
            take(&mut g.scenario, &s.scenario, m, "scenario");
        }
        if let Some(a) = uses.aws {
            take(&mut g.profile, &a.profile, m, "profile");
            take(&mut g.endpoint_url, &a.endpoint_url, m, "endpoint_url");
        }
        if let Some(o) = uses.ops {
            take(&mut g.read_only, &o.read_only, m, "read_only");
            take(&mut g.allow_actions, &o.allow_actions, m, "allow_actions");
            take(&mut g.audit_log, &o.audit_log, m, "audit_log");
        }
        cli.command = Some(command);
        cli.ignored = ignored;
        Ok((cli, g))
    }
}

/// The flag `id` was typed on the command line of this (sub)command.
fn given(m: &ArgMatches, id: &str) -> bool {
    m.ids().any(|i| i.as_str() == id) && m.value_source(id) == Some(ValueSource::CommandLine)
}

/// A value typed after the subcommand wins over the one before it (or the default).
fn take<T: Clone>(slot: &mut T, leaf: &T, m: &ArgMatches, id: &str) {
    if given(m, id) {
        *slot = leaf.clone();
    }
}

/// The flag groups a subcommand takes.
struct Groups<'a> {
    fleet: Option<&'a FleetArgs>,
    sim: Option<&'a SimArgs>,
    aws: Option<&'a AwsArgs>,
    ops: Option<&'a OpsArgs>,
}

impl Command {
    fn groups(&self) -> Groups<'_> {
        match self {
            Command::Snapshot(a) => Groups {
                fleet: Some(&a.fleet),
                sim: Some(&a.sim),
                aws: Some(&a.aws),
                ops: None,
            },
            Command::Shared(SharedOp::Init { run: r }) => Groups {
                fleet: Some(&r.fleet),
                sim: Some(&r.sim),
                aws: Some(&r.aws),
                ops: Some(&r.ops),
            },
            Command::Act(op) => {
                let r = op.run_args();
                Groups {
                    fleet: Some(&r.fleet),
                    sim: Some(&r.sim),
                    aws: Some(&r.aws),
                    ops: Some(&r.ops),
                }
            }
            Command::Simulate(a) => Groups {
                fleet: Some(&a.fleet),
                sim: Some(&a.sim),
                aws: Some(&a.aws),
                ops: None,
            },
            Command::Drill(DrillCommand::Run(a)) => Groups {
                fleet: Some(&a.fleet),
                sim: Some(&a.sim),
                aws: Some(&a.aws),
                ops: Some(&a.ops),
            },
            Command::Report(a) => Groups {
                fleet: Some(&a.fleet),
                sim: None,
                aws: Some(&a.aws),
                ops: None,
            },
            Command::Discover(a) => Groups {
                fleet: None,
                sim: None,
                aws: Some(&a.aws),
                ops: None,
            },
        }
    }
}

impl ActOp {
    /// How this operation runs (every `act` subcommand takes the same run flags).
    pub fn run_args(&self) -> &RunArgs {
        match self {
            ActOp::Scale { run, .. }
            | ActOp::Promote { run, .. }
            | ActOp::Drain { run, .. }
            | ActOp::Restore { run, .. }
            | ActOp::Undo { run }
            | ActOp::Pending { run }
            | ActOp::Approve { run, .. } => run,
        }
    }
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
    /// Write a fleet file from what the AWS account holds (ECS, EKS, RDS, ALBs, ElastiCache,
    /// Route53 records with their routing policy and health check, the CloudFront distribution).
    Discover(DiscoverArgs),
    /// DR drills: rehearse a runbook on the simulated fleet, run it against AWS, or roll it back.
    #[command(subcommand)]
    Drill(DrillCommand),
    /// Set up what several operators share ([shared]: the lock table and the log group).
    #[command(subcommand)]
    Shared(SharedOp),
    /// The weekly ops review: SLO attainment, error budget, incidents, worst hours, actions, cost.
    Report(crate::commands::report::ReportArgs),
}

#[derive(Debug, Subcommand)]
pub enum SharedOp {
    /// Print what the fleet's [shared] needs and what exists; create it with
    /// --execute --confirm FLEET_NAME (actions must be enabled).
    Init {
        #[command(flatten)]
        run: RunArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum DrillCommand {
    /// Run a drill runbook (TOML): simulation (default), real, or rollback of the last real run.
    Run(DrillRunArgs),
}

/// How a drill runs (`opsdeck drill run`).
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum DrillMode {
    Simulation,
    Real,
    Rollback,
}

#[derive(Debug, Args)]
pub struct DrillRunArgs {
    /// The runbook file (TOML).
    #[arg(value_name = "RUNBOOK")]
    pub runbook: PathBuf,
    /// simulation: on the simulated fleet, virtual clock; real: against AWS; rollback: undo the
    /// last real run of this runbook.
    #[arg(long, value_enum, default_value_t = DrillMode::Simulation)]
    pub mode: DrillMode,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also write the report here: Markdown (.md), HTML (.html) or JSON (.json), by extension.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Real and rollback modes: run. Without it every step's plan is printed and nothing changes.
    #[arg(long)]
    pub execute: bool,
    /// The runbook's name, typed to confirm (needed with --execute).
    #[arg(long, value_name = "NAME")]
    pub confirm: Option<String>,
    /// Record manual steps as skipped instead of asking on the terminal.
    #[arg(long)]
    pub non_interactive: bool,
    /// Simulation: start from the real fleet's state now (tasks, autoscaling bounds, weights,
    /// traffic read from AWS) instead of the fleet file's.
    #[arg(long)]
    pub from_aws: bool,
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub sim: SimArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub ops: OpsArgs,
}

#[derive(Debug, Subcommand)]
pub enum ActOp {
    /// Set an ECS service's desired count (and, under autoscaling, its min/max with it), or an
    /// EKS node group's desired size (--nodegroup; --min/--max move its bounds with it).
    Scale {
        /// The region (as named in the fleet file).
        #[arg(long)]
        region: String,
        /// The service's name, or cluster/service.
        #[arg(
            long,
            required_unless_present = "nodegroup",
            conflicts_with = "nodegroup"
        )]
        service: Option<String>,
        /// An EKS managed node group's name, or cluster/nodegroup.
        #[arg(long)]
        nodegroup: Option<String>,
        /// The new desired task count (node count with --nodegroup).
        #[arg(long)]
        desired: i64,
        /// The node group's new minimum size (with --nodegroup).
        #[arg(long, requires = "nodegroup")]
        min: Option<i64>,
        /// The node group's new maximum size (with --nodegroup): a desired size above the
        /// current max is refused without it.
        #[arg(long, requires = "nodegroup")]
        max: Option<i64>,
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
    /// Take the region out of Route53: a weighted record to weight 0, any other policy's record by
    /// inverting its health check.
    Drain {
        /// The region (as named in the fleet file).
        #[arg(long)]
        region: String,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Put the region back: a weighted record to the weight its last drain found (audit log) or
    /// --weight; any other policy's record by reverting its inverted health check.
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
    /// List the operations waiting for a second identity's approval ([guards] approval_required).
    Pending {
        #[command(flatten)]
        run: RunArgs,
    },
    /// Approve another identity's pending operation: `approve ID --confirm REGION`.
    Approve {
        /// The pending operation's id (`opsdeck act pending`).
        id: String,
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
    /// Give up waiting for the change to settle after this many seconds (reported as "not yet
    /// verified: … not settled after N s" with what is still pending).
    #[arg(long, default_value_t = 120)]
    pub wait_s: u64,
    /// When another operation holds the fleet's lease, wait this long for it (e.g. 30s) instead
    /// of refusing at once.
    #[arg(long = "wait", value_name = "DURATION", value_parser = parse_duration_s)]
    pub lease_wait: Option<f64>,
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub sim: SimArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub ops: OpsArgs,
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
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub sim: SimArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
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
    #[command(flatten)]
    pub aws: AwsArgs,
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
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub sim: SimArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
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
