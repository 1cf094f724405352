//! Reading the fleet from AWS for an operation: ECS counts and autoscaling bounds, the RDS
//! topology, replica lag and request rate from CloudWatch, the weighted records and their health.

use super::aws::{sdk_error, AwsTarget};
use super::view::{AliasTarget, DatabaseState, FleetView, RecordState, RegionState, ServiceState};
use super::Bounds;
use crate::fleet::{RegionSpec, Replication, Route53Ref};
use chrono::Utc;

pub async fn read(t: &AwsTarget) -> Result<FleetView, String> {
    let mut regions = Vec::new();
    for spec in &t.fleet.regions {
        regions.push(
            region(t, spec)
                .await
                .map_err(|e| format!("{}: {e}", spec.name))?,
        );
    }
    Ok(FleetView {
        fleet: t.fleet.name.clone(),
        source: "aws".into(),
        read_at: Utc::now(),
        regions,
    })
}

/// Only the region an operation changed: what verification polls, so a poll costs a few calls
/// whatever the fleet's size.
pub async fn read_region(t: &AwsTarget, name: &str) -> Result<FleetView, String> {
    let spec = t
        .fleet
        .region(name)
        .ok_or_else(|| format!("{name} is no longer in the fleet"))?;
    let state = region(t, spec).await.map_err(|e| format!("{name}: {e}"))?;
    Ok(FleetView {
        fleet: t.fleet.name.clone(),
        source: "aws".into(),
        read_at: Utc::now(),
        regions: vec![state],
    })
}

async fn region(t: &AwsTarget, spec: &RegionSpec) -> Result<RegionState, String> {
    let mut services = Vec::new();
    for s in &spec.ecs {
        services.push(service(t, &spec.name, &s.cluster, &s.service).await?);
    }
    let database = match &spec.rds {
        Some(id) => Some(database(t, &spec.name, id).await?),
        None => None,
    };
    let record = match &spec.route53 {
        Some(r) => Some(record(t, r).await?),
        None => None,
    };
    let served_rps = match &spec.alb {
        Some(alb) => latest(
            t,
            &spec.name,
            "AWS/ApplicationELB",
            "RequestCount",
            "LoadBalancer",
            alb,
            "Sum",
        )
        .await
        .map(|sum| sum / 60.0),
        None => None,
    };
    Ok(RegionState {
        name: spec.name.clone(),
        role: spec.role,
        services,
        database,
        record,
        served_rps,
    })
}

async fn service(
    t: &AwsTarget,
    region: &str,
    cluster: &str,
    name: &str,
) -> Result<ServiceState, String> {
    let out = t
        .ecs(region)
        .describe_services()
        .cluster(cluster)
        .services(name)
        .send()
        .await
        .map_err(|e| format!("ECS DescribeServices {cluster}/{name}: {}", sdk_error(e)))?;
    let s = out
        .services()
        .first()
        .ok_or_else(|| format!("ECS service {cluster}/{name} not found"))?;
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    let id = format!("service/{cluster}/{name}");
    let targets = t
        .autoscaling(region)
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_ids(&id)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .send()
        .await
        .map_err(|e| {
            format!(
                "Application Auto Scaling DescribeScalableTargets {id}: {}",
                sdk_error(e)
            )
        })?;
    let bounds = targets
        .scalable_targets()
        .iter()
        .find(|x| x.resource_id() == id)
        .map(|x| Bounds {
            min: x.min_capacity() as i64,
            max: x.max_capacity() as i64,
        });
    Ok(ServiceState {
        cluster: cluster.into(),
        service: name.into(),
        desired: s.desired_count() as i64,
        running: s.running_count() as i64,
        pending: s.pending_count() as i64,
        bounds,
    })
}

async fn database(t: &AwsTarget, region: &str, id: &str) -> Result<DatabaseState, String> {
    let out = t
        .rds(region)
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
        .map_err(|e| format!("RDS DescribeDBInstances {id}: {}", sdk_error(e)))?;
    let db = out
        .db_instances()
        .first()
        .ok_or_else(|| format!("RDS instance {id} not found"))?;
    let status = db.db_instance_status().unwrap_or("unknown").to_string();
    let broken = db.status_infos().iter().find(|s| {
        s.status_type() == Some("read replication")
            && matches!(s.status(), Some("error" | "stopped" | "terminated"))
    });
    let lag = latest(
        t,
        region,
        "AWS/RDS",
        "ReplicaLag",
        "DBInstanceIdentifier",
        id,
        "Maximum",
    )
    .await;
    let source = db
        .read_replica_source_db_instance_identifier()
        .map(str::to_string);
    let replication = match (source, broken) {
        (None, _) => Replication::Primary {
            instance: id.into(),
            status,
        },
        (Some(source), Some(info)) => Replication::Broken {
            instance: id.into(),
            source: Some(source),
            reason: info
                .message()
                .or(info.status())
                .unwrap_or("replication error")
                .to_string(),
        },
        (Some(source), None) if lag.is_some_and(|l| l < 0.0) => Replication::Broken {
            instance: id.into(),
            source: Some(source),
            reason: "ReplicaLag is -1".into(),
        },
        (Some(source), None) => Replication::Replica {
            instance: id.into(),
            source,
            status,
        },
    };
    let lag_s = if matches!(replication, Replication::Replica { .. }) {
        lag
    } else {
        None
    };
    Ok(DatabaseState {
        instance: id.into(),
        replication,
        lag_s,
    })
}

