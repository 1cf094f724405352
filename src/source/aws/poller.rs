//! The pollers: one task per region and one global task. Each data kind runs on its own interval,
//! at most one fetch of a kind is in flight, every fetch has a time limit, and a failing kind backs
//! off (exponentially, with jitter, when throttled) without holding up the others.

use super::clients::{GlobalClients, RegionClients};
use super::metrics::MetricsOutcome;
use super::{cost, ecs, metrics, probe, rds, route53};
use crate::fleet::{
    text, DataKind, Fleet, MetricsConfig, Reading, RegionSpec, Replication, Role, SourceError,
};
use crate::source::SourceEvent;
use chrono::Utc;
use futures::future::BoxFuture;
use futures::FutureExt;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Text from AWS answers and probe bodies leaves the source cleaned of control characters and
/// escape sequences (`fleet::text`): it is shown in frames and tables.
pub(crate) fn clean_event(ev: &mut SourceEvent) {
    match ev {
        SourceEvent::Reading { reading, .. } => text::clean_reading(reading),
        SourceEvent::Failed { error, .. } => text::clean_error(error),
        SourceEvent::Identity(s) | SourceEvent::Note { text: s, .. } => text::clean_in_place(s),
        SourceEvent::Clock(_) => {}
    }
}

/// What the supervisor tells the pollers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    Refresh,
    Shutdown,
}

/// Longest wait after repeated throttling.
const MAX_THROTTLE_DELAY: Duration = Duration::from_secs(15 * 60);
/// First retry after a failure that is not throttling; doubles up to the kind's interval (and a
/// minute at most), so an hourly kind does not stay stale for an hour.
const FIRST_RETRY: Duration = Duration::from_secs(5);
const MAX_RETRY: Duration = Duration::from_secs(60);

/// When to fetch a kind again. `failures` counts consecutive failures including this one (0 after
/// a success); `jitter` is uniform in 0..1 and spreads the retry over the upper half of the delay.
pub fn next_delay(
    interval: Duration,
    failures: u32,
    error: Option<&SourceError>,
    jitter: f64,
) -> Duration {
    let base = match error {
        None => return interval,
        Some(SourceError::Throttled(_)) => {
            let grown = interval.saturating_mul(1u32 << failures.min(10));
            grown.min(MAX_THROTTLE_DELAY.max(interval))
        }
        Some(_) => {
            let grown = FIRST_RETRY.saturating_mul(1u32 << failures.saturating_sub(1).min(10));
            grown.min(interval.min(MAX_RETRY))
        }
    };
    base.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// One poller's data kinds: how to start a fetch and how to turn its result into events.
pub(crate) trait Poll: Send + 'static {
    type Value: Send + 'static;
    /// The kinds this poller fetches, with their intervals.
    fn kinds(&self) -> Vec<(DataKind, Duration)>;
    fn start(&self, kind: DataKind) -> BoxFuture<'static, Result<Self::Value, SourceError>>;
    /// Events for a finished fetch, and the error (if any) that decides the back-off.
    fn settle(
        &mut self,
        kind: DataKind,
        result: Result<Self::Value, SourceError>,
    ) -> (Vec<SourceEvent>, Option<SourceError>);
    /// A manual refresh does not refetch a kind younger than this (Cost Explorer costs money).
    fn min_refresh_age(&self, _kind: DataKind) -> Duration {
        Duration::ZERO
    }
}

