//! Several operators at once (issue 10), against moto: the lease around every operation (a lock
//! file in the state directory, or with `[shared]` an item of a DynamoDB table) and the fresh
//! re-check of the guards under it. Two `opsdeck act` processes are started at one moment (a
//! barrier), as two identities, each race on a fleet of its own (`support::operators`).
//!
//! DynamoDB makes a conditional write atomic; moto does not under truly simultaneous requests,
//! so every call goes through a proxy that lets one DynamoDB call through at a time, and the
//! verdict also checks the lock table's history and both audit logs.
// Each test holds the binary's moto lock for its whole run; each has its own runtime.
#![allow(clippy::await_holding_lock)]

mod support;

use opsdeck::ops::audit::{AuditRecord, Decision, Phase};
use opsdeck::ops::pipeline::HOLD_WHILE_FILE_ENV;
use opsdeck::ops::OpResult;
use std::io::{BufRead, BufReader};
use std::process::{Output, Stdio};
use std::time::Instant;
use support::moto::Moto;
use support::operators::{drain, env, pairs_at_once, show, text, until, Case, Env, Identity};

/// Executed requests in a log.
fn executed(records: &[AuditRecord]) -> usize {
    records
        .iter()
        .filter(|r| r.phase == Phase::Requested && r.decision == Decision::Execute)
        .count()
}

/// The refusal names why: the lease's holder and what they do, or a guard of the fresh re-check.
fn refusal_names_why(out: &Output, other: &Identity, doing: &str) -> bool {
    let err = text(&out.stderr);
    let by_lease = err.contains("lease is held")
        && err.contains(&format!("assumed-role/oncall/{}", other.name))
        && err.contains(doing);
    let by_guard = [
        "last-serving-region",
        "cooldown",
        "the fleet changed since the plan",
        // stale-plan: the other's change landed between this plan and its confirmation.
        "the fleet moved since the plan was shown: ",
    ]
    .iter()
    .any(|why| err.contains(why));
    err.contains("refused:") && (by_lease || by_guard)
}

/// One race: `a` and `b` at once; exactly one applied, the other refused saying why; the lease
/// history sound; the audit logs agree.
fn judge(
    case: &Case,
    env: &Env,
    outs: (&Output, &Output),
    doing: (&str, &str),
) -> Result<(), String> {
    let (oa, ob) = outs;
    let codes = (oa.status.code(), ob.status.code());
    let (applied, refused, other, what) = match codes {
        (Some(0), Some(1)) => (oa, ob, &env.alice, doing.0),
        (Some(1), Some(0)) => (ob, oa, &env.bob, doing.1),
        _ => {
            return Err(format!(
                "{}: want one applied and one refused, got\n{}\n{}",
                case.name,
                show(oa),
                show(ob)
            ))
        }
    };
    if !text(&applied.stdout).contains("RESULT    applied") {
        return Err(format!("{}: not applied:\n{}", case.name, show(applied)));
    }
    if !refusal_names_why(refused, other, what) {
        return Err(format!(
            "{}: the refusal does not name why:\n{}",
            case.name,
            show(refused)
        ));
    }
    let runs = executed(&case.records(&env.alice)) + executed(&case.records(&env.bob));
    if runs != 1 {
        return Err(format!(
            "{}: {runs} executed requests in the audit logs",
            case.name
        ));
    }
    // The refusal is audited like any other: a refused request and its end.
    let refuser = if std::ptr::eq(other, &env.alice) {
        &env.bob
    } else {
        &env.alice
    };
    let theirs = case.records(refuser);
    let audited = theirs.len() == 2
        && theirs.iter().all(|r| r.decision == Decision::Refused)
        && matches!(&theirs[1].result, Some(OpResult::Refused { .. }));
    if !audited {
        return Err(format!(
            "{}: the refusal's audit records: {theirs:#?}",
            case.name
        ));
    }
    Ok(())
}

