//! Safety rules. Each has a name, a verdict and a reason; a rule marked overridable can be passed
//! with an explicit, separately confirmed and logged override.

use super::plan::Plan;
use super::view::FleetView;
use super::Op;
use crate::fleet::{Fleet, Replication, SourceKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod health;

pub const READ_ONLY: &str = "read-only";
pub const COOLDOWN: &str = "cooldown";
pub const LAST_SERVING_REGION: &str = "last-serving-region";
pub const ALL_WEIGHTS_ZERO: &str = "all-weights-zero";
/// The latency/geolocation/failover/multivalue form of `all-weights-zero`.
pub const ALL_RECORDS_UNHEALTHY: &str = "all-records-unhealthy";
pub const REPLICA_LAG_OVER_RPO: &str = "replica-lag-over-rpo";
pub const REPLICATION_BROKEN: &str = "replication-broken";
pub const AUTOSCALING_BOUNDS: &str = "autoscaling-bounds";
pub const RESTORE_UNHEALTHY_REGION: &str = "restore-unhealthy-region";
pub const SURVIVOR_CAPACITY: &str = "survivor-capacity";
/// Promoting a replica while a primary still takes writes makes two writers.
pub const PRIMARY_TAKES_WRITES: &str = "primary-takes-writes";
/// Inverting the failing health check of a dead endpoint makes it pass: a drain that sends users.
pub const INVERT_FAILING_CHECK: &str = "invert-failing-check";

/// Every rule and whether it can be overridden.
pub const RULES: [(&str, bool); 12] = [
    (READ_ONLY, false),
    (COOLDOWN, false),
    (LAST_SERVING_REGION, false),
    (ALL_WEIGHTS_ZERO, false),
    (ALL_RECORDS_UNHEALTHY, false),
    (REPLICA_LAG_OVER_RPO, true),
    (REPLICATION_BROKEN, true),
    (AUTOSCALING_BOUNDS, true),
    (RESTORE_UNHEALTHY_REGION, true),
    (SURVIVOR_CAPACITY, true),
    (PRIMARY_TAKES_WRITES, true),
    (INVERT_FAILING_CHECK, false),
];

pub fn is_overridable(rule: &str) -> Option<bool> {
    RULES.iter().find(|(r, _)| *r == rule).map(|(_, o)| *o)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardResult {
    pub rule: String,
    pub passed: bool,
    pub overridable: bool,
    /// Blocked, and passed anyway by a confirmed override.
    #[serde(default)]
    pub overridden: bool,
    pub reason: String,
}

impl GuardResult {
    pub(crate) fn new(rule: &str, passed: bool, reason: String) -> Self {
        let overridable = is_overridable(rule).unwrap_or(false);
        GuardResult {
            rule: rule.into(),
            passed,
            overridable,
            overridden: false,
            reason,
        }
    }

    /// Blocks the operation: failed and not overridden.
    pub fn blocks(&self) -> bool {
        !self.passed && !self.overridden
    }
}

/// Whether operations may run at all: the `read-only` rule's verdict, decided once (in `setup`)
/// from `--read-only`, `--allow-actions` and the fleet file's `[guards]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Operations run (each still through its guards and confirmation).
    Allowed,
    /// The kill switch: `--read-only` or `guards.read_only`.
    ReadOnly,
    /// Against AWS without `--allow-actions` or `guards.allow_actions`.
    ActionsOff,
}

impl Permission {
    /// From the kill switch, the AWS opt-in and where operations act. The simulated fleet needs no
    /// opt-in; the kill switch wins over everything.
    pub fn decide(kind: SourceKind, read_only: bool, allow_actions: bool) -> Permission {
        if read_only {
            Permission::ReadOnly
        } else if kind.is_sim() || allow_actions {
            Permission::Allowed
        } else {
            Permission::ActionsOff
        }
    }

    pub fn allows(self) -> bool {
        self == Permission::Allowed
    }
}

/// What the rules look at.
pub struct GuardInput<'a> {
    pub plan: &'a Plan,
    pub before: &'a FleetView,
    pub fleet: &'a Fleet,
    /// Whether operations may run at all, decided once from the flags and the fleet file.
    pub permission: Permission,
    /// When the plan's resource was last changed (from the audit log).
    pub last_change: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

/// The rules that apply to the plan's operation, in a fixed order.
pub fn evaluate(input: &GuardInput) -> Vec<GuardResult> {
    let mut out = vec![read_only(input), cooldown(input)];
    let op = &input.plan.op;
    match op {
        Op::Drain { .. } => {
            out.push(last_serving(input));
            out.push(all_weights_zero(input));
            if health::inverts_a_check(input.plan) {
                out.push(health::invert_failing_check(input));
            }
            out.push(health::survivor_capacity(input));
        }
        Op::Restore { .. } => {
            out.push(last_serving(input));
            out.push(all_weights_zero(input));
            out.push(health::restore_unhealthy_region(input));
        }
        Op::Scale { .. } => {
            out.push(last_serving(input));
            out.push(autoscaling_bounds(input));
            out.push(health::survivor_capacity(input));
        }
        Op::ScaleNodegroup { .. } => {
            out.push(last_serving(input));
            out.push(health::survivor_capacity(input));
        }
        Op::Promote { .. } => {
            out.push(primary_takes_writes(input));
            out.push(replication_broken(input));
            out.push(replica_lag(input));
        }
        Op::SharedInit { .. } => {}
    }
    out
}

/// Mark the named rules overridden. Refused: an unknown rule, or one that cannot be overridden.
pub fn apply_overrides(guards: &mut [GuardResult], overrides: &[String]) -> Result<(), String> {
    for rule in overrides {
        match is_overridable(rule) {
            None => {
                let names: Vec<&str> = RULES.iter().map(|(r, _)| *r).collect();
                return Err(format!("no rule `{rule}` (rules: {})", names.join(", ")));
            }
            Some(false) => return Err(format!("rule `{rule}` cannot be overridden")),
            Some(true) => {
                for g in guards.iter_mut().filter(|g| &g.rule == rule && !g.passed) {
                    g.overridden = true;
                }
            }
        }
    }
    Ok(())
}

/// The first rule that blocks, if any.
pub fn first_block(guards: &[GuardResult]) -> Option<&GuardResult> {
    guards.iter().find(|g| g.blocks())
}

fn read_only(i: &GuardInput) -> GuardResult {
    permission(i.permission)
}

/// The `read-only` rule's verdict for `permission` (also the one guard of `shared init`).
pub(crate) fn permission(permission: Permission) -> GuardResult {
    match permission {
        Permission::ReadOnly => GuardResult::new(
            READ_ONLY,
            false,
            "read-only: every operation is refused (kill switch on)".into(),
        ),
        Permission::ActionsOff => GuardResult::new(
            READ_ONLY,
            false,
            "operations against real AWS are off: enable them with --allow-actions".into(),
        ),
        Permission::Allowed => GuardResult::new(READ_ONLY, true, "operations enabled".into()),
    }
}

fn cooldown(i: &GuardInput) -> GuardResult {
    let wait = i.fleet.guards.cooldown_s as i64;
    match i.last_change {
        Some(t) if (i.now - t).num_milliseconds() < wait * 1000 => {
            let ago = (i.now - t).num_milliseconds().max(0) as f64 / 1000.0;
            GuardResult::new(
                COOLDOWN,
                false,
                format!(
                    "{} was changed {ago:.0} s ago: wait {:.0} s more (cooldown {wait} s)",
                    i.plan.resource,
                    (wait as f64 - ago).max(0.0).ceil()
                ),
            )
        }
        Some(t) => GuardResult::new(
            COOLDOWN,
            true,
            format!(
                "last change {} s ago (cooldown {wait} s)",
                (i.now - t).num_seconds()
            ),
        ),
        None => GuardResult::new(
            COOLDOWN,
            true,
            format!("no recent change to this resource (cooldown {wait} s)"),
        ),
    }
}

fn last_serving(i: &GuardInput) -> GuardResult {
    let after = i.before.after(&i.plan.op);
    let now: Vec<&str> = i.before.serving();
    let then: Vec<&str> = after.serving();
    if then.is_empty() && !now.is_empty() {
        GuardResult::new(
            LAST_SERVING_REGION,
            false,
            format!(
                "{} would leave no healthy serving region (serving now: {})",
                i.plan.op.summary(),
                now.join(", ")
            ),
        )
    } else {
        let list = if then.is_empty() {
            "none".to_string()
        } else {
            then.join(", ")
        };
        GuardResult::new(
            LAST_SERVING_REGION,
            true,
            format!(
                "serving afterwards: {list} ({} of {})",
                then.len(),
                after.regions.len()
            ),
        )
    }
}

/// Every weighted record of the name at 0 — or, for the other policies, every record of the name
/// unhealthy: Route53 then answers with all of them, drained ones included.
fn all_weights_zero(i: &GuardInput) -> GuardResult {
    let after = i.before.after(&i.plan.op);
    let Some((key, policy)) = after
        .region(&i.plan.region)
        .and_then(|r| r.record.as_ref())
        .map(|r| (r.key(), r.policy))
    else {
        return GuardResult::new(ALL_WEIGHTS_ZERO, true, "no weighted record".into());
    };
    if !policy.is_weighted() {
        let records: Vec<&super::view::RecordState> = after
            .regions
            .iter()
            .filter_map(|r| r.record.as_ref())
            .filter(|r| r.key() == key)
            .collect();
        let answering = records.iter().filter(|r| r.answers()).count();
        return if answering == 0 {
            GuardResult::new(
                ALL_RECORDS_UNHEALTHY,
                false,
                format!(
                    "every {} record of {} would be unhealthy: Route53 then answers with all of them, drained ones included",
                    policy.as_str(),
                    key.1
                ),
            )
        } else {
            GuardResult::new(
                ALL_RECORDS_UNHEALTHY,
                true,
                format!(
                    "{answering} of {} {} records of {} stay healthy",
                    records.len(),
                    policy.as_str(),
                    key.1
                ),
            )
        };
    }
    let weights: Vec<i64> = after
        .regions
        .iter()
        .filter_map(|r| r.record.as_ref())
        .filter(|r| r.key() == key)
        .map(|r| r.weight.unwrap_or(0))
        .collect();
    let above = weights.iter().filter(|w| **w > 0).count();
    if above == 0 {
        GuardResult::new(
            ALL_WEIGHTS_ZERO,
            false,
            format!(
                "every weighted record of {} would be 0: Route53 then answers with all of them, drained ones included",
                key.1
            ),
        )
    } else {
        GuardResult::new(
            ALL_WEIGHTS_ZERO,
            true,
            format!(
                "{above} of {} records of {} keep a weight above 0",
                weights.len(),
                key.1
            ),
        )
    }
}

fn replica_db<'a>(i: &GuardInput<'a>) -> Option<&'a super::view::DatabaseState> {
    i.before
        .region(&i.plan.region)
        .and_then(|r| r.database.as_ref())
}

