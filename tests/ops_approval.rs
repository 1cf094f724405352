//! Two-person approval (issue 10 §5) against moto with two identities: with `[guards]
//! approval_required = ["drain"]`, alice's confirmed drain is recorded as pending (with `[shared]`
//! in the lock table, without it in the state directory) and waits; `act pending` lists it; alice
//! cannot approve her own; bob approves it by typing the region; alice's pipeline then runs it and
//! both identities are in the audit records. An approval nobody gave expires, and a late approval
//! is refused; every refusal is audited (in the shared trail too).
// Each test holds the binary's moto lock for its whole run; each has its own runtime.
#![allow(clippy::await_holding_lock)]

mod support;

use opsdeck::ops::audit::{AuditRecord, Phase};
use opsdeck::ops::OpResult;
use std::io::{BufRead, BufReader};
use std::process::{Child, Output, Stdio};
use support::moto::Moto;
use support::operators::{drain, env, show, text, Case, Env, Identity};

const ALICE: &str = "assumed-role/oncall/alice";
const BOB: &str = "assumed-role/oncall/bob";

/// Alice's confirmed drain of us-east-1, started and waiting for approval.
struct Request {
    child: Child,
    /// The approval id she was given.
    id: String,
    /// The rest of her standard error, read on as she goes (a full pipe must not stop her).
    rest: std::thread::JoinHandle<String>,
}

impl Request {
    /// Her exit and the rest of her standard error.
    fn end(self) -> (Output, String) {
        let out = self.child.wait_with_output().unwrap();
        (out, self.rest.join().unwrap())
    }
}

