//! The failure-mode matrix (issue 8, point 1), the one docs/failure-modes.md describes: for every
//! mode and every fleet in `fleets/`, what opsdeck concludes — each region's status, the worst
//! region and why, the alerts raised and recovered, the what-if, and the guards' verdicts on a
//! drain, a restore, a scale-down and a promotion. Regions are named by the part they play
//! (primary, first replica in the failover order, other replica), so one row holds for every fleet.
//! Scenes: `tests/matrix/scene.rs` (simulated fleet, virtual clock, 20:00 UTC).

mod matrix;

use matrix::*;
use opsdeck::fleet::health::Family;
use opsdeck::fleet::Status;
use opsdeck::ops::guards::{
    INVERT_FAILING_CHECK, PRIMARY_TAKES_WRITES, REPLICATION_BROKEN, REPLICA_LAG_OVER_RPO,
    RESTORE_UNHEALTHY_REGION, SURVIVOR_CAPACITY,
};
use opsdeck::ops::whatif;
use Part::{First, Other, Primary};

/// A region's verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
enum R {
    /// Ok, no breach.
    Ok,
    /// Judged on the load it takes over: any status, breaches of latency and 5xx only.
    Load,
    /// Down: crit with 5xx 100 %, no task running, Route53 check and probe failing.
    Down,
    /// Down and, being a replica, its replication broken too.
    DownReplica,
    /// Drained and dead: out of service (never the worst, the title says so), its breaches kept.
    DeadOut,
    /// Drained: out of service, ok.
    DrainedOk,
    /// Replication broken (crit "lag BROKEN"), plus whatever its load says.
    Broken,
    /// Replica lag over the threshold, nothing else.
    Lag,
    /// An error storm: crit 5xx (not all), its probe saying "degraded".
    Storm,
    /// Overloaded: crit latency and 5xx only.
    Overloaded,
    /// Cold cache: crit cache hit only.
    Cache,
    /// Unknown: opsdeck is offline.
    Unknown,
    /// Unknown: all its data stale.
    Stale,
}

/// The fleet's worst region.
#[derive(Debug, Clone, Copy)]
enum W {
    None,
    /// None, or a serving region by the load it carries (never an out-of-service one).
    NoneOrLoad,
    /// This region, this status, a reason starting so ("" = a latency or 5xx reason).
    At(Part, Status, &'static str),
    /// As `At`, or a region crit by the load Route53 moved to it (a latency or 5xx reason).
    AtOrLoad(Part, Status, &'static str),
    /// "cannot reach AWS since T": regions unknown, none crit.
    Offline,
}

/// The what-if of the mode's failed region: where traffic goes, the promotion (region, basis of
/// the RPO), whether writes are down now. `None`: the fleet cannot be read.
#[derive(Debug, Clone, Copy)]
struct Wi {
    to: &'static [Part],
    promote: Option<(Part, &'static str)>,
    writes_down: bool,
}

/// A guard verdict.
#[derive(Debug, Clone, Copy)]
enum G {
    Pass,
    /// Blocked by exactly these rules.
    Block(&'static [&'static str]),
    /// Passes, unless survivor-capacity blocks by the load of the hour (the reason gives the numbers).
    ByLoad,
    /// No plan: the fleet cannot be read.
    NoPlan,
}

struct Row {
    mode: Mode,
    /// Primary, first replica, other replica.
    regions: [R; 3],
    worst: W,
    /// Alerts raised after the onset by regions not judged on load (any level below: crit).
    raised: &'static [(Part, &'static [Family])],
    whatif: Option<Wi>,
    /// drain, restore, scale down, promote.
    guards: [G; 4],
}

const DOWN: &[Family] = &[
    Family::ErrorRate,
    Family::Ecs,
    Family::Route53,
    Family::Probe,
];
const DOWN_REPLICA: &[Family] = &[
    Family::ErrorRate,
    Family::ReplicaLag,
    Family::Ecs,
    Family::Route53,
    Family::Probe,
];
const LAG: &[Family] = &[Family::ReplicaLag];
const BASIS_LIVE: &str = "current replica lag";
const BASIS_LAST: &str = "last replica lag before replication stopped";

