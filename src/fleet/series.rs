//! Bounded time series for sparklines and charts.

use std::collections::VecDeque;

/// A ring buffer of (unix seconds, value) at a fixed resolution: a sample closer than
/// `resolution_s` to the previous one replaces it, so the buffer spans `cap * resolution_s`.
/// A moment without data is kept as a gap (a NaN value): `iter` yields it so a sparkline can
/// leave it blank; `since` and `last` skip it, so charts and current values never read it as 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    cap: usize,
    resolution_s: i64,
    points: VecDeque<(i64, f64)>,
}

impl Series {
    pub fn new(cap: usize, resolution_s: i64) -> Self {
        Self {
            cap: cap.max(1),
            resolution_s: resolution_s.max(1),
            points: VecDeque::new(),
        }
    }

    /// The default: 24 h at 30 s.
    pub fn day() -> Self {
        Self::new(2880, 30)
    }

    pub fn push(&mut self, t: i64, v: f64) {
        if v.is_finite() {
            self.record(t, v);
        }
    }

    /// No data at `t` (a failed fetch, a reading without this value, replication broken).
    pub fn push_gap(&mut self, t: i64) {
        self.record(t, f64::NAN);
    }

    fn record(&mut self, t: i64, v: f64) {
        if let Some(last) = self.points.back_mut() {
            if t < last.0 {
                return;
            }
            if t == last.0 {
                // Two readings of one moment (a metrics reading and a broken topology): the
                // later one stands.
                *last = (t, v);
                return;
            }
            if t - last.0 < self.resolution_s && self.points.len() > 1 {
                let prev = self.points[self.points.len() - 2].0;
                if t - prev < self.resolution_s {
                    *self.points.back_mut().unwrap() = (t, v);
                    return;
                }
            }
        }
        self.points.push_back((t, v));
        while self.points.len() > self.cap {
            self.points.pop_front();
        }
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The newest point with a value.
    pub fn last(&self) -> Option<(i64, f64)> {
        self.points.iter().rev().find(|(_, v)| !v.is_nan()).copied()
    }

    /// Every point, oldest first, gaps (NaN values) included.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &(i64, f64)> + ExactSizeIterator {
        self.points.iter()
    }

    /// Points with a value and t >= since.
    pub fn since(&self, since: i64) -> impl Iterator<Item = &(i64, f64)> {
        self.points
            .iter()
            .filter(move |(t, v)| *t >= since && !v.is_nan())
    }
}
