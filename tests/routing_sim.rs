//! Every Route53 routing policy on the simulated fleet: the what-if moves a failed region's users
//! as Route53 would (by weight, to the nearest serving region, to the default record, to the
//! secondary, to every serving record alike) and agrees with the model's own routing; a drain of a
//! latency record inverts its health check through the pipeline and the model moves the users;
//! the traps (no health check, the last healthy record) are refused. Virtual time only.

use chrono::{DateTime, TimeZone, Utc};
use opsdeck::fleet::Fleet;
use opsdeck::ops::plan::ApiCall;
use opsdeck::ops::sim::SimTarget;
use opsdeck::ops::target::VerifyLimits;
use opsdeck::ops::whatif::{self, WeightedModel, WhatIf};
use opsdeck::ops::{Confirmation, Op, OpError, OpResult, Operator, Permission, Settings, Target};
use opsdeck::source::sim::SimFleet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 14, 0, 0).unwrap()
}

fn fixture(name: &str) -> Fleet {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    Fleet::load(&path).expect("fixture fleet")
}

fn parse(text: &str) -> Fleet {
    Fleet::parse(text, Path::new("inline.toml")).expect("inline fleet")
}

struct Sim {
    operator: Operator,
    target: Arc<SimTarget>,
    model: Arc<Mutex<SimFleet>>,
    _dir: tempfile::TempDir,
}

fn sim(fleet: &Fleet) -> Sim {
    let dir = tempfile::tempdir().unwrap();
    let model = Arc::new(Mutex::new(SimFleet::new(fleet, 7, start())));
    let target = Arc::new(SimTarget::new(model.clone(), true));
    let settings = Settings {
        permission: Permission::Allowed,
        audit_log: dir.path().join("audit.jsonl"),
        verify: VerifyLimits {
            limit: Duration::from_secs(30),
            poll: Duration::from_secs(5),
        },
    };
    Sim {
        operator: Operator::new(fleet.clone(), target.clone(), settings),
        target,
        model,
        _dir: dir,
    }
}

impl Sim {
    /// The what-if of the model (its own routing of its users' demand) and the what-if AWS makes
    /// from the same view (the records' policy applied to the rates read).
    async fn what_ifs(&self, fleet: &Fleet, failed: &str) -> (WhatIf, WhatIf) {
        let by_model = self.target.what_if(fleet, failed).await.unwrap();
        let view = self.target.read().await.unwrap();
        let by_view = whatif::analyse(&view, fleet, failed, &WeightedModel::new(fleet)).unwrap();
        (by_model, by_view)
    }

    fn served(&self, region: &str) -> f64 {
        self.model
            .lock()
            .unwrap()
            .region_load(region)
            .unwrap()
            .served_rps
    }
}

fn after(w: &WhatIf, region: &str) -> f64 {
    w.survivors
        .iter()
        .find(|s| s.region == region)
        .map(|s| s.rps_after)
        .unwrap()
}

fn now(w: &WhatIf, region: &str) -> f64 {
    w.survivors
        .iter()
        .find(|s| s.region == region)
        .and_then(|s| s.rps_now)
        .unwrap()
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 0.1 * b.abs().max(1.0),
        "{what}: {a} vs {b}"
    );
}

fn note<'a>(w: &'a WhatIf, needle: &str) -> &'a str {
    w.notes
        .iter()
        .find(|n| n.contains(needle))
        .unwrap_or_else(|| panic!("no note with `{needle}`: {:#?}", w.notes))
}