/// Run a poller until it is told to stop or nobody listens any more.
pub(crate) async fn run<P: Poll>(
    mut poll: P,
    events: mpsc::UnboundedSender<SourceEvent>,
    mut control: broadcast::Receiver<Control>,
    timeout: Duration,
    seed: u64,
) {
    let kinds = poll.kinds();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let now = Instant::now();
    let mut due: BTreeMap<DataKind, Instant> = kinds.iter().map(|(k, _)| (*k, now)).collect();
    let mut failures: BTreeMap<DataKind, u32> = BTreeMap::new();
    let mut last_ok: BTreeMap<DataKind, Instant> = BTreeMap::new();
    let mut running: BTreeSet<DataKind> = BTreeSet::new();
    let mut inflight: JoinSet<(DataKind, Result<P::Value, SourceError>)> = JoinSet::new();
    let mut tasks: HashMap<tokio::task::Id, DataKind> = HashMap::new();
    // Covers the SDK's own operation timeout; a probe or a stuck connection cannot hold a kind.
    let limit = timeout + Duration::from_secs(2);
    loop {
        let now = Instant::now();
        for (kind, _) in &kinds {
            if !running.contains(kind) && due[kind] <= now {
                running.insert(*kind);
                let fut = poll.start(*kind);
                let kind = *kind;
                let handle = inflight.spawn(async move {
                    let result = match tokio::time::timeout(limit, fut).await {
                        Ok(r) => r,
                        Err(_) => Err(SourceError::Timeout(format!(
                            "no answer within {} s",
                            limit.as_secs()
                        ))),
                    };
                    (kind, result)
                });
                tasks.insert(handle.id(), kind);
            }
        }
        let next = kinds
            .iter()
            .filter(|(k, _)| !running.contains(k))
            .map(|(k, _)| due[k])
            .min();
        let sleep_until = next.unwrap_or_else(|| now + Duration::from_secs(3600));
        tokio::select! {
            joined = inflight.join_next_with_id(), if !inflight.is_empty() => {
                let Some(joined) = joined else { continue };
                let (kind, result) = match joined {
                    Ok((id, x)) => {
                        tasks.remove(&id);
                        x
                    }
                    Err(e) => match tasks.remove(&e.id()) {
                        Some(kind) => (kind, Err(SourceError::Other(format!("fetch task ended: {e}")))),
                        None => continue,
                    },
                };
                running.remove(&kind);
                let ok = result.is_ok();
                let (evs, error) = poll.settle(kind, result);
                for mut ev in evs {
                    clean_event(&mut ev);
                    if events.send(ev).is_err() {
                        inflight.abort_all();
                        return;
                    }
                }
                let count = if error.is_some() { failures.get(&kind).copied().unwrap_or(0) + 1 } else { 0 };
                failures.insert(kind, count);
                if ok && error.is_none() {
                    last_ok.insert(kind, Instant::now());
                }
                let interval = kinds.iter().find(|(k, _)| *k == kind).map(|(_, i)| *i).unwrap_or(Duration::from_secs(60));
                due.insert(kind, Instant::now() + next_delay(interval, count, error.as_ref(), rng.gen::<f64>()));
            }
            _ = tokio::time::sleep_until(sleep_until) => {}
            msg = control.recv() => match msg {
                Ok(Control::Refresh) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    let now = Instant::now();
                    for (kind, _) in &kinds {
                        let fresh = last_ok.get(kind).map(|t| now - *t < poll.min_refresh_age(*kind)).unwrap_or(false);
                        if !running.contains(kind) && !fresh {
                            due.insert(*kind, now);
                        }
                    }
                }
                Ok(Control::Shutdown) | Err(broadcast::error::RecvError::Closed) => {
                    inflight.abort_all();
                    return;
                }
            },
        }
    }
}

/// The fetches of one region.
pub(crate) struct RegionPoll {
    pub spec: RegionSpec,
    pub clients: RegionClients,
    pub probe: probe::Prober,
    pub metrics: MetricsConfig,
    pub intervals: crate::fleet::RefreshConfig,
    /// The latest topology as RDS describes it, before the ReplicaLag signal is applied.
    pub last_topology: Option<Replication>,
    pub replication_stopped: bool,
}

pub(crate) enum RegionValue {
    Metrics(MetricsOutcome),
    Reading(Reading),
}

impl RegionPoll {
    fn include_lag(&self) -> bool {
        match &self.last_topology {
            Some(r) => !r.is_primary(),
            None => self.spec.role == Role::Secondary,
        }
    }

    fn event(&self, reading: Reading) -> SourceEvent {
        SourceEvent::Reading {
            region: self.spec.name.clone(),
            at: Utc::now(),
            reading,
        }
    }

