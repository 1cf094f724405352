//! Application Auto Scaling: the min/max capacity of a region's ECS services, one
//! `DescribeScalableTargets` call for up to fifty of them.

use super::errors::classify;
use crate::fleet::{EcsServiceRef, SourceError};
use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use futures::future::try_join_all;
use std::collections::BTreeMap;

/// The most resource ids one `DescribeScalableTargets` call accepts.
pub const IDS_PER_CALL: usize = 50;

/// An ECS service's autoscaling bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScalingBounds {
    pub min: i64,
    pub max: i64,
}

/// `service/CLUSTER/SERVICE`, Application Auto Scaling's name for an ECS service.
pub fn resource_id(cluster: &str, service: &str) -> String {
    format!("service/{cluster}/{service}")
}

/// The bounds of those `services` that autoscaling manages, by (cluster, service); the calls run
/// at once.
pub async fn fetch(
    client: &aws_sdk_applicationautoscaling::Client,
    services: &[EcsServiceRef],
) -> Result<BTreeMap<(String, String), ScalingBounds>, SourceError> {
    let ids: Vec<String> = services
        .iter()
        .map(|s| resource_id(&s.cluster, &s.service))
        .collect();
    let calls = ids.chunks(IDS_PER_CALL).map(|chunk| async move {
        client
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Ecs)
            .set_resource_ids(Some(chunk.to_vec()))
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .send()
            .await
            .map_err(|e| classify(&e))
    });
    let mut out = BTreeMap::new();
    for answer in try_join_all(calls).await? {
        for t in answer.scalable_targets() {
            let Some(s) = services
                .iter()
                .find(|s| resource_id(&s.cluster, &s.service) == t.resource_id())
            else {
                continue;
            };
            out.insert(
                (s.cluster.clone(), s.service.clone()),
                ScalingBounds {
                    min: i64::from(t.min_capacity()),
                    max: i64::from(t.max_capacity()),
                },
            );
        }
    }
    Ok(out)
}