#[tokio::test]
async fn latency_sends_a_failed_region_s_users_to_the_nearest_healthy_region() {
    let fleet = fixture("routing-latency.toml");
    let s = sim(&fleet);
    let (model, view) = s.what_ifs(&fleet, "ap-southeast-1").await;
    let moved = model.moved_rps.unwrap();
    assert!(moved > 10.0, "{moved}");
    for w in [&model, &view] {
        // eu-west-1 is ~170 ms from Singapore, us-east-1 ~215 ms: all of it goes to Ireland.
        close(
            after(w, "eu-west-1"),
            now(w, "eu-west-1") + moved,
            "eu-west-1 takes it",
        );
        close(
            after(w, "us-east-1"),
            now(w, "us-east-1"),
            "us-east-1 keeps its own",
        );
    }
    note(
        &view,
        "users of ap-southeast-1 (latency) go to eu-west-1 (nearest serving region, ~170 ms)",
    );
    // The text says how the users move, not "by weight", and the table shows the policy.
    assert_eq!(view.routing, "latency");
    let text = opsdeck::ops::text::what_if(&view);
    assert!(
        text.contains("move by latency routing: each user to the nearest serving region")
            && !text.contains("by weight")
            && text.contains("ROUTING")
            && !text.contains("WEIGHT"),
        "{text}"
    );

    // The fleet file's round trips override the built-in table, for the model and the what-if.
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/routing-latency.toml"),
    )
    .unwrap();
    let nearer = parse(&format!(
        "{}\n[[routing.rtt]]\nbetween = [\"ap-southeast-1\", \"us-east-1\"]\nms = 90.0\n",
        text.replace("name = \"latency-test\"", "name = \"latency-test\"\n")
    ));
    let s = sim(&nearer);
    let (model, view) = s.what_ifs(&nearer, "ap-southeast-1").await;
    let moved = model.moved_rps.unwrap();
    for w in [&model, &view] {
        close(
            after(w, "us-east-1"),
            now(w, "us-east-1") + moved,
            "us-east-1 is nearer now",
        );
        close(
            after(w, "eu-west-1"),
            now(w, "eu-west-1"),
            "eu-west-1 keeps its own",
        );
    }
    note(&view, "go to us-east-1 (nearest serving region, ~90 ms)");
}

async fn run(s: &Sim, op: Op) -> (opsdeck::ops::Plan, OpResult) {
    let prepared = s.operator.prepare(&op).await.expect("plan");
    assert!(prepared.blocked().is_empty(), "{:#?}", prepared.guards);
    let confirm = Confirmation {
        typed: op.region().to_string(),
        ..Default::default()
    };
    let out = s.operator.run(&prepared, &confirm).await.expect("run");
    (out.plan, out.result)
}

fn inverted(s: &Sim, region: &str) -> Option<bool> {
    let view = SimTarget::view_of(&s.model.lock().unwrap());
    view.region(region)
        .and_then(|r| r.record.as_ref())
        .and_then(|r| r.health_check_inverted)
}

/// Drain eu-west-1 (a record with health check `hc`) through the pipeline: its check is inverted,
/// and three minutes later Ireland serves almost nothing and its users are in Virginia (the nearest
/// serving region, ~68 ms), not in Singapore.
async fn drain_eu_west_1_moves_its_users_to_us_east_1(s: &Sim, hc: &str) -> opsdeck::ops::Plan {
    let eu_before = s.served("eu-west-1");
    let us_before = s.served("us-east-1");
    let (plan, result) = run(
        s,
        Op::Drain {
            region: "eu-west-1".into(),
        },
    )
    .await;
    assert_eq!(result, OpResult::Applied);
    assert_eq!(
        plan.calls,
        vec![ApiCall::UpdateHealthCheck {
            health_check_id: hc.into(),
            inverted: true
        }]
    );
    assert_eq!(inverted(s, "eu-west-1"), Some(true));
    s.model.lock().unwrap().advance(180.0);
    assert!(
        s.served("eu-west-1") < 0.05 * eu_before,
        "{}",
        s.served("eu-west-1")
    );
    assert!(
        s.served("us-east-1") > us_before + 0.8 * eu_before,
        "{} vs {us_before} + {eu_before}",
        s.served("us-east-1")
    );
    plan
}

