//! The simulated fleet's model: deterministic under its seed, and its incidents and operations
//! move the metrics the way a real fleet's would. Virtual time only; nothing sleeps.

use chrono::{DateTime, Datelike, TimeZone, Utc};
use opsdeck::fleet::{
    evaluate, health::HealthInput, CostReport, EcsCounts, Fleet, MetricValues, ProbeResult,
    Reading, Replication, Route53State, Status,
};
use opsdeck::source::sim::{SimFleet, HOURS_PER_MONTH};
use opsdeck::source::Scenario;
use std::path::Path;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

fn atlas() -> (Fleet, SimFleet) {
    let fleet = Fleet::builtin();
    let sim = SimFleet::new(&fleet, 42, start());
    (fleet, sim)
}

/// Everything the model reports about one region now.
#[derive(Debug, Default)]
struct View {
    metrics: Option<MetricValues>,
    ecs: Option<Vec<EcsCounts>>,
    eks: Option<Vec<opsdeck::fleet::eks::NodegroupState>>,
    topology: Option<Replication>,
    route53: Option<Route53State>,
    cost: Option<CostReport>,
    probe: Option<ProbeResult>,
}

fn view(sim: &SimFleet, region: &str) -> View {
    let mut v = View::default();
    for (name, reading) in sim.readings() {
        if name != region {
            continue;
        }
        match reading {
            Reading::Metrics(m) => v.metrics = Some(m),
            Reading::Ecs(e) => v.ecs = Some(e),
            Reading::Eks(g) => v.eks = Some(g),
            Reading::Topology(t) => v.topology = Some(t),
            Reading::Route53(r) => v.route53 = Some(r),
            Reading::Cost(c) => v.cost = Some(c),
            Reading::Probe(p) => v.probe = Some(p),
        }
    }
    v
}

fn status(fleet: &Fleet, sim: &SimFleet, region: &str) -> Status {
    let v = view(sim, region);
    let input = HealthInput {
        metrics: v.metrics.as_ref(),
        ecs: v.ecs.as_deref(),
        eks: v.eks.as_deref(),
        replication: v.topology.as_ref(),
        route53: v.route53.as_ref(),
        probe: v.probe.as_ref(),
    };
    evaluate(fleet, region, input).0
}

fn metrics(sim: &SimFleet, region: &str) -> MetricValues {
    view(sim, region).metrics.expect("a metrics reading")
}

fn rps(sim: &SimFleet, region: &str) -> f64 {
    metrics(sim, region).requests_per_s.expect("requests/s")
}

fn latency(sim: &SimFleet, region: &str, stat: &str) -> Option<f64> {
    metrics(sim, region).latency_ms.get(stat).copied().flatten()
}

fn service(sim: &SimFleet, region: &str) -> EcsCounts {
    view(sim, region).ecs.expect("an ecs reading").remove(0)
}

/// Advance in `step_s` steps until `done` holds or `limit_s` passes; the virtual seconds it took.
fn advance_until(
    sim: &mut SimFleet,
    step_s: f64,
    limit_s: f64,
    mut done: impl FnMut(&SimFleet) -> bool,
) -> Option<f64> {
    let mut t = 0.0;
    while t <= limit_s {
        if done(sim) {
            return Some(t);
        }
        sim.advance(step_s);
        t += step_s;
    }
    None
}

