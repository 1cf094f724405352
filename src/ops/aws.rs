//! Operations against AWS: the plan's calls made with the SDK (ECS UpdateService, Application Auto
//! Scaling RegisterScalableTarget, RDS PromoteReadReplica, Route53 ChangeResourceRecordSets and
//! UpdateHealthCheck), then polled until the fleet shows them settled (Route53 GetChange INSYNC and
//! the weight read back, or the health check's inversion read back with GetHealthCheck; every
//! desired ECS task running, the promoted instance available).

use super::aws_read::{self, Need};
use super::outcome::not_settled;
use super::pipeline::Authorized;
use super::plan::{ApiCall, Plan, WeightedRecordSet, ROUTE53_REGION};
use super::target::{check_settled, Executed, Target, Verification, VerifyLimits};
use super::view::FleetView;
use super::Op;
use crate::fleet::clock::Clock;
use crate::fleet::{Fleet, SourceKind};
use crate::source::aws::FleetClients;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_route53::types as r53;
use futures::future::BoxFuture;
use futures::FutureExt;
use std::sync::Arc;
use std::time::Duration;

pub struct AwsTarget {
    config: SdkConfig,
    /// One client set per region of the fleet, shared by reads and calls.
    clients: FleetClients,
    fleet: Fleet,
    clock: Arc<dyn Clock>,
}

/// The SDK error with its causes, on one line.
pub(super) fn sdk_error<E: std::error::Error>(e: E) -> String {
    aws_smithy_types::error::display::DisplayErrorContext(e).to_string()
}

impl AwsTarget {
    /// Clients from aws-config's standard chain; `endpoint_url` sends every call to an emulator.
    /// `clock` is the wall clock (shifted only by the test hook [`CLOCK_OFFSET_ENV`]).
    ///
    /// [`CLOCK_OFFSET_ENV`]: crate::fleet::clock::CLOCK_OFFSET_ENV
    pub async fn connect(
        fleet: Fleet,
        profile: Option<&str>,
        endpoint_url: Option<&str>,
        clock: Arc<dyn Clock>,
    ) -> AwsTarget {
        let timeouts = TimeoutConfig::builder()
            .operation_timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(ROUTE53_REGION))
            .timeout_config(timeouts);
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        if let Some(url) = endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        AwsTarget {
            clients: FleetClients::new(&config, &fleet),
            config,
            fleet,
            clock,
        }
    }

    fn clients(&self, region: &str) -> crate::source::aws::RegionClients {
        self.clients
            .region(region)
            .cloned()
            .unwrap_or_else(|| crate::source::aws::RegionClients::new(&self.config, region))
    }

    fn ecs(&self, region: &str) -> aws_sdk_ecs::Client {
        self.clients(region).ecs
    }
    fn autoscaling(&self, region: &str) -> aws_sdk_applicationautoscaling::Client {
        self.clients(region).autoscaling
    }
    fn rds(&self, region: &str) -> aws_sdk_rds::Client {
        self.clients(region).rds
    }
    fn route53(&self) -> aws_sdk_route53::Client {
        self.clients.global.route53.clone()
    }

    /// Make one call; a Route53 change returns its ChangeInfo id.
    async fn call(&self, call: &ApiCall) -> Result<Option<String>, String> {
        let int = |name: &str, v: i64| {
            i32::try_from(v).map_err(|_| format!("{name} {v} is out of range"))
        };
        match call {
            ApiCall::UpdateService {
                region,
                cluster,
                service,
                desired_count,
            } => {
                self.ecs(region)
                    .update_service()
                    .cluster(cluster)
                    .service(service)
                    .desired_count(int("desiredCount", *desired_count)?)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                Ok(None)
            }
            ApiCall::RegisterScalableTarget {
                region,
                cluster,
                service,
                min_capacity,
                max_capacity,
            } => {
                use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
                self.autoscaling(region)
                    .register_scalable_target()
                    .service_namespace(ServiceNamespace::Ecs)
                    .resource_id(ApiCall::scalable_resource_id(cluster, service))
                    .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                    .min_capacity(int("MinCapacity", *min_capacity)?)
                    .max_capacity(int("MaxCapacity", *max_capacity)?)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                Ok(None)
            }
            ApiCall::UpdateNodegroupConfig {
                region,
                cluster,
                nodegroup,
                desired_size,
                min_size,
                max_size,
            } => {
                let scaling = aws_sdk_eks::types::NodegroupScalingConfig::builder()
                    .desired_size(int("desiredSize", *desired_size)?)
                    .min_size(int("minSize", *min_size)?)
                    .max_size(int("maxSize", *max_size)?)
                    .build();
                self.clients(region)
                    .eks
                    .update_nodegroup_config()
                    .cluster_name(cluster)
                    .nodegroup_name(nodegroup)
                    .scaling_config(scaling)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                Ok(None)
            }
            ApiCall::PromoteReadReplica {
                region,
                db_instance_identifier,
            } => {
                self.rds(region)
                    .promote_read_replica()
                    .db_instance_identifier(db_instance_identifier)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                Ok(None)
            }
            ApiCall::ChangeResourceRecordSets {
                hosted_zone_id,
                comment,
                record_set,
            } => {
                let out = self
                    .route53()
                    .change_resource_record_sets()
                    .hosted_zone_id(hosted_zone_id)
                    .change_batch(change_batch(comment, record_set)?)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                Ok(out.change_info().map(|c| c.id().to_string()))
            }
            ApiCall::UpdateHealthCheck {
                health_check_id,
                inverted,
            } => {
                self.route53()
                    .update_health_check()
                    .health_check_id(health_check_id)
                    .inverted(*inverted)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                Ok(None)
            }
        }
    }

    /// PENDING or INSYNC for a Route53 change.
    async fn change_status(&self, id: &str) -> Result<String, String> {
        let out = self
            .route53()
            .get_change()
            .id(id)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out
            .change_info()
            .map(|c| c.status().as_str().to_string())
            .unwrap_or_else(|| "unknown".into()))
    }
}

