//! Running `opsdeck drill run` in a private state directory, and reading what it left: the report
//! it printed (`--format json`), its timeline and its audit records.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const START: &str = "2026-11-22T15:00:00Z";

pub struct DrillRun {
    pub dir: tempfile::TempDir,
}

impl Default for DrillRun {
    fn default() -> Self {
        Self::new()
    }
}

impl DrillRun {
    pub fn new() -> Self {
        DrillRun {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A runbook or fleet written into the state directory; its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// `opsdeck drill run ARGS... --format json --non-interactive --start START` in the repo.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
        c.args(["drill", "run"]).args(args).args([
            "--format",
            "json",
            "--non-interactive",
            "--start",
            START,
        ]);
        c.env("OPSDECK_STATE_DIR", self.dir.path())
            .env("OPSDECK_CONFIG", self.dir.path().join("config"))
            .env("USER", "oncall")
            .env_remove("AWS_PROFILE")
            .env_remove("OPSDECK_TEST_PAUSE_BEFORE_VERIFY_MS")
            .env_remove("OPSDECK_TEST_HOLD_WHILE_FILE")
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run opsdeck")
    }

    /// Every timeline file of the state directory, oldest first.
    pub fn timelines(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("drills"))
            .map(|rd| {
                rd.map(|e| e.unwrap().path())
                    .filter(|p| {
                        let s = p.to_string_lossy();
                        s.ends_with(".jsonl") && !s.ends_with(".audit.jsonl")
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The JSON report printed on standard output.
pub fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

/// The lines of a JSONL file, parsed.
pub fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

/// The step names of a report, in the order they started.
pub fn step_names(report: &Value) -> Vec<String> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}
