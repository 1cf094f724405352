//! The lease around every operation: from the guard check under which it runs to the end of its
//! verification, an operation holds its fleet's lease, so two operators (or two processes on one
//! machine) never act on one fleet at once. Under the lease the pipeline reads the fleet fresh
//! and evaluates the guards again right before executing (`pipeline`).
//!
//! - [`local`]: without `[shared]`, an exclusive OS file lock in the state directory (released by
//!   the OS when its process dies) with the holder written beside it.
//! - [`dynamo`]: with `[shared]`, an item of the DynamoDB lock table (partition key `resource` =
//!   the fleet's name), taken with a conditional write (absent, or its lease expired), extended
//!   while the operation runs, released with a conditional delete. A holder that dies leaves an
//!   item that expires (default [`DEFAULT_TTL`]) and is then reported as abandoned.
//!
//! The holder record names who (identity, host, process), what (the operation, its region, its
//! audit id) and when (since, until): what a refusal says, and what the console will show of
//! others' leases. Pending approvals are to live in the same table under keys of their own.

pub mod dynamo;
pub mod init;
pub mod local;

use super::Op;
use crate::fleet::clock::Clock;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// How long a lease lasts unless extended: a dead holder's lease is abandoned after this.
pub const DEFAULT_TTL: Duration = Duration::from_secs(120);

/// The audit rule name of a refusal by the lease.
pub const RULE: &str = "lease";

/// Who holds a lease, for what, since and until when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    /// STS caller ARN, or the local user on the simulated fleet.
    pub identity: String,
    pub host: String,
    pub pid: u32,
    /// Unique to this taking of the lease: extend and release are conditional on it.
    pub token: String,
    /// The audit id of the operation holding it.
    pub audit_id: String,
    pub op: Op,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

impl Holder {
    /// "draining us-east-1", "scaling atlas-us/api in us-east-1 to 5".
    pub fn doing(&self) -> String {
        doing(&self.op)
    }

    /// "arn:…/alice (host ops-1, pid 4242) is draining us-east-1 since 02:01:10 UTC".
    pub fn describe(&self) -> String {
        format!(
            "{} (host {}, pid {}) is {} since {}",
            self.identity,
            self.host,
            self.pid,
            self.doing(),
            self.since.format("%H:%M:%S UTC")
        )
    }
}

/// What an operation is doing, as a present participle.
pub fn doing(op: &Op) -> String {
    let summary = op.summary();
    let (verb, rest) = summary.split_once(' ').unwrap_or((summary.as_str(), ""));
    let ing = match verb {
        "scale" => "scaling",
        "promote" => "promoting",
        "drain" => "draining",
        "restore" => "restoring",
        other => other,
    };
    format!("{ing} {rest}").trim_end().to_string()
}

/// This machine's name (for the holder record and the shared trail's stream).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

/// One attempt to take a lease.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// Ours now; `abandoned` is the holder whose lease was left behind (expired, or its process
    /// ended without releasing it).
    Granted { abandoned: Option<Holder> },
    /// Someone else holds it (None: a holder that did not say who it is).
    Held(Option<Holder>),
}

/// Where leases live: a lock file here, or the DynamoDB lock table.
pub trait LeaseStore: Send + Sync {
    /// "lock file /…/atlas.lock", "DynamoDB table opsdeck-locks (us-east-1)".
    fn name(&self) -> String;

    /// Take `resource`'s lease for `holder` if nobody holds it (or its lease expired by `now`).
    fn try_take<'a>(
        &'a self,
        resource: &'a str,
        holder: &'a Holder,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Attempt, String>>;

    /// Move `holder`'s lease on to `holder.until`, unless it is no longer theirs.
    fn extend<'a>(
        &'a self,
        resource: &'a str,
        holder: &'a Holder,
    ) -> BoxFuture<'a, Result<(), String>>;

    /// Give `holder`'s lease up, unless it is no longer theirs.
    fn release<'a>(
        &'a self,
        resource: &'a str,
        holder: &'a Holder,
    ) -> BoxFuture<'a, Result<(), String>>;

    /// Who holds `resource`'s lease now, as recorded (possibly expired).
    fn holder<'a>(&'a self, resource: &'a str) -> BoxFuture<'a, Result<Option<Holder>, String>>;
}

/// Told who holds the lease when an operation starts waiting for it.
pub type OnWait = Arc<dyn Fn(&str) + Send + Sync>;