/// One UPSERT of the record set, as the SDK's type.
fn change_batch(comment: &str, s: &WeightedRecordSet) -> Result<r53::ChangeBatch, String> {
    let bad = |e: aws_smithy_types::error::operation::BuildError| e.to_string();
    let mut set = r53::ResourceRecordSet::builder()
        .name(&s.name)
        .r#type(r53::RrType::from(s.record_type.as_str()))
        .set_identifier(&s.set_identifier)
        .weight(s.weight)
        .set_ttl(s.ttl)
        .set_health_check_id(s.health_check_id.clone());
    for v in &s.values {
        set = set.resource_records(
            r53::ResourceRecord::builder()
                .value(v)
                .build()
                .map_err(bad)?,
        );
    }
    if let Some(a) = &s.alias {
        set = set.alias_target(
            r53::AliasTarget::builder()
                .hosted_zone_id(&a.hosted_zone_id)
                .dns_name(&a.dns_name)
                .evaluate_target_health(a.evaluate_target_health)
                .build()
                .map_err(bad)?,
        );
    }
    let change = r53::Change::builder()
        .action(r53::ChangeAction::Upsert)
        .resource_record_set(set.build().map_err(bad)?)
        .build()
        .map_err(bad)?;
    r53::ChangeBatch::builder()
        .comment(comment)
        .changes(change)
        .build()
        .map_err(bad)
}

impl Target for AwsTarget {
    fn kind(&self) -> SourceKind {
        SourceKind::Aws
    }

    fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    fn identity(&self) -> BoxFuture<'_, String> {
        async move {
            // The fleet's STS client (us-east-1, answers capped like every other client's).
            let sts = &self.clients.global.sts;
            match sts.get_caller_identity().send().await {
                Ok(out) => out.arn().unwrap_or("unknown (STS gave no ARN)").to_string(),
                Err(e) => format!("unknown (STS GetCallerIdentity: {})", sdk_error(e)),
            }
        }
        .boxed()
    }

    fn read(&self) -> BoxFuture<'_, Result<FleetView, String>> {
        async move {
            aws_read::read(&self.clients, &self.fleet, &Need::everything())
                .await
                .map_err(|e| e.to_string())
        }
        .boxed()
    }

    fn read_for<'a>(&'a self, op: &'a Op) -> BoxFuture<'a, Result<FleetView, String>> {
        async move {
            aws_read::read(&self.clients, &self.fleet, &Need::plan(op))
                .await
                .map_err(|e| e.to_string())
        }
        .boxed()
    }

    fn execute<'a>(&'a self, token: &'a Authorized) -> BoxFuture<'a, Result<Executed, String>> {
        async move {
            let mut done = Executed::default();
            for call in &token.plan().calls {
                match self.call(call).await {
                    Ok(change) => {
                        done.ok(call);
                        if change.is_some() {
                            done.route53_change = change;
                        }
                    }
                    Err(e) => return Err(done.failed_at(call, e)),
                }
            }
            Ok(done)
        }
        .boxed()
    }

    fn verify<'a>(
        &'a self,
        plan: &'a Plan,
        executed: &'a Executed,
        limits: VerifyLimits,
    ) -> BoxFuture<'a, Verification> {
        async move {
            let clock = self.clock.clone();
            let start = clock.now();
            let elapsed = || (clock.now() - start).to_std().unwrap_or_default();
            let mut insync = executed.route53_change.is_none();
            loop {
                let why = if !insync {
                    let id = executed.route53_change.as_deref().unwrap_or_default();
                    match self.change_status(id).await {
                        Ok(s) if s == "INSYNC" => {
                            insync = true;
                            continue;
                        }
                        Ok(s) => format!("Route53 change {id} is {s}"),
                        Err(e) => format!("Route53 GetChange {id}: {e}"),
                    }
                } else {
                    let need = Need::verify(&plan.op);
                    match aws_read::read(&self.clients, &self.fleet, &need).await {
                        Ok(view) => match check_settled(plan, &view) {
                            Ok(()) => return Verification::Settled(clock.now()),
                            Err(why) => why,
                        },
                        Err(e) => format!("cannot read back: {e}"),
                    }
                };
                if elapsed() >= limits.limit {
                    return Verification::NotYetVerified(not_settled(elapsed().as_secs(), &why));
                }
                clock
                    .sleep(limits.poll.min(limits.limit.saturating_sub(elapsed())))
                    .await;
            }
        }
        .boxed()
    }
}
