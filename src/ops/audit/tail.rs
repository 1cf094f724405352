//! The newest records of the audit log, for the console's audit view: read backwards from the end
//! in chunks (`file::scan_back`) until the view has what it shows, never the whole log — a
//! 217 MB log costs what a small one does. Lines that do not parse are counted and skipped.

use super::file::{scan_back, LOOKBACK};
use super::{AuditLog, AuditRecord};

/// How many records the console's audit view shows.
pub const VIEW_RECORDS: usize = 200;

/// The end of the log as the audit view shows it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AuditTail {
    /// The newest records, newest first.
    pub records: Vec<AuditRecord>,
    /// Whether the read stopped before the start of the file: older records may exist.
    pub partial: bool,
    /// Lines among those read that did not parse (torn, garbage, not UTF-8), skipped.
    pub bad_lines: usize,
}

impl AuditLog {
    /// The newest `n` records, newest first, read from the end of the log (at most `LOOKBACK`
    /// bytes back). A missing log has none.
    pub fn read_last(&self, n: usize) -> Result<AuditTail, String> {
        let mut tail = AuditTail::default();
        if n == 0 {
            tail.partial = std::fs::metadata(self.path()).is_ok_and(|m| m.len() > 0);
            return Ok(tail);
        }
        let mut records = Vec::with_capacity(n.min(1024));
        let stats = scan_back(self.path(), LOOKBACK, |r| {
            records.push(r);
            records.len() < n
        })?;
        if !stats.bad_from_end.is_empty() {
            tracing::warn!(
                "audit log {}: skipped {} unreadable line(s) near its end: {}",
                self.path().display(),
                stats.bad_from_end.len(),
                stats.bad_lines()
            );
        }
        tail.records = records;
        // (Nothing read: no log yet.)
        tail.partial = stats.total_lines.is_none() && stats.bytes_read > 0;
        tail.bad_lines = stats.bad_from_end.len();
        Ok(tail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A real record (as opsdeck wrote it) under the id `r{i}`.
    fn record(i: usize) -> String {
        let fixture = include_str!("../../../tests/fixtures/audit-before-typed-calls.jsonl");
        let line = fixture.lines().next().unwrap();
        let id = "20261202T040535473Z-25044-0";
        assert!(line.contains(id));
        line.replace(id, &format!("r{i}"))
    }

    #[test]
    fn the_newest_records_newest_first_bad_lines_counted_and_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let mut f = std::fs::File::create(&path).unwrap();
        for i in 0..10 {
            writeln!(f, "{}", record(i)).unwrap();
            if i == 8 {
                f.write_all(b"{torn\xff\n").unwrap();
            }
        }
        drop(f);
        let log = AuditLog::new(&path);
        let tail = log.read_last(3).unwrap();
        let ids: Vec<&str> = tail.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["r9", "r8", "r7"]);
        assert_eq!(tail.bad_lines, 1);
        assert!(tail.partial);
        let all = log.read_last(100).unwrap();
        assert_eq!(all.records.len(), 10);
        assert_eq!(all.records[9].id, "r0");
        assert!(!all.partial, "the whole file was read");
        assert_eq!(all.bad_lines, 1);
        assert_eq!(log.read_last(0).unwrap().records.len(), 0);
        let missing = AuditLog::new(dir.path().join("none.jsonl"));
        assert_eq!(missing.read_last(5).unwrap(), AuditTail::default());
    }
}
