//! EKS: a region's managed node groups (`eks = [{ cluster, nodegroup, namespace, service }]`), what
//! a source reads of them, and the capacity their nodes give.

use serde::{Deserialize, Serialize};

/// One managed node group of a region and the Kubernetes service it runs (contract keys).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(deny_unknown_fields)]
pub struct EksRef {
    pub cluster: String,
    pub nodegroup: String,
    /// The Kubernetes namespace and service whose running pods Container Insights counts.
    pub namespace: String,
    pub service: String,
}

impl EksRef {
    /// `cluster/nodegroup`: how plans, the pane and `--nodegroup` name it.
    pub fn id(&self) -> String {
        format!("{}/{}", self.cluster, self.nodegroup)
    }

    /// `cluster/namespace/service`: the key of its running pods in [`super::MetricValues`].
    pub fn pods_key(&self) -> String {
        format!("{}/{}/{}", self.cluster, self.namespace, self.service)
    }
}

/// A node group as `DescribeNodegroup` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodegroupState {
    pub cluster: String,
    pub nodegroup: String,
    pub desired: i64,
    pub min: i64,
    pub max: i64,
    /// ACTIVE, UPDATING, DEGRADED, CREATE_FAILED, ...
    pub status: String,
    /// The node group's health issues, "CODE: message" each (at most [`MAX_ISSUES`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<String>,
}

/// Health issues kept per node group: an answer may list many; the pane shows a few.
pub const MAX_ISSUES: usize = 8;

impl NodegroupState {
    pub fn id(&self) -> String {
        format!("{}/{}", self.cluster, self.nodegroup)
    }

    /// ACTIVE with no health issue.
    pub fn is_healthy(&self) -> bool {
        self.status == "ACTIVE" && self.issues.is_empty()
    }
}

/// Requests/s a region's node groups serve at the latency target: desired nodes × `rps_per_node`.
pub fn capacity_rps(groups: &[NodegroupState], rps_per_node: f64) -> f64 {
    groups.iter().map(|g| g.desired.max(0) as f64).sum::<f64>() * rps_per_node
}

/// A region whose compute is EKS node groups only: its capacity is counted in nodes.
pub fn is_eks_region(spec: &super::RegionSpec) -> bool {
    spec.ecs.is_empty() && !spec.eks.is_empty()
}

/// Requests/s one unit of the region's compute serves: a node (`rps_per_node`) in an EKS
/// region, an ECS task (`rps_per_task`) elsewhere.
pub fn unit_rps(fleet: &super::Fleet, spec: &super::RegionSpec) -> f64 {
    if is_eks_region(spec) {
        fleet.capacity.rps_per_node
    } else {
        fleet.capacity.rps_per_task
    }
}
