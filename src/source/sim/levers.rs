//! Operations applied to the model (what guarded operations do to AWS): scale a service, change a
//! Route53 weight, promote a replica.

use super::region::DbRole;
use super::SimFleet;
use crate::source::Scenario;

/// Route53 weights are 0..=255.
pub const MAX_ROUTE53_WEIGHT: i64 = 255;

impl SimFleet {
    /// Set a service's desired count (`service` is its name or "cluster/service"). New tasks are
    /// pending for 60–90 s before they run; surplus tasks stop at once. Refused outside the
    /// service's autoscaling bounds (change them first with [`SimFleet::set_scaling_bounds`]).
    pub fn set_desired(&mut self, region: &str, service: &str, desired: i64) -> Result<(), String> {
        let i = self.index_of(region)?;
        let r = &mut self.regions[i];
        let outage = r.has(Scenario::Outage);
        let s = r
            .services
            .iter_mut()
            .find(|s| s.is_named(service))
            .ok_or_else(|| format!("{region} has no ECS service `{service}`"))?;
        if desired < s.min_tasks || desired > s.max_tasks {
            return Err(format!(
                "{region} {}/{}: desired {desired} is outside the autoscaling bounds {}..{}",
                s.cluster, s.service, s.min_tasks, s.max_tasks
            ));
        }
        s.desired = desired;
        if !outage {
            s.reconcile(&mut self.event_rng);
        }
        r.autoscaler.manual_change();
        Ok(())
    }

    /// Change a service's autoscaling bounds (min ≤ max, both ≥ 0).
    pub fn set_scaling_bounds(
        &mut self,
        region: &str,
        service: &str,
        min: i64,
        max: i64,
    ) -> Result<(), String> {
        if min < 0 || max < min {
            return Err(format!("autoscaling bounds {min}..{max} are not valid"));
        }
        let i = self.index_of(region)?;
        let s = self.regions[i]
            .services
            .iter_mut()
            .find(|s| s.is_named(service))
            .ok_or_else(|| format!("{region} has no ECS service `{service}`"))?;
        s.min_tasks = min;
        s.max_tasks = max;
        Ok(())
    }

    /// Set an EKS node group's scaling config (`UpdateNodegroupConfig`): refused unless
    /// 0 ≤ min ≤ desired ≤ max, as EKS refuses it. New nodes join after 120–150 s; surplus nodes
    /// leave at once.
    pub fn set_nodegroup(
        &mut self,
        region: &str,
        cluster: &str,
        nodegroup: &str,
        desired: i64,
        min: i64,
        max: i64,
    ) -> Result<(), String> {
        if min < 0 || max < 1 || min > desired || desired > max {
            return Err(format!(
                "InvalidParameterException: desired {desired} must be within min {min} and max {max}"
            ));
        }
        let i = self.index_of(region)?;
        let r = &mut self.regions[i];
        let outage = r.has(Scenario::Outage);
        let g = r
            .services
            .iter_mut()
            .chain(&mut r.side_groups)
            .find(|s| s.node_group && s.cluster == cluster && s.service == nodegroup)
            .ok_or_else(|| format!("{region} has no EKS node group `{cluster}/{nodegroup}`"))?;
        g.desired = desired;
        g.min_tasks = min;
        g.max_tasks = max;
        if !outage {
            g.reconcile(&mut self.event_rng);
        }
        r.autoscaler.manual_change();
        Ok(())
    }

    /// Set the region's Route53 weight: 0 drains it (its users move to the other serving regions
    /// in proportion to their weights), its fleet-file weight restores it.
    pub fn set_weight(&mut self, region: &str, weight: i64) -> Result<(), String> {
        let i = self.index_of(region)?;
        if self.regions[i].spec.route53.is_none() {
            return Err(format!("{region} has no Route53 record"));
        }
        if !(0..=MAX_ROUTE53_WEIGHT).contains(&weight) {
            return Err(format!(
                "Route53 weight {weight} is outside 0..={MAX_ROUTE53_WEIGHT}"
            ));
        }
        self.regions[i].weight = weight;
        Ok(())
    }

    /// Invert the region's Route53 health check or revert it (`UpdateHealthCheck`): an inverted
    /// check fails while the region is healthy, which takes a latency, geolocation, failover or
    /// multivalue record out of Route53's answers.
    pub fn set_inverted(&mut self, region: &str, inverted: bool) -> Result<(), String> {
        let i = self.index_of(region)?;
        match &self.regions[i].spec.route53 {
            Some(r) if r.health_check_id.is_some() => {
                self.regions[i].inverted = inverted;
                Ok(())
            }
            _ => Err(format!("{region}'s record has no health check")),
        }
    }

    /// Promote the region's read replica to a standalone primary: replication ends, its lag no
    /// longer applies. The instance reports "modifying" for a minute, then "available".
    pub fn promote(&mut self, region: &str) -> Result<(), String> {
        let i = self.index_of(region)?;
        let r = &mut self.regions[i];
        let outage = r.has(Scenario::Outage);
        let db =
            r.db.as_mut()
                .ok_or_else(|| format!("{region} has no database (`rds`)"))?;
        match db.role {
            DbRole::Replica if outage => Err(format!(
                "{}: instance unreachable (region outage)",
                db.instance
            )),
            DbRole::Replica => {
                db.role = DbRole::Promoted(0.0);
                db.broken = None;
                db.last_lag = None;
                db.lag_s = 0.0;
                Ok(())
            }
            DbRole::Primary | DbRole::Promoted(_) => {
                Err(format!("{} in {region} is already a primary", db.instance))
            }
        }
    }
}