/// The lock table's history for `resource`: the successful takes and releases alternate (never
/// a second take while a lease is held), the last one a release: the item is gone at the end.
async fn lease_history_sound(env: &Env, resource: &str) -> Result<(), String> {
    let history: Vec<bool> = env
        .proxy
        .takes()
        .into_iter()
        .filter(|t| t.resource == resource && t.granted)
        .map(|t| t.release)
        .collect();
    let alternate = history
        .iter()
        .enumerate()
        .all(|(i, release)| *release == (i % 2 == 1));
    if history.is_empty() || !alternate || history.len() % 2 == 1 {
        return Err(format!(
            "{resource}: takes (false) and releases (true) do not alternate: {history:?}"
        ));
    }
    match env.lease_item(resource).await {
        None => Ok(()),
        Some(i) => Err(format!("{resource}: the lease was not released: {i:?}")),
    }
}

/// Races run at once, each pair on a fleet of its own: the 20 take the time of a few.
const AT_ONCE: usize = 4;

/// One race: a fleet, what alice and bob run, and what each is then doing.
struct Race {
    case: Case,
    alice: Vec<String>,
    bob: Vec<String>,
    doing: (String, String),
}

/// Run `races` (AT_ONCE at a time); the failures of those that `judge` and `check` find.
async fn run_races(
    env: &Env,
    races: Vec<Race>,
    mut check: impl AsyncFnMut(&Race, &Output, &Output) -> Result<(), String>,
) -> (Vec<String>, usize) {
    let mut failures = Vec::new();
    let mut by_lease = 0;
    let mut races = races.into_iter().peekable();
    while races.peek().is_some() {
        let chunk: Vec<Race> = races.by_ref().take(AT_ONCE).collect();
        let pairs = chunk
            .iter()
            .map(|r| {
                (
                    r.case.act(&env.alice, 0, &arg(&r.alice)),
                    r.case.act(&env.bob, 0, &arg(&r.bob)),
                )
            })
            .collect();
        for (race, (oa, ob)) in chunk.iter().zip(pairs_at_once(pairs)) {
            let verdict = match check(race, &oa, &ob).await {
                Ok(()) => judge(&race.case, env, (&oa, &ob), (&race.doing.0, &race.doing.1)),
                e => e,
            };
            if let Err(e) = verdict {
                failures.push(e);
                continue;
            }
            by_lease += [&oa, &ob]
                .iter()
                .filter(|o| text(&o.stderr).contains("lease is held"))
                .count();
        }
    }
    (failures, by_lease)
}

