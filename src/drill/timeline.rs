//! The drill timeline: JSONL, one event a line, appended and fsync'd as it happens, in
//! `drills/RUN_ID.jsonl` under the state directory. Every time is read from the target's clock (the
//! virtual clock in simulation), the same clock the audit records use. A timeline without a
//! `drill_end` is a run that was killed: the next look at it (rollback, the console) closes it as
//! interrupted once its process is gone.

use super::observe::{CheckResult, Fired};
use super::runbook::Objectives;
use crate::ops::Op;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A timeline is read back only up to this size.
pub const MAX_TIMELINE_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What the what-if predicted at the start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Predicted {
    pub rto_s: Option<f64>,
    pub rpo_s: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    DrillStart {
        drill: String,
        run_id: String,
        mode: String,
        fleet: String,
        source: String,
        runbook: String,
        pid: u32,
        objectives: Objectives,
        predicted: Predicted,
        /// The region the prediction is about.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        predicted_for: Option<String>,
    },
    SteadyState {
        /// "before", "after".
        phase: String,
        ok: bool,
        results: Vec<CheckResult>,
    },
    StepStart {
        step: String,
        kind: String,
        summary: String,
    },
    StepEnd {
        step: String,
        kind: String,
        /// "ok", "skipped", "failed", "refused", "timed out", "not run".
        result: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
        #[serde(default)]
        audit_id: Option<String>,
        /// The operation that undoes this step's, when it can be undone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        undo: Option<Op>,
        /// A one-way change (promotion): what a person must do to go back.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        one_way: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        accepted_at: Option<DateTime<Utc>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        settled_at: Option<DateTime<Utc>>,
    },
    /// The failure the drill recovers from: the inject step, or (real) the first step that takes
    /// traffic away.
    Failure {
        step: String,
        region: String,
    },
    /// The replica lag a promotion loses: at promotion, or the last observed before replication
    /// stopped (with its time).
    Rpo {
        step: String,
        region: String,
        rpo_s: Option<f64>,
        basis: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        observed_at: Option<DateTime<Utc>>,
    },
    /// The steady state holds again after the failure.
    Recovered,
    /// The steady state broke again after it had recovered.
    SteadyStateLost {
        detail: String,
    },
    Alert {
        region: String,
        level: String,
        text: String,
    },
    StopCondition(Fired),
    /// The key metrics of every region at one look (for the report's charts).
    Sample {
        regions: Vec<SampleRegion>,
    },
    Rollback {
        step: String,
        /// "ok", "failed", "refused", "one-way", "planned".
        result: String,
        detail: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audit_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        undo_of: Option<String>,
    },
    DrillEnd {
        verdict: Verdict,
        #[serde(default)]
        reasons: Vec<String>,
    },
}

/// One region's key metrics at one look.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleRegion {
    pub region: String,
    pub serving: bool,
    pub values: std::collections::BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    Aborted,
    Interrupted,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Aborted => "aborted",
            Verdict::Interrupted => "interrupted",
        }
    }
}

/// Where timelines live: `drills/` in the state directory.
pub fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join("drills")
}

/// An open timeline: appends go to the file, and are kept for the report.
#[derive(Debug)]
pub struct Timeline {
    path: PathBuf,
    pub events: Vec<Event>,
    /// Dry runs keep the events in memory only.
    write: bool,
    /// Where each event is also sent as it is recorded (the console's drill panel).
    tap: Option<tokio::sync::mpsc::UnboundedSender<Event>>,
}