/// A broken replica blocks unless replication stopped because no primary takes writes and the last
/// lag seen before it stopped is within the RPO budget (that is what the promotion loses).
fn replication_broken(i: &GuardInput) -> GuardResult {
    use super::failover::Rpo;
    let Some(db) = replica_db(i) else {
        return GuardResult::new(REPLICATION_BROKEN, true, "no database".into());
    };
    let Replication::Broken {
        instance, reason, ..
    } = &db.replication
    else {
        return GuardResult::new(REPLICATION_BROKEN, true, "replication is running".into());
    };
    let budget = i.fleet.capacity.rpo_budget_s;
    let seen = |t: DateTime<Utc>| t.format("%H:%M:%S UTC").to_string();
    let region_down = i
        .before
        .region(&i.plan.region)
        .and_then(|r| r.record.as_ref())
        .is_some_and(|r| r.healthy == Some(false));
    if region_down {
        // Its own region is down too: a writer there would take no writes either.
        return GuardResult::new(
            REPLICATION_BROKEN,
            false,
            format!(
                "replication of {instance} stopped ({reason}) and {} fails its Route53 health check: promote a replica in a region that serves (the what-if names it)",
                i.plan.region
            ),
        );
    }
    match super::failover::rpo(i.before, db) {
        Rpo::LastSeen { lag_s, at } if lag_s <= budget => GuardResult::new(
            REPLICATION_BROKEN,
            true,
            format!(
                "replication of {instance} stopped ({reason}) with the primary down: last lag {lag_s:.1} s seen at {}, estimated RPO within the budget {budget:.0} s",
                seen(at)
            ),
        ),
        Rpo::LastSeen { lag_s, at } => GuardResult::new(
            REPLICATION_BROKEN,
            false,
            format!(
                "replication of {instance} stopped ({reason}): last lag {lag_s:.1} s seen at {}, estimated RPO over the budget {budget:.0} s",
                seen(at)
            ),
        ),
        _ => match db.replication.last_lag() {
            Some((lag_s, at)) => GuardResult::new(
                REPLICATION_BROKEN,
                false,
                format!(
                    "replication of {instance} is broken ({reason}) while a primary takes writes: everything written since {} (lag then {lag_s:.1} s) would be lost",
                    seen(at)
                ),
            ),
            None => GuardResult::new(
                REPLICATION_BROKEN,
                false,
                format!(
                    "replication of {instance} is broken ({reason}) and no lag was seen before it stopped: the loss cannot be bounded"
                ),
            ),
        },
    }
}

