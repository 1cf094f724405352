//! `opsdeck shared init` (issue 10 §3) against moto: a fleet whose `[shared]` table and log group
//! do not exist refuses operations at start, pointing at `shared init`; `shared init` prints what
//! it will create, needs actions enabled and the fleet's name typed, creates the table (partition
//! key `resource` of type S, TTL on `expires_at`) and the log group (with a retention), audited;
//! a re-run says what exists and creates nothing; operations then run.
// Each test holds the binary's moto lock for its whole run; each has its own runtime.
#![allow(clippy::await_holding_lock)]

mod support;

use opsdeck::ops::audit::{Decision, Phase};
use opsdeck::ops::{Op, OpResult};
use support::moto::Moto;
use support::operators::{drain, env, show, text, Case, Identity};
use support::seed;

const TABLE: &str = "opsdeck-init-locks";
const GROUP: &str = "/opsdeck/init";

fn init(case: &Case, who: &Identity, extra: &[&str]) -> std::process::Output {
    case.opsdeck(who, 0, &[&["shared", "init"], extra].concat())
        .output()
        .unwrap()
}

fn set_actions(case: &Case, on: bool) {
    let t = std::fs::read_to_string(&case.fleet).unwrap();
    let (from, to) = if on {
        ("allow_actions = false", "allow_actions = true")
    } else {
        ("allow_actions = true", "allow_actions = false")
    };
    std::fs::write(&case.fleet, t.replacen(from, to, 1)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_init_creates_the_table_and_the_log_group_once_and_operations_then_run() {
    let moto = Moto::shared();
    let env = env(&moto).await;
    let case = env.case("init", [70, 20, 10, 0], Some(GROUP)).await;
    let t = std::fs::read_to_string(&case.fleet).unwrap();
    std::fs::write(
        &case.fleet,
        t.replace(
            "lock_table = \"opsdeck-locks\"",
            &format!("lock_table = \"{TABLE}\""),
        ),
    )
    .unwrap();
    let config = seed::sdk_config(&env.moto_url);
    let ddb = aws_sdk_dynamodb::Client::new(&config);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    let table_exists = async || ddb.describe_table().table_name(TABLE).send().await.is_ok();
    let group_of = async || {
        logs.describe_log_groups()
            .log_group_name_prefix(GROUP)
            .send()
            .await
            .unwrap()
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(GROUP))
            .cloned()
    };

    // Missing: an operation is refused at start, saying what is missing and how to make it.
    let out = case
        .act(&env.alice, 0, &drain("ap-southeast-1"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("DynamoDB table {TABLE}"))
            && err.contains(&format!("CloudWatch Logs group {GROUP}"))
            && err.contains("opsdeck shared init --fleet"),
        "{}",
        show(&out)
    );
    assert_eq!(case.weights().await, [70, 20, 10, 0], "nothing ran");
    // Reading still works.
    let snap = case
        .opsdeck(&env.alice, 0, &["snapshot", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(snap.status.code(), Some(0), "{}", show(&snap));

    // The plan: what it will create, nothing created.
    let plan = init(&case, &env.alice, &[]);
    assert_eq!(plan.status.code(), Some(0), "{}", show(&plan));
    let said = text(&plan.stdout);
    for want in [
        format!("create  DynamoDB table {TABLE} in us-east-1 (partition key `resource` of type S"),
        "create  TTL on the table's attribute `expires_at`".to_string(),
        format!("create  CloudWatch Logs group {GROUP} in us-east-1"),
        "create  retention of 365 days".to_string(),
        "dry run: nothing created. To create it, add --execute --confirm init".to_string(),
    ] {
        assert!(said.contains(&want), "{want:?} in\n{said}");
    }
    assert!(!table_exists().await && group_of().await.is_none());

    // Actions off: refused by the same rule as `act`, audited; a wrong name refused too.
    set_actions(&case, false);
    let off = init(&case, &env.alice, &["--execute", "--confirm", "init"]);
    assert_eq!(off.status.code(), Some(1), "{}", show(&off));
    assert!(
        text(&off.stderr).contains("blocked by read-only"),
        "{}",
        show(&off)
    );
    set_actions(&case, true);
    let typo = init(&case, &env.alice, &["--execute", "--confirm", "ini"]);
    assert_eq!(typo.status.code(), Some(1), "{}", show(&typo));
    assert!(text(&typo.stderr).contains("does not match the fleet's name"));
    assert!(
        !table_exists().await && group_of().await.is_none(),
        "nothing created"
    );

    let made = init(&case, &env.alice, &["--execute", "--confirm", "init"]);
    assert_eq!(made.status.code(), Some(0), "{}", show(&made));
    let table = ddb.describe_table().table_name(TABLE).send().await.unwrap();
    let table = table.table().unwrap();
    let key = &table.key_schema()[0];
    assert_eq!(
        (key.attribute_name(), key.key_type().as_str()),
        ("resource", "HASH")
    );
    assert_eq!(
        table.attribute_definitions()[0].attribute_type().as_str(),
        "S"
    );
    let ttl = ddb
        .describe_time_to_live()
        .table_name(TABLE)
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some("expires_at"));
    assert_eq!(group_of().await.unwrap().retention_in_days(), Some(365));

    // Audited: the refusals and the creation, with the calls it made.
    let records = case.records(&env.alice);
    let ended: Vec<_> = records.iter().filter(|r| r.phase == Phase::Ended).collect();
    assert_eq!(ended.len(), 3, "{records:#?}");
    assert!(ended.iter().all(|r| matches!(r.op, Op::SharedInit { .. })));
    assert!(
        matches!(&ended[0].result, Some(OpResult::Refused { rule: Some(r), .. }) if r == "read-only")
    );
    assert!(matches!(&ended[1].result, Some(OpResult::Refused { .. })));
    assert_eq!(ended[2].result, Some(OpResult::Applied));
    assert_eq!(
        ended[2].executed.as_ref().unwrap().calls.len(),
        4,
        "{:#?}",
        ended[2]
    );
    assert_eq!(
        records
            .iter()
            .filter(|r| r.decision == Decision::Execute)
            .count(),
        2,
        "one creation, requested and ended"
    );
    let shared = case.shared_records(GROUP).await;
    assert!(shared.iter().any(|r| r.id == ended[2].id), "{shared:#?}");

    // A re-run says what exists and creates nothing.
    let again = init(&case, &env.alice, &["--execute", "--confirm", "init"]);
    assert_eq!(again.status.code(), Some(0), "{}", show(&again));
    let said = text(&again.stdout);
    assert_eq!(said.matches("exists ").count(), 4, "{said}");
    assert!(said.contains("everything exists: nothing to do"), "{said}");
    assert_eq!(
        case.records(&env.alice).len(),
        records.len(),
        "nothing to audit"
    );

    // Now operations run.
    let out = case
        .act(&env.bob, 0, &drain("ap-southeast-1"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(case.weights().await, [70, 20, 0, 0]);
}
