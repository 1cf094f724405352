//! The shared audit trail (issue 10) against moto: with `[shared]` every audit record also goes to
//! the fleet's CloudWatch Logs group, one stream per operator and host, before the next step;
//! the cooldown, restore's recorded weight and undo read it merged with the local log; a trail
//! that cannot be written runs nothing.
// Each test holds the binary's moto lock for its whole run; each has its own runtime.
#![allow(clippy::await_holding_lock)]

mod support;

use opsdeck::ops::audit::shared::SharedLog;
use opsdeck::ops::audit::trail::Trail;
use opsdeck::ops::audit::{AuditLog, Decision, Phase};
use opsdeck::ops::OpResult;
use support::moto::Moto;
use support::operators::{drain, env, show, text, COOLDOWN_S};
use support::seed;

fn scale<'a>(region: &'a str, service: &'a str, desired: &'a str) -> Vec<&'a str> {
    vec![
        "scale",
        "--region",
        region,
        "--service",
        service,
        "--desired",
        desired,
        "--execute",
        "--confirm",
        region,
    ]
}

fn applied(out: &std::process::Output) {
    assert_eq!(out.status.code(), Some(0), "{}", show(out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_operators_records_interleave_in_the_shared_trail() {
    let moto = Moto::shared();
    let env = env(&moto).await;
    let group = "/opsdeck/interleave";
    env.log_group(group).await;
    let case = env.case("interleave", [70, 20, 10, 0], Some(group)).await;
    applied(
        &case
            .act(&env.alice, 0, &scale("us-east-1", "api", "5"))
            .output()
            .unwrap(),
    );
    applied(
        &case
            .act(&env.bob, 0, &drain("ap-southeast-1"))
            .output()
            .unwrap(),
    );
    applied(
        &case
            .act(&env.alice, 0, &scale("us-east-1", "worker", "4"))
            .output()
            .unwrap(),
    );
    applied(
        &case
            .act(&env.bob, 0, &scale("eu-west-1", "api", "6"))
            .output()
            .unwrap(),
    );

    let config = seed::sdk_config(&env.moto_url);
    let shared = SharedLog::new(&config, group);
    let epoch = chrono::DateTime::UNIX_EPOCH;
    let records = shared.records_since(epoch).await.unwrap();
    let who: Vec<(&str, Phase)> = records
        .iter()
        .map(|r| (r.operator.rsplit('/').next().unwrap(), r.phase))
        .collect();
    let (req, end) = (Phase::Requested, Phase::Ended);
    assert_eq!(
        who,
        [
            ("alice", req),
            ("alice", end),
            ("bob", req),
            ("bob", end),
            ("alice", req),
            ("alice", end),
            ("bob", req),
            ("bob", end)
        ],
        "{records:#?}"
    );
    assert!(records.windows(2).all(|w| w[0].time <= w[1].time));
    // One stream per operator and host.
    let streams = aws_sdk_cloudwatchlogs::Client::new(&config)
        .describe_log_streams()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    let mut names: Vec<&str> = streams
        .log_streams()
        .iter()
        .filter_map(|s| s.log_stream_name())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[0].contains("oncall/alice@") && names[1].contains("oncall/bob@"));
    // Alice's own log holds her records only; read through the trail it holds everyone's, in
    // order, each once.
    let local = AuditLog::new(case.audit(&env.alice));
    assert_eq!(local.read().unwrap().len(), 4);
    let trail = Trail {
        local: &local,
        shared: Some(&shared),
    };
    let merged = trail.read(chrono::Utc::now()).await.unwrap();
    let ids = |v: &[opsdeck::ops::AuditRecord]| {
        v.iter()
            .map(|r| (r.id.clone(), r.phase))
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&merged), ids(&records));
    // The console's audit view: the newest records, newest first, bob's among them.
    let view = trail.read_last(3, chrono::Utc::now()).await.unwrap();
    let newest: Vec<_> = records.iter().rev().take(3).cloned().collect();
    assert_eq!(ids(&view.records), ids(&newest));
    assert!(view.partial, "older records exist");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cooldown_restore_and_undo_see_the_other_operators_changes() {
    let moto = Moto::shared();
    let env = env(&moto).await;
    // Without [shared], each operator's cooldown sees only their own log: both scales run.
    let alone = env.case("alone", [70, 20, 10, 0], None).await;
    applied(
        &alone
            .act(&env.alice, 0, &scale("us-east-1", "api", "5"))
            .output()
            .unwrap(),
    );
    applied(
        &alone
            .act(&env.bob, 0, &scale("us-east-1", "api", "7"))
            .output()
            .unwrap(),
    );
    assert_eq!(env.api_desired().await, 7);

    let group = "/opsdeck/together";
    env.log_group(group).await;
    let case = env.case("together", [70, 20, 10, 0], Some(group)).await;
    applied(
        &case
            .act(&env.alice, 0, &scale("us-east-1", "api", "9"))
            .output()
            .unwrap(),
    );
    let out = case
        .act(&env.bob, 0, &scale("us-east-1", "api", "11"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(text(&out.stderr).contains("cooldown"), "{}", show(&out));
    assert_eq!(env.api_desired().await, 9, "bob's scale did not run");

    // After the cooldown, bob undoes alice's scale: found in the shared trail.
    let later = COOLDOWN_S + 1;
    let out = case
        .act(
            &env.bob,
            later,
            &["undo", "--execute", "--confirm", "us-east-1"],
        )
        .output()
        .unwrap();
    applied(&out);
    assert!(
        text(&out.stderr).contains("undoing scale atlas-us/api in us-east-1 to 9"),
        "{}",
        show(&out)
    );
    assert_eq!(env.api_desired().await, 7);

    // Alice drains us-east-1; bob restores it to the weight her drain recorded.
    applied(
        &case
            .act(&env.alice, 0, &drain("us-east-1"))
            .output()
            .unwrap(),
    );
    let out = case
        .act(
            &env.bob,
            later,
            &[
                "restore",
                "--region",
                "us-east-1",
                "--execute",
                "--confirm",
                "us-east-1",
                // moto runs no ECS task: the region is at 0/N tasks, which the rule refuses.
                "--override",
                "restore-unhealthy-region",
                "--confirm-override",
                "restore-unhealthy-region",
            ],
        )
        .output()
        .unwrap();
    applied(&out);
    assert!(
        text(&out.stdout).contains("weight: 0 → 20"),
        "{}",
        show(&out)
    );
    assert_eq!(case.weights().await, [70, 20, 10, 0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_trail_that_cannot_be_written_runs_nothing() {
    let moto = Moto::shared();
    let env = env(&moto).await;
    // A log group that was never created: nothing runs, and the operator learns how to make it.
    let case = env
        .case("no-group", [70, 20, 10, 0], Some("/opsdeck/missing"))
        .await;
    let out = case
        .act(&env.alice, 0, &drain("ap-southeast-1"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = text(&out.stderr);
    // Said at start, before anything is planned, with how to create it.
    assert!(
        err.contains("refused: fleet `no-group`: [shared] resource is missing")
            && err.contains("CloudWatch Logs group /opsdeck/missing")
            && err.contains("opsdeck shared init --fleet"),
        "{}",
        show(&out)
    );
    assert_eq!(case.weights().await, [70, 20, 10, 0], "nothing ran");

    // A clock three hours ahead: CloudWatch Logs takes no event more than two hours in the
    // future, so the requested record cannot be written: refused, recorded locally.
    let group = "/opsdeck/ahead";
    env.log_group(group).await;
    let case = env.case("ahead", [70, 20, 10, 0], Some(group)).await;
    let out = case
        .act(&env.alice, 3 * 3600, &drain("ap-southeast-1"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("refused: the shared audit trail could not be written"),
        "{}",
        show(&out)
    );
    assert_eq!(case.weights().await, [70, 20, 10, 0], "nothing ran");
    let records = case.records(&env.alice);
    assert_eq!(records.len(), 2, "{records:#?}");
    assert!(records.iter().all(|r| r.decision == Decision::Refused));
    assert!(matches!(
        &records[1].result,
        Some(OpResult::Refused { rule: Some(rule), .. }) if rule == "shared-audit-trail"
    ));
    assert!(
        env.lease_item(&case.name).await.is_none(),
        "the lease was released"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_lock_table_refuses_every_operation() {
    let moto = Moto::shared();
    let env = env(&moto).await;
    let group = "/opsdeck/no-table";
    env.log_group(group).await;
    let case = env.case("no-table", [70, 20, 10, 0], Some(group)).await;
    let text_of = std::fs::read_to_string(&case.fleet).unwrap();
    std::fs::write(
        &case.fleet,
        text_of.replace(
            "lock_table = \"opsdeck-locks\"",
            "lock_table = \"opsdeck-missing\"",
        ),
    )
    .unwrap();
    let out = case
        .act(&env.alice, 0, &drain("ap-southeast-1"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("[shared] resource is missing")
            && err.contains("DynamoDB table opsdeck-missing")
            && err.contains("opsdeck shared init --fleet"),
        "{}",
        show(&out)
    );
    assert_eq!(case.weights().await, [70, 20, 10, 0], "nothing ran");
    let records = case.records(&env.alice);
    assert!(
        records.iter().all(|r| r.decision == Decision::Refused),
        "{records:#?}"
    );
}