#[tokio::test]
async fn draining_a_latency_region_inverts_its_health_check_and_its_users_move() {
    let fleet = fixture("routing-latency.toml");
    let s = sim(&fleet);
    let eu_before = s.served("eu-west-1");
    let plan = drain_eu_west_1_moves_its_users_to_us_east_1(&s, "hc-euw1").await;
    assert_eq!(plan.changes[0].field, "inverted");
    assert_eq!(
        plan.undo,
        Some(Op::Restore {
            region: "eu-west-1".into(),
            weight: None
        })
    );
    let (plan, result) = run(
        &s,
        Op::Restore {
            region: "eu-west-1".into(),
            weight: None,
        },
    )
    .await;
    assert_eq!(result, OpResult::Applied);
    assert_eq!(
        plan.calls,
        vec![ApiCall::UpdateHealthCheck {
            health_check_id: "hc-euw1".into(),
            inverted: false
        }]
    );
    assert_eq!(inverted(&s, "eu-west-1"), Some(false));
    s.model.lock().unwrap().advance(180.0);
    assert!(
        s.served("eu-west-1") > 0.8 * eu_before,
        "{}",
        s.served("eu-west-1")
    );
}

#[tokio::test]
async fn a_latency_record_without_a_health_check_cannot_be_drained() {
    let fleet = fixture("routing-latency.toml");
    let s = sim(&fleet);
    let err = s
        .operator
        .prepare(&Op::Drain {
            region: "ap-southeast-1".into(),
        })
        .await
        .unwrap_err();
    let OpError::Input(why) = err else {
        panic!("{err:?}")
    };
    assert!(why.contains("has no health check"), "{why}");
    assert!(
        why.contains("Attach one") && why.contains("HealthCheckId"),
        "{why}"
    );
    let restore_weight = s
        .operator
        .prepare(&Op::Restore {
            region: "eu-west-1".into(),
            weight: Some(50),
        })
        .await
        .unwrap_err();
    assert!(
        restore_weight.to_string().contains("no weight"),
        "{restore_weight}"
    );
}

#[tokio::test]
async fn draining_the_last_healthy_latency_record_is_refused() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/routing-latency.toml"),
    )
    .unwrap();
    // Only the two regions with a health check.
    let two = text
        .split("[[region]]\nname = \"ap-southeast-1\"")
        .next()
        .unwrap();
    let fleet = parse(two);
    let s = sim(&fleet);
    let (_, result) = run(
        &s,
        Op::Drain {
            region: "us-east-1".into(),
        },
    )
    .await;
    assert_eq!(result, OpResult::Applied);
    let prepared = s
        .operator
        .prepare(&Op::Drain {
            region: "eu-west-1".into(),
        })
        .await
        .unwrap();
    let blocked: Vec<&str> = prepared.blocked().iter().map(|g| g.rule.as_str()).collect();
    assert_eq!(
        blocked,
        ["last-serving-region", "all-records-unhealthy"],
        "{:#?}",
        prepared.guards
    );
    let confirm = Confirmation {
        typed: "eu-west-1".into(),
        ..Default::default()
    };
    let out = s.operator.run(&prepared, &confirm).await.unwrap();
    assert!(
        matches!(out.result, OpResult::Refused { .. }),
        "{:?}",
        out.result
    );
    assert_eq!(inverted(&s, "eu-west-1"), Some(false), "nothing ran");
}

