//! `opsdeck snapshot`: the current state of every region, once.

use crate::app::{self, Action, State};
use crate::cli::{Format, GlobalArgs, SnapshotArgs};
use crate::fleet::snapshot::FleetSnapshot;
use crate::fleet::{Fleet, SourceError, SourceKind};
use crate::setup::{self, CliError};
use crate::source::sim::SimFleet;
use crate::source::{aws, SourceCommand, SourceEvent};
use chrono::Utc;

pub async fn run(g: &GlobalArgs, args: &SnapshotArgs) -> Result<(), CliError> {
    let (fleet, is_sim) = setup::load_fleet(g)?;
    let snapshot = if is_sim {
        sim_snapshot(g, args, fleet)?
    } else {
        aws_snapshot(g, args, fleet).await?
    };
    let out = match args.format {
        Format::Json => {
            serde_json::to_string_pretty(&snapshot).map_err(|e| CliError::Runtime(e.to_string()))?
        }
        Format::Table => crate::fleet::text::clean_lines(&table(&snapshot)).into_owned(),
    };
    super::output::println(&out)
}

/// Run the model from `--start` for `--after`, then read every region once.
fn sim_snapshot(
    g: &GlobalArgs,
    args: &SnapshotArgs,
    fleet: Fleet,
) -> Result<FleetSnapshot, CliError> {
    let start = setup::start_time(g)?;
    let scenario = setup::scenario(g, &fleet)?;
    let mut model = SimFleet::new(&fleet, g.seed, start);
    if let Some((region, s)) = &scenario {
        model.inject(region, *s).map_err(CliError::Input)?;
    }
    let mut state = State::new(fleet, SourceKind::Sim, start);
    let mut left = args.after.unwrap_or(0.0);
    loop {
        feed(&mut state, &model);
        if left <= 0.0 {
            break;
        }
        let step = left.min(60.0);
        model.advance(step);
        left -= step;
    }
    Ok(app::snapshot::build(&state))
}

fn feed(state: &mut State, model: &SimFleet) {
    let at = model.now();
    for (region, reading) in model.readings() {
        app::update(
            state,
            Action::Source(SourceEvent::Reading {
                region,
                at,
                reading,
            }),
        );
    }
}

/// Read every region from AWS once: wait until each region has reported every kind it reports
/// (or failed), at most `--wait-s`; what never came is listed as an error of its region.
async fn aws_snapshot(
    g: &GlobalArgs,
    args: &SnapshotArgs,
    fleet: Fleet,
) -> Result<FleetSnapshot, CliError> {
    let source = aws::connect(&fleet, &setup::aws_options(g))
        .await
        .map_err(setup::fleet_aws_error)?;
    let identity = source.identity().to_string();
    let mut handle = source.spawn(fleet.clone());
    let mut state = State::new(fleet, SourceKind::Aws, Utc::now());
    state.identity = Some(identity);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(args.wait_s);
    while !complete(&state) {
        match tokio::time::timeout_at(deadline, handle.events.recv()).await {
            Ok(Some(ev)) => {
                app::update(&mut state, Action::Source(ev));
            }
            Ok(None) | Err(_) => break,
        }
    }
    let _ = handle.commands.send(SourceCommand::Shutdown);
    let now = Utc::now();
    for region in &mut state.regions {
        for kind in aws::reported_kinds(&region.spec) {
            if !region.fetched.contains_key(&kind) && !region.failures.contains_key(&kind) {
                region.fail(
                    kind,
                    now,
                    SourceError::Timeout(format!("no answer within {} s", args.wait_s)),
                );
            }
        }
    }
    if state.now < now {
        state.now = now;
    }
    Ok(app::snapshot::build(&state))
}

/// Every region has a reading or a failure for every kind the AWS source reports for it.
fn complete(state: &State) -> bool {
    state.regions.iter().all(|r| {
        aws::reported_kinds(&r.spec)
            .iter()
            .all(|k| r.fetched.contains_key(k) || r.failures.contains_key(k))
    })
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map(f).unwrap_or_else(|| "—".into())
}

/// "cdn: CloudFront E2QWRUHEXAMPLE OK  hit 92%  5xx 0.10%  4xx 1.20%  412 req/s", then what is
/// missing and why, and each breach.
fn cdn_line(c: &crate::fleet::snapshot::CloudFrontReport) -> String {
    let pct = |v: Option<f64>, digits: usize| opt(v, |v| format!("{:.digits$}%", v * 100.0));
    let mut out = format!(
        "cdn: CloudFront {} {}  hit {}  5xx {}  4xx {}  {} req/s\n",
        c.distribution,
        c.status.as_str().to_uppercase(),
        pct(c.cache_hit_ratio, 0),
        pct(c.error_rate, 2),
        pct(c.error_rate_4xx, 2),
        opt(c.requests_per_s, |v| format!("{v:.0}")),
    );
    for line in c.note.iter().chain(&c.breaches) {
        out.push_str(&format!("     {line}\n"));
    }
    out
}

