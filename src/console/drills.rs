//! The console's side of drills (`app::drill`): list the runbooks and past runs, run a drill
//! through the drill engine paced by the operator (`drill::engine::Gate`), read a past run back.
//! A drill the console runs writes the same timeline the CLI writes (`drill::timeline`, in the
//! state directory) and, when it ends, its report beside it: `RUN_ID.md` and `RUN_ID.json`
//! (what `opsdeck drill run --report` writes).

use crate::app::drill::{DrillEffect, DrillReport, Listed, PastRun};
use crate::app::Action;
use crate::drill::engine::{Answer, Drill, Gate, Mode, NonInteractive, World};
use crate::drill::timeline::{self, EventKind, Timeline, Verdict};
use crate::drill::{report, runbook, Runbook};
use crate::fleet::Fleet;
use crate::ops::Operator;
use crate::source::sim::SimFleet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::{self, UnboundedSender};

/// At most this many runbook files are read from one directory, and past runs listed.
const MAX_LISTED: usize = 200;

/// What the console runs drills with.
pub struct Drills {
    /// An operator on the console's target whose pipeline only records whether a change was
    /// accepted (the drill watches it settle), as the CLI's.
    pub operator: Arc<Operator>,
    pub target: Arc<dyn crate::ops::Target>,
    /// The console's live simulated fleet (none: AWS).
    pub model: Option<Arc<Mutex<SimFleet>>>,
    /// The fleet file (none: the built-in fleet).
    pub fleet_path: Option<PathBuf>,
    pub config_dir: Option<PathBuf>,
    pub state_dir: PathBuf,
    /// AWS: where a real drill reads its metrics (CloudWatch, as `opsdeck drill run --mode
    /// real`); none: only what a read of the fleet shows.
    pub metrics: Option<Arc<crate::drill::engine::MetricsReader>>,
    /// The answers of the drill running now.
    answers: Option<UnboundedSender<Answer>>,
}

impl Drills {
    pub fn new(
        operator: Operator,
        target: Arc<dyn crate::ops::Target>,
        model: Option<Arc<Mutex<SimFleet>>>,
        fleet_path: Option<PathBuf>,
        config_dir: Option<PathBuf>,
        state_dir: PathBuf,
    ) -> Self {
        Drills {
            operator: Arc::new(operator),
            target,
            model,
            fleet_path,
            config_dir,
            state_dir,
            metrics: None,
            answers: None,
        }
    }