fn rows() -> Vec<Row> {
    use G::{Block, ByLoad, NoPlan, Pass};
    vec![
        Row {
            mode: Mode::Healthy,
            regions: [R::Ok, R::Ok, R::Ok],
            worst: W::None,
            raised: &[],
            whatif: Some(Wi {
                to: &[First, Other],
                promote: Some((First, BASIS_LIVE)),
                writes_down: false,
            }),
            guards: [ByLoad, Pass, ByLoad, Block(&[PRIMARY_TAKES_WRITES])],
        },
        Row {
            mode: Mode::ReplicaOutage,
            regions: [R::Load, R::DownReplica, R::Load],
            worst: W::At(First, Status::Crit, "5xx 100 %"),
            raised: &[(First, DOWN_REPLICA)],
            whatif: Some(Wi {
                to: &[Primary, Other],
                promote: None,
                writes_down: false,
            }),
            guards: [
                Pass,
                Block(&[RESTORE_UNHEALTHY_REGION]),
                Pass,
                Block(&[PRIMARY_TAKES_WRITES, REPLICATION_BROKEN]),
            ],
        },
        Row {
            mode: Mode::PrimaryOutage,
            regions: [R::Down, R::Broken, R::Broken],
            worst: W::At(Primary, Status::Crit, "5xx 100 %"),
            raised: &[(Primary, DOWN)],
            whatif: Some(Wi {
                to: &[First, Other],
                promote: Some((First, BASIS_LAST)),
                writes_down: true,
            }),
            guards: [Pass, Block(&[RESTORE_UNHEALTHY_REGION]), Pass, Pass],
        },
        Row {
            mode: Mode::ReplicationBroken,
            regions: [R::Ok, R::Broken, R::Ok],
            worst: W::At(First, Status::Crit, "lag BROKEN"),
            raised: &[(First, LAG)],
            whatif: Some(Wi {
                to: &[First, Other],
                promote: Some((Other, BASIS_LIVE)),
                writes_down: false,
            }),
            guards: [
                ByLoad,
                Pass,
                ByLoad,
                Block(&[PRIMARY_TAKES_WRITES, REPLICATION_BROKEN]),
            ],
        },
        Row {
            mode: Mode::LagOverRpo,
            regions: [R::Ok, R::Lag, R::Ok],
            worst: W::At(First, Status::Crit, "lag "),
            raised: &[(First, LAG)],
            whatif: Some(Wi {
                to: &[First, Other],
                promote: Some((Other, BASIS_LIVE)),
                writes_down: false,
            }),
            guards: [
                ByLoad,
                Pass,
                ByLoad,
                Block(&[PRIMARY_TAKES_WRITES, REPLICA_LAG_OVER_RPO]),
            ],
        },
        Row {
            mode: Mode::ErrorStorm,
            regions: [R::Ok, R::Storm, R::Ok],
            worst: W::At(First, Status::Crit, "5xx "),
            raised: &[(First, &[Family::ErrorRate, Family::Probe])],
            whatif: Some(Wi {
                to: &[Primary, Other],
                promote: None,
                writes_down: false,
            }),
            guards: [
                ByLoad,
                Block(&[RESTORE_UNHEALTHY_REGION]),
                ByLoad,
                Block(&[PRIMARY_TAKES_WRITES]),
            ],
        },
        Row {
            mode: Mode::Overload,
            regions: [R::Ok, R::Overloaded, R::Ok],
            worst: W::At(First, Status::Crit, ""),
            raised: &[(First, &[Family::Latency, Family::ErrorRate])],
            whatif: Some(Wi {
                to: &[Primary, Other],
                promote: None,
                writes_down: false,
            }),
            guards: [
                ByLoad,
                Pass,
                Block(&[SURVIVOR_CAPACITY]),
                Block(&[PRIMARY_TAKES_WRITES]),
            ],
        },
        Row {
            mode: Mode::CacheFlush,
            regions: [R::Ok, R::Cache, R::Ok],
            worst: W::At(First, Status::Crit, "cache hit "),
            raised: &[(First, &[Family::CacheHit])],
            whatif: Some(Wi {
                to: &[Primary, Other],
                promote: None,
                writes_down: false,
            }),
            guards: [ByLoad, Pass, ByLoad, Block(&[PRIMARY_TAKES_WRITES])],
        },
        Row {
            mode: Mode::ConnectionLost,
            regions: [R::Unknown, R::Unknown, R::Unknown],
            worst: W::Offline,
            raised: &[],
            whatif: None,
            guards: [NoPlan, NoPlan, NoPlan, NoPlan],
        },
        Row {
            mode: Mode::OneRegionStale,
            regions: [R::Ok, R::Ok, R::Stale],
            worst: W::At(Other, Status::Unknown, "all data stale 48 s"),
            raised: &[],
            whatif: Some(Wi {
                to: &[Primary, First],
                promote: None,
                writes_down: false,
            }),
            guards: [ByLoad, Pass, ByLoad, Block(&[PRIMARY_TAKES_WRITES])],
        },
        Row {
            mode: Mode::Drained,
            regions: [R::Load, R::DrainedOk, R::Load],
            worst: W::NoneOrLoad,
            raised: &[],
            whatif: Some(Wi {
                to: &[Primary, Other],
                promote: None,
                writes_down: false,
            }),
            guards: [Pass, Pass, Pass, Block(&[PRIMARY_TAKES_WRITES])],
        },
        Row {
            mode: Mode::DrainedAndDead,
            regions: [R::Load, R::DeadOut, R::Load],
            worst: W::NoneOrLoad,
            raised: &[(First, DOWN_REPLICA)],
            whatif: Some(Wi {
                to: &[Primary, Other],
                promote: None,
                writes_down: false,
            }),
            guards: [
                Pass,
                Block(&[RESTORE_UNHEALTHY_REGION]),
                Pass,
                Block(&[PRIMARY_TAKES_WRITES, REPLICATION_BROKEN]),
            ],
        },
        Row {
            mode: Mode::TwoRegionsDown,
            regions: [R::Down, R::DownReplica, R::Broken],
            worst: W::At(Other, Status::Crit, ""),
            raised: &[(Primary, DOWN), (First, DOWN_REPLICA)],
            whatif: Some(Wi {
                to: &[Other],
                promote: Some((Other, BASIS_LAST)),
                writes_down: true,
            }),
            guards: [
                Pass,
                Block(&[RESTORE_UNHEALTHY_REGION]),
                Pass,
                Block(&[REPLICATION_BROKEN]),
            ],
        },
    ]
}