    fn topology_event(&self) -> Option<SourceEvent> {
        let topology = match (&self.last_topology, &self.spec.rds) {
            (Some(raw), _) => rds::with_lag_signal(raw.clone(), self.replication_stopped),
            (None, Some(instance)) if self.replication_stopped => Replication::Broken {
                instance: instance.clone(),
                source: None,
                reason: "ReplicaLag is -1: replication is not running".into(),
            },
            _ => return None,
        };
        Some(self.event(Reading::Topology(topology)))
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s.max(1))
}

impl Poll for RegionPoll {
    type Value = RegionValue;

    fn kinds(&self) -> Vec<(DataKind, Duration)> {
        let r = &self.intervals;
        let mut kinds = vec![
            (DataKind::Metrics, secs(r.metrics_s)),
            (DataKind::Ecs, secs(r.ecs_s)),
        ];
        if self.spec.rds.is_some() {
            kinds.push((DataKind::Topology, secs(r.topology_s)));
        }
        if self.spec.health_url.is_some() {
            kinds.push((DataKind::Probe, secs(r.probe_s)));
        }
        kinds
    }

    fn start(&self, kind: DataKind) -> BoxFuture<'static, Result<RegionValue, SourceError>> {
        let spec = self.spec.clone();
        let clients = self.clients.clone();
        match kind {
            DataKind::Metrics => {
                let cfg = self.metrics.clone();
                let lag = self.include_lag();
                async move {
                    metrics::fetch(&clients.cloudwatch, &spec, &cfg, lag, Utc::now())
                        .await
                        .map(RegionValue::Metrics)
                }
                .boxed()
            }
            DataKind::Ecs => async move {
                ecs::fetch(&clients.ecs, &spec.ecs)
                    .await
                    .map(|e| RegionValue::Reading(Reading::Ecs(e)))
            }
            .boxed(),
            DataKind::Topology => async move {
                let instance = spec.rds.clone().unwrap_or_default();
                rds::fetch(&clients.rds, &instance)
                    .await
                    .map(|r| RegionValue::Reading(Reading::Topology(r)))
            }
            .boxed(),
            DataKind::Probe => {
                let prober = self.probe.clone();
                async move {
                    let url = spec.health_url.clone().unwrap_or_default();
                    Ok(RegionValue::Reading(Reading::Probe(
                        prober.probe(&url).await,
                    )))
                }
                .boxed()
            }
            DataKind::Route53 | DataKind::Cost => {
                async move { Err(SourceError::Other(format!("{kind:?} is fetched globally"))) }
                    .boxed()
            }
        }
    }

    fn settle(
        &mut self,
        kind: DataKind,
        result: Result<RegionValue, SourceError>,
    ) -> (Vec<SourceEvent>, Option<SourceError>) {
        match result {
            Err(error) => {
                let ev = SourceEvent::Failed {
                    region: self.spec.name.clone(),
                    kind,
                    at: Utc::now(),
                    error: error.clone(),
                };
                (vec![ev], Some(error))
            }
            Ok(RegionValue::Metrics(outcome)) => {
                // A change of the ReplicaLag signal re-states the topology first, so whoever reads
                // the metrics has already seen the fault.
                let mut evs = Vec::new();
                if outcome.replication_stopped != self.replication_stopped {
                    self.replication_stopped = outcome.replication_stopped;
                    evs.extend(self.topology_event());
                }
                evs.push(self.event(Reading::Metrics(outcome.values)));
                (evs, None)
            }
            Ok(RegionValue::Reading(Reading::Topology(raw))) => {
                self.last_topology = Some(raw);
                (self.topology_event().into_iter().collect(), None)
            }
            Ok(RegionValue::Reading(reading)) => (vec![self.event(reading)], None),
        }
    }
}

/// The global fetches: Route53 (one walk for all regions) and Cost Explorer (one call).
pub(crate) struct GlobalPoll {
    pub fleet: Fleet,
    pub clients: GlobalClients,
    pub intervals: crate::fleet::RefreshConfig,
}

