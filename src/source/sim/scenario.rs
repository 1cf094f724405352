//! Incidents injected into the model. Their effects live where the model reads them: an outage
//! kills tasks and fails health checks (`region`, `ecs`), an error storm adds 5xx (`observe`), a
//! replica falling behind grows its lag (`region`), a cache flush empties the cache, which then
//! warms back and the scenario ends by itself. `cache-flush@cdn` invalidates the fleet's CloudFront
//! distribution (`cdn`): its edge hit ratio collapses and warms back.

use super::SimFleet;
use crate::source::Scenario;
use rand::Rng;

impl SimFleet {
    pub fn inject(&mut self, region: &str, scenario: Scenario) -> Result<(), String> {
        if region == super::cdn::TARGET && self.index_of(region).is_err() {
            return self.inject_cdn(scenario);
        }
        let i = self.index_of(region)?;
        let r = &mut self.regions[i];
        match scenario {
            Scenario::ReplicaLag if r.db.is_none() => {
                return Err(format!(
                    "{region} has no database (`rds`): no replica to fall behind"
                ));
            }
            Scenario::CacheFlush if r.spec.cache.is_none() => {
                return Err(format!("{region} has no cache to flush"));
            }
            _ => {}
        }
        if r.has(scenario) && scenario != Scenario::CacheFlush {
            return Ok(());
        }
        match scenario {
            Scenario::ErrorStorm => r.start_storm(&mut self.event_rng),
            Scenario::CacheFlush => r.cache_hit = 0.02 + 0.03 * self.event_rng.gen::<f64>(),
            Scenario::Outage => r.services.iter_mut().for_each(|s| s.kill_all()),
            Scenario::ReplicaLag => {}
        }
        if !r.has(scenario) {
            r.scenarios.push(scenario);
        }
        self.sync_replication();
        Ok(())
    }

    /// End one incident of one region (a scheduled scenario's end); the rest keep running. A
    /// flushed cache keeps warming; dead tasks restart.
    pub fn end_scenario(&mut self, region: &str, scenario: Scenario) -> Result<(), String> {
        if region == super::cdn::TARGET && self.index_of(region).is_err() {
            if let Some(c) = &mut self.cdn {
                c.flushed = false;
            }
            return Ok(());
        }
        let i = self.index_of(region)?;
        let r = &mut self.regions[i];
        r.scenarios.retain(|s| *s != scenario);
        if scenario == Scenario::ErrorStorm {
            r.storm_level = 0.0;
        }
        self.sync_replication();
        Ok(())
    }

    /// End every injected incident. A flushed cache keeps warming; dead tasks restart.
    pub fn clear_scenarios(&mut self) {
        for r in &mut self.regions {
            r.scenarios.clear();
            r.storm_level = 0.0;
        }
        if let Some(c) = &mut self.cdn {
            c.flushed = false;
        }
        self.sync_replication();
    }

    /// Running incidents, fleet order, oldest first within a region; a CDN warming after a flush
    /// last.
    pub fn active_scenarios(&self) -> Vec<(String, Scenario)> {
        let cdn = self
            .cdn
            .as_ref()
            .filter(|c| c.flushed)
            .map(|_| (super::cdn::TARGET.to_string(), Scenario::CacheFlush));
        self.regions
            .iter()
            .flat_map(|r| r.scenarios.iter().map(|s| (r.spec.name.clone(), *s)))
            .chain(cdn)
            .collect()
    }

    /// `cache-flush@cdn`: an invalidation of every path of the fleet's distribution.
    fn inject_cdn(&mut self, scenario: Scenario) -> Result<(), String> {
        let Some(c) = &mut self.cdn else {
            return Err(format!(
                "fleet `{}` has no CDN (`cdn = {{ cloudfront = \"...\" }}`) to flush",
                self.fleet.name
            ));
        };
        match scenario {
            Scenario::CacheFlush => {
                c.flush();
                Ok(())
            }
            other => Err(format!(
                "only cache-flush applies to the CDN, not {}",
                other.name()
            )),
        }
    }
}