    /// Where runbooks are looked for: `drills/` beside the fleet file, then in the config
    /// directory.
    pub fn dirs(&self) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        if let Some(f) = &self.fleet_path {
            dirs.push(f.parent().unwrap_or(Path::new(".")).join("drills"));
        }
        if let Some(c) = &self.config_dir {
            dirs.push(c.join("drills"));
        }
        dirs.dedup();
        dirs
    }

    pub fn handle(&mut self, effect: DrillEffect, tx: UnboundedSender<Action>) {
        match effect {
            DrillEffect::List => {
                let (fleet, fleet_path, dirs) = (
                    self.operator.fleet().clone(),
                    self.fleet_path.clone(),
                    self.dirs(),
                );
                let timelines = timeline::dir(&self.state_dir);
                let now = self.operator.clock().now();
                tokio::task::spawn_blocking(move || {
                    let listed = list(&fleet, fleet_path.as_deref(), &dirs, &timelines, now);
                    let mut looked_in = dirs;
                    looked_in.push(timelines);
                    send(&tx, DrillReport::Listed { listed, looked_in });
                });
            }
            DrillEffect::LoadPast(path) => {
                tokio::task::spawn_blocking(move || {
                    let past = timeline::load(&path).map(|l| PastRun {
                        path: l.path,
                        events: l.events,
                        bad_lines: l.bad_lines,
                        scroll: 0,
                    });
                    send(&tx, DrillReport::Past(past));
                });
            }
            DrillEffect::Answer(a) => {
                let sent = self.answers.as_ref().is_some_and(|s| s.send(a).is_ok());
                if !sent {
                    send(&tx, DrillReport::Failed("no drill is running".into()));
                }
            }
            DrillEffect::Start(runbook) => self.start(*runbook, tx),
        }
    }

    fn start(&mut self, runbook: Runbook, tx: UnboundedSender<Action>) {
        let (answers_tx, answers) = mpsc::unbounded_channel();
        let (holds, mut holds_rx) = mpsc::unbounded_channel();
        let (events, mut events_rx) = mpsc::unbounded_channel();
        self.answers = Some(answers_tx);
        let operator = self.operator.clone();
        let target = self.target.clone();
        let model = self.model.clone();
        let metrics = self.metrics.clone();
        let dir = timeline::dir(&self.state_dir);
        // Events before holds: the engine records what happened before it waits.
        let fwd = tx.clone();
        let forward = tokio::spawn(async move {
            loop {
                let report = tokio::select! {
                    biased;
                    Some(e) = events_rx.recv() => DrillReport::Event(Box::new(e)),
                    Some(h) = holds_rx.recv() => DrillReport::Hold(h),
                    else => break,
                };
                send(&fwd, report);
            }
        });
        tokio::spawn(async move {
            let run_id = timeline::new_run_id(chrono::Utc::now());
            let mut tl = match Timeline::create(&dir, &run_id) {
                Ok(t) => t,
                Err(e) => return send(&tx, DrillReport::Failed(e)),
            };
            tl.tap(events);
            let (world, mode) = match model {
                Some(m) => (World::Live(m), Mode::Simulation),
                None => (World::Real, Mode::Real),
            };
            let mut drill = Drill::new(
                &runbook,
                &operator,
                target,
                world,
                mode,
                run_id,
                tl,
                Box::new(NonInteractive),
            );
            drill.gate = Some(Gate { holds, answers });
            if let Some(m) = metrics {
                drill.metrics = Some(Box::new(move || (m.as_ref())()));
            }
            let verdict = match drill.run().await {
                Ok(v) => v,
                Err(why) => {
                    operator.set_drill_step(None);
                    let _ = drill.timeline.push(
                        operator.clock().now(),
                        EventKind::DrillEnd {
                            verdict: Verdict::Interrupted,
                            reasons: vec![format!("the drill stopped: {why}")],
                        },
                    );
                    Verdict::Interrupted
                }
            };
            let path = drill.timeline.path().to_path_buf();
            let events = std::mem::take(&mut drill.timeline.events);
            drop(drill);
            let _ = forward.await;
            let report = write_report(&path, &events);
            send(&tx, DrillReport::Ended { verdict, report });
        });
    }
}

fn send(tx: &UnboundedSender<Action>, r: DrillReport) {
    let _ = tx.send(Action::DrillReport(r));
}

/// The report of a finished run beside its timeline: `RUN_ID.md` and `RUN_ID.json`; the
/// Markdown's path.
pub fn write_report(timeline: &Path, events: &[timeline::Event]) -> Result<PathBuf, String> {
    let r = report::build(events, &timeline.display().to_string());
    let md = timeline.with_extension("md");
    let json = timeline.with_extension("json");
    std::fs::write(&md, report::markdown(&r)).map_err(|e| format!("{}: {e}", md.display()))?;
    let text = serde_json::to_string_pretty(&r).unwrap_or_default();
    std::fs::write(&json, text).map_err(|e| format!("{}: {e}", json.display()))?;
    Ok(md)
}