#[test]
fn every_mode_on_every_fleet_gives_the_verdicts_of_the_matrix() {
    let (weighted_rows, latency) = (rows(), latency_rows());
    assert_eq!(weighted_rows.len(), Mode::ALL.len());
    for path in fleet_files() {
        let fleet = load(&path);
        // A fleet routed by latency (RichesReach) holds the matrix's latency rows.
        let rows = if weighted(&fleet) {
            &weighted_rows
        } else {
            &latency
        };
        for row in rows {
            let s = scene(&fleet, row.mode);
            let at = format!("{} {:?}", fleet.name, row.mode);
            let ctx = || format!("{at}\n{}", describe(&s, row.mode));
            check_regions(&s, row, &ctx);
            check_worst(&s, row, &ctx);
            check_alerts(&s, row, &ctx);
            check_what_if(&s, row, &ctx);
            check_guards(&s, row, &ctx);
        }
    }
}

/// The matrix under latency routing: where it differs from weighted routing, and why.
fn latency_rows() -> Vec<Row> {
    let mut rows = rows();
    for row in &mut rows {
        if let Mode::ReplicaOutage | Mode::PrimaryOutage | Mode::TwoRegionsDown = row.mode {
            // The subject's endpoint fails its health check: Route53 already leaves its record
            // out, and a drain by inversion would make the check pass and send users to it.
            row.guards[0] = G::Block(&[INVERT_FAILING_CHECK]);
        }
        if let W::At(part, Status::Crit, "5xx 100 %") = row.worst {
            // Route53 takes a dead region's record out by its failing check and sends all its
            // users to the nearest survivor: where that overloads it, the pain is there.
            row.worst = W::AtOrLoad(part, Status::Crit, "5xx 100 %");
        }
        if row.mode == Mode::DrainedAndDead {
            // Drained by inverting its check, then its endpoint died: the inverted check passes
            // and Route53 sends users to the dead region. Not out of service: down, the worst.
            row.regions[First as usize] = R::DownReplica;
            row.worst = W::At(First, Status::Crit, "5xx 100 %");
            // The drain finds the check inverted already (nothing to do; the plan says to
            // revert it); the restore reverts it, which takes the region out: it passes.
            row.guards[1] = G::Pass;
        }
    }
    rows
}

