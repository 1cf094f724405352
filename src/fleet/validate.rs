//! Every number and name of a fleet file checked before anything uses it: finite, in range,
//! non-zero where zero means nothing, unique where identity matters, AWS region names that exist.
//! Each rejection names file:line:column and says what is wrong in words.

use super::spans::{Spans, Step};
use super::{diagnose, Fleet, FleetError, Role};
use std::collections::HashMap;
use std::path::Path;

mod routing;
mod slo;

/// The AWS regions opsdeck knows (commercial, GovCloud, China). A fleet naming another is a typo.
pub const AWS_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// Smallest intervals, seconds, unless `[refresh] allow_fast = true` (emulators, tests): GetMetricData
/// is billed per metric, Cost Explorer per call.
const MIN_METRICS_S: u64 = 10;
const MIN_COST_S: u64 = 300;
const DAY_S: u64 = 86_400;

struct Check<'a> {
    text: &'a str,
    path: &'a Path,
    spans: Spans,
}

impl Check<'_> {
    fn fail(&self, at: &[Step], message: String) -> FleetError {
        let (line, column) = diagnose::line_col(self.text, self.spans.offset(at));
        FleetError::Invalid {
            path: self.path.to_path_buf(),
            line,
            column,
            message,
        }
    }

    /// `value` finite and within `lo..=hi` (or `lo < value` when `lo_open`).
    fn number(
        &self,
        at: &[Step],
        name: &str,
        value: f64,
        lo: f64,
        lo_open: bool,
        hi: f64,
    ) -> Result<(), FleetError> {
        let low_ok = if lo_open { value > lo } else { value >= lo };
        if !value.is_finite() {
            return Err(self.fail(at, format!("`{name}` = {value} is not a finite number")));
        }
        if !low_ok || value > hi {
            let range = if lo_open {
                format!("greater than {lo} and at most {hi}")
            } else {
                format!("between {lo} and {hi}")
            };
            return Err(self.fail(at, format!("`{name}` = {value} must be {range}")));
        }
        Ok(())
    }

    fn whole(
        &self,
        at: &[Step],
        name: &str,
        value: u64,
        lo: u64,
        hi: u64,
        why: &str,
    ) -> Result<(), FleetError> {
        if value < lo || value > hi {
            return Err(self.fail(
                at,
                format!("`{name}` = {value} must be between {lo} and {hi}{why}"),
            ));
        }
        Ok(())
    }

    fn not_empty(&self, at: &[Step], name: &str, value: &str) -> Result<(), FleetError> {
        if value.trim().is_empty() {
            return Err(self.fail(
                at,
                format!("`{name}` is empty: leave the key out or give a value"),
            ));
        }
        if super::text::is_hostile_text(value) {
            return Err(self.fail(at, format!("`{name}` holds control characters")));
        }
        Ok(())
    }
}

pub fn validate(fleet: &Fleet, text: &str, path: &Path) -> Result<(), FleetError> {
    let c = Check {
        text,
        path,
        spans: Spans::of(text),
    };
    if fleet.name.trim().is_empty() {
        return Err(c.fail(&["name".into()], "fleet `name` is empty".into()));
    }
    if fleet.regions.is_empty() {
        return Err(c.fail(
            &[],
            "no `[[region]]` tables: a fleet needs at least one region".into(),
        ));
    }
    settings(&c, fleet)?;
    regions(&c, fleet)?;
    routing::check(&c, fleet)?;
    failover(&c, fleet)?;
    slo::check(&c, fleet)?;
    shared(&c, fleet)
}

/// `[shared]`: a known region, a valid table name and log group name.
fn shared(c: &Check, fleet: &Fleet) -> Result<(), FleetError> {
    let Some(s) = &fleet.shared else {
        return Ok(());
    };
    let at = |k: &'static str| [Step::Key("shared"), Step::Key(k)];
    if !AWS_REGIONS.contains(&s.region.as_str()) {
        return Err(c.fail(
            &at("region"),
            format!(
                "`shared.region` = `{}` is not an AWS region opsdeck knows",
                super::text::clean(&s.region)
            ),
        ));
    }
    let problems = [
        (
            "lock_table",
            super::shared::table_name_problem(&s.lock_table),
        ),
        (
            "audit_log_group",
            super::shared::log_group_problem(&s.audit_log_group),
        ),
    ];
    for (key, problem) in problems {
        if let Some(p) = problem {
            return Err(c.fail(
                &at(key),
                format!("`shared.{key}`: {}", super::text::clean(&p)),
            ));
        }
    }
    Ok(())
}