/// Start alice's drain; return once she said it is pending.
fn alice_requests(case: &Case, alice: &Identity) -> Request {
    let mut child = case
        .act(alice, 0, &drain("us-east-1"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start alice");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    loop {
        said.clear();
        let n = err.read_line(&mut said).unwrap();
        assert!(n > 0, "alice ended without saying her drain is pending");
        if said.contains("pending as") {
            break;
        }
    }
    assert!(
        said.contains("needs a second identity's approval") && said.contains("opsdeck act approve"),
        "{said}"
    );
    let id = said
        .split("pending as ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .to_string();
    let rest = std::thread::spawn(move || {
        let mut all = String::new();
        std::io::Read::read_to_string(&mut err, &mut all).unwrap();
        all
    });
    Request { child, id, rest }
}

fn approve<'a>(id: &'a str, region: &'a str) -> Vec<&'a str> {
    vec!["approve", id, "--confirm", region]
}

fn refused_with(records: &[AuditRecord], who: &str, rule: &str) -> bool {
    records.iter().any(|r| {
        r.operator.ends_with(who)
            && r.phase == Phase::Ended
            && matches!(&r.result, Some(OpResult::Refused { rule: Some(x), .. }) if x == rule)
    })
}

fn pending_json(case: &Case, who: &Identity) -> Vec<serde_json::Value> {
    let out = case
        .act(who, 0, &["pending", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(&out)))
}

async fn case(env: &Env, name: &str, shared: bool, guards: &str) -> (Case, Option<String>) {
    let group = shared.then(|| format!("/opsdeck/{name}"));
    if let Some(g) = &group {
        env.log_group(g).await;
    }
    let case = env
        .case(name, [70, 20, 10, 0], group.as_deref())
        .await
        .with_guards(guards);
    (case, group)
}

async fn end_to_end(shared: bool) {
    let moto = Moto::shared();
    let env = env(&moto).await;
    let name = format!("approve-{}", if shared { "shared" } else { "local" });
    let (case, group) = case(&env, &name, shared, "approval_required = [\"drain\"]").await;
    let alice = alice_requests(&case, &env.alice);
    let id = alice.id.clone();

    // Listed for everyone, with its plan, requester and expiry; nothing ran yet.
    let listed = pending_json(&case, &env.bob);
    assert_eq!(listed.len(), 1, "{listed:#?}");
    let p = &listed[0];
    assert_eq!(p["id"], id.as_str());
    assert_eq!(p["state"], "pending");
    assert_eq!(p["plan"]["region"], "us-east-1");
    assert!(p["requester"].as_str().unwrap().ends_with(ALICE), "{p}");
    assert!(p["expires_at"].as_str().unwrap() > p["requested_at"].as_str().unwrap());
    assert_eq!(
        case.weights().await,
        [70, 20, 10, 0],
        "nothing ran before approval"
    );

    // Alice cannot approve her own drain; bob's wrong region approves nothing.
    let own = case
        .act(&env.alice, 0, &approve(&id, "us-east-1"))
        .output()
        .unwrap();
    assert_eq!(own.status.code(), Some(1), "{}", show(&own));
    assert!(
        text(&own.stderr).contains("cannot approve it"),
        "{}",
        show(&own)
    );
    let typo = case
        .act(&env.bob, 0, &approve(&id, "us-east-2"))
        .output()
        .unwrap();
    assert_eq!(typo.status.code(), Some(1), "{}", show(&typo));
    assert!(
        text(&typo.stderr).contains("does not match the region"),
        "{}",
        show(&typo)
    );
    let unknown = case
        .act(&env.bob, 0, &approve("nosuchid", "us-east-1"))
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2), "{}", show(&unknown));
    assert_eq!(case.weights().await, [70, 20, 10, 0], "still nothing ran");
    assert_eq!(pending_json(&case, &env.bob)[0]["state"], "pending");

    let ok = case
        .act(&env.bob, 0, &approve(&id, "us-east-1"))
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0), "{}", show(&ok));
    let (alice, said) = alice.end();
    assert_eq!(alice.status.code(), Some(0), "{}\n{said}", show(&alice));
    assert_eq!(
        case.weights().await,
        [70, 0, 10, 0],
        "alice's drain ran once approved"
    );
    assert!(
        pending_json(&case, &env.bob).is_empty(),
        "the approval was used up"
    );

    // Both identities in her records: she requested it, bob approved it.
    let hers = case.records(&env.alice);
    let ran: Vec<&AuditRecord> = hers
        .iter()
        .filter(|r| r.result.as_ref().is_some_and(|x| x.took_effect()))
        .collect();
    assert_eq!(ran.len(), 1, "{hers:#?}");
    assert!(ran[0].operator.ends_with(ALICE));
    assert!(
        ran[0]
            .approved_by
            .as_deref()
            .is_some_and(|b| b.ends_with(BOB)),
        "{:#?}",
        ran[0]
    );
    let requested = hers
        .iter()
        .find(|r| r.id == ran[0].id && r.phase == Phase::Requested)
        .unwrap();
    assert_eq!(requested.approved_by, ran[0].approved_by);
    // Every refusal audited: alice's self-approval in her log, bob's typo in his.
    assert!(refused_with(&hers, ALICE, "approval-self"), "{hers:#?}");
    assert!(refused_with(&case.records(&env.bob), BOB, "approval"));
    if let Some(group) = group {
        let all = case.shared_records(&group).await;
        assert!(refused_with(&all, ALICE, "approval-self"), "{all:#?}");
        assert!(refused_with(&all, BOB, "approval"), "{all:#?}");
        assert!(all
            .iter()
            .any(|r| r.id == ran[0].id && r.approved_by == ran[0].approved_by));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_needing_approval_runs_once_another_identity_approves_it_in_the_lock_table() {
    end_to_end(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_needing_approval_runs_once_another_identity_approves_it_in_the_state_dir() {
    end_to_end(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_nobody_gave_expires_and_a_late_one_is_refused() {
    let moto = Moto::shared();
    let env = env(&moto).await;
    let guards = "approval_required = [\"drain\", \"scale\"]\napproval_expiry_s = 1";
    let (case, group) = case(&env, "approve-expiry", true, guards).await;
    let alice = alice_requests(&case, &env.alice);
    let id = alice.id.clone();
    // Her pipeline waits one second of its clock, then refuses: nobody approved.
    let (alice, said) = alice.end();
    assert_eq!(alice.status.code(), Some(1), "{}\n{said}", show(&alice));
    assert!(said.contains("before it expired"), "{said}");
    assert_eq!(case.weights().await, [70, 20, 10, 0], "nothing ran");
    assert_eq!(pending_json(&case, &env.bob)[0]["state"], "expired");
    // Bob, late, is refused.
    let late = case
        .act(&env.bob, 0, &approve(&id, "us-east-1"))
        .output()
        .unwrap();
    assert_eq!(late.status.code(), Some(1), "{}", show(&late));
    assert!(text(&late.stderr).contains("expired"), "{}", show(&late));
    let group = group.unwrap();
    let all = case.shared_records(&group).await;
    assert!(refused_with(&all, ALICE, "approval-expired"), "{all:#?}");
    assert!(refused_with(&all, BOB, "approval-expired"), "{all:#?}");
    assert!(refused_with(
        &case.records(&env.alice),
        ALICE,
        "approval-expired"
    ));
    assert_eq!(case.weights().await, [70, 20, 10, 0], "nothing ran");
}