#[test]
fn same_seed_gives_identical_readings_and_another_seed_differs() {
    let fleet = Fleet::builtin();
    let run = |seed| {
        let mut sim = SimFleet::new(&fleet, seed, start());
        for _ in 0..20 {
            sim.advance(37.0);
        }
        sim.readings()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

#[test]
fn baseline_regions_are_ok_with_every_metric_present() {
    let (fleet, sim) = atlas();
    let primary = fleet.primary().unwrap().name.clone();
    for region in &fleet.regions {
        let name = region.name.as_str();
        assert_eq!(status(&fleet, &sim, name), Status::Ok, "{name} at start");
        let v = view(&sim, name);
        let m = v.metrics.as_ref().unwrap();
        for stat in &fleet.metrics.latency_stats {
            assert!(
                m.latency_ms.get(stat).copied().flatten().is_some(),
                "{name} {stat}"
            );
        }
        assert!(
            m.latency_ms["p50"].unwrap() < m.latency_ms["p99"].unwrap() / 2.0,
            "{name}: p50 well below p99"
        );
        assert!(m.requests_per_s.unwrap() > 50.0, "{name} rps");
        assert!(
            (0.0005..0.01).contains(&m.error_rate.unwrap()),
            "{name} error rate {:?}",
            m.error_rate
        );
        assert!(
            (0.88..0.98).contains(&m.cache_hit_ratio.unwrap()),
            "{name} cache {:?}",
            m.cache_hit_ratio
        );
        assert_eq!(
            m.replica_lag_s.is_none(),
            name == primary,
            "{name}: lag only on replicas"
        );
        if name != primary {
            assert!(
                m.replica_lag_s.unwrap() < 2.0,
                "{name} lag {:?}",
                m.replica_lag_s
            );
        }
        assert_eq!(v.topology.as_ref().unwrap().is_primary(), name == primary);
        let ecs = &v.ecs.as_ref().unwrap()[0];
        assert_eq!((ecs.running, ecs.pending), (ecs.desired, 0), "{name}");
        assert_eq!(v.route53.as_ref().unwrap().healthy, Some(true));
        assert!(v.probe.as_ref().unwrap().is_ok());
        let cost = v.cost.as_ref().unwrap();
        assert!(
            cost.month_to_date_usd.unwrap() > 0.0
                && cost.forecast_usd.unwrap() > cost.month_to_date_usd.unwrap()
        );
        assert!(!cost.forecast_is_projection);
    }
}

#[test]
fn draining_a_region_raises_the_survivors_load_and_latency() {
    let (_, mut drained) = atlas();
    let (_, mut control) = atlas();
    drained.set_weight("eu-west-1", 0).unwrap();
    // Two minutes: before the survivors' autoscaling could add tasks.
    for _ in 0..4 {
        drained.advance(30.0);
        control.advance(30.0);
    }
    assert!(rps(&drained, "eu-west-1") < 0.05 * rps(&control, "eu-west-1"));
    for survivor in ["us-east-1", "ap-southeast-1"] {
        assert!(
            rps(&drained, survivor) > 1.5 * rps(&control, survivor),
            "{survivor} requests/s"
        );
        let (d, c) = (
            latency(&drained, survivor, "p99").unwrap(),
            latency(&control, survivor, "p99").unwrap(),
        );
        assert!(
            d > 1.3 * c,
            "{survivor} p99 {d:.0} ms vs {c:.0} ms undrained"
        );
    }
    assert_eq!(view(&drained, "eu-west-1").route53.unwrap().weight, Some(0));
    drained.set_weight("eu-west-1", 100).unwrap();
    drained.advance(300.0);
    control.advance(300.0);
    let (d, c) = (rps(&drained, "eu-west-1"), rps(&control, "eu-west-1"));
    assert!(
        (d - c).abs() < 0.05 * c,
        "restored eu-west-1 serves {d:.0} rps, undrained {c:.0}"
    );
    assert!(drained.set_weight("eu-west-1", 256).is_err());
    assert!(drained.set_weight("nowhere-1", 0).is_err());
}

#[test]
fn weighted_routing_sends_a_drained_regions_users_by_weight() {
    let fleet = Fleet::load(Path::new("fleets/kaldrix.toml")).unwrap();
    let mut drained = SimFleet::new(&fleet, 3, start());
    let mut control = SimFleet::new(&fleet, 3, start());
    let predicted = drained.route_without("us-east-1").unwrap();
    drained.set_weight("us-east-1", 0).unwrap();
    drained.advance(300.0);
    control.advance(300.0);
    let gain = |r: &str| rps(&drained, r) - rps(&control, r);
    let ratio = gain("us-west-2") / gain("eu-west-1");
    assert!(
        (1.8..2.2).contains(&ratio),
        "us-west-2 gains {ratio:.2}x what eu-west-1 gains (weights 20:10)"
    );
    assert_eq!(predicted[0].1, 0.0);
    assert!(predicted[1].1 > 2.0 * control.region_load("us-west-2").unwrap().demand_rps);
}

#[test]
fn an_outage_turns_its_region_crit_fails_route53_and_recovers_when_cleared() {
    let (fleet, mut sim) = atlas();
    let before_ap = rps(&sim, "ap-southeast-1");
    sim.inject("us-east-1", Scenario::Outage).unwrap();
    assert_eq!(
        sim.active_scenarios(),
        vec![("us-east-1".to_string(), Scenario::Outage)]
    );
    let crit_after = advance_until(&mut sim, 5.0, 120.0, |s| {
        status(&fleet, s, "us-east-1") == Status::Crit
    });
    assert!(
        crit_after.is_some(),
        "us-east-1 never turned crit within 2 min"
    );
    let ecs = service(&sim, "us-east-1");
    assert_eq!((ecs.running, ecs.desired), (0, 3));
    assert_eq!(view(&sim, "us-east-1").probe.unwrap().http_status, None);
    assert!(matches!(
        view(&sim, "us-east-1").topology,
        Some(Replication::Broken { .. })
    ));
    // Three failed checks 30 s apart: not before a minute, surely after 90 s.
    let mut t = crit_after.unwrap();
    while t < 55.0 {
        sim.advance(5.0);
        t += 5.0;
    }
    assert_eq!(
        view(&sim, "us-east-1").route53.unwrap().healthy,
        Some(true),
        "unhealthy after only {t} s"
    );
    assert!(
        metrics(&sim, "us-east-1").error_rate.unwrap() > 0.9,
        "5xx while Route53 still sends traffic"
    );
    sim.advance(120.0 - t);
    assert_eq!(
        view(&sim, "us-east-1").route53.unwrap().healthy,
        Some(false)
    );
    sim.advance(120.0);
    assert!(
        rps(&sim, "ap-southeast-1") > before_ap + 50.0,
        "survivors take the users"
    );
    sim.clear_scenarios();
    assert!(sim.active_scenarios().is_empty());
    let recovered = advance_until(&mut sim, 10.0, 600.0, |s| {
        status(&fleet, s, "us-east-1") == Status::Ok
    });
    let recovered = recovered.expect("us-east-1 recovers within 10 min of clearing");
    assert!(
        recovered >= 60.0,
        "recovered after {recovered} s, before its tasks could start"
    );
    assert_eq!(view(&sim, "us-east-1").route53.unwrap().healthy, Some(true));
    assert!(matches!(
        view(&sim, "us-east-1").topology,
        Some(Replication::Replica { .. })
    ));
}

#[test]
fn an_error_storm_pushes_the_5xx_rate_over_its_threshold() {
    let (fleet, mut sim) = atlas();
    sim.inject("ap-southeast-1", Scenario::ErrorStorm).unwrap();
    sim.advance(60.0);
    let rate = metrics(&sim, "ap-southeast-1").error_rate.unwrap();
    assert!(
        rate > fleet.thresholds.error_rate && (0.1..0.4).contains(&rate),
        "storm 5xx {rate}"
    );
    assert_eq!(
        view(&sim, "ap-southeast-1")
            .probe
            .unwrap()
            .status
            .as_deref(),
        Some("degraded")
    );
    assert_eq!(status(&fleet, &sim, "ap-southeast-1"), Status::Crit);
    assert!(
        metrics(&sim, "us-east-1").error_rate.unwrap() < 0.01,
        "other regions unaffected"
    );
    sim.clear_scenarios();
    sim.advance(60.0);
    assert!(metrics(&sim, "ap-southeast-1").error_rate.unwrap() < 0.01);
}

#[test]
fn a_cache_flush_drops_the_hit_ratio_then_it_warms_back() {
    let (fleet, mut sim) = atlas();
    let min = fleet.thresholds.cache_hit_ratio_min;
    sim.inject("us-east-1", Scenario::CacheFlush).unwrap();
    sim.advance(10.0);
    let hit = |s: &SimFleet| metrics(s, "us-east-1").cache_hit_ratio.unwrap();
    assert!(
        hit(&sim) < 0.2,
        "hit ratio right after the flush: {}",
        hit(&sim)
    );
    sim.advance(110.0);
    assert!(hit(&sim) < min, "warmed within 2 min: {}", hit(&sim));
    let warm = advance_until(&mut sim, 30.0, 1800.0, |s| hit(s) >= min);
    let warm = warm.expect("cache warms back above its minimum within 30 min");
    assert!(warm > 120.0, "warm after {warm} s");
    let ended = advance_until(&mut sim, 30.0, 1800.0, |s| s.active_scenarios().is_empty());
    assert!(
        ended.is_some(),
        "the flush scenario ends once the cache is warm"
    );
    assert!(sim.inject("us-east-1", Scenario::CacheFlush).is_ok());
}

#[test]
fn a_replica_falls_behind_and_promotion_ends_replication() {
    let (fleet, mut sim) = atlas();
    let lag = |s: &SimFleet| metrics(s, "us-east-1").replica_lag_s;
    assert!(lag(&sim).unwrap() < 2.0);
    sim.inject("us-east-1", Scenario::ReplicaLag).unwrap();
    let crossed = advance_until(&mut sim, 5.0, 300.0, |s| {
        lag(s).unwrap() > fleet.thresholds.replica_lag_s
    });
    assert!(crossed.unwrap() >= 10.0, "lag grows steadily, not at once");
    sim.advance(60.0);
    assert!(lag(&sim).unwrap() > 30.0);
    assert_eq!(status(&fleet, &sim, "us-east-1"), Status::Crit);
    sim.promote("us-east-1").unwrap();
    // Promoting: still listed as a replica, "modifying", taking no writes yet (as RDS shows it).
    assert!(
        matches!(view(&sim, "us-east-1").topology, Some(Replication::Replica { ref status, .. }) if status == "modifying")
    );
    assert_eq!(lag(&sim), None);
    sim.advance(120.0);
    assert_eq!(lag(&sim), None);
    assert!(
        matches!(view(&sim, "us-east-1").topology, Some(Replication::Primary { ref status, .. }) if status == "available")
    );
    assert!(matches!(
        view(&sim, "ap-southeast-1").topology,
        Some(Replication::Replica { .. })
    ));
    assert!(sim.promote("us-east-1").is_err(), "already a primary");
    assert!(
        sim.promote("eu-west-1").is_err(),
        "the primary cannot be promoted"
    );
}

#[test]
fn an_outage_of_the_primary_breaks_every_replica() {
    let (_, mut sim) = atlas();
    sim.inject("eu-west-1", Scenario::Outage).unwrap();
    sim.advance(30.0);
    for replica in ["us-east-1", "ap-southeast-1"] {
        assert!(
            matches!(
                view(&sim, replica).topology,
                Some(Replication::Broken { .. })
            ),
            "{replica}"
        );
        assert_eq!(metrics(&sim, replica).replica_lag_s, None);
    }
    sim.promote("us-east-1")
        .expect("a replica of a failed primary can be promoted");
    assert!(
        !view(&sim, "us-east-1")
            .topology
            .is_some_and(|t| t.is_writer()),
        "no writer while the promotion runs"
    );
    sim.advance(120.0);
    assert!(
        matches!(view(&sim, "us-east-1").topology, Some(Replication::Primary { ref status, .. }) if status == "available")
    );
}

#[test]
fn scaling_up_starts_pending_tasks_that_run_after_a_delay_and_cut_latency() {
    let (_, mut scaled) = atlas();
    let (_, mut control) = atlas();
    for sim in [&mut scaled, &mut control] {
        sim.set_autoscaling(false);
        sim.set_weight("eu-west-1", 0).unwrap();
        sim.advance(300.0);
    }
    scaled.set_desired("us-east-1", "api", 8).unwrap();
    let s = service(&scaled, "us-east-1");
    assert_eq!((s.desired, s.running, s.pending), (8, 3, 5));
    scaled.advance(45.0);
    control.advance(45.0);
    assert_eq!(
        service(&scaled, "us-east-1").running,
        3,
        "tasks still starting after 45 s"
    );
    scaled.advance(60.0);
    control.advance(60.0);
    let s = service(&scaled, "us-east-1");
    assert_eq!((s.running, s.pending), (8, 0), "all running after 105 s");
    let (a, b) = (
        latency(&scaled, "us-east-1", "p99").unwrap(),
        latency(&control, "us-east-1", "p99").unwrap(),
    );
    assert!(
        a < 0.7 * b,
        "p99 {a:.0} ms with 8 tasks vs {b:.0} ms with 3"
    );
    let load = scaled.region_load("us-east-1").unwrap();
    assert_eq!(
        (
            load.running_tasks,
            load.desired_tasks,
            load.min_tasks,
            load.max_tasks
        ),
        (8, 8, 2, 10)
    );
    assert!(
        scaled.set_desired("us-east-1", "api", 11).is_err(),
        "above max_tasks"
    );
    assert!(
        scaled.set_desired("us-east-1", "worker", 4).is_err(),
        "no such service"
    );
    scaled
        .set_scaling_bounds("us-east-1", "atlas-us/api", 2, 12)
        .unwrap();
    scaled.set_desired("us-east-1", "atlas-us/api", 11).unwrap();
    scaled.set_desired("us-east-1", "api", 4).unwrap();
    let s = service(&scaled, "us-east-1");
    assert_eq!(
        (s.desired, s.running + s.pending),
        (4, 4),
        "scaling down drops pending, then running tasks"
    );
}

#[test]
fn autoscaling_adds_tasks_to_overloaded_survivors_within_bounds() {
    let (fleet, mut sim) = atlas();
    sim.set_weight("eu-west-1", 0).unwrap();
    sim.advance(120.0);
    assert_eq!(
        service(&sim, "ap-southeast-1").desired,
        2,
        "no decision within two minutes"
    );
    assert_eq!(
        status(&fleet, &sim, "ap-southeast-1"),
        Status::Crit,
        "2 tasks cannot serve eu-west-1's users"
    );
    sim.advance(900.0);
    for survivor in ["us-east-1", "ap-southeast-1"] {
        let s = service(&sim, survivor);
        assert!(
            s.desired > 3 && s.desired <= 10,
            "{survivor} desired {}",
            s.desired
        );
        assert_eq!(s.running, s.desired, "{survivor} tasks started");
        assert!(
            latency(&sim, survivor, "p99").unwrap() < fleet.thresholds.latency_ms,
            "{survivor} latency back"
        );
    }
    let mut manual = SimFleet::new(&fleet, 42, start());
    manual.set_autoscaling(false);
    manual.set_weight("eu-west-1", 0).unwrap();
    manual.advance(1020.0);
    assert_eq!(
        service(&manual, "ap-southeast-1").desired,
        2,
        "autoscaling off: nothing changes"
    );
}

#[test]
fn cost_accrues_per_resource_hour() {
    let (fleet, mut sim) = atlas();
    sim.set_autoscaling(false);
    let monthly = fleet.regions[1].sim.monthly_cost_usd.unwrap();
    let mtd = |s: &SimFleet| {
        view(s, "us-east-1")
            .cost
            .unwrap()
            .month_to_date_usd
            .unwrap()
    };
    let hours_so_far = ((start().day() - 1) * 24 + 12) as f64;
    let expected = monthly / HOURS_PER_MONTH * hours_so_far;
    assert!(
        (mtd(&sim) - expected).abs() < 0.5,
        "month to date {} vs {expected}",
        mtd(&sim)
    );
    let forecast = view(&sim, "us-east-1").cost.unwrap().forecast_usd.unwrap();
    assert!(
        (forecast - monthly * 720.0 / HOURS_PER_MONTH).abs() < 1.0,
        "30-day month forecast {forecast}"
    );
    let before = mtd(&sim);
    sim.advance(3600.0);
    let hourly = mtd(&sim) - before;
    assert!(
        (hourly - monthly / HOURS_PER_MONTH).abs() < 0.01 * monthly / HOURS_PER_MONTH,
        "{hourly} per hour"
    );
    sim.set_desired("us-east-1", "api", 9).unwrap();
    sim.advance(120.0);
    let before = mtd(&sim);
    sim.advance(3600.0);
    assert!(
        mtd(&sim) - before > 1.2 * hourly,
        "three times the tasks cost more per hour"
    );
}

#[test]
fn predicted_latency_uses_the_models_queueing_formula() {
    let (fleet, sim) = atlas();
    let per_task = fleet.capacity.rps_per_task;
    let at_capacity = sim
        .predicted_latency_ms("us-east-1", "p99", 4.0 * per_task, 4.0)
        .unwrap();
    assert!((at_capacity - fleet.thresholds.latency_ms).abs() < 0.01 * fleet.thresholds.latency_ms);
    let half = sim
        .predicted_latency_ms("us-east-1", "p99", 2.0 * per_task, 4.0)
        .unwrap();
    let over = sim
        .predicted_latency_ms("us-east-1", "p99", 5.0 * per_task, 4.0)
        .unwrap();
    assert!(
        half < 0.7 * at_capacity && over > 2.0 * at_capacity,
        "{half} {at_capacity} {over}"
    );
    let p50 = sim
        .predicted_latency_ms("us-east-1", "p50", 2.0 * per_task, 4.0)
        .unwrap();
    let avg = sim
        .predicted_latency_ms("us-east-1", "Average", 2.0 * per_task, 4.0)
        .unwrap();
    assert!(p50 < avg && avg < half);
    assert_eq!(
        sim.predicted_latency_ms("us-east-1", "p99", 100.0, 0.0),
        None
    );
    assert_eq!(
        sim.predicted_latency_ms("nowhere-1", "p99", 100.0, 2.0),
        None
    );
    let load = sim.region_load("eu-west-1").unwrap();
    let predicted = sim
        .predicted_latency_ms(
            "eu-west-1",
            "p99",
            load.served_rps,
            load.running_tasks as f64,
        )
        .unwrap();
    let observed = latency(&sim, "eu-west-1", "p99").unwrap();
    assert!(
        (observed / predicted - 1.0).abs() < 0.15,
        "observed {observed:.0} ms, predicted {predicted:.0} ms"
    );
}

#[test]
fn scenarios_are_refused_where_they_cannot_apply() {
    let (_, mut sim) = atlas();
    assert!(sim.inject("nowhere-1", Scenario::Outage).is_err());
    let mut fleet = Fleet::builtin();
    fleet.regions[2].cache = None;
    fleet.regions[2].rds = None;
    let mut bare = SimFleet::new(&fleet, 1, start());
    assert!(bare.inject("ap-southeast-1", Scenario::CacheFlush).is_err());
    assert!(bare.inject("ap-southeast-1", Scenario::ReplicaLag).is_err());
    assert_eq!(metrics(&bare, "ap-southeast-1").cache_hit_ratio, None);
    assert!(view(&bare, "ap-southeast-1").topology.is_none());
}

fn fleet_files() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir("fleets")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_fleet_file_loads_and_runs_a_quiet_day_without_crit() {
    let files = fleet_files();
    assert!(files.len() >= 4, "fleet files: {files:?}");
    for path in files {
        let fleet = Fleet::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut sim = SimFleet::new(&fleet, 11, start());
        for region in &fleet.regions {
            assert_eq!(
                status(&fleet, &sim, &region.name),
                Status::Ok,
                "{} {} at start",
                path.display(),
                region.name
            );
        }
        for minute in 0..24 * 60 {
            sim.advance(60.0);
            if minute % 10 == 0 {
                for region in &fleet.regions {
                    let s = status(&fleet, &sim, &region.name);
                    assert_ne!(
                        s,
                        Status::Crit,
                        "{} {} crit at {} on a quiet day",
                        path.display(),
                        region.name,
                        sim.now()
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn spawned_model_replays_history_then_runs_live_and_notes_injections() {
    use opsdeck::source::sim::{spawn, SimOptions, IDENTITY};
    use opsdeck::source::{SourceCommand, SourceEvent};
    use tokio::time::{timeout, Duration};

    let mut opts = SimOptions::new(start());
    opts.seed = 5;
    opts.speed = 60.0;
    opts.tick_ms = 10;
    opts.history_s = 600;
    let mut source = spawn(Fleet::builtin(), opts);
    assert_eq!(source.kind, opsdeck::fleet::SourceKind::Sim);
    async fn next(
        events: &mut tokio::sync::mpsc::UnboundedReceiver<SourceEvent>,
    ) -> Option<SourceEvent> {
        timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("an event in time")
    }
    assert_eq!(
        next(&mut source.events).await,
        Some(SourceEvent::Identity(IDENTITY.to_string()))
    );
    let (mut history, mut live, mut clock) = (0, 0, None);
    while live < 18 {
        match next(&mut source.events)
            .await
            .expect("the source is running")
        {
            SourceEvent::Reading { at, .. } if at < start() => history += 1,
            SourceEvent::Reading { at, .. } if at > start() => live += 1,
            SourceEvent::Clock(t) => clock = Some(t),
            _ => {}
        }
    }
    assert_eq!(
        history,
        10 * 18,
        "ten minutes of history at 60 s steps, 18 readings each"
    );
    assert!(clock.is_some_and(|t| t >= start()));
    source
        .commands
        .send(SourceCommand::Inject {
            region: "us-east-1".into(),
            scenario: Scenario::ErrorStorm,
        })
        .unwrap();
    let note = loop {
        if let Some(SourceEvent::Note { region, text, .. }) = next(&mut source.events).await {
            break (region, text);
        }
    };
    assert_eq!(note.0.as_deref(), Some("us-east-1"));
    assert!(note.1.contains("error-storm"), "{}", note.1);
    source.commands.send(SourceCommand::Shutdown).unwrap();
    let closed = timeout(Duration::from_secs(10), async {
        while source.events.recv().await.is_some() {}
    })
    .await;
    assert!(closed.is_ok(), "the event channel closes after Shutdown");
}