/// `[failover] order`: each name a region of the fleet, once, with a replica (`rds`, secondary).
fn failover(c: &Check, fleet: &Fleet) -> Result<(), FleetError> {
    for (i, name) in fleet.failover.order.iter().enumerate() {
        let at = [Step::Key("failover"), Step::Key("order"), Step::Index(i)];
        let Some(r) = fleet.region(name) else {
            let names: Vec<&str> = fleet.regions.iter().map(|r| r.name.as_str()).collect();
            return Err(c.fail(
                &at,
                format!(
                    "failover order names `{}`, which is not a region of this fleet (regions: {})",
                    super::text::clean(name),
                    names.join(", ")
                ),
            ));
        };
        if fleet.failover.order[..i].contains(name) {
            return Err(c.fail(&at, format!("failover order names `{name}` twice")));
        }
        if r.role == Role::Primary {
            return Err(c.fail(
                &at,
                format!("failover order names `{name}`, the primary: only a replica region can take over"),
            ));
        }
        if r.rds.is_none() {
            return Err(c.fail(
                &at,
                format!("failover order names `{name}`, which has no replica (`rds`) to promote"),
            ));
        }
    }
    Ok(())
}

/// Range of each threshold key: (name, low, low excluded, high).
const THRESHOLD_RANGES: &[(&str, f64, bool, f64)] = &[
    ("latency_ms", 0.0, true, 600_000.0),
    ("error_rate", 0.0, false, 1.0),
    ("replica_lag_s", 0.0, true, 86_400.0),
    ("cache_hit_ratio_min", 0.0, false, 1.0),
    ("cdn_hit_ratio_min", 0.0, false, 1.0),
];

/// Each threshold key that has a value, checked at `at` + key; `name` prefixes the key in words.
fn thresholds(
    c: &Check,
    at: &[Step],
    name: &str,
    values: &[(&str, Option<f64>)],
) -> Result<(), FleetError> {
    for (key, value) in values {
        let Some(v) = value else { continue };
        let &(_, lo, lo_open, hi) = THRESHOLD_RANGES
            .iter()
            .find(|r| r.0 == *key)
            .expect("every threshold key has a range");
        let mut path = at.to_vec();
        path.push(Step::Key(key));
        c.number(&path, &format!("{name}.{key}"), *v, lo, lo_open, hi)?;
    }
    Ok(())
}

