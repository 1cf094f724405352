//! A region's simulation parameters: the fleet file's optional `sim = {...}` table with defaults.

use crate::fleet::{Fleet, RegionSpec, Role};

/// Route53 weight of a region whose fleet file gives none.
pub const DEFAULT_WEIGHT: i64 = 100;
/// Monthly cost of a region's resources when the fleet file gives none (Atlas CRM's figure).
pub const DEFAULT_MONTHLY_COST_USD: f64 = 905.0;
/// Requests/s at the daily peak when the fleet file gives none.
pub const DEFAULT_PEAK_RPS: f64 = 300.0;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RegionParams {
    pub peak_rps: f64,
    pub utc_offset_h: f64,
    pub tasks: i64,
    pub min_tasks: i64,
    pub max_tasks: i64,
    pub weight: i64,
    pub monthly_cost_usd: f64,
    pub link_ms: f64,
    /// Requests/s one unit of compute serves: an ECS task, or a node in an EKS region.
    pub unit_rps: f64,
    /// EKS node groups: nodes at start and their min/max, and pods of the service per node.
    pub nodes: i64,
    pub min_nodes: i64,
    pub max_nodes: i64,
    pub pods_per_node: i64,
}

/// Pods of the service one EKS node runs when the fleet file gives none.
pub const DEFAULT_PODS_PER_NODE: i64 = 4;

impl RegionParams {
    pub fn from_spec(fleet: &Fleet, spec: &RegionSpec) -> Self {
        let sim = &spec.sim;
        let peak_rps = sim
            .peak_rps
            .filter(|v| v.is_finite() && *v >= 0.0)
            .unwrap_or(DEFAULT_PEAK_RPS);
        // Enough tasks (nodes in an EKS region) to serve the peak at ~70 % of capacity.
        let unit_rps = crate::fleet::eks::unit_rps(fleet, spec);
        let sized = (peak_rps / (0.7 * unit_rps)).ceil() as i64;
        let nodes_sized = (peak_rps / (0.7 * fleet.capacity.rps_per_node)).ceil() as i64;
        let nodes = sim
            .nodes
            .map(i64::from)
            .unwrap_or_else(|| nodes_sized.clamp(2, 10));
        let min_nodes = sim.min_nodes.map(i64::from).unwrap_or(1).min(nodes);
        let max_nodes = sim
            .max_nodes
            .map(i64::from)
            .unwrap_or(10)
            .max(nodes)
            .max(min_nodes);
        let tasks = sim
            .tasks
            .map(i64::from)
            .unwrap_or_else(|| sized.clamp(2, 10));
        let min_tasks = sim.min_tasks.map(i64::from).unwrap_or(2).min(tasks);
        let max_tasks = sim
            .max_tasks
            .map(i64::from)
            .unwrap_or(10)
            .max(tasks)
            .max(min_tasks);
        let link_default = if spec.role == Role::Primary {
            2.0
        } else {
            80.0
        };
        RegionParams {
            peak_rps,
            utc_offset_h: sim
                .utc_offset_h
                .unwrap_or_else(|| guess_utc_offset(&spec.name)),
            tasks,
            min_tasks,
            max_tasks,
            weight: sim.weight.unwrap_or(DEFAULT_WEIGHT).max(0),
            monthly_cost_usd: sim
                .monthly_cost_usd
                .unwrap_or(DEFAULT_MONTHLY_COST_USD)
                .max(0.0),
            link_ms: sim.link_ms.unwrap_or(link_default).max(0.0),
            unit_rps,
            nodes,
            min_nodes,
            max_nodes,
            pods_per_node: sim
                .pods_per_node
                .map(i64::from)
                .unwrap_or(DEFAULT_PODS_PER_NODE),
        }
    }
}

/// Hours east of UTC of the users an AWS region usually serves, from its name.
pub fn guess_utc_offset(region: &str) -> f64 {
    const TABLE: [(&str, f64); 12] = [
        ("us-east", -5.0),
        ("us-west", -8.0),
        ("ca-", -5.0),
        ("sa-", -3.0),
        ("eu-", 1.0),
        ("me-", 4.0),
        ("af-", 2.0),
        ("ap-south-", 5.5),
        ("ap-southeast-2", 10.0),
        ("ap-southeast", 8.0),
        ("ap-northeast", 9.0),
        ("ap-east", 8.0),
    ];
    TABLE
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map(|(_, h)| *h)
        .unwrap_or(0.0)
}