/// The same matrix with every fleet's records routed by latency, each with a health check: a
/// region is drained by inverting its check, and the verdicts are those of weighted routing
/// (a drained region is out of service, never the worst, whatever takes it out of rotation).
#[test]
fn every_mode_holds_under_latency_routing_with_health_checks() {
    let rows = latency_rows();
    for path in fleet_files() {
        let mut fleet = load(&path);
        for r in &mut fleet.regions {
            if let Some(rec) = r.route53.as_mut() {
                rec.policy = opsdeck::fleet::routing::Policy::Latency;
                rec.health_check_id = Some(format!("hc-{}", r.name));
            }
        }
        for row in &rows {
            let s = scene(&fleet, row.mode);
            let at = format!("{} (latency) {:?}", fleet.name, row.mode);
            let ctx = || format!("{at}\n{}", describe(&s, row.mode));
            check_regions(&s, row, &ctx);
            check_worst(&s, row, &ctx);
            check_alerts(&s, row, &ctx);
            check_guards(&s, row, &ctx);
        }
    }
}

fn load_only(b: &opsdeck::fleet::Breach) -> bool {
    matches!(b.family, Family::Latency | Family::ErrorRate)
}

fn families(s: &Scene, part: Part) -> Vec<Family> {
    let r = s.region(part);
    let mut f: Vec<Family> = r.breaches.iter().map(|b| b.family).collect();
    f.sort();
    f.dedup();
    f
}

fn check_regions(s: &Scene, row: &Row, ctx: &dyn Fn() -> String) {
    for (part, want) in Part::ALL.into_iter().zip(row.regions) {
        let r = s.region(part);
        let out = s.state.out_of_service().contains(&r.name());
        let title = s.title(part);
        let fams = families(s, part);
        let crit_with =
            |need: &[Family]| r.status == Status::Crit && need.iter().all(|f| fams.contains(f));
        let ok = match want {
            R::Ok => r.status == Status::Ok && r.breaches.is_empty(),
            R::Load => r.breaches.iter().all(load_only) && !out,
            R::Down => crit_with(DOWN) && r.breaches.iter().any(|b| b.short == "5xx 100 %"),
            R::DownReplica => crit_with(DOWN_REPLICA),
            R::DeadOut => {
                out && crit_with(&[Family::Ecs, Family::Route53, Family::Probe])
                    && title.contains("OUT OF SERVICE")
                    && !title.contains("CRIT")
            }
            R::DrainedOk => out && r.status == Status::Ok && title.contains("OUT OF SERVICE"),
            R::Broken => {
                r.status == Status::Crit
                    && r.breaches.iter().any(|b| b.short == "lag BROKEN")
                    && r.breaches
                        .iter()
                        .all(|b| load_only(b) || b.family == Family::ReplicaLag)
            }
            R::Lag => fams == [Family::ReplicaLag] && r.status == Status::Crit,
            R::Storm => {
                r.status == Status::Crit
                    && r.breaches
                        .iter()
                        .any(|b| b.family == Family::ErrorRate && b.affected < 0.5)
                    && r.breaches
                        .iter()
                        .all(|b| load_only(b) || b.short.contains("degraded"))
            }
            R::Overloaded => {
                r.status == Status::Crit
                    && fams.contains(&Family::Latency)
                    && r.breaches.iter().all(load_only)
            }
            R::Cache => fams == [Family::CacheHit] && r.status == Status::Crit,
            R::Unknown => r.status == Status::Unknown && !title.contains("CRIT"),
            R::Stale => {
                r.status == Status::Unknown && title.contains("STALE 48 s") && !title.contains("OK")
            }
        };
        assert!(
            ok,
            "{:?} should be {want:?} (title {title:?})\n{}",
            part,
            ctx()
        );
        // The snapshot JSON says what the pane title says.
        let snap = opsdeck::app::snapshot::build(&s.state);
        let report = snap.regions.iter().find(|x| x.name == r.name()).unwrap();
        assert_eq!(
            report.out_of_service,
            matches!(want, R::DeadOut | R::DrainedOk),
            "{:?} out_of_service in the snapshot\n{}",
            part,
            ctx()
        );
        // ... and so does its table.
        let table = opsdeck::commands::snapshot::table(&snap);
        let line = table
            .lines()
            .find(|l| l.starts_with(&format!("{} ", r.name())))
            .unwrap();
        assert_eq!(
            line.contains("OUT OF SERVICE"),
            report.out_of_service,
            "{line}"
        );
    }
}