fn settings(c: &Check, fleet: &Fleet) -> Result<(), FleetError> {
    let t = &fleet.thresholds;
    thresholds(
        c,
        &["thresholds".into()],
        "thresholds",
        &[
            ("latency_ms", Some(t.latency_ms)),
            ("error_rate", Some(t.error_rate)),
            ("replica_lag_s", Some(t.replica_lag_s)),
            ("cache_hit_ratio_min", Some(t.cache_hit_ratio_min)),
            ("cdn_hit_ratio_min", Some(t.cdn_hit_ratio_min)),
        ],
    )?;
    if let Some(cdn) = &fleet.cdn {
        super::cdn::validate_config(cdn)
            .map_err(|m| c.fail(&["cdn".into(), "cloudfront".into()], m))?;
    }
    let cap = &fleet.capacity;
    let ca = |k: &'static str| ["capacity".into(), Step::Key(k)];
    c.number(
        &ca("rps_per_task"),
        "capacity.rps_per_task",
        cap.rps_per_task,
        0.0,
        true,
        1e7,
    )?;
    c.number(
        &ca("rps_per_node"),
        "capacity.rps_per_node",
        cap.rps_per_node,
        0.0,
        true,
        1e7,
    )?;
    c.number(
        &ca("rpo_budget_s"),
        "capacity.rpo_budget_s",
        cap.rpo_budget_s,
        0.0,
        false,
        86_400.0,
    )?;
    c.number(
        &ca("rto_budget_s"),
        "capacity.rto_budget_s",
        cap.rto_budget_s,
        0.0,
        true,
        86_400.0,
    )?;
    let m = &fleet.metrics;
    if m.latency_stats.is_empty() {
        return Err(c.fail(
            &["metrics".into(), "latency_stats".into()],
            "`metrics.latency_stats` is empty".into(),
        ));
    }
    for (i, stat) in m.latency_stats.iter().enumerate() {
        c.not_empty(
            &["metrics".into(), "latency_stats".into(), i.into()],
            "metrics.latency_stats",
            stat,
        )?;
    }
    let p = m.period_s;
    if !(matches!(p, 1 | 5 | 10 | 30) || (p >= 60 && p.is_multiple_of(60) && p <= DAY_S as u32)) {
        return Err(c.fail(
            &["metrics".into(), "period_s".into()],
            format!("`metrics.period_s` = {p}: CloudWatch periods are 1, 5, 10, 30 or a multiple of 60 up to {DAY_S}"),
        ));
    }
    let r = &fleet.refresh;
    let re = |k: &'static str| ["refresh".into(), Step::Key(k)];
    let (min_metrics, min_cost, why) = if r.allow_fast {
        (1, 1, "")
    } else {
        (
            MIN_METRICS_S,
            MIN_COST_S,
            " (set `allow_fast = true` in [refresh] for an emulator)",
        )
    };
    c.whole(
        &re("metrics_s"),
        "refresh.metrics_s",
        r.metrics_s,
        min_metrics,
        DAY_S,
        why,
    )?;
    c.whole(&re("ecs_s"), "refresh.ecs_s", r.ecs_s, 1, DAY_S, "")?;
    c.whole(
        &re("topology_s"),
        "refresh.topology_s",
        r.topology_s,
        1,
        DAY_S,
        "",
    )?;
    c.whole(
        &re("route53_s"),
        "refresh.route53_s",
        r.route53_s,
        1,
        DAY_S,
        "",
    )?;
    c.whole(
        &re("cost_s"),
        "refresh.cost_s",
        r.cost_s,
        min_cost,
        7 * DAY_S,
        why,
    )?;
    c.whole(&re("probe_s"), "refresh.probe_s", r.probe_s, 1, DAY_S, "")?;
    c.whole(
        &re("timeout_s"),
        "refresh.timeout_s",
        r.timeout_s,
        1,
        300,
        ": 0 would fail every call",
    )?;
    c.whole(
        &["guards".into(), "cooldown_s".into()],
        "guards.cooldown_s",
        fleet.guards.cooldown_s,
        0,
        DAY_S,
        "",
    )?;
    c.whole(
        &["guards".into(), "approval_expiry_s".into()],
        "guards.approval_expiry_s",
        fleet.guards.approval_expiry_s,
        1,
        DAY_S,
        "",
    )?;
    for (i, op) in fleet.guards.approval_required.iter().enumerate() {
        if !super::APPROVABLE.contains(&op.as_str()) {
            return Err(c.fail(
                &[
                    Step::Key("guards"),
                    Step::Key("approval_required"),
                    Step::Index(i),
                ],
                format!(
                    "`guards.approval_required` names `{}`: not an operation (one of {})",
                    super::text::clean(op),
                    super::APPROVABLE.join(", ")
                ),
            ));
        }
    }
    let pr = &fleet.probe;
    c.whole(
        &["probe".into(), "max_body_bytes".into()],
        "probe.max_body_bytes",
        pr.max_body_bytes,
        1,
        64 << 20,
        "",
    )?;
    c.number(
        &["probe".into(), "deadline_s".into()],
        "probe.deadline_s",
        pr.deadline_s,
        0.0,
        true,
        300.0,
    )
}

