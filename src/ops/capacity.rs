//! What an operation leaves the serving survivors to carry: the requests/s each would serve once
//! the change is made, against its rated capacity (running tasks × `capacity.rps_per_task`), from
//! the shared load model (`fleet::load`). The `survivor-capacity` guard and the plan's warnings
//! read the same numbers.

use super::view::FleetView;
use super::Op;
use crate::fleet::Fleet;

/// Load added that is smaller than this share of the rated capacity (two percentage points: the
/// trickle a dead region still receives) moves nothing that matters.
pub const MATERIAL_RHO: f64 = 0.02;

fn rho(rps: f64, rated: f64) -> f64 {
    if rated > 0.0 {
        rps.max(0.0) / rated
    } else if rps > 0.0 {
        f64::INFINITY
    } else {
        0.0
    }
}

/// One serving region after the change.
#[derive(Debug, Clone, PartialEq)]
pub struct SurvivorLoad {
    pub region: String,
    /// Requests/s it would serve.
    pub rps: f64,
    /// Tasks that would be running (no new task starts in the instant of the change).
    pub tasks: i64,
    /// tasks × rps_per_task.
    pub rated_rps: f64,
    /// Requests/s and rated capacity before the change: what it carries already.
    pub rps_before: f64,
    pub rated_before: f64,
}

impl SurvivorLoad {
    /// ρ: requests over rated capacity; infinite with requests and no running task.
    pub fn utilisation(&self) -> f64 {
        rho(self.rps, self.rated_rps)
    }

    /// ρ before the change.
    pub fn utilisation_before(&self) -> f64 {
        rho(self.rps_before, self.rated_before)
    }

    /// The change puts the region over its rated capacity: over 100 % afterwards, and by the
    /// change's doing (it adds load or takes tasks away). A region already over and left as it
    /// is — the drain of a dead or drained region moves nothing — is not the change's doing.
    pub fn pushed_over(&self) -> bool {
        if self.utilisation() <= 1.0 {
            return false;
        }
        let rated = self.rated_rps.max(self.rated_before);
        let material = if rated > 0.0 {
            MATERIAL_RHO * rated
        } else {
            0.5
        };
        self.rated_rps < self.rated_before || self.rps - self.rps_before > material
    }

    /// "eu-west-1 would run at 151 % of its rated capacity (453 req/s on 2 tasks, 300 rated)".
    pub fn describe(&self) -> String {
        let rho = self.utilisation();
        if rho.is_infinite() {
            return format!(
                "{} would take {:.0} req/s with no running task",
                self.region, self.rps
            );
        }
        format!(
            "{} would run at {} of its rated capacity ({:.0} req/s on {} task{}, {:.0} rated)",
            self.region,
            percent(rho),
            self.rps,
            self.tasks,
            if self.tasks == 1 { "" } else { "s" },
            self.rated_rps
        )
    }
}

/// The serving regions whose load `op` changes, as they would be right after it: a drain moves the
/// region's requests to the serving survivors by weight; a scale-down leaves the region its
/// requests on fewer tasks. Other operations take capacity from no one (empty).
pub fn survivors_after(view: &FleetView, op: &Op, fleet: &Fleet) -> Vec<SurvivorLoad> {
    match op {
        Op::Drain { region } => view
            .route_without(region, fleet)
            .0
            .into_iter()
            .filter_map(|(name, rps)| {
                let r = view
                    .region(&name)
                    .filter(|r| r.name != *region && r.serving())?;
                // Without a running task there is no rated capacity to weigh (no ECS service,
                // tasks starting, or an ECS that reports none — moto's): a region that serves
                // with none is left to its health check and the health rules.
                let tasks = r.running_tasks();
                if tasks <= 0 {
                    return None;
                }
                let per_task = r.unit_rps(fleet);
                Some(SurvivorLoad {
                    region: name,
                    rps,
                    tasks,
                    rated_rps: tasks as f64 * per_task,
                    rps_before: r.served_rps.unwrap_or(0.0),
                    rated_before: tasks as f64 * per_task,
                })
            })
            .collect(),
        Op::Scale {
            region,
            cluster,
            service,
            desired,
            ..
        } => {
            let Some(r) = view.region(region).filter(|r| r.serving()) else {
                return Vec::new();
            };
            let Some(s) = r.service(&format!("{cluster}/{service}")) else {
                return Vec::new();
            };
            if *desired >= s.desired {
                return Vec::new();
            }
            // The other services of the region keep their tasks; the scaled one keeps at most
            // `desired` running.
            let tasks = r.running_tasks() - s.running + s.running.min(*desired);
            let rps = r.served_rps.unwrap_or(0.0);
            let per_task = r.unit_rps(fleet);
            vec![SurvivorLoad {
                region: r.name.clone(),
                rps,
                tasks,
                rated_rps: tasks as f64 * per_task,
                rps_before: rps,
                rated_before: r.running_tasks() as f64 * per_task,
            }]
        }
        Op::ScaleNodegroup {
            region,
            cluster,
            nodegroup,
            desired,
            ..
        } => {
            let Some(r) = view.region(region).filter(|r| r.serving() && r.is_eks()) else {
                return Vec::new();
            };
            let Some(g) = r
                .nodegroups
                .iter()
                .find(|g| &g.cluster == cluster && &g.nodegroup == nodegroup)
            else {
                return Vec::new();
            };
            if *desired >= g.desired {
                return Vec::new();
            }
            let before = r.running_tasks();
            let nodes = before - g.desired + desired;
            let rps = r.served_rps.unwrap_or(0.0);
            let per_node = fleet.capacity.rps_per_node;
            vec![SurvivorLoad {
                region: r.name.clone(),
                rps,
                tasks: nodes,
                rated_rps: nodes as f64 * per_node,
                rps_before: rps,
                rated_before: before as f64 * per_node,
            }]
        }
        Op::Restore { .. } | Op::Promote { .. } | Op::SharedInit { .. } => Vec::new(),
    }
}

/// How the operator finds the tasks to add: the what-if, in the console and on the command line.
pub fn what_if_hint(failed: &str) -> String {
    format!("`w` on {failed} in the console, or `opsdeck simulate --fail {failed}`, gives the tasks to add")
}

/// "151 %"; one decimal where rounding would hide which side of 100 % it is ("100.3 %").
pub fn percent(rho: f64) -> String {
    let p = rho * 100.0;
    if (p.round() - 100.0).abs() < 0.5 && (p - 100.0).abs() > 1e-9 {
        format!("{p:.1} %")
    } else {
        format!("{p:.0} %")
    }
}