/// A promotion while another database still takes writes makes a second writer: the applications
/// that reach the old primary go on writing there, and none of it reaches the promoted instance
/// (split brain). It blocks unless overridden — a planned switch that stops writes to the primary
/// first, or a primary whose region is lost although RDS still reports it available.
fn primary_takes_writes(i: &GuardInput) -> GuardResult {
    let writer = i.before.regions.iter().find_map(|r| {
        let d = r.database.as_ref()?;
        match &d.replication {
            Replication::Primary { instance, status } if d.replication.is_writer() => {
                Some((r, instance.as_str(), status.as_str()))
            }
            _ => None,
        }
    });
    let Some((region, instance, status)) = writer else {
        let why = match super::failover::writes(i.before) {
            crate::fleet::failover::Writes::Unknown => "no database in the fleet's view",
            _ => "no primary takes writes",
        };
        return GuardResult::new(PRIMARY_TAKES_WRITES, true, why.into());
    };
    if region.name == i.plan.region {
        return GuardResult::new(
            PRIMARY_TAKES_WRITES,
            true,
            format!("{instance} in {} is the writer already", region.name),
        );
    }
    let health = if region
        .record
        .as_ref()
        .is_some_and(|r| r.healthy == Some(false))
    {
        format!(
            " ({} fails its Route53 health check, but the database still reports {status}: \
             whatever still reaches it is written there)",
            region.name
        )
    } else {
        String::new()
    };
    GuardResult::new(
        PRIMARY_TAKES_WRITES,
        false,
        format!(
            "{instance} in {} is {status} and takes writes{health}: promoting the {} replica makes \
             a second writer, and what is written to {instance} afterwards never reaches it; stop \
             writes to the primary first, or override for a planned switch",
            region.name, i.plan.region
        ),
    )
}

