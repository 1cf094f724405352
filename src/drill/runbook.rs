//! The runbook file (TOML; a contract: keys may be added, never renamed): objectives, the steady
//! state, stop conditions and the steps. Parsed and checked against the fleet before anything runs;
//! every rejection names file:line:column and what is wrong.

use crate::fleet::diagnose;
use crate::fleet::spans::{Spans, Step as PathStep};
use crate::fleet::Fleet;
use crate::ops::{guards, plan, Op};
use crate::source::Scenario;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The largest runbook file read (a runbook is a page of steps, not a data set).
pub const MAX_FILE_BYTES: u64 = 256 * 1024;
/// At most this many steps, checks and stop conditions each.
pub const MAX_ITEMS: usize = 200;
/// The longest a wait, a step or a drill may last, seconds (a day).
pub const MAX_SECONDS: f64 = 86_400.0;

/// A runbook that could not be used: which file, where, and why.
#[derive(Debug, thiserror::Error)]
pub enum RunbookError {
    #[error("{path}: cannot read: {why}")]
    Io { path: PathBuf, why: String },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: String,
    /// The fleet file, relative to the runbook (`--fleet` wins).
    #[serde(default)]
    fleet: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    objectives: Option<ObjectivesFile>,
    #[serde(default)]
    steady_state: Vec<Probe>,
    #[serde(default)]
    stop_when: Vec<StopWhen>,
    #[serde(default, rename = "step")]
    steps: Vec<StepFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ObjectivesFile {
    rto_s: Option<f64>,
    rpo_s: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    name: String,
    #[serde(default)]
    inject: Option<InjectFile>,
    #[serde(default)]
    act: Option<ActFile>,
    #[serde(default)]
    wait: Option<WaitFile>,
    #[serde(default)]
    manual: Option<String>,
    #[serde(default)]
    check: Option<Probe>,
    #[serde(default)]
    parallel_with: Option<String>,
    #[serde(default, rename = "override")]
    overrides: Vec<String>,
    /// How long an act step may take to settle, seconds (default 900).
    #[serde(default)]
    timeout_s: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct InjectFile {
    scenario: String,
    region: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActFile {
    op: String,
    region: String,
    #[serde(default)]
    service: Option<String>,
    /// An EKS managed node group (`scale` of a node group instead of an ECS service).
    #[serde(default)]
    nodegroup: Option<String>,
    #[serde(default)]
    desired: Option<i64>,
    /// A node group's new scaling bounds.
    #[serde(default)]
    min: Option<i64>,
    #[serde(default)]
    max: Option<i64>,
    #[serde(default)]
    weight: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct WaitFile {
    /// "steady_state": until the steady state holds.
    #[serde(default)]
    until: Option<String>,
    /// A fixed wait, seconds.
    #[serde(default)]
    seconds: Option<f64>,
    #[serde(default)]
    timeout_s: Option<f64>,
}

/// The recovery objectives, seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Objectives {
    pub rto_s: f64,
    pub rpo_s: f64,
}

/// A check of one metric: `[[steady_state]]` and `check = {...}` steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Probe {
    /// A region, or `*` for every serving region.
    pub region: String,
    pub metric: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
}

impl Probe {
    /// "p99 ≤ 250 in *".
    pub fn label(&self) -> String {
        let mut bounds = Vec::new();
        if let Some(min) = self.min {
            bounds.push(format!("≥ {min}"));
        }
        if let Some(max) = self.max {
            bounds.push(format!("≤ {max}"));
        }
        format!(
            "{} {} in {}",
            self.metric,
            bounds.join(" and "),
            self.region
        )
    }
}

/// A stop condition: the drill aborts (and rolls back) when it holds for `for_s`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StopWhen {
    pub region: String,
    pub metric: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
    #[serde(default)]
    pub for_s: f64,
}

impl StopWhen {
    /// "error_rate > 0.25 in * for 60 s".
    pub fn label(&self) -> String {
        let mut c = Vec::new();
        if let Some(a) = self.above {
            c.push(format!("> {a}"));
        }
        if let Some(b) = self.below {
            c.push(format!("< {b}"));
        }
        format!(
            "{} {} in {} for {} s",
            self.metric,
            c.join(" or "),
            self.region,
            self.for_s
        )
    }
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Simulation: inject the scenario (the failure); real mode: only mark the failure time.
    Inject { scenario: Scenario, region: String },
    /// An operation through the pipeline.
    Act(Op),
    /// Until the steady state holds (or the timeout), or a fixed time.
    Wait { until_steady: bool, seconds: f64 },
    /// A person does something and ticks it.
    Manual(String),
    /// A check that must hold now.
    Check(Probe),
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Inject { .. } => "inject",
            Action::Act(_) => "act",
            Action::Wait { .. } => "wait",
            Action::Manual(_) => "manual",
            Action::Check(_) => "check",
        }
    }

    /// One line: "act: drain us-east-1".
    pub fn summary(&self) -> String {
        match self {
            Action::Inject { scenario, region } => {
                format!("inject {} into {region}", scenario.name())
            }
            Action::Act(op) => op.summary(),
            Action::Wait {
                until_steady: true,
                seconds,
            } => format!("wait until the steady state holds (at most {seconds} s)"),
            Action::Wait { seconds, .. } => format!("wait {seconds} s"),
            Action::Manual(text) => text.clone(),
            Action::Check(p) => format!("check {}", p.label()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub name: String,
    pub action: Action,
    /// The step this one starts together with.
    pub parallel_with: Option<String>,
    /// Overridable rules this act step expects to override.
    pub overrides: Vec<String>,
    /// How long an act step may take to settle.
    pub timeout_s: f64,
}

/// A checked runbook.
#[derive(Debug, Clone, PartialEq)]
pub struct Runbook {
    pub path: PathBuf,
    pub name: String,
    pub description: Option<String>,
    /// The fleet file the runbook names, resolved against the runbook's directory.
    pub fleet: Option<PathBuf>,
    pub objectives: Objectives,
    /// Whether the objectives were written in the runbook (else the fleet's budgets).
    pub objectives_given: bool,
    pub steady_state: Vec<Probe>,
    pub stop_when: Vec<StopWhen>,
    pub steps: Vec<Step>,
}

/// Metrics every region may be checked on, beyond the fleet's latency statistics.
pub const METRICS: [&str; 10] = [
    "error_rate",
    "replica_lag_s",
    "cache_hit_ratio",
    "requests_per_s",
    "ecs_running_ratio",
    "route53_weight",
    "route53_healthy",
    "probe_ok",
    "probe_rtt_ms",
    "writes_ok",
];

/// Every metric name a runbook may use for `fleet`.
pub fn metric_names(fleet: &Fleet) -> Vec<String> {
    fleet
        .metrics
        .latency_stats
        .iter()
        .cloned()
        .chain(METRICS.iter().map(|m| m.to_string()))
        .collect()
}

/// Read the fleet the runbook names (`fleet = "..."`), without checking the rest: `--fleet` needs
/// to be known before the runbook can be checked against it.
pub fn fleet_path(path: &Path) -> Result<Option<PathBuf>, RunbookError> {
    let text = read_text(path)?;
    let value: toml::Value = match toml::from_str(&text) {
        Ok(v) => v,
        Err(_) => return Ok(None), // `load` reports where
    };
    Ok(value
        .get("fleet")
        .and_then(|f| f.as_str())
        .map(|f| resolve(path, f)))
}

fn resolve(runbook: &Path, relative: &str) -> PathBuf {
    let p = Path::new(relative);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        runbook.parent().unwrap_or(Path::new(".")).join(p)
    }
}

fn read_text(path: &Path) -> Result<String, RunbookError> {
    let io = |why: String| RunbookError::Io {
        path: path.to_path_buf(),
        why,
    };
    let meta = std::fs::metadata(path).map_err(|e| io(e.to_string()))?;
    if !meta.is_file() {
        return Err(io("not a regular file".into()));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(io(format!(
            "{} bytes: a runbook is at most {MAX_FILE_BYTES} bytes",
            meta.len()
        )));
    }
    let read = diagnose::read(path).map_err(|e| io(e.to_string()))?;
    read.map_err(|(line, column, message)| RunbookError::Invalid {
        path: path.to_path_buf(),
        line,
        column,
        message,
    })
}

/// Read, parse and check a runbook against `fleet`.
pub fn load(path: &Path, fleet: &Fleet) -> Result<Runbook, RunbookError> {
    let text = read_text(path)?;
    parse(&text, path, fleet)
}

/// Parse and check a runbook's text against `fleet`.
pub fn parse(text: &str, path: &Path, fleet: &Fleet) -> Result<Runbook, RunbookError> {
    let file: File = toml::from_str(text).map_err(|e| {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        let (line, column) = diagnose::line_col(text, offset);
        RunbookError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            message: diagnose::message(text, offset, e.message()),
        }
    })?;
    let c = Checker {
        text,
        path,
        spans: Spans::of(text),
        fleet,
    };
    c.check(file)
}