/// "3/2/6 12" (desired/min/max running pods), with the status when not ACTIVE.
fn eks_cell(e: &crate::fleet::snapshot::EksReport) -> String {
    let n = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_else(|| "—".into());
    let mut cell = format!(
        "{}/{}/{} {}",
        n(e.desired),
        n(e.min),
        n(e.max),
        opt(e.running_pods, |v| format!("{v:.0}"))
    );
    match e.status.as_deref() {
        Some("ACTIVE") => {}
        Some(s) => cell.push_str(&format!(" {s}")),
        None => cell.push_str(" unread"),
    }
    cell
}

/// A plain table, one row per region.
pub fn table(s: &FleetSnapshot) -> String {
    let stats: Vec<String> = s
        .regions
        .first()
        .map(|r| r.latency_ms.keys().cloned().collect())
        .unwrap_or_default();
    let mut header = vec!["REGION".to_string(), "ROLE".into(), "STATUS".into()];
    header.extend(stats.iter().map(|st| format!("{st} ms")));
    header.extend(
        [
            "REQ/S",
            "5XX",
            "LAG s",
            "CACHE",
            "ECS run/des/pend",
            "R53 route",
            "R53",
            "COST MTD",
            "FORECAST",
            "STALE",
        ]
        .map(String::from),
    );
    // Only fleets with EKS node groups get the column: other tables stay as they were.
    let with_eks = s.regions.iter().any(|r| !r.eks.is_empty());
    if with_eks {
        header.insert(header.len() - 5, "EKS des/min/max pods".into());
    }
    let mut rows = vec![header];
    for r in &s.regions {
        let mut row = vec![
            r.name.clone(),
            r.role.clone(),
            if r.out_of_service {
                // As the pane title says: drained and serving nothing, never the worst.
                "OUT OF SERVICE".into()
            } else {
                r.status.as_str().to_uppercase()
            },
        ];
        for st in &stats {
            row.push(opt(r.latency_ms.get(st).copied().flatten(), |v| {
                format!("{v:.0}")
            }));
        }
        row.push(opt(r.requests_per_s, |v| format!("{v:.0}")));
        row.push(opt(r.error_rate, |v| format!("{:.2}%", v * 100.0)));
        row.push(match (r.replica_lag_s, r.replication.as_deref()) {
            (_, Some("broken")) => "BROKEN".into(),
            (None, _) if r.role == "primary" => "primary".into(),
            (v, _) => opt(v, |v| format!("{v:.1}")),
        });
        row.push(opt(r.cache_hit_ratio, |v| format!("{:.0}%", v * 100.0)));
        row.push(if r.ecs.is_empty() {
            "—".into()
        } else {
            r.ecs
                .iter()
                .map(|e| format!("{}/{}/{}", e.running, e.desired, e.pending))
                .collect::<Vec<_>>()
                .join(" ")
        });
        if with_eks {
            row.push(if r.eks.is_empty() {
                "—".into()
            } else {
                r.eks.iter().map(eks_cell).collect::<Vec<_>>().join(" ")
            });
        }
        // The record's routing: "w70" for a weighted one, else its policy.
        row.push(match (r.route53.weight, r.route53.policy.as_deref()) {
            (Some(w), _) => format!("w{w}"),
            (None, Some(p)) => p.to_string(),
            (None, None) => "—".into(),
        });
        row.push(match (r.route53.healthy, r.route53.health_check_inverted) {
            // Failing because its check is inverted: the drain, not an outage.
            (Some(false), Some(true)) => "drained (check inverted)".into(),
            (Some(true), Some(true)) => "INVERTED CHECK PASSES".into(),
            (Some(true), _) => "healthy".into(),
            (Some(false), _) => "UNHEALTHY".into(),
            (None, _) => "—".into(),
        });
        row.push(opt(r.cost.month_to_date_usd, |v| format!("${v:.0}")));
        row.push(opt(r.cost.forecast_usd, |v| format!("${v:.0}")));
        row.push(if r.stale_s > 0 {
            format!("{} s", r.stale_s)
        } else {
            "".into()
        });
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = format!("{} ({}) at {}\n", s.fleet, s.source, s.taken_at);
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    if let Some(c) = &s.cdn {
        out.push_str(&cdn_line(&c.cloudfront));
    }
    if let Some(w) = &s.worst {
        let since = w
            .since
            .as_deref()
            .map(|t| format!(" since {t}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "worst: {} {} {}{since}\n",
            w.region,
            w.status.as_str().to_uppercase(),
            w.reason
        ));
    }
    for r in &s.regions {
        for b in &r.breaches {
            out.push_str(&format!("{}: {b}\n", r.name));
        }
        for e in &r.errors {
            out.push_str(&format!("{}: error: {e}\n", r.name));
        }
    }
    out.trim_end().to_string()
}
