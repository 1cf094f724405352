//! EKS on the simulated fleet (issue 11, point 3): KALDRIX's node groups are modelled — nodes that
//! join some time after a scale-up, the service's pods on them, capacity from
//! `capacity.rps_per_node` — so scenarios, plans and the what-if work on them as on ECS.

use chrono::{TimeZone, Utc};
use opsdeck::fleet::eks::NodegroupState;
use opsdeck::fleet::{Fleet, Reading};
use opsdeck::ops::guards::{self, GuardInput, Permission};
use opsdeck::ops::sim::{SimModel, SimTarget};
use opsdeck::ops::{plan, whatif, Op};
use opsdeck::source::sim::SimFleet;
use opsdeck::source::Scenario;
use std::path::Path;

fn kaldrix() -> Fleet {
    Fleet::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fleets/kaldrix.toml")).unwrap()
}

fn sim(fleet: &Fleet) -> SimFleet {
    SimFleet::new(
        fleet,
        7,
        Utc.with_ymd_and_hms(2026, 11, 24, 20, 0, 0).unwrap(),
    )
}

/// (node group, running pods) of a region as the simulated source reads them.
fn read(sim: &SimFleet, region: &str) -> (NodegroupState, Option<f64>) {
    let mut group = None;
    let mut pods = None;
    for (name, reading) in sim.readings() {
        match reading {
            Reading::Eks(g) if name == region => group = g.into_iter().next(),
            Reading::Metrics(m) if name == region => {
                pods = m.running_pods.values().next().copied().flatten()
            }
            _ => {}
        }
    }
    (group.expect("a node group reading"), pods)
}

#[test]
fn node_groups_report_their_size_and_pods_and_new_nodes_join_later() {
    let fleet = kaldrix();
    let mut sim = sim(&fleet);
    sim.set_autoscaling(false);
    let (g, pods) = read(&sim, "us-west-2");
    assert_eq!(
        (g.desired, g.min, g.max, g.status.as_str()),
        (3, 2, 16, "ACTIVE")
    );
    assert_eq!(pods, Some(12.0), "3 nodes × 4 pods");
    let before = sim.region_load("us-west-2").unwrap().capacity_rps;
    assert_eq!(before, 3.0 * fleet.capacity.rps_per_node);

    sim.set_nodegroup(
        "us-west-2",
        "kaldrix-production-us-west-2",
        "kaldrix-api",
        6,
        2,
        16,
    )
    .unwrap();
    // A minute on, the new nodes have not joined: the group is updating, pods and capacity unchanged.
    sim.advance_in_steps(60.0, 5.0);
    let (g, pods) = read(&sim, "us-west-2");
    assert_eq!((g.desired, g.status.as_str()), (6, "UPDATING"));
    assert_eq!(pods, Some(12.0));
    assert_eq!(sim.region_load("us-west-2").unwrap().capacity_rps, before);
    // After 150 s every new node runs: 24 pods, twice the capacity.
    sim.advance_in_steps(100.0, 5.0);
    let (g, pods) = read(&sim, "us-west-2");
    assert_eq!(g.status, "ACTIVE");
    assert_eq!(pods, Some(24.0));
    assert_eq!(
        sim.region_load("us-west-2").unwrap().capacity_rps,
        2.0 * before
    );

    // Outside min..max: refused as EKS refuses it.
    let err = sim
        .set_nodegroup(
            "us-west-2",
            "kaldrix-production-us-west-2",
            "kaldrix-api",
            20,
            2,
            16,
        )
        .unwrap_err();
    assert!(err.contains("within min 2 and max 16"), "{err}");
}

#[test]
fn an_outage_degrades_the_node_group_and_the_region_is_judged_by_it() {
    let fleet = kaldrix();
    let mut sim = sim(&fleet);
    sim.inject("eu-west-1", Scenario::Outage).unwrap();
    sim.advance_in_steps(30.0, 5.0);
    let (g, pods) = read(&sim, "eu-west-1");
    assert_eq!(g.status, "DEGRADED");
    assert!(g.issues[0].starts_with("NodeCreationFailure"), "{g:?}");
    assert_eq!(
        pods, None,
        "Container Insights reports nothing from a dead region"
    );
    let view = SimTarget::view_of(&sim);
    assert_eq!(
        view.region("eu-west-1").unwrap().nodegroups[0].status,
        "DEGRADED"
    );
}

#[test]
fn plans_guards_and_the_what_if_count_an_eks_region_in_nodes() {
    let fleet = kaldrix();
    let sim = sim(&fleet);
    let view = SimTarget::view_of(&sim);

    // us-east-1 fails: us-west-2 takes 70 % of the fleet's users and needs more nodes.
    let w = whatif::analyse(&view, &fleet, "us-east-1", &SimModel(&sim)).unwrap();
    let usw2 = w
        .survivors
        .iter()
        .find(|s| s.region == "us-west-2")
        .unwrap();
    assert_eq!(usw2.running_tasks, 3, "nodes");
    assert_eq!(usw2.capacity_rps, 3.0 * fleet.capacity.rps_per_node);
    let rec = w
        .recommended
        .iter()
        .find(|o| o.region() == "us-west-2")
        .expect("a scale of us-west-2's node group");
    let Op::ScaleNodegroup { desired, max, .. } = rec else {
        panic!("{rec:?}")
    };
    assert_eq!(*desired, usw2.tasks_needed);
    assert_eq!(*max, (*desired > 16).then_some(*desired));
    let text = opsdeck::ops::text::what_if(&w);
    assert!(
        text.contains("act scale --region us-west-2 --nodegroup kaldrix-api --desired"),
        "{text}"
    );
    assert!(text.contains("new EKS nodes join"), "{text}");

    // Scaling us-east-1's node group down to one node would put it over its rated capacity.
    let op = Op::ScaleNodegroup {
        region: "us-east-1".into(),
        cluster: "kaldrix-production-us-east-1".into(),
        nodegroup: "kaldrix-api".into(),
        desired: 1,
        min: Some(1),
        max: None,
    };
    let p = plan::build(&op, &view, &fleet, None).unwrap();
    assert_eq!(p.calls[0].operation(), "UpdateNodegroupConfig");
    let verdicts = guards::evaluate(&GuardInput {
        plan: &p,
        before: &view,
        fleet: &fleet,
        permission: Permission::Allowed,
        last_change: None,
        now: sim.now(),
    });
    let capacity = verdicts
        .iter()
        .find(|g| g.rule == guards::SURVIVOR_CAPACITY)
        .unwrap();
    assert!(!capacity.passed, "{capacity:?}");
    assert!(
        capacity.reason.contains("nodes running there"),
        "{}",
        capacity.reason
    );
}