fn regions(c: &Check, fleet: &Fleet) -> Result<(), FleetError> {
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut set_ids: HashMap<(&str, &str, &str), usize> = HashMap::new();
    for (i, r) in fleet.regions.iter().enumerate() {
        let at = |k: &'static str| [Step::Key("region"), Step::Index(i), Step::Key(k)];
        if r.name.trim().is_empty() {
            return Err(c.fail(&at("name"), "a region has an empty `name`".into()));
        }
        if !AWS_REGIONS.contains(&r.name.as_str()) {
            return Err(c.fail(
                &at("name"),
                format!(
                    "`{}` is not an AWS region; known regions: {}",
                    super::text::clean(&r.name),
                    AWS_REGIONS.join(", ")
                ),
            ));
        }
        if let Some(first) = names.insert(&r.name, i) {
            let _ = first;
            return Err(c.fail(&at("name"), format!("region `{}` is listed twice", r.name)));
        }
        for (key, value) in [("alb", &r.alb), ("rds", &r.rds), ("cache", &r.cache)] {
            if let Some(v) = value {
                c.not_empty(&at(key), &format!("region {}: {key}", r.name), v)?;
            }
        }
        for (j, e) in r.ecs.iter().enumerate() {
            let ecs = |k: &'static str| {
                [
                    Step::Key("region"),
                    Step::Index(i),
                    Step::Key("ecs"),
                    Step::Index(j),
                    Step::Key(k),
                ]
            };
            c.not_empty(
                &ecs("cluster"),
                &format!("region {}: ecs cluster", r.name),
                &e.cluster,
            )?;
            c.not_empty(
                &ecs("service"),
                &format!("region {}: ecs service", r.name),
                &e.service,
            )?;
        }
        eks(c, i, r)?;
        if let Some(url) = &r.health_url {
            if !(url.starts_with("http://") || url.starts_with("https://"))
                || super::text::is_hostile_text(url)
            {
                return Err(c.fail(
                    &at("health_url"),
                    format!(
                        "region `{}`: health_url `{}` must be an http:// or https:// URL",
                        r.name,
                        super::text::clean(url)
                    ),
                ));
            }
        }
        if let Some(rr) = &r.route53 {
            let r53 = |k: &'static str| {
                [
                    Step::Key("region"),
                    Step::Index(i),
                    Step::Key("route53"),
                    Step::Key(k),
                ]
            };
            c.not_empty(
                &r53("zone_id"),
                &format!("region {}: route53.zone_id", r.name),
                &rr.zone_id,
            )?;
            c.not_empty(
                &r53("record"),
                &format!("region {}: route53.record", r.name),
                &rr.record,
            )?;
            c.not_empty(
                &r53("set_identifier"),
                &format!("region {}: route53.set_identifier", r.name),
                &rr.set_identifier,
            )?;
            if let Some(h) = &rr.health_check_id {
                c.not_empty(
                    &r53("health_check_id"),
                    &format!("region {}: route53.health_check_id", r.name),
                    h,
                )?;
            }
            if !matches!(rr.record_type.as_str(), "A" | "AAAA" | "CNAME") {
                return Err(c.fail(
                    &r53("type"),
                    format!(
                        "region `{}`: route53 type `{}` is not A, AAAA or CNAME",
                        r.name,
                        super::text::clean(&rr.record_type)
                    ),
                ));
            }
            let key = (
                rr.zone_id.as_str(),
                rr.record.as_str(),
                rr.set_identifier.as_str(),
            );
            if let Some(first) = set_ids.insert(key, i) {
                return Err(c.fail(
                    &r53("set_identifier"),
                    format!(
                        "region `{}`: route53 set_identifier `{}` is already used by region `{}` for the same record",
                        r.name, rr.set_identifier, fleet.regions[first].name
                    ),
                ));
            }
        }
        let o = &r.thresholds;
        thresholds(
            c,
            &[Step::Key("region"), Step::Index(i), Step::Key("thresholds")],
            &format!("region {}: thresholds", r.name),
            &[
                ("latency_ms", o.latency_ms),
                ("error_rate", o.error_rate),
                ("replica_lag_s", o.replica_lag_s),
                ("cache_hit_ratio_min", o.cache_hit_ratio_min),
            ],
        )?;
        sim(c, i, r)?;
    }
    let primaries: Vec<usize> = (0..fleet.regions.len())
        .filter(|&i| fleet.regions[i].role == Role::Primary)
        .collect();
    match primaries.as_slice() {
        [] => Err(c.fail(
            &["region".into(), 0.into(), "role".into()],
            "no region has `role = \"primary\"`".into(),
        )),
        [_] => Ok(()),
        [_, second, ..] => Err(c.fail(
            &["region".into(), (*second).into(), "role".into()],
            "more than one region has `role = \"primary\"`".into(),
        )),
    }
}