impl Timeline {
    pub fn create(dir: &Path, run_id: &str) -> Result<Timeline, String> {
        crate::ops::audit::file::create_private_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Timeline {
            path: dir.join(format!("{run_id}.jsonl")),
            events: Vec::new(),
            write: true,
            tap: None,
        })
    }

    /// A timeline that is not written (a dry run prints, it records nothing).
    pub fn in_memory() -> Timeline {
        Timeline {
            path: PathBuf::new(),
            events: Vec::new(),
            write: false,
            tap: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Also send every event recorded from now on to `tap` (after it is written).
    pub fn tap(&mut self, tap: tokio::sync::mpsc::UnboundedSender<Event>) {
        self.tap = Some(tap);
    }

    /// Append one event as one line, fsync'd before returning.
    pub fn push(&mut self, at: DateTime<Utc>, kind: EventKind) -> Result<(), String> {
        let event = Event { at, kind };
        if self.write {
            append(&self.path, &event)?;
        }
        if let Some(tap) = &self.tap {
            let _ = tap.send(event.clone());
        }
        self.events.push(event);
        Ok(())
    }
}

fn append(path: &Path, event: &Event) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut line = serde_json::to_string(event).map_err(|e| e.to_string())?;
    line.push('\n');
    let mut file = crate::ops::audit::file::open_private_append(path, true).map_err(fail)?;
    file.write_all(line.as_bytes()).map_err(fail)?;
    file.sync_all().map_err(fail)
}

/// A timeline read back: its events (lines that do not parse are skipped and counted).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    pub events: Vec<Event>,
    pub bad_lines: usize,
}

impl Loaded {
    pub fn start(&self) -> Option<(&str, &str, &str, u32)> {
        self.events.iter().find_map(|e| match &e.kind {
            EventKind::DrillStart {
                drill,
                run_id,
                mode,
                pid,
                ..
            } => Some((drill.as_str(), run_id.as_str(), mode.as_str(), *pid)),
            _ => None,
        })
    }

    pub fn ended(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e.kind, EventKind::DrillEnd { .. }))
    }
}

pub fn load(path: &Path) -> Result<Loaded, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_file() || meta.len() > MAX_TIMELINE_BYTES {
        return Err(format!(
            "{}: not a regular file of at most {MAX_TIMELINE_BYTES} bytes",
            path.display()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut events = Vec::new();
    let mut bad_lines = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<Event>(line) {
            Ok(e) => events.push(e),
            Err(_) => bad_lines += 1,
        }
    }
    Ok(Loaded {
        path: path.to_path_buf(),
        events,
        bad_lines,
    })
}

/// Every timeline in `dir`, oldest first by file name (run ids start with the time).
pub fn list(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .filter(|p| !p.to_string_lossy().ends_with(".audit.jsonl"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files.truncate(10_000);
    files
}

/// Whether the process `pid` may still be running (without /proc we cannot tell: yes).
pub fn may_be_running(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc_dir = Path::new("/proc");
    !proc_dir.is_dir() || proc_dir.join(pid.to_string()).exists()
}

/// The newest run of the drill `name` in `mode`, closed as interrupted (a `drill_end` appended at
/// `now`) when its process died before it ended.
pub fn last_run(dir: &Path, name: &str, mode: &str, now: DateTime<Utc>) -> Option<Loaded> {
    for path in list(dir).into_iter().rev() {
        let Ok(loaded) = load(&path) else { continue };
        let Some((drill, _, m, _)) = loaded.start() else {
            continue;
        };
        if drill != name || m != mode {
            continue;
        }
        return Some(close_if_dead(loaded, now));
    }
    None
}

/// A run without an end whose process is gone is closed as interrupted: a `drill_end` appended at
/// `now` (to the file and to `loaded`).
pub fn close_if_dead(mut loaded: Loaded, now: DateTime<Utc>) -> Loaded {
    let Some((_, _, _, pid)) = loaded.start() else {
        return loaded;
    };
    if !loaded.ended() && !may_be_running(pid) {
        let end = Event {
            at: now,
            kind: EventKind::DrillEnd {
                verdict: Verdict::Interrupted,
                reasons: vec![format!(
                    "the opsdeck process that ran it (pid {pid}) ended before the drill did"
                )],
            },
        };
        if append(&loaded.path, &end).is_ok() {
            loaded.events.push(end);
        }
    }
    loaded
}

/// A new run id: `drill-TIME-PID`.
pub fn new_run_id(now: DateTime<Utc>) -> String {
    format!(
        "drill-{}-{}",
        now.format("%Y%m%dT%H%M%S%3fZ"),
        std::process::id()
    )
}