/// The leases of one operator: where they live, how long one lasts, how long to wait for one.
#[derive(Clone)]
pub struct Leases {
    store: Arc<dyn LeaseStore>,
    pub ttl: Duration,
    /// How long to wait for a held lease before refusing (`act --wait`); zero: refuse at once.
    pub wait: Duration,
    /// Said once when an operation starts waiting ("waiting for the lease: …").
    pub on_wait: Option<OnWait>,
}

/// Why an operation did not get its lease: held by someone, or the store failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub reason: String,
    pub holder: Option<Holder>,
}

impl Leases {
    pub fn new(store: Arc<dyn LeaseStore>) -> Self {
        Leases {
            store,
            ttl: DEFAULT_TTL,
            wait: Duration::ZERO,
            on_wait: None,
        }
    }

    pub fn store(&self) -> &Arc<dyn LeaseStore> {
        &self.store
    }

    /// Take `resource`'s lease for `holder` (its `since`/`until` set here), waiting up to
    /// `self.wait` while someone else holds it. While held, the lease is extended every third of
    /// its time to live.
    pub async fn take(
        &self,
        resource: &str,
        mut holder: Holder,
        clock: Arc<dyn Clock>,
    ) -> Result<Lease, Refusal> {
        let deadline = tokio::time::Instant::now() + self.wait;
        let mut pause = Duration::from_millis(100);
        let mut said = false;
        loop {
            let now = clock.now();
            holder.since = now;
            holder.until = now + chrono::Duration::from_std(self.ttl).unwrap_or_default();
            let attempt = self
                .store
                .try_take(resource, &holder, now)
                .await
                .map_err(|e| Refusal {
                    reason: format!(
                        "the lease on `{resource}` could not be taken ({}): {e}; nothing ran",
                        self.store.name()
                    ),
                    holder: None,
                })?;
            match attempt {
                Attempt::Granted { abandoned } => {
                    if let Some(a) = &abandoned {
                        tracing::warn!("lease: {}", abandoned_note(a));
                    }
                    let heartbeat = self.heartbeat(resource, &holder, clock.clone());
                    return Ok(Lease {
                        store: self.store.clone(),
                        resource: resource.to_string(),
                        holder,
                        abandoned,
                        heartbeat,
                    });
                }
                Attempt::Held(other) if tokio::time::Instant::now() >= deadline => {
                    let who = other.as_ref().map(Holder::describe).unwrap_or_else(|| {
                        "another opsdeck process (it did not say who)".to_string()
                    });
                    let waited = if self.wait.is_zero() {
                        "wait for it with --wait 30s, or try again when it ends".to_string()
                    } else {
                        format!("waited {}s for it", self.wait.as_secs())
                    };
                    return Err(Refusal {
                        reason: format!("the fleet's lease is held: {who} ({waited}); nothing ran"),
                        holder: other,
                    });
                }
                Attempt::Held(other) => {
                    if let (Some(say), false) = (&self.on_wait, said) {
                        let who = other.as_ref().map(Holder::describe);
                        say(&format!(
                            "waiting up to {}s for the fleet's lease: {}",
                            self.wait.as_secs(),
                            who.as_deref().unwrap_or("another opsdeck process holds it")
                        ));
                        said = true;
                    }
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    tokio::time::sleep(pause.min(left)).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    fn heartbeat(
        &self,
        resource: &str,
        holder: &Holder,
        clock: Arc<dyn Clock>,
    ) -> tokio::task::JoinHandle<()> {
        let (store, resource, mut holder, ttl) = (
            self.store.clone(),
            resource.to_string(),
            holder.clone(),
            self.ttl,
        );
        tokio::spawn(async move {
            loop {
                // Real time: the simulated fleet's clock must not be driven from here.
                tokio::time::sleep(ttl / 3).await;
                holder.until = clock.now() + chrono::Duration::from_std(ttl).unwrap_or_default();
                if let Err(e) = store.extend(&resource, &holder).await {
                    tracing::warn!("lease on `{resource}` not extended: {e}");
                }
            }
        })
    }
}

/// "the earlier operation … was abandoned".
pub fn abandoned_note(h: &Holder) -> String {
    format!(
        "an earlier operation was abandoned: {} was {} since {} (audit id {}) and left its lease (until {}) without releasing it",
        h.identity,
        h.doing(),
        h.since.format("%H:%M:%S UTC"),
        h.audit_id,
        h.until.format("%H:%M:%S UTC")
    )
}

/// A lease held by this process; [`Lease::release`] gives it up.
pub struct Lease {
    store: Arc<dyn LeaseStore>,
    resource: String,
    holder: Holder,
    abandoned: Option<Holder>,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl Lease {
    pub fn holder(&self) -> &Holder {
        &self.holder
    }

    /// The earlier holder whose lease this one took over after it was abandoned.
    pub fn abandoned(&self) -> Option<&Holder> {
        self.abandoned.as_ref()
    }

    /// Stop extending the lease and release it (a failure is logged: the lease then expires).
    pub async fn release(self) {
        self.heartbeat.abort();
        if let Err(e) = self.store.release(&self.resource, &self.holder).await {
            tracing::warn!("lease on `{}` not released: {e}", self.resource);
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

/// A new lease token: time, process, counter.
pub fn new_token(now: DateTime<Utc>) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{}-{}-{n}-{}",
        now.timestamp_nanos_opt().unwrap_or_default(),
        std::process::id(),
        host_name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store that grants every take and counts extends and releases.
    #[derive(Default)]
    struct Counting {
        extends: std::sync::atomic::AtomicUsize,
        releases: std::sync::atomic::AtomicUsize,
    }

    impl LeaseStore for Counting {
        fn name(&self) -> String {
            "counting".into()
        }
        fn try_take<'a>(
            &'a self,
            _: &'a str,
            _: &'a Holder,
            _: DateTime<Utc>,
        ) -> BoxFuture<'a, Result<Attempt, String>> {
            Box::pin(async { Ok(Attempt::Granted { abandoned: None }) })
        }
        fn extend<'a>(&'a self, _: &'a str, h: &'a Holder) -> BoxFuture<'a, Result<(), String>> {
            assert!(h.until > h.since, "extended into the future");
            self.extends
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Box::pin(async { Ok(()) })
        }
        fn release<'a>(&'a self, _: &'a str, _: &'a Holder) -> BoxFuture<'a, Result<(), String>> {
            self.releases
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Box::pin(async { Ok(()) })
        }
        fn holder<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<Holder>, String>> {
            Box::pin(async { Ok(None) })
        }
    }

    #[tokio::test]
    async fn a_held_lease_is_extended_while_it_runs_and_released_at_the_end() {
        use std::sync::atomic::Ordering::SeqCst;
        let store = Arc::new(Counting::default());
        let mut leases = Leases::new(store.clone());
        leases.ttl = Duration::from_millis(60);
        let clock: Arc<dyn Clock> = Arc::new(crate::fleet::clock::WallClock::new());
        let holder = Holder {
            identity: "alice".into(),
            host: "h".into(),
            pid: 1,
            token: "t".into(),
            audit_id: "a".into(),
            op: Op::Drain {
                region: "us-east-1".into(),
            },
            since: Utc::now(),
            until: Utc::now(),
        };
        let lease = leases.take("atlas", holder, clock).await.unwrap();
        // Every third of the time to live: wait until it was extended twice.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while store.extends.load(SeqCst) < 2 {
            assert!(tokio::time::Instant::now() < deadline, "never extended");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        lease.release().await;
        assert_eq!(store.releases.load(SeqCst), 1);
    }

    #[test]
    fn a_holder_says_who_does_what_since_when() {
        let since = DateTime::parse_from_rfc3339("2026-11-22T02:01:10Z")
            .unwrap()
            .with_timezone(&Utc);
        let h = Holder {
            identity: "arn:aws:iam::1:user/alice".into(),
            host: "ops-1".into(),
            pid: 42,
            token: "t".into(),
            audit_id: "a".into(),
            op: Op::Drain {
                region: "us-east-1".into(),
            },
            since,
            until: since + chrono::Duration::seconds(120),
        };
        assert_eq!(
            h.describe(),
            "arn:aws:iam::1:user/alice (host ops-1, pid 42) is draining us-east-1 since 02:01:10 UTC"
        );
        let scale = Op::Scale {
            region: "us-east-1".into(),
            cluster: "atlas-us".into(),
            service: "api".into(),
            desired: 5,
            bounds: None,
        };
        assert_eq!(doing(&scale), "scaling atlas-us/api in us-east-1 to 5");
    }
}