/// A manual refresh does not call Cost Explorer again within five minutes ($0.01 a call).
const COST_MIN_REFRESH_AGE: Duration = Duration::from_secs(300);

impl Poll for GlobalPoll {
    type Value = Vec<(String, Result<Reading, SourceError>)>;

    fn kinds(&self) -> Vec<(DataKind, Duration)> {
        vec![
            (DataKind::Route53, secs(self.intervals.route53_s)),
            (DataKind::Cost, secs(self.intervals.cost_s)),
        ]
    }

    fn start(&self, kind: DataKind) -> BoxFuture<'static, Result<Self::Value, SourceError>> {
        let fleet = self.fleet.clone();
        let clients = self.clients.clone();
        async move {
            match kind {
                DataKind::Route53 => Ok(route53::fetch(&clients.route53, &fleet)
                    .await
                    .into_iter()
                    .map(|(region, r)| (region, r.map(Reading::Route53)))
                    .collect()),
                _ => cost::fetch(&clients.cost, &fleet, Utc::now())
                    .await
                    .map(|list| {
                        list.into_iter()
                            .map(|(region, c)| (region, Ok(Reading::Cost(c))))
                            .collect()
                    }),
            }
        }
        .boxed()
    }

    fn settle(
        &mut self,
        kind: DataKind,
        result: Result<Self::Value, SourceError>,
    ) -> (Vec<SourceEvent>, Option<SourceError>) {
        let at = Utc::now();
        let per_region = match result {
            Ok(list) => list,
            Err(e) => self
                .fleet
                .regions
                .iter()
                .map(|r| (r.name.clone(), Err(e.clone())))
                .collect(),
        };
        let mut first_error = None;
        let events = per_region
            .into_iter()
            .map(|(region, r)| match r {
                Ok(reading) => SourceEvent::Reading {
                    region,
                    at,
                    reading,
                },
                Err(error) => {
                    first_error.get_or_insert_with(|| error.clone());
                    SourceEvent::Failed {
                        region,
                        kind,
                        at,
                        error,
                    }
                }
            })
            .collect();
        (events, first_error)
    }

    fn min_refresh_age(&self, kind: DataKind) -> Duration {
        if kind == DataKind::Cost {
            COST_MIN_REFRESH_AGE
        } else {
            Duration::ZERO
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_waits_the_interval() {
        assert_eq!(
            next_delay(Duration::from_secs(60), 0, None, 0.3),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn throttling_backs_off_exponentially_with_jitter() {
        let t = SourceError::Throttled("Rate exceeded".into());
        let i = Duration::from_secs(60);
        assert_eq!(next_delay(i, 1, Some(&t), 1.0), Duration::from_secs(120));
        assert_eq!(next_delay(i, 2, Some(&t), 1.0), Duration::from_secs(240));
        assert_eq!(next_delay(i, 2, Some(&t), 0.0), Duration::from_secs(120));
        assert_eq!(next_delay(i, 9, Some(&t), 1.0), MAX_THROTTLE_DELAY);
        let a = next_delay(i, 3, Some(&t), 0.25);
        let b = next_delay(i, 3, Some(&t), 0.75);
        assert!(a < b && a >= Duration::from_secs(240) && b <= Duration::from_secs(480));
    }

    #[test]
    fn other_failures_retry_soon_even_for_hourly_kinds() {
        let e = SourceError::Unreachable("connection refused".into());
        let hourly = Duration::from_secs(3600);
        assert_eq!(next_delay(hourly, 1, Some(&e), 1.0), Duration::from_secs(5));
        assert_eq!(
            next_delay(hourly, 3, Some(&e), 1.0),
            Duration::from_secs(20)
        );
        assert_eq!(
            next_delay(hourly, 8, Some(&e), 1.0),
            Duration::from_secs(60)
        );
        assert_eq!(
            next_delay(Duration::from_secs(1), 4, Some(&e), 1.0),
            Duration::from_secs(1)
        );
    }
}
