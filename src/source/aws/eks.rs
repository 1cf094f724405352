//! EKS: `DescribeNodegroup` for each node group of the region, all at once; and the Container
//! Insights running-pods queries that go into the region's one `GetMetricData` call.

use super::cw_query::{latest, query_dims, Points};
use super::errors::classify;
use crate::fleet::eks::{EksRef, NodegroupState, MAX_ISSUES};
use crate::fleet::SourceError;
use aws_sdk_cloudwatch::types::MetricDataQuery;
use futures::future::try_join_all;
use std::collections::BTreeMap;

/// Container Insights' namespace and the metric of a service's running pods.
pub const NAMESPACE: &str = "ContainerInsights";
pub const RUNNING_PODS: &str = "service_number_of_running_pods";

/// Query id of the `i`th node group's running pods.
pub fn pods_id(i: usize) -> String {
    format!("pods{i}")
}

/// One query per node group's service: `service_number_of_running_pods` by ClusterName,
/// Namespace and Service (Average over the period).
pub fn queries(groups: &[EksRef], period: i32) -> Vec<MetricDataQuery> {
    groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            query_dims(
                &pods_id(i),
                NAMESPACE,
                RUNNING_PODS,
                &[
                    ("ClusterName", g.cluster.as_str()),
                    ("Namespace", g.namespace.as_str()),
                    ("Service", g.service.as_str()),
                ],
                "Average",
                period,
            )
        })
        .collect()
}

/// Running pods per service (`EksRef::pods_key`) from the call's points: the latest period's, or
/// None when Container Insights has no data (not enabled, or the service is gone) — never 0.
pub fn interpret(
    groups: &[EksRef],
    points: &BTreeMap<String, Points>,
) -> BTreeMap<String, Option<f64>> {
    groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let v = latest(points.get(&pods_id(i))).map(|(_, v)| v.max(0.0).round());
            (g.pods_key(), v)
        })
        .collect()
}

/// Every node group of the region, in fleet-file order; the calls run at once. A node group EKS
/// does not know fails the whole fetch with `NotFound` (the fleet file names something gone).
pub async fn fetch(
    client: &aws_sdk_eks::Client,
    groups: &[EksRef],
) -> Result<Vec<NodegroupState>, SourceError> {
    try_join_all(
        groups
            .iter()
            .map(|g| describe(client, &g.cluster, &g.nodegroup)),
    )
    .await
}

/// One `DescribeNodegroup`.
pub async fn describe(
    client: &aws_sdk_eks::Client,
    cluster: &str,
    nodegroup: &str,
) -> Result<NodegroupState, SourceError> {
    let out = client
        .describe_nodegroup()
        .cluster_name(cluster)
        .nodegroup_name(nodegroup)
        .send()
        .await
        .map_err(|e| classify(&e))?;
    let ng = out.nodegroup().ok_or_else(|| {
        SourceError::NotFound(format!(
            "EKS node group {cluster}/{nodegroup}: empty answer"
        ))
    })?;
    let scaling = ng.scaling_config();
    let size = |v: Option<i32>, what: &str| {
        v.map(i64::from).ok_or_else(|| {
            SourceError::Other(format!(
                "EKS node group {cluster}/{nodegroup}: no {what} in its scaling config"
            ))
        })
    };
    let issues = ng
        .health()
        .map(|h| h.issues())
        .unwrap_or_default()
        .iter()
        .take(MAX_ISSUES)
        .map(|i| {
            let code = i.code().map(|c| c.as_str()).unwrap_or("issue");
            let text: String = i.message().unwrap_or_default().chars().take(200).collect();
            format!("{code}: {text}")
        })
        .collect();
    Ok(NodegroupState {
        cluster: cluster.to_string(),
        nodegroup: nodegroup.to_string(),
        desired: size(scaling.and_then(|s| s.desired_size()), "desiredSize")?,
        min: size(scaling.and_then(|s| s.min_size()), "minSize")?,
        max: size(scaling.and_then(|s| s.max_size()), "maxSize")?,
        status: ng
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "UNKNOWN".into()),
        issues,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(cluster: &str, ng: &str) -> EksRef {
        EksRef {
            cluster: cluster.into(),
            nodegroup: ng.into(),
            namespace: "kaldrix".into(),
            service: "kaldrix-api".into(),
        }
    }

    #[test]
    fn one_pods_query_per_group_and_no_data_is_none_not_zero() {
        let groups = [group("c1", "api"), group("c2", "web")];
        let q = queries(&groups, 60);
        let ids: Vec<&str> = q.iter().filter_map(|q| q.id()).collect();
        assert_eq!(ids, ["pods0", "pods1"]);
        let m = q[1].metric_stat().and_then(|s| s.metric()).unwrap();
        assert_eq!(m.namespace(), Some(NAMESPACE));
        assert_eq!(m.metric_name(), Some(RUNNING_PODS));
        let dims: Vec<(&str, &str)> = m
            .dimensions()
            .iter()
            .map(|d| (d.name().unwrap(), d.value().unwrap()))
            .collect();
        assert_eq!(
            dims,
            [
                ("ClusterName", "c2"),
                ("Namespace", "kaldrix"),
                ("Service", "kaldrix-api")
            ]
        );
        let mut pts = BTreeMap::new();
        pts.insert("pods0".to_string(), Points::from([(60, 5.0), (120, 7.4)]));
        let got = interpret(&groups, &pts);
        assert_eq!(got["c1/kaldrix/kaldrix-api"], Some(7.0));
        assert_eq!(got["c2/kaldrix/kaldrix-api"], None);
    }
}