fn replica_lag(i: &GuardInput) -> GuardResult {
    let budget = i.fleet.capacity.rpo_budget_s;
    let Some(db) = replica_db(i) else {
        return GuardResult::new(REPLICA_LAG_OVER_RPO, true, "no database".into());
    };
    match (&db.replication, db.lag_s) {
        (Replication::Broken { .. }, _) => {
            GuardResult::new(REPLICA_LAG_OVER_RPO, true, format!("no lag while broken (see {REPLICATION_BROKEN})"))
        }
        (_, Some(lag)) if lag > budget => GuardResult::new(
            REPLICA_LAG_OVER_RPO,
            false,
            format!("replica lag {lag:.1} s exceeds the RPO budget {budget:.0} s: that much data would be lost"),
        ),
        (_, Some(lag)) => {
            GuardResult::new(REPLICA_LAG_OVER_RPO, true, format!("replica lag {lag:.1} s within the RPO budget {budget:.0} s"))
        }
        (_, None) => GuardResult::new(
            REPLICA_LAG_OVER_RPO,
            false,
            format!("replica lag unknown (no ReplicaLag data): the loss cannot be held to the RPO budget {budget:.0} s"),
        ),
    }
}

fn autoscaling_bounds(i: &GuardInput) -> GuardResult {
    let Op::Scale {
        cluster,
        service,
        desired,
        bounds,
        ..
    } = &i.plan.op
    else {
        return GuardResult::new(AUTOSCALING_BOUNDS, true, "not a scale".into());
    };
    let current = i
        .before
        .region(&i.plan.region)
        .and_then(|r| r.service(&format!("{cluster}/{service}")))
        .and_then(|s| s.bounds);
    match (current, bounds) {
        (None, _) => GuardResult::new(AUTOSCALING_BOUNDS, true, "no autoscaling target manages this service".into()),
        (Some(b), Some(to)) => {
            GuardResult::new(AUTOSCALING_BOUNDS, true, format!("restores the recorded bounds {to} (now {b})"))
        }
        (Some(b), None) if *desired > b.max => GuardResult::new(
            AUTOSCALING_BOUNDS,
            false,
            format!("desired {desired} is above the autoscaling max {}: the plan would raise the max to {desired}", b.max),
        ),
        (Some(b), None) if *desired < b.min => GuardResult::new(
            AUTOSCALING_BOUNDS,
            false,
            format!("desired {desired} is below the autoscaling min {}: the plan would lower the min to {desired}", b.min),
        ),
        (Some(b), None) => GuardResult::new(AUTOSCALING_BOUNDS, true, format!("desired {desired} is within {b}")),
    }
}
