//! Small seeded noise on top of the model: slowly wandering factors, not white noise, so a
//! sparkline looks like a real metric.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A standard normal draw (Box–Muller).
pub fn gaussian(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.gen::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// An Ornstein–Uhlenbeck process around 0 with standard deviation `sigma` and memory `tau_s`.
#[derive(Debug, Clone, PartialEq)]
pub struct Wander {
    pub value: f64,
    sigma: f64,
    tau_s: f64,
}

impl Wander {
    /// Starts at a draw from its stationary distribution, so two seeds differ from the first step.
    pub fn new(rng: &mut ChaCha8Rng, sigma: f64, tau_s: f64) -> Self {
        Wander {
            value: sigma * gaussian(rng),
            sigma,
            tau_s,
        }
    }

    pub fn step(&mut self, rng: &mut ChaCha8Rng, dt_s: f64) {
        let keep = (-dt_s / self.tau_s).exp();
        self.value = self.value * keep + self.sigma * (1.0 - keep * keep).sqrt() * gaussian(rng);
    }
}

/// The noise of one region: every factor steps once per sub-step, whatever happens in the model,
/// so the noise paths of two runs with one seed stay aligned when their actions differ.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionNoise {
    /// Relative deviation of the users' demand.
    pub traffic: Wander,
    /// Relative deviation of response times.
    pub latency: Wander,
    /// Relative deviation of the baseline 5xx rate.
    pub errors: Wander,
    /// Absolute deviation of the cache hit ratio.
    pub cache: Wander,
    /// Relative deviation of replica lag.
    pub lag: Wander,
    /// Relative deviation of the probe's round trip.
    pub rtt: Wander,
}

impl RegionNoise {
    pub fn new(rng: &mut ChaCha8Rng) -> Self {
        RegionNoise {
            traffic: Wander::new(rng, 0.03, 300.0),
            latency: Wander::new(rng, 0.04, 60.0),
            errors: Wander::new(rng, 0.3, 120.0),
            cache: Wander::new(rng, 0.006, 300.0),
            lag: Wander::new(rng, 0.1, 30.0),
            rtt: Wander::new(rng, 0.05, 20.0),
        }
    }

    pub fn step(&mut self, rng: &mut ChaCha8Rng, dt_s: f64) {
        for w in [
            &mut self.traffic,
            &mut self.latency,
            &mut self.errors,
            &mut self.cache,
            &mut self.lag,
            &mut self.rtt,
        ] {
            w.step(rng, dt_s);
        }
    }
}
