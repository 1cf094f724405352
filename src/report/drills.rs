//! Drills run in the window, with their verdicts — the hook for `opsdeck drill`, whose runs are
//! recorded as timelines (JSONL, one event a line) in `drills/` under the state directory: a
//! `drill_start` event first (drill, run_id, mode, fleet) and a `drill_end` event last (verdict).
//! Read loosely here (only those keys), so the review does not depend on the drill module's
//! types; until drills exist the directory is empty and so is the list.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// A timeline is looked at only up to this size, and only this many of them.
const MAX_TIMELINE_BYTES: u64 = 16 << 20;
const MAX_TIMELINES: usize = 2000;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drill {
    pub start: DateTime<Utc>,
    pub drill: String,
    pub run_id: String,
    pub mode: String,
    /// pass, fail, aborted, interrupted; "running" without an end.
    pub verdict: String,
}

/// The drills of `fleet` started in `from..until`, oldest first, from `state_dir/drills/*.jsonl`.
pub fn read(
    state_dir: &Path,
    fleet: &str,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<Drill> {
    let Ok(dir) = std::fs::read_dir(state_dir.join("drills")) else {
        return Vec::new();
    };
    let mut out: Vec<Drill> = dir
        .flatten()
        .take(MAX_TIMELINES)
        .filter(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
        .filter_map(|e| timeline(&e.path()))
        .filter(|(f, d)| f == fleet && d.start >= from && d.start < until)
        .map(|(_, d)| d)
        .collect();
    out.sort_by(|a, b| a.start.cmp(&b.start).then(a.run_id.cmp(&b.run_id)));
    out
}

fn timeline(path: &Path) -> Option<(String, Drill)> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_TIMELINE_BYTES {
        return None;
    }
    let file = std::fs::File::open(path).ok()?.take(MAX_TIMELINE_BYTES);
    let mut start: Option<(String, Drill)> = None;
    for line in BufReader::new(file).lines() {
        let Ok(line) = line else { break };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let text = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_str())
                .map(crate::fleet::text::clean)
        };
        match v.get("event").and_then(|e| e.as_str()) {
            Some("drill_start") if start.is_none() => {
                let at = text("at")?;
                let at = DateTime::parse_from_rfc3339(&at).ok()?.with_timezone(&Utc);
                start = Some((
                    text("fleet")?.into_owned(),
                    Drill {
                        start: at,
                        drill: text("drill").unwrap_or_default().into_owned(),
                        run_id: text("run_id").unwrap_or_default().into_owned(),
                        mode: text("mode").unwrap_or_default().into_owned(),
                        verdict: "running".into(),
                    },
                ));
            }
            Some("drill_end") => {
                if let (Some((_, d)), Some(verdict)) = (&mut start, text("verdict")) {
                    d.verdict = verdict.into_owned();
                }
            }
            _ => {}
        }
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeline_in_the_window_is_listed_with_its_verdict() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("drills")).unwrap();
        let run = |id: &str, at: &str, fleet: &str, end: &str| {
            format!(
                "{{\"at\":\"{at}\",\"event\":\"drill_start\",\"drill\":\"eu outage\",\"run_id\":\"{id}\",\"mode\":\"simulation\",\"fleet\":\"{fleet}\"}}\n\
                 {{\"at\":\"{at}\",\"event\":\"step_start\",\"step\":\"x\"}}\n{end}"
            )
        };
        let write = |name: &str, text: String| {
            std::fs::write(dir.path().join("drills").join(name), text).unwrap()
        };
        write(
            "a.jsonl",
            run(
                "a",
                "2026-11-24T10:00:00Z",
                "atlas-crm",
                "{\"at\":\"2026-11-24T10:05:00Z\",\"event\":\"drill_end\",\"verdict\":\"pass\"}\n",
            ),
        );
        write("b.jsonl", run("b", "2026-11-25T10:00:00Z", "atlas-crm", ""));
        write("c.jsonl", run("c", "2026-11-10T10:00:00Z", "atlas-crm", ""));
        write("d.jsonl", run("d", "2026-11-24T10:00:00Z", "other", ""));
        write("e.jsonl", "not json\n".into());
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let d = read(
            dir.path(),
            "atlas-crm",
            t("2026-11-22T00:00:00Z"),
            t("2026-11-29T00:00:00Z"),
        );
        let got: Vec<(&str, &str)> = d
            .iter()
            .map(|d| (d.run_id.as_str(), d.verdict.as_str()))
            .collect();
        assert_eq!(got, [("a", "pass"), ("b", "running")]);
        assert!(read(
            Path::new("/nonexistent"),
            "atlas-crm",
            t("2026-11-22T00:00:00Z"),
            t("2026-11-29T00:00:00Z")
        )
        .is_empty());
    }
}