/// The runbooks of `dirs` checked against `fleet` (a runbook naming another fleet file is left
/// out), then the past runs, newest first (one whose process died before it ended is closed as
/// interrupted at `now`).
pub fn list(
    fleet: &Fleet,
    fleet_path: Option<&Path>,
    dirs: &[PathBuf],
    runs: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<Listed> {
    let mut out = Vec::new();
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    for dir in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                    .take(MAX_LISTED)
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        for path in files {
            match runbook::fleet_path(&path) {
                Ok(Some(named)) if fleet_path.is_none_or(|f| !same(&named, f)) => continue,
                _ => {}
            }
            out.push(match runbook::load(&path, fleet) {
                Ok(r) => Listed::Runbook(Box::new(r)),
                Err(e) => Listed::Broken {
                    path,
                    error: e.to_string(),
                },
            });
        }
    }
    for path in timeline::list(runs).into_iter().rev().take(MAX_LISTED) {
        let Ok(loaded) = timeline::load(&path) else {
            continue;
        };
        let loaded = timeline::close_if_dead(loaded, now);
        let Some((drill, _, mode, _)) = loaded.start() else {
            continue;
        };
        let verdict = loaded.events.iter().find_map(|e| match &e.kind {
            EventKind::DrillEnd { verdict, .. } => Some(*verdict),
            _ => None,
        });
        out.push(Listed::Past {
            drill: drill.to_string(),
            mode: mode.to_string(),
            verdict,
            started_at: loaded.events.first().map(|e| e.at),
            path,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_this_fleets_runbooks_the_broken_ones_with_where_and_the_past_runs() {
        let dir = tempfile::tempdir().unwrap();
        let fleet_path = dir.path().join("crypto.toml");
        std::fs::copy(
            concat!(env!("CARGO_MANIFEST_DIR"), "/fleets/crypto-erp.toml"),
            &fleet_path,
        )
        .unwrap();
        let fleet = Fleet::load(&fleet_path).unwrap();
        let drills = dir.path().join("drills");
        std::fs::create_dir(&drills).unwrap();
        let step = "[[step]]\nname = \"wait\"\nwait = { seconds = 1 }\n";
        std::fs::write(drills.join("a.toml"), format!("name = \"mine\"\n{step}")).unwrap();
        std::fs::write(
            drills.join("b.toml"),
            format!("name = \"named\"\nfleet = \"../crypto.toml\"\n{step}"),
        )
        .unwrap();
        std::fs::write(
            drills.join("c.toml"),
            format!("name = \"other\"\nfleet = \"../kaldrix.toml\"\n{step}"),
        )
        .unwrap();
        std::fs::write(
            drills.join("d.toml"),
            "name = \"typo\"\n[[step]]\nname = \"x\"\nact = { op = \"scael\", region = \"us-east-1\" }\n",
        )
        .unwrap();
        let runs = dir.path().join("state");
        let mut tl = Timeline::create(&runs, "drill-1").unwrap();
        let book = runbook::load(&drills.join("a.toml"), &fleet).unwrap();
        tl.push(
            chrono::Utc::now(),
            EventKind::DrillStart {
                drill: book.name.clone(),
                run_id: "drill-1".into(),
                mode: "simulation".into(),
                fleet: fleet.name.clone(),
                source: "sim".into(),
                runbook: "a.toml".into(),
                pid: 1,
                objectives: book.objectives,
                predicted: Default::default(),
                predicted_for: None,
            },
        )
        .unwrap();
        // A run whose process is gone (no such pid) and that never ended.
        let mut dead = Timeline::create(&runs, "drill-0").unwrap();
        dead.push(
            chrono::Utc::now(),
            EventKind::DrillStart {
                drill: "killed".into(),
                run_id: "drill-0".into(),
                mode: "real".into(),
                fleet: fleet.name.clone(),
                source: "aws".into(),
                runbook: "a.toml".into(),
                pid: u32::MAX,
                objectives: book.objectives,
                predicted: Default::default(),
                predicted_for: None,
            },
        )
        .unwrap();
        let now = chrono::Utc::now();
        let listed = list(
            &fleet,
            Some(&fleet_path),
            std::slice::from_ref(&drills),
            &runs,
            now,
        );
        let names: Vec<String> = listed
            .iter()
            .map(|l| match l {
                Listed::Runbook(r) => format!("runbook {}", r.name),
                Listed::Broken { error, .. } => format!("broken {error}"),
                Listed::Past { drill, verdict, .. } => format!("past {drill} {verdict:?}"),
            })
            .collect();
        assert_eq!(names.len(), 5, "{names:#?}");
        assert_eq!(names[0], "runbook mine");
        assert_eq!(names[1], "runbook named");
        assert!(
            names[2].starts_with(&format!("broken {}:4:", drills.join("d.toml").display()))
                && names[2].contains("scael"),
            "{names:#?}"
        );
        assert_eq!(
            names[3], "past mine None",
            "no end yet: its process (pid 1) runs"
        );
        assert_eq!(names[4], "past killed Some(Interrupted)");
        let closed = timeline::load(&runs.join("drill-0.jsonl")).unwrap();
        assert!(closed.ended(), "closed in its file too");
        // With the built-in fleet (no file), a runbook naming any fleet file is left out.
        let builtin = list(&fleet, None, &[drills], &runs, now);
        assert_eq!(builtin.len(), 4, "{builtin:#?}");
    }
}
