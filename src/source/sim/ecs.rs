//! ECS services in the model: tasks take a while to start, die in an outage, and the scheduler
//! replaces what is missing.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A new task is pending for this long (virtual seconds) before it runs: 60 s plus up to 30 s.
pub const START_DELAY_MIN_S: f64 = 60.0;
pub const START_DELAY_SPREAD_S: f64 = 30.0;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ServiceModel {
    pub cluster: String,
    pub service: String,
    pub desired: i64,
    pub running: i64,
    /// Seconds until each pending task runs.
    pub starting: Vec<f64>,
    pub min_tasks: i64,
    pub max_tasks: i64,
    /// False for the stand-in service of a region whose fleet file lists none: it gives the region
    /// capacity but is never reported.
    pub reported: bool,
    /// An EKS managed node group (its "tasks" are nodes), not an ECS service.
    pub node_group: bool,
    /// Shortest start of a new task (a node takes longer than a task).
    pub start_min_s: f64,
}

/// A new EKS node joins the cluster after 120 s plus up to 30 s (instance boot and kubelet).
pub const NODE_START_MIN_S: f64 = 120.0;

impl ServiceModel {
    pub fn new(
        cluster: &str,
        service: &str,
        tasks: i64,
        min_tasks: i64,
        max_tasks: i64,
        reported: bool,
    ) -> Self {
        ServiceModel {
            cluster: cluster.into(),
            service: service.into(),
            desired: tasks,
            running: tasks,
            starting: Vec::new(),
            min_tasks,
            max_tasks,
            reported,
            node_group: false,
            start_min_s: START_DELAY_MIN_S,
        }
    }

    /// An EKS node group of `nodes` nodes within `min..=max`.
    pub fn node_group(cluster: &str, nodegroup: &str, nodes: i64, min: i64, max: i64) -> Self {
        ServiceModel {
            node_group: true,
            start_min_s: NODE_START_MIN_S,
            ..ServiceModel::new(cluster, nodegroup, nodes, min, max, true)
        }
    }

    pub fn pending(&self) -> i64 {
        self.starting.len() as i64
    }

    /// True when `name` is this service's name or "cluster/service".
    pub fn is_named(&self, name: &str) -> bool {
        self.reported
            && !self.node_group
            && (self.service == name || format!("{}/{}", self.cluster, self.service) == name)
    }

    /// Every task dies (region outage); nothing can start until `down` clears.
    pub fn kill_all(&mut self) {
        self.running = 0;
        self.starting.clear();
    }

    /// The scheduler: start tasks that are missing, stop surplus ones (pending first).
    pub fn reconcile(&mut self, rng: &mut ChaCha8Rng) {
        let mut surplus = self.running + self.pending() - self.desired;
        while surplus > 0 && !self.starting.is_empty() {
            // The task that would start last is the one given up.
            let latest = self
                .starting
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, _)| i);
            if let Some(i) = latest {
                self.starting.remove(i);
            }
            surplus -= 1;
        }
        if surplus > 0 {
            self.running -= surplus.min(self.running);
        }
        while self.running + self.pending() < self.desired {
            self.starting
                .push(self.start_min_s + START_DELAY_SPREAD_S * rng.gen::<f64>());
        }
    }

    /// Move time on: pending tasks count down and run; in an outage every task is dead.
    pub fn step(&mut self, dt_s: f64, down: bool, rng: &mut ChaCha8Rng) {
        if down {
            self.kill_all();
            return;
        }
        for t in &mut self.starting {
            *t -= dt_s;
        }
        let started = self.starting.iter().filter(|t| **t <= 0.0).count() as i64;
        self.starting.retain(|t| *t > 0.0);
        self.running += started;
        self.reconcile(rng);
    }
}
