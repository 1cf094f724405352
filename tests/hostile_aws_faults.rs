//! Issue 9, point 6, against moto through the fault proxy (`support::fault_proxy`): the AWS
//! source's pollers under throttling, 5xx, timeouts, truncated and endless answers. Throttling
//! backs off with jitter, 5xx and timeouts keep the normal schedule, data is fresh again within one
//! interval plus jitter once the fault ends, a broken answer fails that call with a reason and
//! never holds it past its time limit, an answer streamed fast without end is cut at 16 MiB with
//! the process's peak memory bounded, and the other regions read on meanwhile.
//!
//! Intervals are short (`metrics_s = 1`, `allow_fast`); waits are bounded waits for whole
//! conditions; schedule figures come from the proxy's log of when each request came and went.
// Each test holds the binary's moto lock for its whole run (one test at a time per server).
#![allow(clippy::await_holding_lock)]

mod support;

use opsdeck::fleet::{DataKind, Fleet, SourceError};
use opsdeck::source::aws::probe::{Limits, Prober};
use opsdeck::source::aws::{connect, AwsOptions};
use opsdeck::source::{SourceCommand, SourceEvent, SourceHandle};
use std::path::Path;
use std::time::{Duration, Instant};
use support::fault_proxy::{Fault, FaultProxy, Logged, Rule, Scope};
use support::moto::Moto;
use support::seed::{self, SEEDED};
use support::{health_server, moto_env};

/// The metrics interval: one second. Other kinds are slower, to keep the machine quiet.
const INTERVAL: Duration = Duration::from_secs(1);
/// The per-call time limit (`timeout_s`).
const TIMEOUT: Duration = Duration::from_secs(2);
const REFRESH: &str = "[refresh]\nmetrics_s = 1\necs_s = 1\ntopology_s = 5\nroute53_s = 5\ncost_s = 60\nprobe_s = 5\ntimeout_s = 2\nallow_fast = true\n";
/// What a loaded two-core machine may add to a wait (scheduling, the call itself).
const SLACK: Duration = Duration::from_millis(2500);
/// A timer never fires early; the proxy's clock and the poller's differ by microseconds.
const EARLY: Duration = Duration::from_millis(20);

/// An event as it arrived.
struct Arrived {
    at: Instant,
    event: SourceEvent,
}

/// The seeded deployment's fleet, with its AWS calls through a fault proxy in front of moto.
async fn through_proxy(moto: &Moto) -> (FaultProxy, SourceHandle) {
    moto_env();
    let seeded = seed::seed(&moto.url(), moto).await;
    let health = health_server().await;
    let urls = vec![health; 4];
    let text = seed::fleet_toml(&seeded, &urls, REFRESH);
    let fleet = Fleet::parse(&text, Path::new("atlas-faults.toml")).expect("fleet parses");
    let proxy = FaultProxy::start(&moto.url(), Fault::default())
        .await
        .expect("start the fault proxy");
    let opts = AwsOptions {
        endpoint_url: Some(proxy.url()),
        profile: None,
        retries: 0,
        refresh: None,
    };
    let source = connect(&fleet, &opts).await.expect("connect");
    (proxy, source.spawn(fleet))
}

/// Read events until `done` holds over what arrived (true) or `limit` passes (false).
async fn read_until(
    handle: &mut SourceHandle,
    seen: &mut Vec<Arrived>,
    limit: Duration,
    done: impl Fn(&[Arrived]) -> bool,
) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while !done(seen) {
        match tokio::time::timeout_at(deadline, handle.events.recv()).await {
            Ok(Some(event)) => seen.push(Arrived {
                at: Instant::now(),
                event,
            }),
            _ => return false,
        }
    }
    true
}

/// Readings of `kind` for `region` that arrived after `from`.
fn readings(seen: &[Arrived], region: &str, kind: DataKind, from: Instant) -> Vec<Instant> {
    seen.iter()
        .filter(|a| a.at > from)
        .filter(|a| matches!(&a.event, SourceEvent::Reading { region: r, reading, .. } if r == region && reading.kind() == kind))
        .map(|a| a.at)
        .collect()
}

