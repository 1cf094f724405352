//! The fleet's CloudFront distribution in the model: edge requests follow the regions' traffic,
//! the edge cache hit ratio sits near a warm level and, after an invalidation of everything
//! (`cache-flush` injected into `cdn`), collapses and warms back; misses go to the origins, so
//! origin 5xx show through in proportion. Reported like AWS: in us-east-1's metrics reading.

use super::noise::Wander;
use crate::fleet::cdn::CdnValues;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The edge hit ratio of a warm distribution.
pub const WARM_CDN_HIT_RATIO: f64 = 0.95;
/// Edge caches warm more slowly than a region's cache: many edges, each filled by its own users.
const CDN_WARM_TAU_S: f64 = 300.0;
/// Edge requests per origin request at full hit ratio (static assets served at the edge).
const EDGE_PER_ORIGIN: f64 = 4.0;
const BASELINE_4XX: f64 = 0.012;
/// The name a scenario targets the distribution by (`--scenario cache-flush@cdn`).
pub const TARGET: &str = "cdn";

#[derive(Debug, Clone)]
pub struct CdnModel {
    distribution: String,
    pub hit: f64,
    /// An invalidation is warming back.
    pub flushed: bool,
    noise: Wander,
    rng: ChaCha8Rng,
}

impl CdnModel {
    /// Its own random stream, so a fleet with a CDN keeps the regions' noise paths.
    pub fn new(distribution: &str, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xC0FF_EE00_CD00_0001);
        CdnModel {
            distribution: distribution.to_string(),
            hit: WARM_CDN_HIT_RATIO,
            flushed: false,
            noise: Wander::new(&mut rng, 0.006, 120.0),
            rng,
        }
    }

    pub fn step(&mut self, dt_s: f64) {
        self.noise.step(&mut self.rng, dt_s);
        self.hit += (WARM_CDN_HIT_RATIO - self.hit) * (1.0 - (-dt_s / CDN_WARM_TAU_S).exp());
        if self.flushed && self.hit >= WARM_CDN_HIT_RATIO - 0.01 {
            self.flushed = false;
        }
    }

    /// An invalidation of every path: the edges start cold.
    pub fn flush(&mut self) {
        self.hit = 0.03 + 0.04 * self.rng.gen::<f64>();
        self.flushed = true;
    }

    /// What CloudWatch would report, given the origins' requests/s and their 5xx share.
    pub fn values(&self, origin_rps: f64, origin_error_rate: f64) -> CdnValues {
        let hit = (self.hit + self.noise.value).clamp(0.0, 1.0);
        let serving = origin_rps > 0.01;
        let edge_rps = origin_rps * (1.0 + (EDGE_PER_ORIGIN - 1.0) * hit);
        CdnValues {
            distribution: self.distribution.clone(),
            requests_per_s: Some(if serving { edge_rps } else { 0.0 }),
            cache_hit_ratio: serving.then_some(hit),
            // The origins' 5xx pass through the edges; cached answers do not fail.
            error_rate: serving
                .then(|| (origin_rps * origin_error_rate / edge_rps.max(1e-9)).clamp(0.0, 1.0)),
            error_rate_4xx: serving.then_some(BASELINE_4XX * (1.0 + self.noise.value)),
            additional_metrics_off: false,
        }
    }
}