#[tokio::test]
async fn geolocation_sends_users_to_the_default_record_or_leaves_them_without_an_answer() {
    let fleet = fixture("routing-geolocation.toml");
    let s = sim(&fleet);
    let (model, view) = s.what_ifs(&fleet, "eu-west-1").await;
    let moved = model.moved_rps.unwrap();
    for w in [&model, &view] {
        close(
            after(w, "us-east-1"),
            now(w, "us-east-1") + moved,
            "the default takes Europe",
        );
        close(
            after(w, "ap-southeast-1"),
            now(w, "ap-southeast-1"),
            "Asia keeps its own",
        );
    }
    note(
        &view,
        "users of eu-west-1 (location EU) go to us-east-1 (the default record)",
    );
    let (_, view) = s.what_ifs(&fleet, "ap-southeast-1").await;
    note(
        &view,
        "users of ap-southeast-1 (location AS) go to us-east-1 (the default record)",
    );
    let (model, view) = s.what_ifs(&fleet, "us-east-1").await;
    note(&view, "users of us-east-1 (location *) get no answer");
    for w in [&model, &view] {
        close(
            after(w, "eu-west-1"),
            now(w, "eu-west-1"),
            "nobody takes the default's users",
        );
        close(
            after(w, "ap-southeast-1"),
            now(w, "ap-southeast-1"),
            "nobody takes them",
        );
    }

    // Without a default record, Europe's users get no answer at all.
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/routing-geolocation.toml"),
    )
    .unwrap();
    let no_default = parse(&text.replace("location = \"*\"", "location = \"NA\""));
    let s = sim(&no_default);
    let (model, view) = s.what_ifs(&no_default, "eu-west-1").await;
    note(&view, "users of eu-west-1 (location EU) get no answer: no serving record for location EU and no serving default record");
    for w in [&model, &view] {
        close(
            after(w, "us-east-1"),
            now(w, "us-east-1"),
            "North America's record does not take Europe",
        );
    }
}

const FAILOVER: &str = r#"
name = "failover-test"
[[region]]
name = "us-east-1"
role = "primary"
ecs = [{ cluster = "k-use1", service = "api" }]
route53 = { zone_id = "Z0K", record = "api.k.test", set_identifier = "use1", policy = "failover", failover = "PRIMARY", health_check_id = "hc-1" }
sim = { peak_rps = 300.0, tasks = 10, max_tasks = 20 }
[[region]]
name = "us-west-2"
role = "secondary"
ecs = [{ cluster = "k-usw2", service = "api" }]
route53 = { zone_id = "Z0K", record = "api.k.test", set_identifier = "usw2", policy = "failover", failover = "SECONDARY", health_check_id = "hc-2" }
sim = { peak_rps = 200.0, tasks = 10, max_tasks = 20 }
"#;

#[tokio::test]
async fn failover_sends_everyone_to_the_primary_and_then_to_the_secondary() {
    let fleet = parse(FAILOVER);
    let s = sim(&fleet);
    assert!(
        s.served("us-west-2") < 1.0,
        "the secondary stands by: {}",
        s.served("us-west-2")
    );
    let (model, view) = s.what_ifs(&fleet, "us-east-1").await;
    let moved = model.moved_rps.unwrap();
    for w in [&model, &view] {
        close(after(w, "us-west-2"), moved, "the secondary takes everyone");
    }
    note(&view, "users of us-east-1 (PRIMARY) go to us-west-2");
    let (_, result) = run(
        &s,
        Op::Drain {
            region: "us-east-1".into(),
        },
    )
    .await;
    assert_eq!(result, OpResult::Applied);
    s.model.lock().unwrap().advance(180.0);
    assert!(
        s.served("us-east-1") < 0.05 * moved,
        "{}",
        s.served("us-east-1")
    );
    assert!(
        s.served("us-west-2") > 0.8 * moved,
        "{}",
        s.served("us-west-2")
    );
}

#[tokio::test]
async fn multivalue_spreads_users_over_every_serving_record() {
    let fleet = parse(
        &FAILOVER
            .replace(
                "policy = \"failover\", failover = \"PRIMARY\"",
                "policy = \"multivalue\"",
            )
            .replace(
                "policy = \"failover\", failover = \"SECONDARY\"",
                "policy = \"multivalue\"",
            ),
    );
    let s = sim(&fleet);
    close(
        s.served("us-east-1"),
        s.served("us-west-2"),
        "every record alike",
    );
    let (model, view) = s.what_ifs(&fleet, "us-west-2").await;
    for w in [&model, &view] {
        close(
            after(w, "us-east-1"),
            now(w, "us-east-1") + model.moved_rps.unwrap(),
            "the only other record takes all",
        );
    }
}

