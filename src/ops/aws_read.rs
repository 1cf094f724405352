//! The fleet as an operation sees it, read from AWS through the source's fetchers (the same client
//! set per region, the same typed errors as the console's pollers): only what the operation's plan
//! and guards look at, every call at once. Route53 listings and every region's ECS, Application
//! Auto Scaling, RDS and CloudWatch calls go out together; health checks follow the listings that
//! name them — two round trips deep, whatever the fleet's size.

use super::view::{AliasTarget, DatabaseState, FleetView, RecordState, RegionState, ServiceState};
use super::{Bounds, Op};
use crate::fleet::{Fleet, RegionSpec, Replication, Route53Ref, SourceError, SourceKind};
use crate::source::aws::metrics::{self, MetricsOutcome, Select};
use crate::source::aws::route53::{self, WeightedRecord};
use crate::source::aws::{autoscaling, ecs, eks, rds, FleetClients};
use chrono::Utc;
use futures::future::join_all;

/// Why a read failed: the region, the service, and the source's typed error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{region}: {service}: {error}")]
pub struct ReadError {
    pub region: String,
    pub service: &'static str,
    pub error: SourceError,
}

/// Which regions' autoscaling bounds a read fetches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoundsIn {
    Nowhere,
    Region(String),
    Everywhere,
}

/// What a read fetches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// Only this region (verification); None: every region of the fleet.
    pub only: Option<String>,
    /// The weighted records (a Route53 listing per record name).
    pub records: bool,
    /// The records' health checks.
    pub health: bool,
    /// ECS desired / running / pending counts.
    pub services: bool,
    pub bounds: BoundsIn,
    /// The RDS instances' place in the replication topology.
    pub databases: bool,
    /// Request rate and replica lag from CloudWatch.
    pub metrics: bool,
}

impl Need {
    /// Everything an operation can look at: `Target::read` and the what-if.
    pub fn everything() -> Need {
        Need {
            only: None,
            records: true,
            health: true,
            services: true,
            bounds: BoundsIn::Everywhere,
            databases: true,
            metrics: true,
        }
    }

    /// What `op`'s plan and guards look at. Every region's record, health and ECS counts decide
    /// which regions serve (last-serving-region, all-weights-zero, where drained traffic goes);
    /// request rates and the replicas feed the plan's notes and its "after" lines. Autoscaling
    /// bounds matter only to a scale, and only in its region.
    pub fn plan(op: &Op) -> Need {
        let bounds = match op {
            Op::Scale { region, .. } => BoundsIn::Region(region.clone()),
            Op::ScaleNodegroup { .. }
            | Op::Drain { .. }
            | Op::Restore { .. }
            | Op::Promote { .. }
            | Op::SharedInit { .. } => BoundsIn::Nowhere,
        };
        Need {
            bounds,
            ..Need::everything()
        }
    }

    /// What verification compares after `op` ran: the changed field in its region only.
    pub fn verify(op: &Op) -> Need {
        let nothing = Need {
            only: Some(op.region().to_string()),
            records: false,
            health: false,
            services: false,
            bounds: BoundsIn::Nowhere,
            databases: false,
            metrics: false,
        };
        match op {
            Op::Drain { .. } | Op::Restore { .. } => Need {
                records: true,
                ..nothing
            },
            Op::Scale { region, .. } => Need {
                services: true,
                bounds: BoundsIn::Region(region.clone()),
                ..nothing
            },
            Op::ScaleNodegroup { .. } => Need {
                services: true,
                ..nothing
            },
            Op::Promote { .. } => Need {
                databases: true,
                ..nothing
            },
            Op::SharedInit { .. } => nothing,
        }
    }

    fn bounds_in(&self, region: &str) -> bool {
        match &self.bounds {
            BoundsIn::Nowhere => false,
            BoundsIn::Region(r) => r == region,
            BoundsIn::Everywhere => true,
        }
    }
}

/// Read what `need` asks for. Any failing call fails the read (an operation is not planned on a
/// partial view), except CloudWatch: without metrics the rates and the lag are unknown.
pub async fn read(
    clients: &FleetClients,
    fleet: &Fleet,
    need: &Need,
) -> Result<FleetView, ReadError> {
    let specs: Vec<&RegionSpec> = fleet
        .regions
        .iter()
        .filter(|r| need.only.as_ref().is_none_or(|o| *o == r.name))
        .collect();
    if let (Some(only), true) = (&need.only, specs.is_empty()) {
        return Err(ReadError {
            region: only.clone(),
            service: "fleet",
            error: SourceError::NotFound("the region is no longer in the fleet".into()),
        });
    }
    let refs: Vec<(&str, &Route53Ref)> = specs
        .iter()
        .filter(|_| need.records)
        .filter_map(|s| s.route53.as_ref().map(|r| (s.name.as_str(), r)))
        .collect();
    let (records, regions) = futures::join!(
        route53::records(&clients.global.route53, &refs, need.health),
        join_all(specs.iter().map(|s| region(clients, fleet, s, need)))
    );
    let mut records = refs.iter().map(|(name, _)| *name).zip(records);
    let mut out = Vec::new();
    for (spec, state) in specs.iter().zip(regions) {
        let mut state = state?;
        if let (Some(r), true) = (&spec.route53, need.records) {
            let read = records
                .next()
                .filter(|(name, _)| *name == spec.name)
                .map(|(_, read)| read)
                .unwrap_or_else(|| Err(SourceError::Other("no Route53 answer".into())));
            let read = read.map_err(|error| ReadError {
                region: spec.name.clone(),
                service: "Route53",
                error,
            })?;
            state.record = Some(record_state(r, read));
        }
        out.push(state);
    }
    Ok(FleetView {
        fleet: fleet.name.clone(),
        source: SourceKind::Aws,
        read_at: Utc::now(),
        regions: out,
    })
}

