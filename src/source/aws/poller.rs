//! The pollers: one task per region and one global task. Each data kind runs on its own interval,
//! at most one fetch of a kind is in flight, every fetch has a time limit, and a failing kind backs
//! off (exponentially, with jitter, when throttled) without holding up the others.

use super::clients::{GlobalClients, RegionClients};
use super::metrics::MetricsOutcome;
use super::{cost, ecs, eks, metrics, probe, rds, route53};
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

/// Longest wait after a failure that is not throttling (a timeout, a network error): such a
/// failure says nothing about our call rate, so the kind is retried on its normal schedule, and an
/// hourly kind within a minute.
const MAX_RETRY: Duration = Duration::from_secs(60);
/// Consecutive throttles after which the jitter spans a whole interval.
const THROTTLE_STEPS: u32 = 4;

/// When to fetch a kind again, by the cause of the last failure. `throttles` counts consecutive
/// throttled answers including this one (0 after anything else); `jitter` is uniform in 0..1.
/// - success: the interval;
/// - throttled: the interval plus a jitter that grows with the streak to at most one more
///   interval, so regions stop asking in step, and data is fresh again within one interval plus
///   jitter once the throttling ends;
/// - anything else (timeout, network, denied): the normal schedule, never growing.
pub fn next_delay(
    interval: Duration,
    throttles: u32,
    error: Option<&SourceError>,
    jitter: f64,
) -> Duration {
    match error {
        None => interval,
        Some(SourceError::Throttled(_)) => {
            let spread = throttles.clamp(1, THROTTLE_STEPS) as f64 / THROTTLE_STEPS as f64;
            interval + interval.mul_f64(spread * jitter.clamp(0.0, 1.0))
        }
        Some(_) => interval.min(MAX_RETRY),
    }
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
                let throttled = matches!(error, Some(SourceError::Throttled(_)));
                let count = if throttled { failures.get(&kind).copied().unwrap_or(0) + 1 } else { 0 };
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
    /// The fleet's CloudFront distribution, read in this region's call (us-east-1 only).
    pub cdn: Option<String>,
    pub intervals: crate::fleet::RefreshConfig,
    /// The latest topology as RDS describes it, before the ReplicaLag signal is applied.
    pub last_topology: Option<Replication>,
    pub replication_stopped: bool,
    /// The last ReplicaLag seen while replication ran, and when: kept for a broken replica's RPO.
    pub last_lag: Option<(f64, chrono::DateTime<Utc>)>,
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
                last_lag_s: None,
                last_seen: None,
            },
            _ => return None,
        }
        .with_last_lag(self.last_lag);
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
        if !self.spec.eks.is_empty() {
            // Node groups change as often as ECS services do: the same interval.
            kinds.push((DataKind::Eks, secs(r.ecs_s)));
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
                let cdn = self.cdn.clone();
                async move {
                    let now = Utc::now();
                    let cw = &clients.cloudwatch;
                    metrics::fetch_region(cw, &spec, &cfg, lag, cdn.as_deref(), now)
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
            DataKind::Eks => async move {
                eks::fetch(&clients.eks, &spec.eks)
                    .await
                    .map(|g| RegionValue::Reading(Reading::Eks(g)))
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
                if let (Some(lag), false) =
                    (outcome.values.replica_lag_s, outcome.replication_stopped)
                {
                    self.last_lag = Some((lag, Utc::now()));
                }
                // Started after replication stopped: the window's last lag is all there is.
                if self.last_lag.is_none() {
                    self.last_lag = outcome.last_lag;
                }
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
    fn throttling_backs_off_with_jitter_by_at_most_one_interval() {
        let t = SourceError::Throttled("Rate exceeded".into());
        let i = Duration::from_secs(60);
        assert_eq!(next_delay(i, 1, Some(&t), 0.0), i);
        assert_eq!(next_delay(i, 1, Some(&t), 1.0), Duration::from_secs(75));
        assert_eq!(next_delay(i, 2, Some(&t), 1.0), Duration::from_secs(90));
        assert_eq!(next_delay(i, 4, Some(&t), 1.0), Duration::from_secs(120));
        assert_eq!(next_delay(i, 40, Some(&t), 1.0), Duration::from_secs(120));
        let a = next_delay(i, 3, Some(&t), 0.25);
        let b = next_delay(i, 3, Some(&t), 0.75);
        assert!(a < b && a > i && b < 2 * i);
    }

    #[test]
    fn timeouts_and_network_errors_keep_the_normal_schedule() {
        let hourly = Duration::from_secs(3600);
        let minute = Duration::from_secs(60);
        for e in [
            SourceError::Unreachable("connection refused".into()),
            SourceError::Timeout("no answer within 12 s".into()),
        ] {
            assert_eq!(next_delay(minute, 0, Some(&e), 1.0), minute);
            assert_eq!(
                next_delay(Duration::from_secs(5), 0, Some(&e), 0.9),
                Duration::from_secs(5)
            );
            assert_eq!(next_delay(hourly, 0, Some(&e), 1.0), MAX_RETRY);
        }
    }

    /// One kind on a 5 s interval (the issue's `metrics_s = 5`): 15 s of no answer (each fetch
    /// hangs until the poller's limit), then 30 s of throttling, then healthy again.
    struct Faulty {
        start: Instant,
        interval: Duration,
    }

    impl Poll for Faulty {
        type Value = ();
        fn kinds(&self) -> Vec<(DataKind, Duration)> {
            vec![(DataKind::Metrics, self.interval)]
        }
        fn start(&self, _: DataKind) -> BoxFuture<'static, Result<(), SourceError>> {
            let t = self.start.elapsed();
            async move {
                if t < Duration::from_secs(15) {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Ok(())
                } else if t < Duration::from_secs(45) {
                    Err(SourceError::Throttled("Rate exceeded".into()))
                } else {
                    Ok(())
                }
            }
            .boxed()
        }
        fn settle(
            &mut self,
            _: DataKind,
            result: Result<(), SourceError>,
        ) -> (Vec<SourceEvent>, Option<SourceError>) {
            let text = match &result {
                Ok(()) => "ok".to_string(),
                Err(e) => e.short(),
            };
            let note = SourceEvent::Note {
                at: Utc::now(),
                region: Some(format!("{}", self.start.elapsed().as_millis())),
                text,
            };
            (vec![note], result.err())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn data_is_fresh_within_one_interval_plus_jitter_after_the_fault_ends() {
        let interval = Duration::from_secs(5);
        let poll = Faulty {
            start: Instant::now(),
            interval,
        };
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (control, _) = broadcast::channel(4);
        let task = tokio::spawn(run(
            poll,
            tx,
            control.subscribe(),
            Duration::from_secs(3),
            7,
        ));
        // (ms since start at settle, outcome)
        let mut seen: Vec<(u64, String)> = Vec::new();
        while let Some(SourceEvent::Note { region, text, .. }) = rx.recv().await {
            let at: u64 = region.unwrap().parse().unwrap();
            seen.push((at, text));
            if seen
                .last()
                .is_some_and(|(at, t)| *at >= 45_000 && t == "ok")
            {
                break;
            }
        }
        task.abort();
        let timeouts: Vec<u64> = seen
            .iter()
            .filter(|(_, t)| t == "Timeout")
            .map(|s| s.0)
            .collect();
        let throttles: Vec<u64> = seen
            .iter()
            .filter(|(_, t)| t.starts_with("Throttling"))
            .map(|s| s.0)
            .collect();
        // Timeouts (after the 5 s limit) were retried on the interval: no growth.
        assert!(timeouts.len() >= 2, "{seen:?}");
        for w in timeouts.windows(2) {
            assert_eq!(w[1] - w[0], 5_000 + 5_000, "{seen:?}");
        }
        // Throttling backed off, by at most one more interval each time.
        assert!(throttles.len() >= 3, "{seen:?}");
        for w in throttles.windows(2) {
            let gap = w[1] - w[0];
            assert!((5_000..=10_000).contains(&gap), "{seen:?}");
        }
        // Fresh again within one interval plus jitter (≤ one more interval) of the fault's end.
        let (first_ok, _) = seen.last().unwrap();
        assert!(*first_ok <= 45_000 + 10_000, "{seen:?}");
    }
}