#[test]
fn a_policy_without_what_it_needs_is_refused_with_file_and_line() {
    let bad = FAILOVER.replace(", failover = \"SECONDARY\"", "");
    let err = Fleet::parse(&bad, Path::new("f.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("f.toml:13:"), "{err}");
    assert!(err.contains("needs `failover"), "{err}");
    let mixed = FAILOVER.replace(
        "policy = \"failover\", failover = \"SECONDARY\"",
        "policy = \"latency\"",
    );
    let err = Fleet::parse(&mixed, Path::new("f.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("differs from region `us-east-1`"), "{err}");
    let geo = FAILOVER.replace("failover = \"PRIMARY\"", "location = \"EU\"");
    let err = Fleet::parse(&geo, Path::new("f.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("needs `failover") || err.contains("`location` applies to geolocation"),
        "{err}"
    );
    let rtt = format!(
        "{FAILOVER}\n[[routing.rtt]]\nbetween = [\"us-east-1\", \"us-east-1\"]\nms = 5.0\n"
    );
    let err = Fleet::parse(&rtt, Path::new("f.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("and itself"), "{err}");
}

/// Atlas CRM as its write-up has it (fleets/atlas-crm.toml): geolocation EU/NA/AS, and the default
/// record routes by latency. A failed region's users go to the nearest serving region, the what-if
/// says so, and a drain of a healthy region inverts its check and moves Europe to Virginia in the
/// model too.
#[tokio::test]
async fn atlas_geolocation_falls_back_to_latency_routing() {
    let fleet = Fleet::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fleets/atlas-crm.toml"))
        .expect("atlas fleet");
    let s = sim(&fleet);
    for (failed, to, ms, keeps) in [
        ("eu-west-1", "us-east-1", 68, "ap-southeast-1"),
        ("us-east-1", "eu-west-1", 68, "ap-southeast-1"),
        ("ap-southeast-1", "eu-west-1", 170, "us-east-1"),
    ] {
        let (model, view) = s.what_ifs(&fleet, failed).await;
        let moved = model.moved_rps.unwrap();
        assert!(moved > 1.0, "{failed}: {moved}");
        for w in [&model, &view] {
            close(
                after(w, to),
                now(w, to) + moved,
                &format!("{to} takes {failed}'s users"),
            );
            close(
                after(w, keeps),
                now(w, keeps),
                &format!("{keeps} keeps its own"),
            );
        }
        note(&view, &format!("users of {failed} (location "));
        note(
            &view,
            &format!("go to {to} (the default record's latency routing: nearest serving region, ~{ms} ms)"),
        );
        let text = opsdeck::ops::text::what_if(&view);
        assert!(text.contains("by geolocation routing"), "{text}");
    }

    // Virginia takes Europe: the survivor-capacity rule wants it scaled first, as Atlas' own
    // manual failover does (desired 10).
    let us = fleet.regions[1].ecs[0].clone();
    let (_, result) = run(
        &s,
        Op::Scale {
            region: "us-east-1".into(),
            cluster: us.cluster,
            service: us.service,
            desired: 10,
            bounds: None,
        },
    )
    .await;
    // New tasks start after this test's 30 s verify limit: accepted, then given time to run.
    assert!(
        matches!(result, OpResult::Applied | OpResult::NotYetVerified { .. }),
        "{result:?}"
    );
    s.model.lock().unwrap().advance(120.0);
    drain_eu_west_1_moves_its_users_to_us_east_1(&s, "hc-atlas-crm-eu-west-1").await;
}