/// One region's ECS, autoscaling, RDS and CloudWatch calls, at once.
async fn region(
    clients: &FleetClients,
    fleet: &Fleet,
    spec: &RegionSpec,
    need: &Need,
) -> Result<RegionState, ReadError> {
    let failed = |service: &'static str| {
        move |error: SourceError| ReadError {
            region: spec.name.clone(),
            service,
            error,
        }
    };
    let c = clients.region(&spec.name).ok_or_else(|| {
        failed("fleet")(SourceError::Other("no AWS clients for this region".into()))
    })?;
    let services = async {
        match need.services && !spec.ecs.is_empty() {
            true => ecs::fetch(&c.ecs, &spec.ecs).await.map(Some),
            false => Ok(None),
        }
    };
    let bounds = async {
        match need.bounds_in(&spec.name) && !spec.ecs.is_empty() {
            true => autoscaling::fetch(&c.autoscaling, &spec.ecs).await,
            false => Ok(Default::default()),
        }
    };
    let database = async {
        match (&spec.rds, need.databases) {
            (Some(id), true) => rds::fetch(&c.rds, id).await.map(Some),
            _ => Ok(None),
        }
    };
    let metrics = async {
        if !need.metrics {
            return MetricsOutcome::default();
        }
        metrics::fetch_of(
            &c.cloudwatch,
            spec,
            &fleet.metrics,
            Select::OPERATION,
            Utc::now(),
        )
        .await
        .unwrap_or_else(|e| {
            tracing::warn!("CloudWatch in {}: {e}", spec.name);
            MetricsOutcome::default()
        })
    };
    let nodegroups = async {
        match need.services && !spec.eks.is_empty() {
            true => eks::fetch(&c.eks, &spec.eks).await,
            false => Ok(Vec::new()),
        }
    };
    let (services, nodegroups, bounds, database, metrics) =
        futures::join!(services, nodegroups, bounds, database, metrics);
    let nodegroups = nodegroups.map_err(failed("EKS"))?;
    let bounds = bounds.map_err(failed("Application Auto Scaling"))?;
    let services = services
        .map_err(failed("ECS"))?
        .unwrap_or_default()
        .into_iter()
        .map(|s| ServiceState {
            bounds: bounds
                .get(&(s.cluster.clone(), s.service.clone()))
                .map(|b| Bounds {
                    min: b.min,
                    max: b.max,
                }),
            cluster: s.cluster,
            service: s.service,
            desired: s.desired,
            running: s.running,
            pending: s.pending,
        })
        .collect();
    let database = database
        .map_err(failed("RDS"))?
        .map(|raw| database_state(spec, raw, &metrics));
    Ok(RegionState {
        name: spec.name.clone(),
        role: spec.role,
        services,
        nodegroups,
        database,
        record: None,
        served_rps: spec
            .alb
            .as_ref()
            .and(metrics.values.requests_per_s)
            .filter(|_| need.metrics),
        probe: None,
    })
}

fn database_state(spec: &RegionSpec, raw: Replication, m: &MetricsOutcome) -> DatabaseState {
    // The last lag seen before replication stopped comes from the same GetMetricData window:
    // the pipeline has no history of its own, and a promotion's RPO needs it.
    let replication = rds::with_lag_signal(raw, m.replication_stopped).with_last_lag(m.last_lag);
    let lag_s = match replication {
        Replication::Replica { .. } => m.values.replica_lag_s,
        _ => None,
    };
    DatabaseState {
        instance: spec.rds.clone().unwrap_or_default(),
        replication,
        lag_s,
    }
}

fn record_state(r: &Route53Ref, read: WeightedRecord) -> RecordState {
    let s = read.set;
    let (policy, location, failover) = route53::routing_of(&s);
    RecordState {
        policy: policy.unwrap_or(r.policy),
        location,
        failover,
        health_check_inverted: read.inverted,
        zone_id: r.zone_id.clone(),
        name: s.name().to_string(),
        record_type: s.r#type().as_str().to_string(),
        set_identifier: r.set_identifier.clone(),
        weight: s.weight(),
        healthy: read.healthy,
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_reads_bounds_only_for_a_scale_and_verification_only_the_changed_field() {
        let drain = Op::Drain {
            region: "us-east-1".into(),
        };
        let scale = Op::Scale {
            region: "eu-west-1".into(),
            cluster: "c".into(),
            service: "api".into(),
            desired: 3,
            bounds: None,
        };
        assert_eq!(Need::plan(&drain).bounds, BoundsIn::Nowhere);
        assert!(Need::plan(&drain).records && Need::plan(&drain).services);
        assert!(Need::plan(&scale).bounds_in("eu-west-1"));
        assert!(!Need::plan(&scale).bounds_in("us-east-1"));
        assert!(Need::everything().bounds_in("us-east-1"));
        let v = Need::verify(&drain);
        assert_eq!(v.only.as_deref(), Some("us-east-1"));
        assert!(v.records && !v.health && !v.services && !v.databases && !v.metrics);
        let v = Need::verify(&scale);
        assert!(v.services && v.bounds_in("eu-west-1") && !v.records);
    }
}