/// The newest datapoint of a metric over the last 10 minutes (60 s periods); None without data.
async fn latest(
    t: &AwsTarget,
    region: &str,
    ns: &str,
    metric: &str,
    dim: &str,
    value: &str,
    stat: &str,
) -> Option<f64> {
    use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
    let now = Utc::now().timestamp();
    let query = MetricDataQuery::builder()
        .id("m")
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace(ns)
                        .metric_name(metric)
                        .dimensions(Dimension::builder().name(dim).value(value).build())
                        .build(),
                )
                .period(60)
                .stat(stat)
                .build(),
        )
        .build();
    let out = t
        .cloudwatch(region)
        .get_metric_data()
        .metric_data_queries(query)
        .start_time(aws_smithy_types::DateTime::from_secs(now - 600))
        .end_time(aws_smithy_types::DateTime::from_secs(now))
        .send()
        .await
        .map_err(|e| tracing::warn!("CloudWatch {metric} in {region}: {}", sdk_error(e)))
        .ok()?;
    let r = out.metric_data_results().first()?;
    r.timestamps()
        .iter()
        .zip(r.values())
        .max_by_key(|(t, _)| t.secs())
        .map(|(_, v)| *v)
}

async fn record(t: &AwsTarget, r: &Route53Ref) -> Result<RecordState, String> {
    use aws_sdk_route53::types::RrType;
    let client = t.route53();
    let want = r.record.trim_end_matches('.').to_ascii_lowercase();
    let mut next: Option<(String, Option<RrType>, Option<String>)> = Some((
        r.record.clone(),
        Some(RrType::from(r.record_type.as_str())),
        None,
    ));
    while let Some((name, rtype, ident)) = next.take() {
        let out = client
            .list_resource_record_sets()
            .hosted_zone_id(&r.zone_id)
            .start_record_name(name)
            .set_start_record_type(rtype)
            .set_start_record_identifier(ident)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "Route53 ListResourceRecordSets {}: {}",
                    r.zone_id,
                    sdk_error(e)
                )
            })?;
        for s in out.resource_record_sets() {
            let same = s.name().trim_end_matches('.').to_ascii_lowercase() == want;
            if same
                && s.set_identifier() == Some(r.set_identifier.as_str())
                && s.r#type().as_str() == r.record_type
            {
                let check = s
                    .health_check_id()
                    .map(str::to_string)
                    .or_else(|| r.health_check_id.clone());
                let healthy = match &check {
                    Some(id) => Some(health(t, id).await?),
                    None => None,
                };
                return Ok(RecordState {
                    zone_id: r.zone_id.clone(),
                    name: s.name().to_string(),
                    record_type: s.r#type().as_str().to_string(),
                    set_identifier: r.set_identifier.clone(),
                    weight: s.weight(),
                    healthy,
                    ttl: s.ttl(),
                    values: s
                        .resource_records()
                        .iter()
                        .map(|v| v.value().to_string())
                        .collect(),
                    alias: s.alias_target().map(|a| AliasTarget {
                        hosted_zone_id: a.hosted_zone_id().into(),
                        dns_name: a.dns_name().into(),
                        evaluate_target_health: a.evaluate_target_health(),
                    }),
                    health_check_id: s.health_check_id().map(str::to_string),
                });
            }
        }
        let past = out
            .resource_record_sets()
            .last()
            .is_some_and(|s| s.name().trim_end_matches('.').to_ascii_lowercase() != want);
        if out.is_truncated() && !past {
            next = out.next_record_name().map(|n| {
                (
                    n.to_string(),
                    out.next_record_type().cloned(),
                    out.next_record_identifier().map(str::to_string),
                )
            });
        }
    }
    Err(format!(
        "Route53 record {} {} [{}] not found in {}",
        r.record, r.record_type, r.set_identifier, r.zone_id
    ))
}

/// A health check is healthy when most Route53 checkers report success.
async fn health(t: &AwsTarget, id: &str) -> Result<bool, String> {
    let out = t
        .route53()
        .get_health_check_status()
        .health_check_id(id)
        .send()
        .await
        .map_err(|e| format!("Route53 GetHealthCheckStatus {id}: {}", sdk_error(e)))?;
    let obs = out.health_check_observations();
    let ok = obs
        .iter()
        .filter(|o| {
            o.status_report()
                .and_then(|s| s.status())
                .is_some_and(|s| s.starts_with("Success"))
        })
        .count();
    Ok(obs.is_empty() || ok * 2 > obs.len())
}
