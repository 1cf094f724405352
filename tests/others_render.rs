//! Who is doing what (issue 10 §4) as the console shows it: a poll of the other operators'
//! lease, recent operations and pending approvals goes through `update` into the event log (each
//! fact once) and the status line (insta snapshots of the line, at a width where it fits and one
//! where it is the first part cut).

mod common;

use chrono::{DateTime, Duration, Utc};
use opsdeck::app::dialog::OpReport;
use opsdeck::app::{update, Action, State};
use opsdeck::config::Theme;
use opsdeck::fleet::SourceKind;
use opsdeck::ops::approval::Pending;
use opsdeck::ops::audit::{AuditRecord, Decision, Phase};
use opsdeck::ops::lease::Holder;
use opsdeck::ops::others::Others;
use opsdeck::ops::{Op, OpResult, Plan};
use opsdeck::ui::status_line;

fn plan(op: &Op, at: DateTime<Utc>) -> Plan {
    Plan {
        op: op.clone(),
        fleet: "atlas-crm".into(),
        source: SourceKind::Aws,
        region: op.region().into(),
        resource: "r".into(),
        read_at: at,
        changes: Vec::new(),
        calls: Vec::new(),
        notes: Vec::new(),
        reversible: true,
        undo: None,
        after: Vec::new(),
        weighed: Vec::new(),
    }
}

fn ran(who: &str, op: Op, at: DateTime<Utc>) -> AuditRecord {
    AuditRecord {
        time: at,
        phase: Phase::Ended,
        id: format!("{who}-{}", at.timestamp()),
        operator: format!("arn:aws:sts::123456789012:assumed-role/oncall/{who}"),
        fleet: "atlas-crm".into(),
        source: SourceKind::Aws,
        region: op.region().into(),
        plan: plan(&op, at),
        op,
        guards: Vec::new(),
        overrides: Vec::new(),
        decision: Decision::Execute,
        undo_of: None,
        executed: None,
        result: Some(OpResult::Applied),
        accepted_at: Some(Some(at)),
        settled_at: Some(Some(at)),
        approved_by: None,
        abandoned: None,
        drill: None,
    }
}

fn scale_api(desired: i64) -> Op {
    Op::Scale {
        region: "us-east-1".into(),
        cluster: "atlas-us".into(),
        service: "api".into(),
        desired,
        bounds: None,
    }
}

fn alice_drains(since: DateTime<Utc>) -> Holder {
    Holder {
        identity: "arn:aws:sts::123456789012:assumed-role/oncall/alice".into(),
        host: "ops-1".into(),
        pid: 4242,
        token: "t1".into(),
        audit_id: "a1".into(),
        op: Op::Drain {
            region: "us-east-1".into(),
        },
        since,
        until: since + Duration::seconds(120),
    }
}

fn poll(state: &mut State, others: Others) {
    update(state, Action::OpReport(OpReport::Others(Box::new(others))));
}

fn top(state: &State, w: usize) -> String {
    let line = status_line::line(state, &Theme::fallback(), w);
    line.spans.iter().map(|s| s.content.as_ref()).collect()
}

fn logged(state: &State, needle: &str) -> usize {
    state
        .events
        .iter()
        .filter(|e| e.text.contains(needle))
        .count()
}

#[test]
fn the_status_line_and_event_log_say_who_does_what() {
    let mut s = common::healthy_state();
    let now = s.now;
    let bob = ran("bob", scale_api(10), now - Duration::seconds(150));
    poll(
        &mut s,
        Others {
            recent: vec![bob.clone()],
            read_at: Some(now),
            ..Default::default()
        },
    );
    assert_eq!(logged(&s, "bob scaled us-east-1/api to 10 · 2 min ago"), 1);
    insta::assert_snapshot!("others_recent_160", top(&s, 160));

    // Alice takes the lease: it wins the slot; the same poll again logs nothing twice.
    let with_lease = Others {
        lease: Some(alice_drains(now - Duration::seconds(20))),
        recent: vec![bob.clone()],
        read_at: Some(now),
        ..Default::default()
    };
    poll(&mut s, with_lease.clone());
    poll(&mut s, with_lease);
    let since = (now - Duration::seconds(20)).format("%H:%M:%S").to_string();
    let lease = format!("alice holds the lease: drain us-east-1 since {since}");
    assert_eq!(logged(&s, &lease), 1);
    assert_eq!(logged(&s, "bob scaled"), 1, "each fact once");
    assert!(top(&s, 160).contains(&lease), "{}", top(&s, 160));
    insta::assert_snapshot!("others_lease_160", top(&s, 160));
    // Narrow: what the others do is the first part cut, the fleet's own facts stay.
    let narrow = top(&s, 80);
    assert!(
        !narrow.contains("alice") && narrow.contains("atlas-crm"),
        "{narrow}"
    );

    // Her drain ends; bob asks for approval of a promotion.
    let drained = ran(
        "alice",
        Op::Drain {
            region: "us-east-1".into(),
        },
        now,
    );
    let op = Op::Promote {
        region: "us-west-2".into(),
    };
    let pending = Pending {
        id: "ab12cd34".into(),
        fleet: "atlas-crm".into(),
        plan: plan(&op, now),
        op,
        requester: "arn:aws:sts::123456789012:assumed-role/oncall/bob".into(),
        host: "ops-2".into(),
        pid: 7,
        requested_at: now,
        expires_at: now + Duration::minutes(15),
        approved_by: None,
        approved_at: None,
    };
    poll(
        &mut s,
        Others {
            recent: vec![drained, bob],
            pending: vec![pending],
            read_at: Some(now),
            ..Default::default()
        },
    );
    assert_eq!(logged(&s, "alice drained us-east-1 · just now"), 1);
    assert_eq!(
        logged(
            &s,
            "bob asks for approval: promote the replica in us-west-2 (id ab12cd34"
        ),
        1
    );
    insta::assert_snapshot!("others_pending_160", top(&s, 160));
}
