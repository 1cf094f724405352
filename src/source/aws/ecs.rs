//! ECS: `DescribeServices` in groups of at most ten services per cluster, all at once.

use super::errors::classify;
use crate::fleet::{EcsCounts, EcsServiceRef, SourceError};
use futures::future::try_join_all;
use std::collections::BTreeMap;

/// The most services one `DescribeServices` call accepts.
pub const SERVICES_PER_CALL: usize = 10;

/// The calls one fetch makes: per cluster, its services in chunks of ≤ 10, in fleet-file order.
pub fn batches(services: &[EcsServiceRef]) -> Vec<(String, Vec<String>)> {
    let mut by_cluster: Vec<(String, Vec<String>)> = Vec::new();
    for s in services {
        match by_cluster.iter_mut().find(|(c, _)| *c == s.cluster) {
            Some((_, names)) if !names.contains(&s.service) => names.push(s.service.clone()),
            Some(_) => {}
            None => by_cluster.push((s.cluster.clone(), vec![s.service.clone()])),
        }
    }
    by_cluster
        .into_iter()
        .flat_map(|(cluster, names)| {
            names
                .chunks(SERVICES_PER_CALL)
                .map(|c| (cluster.clone(), c.to_vec()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Task counts of every service of the region, in fleet-file order; the calls run at once. A service that ECS does not
/// know makes the whole fetch fail with `NotFound` (the fleet file names something that is gone).
pub async fn fetch(
    client: &aws_sdk_ecs::Client,
    services: &[EcsServiceRef],
) -> Result<Vec<EcsCounts>, SourceError> {
    let calls = batches(services)
        .into_iter()
        .map(|(cluster, names)| async move {
            let out = client
                .describe_services()
                .cluster(&cluster)
                .set_services(Some(names))
                .send()
                .await
                .map_err(|e| classify(&e))?;
            Ok::<_, SourceError>((cluster, out))
        });
    let mut found: BTreeMap<(String, String), EcsCounts> = BTreeMap::new();
    let mut missing = Vec::new();
    for (cluster, out) in try_join_all(calls).await? {
        for s in out.services() {
            let name = s.service_name().unwrap_or_default().to_string();
            let counts = EcsCounts {
                cluster: cluster.clone(),
                service: name.clone(),
                desired: i64::from(s.desired_count()),
                running: i64::from(s.running_count()),
                pending: i64::from(s.pending_count()),
            };
            found.insert((cluster.clone(), name), counts);
        }
        for f in out.failures() {
            missing.push(format!(
                "{cluster}/{}: {}",
                f.arn().unwrap_or("?"),
                f.reason().unwrap_or("unknown")
            ));
        }
    }
    if !missing.is_empty() {
        return Err(SourceError::NotFound(format!(
            "ECS services {}",
            missing.join(", ")
        )));
    }
    services
        .iter()
        .map(|s| {
            found
                .get(&(s.cluster.clone(), s.service.clone()))
                .cloned()
                .ok_or_else(|| {
                    SourceError::NotFound(format!(
                        "ECS service {}/{} not in the answer",
                        s.cluster, s.service
                    ))
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_are_grouped_per_cluster_in_tens() {
        let mut services: Vec<EcsServiceRef> = (0..23)
            .map(|i| EcsServiceRef {
                cluster: "a".into(),
                service: format!("s{i}"),
            })
            .collect();
        services.push(EcsServiceRef {
            cluster: "b".into(),
            service: "api".into(),
        });
        services.push(EcsServiceRef {
            cluster: "a".into(),
            service: "s0".into(),
        });
        let b = batches(&services);
        let sizes: Vec<(&str, usize)> = b.iter().map(|(c, n)| (c.as_str(), n.len())).collect();
        assert_eq!(sizes, [("a", 10), ("a", 10), ("a", 3), ("b", 1)]);
    }
}