/// Failures of `kind` for `region`.
fn failures<'a>(seen: &'a [Arrived], region: &str, kind: DataKind) -> Vec<&'a SourceError> {
    seen.iter()
        .filter_map(|a| match &a.event {
            SourceEvent::Failed {
                region: r,
                kind: k,
                error,
                ..
            } if r == region && *k == kind => Some(error),
            _ => None,
        })
        .collect()
}

/// The requests of `region`'s `call` that met `fault`, oldest first.
fn met(log: &[Logged], region: &str, call: &str, fault: &str) -> Vec<Logged> {
    let mut out: Vec<Logged> = log
        .iter()
        .filter(|l| l.region == region && l.call == call && l.fault.as_deref() == Some(fault))
        .cloned()
        .collect();
    out.sort_by_key(|l| l.received);
    out
}

/// How long the poller waited between an answer and its next request.
fn waits(requests: &[Logged]) -> Vec<Duration> {
    requests
        .windows(2)
        .map(|w| {
            let answered = w[0].answered.expect("answered before the next request");
            w[1].received.saturating_duration_since(answered)
        })
        .collect()
}

fn ms(d: &[Duration]) -> Vec<u128> {
    d.iter().map(|d| d.as_millis()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_backs_off_5xx_and_timeouts_keep_the_schedule_and_data_comes_back() {
    let moto = Moto::shared();
    let (proxy, mut handle) = through_proxy(&moto).await;
    let names: Vec<&str> = SEEDED.iter().map(|r| r.name).collect();
    let (throttled, failing, slow, healthy) = (names[0], names[1], names[2], names[3]);
    let mut seen = Vec::new();
    let start = Instant::now();
    let all = |s: &[Arrived]| {
        names
            .iter()
            .all(|r| !readings(s, r, DataKind::Metrics, start).is_empty())
    };
    assert!(read_until(&mut handle, &mut seen, Duration::from_secs(30), all).await);

    let metrics =
        |region: &str, fault: Fault| Rule::new(Scope::service(region, "monitoring"), fault);
    proxy.add_rule(metrics(throttled, Fault::Throttle));
    proxy.add_rule(metrics(failing, Fault::ServerError(503)));
    // Held past the time limit: every call times out.
    proxy.add_rule(metrics(
        slow,
        Fault::Delay(TIMEOUT + Duration::from_secs(1)),
    ));
    let fault_start = Instant::now();
    let enough = |s: &[Arrived]| {
        failures(s, throttled, DataKind::Metrics).len() >= 6
            && failures(s, failing, DataKind::Metrics).len() >= 6
            && failures(s, slow, DataKind::Metrics).len() >= 3
    };
    assert!(
        read_until(&mut handle, &mut seen, Duration::from_secs(60), enough).await,
        "faults seen: {:?}",
        proxy.log().iter().filter(|l| l.fault.is_some()).count()
    );
    let fault_end = proxy.clear_rules();

    // Each cause is named as such.
    for e in failures(&seen, throttled, DataKind::Metrics) {
        assert!(
            matches!(e, SourceError::Throttled(m) if m.contains("Throttling")),
            "{e:?}"
        );
    }
    for e in failures(&seen, failing, DataKind::Metrics) {
        assert!(
            matches!(e, SourceError::Other(m) if m.contains("ServiceUnavailable")),
            "{e:?}"
        );
    }
    for e in failures(&seen, slow, DataKind::Metrics) {
        assert!(matches!(e, SourceError::Timeout(_)), "{e:?}");
    }

    let log = proxy.log();
    // Throttling: never sooner than the interval, never later than two intervals (jitter of at
    // most one more), and in all later than the interval alone.
    let t = waits(&met(&log, throttled, "GetMetricData", "throttle"));
    assert!(t.len() >= 5, "{:?}", ms(&t));
    for w in &t {
        assert!(
            *w + EARLY >= INTERVAL && *w <= 2 * INTERVAL + SLACK,
            "throttled waits {:?}",
            ms(&t)
        );
    }
    let extra: Duration = t.iter().map(|w| w.saturating_sub(INTERVAL)).sum();
    assert!(
        extra >= INTERVAL / 10,
        "throttling backs off beyond the interval: waits {:?}",
        ms(&t)
    );
    // 5xx: the normal schedule, however long the fault lasts (no growing back-off).
    let f = waits(&met(&log, failing, "GetMetricData", "503"));
    assert!(f.len() >= 5, "{:?}", ms(&f));
    for w in &f {
        assert!(
            *w + EARLY >= INTERVAL && *w <= INTERVAL + SLACK,
            "5xx waits {:?}",
            ms(&f)
        );
    }
    // Timeouts: a call every time limit plus interval, no growth either.
    let slow_calls = met(&log, slow, "GetMetricData", "delay 3000 ms");
    let gaps: Vec<Duration> = slow_calls
        .windows(2)
        .map(|w| w[1].received - w[0].received)
        .collect();
    assert!(gaps.len() >= 2, "{:?}", ms(&gaps));
    for g in &gaps {
        assert!(
            *g + 10 * EARLY >= TIMEOUT + INTERVAL && *g <= TIMEOUT + INTERVAL + SLACK,
            "timeout gaps {:?}",
            ms(&gaps)
        );
    }
    // The healthy region read on, every interval, while the others failed.
    let during = readings(&seen, healthy, DataKind::Metrics, fault_start)
        .into_iter()
        .filter(|at| *at < fault_end)
        .count();
    let fault_s = (fault_end - fault_start).as_secs_f64();
    assert!(
        during as f64 >= fault_s / (INTERVAL + SLACK).as_secs_f64() - 1.0 && during >= 3,
        "{healthy}: {during} readings in {fault_s:.1} s of faults elsewhere"
    );

    // The fault ends: fresh metrics within one interval plus jitter (plus the call in flight).
    let back = |s: &[Arrived]| {
        [throttled, failing, slow]
            .iter()
            .all(|r| !readings(s, r, DataKind::Metrics, fault_end).is_empty())
    };
    assert!(read_until(&mut handle, &mut seen, Duration::from_secs(20), back).await);
    let fresh = |r: &str| readings(&seen, r, DataKind::Metrics, fault_end)[0] - fault_end;
    let (ft, ff, fs) = (fresh(throttled), fresh(failing), fresh(slow));
    eprintln!(
        "figures: throttled waits {:?} ms, 5xx waits {:?} ms, timeout gaps {:?} ms, {during} healthy readings in {fault_s:.1} s, fresh after {} / {} / {} ms",
        ms(&t),
        ms(&f),
        ms(&gaps),
        ft.as_millis(),
        ff.as_millis(),
        fs.as_millis()
    );
    assert!(ft <= 2 * INTERVAL + SLACK, "throttled fresh after {ft:?}");
    assert!(ff <= INTERVAL + SLACK, "5xx fresh after {ff:?}");
    assert!(fs <= TIMEOUT + INTERVAL + SLACK, "slow fresh after {fs:?}");
    handle.commands.send(SourceCommand::Shutdown).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_and_endless_answers_fail_that_call_with_a_reason_and_others_read_on() {
    let moto = Moto::shared();
    let (proxy, mut handle) = through_proxy(&moto).await;
    let names: Vec<&str> = SEEDED.iter().map(|r| r.name).collect();
    let (cut, trickled, healthy) = (names[0], names[1], names[3]);
    let mut seen = Vec::new();
    let start = Instant::now();
    let all = |s: &[Arrived]| {
        names.iter().all(|r| {
            !readings(s, r, DataKind::Metrics, start).is_empty()
                && !readings(s, r, DataKind::Ecs, start).is_empty()
        })
    };
    assert!(read_until(&mut handle, &mut seen, Duration::from_secs(30), all).await);

    // CloudWatch (XML) cut short; ECS (JSON) trickling a byte at a time.
    proxy.add_rule(Rule::new(
        Scope::service(cut, "monitoring"),
        Fault::Truncated,
    ));
    proxy.add_rule(Rule::new(
        Scope::service(trickled, "ecs"),
        Fault::Endless {
            chunk: 1,
            every: Duration::from_millis(100),
        },
    ));
    let fault_start = Instant::now();
    let enough = |s: &[Arrived]| {
        failures(s, cut, DataKind::Metrics).len() >= 3
            && failures(s, trickled, DataKind::Ecs).len() >= 2
    };
    assert!(read_until(&mut handle, &mut seen, Duration::from_secs(40), enough).await);
    let fault_end = proxy.clear_rules();

    for (region, kind) in [(cut, DataKind::Metrics), (trickled, DataKind::Ecs)] {
        for e in failures(&seen, region, kind) {
            let why = e.to_string();
            assert!(why.len() > 10, "{region} {kind:?}: a reason: {why}");
        }
    }
    let log = proxy.log();
    // An endless answer holds its call no longer than the time limit: the next call follows.
    for region in [trickled] {
        let calls = met(&log, region, "DescribeServices", "endless");
        let gaps: Vec<Duration> = calls
            .windows(2)
            .map(|w| w[1].received - w[0].received)
            .collect();
        assert!(!gaps.is_empty(), "{region}: {}", calls.len());
        for g in &gaps {
            assert!(
                *g <= TIMEOUT + INTERVAL + SLACK,
                "{region}: endless answers held calls {:?} ms",
                ms(&gaps)
            );
        }
    }
    // The others read on.
    for (region, kind) in [
        (healthy, DataKind::Metrics),
        (healthy, DataKind::Ecs),
        (cut, DataKind::Ecs),
        (trickled, DataKind::Metrics),
    ] {
        let n = readings(&seen, region, kind, fault_start)
            .into_iter()
            .filter(|at| *at < fault_end)
            .count();
        assert!(n >= 2, "{region} {kind:?}: {n} readings during the faults");
    }
    let cut_why = failures(&seen, cut, DataKind::Metrics)[0].to_string();
    assert!(cut_why.contains("end of file"), "{cut_why}");
    let trickle_why = failures(&seen, trickled, DataKind::Ecs)[0].to_string();
    assert!(trickle_why.starts_with("timeout"), "{trickle_why}");
    eprintln!("figures: reasons {cut_why:?} / {trickle_why:?}");
    handle.commands.send(SourceCommand::Shutdown).unwrap();
}

#[tokio::test]
async fn a_probe_answer_cut_short_is_a_failed_probe_with_the_reason() {
    let health = health_server().await;
    let (origin, path) = health.split_at(health.find("/health").unwrap());
    let proxy = FaultProxy::start(origin, Fault::Truncated).await.unwrap();
    let prober = Prober::new(Limits {
        max_body_bytes: 64 * 1024,
        deadline: Duration::from_secs(5),
    });
    let started = Instant::now();
    let p = prober.probe(&format!("{}{path}", proxy.url())).await;
    let why = p.failure.as_deref().expect("a failed probe");
    assert!(!p.is_ok(), "{p:?}");
    assert_eq!(p.http_status, Some(200));
    assert!(why.len() > 10, "{why}");
    assert!(started.elapsed() < Duration::from_secs(5), "{p:?}");
    // The same endpoint without the fault is healthy.
    proxy.set_fault(Fault::default());
    let p = prober.probe(&format!("{}{path}", proxy.url())).await;
    assert!(p.is_ok(), "{p:?}");
}

/// The child process of [`a_fast_endless_answer_is_cut_at_16_mib_and_memory_stays_bounded`]:
/// its fleet file and moto's address.
const CHILD_FLEET: &str = "OPSDECK_TEST_ENDLESS_FLEET";
const CHILD_MOTO: &str = "OPSDECK_TEST_ENDLESS_MOTO";
const CHILD_TEST: &str = "fast_endless_child";
/// The peak resident memory the whole process may reach (it was 189 MB before answers were
/// capped: the SDK buffered an endless answer until the time limit).
const PEAK_RSS_LIMIT_KB: u64 = 100 * 1024;

/// The peak resident set of this process so far (VmHWM), in KiB.
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

/// Memory is measured in a process of its own (this binary, running only [`fast_endless_child`]):
/// the other tests of the binary would count in this one's peak.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_endless_answer_is_cut_at_16_mib_and_memory_stays_bounded() {
    let moto = Moto::shared();
    moto_env();
    let seeded = seed::seed(&moto.url(), &moto).await;
    let health = health_server().await;
    let text = seed::fleet_toml(&seeded, &vec![health; 4], REFRESH);
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("atlas-endless.toml");
    std::fs::write(&fleet, text).unwrap();
    let child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([CHILD_TEST, "--exact", "--ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(CHILD_FLEET, &fleet)
        .env(CHILD_MOTO, moto.url())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(180), child)
        .await
        .expect("the child ends within 3 minutes")
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child: {stdout}\n{stderr}");
    // It ran the case (not zero tests because of a filter gone stale).
    assert!(stdout.contains("1 passed"), "{stdout}");
    let figures = stderr
        .lines()
        .find(|l| l.starts_with("figures:"))
        .unwrap_or_else(|| panic!("the child's figures: {stderr}"));
    eprintln!("{figures}");
}

/// Run only by the test above, in a child process; alone it measures itself the same way.
#[ignore = "run in a child process by a_fast_endless_answer_is_cut_at_16_mib_and_memory_stays_bounded"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_endless_child() {
    let (Ok(fleet), Ok(moto_url)) = (std::env::var(CHILD_FLEET), std::env::var(CHILD_MOTO)) else {
        panic!("run by a_fast_endless_answer_is_cut_at_16_mib_and_memory_stays_bounded");
    };
    moto_env();
    let fleet = Fleet::load(Path::new(&fleet)).expect("fleet loads");
    let proxy = FaultProxy::start(&moto_url, Fault::default())
        .await
        .expect("start the fault proxy");
    let opts = AwsOptions {
        endpoint_url: Some(proxy.url()),
        profile: None,
        retries: 0,
        refresh: None,
    };
    let source = connect(&fleet, &opts).await.expect("connect");
    let mut handle = source.spawn(fleet);
    let names: Vec<&str> = SEEDED.iter().map(|r| r.name).collect();
    let (flooded, healthy) = (names[1], names[3]);
    let mut seen = Vec::new();
    let start = Instant::now();
    let all = |s: &[Arrived]| {
        names
            .iter()
            .all(|r| !readings(s, r, DataKind::Ecs, start).is_empty())
    };
    assert!(read_until(&mut handle, &mut seen, Duration::from_secs(30), all).await);
    let before = peak_rss_kb();

    // 1 MiB every 4 ms: some 256 MB/s over loopback, without end.
    proxy.add_rule(Rule::new(
        Scope::service(flooded, "ecs"),
        Fault::Endless {
            chunk: 1 << 20,
            every: Duration::from_millis(4),
        },
    ));
    let fault_start = Instant::now();
    let enough = |s: &[Arrived]| failures(s, flooded, DataKind::Ecs).len() >= 4;
    assert!(read_until(&mut handle, &mut seen, Duration::from_secs(60), enough).await);
    let fault_end = proxy.clear_rules();
    let peak = peak_rss_kb();

    let reasons: Vec<String> = failures(&seen, flooded, DataKind::Ecs)
        .iter()
        .map(|e| e.to_string())
        .collect();
    for why in &reasons {
        assert_eq!(why, "answer larger than 16 MiB", "{reasons:?}");
    }
    // Cut at the limit, not held to the time limit: the next call follows on the schedule.
    let calls = met(&proxy.log(), flooded, "DescribeServices", "endless");
    // (The newest call may still be under way.)
    let held: Vec<Duration> = calls
        .iter()
        .filter_map(|c| Some(c.answered? - c.received))
        .collect();
    assert!(
        held.len() >= 3,
        "{} of {} calls over",
        held.len(),
        calls.len()
    );
    for h in &held {
        assert!(
            *h < TIMEOUT,
            "an endless answer held its call {:?} ms",
            ms(&held)
        );
    }
    let others = readings(&seen, healthy, DataKind::Ecs, fault_start)
        .into_iter()
        .filter(|at| *at < fault_end)
        .count();
    assert!(
        others >= 2,
        "{healthy}: {others} ECS readings during the flood"
    );
    eprintln!(
        "figures: peak RSS {} MB before the flood, {} MB after {} answers cut (limit {} MB); calls held {:?} ms; reason {:?}",
        before / 1024,
        peak / 1024,
        reasons.len(),
        PEAK_RSS_LIMIT_KB / 1024,
        ms(&held),
        reasons[0]
    );
    assert!(
        peak < PEAK_RSS_LIMIT_KB,
        "peak RSS {} MB (limit {} MB)",
        peak / 1024,
        PEAK_RSS_LIMIT_KB / 1024
    );
    handle.commands.send(SourceCommand::Shutdown).unwrap();
}