struct Checker<'a> {
    text: &'a str,
    path: &'a Path,
    spans: Spans,
    fleet: &'a Fleet,
}

type At<'a> = Vec<PathStep<'a>>;

impl Checker<'_> {
    fn fail(&self, at: &[PathStep], message: String) -> RunbookError {
        let (line, column) = diagnose::line_col(self.text, self.spans.offset(at));
        RunbookError::Invalid {
            path: self.path.to_path_buf(),
            line,
            column,
            message: crate::fleet::text::clean(&message).into_owned(),
        }
    }

    fn text_ok(&self, at: &[PathStep], key: &str, value: &str) -> Result<(), RunbookError> {
        if value.trim().is_empty() {
            return Err(self.fail(at, format!("`{key}` is empty")));
        }
        if crate::fleet::text::is_hostile_text(value) {
            return Err(self.fail(at, format!("`{key}` holds control characters")));
        }
        if value.chars().count() > 500 {
            return Err(self.fail(at, format!("`{key}` is longer than 500 characters")));
        }
        Ok(())
    }

    fn seconds(&self, at: &[PathStep], key: &str, v: f64) -> Result<f64, RunbookError> {
        if !v.is_finite() || !(0.0..=MAX_SECONDS).contains(&v) {
            return Err(self.fail(
                at,
                format!("`{key}` = {v} must be between 0 and {MAX_SECONDS} seconds"),
            ));
        }
        Ok(v)
    }

    fn region(&self, at: &[PathStep], region: &str, star: bool) -> Result<(), RunbookError> {
        if star && region == "*" {
            return Ok(());
        }
        if self.fleet.region(region).is_none() {
            let names: Vec<&str> = self.fleet.regions.iter().map(|r| r.name.as_str()).collect();
            return Err(self.fail(
                at,
                format!(
                    "fleet `{}` has no region `{region}` (regions: {}{})",
                    self.fleet.name,
                    names.join(", "),
                    if star {
                        ", or * for every serving one"
                    } else {
                        ""
                    }
                ),
            ));
        }
        Ok(())
    }

    fn metric(&self, at: &[PathStep], metric: &str) -> Result<(), RunbookError> {
        let names = metric_names(self.fleet);
        if !names.iter().any(|m| m == metric) {
            return Err(self.fail(
                at,
                format!("unknown metric `{metric}` (one of: {})", names.join(", ")),
            ));
        }
        Ok(())
    }

    fn probe(&self, base: &[PathStep], p: &Probe) -> Result<(), RunbookError> {
        let at = |k: &'static str| -> Vec<PathStep> {
            let mut v = base.to_vec();
            v.push(PathStep::Key(k));
            v
        };
        self.region(&at("region"), &p.region, true)?;
        self.metric(&at("metric"), &p.metric)?;
        if p.min.is_none() && p.max.is_none() {
            return Err(self.fail(base, "a check needs `max` or `min` (or both)".into()));
        }
        for (k, v) in [("max", p.max), ("min", p.min)] {
            if v.is_some_and(|v| !v.is_finite()) {
                return Err(self.fail(&at(k), format!("`{k}` must be a finite number")));
            }
        }
        if let (Some(min), Some(max)) = (p.min, p.max) {
            if min > max {
                return Err(self.fail(&at("min"), format!("`min` = {min} is above `max` = {max}")));
            }
        }
        Ok(())
    }

    fn check(&self, file: File) -> Result<Runbook, RunbookError> {
        self.text_ok(&["name".into()], "name", &file.name)?;
        for (key, n) in [
            ("step", file.steps.len()),
            ("steady_state", file.steady_state.len()),
            ("stop_when", file.stop_when.len()),
        ] {
            if n > MAX_ITEMS {
                return Err(self.fail(
                    &[key.into()],
                    format!("{n} `[[{key}]]` tables: at most {MAX_ITEMS}"),
                ));
            }
        }
        if file.steps.is_empty() {
            return Err(self.fail(&[], "no `[[step]]` tables: a drill needs steps".into()));
        }
        let fleet_budget = Objectives {
            rto_s: self.fleet.capacity.rto_budget_s,
            rpo_s: self.fleet.capacity.rpo_budget_s,
        };
        let objectives = match &file.objectives {
            None => fleet_budget,
            Some(o) => Objectives {
                rto_s: match o.rto_s {
                    Some(v) => self.seconds(&["objectives".into(), "rto_s".into()], "rto_s", v)?,
                    None => fleet_budget.rto_s,
                },
                rpo_s: match o.rpo_s {
                    Some(v) => self.seconds(&["objectives".into(), "rpo_s".into()], "rpo_s", v)?,
                    None => fleet_budget.rpo_s,
                },
            },
        };
        for (i, p) in file.steady_state.iter().enumerate() {
            self.probe(&["steady_state".into(), i.into()], p)?;
        }
        for (i, s) in file.stop_when.iter().enumerate() {
            let at = |k: &'static str| -> At { vec!["stop_when".into(), i.into(), k.into()] };
            self.region(&at("region"), &s.region, true)?;
            self.metric(&at("metric"), &s.metric)?;
            if s.above.is_none() && s.below.is_none() {
                return Err(self.fail(
                    &["stop_when".into(), i.into()],
                    "a stop condition needs `above` or `below`".into(),
                ));
            }
            for (k, v) in [("above", s.above), ("below", s.below)] {
                if v.is_some_and(|v| !v.is_finite()) {
                    return Err(self.fail(&at(k), format!("`{k}` must be a finite number")));
                }
            }
            self.seconds(&at("for_s"), "for_s", s.for_s)?;
        }
        let mut steps = Vec::new();
        for (i, s) in file.steps.iter().enumerate() {
            steps.push(self.step(i, s, &file.steps)?);
        }
        self.parallel(&steps)?;
        if steps.iter().any(|s| {
            matches!(
                s.action,
                Action::Wait {
                    until_steady: true,
                    ..
                }
            )
        }) && file.steady_state.is_empty()
        {
            let i = steps
                .iter()
                .position(|s| {
                    matches!(
                        s.action,
                        Action::Wait {
                            until_steady: true,
                            ..
                        }
                    )
                })
                .unwrap_or(0);
            return Err(self.fail(
                &["step".into(), i.into(), "wait".into(), "until".into()],
                "waits until the steady state, but the runbook has no `[[steady_state]]`".into(),
            ));
        }
        if let Some(d) = &file.description {
            if crate::fleet::text::is_hostile_text(d) {
                return Err(self.fail(
                    &["description".into()],
                    "`description` holds control characters".into(),
                ));
            }
        }
        Ok(Runbook {
            path: self.path.to_path_buf(),
            name: file.name.clone(),
            description: file.description.clone(),
            fleet: file.fleet.as_deref().map(|f| resolve(self.path, f)),
            objectives,
            objectives_given: file.objectives.is_some(),
            steady_state: file.steady_state.clone(),
            stop_when: file.stop_when.clone(),
            steps,
        })
    }

    fn step(&self, i: usize, s: &StepFile, all: &[StepFile]) -> Result<Step, RunbookError> {
        let base: At = vec!["step".into(), i.into()];
        let at = |k: &'static str| -> At {
            let mut v = base.clone();
            v.push(k.into());
            v
        };
        self.text_ok(&at("name"), "name", &s.name)?;
        if all[..i].iter().any(|o| o.name == s.name) {
            return Err(self.fail(
                &at("name"),
                format!("two steps are named `{}`: step names must differ", s.name),
            ));
        }
        let given = [
            s.inject.is_some(),
            s.act.is_some(),
            s.wait.is_some(),
            s.manual.is_some(),
            s.check.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if given != 1 {
            return Err(self.fail(
                &base,
                format!(
                    "step `{}` needs exactly one of `inject`, `act`, `wait`, `manual`, `check` ({given} given)",
                    s.name
                ),
            ));
        }
        let timeout_s = match s.timeout_s {
            Some(v) => self.seconds(&at("timeout_s"), "timeout_s", v)?,
            None => 900.0,
        };
        let action = if let Some(inj) = &s.inject {
            let k = |key: &'static str| -> At {
                let mut v = at("inject");
                v.push(key.into());
                v
            };
            let scenario = Scenario::parse(&inj.scenario).ok_or_else(|| {
                let names: Vec<_> = Scenario::ALL.iter().map(|s| s.name()).collect();
                self.fail(
                    &k("scenario"),
                    format!(
                        "unknown scenario `{}` (one of: {})",
                        inj.scenario,
                        names.join(", ")
                    ),
                )
            })?;
            self.region(&k("region"), &inj.region, false)?;
            Action::Inject {
                scenario,
                region: inj.region.clone(),
            }
        } else if let Some(a) = &s.act {
            Action::Act(self.act(&at("act"), a)?)
        } else if let Some(w) = &s.wait {
            let k = |key: &'static str| -> At {
                let mut v = at("wait");
                v.push(key.into());
                v
            };
            match (&w.until, w.seconds) {
                (Some(u), None) if u == "steady_state" => Action::Wait {
                    until_steady: true,
                    seconds: self.seconds(
                        &k("timeout_s"),
                        "timeout_s",
                        w.timeout_s.unwrap_or(900.0),
                    )?,
                },
                (Some(u), None) => {
                    return Err(self.fail(
                        &k("until"),
                        format!("`until` = `{u}`: the only condition is `steady_state`"),
                    ))
                }
                (None, Some(sec)) => Action::Wait {
                    until_steady: false,
                    seconds: self.seconds(&k("seconds"), "seconds", sec)?,
                },
                _ => {
                    return Err(self.fail(
                        &at("wait"),
                        "`wait` needs either `until = \"steady_state\"` or `seconds`".into(),
                    ))
                }
            }
        } else if let Some(m) = &s.manual {
            self.text_ok(&at("manual"), "manual", m)?;
            Action::Manual(m.clone())
        } else if let Some(p) = &s.check {
            self.probe(&at("check"), p)?;
            Action::Check(p.clone())
        } else {
            unreachable!("exactly one kind was given")
        };
        for (j, rule) in s.overrides.iter().enumerate() {
            let mut here = at("override");
            here.push(j.into());
            if !matches!(action, Action::Act(_)) {
                return Err(self.fail(&here, "only an `act` step can override a rule".into()));
            }
            match guards::is_overridable(rule) {
                Some(true) => {}
                Some(false) => {
                    return Err(self.fail(&here, format!("rule `{rule}` cannot be overridden")))
                }
                None => return Err(self.fail(&here, format!("no rule `{rule}`"))),
            }
        }
        if let Some(p) = &s.parallel_with {
            if !all.iter().any(|o| &o.name == p) {
                return Err(self.fail(
                    &at("parallel_with"),
                    format!("`parallel_with` = `{p}` names no step of this runbook"),
                ));
            }
            if p == &s.name {
                return Err(self.fail(
                    &at("parallel_with"),
                    format!("step `{p}` cannot run in parallel with itself"),
                ));
            }
        }
        Ok(Step {
            name: s.name.clone(),
            action,
            parallel_with: s.parallel_with.clone(),
            overrides: s.overrides.clone(),
            timeout_s,
        })
    }

    fn act(&self, at: &[PathStep], a: &ActFile) -> Result<Op, RunbookError> {
        let k = |key: &'static str| -> At {
            let mut v = at.to_vec();
            v.push(key.into());
            v
        };
        self.region(&k("region"), &a.region, false)?;
        let unused = |key: &'static str, given: bool| -> Result<(), RunbookError> {
            if given {
                Err(self.fail(&k(key), format!("`{key}` does not apply to `{}`", a.op)))
            } else {
                Ok(())
            }
        };
        let region = a.region.clone();
        match a.op.as_str() {
            "scale" if a.nodegroup.is_some() => {
                unused("weight", a.weight.is_some())?;
                unused("service", a.service.is_some())?;
                let name = a.nodegroup.as_deref().unwrap_or_default();
                let (cluster, nodegroup) = plan::nodegroup::resolve(self.fleet, &region, name)
                    .map_err(|e| self.fail(&k("nodegroup"), e.to_string()))?;
                let desired = a
                    .desired
                    .ok_or_else(|| self.fail(at, "`scale` needs `desired`".into()))?;
                for (key, v) in [("desired", Some(desired)), ("min", a.min), ("max", a.max)] {
                    if v.is_some_and(|v| !(0..=10_000).contains(&v)) {
                        return Err(
                            self.fail(&k(key), format!("`{key}` must be between 0 and 10000"))
                        );
                    }
                }
                Ok(Op::ScaleNodegroup {
                    region,
                    cluster,
                    nodegroup,
                    desired,
                    min: a.min,
                    max: a.max,
                })
            }
            "scale" => {
                unused("weight", a.weight.is_some())?;
                unused("min", a.min.is_some())?;
                unused("max", a.max.is_some())?;
                let service = a.service.as_deref().ok_or_else(|| {
                    self.fail(at, "`scale` needs `service` (or `nodegroup`)".into())
                })?;
                let (cluster, service) = plan::resolve_service(self.fleet, &region, service)
                    .map_err(|e| self.fail(&k("service"), e.to_string()))?;
                let desired = a
                    .desired
                    .ok_or_else(|| self.fail(at, "`scale` needs `desired`".into()))?;
                if !(0..=10_000).contains(&desired) {
                    return Err(self.fail(
                        &k("desired"),
                        format!("`desired` = {desired} must be between 0 and 10000"),
                    ));
                }
                Ok(Op::Scale {
                    region,
                    cluster,
                    service,
                    desired,
                    bounds: None,
                })
            }
            "promote" | "drain" => {
                unused("nodegroup", a.nodegroup.is_some())?;
                unused("min", a.min.is_some())?;
                unused("max", a.max.is_some())?;
                unused("service", a.service.is_some())?;
                unused("desired", a.desired.is_some())?;
                unused("weight", a.weight.is_some())?;
                Ok(if a.op == "promote" {
                    Op::Promote { region }
                } else {
                    Op::Drain { region }
                })
            }
            "restore" => {
                unused("nodegroup", a.nodegroup.is_some())?;
                unused("min", a.min.is_some())?;
                unused("max", a.max.is_some())?;
                unused("service", a.service.is_some())?;
                unused("desired", a.desired.is_some())?;
                if let Some(w) = a.weight {
                    if !(0..=255).contains(&w) {
                        return Err(self.fail(
                            &k("weight"),
                            format!("`weight` = {w} must be between 0 and 255"),
                        ));
                    }
                }
                Ok(Op::Restore {
                    region,
                    weight: a.weight,
                })
            }
            other => Err(self.fail(
                &k("op"),
                format!("unknown op `{other}` (one of: scale, promote, drain, restore)"),
            )),
        }
    }

    /// `parallel_with` chains end at a step that runs on its own: a chain that comes back to a
    /// step it passed is a cycle.
    fn parallel(&self, steps: &[Step]) -> Result<(), RunbookError> {
        for (i, s) in steps.iter().enumerate() {
            let mut seen = vec![s.name.as_str()];
            let mut next = s.parallel_with.as_deref();
            while let Some(n) = next {
                if seen.contains(&n) {
                    seen.push(n);
                    return Err(self.fail(
                        &["step".into(), i.into(), "parallel_with".into()],
                        format!("`parallel_with` makes a cycle: {}", seen.join(" → ")),
                    ));
                }
                seen.push(n);
                next = steps
                    .iter()
                    .find(|o| o.name == n)
                    .and_then(|o| o.parallel_with.as_deref());
            }
        }
        Ok(())
    }
}

impl Runbook {
    /// The steps in the order they start: groups of steps that start together (a step and those
    /// `parallel_with` it, directly or through a chain), each group where its first member stands.
    pub fn groups(&self) -> Vec<Vec<usize>> {
        let root = |mut i: usize| {
            while let Some(p) = &self.steps[i].parallel_with {
                match self.steps.iter().position(|s| &s.name == p) {
                    Some(j) => i = j,
                    None => break,
                }
            }
            i
        };
        let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
        for i in 0..self.steps.len() {
            let r = root(i);
            match groups.iter_mut().find(|(root, _)| *root == r) {
                Some((_, members)) => members.push(i),
                None => groups.push((r, vec![i])),
            }
        }
        groups.into_iter().map(|(_, m)| m).collect()
    }

    /// The overrides every act step expects, "step: rule".
    pub fn overrides(&self) -> Vec<(String, String)> {
        self.steps
            .iter()
            .flat_map(|s| s.overrides.iter().map(|r| (s.name.clone(), r.clone())))
            .collect()
    }
}