/// `eks = [{ cluster, nodegroup, namespace, service }]`: every name given and of the form AWS and
/// Kubernetes accept, each node group listed once.
fn eks(c: &Check, i: usize, r: &super::RegionSpec) -> Result<(), FleetError> {
    let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
    for (j, e) in r.eks.iter().enumerate() {
        let at = |k: &'static str| {
            [
                Step::Key("region"),
                Step::Index(i),
                Step::Key("eks"),
                Step::Index(j),
                Step::Key(k),
            ]
        };
        for (key, value, max) in [
            ("cluster", &e.cluster, 100),
            ("nodegroup", &e.nodegroup, 63),
            ("namespace", &e.namespace, 63),
            ("service", &e.service, 63),
        ] {
            let name = format!("region {}: eks {key}", r.name);
            c.not_empty(&at(key), &name, value)?;
            let ok_chars = value
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_' || ch == '.');
            let first_ok = value
                .chars()
                .next()
                .is_some_and(|ch| ch.is_ascii_alphanumeric());
            if !ok_chars || !first_ok || value.len() > max {
                return Err(c.fail(
                    &at(key),
                    format!(
                        "`{name}` = `{}` must be 1 to {max} letters, digits, `-`, `_` or `.`, starting with a letter or digit",
                        super::text::clean(value)
                    ),
                ));
            }
        }
        if let Some(first) = seen.insert((&e.cluster, &e.nodegroup), j) {
            let _ = first;
            return Err(c.fail(
                &at("nodegroup"),
                format!(
                    "region `{}`: eks node group {}/{} is listed twice",
                    r.name, e.cluster, e.nodegroup
                ),
            ));
        }
    }
    Ok(())
}

fn sim(c: &Check, i: usize, r: &super::RegionSpec) -> Result<(), FleetError> {
    let s = &r.sim;
    let at = |k: &'static str| {
        [
            Step::Key("region"),
            Step::Index(i),
            Step::Key("sim"),
            Step::Key(k),
        ]
    };
    let name = |k: &str| format!("region {}: sim.{k}", r.name);
    if let Some(v) = s.peak_rps {
        c.number(&at("peak_rps"), &name("peak_rps"), v, 0.0, false, 1e7)?;
    }
    if let Some(v) = s.utc_offset_h {
        c.number(
            &at("utc_offset_h"),
            &name("utc_offset_h"),
            v,
            -12.0,
            false,
            14.0,
        )?;
    }
    if let Some(v) = s.monthly_cost_usd {
        c.number(
            &at("monthly_cost_usd"),
            &name("monthly_cost_usd"),
            v,
            0.0,
            false,
            1e9,
        )?;
    }
    if let Some(v) = s.link_ms {
        c.number(&at("link_ms"), &name("link_ms"), v, 0.0, false, 10_000.0)?;
    }
    if let Some(w) = s.weight {
        if !(0..=255).contains(&w) {
            return Err(c.fail(
                &at("weight"),
                format!("`{}` = {w}: Route53 weights are 0 to 255", name("weight")),
            ));
        }
    }
    let min = s.min_tasks.unwrap_or(1);
    for (k, v) in [
        ("tasks", s.tasks),
        ("min_tasks", s.min_tasks),
        ("max_tasks", s.max_tasks),
    ] {
        if let Some(v) = v {
            c.whole(
                &at(k),
                &name(k),
                v.into(),
                1,
                10_000,
                ": a service needs at least one task",
            )?;
        }
    }
    for (k, v) in [
        ("nodes", s.nodes),
        ("min_nodes", s.min_nodes),
        ("max_nodes", s.max_nodes),
        ("pods_per_node", s.pods_per_node),
    ] {
        if let Some(v) = v {
            c.whole(&at(k), &name(k), v.into(), 0, 10_000, "")?;
        }
    }
    let (lo, hi) = (s.min_nodes.unwrap_or(0), s.max_nodes.unwrap_or(10_000));
    if lo > hi {
        return Err(c.fail(
            &at("max_nodes"),
            format!("`{}` = {hi} is below min_nodes = {lo}", name("max_nodes")),
        ));
    }
    if let Some(n) = s.nodes.filter(|n| *n < lo || *n > hi) {
        return Err(c.fail(
            &at("nodes"),
            format!(
                "`{}` = {n} is outside min_nodes..max_nodes = {lo}..{hi}",
                name("nodes")
            ),
        ));
    }
    if let Some(max) = s.max_tasks {
        if max < min {
            return Err(c.fail(
                &at("max_tasks"),
                format!("`{}` = {max} is below min_tasks = {min}", name("max_tasks")),
            ));
        }
    }
    Ok(())
}