fn check_worst(s: &Scene, row: &Row, ctx: &dyn Fn() -> String) {
    let worst = s.state.worst();
    let line = s.status_line();
    match row.worst {
        W::None => {
            assert!(worst.is_none(), "{}", ctx());
            assert!(
                line.contains("all regions ok") || line.contains("all serving regions ok"),
                "{line}"
            );
        }
        W::NoneOrLoad => {
            if let Some(w) = &worst {
                let part = s.parts.part(&w.region);
                assert_eq!(row.regions[part as usize], R::Load, "{}", ctx());
                assert!(line.contains(&w.region), "{line}");
            } else {
                assert!(
                    line.contains("all serving regions ok") && line.contains("1 out of service"),
                    "{line}"
                );
            }
        }
        W::AtOrLoad(part, status, reason) => {
            let w = worst.unwrap_or_else(|| panic!("a worst region\n{}", ctx()));
            let stat = s.fleet.threshold_stat();
            let by_load = w.reason.starts_with("5xx ") || w.reason.starts_with(stat);
            let at = w.region == s.parts.name(part)
                && w.status == status
                && w.reason.starts_with(reason);
            assert!(at || (by_load && w.status == Status::Crit), "{}", ctx());
            assert!(
                line.contains(&format!("{} ", w.region)) && line.contains(&w.reason),
                "{line}"
            );
        }
        W::At(part, status, reason) => {
            let w = worst.unwrap_or_else(|| panic!("a worst region\n{}", ctx()));
            assert_eq!(w.region, s.parts.name(part), "{}", ctx());
            assert_eq!(w.status, status, "{}", ctx());
            let stat = s.fleet.threshold_stat();
            let by_load = w.reason.starts_with("5xx ") || w.reason.starts_with(stat);
            match reason {
                "" => assert!(by_load, "{}", ctx()),
                r => assert!(w.reason.starts_with(r), "{}", ctx()),
            }
            assert!(w.since.is_some_and(|t| t >= s.onset), "{}", ctx());
            assert!(
                line.contains(&format!("{} ", w.region)) && line.contains(&w.reason),
                "{line}"
            );
        }
        W::Offline => {
            let since = s.onset + chrono::Duration::seconds(30);
            assert_eq!(s.state.offline, Some(since), "{}", ctx());
            // No region is named worst while the fault is ours.
            assert!(worst.is_none(), "{}", ctx());
            let snap = opsdeck::app::snapshot::build(&s.state);
            assert_eq!(
                snap.offline_since.as_deref(),
                Some(
                    since
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                        .as_str()
                )
            );
            assert!(snap.worst.is_none());
            assert!(
                line.contains(&format!("cannot reach AWS since {}", since.format("%H:%M"))),
                "{line}"
            );
        }
    }
}

/// The family an alert line speaks of.
fn family_of(text: &str, stat: &str) -> Option<Family> {
    let body = text.split_once(' ')?.1;
    Some(if body.starts_with("5xx rate") {
        Family::ErrorRate
    } else if body.starts_with(&format!("{stat} latency")) {
        Family::Latency
    } else if body.starts_with("replica lag") || body.starts_with("replication not running") {
        Family::ReplicaLag
    } else if body.starts_with("cache hit") {
        Family::CacheHit
    } else if body.starts_with("Route53") {
        Family::Route53
    } else if body.starts_with("health probe") {
        Family::Probe
    } else if body.contains("tasks running") || body.starts_with("node group") {
        Family::Ecs
    } else {
        return None;
    })
}