fn arg(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn owned(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

async fn drain_race(shared: bool) {
    let moto = Moto::shared();
    let env = env(&moto).await;
    let mode = if shared { "shared" } else { "local" };
    let started = Instant::now();
    let mut races = Vec::new();
    for i in 0..20 {
        let name = format!("race-{mode}-{i}");
        let group = format!("/opsdeck/{name}");
        if shared {
            env.log_group(&group).await;
        }
        races.push(Race {
            case: env
                .case(&name, [70, 20, 0, 0], shared.then_some(group.as_str()))
                .await,
            alice: owned(&drain("eu-west-1")),
            bob: owned(&drain("us-east-1")),
            doing: ("draining eu-west-1".into(), "draining us-east-1".into()),
        });
    }
    let (failures, by_lease) = run_races(&env, races, async |race, oa, ob| {
        let weights = race.case.weights().await;
        if weights.iter().all(|w| *w == 0) {
            return Err(format!(
                "{}: every weight is 0\n{}\n{}",
                race.case.name,
                show(oa),
                show(ob)
            ));
        }
        if weights[2..] != [0, 0] || weights[..2].iter().filter(|w| **w == 0).count() != 1 {
            return Err(format!("{}: weights {weights:?}", race.case.name));
        }
        if shared {
            lease_history_sound(&env, &race.case.name).await?;
        }
        Ok(())
    })
    .await;
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    eprintln!(
        "20 drain races ({mode}) in {:?}: {by_lease} refused by the lease, the others by the fresh re-check",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_drains_at_once_never_drain_every_region_with_local_leases() {
    drain_race(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_drains_at_once_never_drain_every_region_with_a_shared_lease() {
    drain_race(true).await;
}

/// `scale --region us-east-1 --service api --desired N --execute --confirm us-east-1`.
fn scale(desired: &str) -> Vec<&str> {
    vec![
        "scale",
        "--region",
        "us-east-1",
        "--service",
        "api",
        "--desired",
        desired,
        "--execute",
        "--confirm",
        "us-east-1",
    ]
}

async fn scale_race(shared: bool) {
    let moto = Moto::shared();
    let env = env(&moto).await;
    let mode = if shared { "shared" } else { "local" };
    let started = Instant::now();
    let mut races = Vec::new();
    for i in 0..20 {
        let name = format!("scale-{mode}-{i}");
        let group = format!("/opsdeck/{name}");
        if shared {
            env.log_group(&group).await;
        }
        // A service of its own, so that races run at once do not meet.
        env.service(&name).await;
        let scale = |n: &str| {
            owned(&[
                "scale",
                "--region",
                "us-east-1",
                "--service",
                &name,
                "--desired",
                n,
                "--execute",
                "--confirm",
                "us-east-1",
            ])
        };
        let doing = |n| format!("scaling atlas-us/{name} in us-east-1 to {n}");
        races.push(Race {
            case: env
                .case(&name, [70, 20, 10, 0], shared.then_some(group.as_str()))
                .await
                .with_service(&name),
            alice: scale("5"),
            bob: scale("6"),
            doing: (doing(5), doing(6)),
        });
    }
    let (failures, by_lease) = run_races(&env, races, async |race, oa, _| {
        let want = if oa.status.success() { 5 } else { 6 };
        let got = env.desired(&race.case.name).await;
        if got != want {
            return Err(format!(
                "{}: desired count {got}, want {want}",
                race.case.name
            ));
        }
        if shared {
            lease_history_sound(&env, &race.case.name).await?;
        }
        Ok(())
    })
    .await;
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    eprintln!(
        "20 scale races ({mode}) in {:?}: {by_lease} refused by the lease",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_scales_of_one_service_at_once_run_once_with_local_leases() {
    scale_race(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_scales_of_one_service_at_once_run_once_with_a_shared_lease() {
    scale_race(true).await;
}

/// Alice's drain of ap-southeast-1, held between execute and verify until `hold` is removed;
/// returns once it holds the fleet's lease and has executed.
async fn alice_holds(
    env: &Env,
    case: &Case,
    shared: bool,
    hold: &std::path::Path,
) -> std::process::Child {
    std::fs::write(hold, "").unwrap();
    let child = case
        .act(&env.alice, 0, &drain("ap-southeast-1"))
        .env(HOLD_WHILE_FILE_ENV, hold)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start alice");
    let pid = child.id().to_string();
    let holding = until(async || {
        let lease = if shared {
            env.lease_item(&case.name)
                .await
                .is_some_and(|i| i["pid"].as_n().is_ok_and(|p| *p == pid))
        } else {
            std::fs::read_to_string(case.holder_file())
                .is_ok_and(|h| h.contains(&format!("\"pid\":{pid}")))
        };
        lease && case.weights().await[2] == 0
    })
    .await;
    assert!(
        holding,
        "alice never held the lease with ap-southeast-1 drained"
    );
    child
}

async fn killed_holder(shared: bool) {
    let moto = Moto::shared();
    let env = env(&moto).await;
    let name = format!("kill-{}", if shared { "shared" } else { "local" });
    let group = format!("/opsdeck/{name}");
    if shared {
        env.log_group(&group).await;
    }
    let case = env
        .case(&name, [70, 20, 10, 0], shared.then_some(group.as_str()))
        .await;
    let hold = case.dir.path().join("hold");
    let mut alice = alice_holds(&env, &case, shared, &hold).await;
    alice.kill().expect("SIGKILL alice");
    alice.wait().unwrap();
    let bob = drain("us-east-1");
    let alice_was = "assumed-role/oncall/alice";
    if shared {
        // Her item stays until it expires: refused, naming her and what she was doing.
        let out = case.act(&env.bob, 0, &bob).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", show(&out));
        let err = text(&out.stderr);
        assert!(
            err.contains("lease is held")
                && err.contains(alice_was)
                && err.contains("is draining ap-southeast-1"),
            "{}",
            show(&out)
        );
        assert_eq!(case.weights().await, [70, 20, 0, 0], "nothing ran");
        // The refusal is in the shared trail too, naming the lease.
        let config = support::seed::sdk_config(&env.moto_url);
        let trail = opsdeck::ops::audit::shared::SharedLog::new(&config, &group);
        let records = trail
            .records_since(chrono::DateTime::UNIX_EPOCH)
            .await
            .unwrap();
        assert!(
            records.iter().any(|r| r.operator.ends_with("/bob")
                && matches!(&r.result, Some(OpResult::Refused { rule: Some(rule), .. }) if rule == "lease")),
            "{records:#?}"
        );
    }
    // Two minutes on (the default time to live), or at once when the OS released her lock.
    let later = if shared { 121 } else { 0 };
    let out = case.act(&env.bob, later, &bob).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("an earlier operation was abandoned")
            && err.contains(alice_was)
            && err.contains("draining ap-southeast-1"),
        "bob says alice's operation was abandoned:\n{}",
        show(&out)
    );
    assert_eq!(case.weights().await, [70, 0, 0, 0]);
    // The abandoned operation is in bob's audit records too (both of his drain's).
    let ran: Vec<AuditRecord> = case
        .records(&env.bob)
        .into_iter()
        .filter(|r| r.decision == opsdeck::ops::audit::Decision::Execute)
        .collect();
    assert_eq!(ran.len(), 2, "{ran:#?}");
    assert!(
        ran.iter().all(|r| r
            .abandoned
            .as_deref()
            .is_some_and(|a| a.contains(alice_was) && a.contains("draining ap-southeast-1"))),
        "{ran:#?}"
    );
    if shared {
        assert!(
            env.lease_item(&case.name).await.is_none(),
            "bob released his lease"
        );
    } else {
        assert!(!case.holder_file().exists(), "bob released his lease");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_holders_lock_is_abandoned_and_the_next_operation_says_so() {
    killed_holder(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_holders_lease_expires_and_the_next_operation_says_so() {
    killed_holder(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_wait_an_operation_waits_for_the_lease_and_then_runs() {
    let moto = Moto::shared();
    let env = env(&moto).await;
    let group = "/opsdeck/wait";
    env.log_group(group).await;
    let case = env.case("wait", [70, 20, 10, 0], Some(group)).await;
    let hold = case.dir.path().join("hold");
    let alice = alice_holds(&env, &case, true, &hold).await;
    let mut bob = case
        .act(&env.bob, 0, &[&scale("7")[..], &["--wait", "60s"]].concat())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Bob says he waits, and for whom; only then does alice go on.
    let mut said = String::new();
    let mut err = BufReader::new(bob.stderr.take().unwrap());
    err.read_line(&mut said).unwrap();
    assert!(
        said.contains("waiting up to 60s for the fleet's lease")
            && said.contains("assumed-role/oncall/alice")
            && said.contains("is draining ap-southeast-1"),
        "{said}"
    );
    std::fs::remove_file(&hold).unwrap();
    let alice = alice.wait_with_output().unwrap();
    assert!(alice.status.success());
    let bob = bob.wait_with_output().unwrap();
    assert_eq!(bob.status.code(), Some(0), "{}", show(&bob));
    assert_eq!(env.api_desired().await, 7);
    // Bob's operation started after alice's ended.
    let ended = |r: &[AuditRecord], phase| r.iter().find(|r| r.phase == phase).map(|r| r.time);
    let alice_end = ended(&case.records(&env.alice), Phase::Ended).unwrap();
    let bob_start = ended(&case.records(&env.bob), Phase::Requested).unwrap();
    assert!(bob_start >= alice_end, "{bob_start} before {alice_end}");
}