fn check_alerts(s: &Scene, row: &Row, ctx: &dyn Fn() -> String) {
    let stat = s.fleet.threshold_stat();
    for part in Part::ALL {
        let name = s.parts.name(part);
        let lines: Vec<&str> = s
            .state
            .events
            .iter()
            .filter(|e| e.at > s.onset && e.region.as_deref() == Some(name))
            .map(|e| e.text.as_str())
            .filter(|t| {
                t.starts_with("CRIT ") || t.starts_with("WARN ") || t.starts_with("RECOVERED")
            })
            .collect();
        let judged_on_load = row.regions[part as usize] == R::Load
            || (row.regions[part as usize] == R::Broken && row.mode != Mode::ReplicationBroken);
        let mut raised: Vec<Family> = lines
            .iter()
            .filter(|t| !t.starts_with("RECOVERED"))
            .map(|t| family_of(t, stat).unwrap_or_else(|| panic!("{t}")))
            .filter(|f| !(judged_on_load && matches!(f, Family::Latency | Family::ErrorRate)))
            .collect();
        raised.sort();
        raised.dedup();
        let mut want: Vec<Family> = row
            .raised
            .iter()
            .filter(|(p, _)| *p == part)
            .flat_map(|(_, f)| f.iter().copied())
            .collect();
        if row.regions[part as usize] == R::Broken && row.mode != Mode::ReplicationBroken {
            want.push(Family::ReplicaLag);
        }
        want.sort();
        assert_eq!(
            raised,
            want,
            "alerts raised by {part:?}: {lines:#?}\n{}",
            ctx()
        );
        // Every raised alert is crit here, names its threshold (or its check) and since when.
        for t in lines.iter().filter(|t| !t.starts_with("RECOVERED")) {
            assert!(t.contains(" since "), "{t}");
        }
        // Nothing recovers in these scenes, least of all for lack of data; a region judged on load
        // may see its latency come back under the threshold.
        for t in lines.iter().filter(|t| t.starts_with("RECOVERED")) {
            assert!(
                judged_on_load && (t.ends_with("latency") || t.ends_with("5xx rate")),
                "{t}\n{}",
                ctx()
            );
        }
    }
}

fn check_what_if(s: &Scene, row: &Row, ctx: &dyn Fn() -> String) {
    let failed = row.mode.failed();
    let Some(want) = row.whatif else {
        assert!(what_if(s, failed).is_err(), "{}", ctx());
        return;
    };
    let w = what_if(s, failed).unwrap_or_else(|e| panic!("{e}\n{}", ctx()));
    let to: Vec<Part> = w
        .survivors
        .iter()
        .filter(|x| x.serving && x.rps_after > 0.0)
        .map(|x| s.parts.part(&x.region))
        .collect();
    assert_eq!(to, want.to, "traffic goes to\n{}", ctx());
    match (want.promote, &w.promotion) {
        (None, None) => {}
        (Some((part, basis)), Some(p)) => {
            assert_eq!(p.region, s.parts.name(part), "{}", ctx());
            assert_eq!(p.rpo_basis, basis, "{}", ctx());
            let rpo = p.rpo_s.expect("a numeric RPO");
            assert!(rpo > 0.0 && rpo <= p.rpo_budget_s, "{}", ctx());
            assert_eq!(p.within_budget, Some(true), "{}", ctx());
            // By the fleet's failover order the first is passed over with a reason; by capacity,
            // a region without running tasks simply ranks last.
            if part != Part::First && !s.fleet.failover.order.is_empty() {
                assert!(
                    w.notes.iter().any(|n| n.contains(&s.parts.first)),
                    "the what-if says why not {}\n{}",
                    s.parts.first,
                    ctx()
                );
            }
        }
        _ => panic!("promotion\n{}", ctx()),
    }
    assert_eq!(w.writes_down, want.writes_down, "{}", ctx());
    let text = opsdeck::ops::text::what_if(&w);
    if want.writes_down {
        assert_eq!(w.writes_down_since, Some(s.onset), "{}", ctx());
        assert!(
            text.contains(&format!("down since {}", s.onset.format("%H:%M:%S"))),
            "{text}"
        );
    } else {
        assert!(
            w.writes_down_since.is_none() && !text.contains("down since"),
            "{text}"
        );
    }
    // RTO step by step: detection, then DNS, the survivors' tasks (when any are to add) and the
    // promotion followed by the writer switch, side by side.
    let names: Vec<&str> = w.steps.iter().map(|x| x.name.as_str()).collect();
    assert!(names[0].contains("health check"), "{names:?}");
    assert!(names.iter().any(|n| n.contains("DNS")), "{names:?}");
    // An EKS fleet's survivors add nodes, which join later than tasks start.
    let eks = s.fleet.regions.iter().all(|r| r.ecs.is_empty());
    let (scale_step, scale_s) = if eks {
        ("EKS nodes join", whatif::NODE_START_S)
    } else {
        ("ECS tasks start", whatif::TASK_START_S)
    };
    assert_eq!(
        names.iter().any(|n| n.contains(scale_step)),
        !w.recommended.is_empty(),
        "{names:?}"
    );
    let promoted = w.promotion.is_some();
    assert_eq!(
        names.iter().any(|n| n.contains("PromoteReadReplica")),
        promoted,
        "{names:?}"
    );
    assert_eq!(
        names.iter().any(|n| n.contains("switches its writer")),
        promoted,
        "{names:?}"
    );
    let tasks = if w.recommended.is_empty() {
        0.0
    } else {
        scale_s
    };
    let promotion = if promoted {
        opsdeck::source::sim::PROMOTION_S + whatif::WRITER_SWITCH_S
    } else {
        0.0
    };
    let rto = whatif::DETECTION_S + whatif::DNS_TTL_S.max(tasks).max(promotion);
    assert_eq!(w.rto_s, rto, "{}", ctx());
    assert!(text.contains(&format!("RTO       ~{rto:.0} s")), "{text}");
}

fn check_guards(s: &Scene, row: &Row, ctx: &dyn Fn() -> String) {
    for ((name, op), want) in operations(s, row.mode.subject())
        .into_iter()
        .zip(row.guards)
    {
        let got = verdict(s, &op);
        let blocked: Vec<&str> = match &got {
            Ok(gs) => gs
                .iter()
                .filter(|g| !g.passed)
                .map(|g| g.rule.as_str())
                .collect(),
            Err(_) => Vec::new(),
        };
        let fine = match want {
            G::Pass => got.is_ok() && blocked.is_empty(),
            G::Block(rules) => got.is_ok() && blocked == rules,
            G::ByLoad => {
                got.is_ok()
                    && (blocked.is_empty() || blocked == [SURVIVOR_CAPACITY])
                    && got.as_ref().unwrap().iter().all(|g| {
                        g.passed
                            || g.reason.contains("of its rated capacity")
                            || g.reason.contains("no running task")
                    })
            }
            G::NoPlan => got.is_err(),
        };
        assert!(
            fine,
            "{name}: want {want:?}, blocked by {blocked:?}\n{}",
            ctx()
        );
        if let Ok(gs) = &got {
            for g in gs.iter().filter(|g| !g.passed) {
                // Every rule the matrix meets is overridable but one: inverting the check of a
                // dead endpoint only ever sends users to it.
                assert_eq!(
                    g.overridable,
                    g.rule != INVERT_FAILING_CHECK,
                    "{name}: {} overridable?",
                    g.rule
                );
            }
        }
    }
}

/// Issue 8's acceptance command as given (wall-clock start, no `--start`).
#[test]
fn the_acceptance_command_names_the_promotion_rpo_and_writes_down_since() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args([
            "simulate",
            "--fleet",
            "fleets/kaldrix.toml",
            "--sim",
            "--scenario",
            "outage@us-east-1",
            "--after",
            "3m",
            "--fail",
            "us-east-1",
            "--format",
            "json",
        ])
        .env("OPSDECK_STATE_DIR", dir.path())
        .env("OPSDECK_CONFIG", dir.path().join("config"))
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run opsdeck");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["promotion"]["region"], "us-west-2", "{v:#}");
    assert!(
        v["promotion"]["rpo_s"].as_f64().is_some_and(|r| r > 0.0),
        "{v:#}"
    );
    let at: chrono::DateTime<chrono::Utc> = v["at"].as_str().unwrap().parse().unwrap();
    let since: chrono::DateTime<chrono::Utc> = v["writes_down_since"]
        .as_str()
        .expect("writes_down_since")
        .parse()
        .unwrap();
    assert_eq!(at - since, chrono::Duration::minutes(3), "{v:#}");
}
