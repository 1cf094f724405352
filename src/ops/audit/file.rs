//! The audit log as a file: only a regular file is accepted (never a device that answers without
//! end, like /dev/full or /dev/zero); lines that do not parse (torn by a full disk, garbage, not
//! UTF-8) are counted, reported with their line numbers and skipped, never a reason to refuse an
//! operation; what the guards need is read backwards from the end in chunks, never more than
//! `LOOKBACK` bytes, so a 100k-record log costs what a small one does.

use super::{AuditLog, AuditRecord, Decision, Phase};
use crate::fleet::SourceKind;
use crate::ops::outcome::OpResult;
use crate::ops::Op;
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// Bytes read per step of a backward scan.
pub const CHUNK: usize = 64 * 1024;
/// How far back from the end the guards look: the newest 32 MiB (some 15,000 records).
pub const LOOKBACK: u64 = 32 << 20;
/// A line longer than this is not a record: it is skipped as a bad line without being held.
const MAX_LINE: usize = 4 << 20;

/// A whole-log read: the records that parsed, oldest first, and the 1-based numbers of the lines
/// that did not.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ReadReport {
    pub records: Vec<AuditRecord>,
    pub bad_lines: Vec<usize>,
}

/// Create `dir` (and its parents) readable by the owner only (0700): the audit trail and the logs
/// hold operator identities, plans and account ids.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Open `path` for appending (and reading when `read`), created 0600 when new.
pub fn open_private_append(path: &Path, read: bool) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(read)
        .mode(0o600)
        .open(path)
}

/// Why a path cannot be the audit log.
pub(crate) fn not_regular(path: &Path) -> String {
    format!(
        "{}: not a regular file: the audit log must be a plain file (a device, pipe or directory is refused)",
        path.display()
    )
}

/// The log opened for reading; `None` when there is none yet.
pub(crate) fn open_existing(path: &Path) -> Result<Option<File>, String> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
        Ok(m) if !m.is_file() => Err(not_regular(path)),
        Ok(_) => File::open(path)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display())),
    }
}

fn parse(line: &[u8]) -> Option<AuditRecord> {
    serde_json::from_slice(line).ok()
}

fn blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// Every record, oldest first, line by line; bad lines are numbered and skipped.
pub fn read_all(path: &Path) -> Result<ReadReport, String> {
    let mut report = ReadReport::default();
    let Some(file) = open_existing(path)? else {
        return Ok(report);
    };
    for (i, line) in BufReader::new(file).split(b'\n').enumerate() {
        let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
        if blank(&line) {
            continue;
        }
        match parse(&line) {
            Some(r) => report.records.push(r),
            None => report.bad_lines.push(i + 1),
        }
    }
    if !report.bad_lines.is_empty() {
        tracing::warn!(
            "audit log {}: skipped {} unreadable line(s): {:?}",
            path.display(),
            report.bad_lines.len(),
            &report.bad_lines[..report.bad_lines.len().min(20)]
        );
    }
    Ok(report)
}

/// What a backward scan did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScanStats {
    /// Bytes read from the file.
    pub bytes_read: u64,
    /// Records parsed and shown to the visitor.
    pub records: u64,
    /// Lines that did not parse, counted from the end (1 = the last line).
    pub bad_from_end: Vec<u64>,
    /// Lines in the file, when the scan went back to its start.
    pub total_lines: Option<u64>,
}

impl ScanStats {
    /// 1-based numbers of the bad lines when the whole file was read, else counted from the end.
    pub fn bad_lines(&self) -> String {
        match self.total_lines {
            Some(total) => {
                let mut lines: Vec<u64> = self.bad_from_end.iter().map(|i| total + 1 - i).collect();
                lines.sort_unstable();
                format!("{lines:?}")
            }
            None => format!("{:?} (counted from the end)", self.bad_from_end),
        }
    }
}

/// Counts lines newest first and hands the records to the visitor.
struct Lines<F> {
    visit: F,
    /// Only lines holding these bytes are parsed (the others cannot be what the visitor wants).
    needle: Option<Vec<u8>>,
    seen: u64,
    started: bool,
    stats: ScanStats,
}

/// Whether `hay` holds `needle` (not empty).
fn holds(hay: &[u8], needle: &[u8]) -> bool {
    let (first, rest) = (needle[0], &needle[1..]);
    let mut from = 0;
    while let Some(i) = hay[from..].iter().position(|&b| b == first) {
        let at = from + i + 1;
        if hay[at..].starts_with(rest) {
            return true;
        }
        from = at;
    }
    false
}

impl<F: FnMut(AuditRecord) -> bool> Lines<F> {
    /// One complete line (`None`: a line too long to be a record); false to stop.
    fn line(&mut self, line: Option<&[u8]>) -> bool {
        // The first piece is what follows the file's final newline: empty, it is no line.
        if !std::mem::replace(&mut self.started, true) && line.is_some_and(|l| l.is_empty()) {
            return true;
        }
        self.seen += 1;
        match line {
            Some(l) if blank(l) => true,
            Some(l) if self.needle.as_ref().is_some_and(|n| !holds(l, n)) => true,
            Some(l) => match parse(l) {
                Some(r) => {
                    self.stats.records += 1;
                    (self.visit)(r)
                }
                None => {
                    self.stats.bad_from_end.push(self.seen);
                    true
                }
            },
            None => {
                self.stats.bad_from_end.push(self.seen);
                true
            }
        }
    }
}

/// Visit records newest first, reading `CHUNK`s backwards from the end of the file and never
/// more than `lookback` bytes; stops when `visit` returns false.
pub fn scan_back(
    path: &Path,
    lookback: u64,
    visit: impl FnMut(AuditRecord) -> bool,
) -> Result<ScanStats, String> {
    scan_back_holding(path, lookback, None, visit)
}

/// `scan_back`, parsing only the lines that hold `needle` (a JSON-encoded value, as the records
/// were written): the others are passed over unread, neither counted as records nor as bad lines.
pub fn scan_back_holding(
    path: &Path,
    lookback: u64,
    needle: Option<&[u8]>,
    visit: impl FnMut(AuditRecord) -> bool,
) -> Result<ScanStats, String> {
    let mut lines = Lines {
        visit,
        needle: needle.filter(|n| !n.is_empty()).map(<[u8]>::to_vec),
        seen: 0,
        started: false,
        stats: ScanStats::default(),
    };
    let Some(mut file) = open_existing(path)? else {
        return Ok(lines.stats);
    };
    let io = |e: std::io::Error| format!("{}: {e}", path.display());
    let len = file.seek(SeekFrom::End(0)).map_err(io)?;
    let floor = len.saturating_sub(lookback);
    let mut pos = len;
    // The end of a line whose start lies in an earlier chunk.
    let mut carry: Vec<u8> = Vec::new();
    let mut oversized = false;
    let mut buf = vec![0u8; CHUNK];
    while pos > floor {
        let n = ((pos - floor) as usize).min(CHUNK);
        pos -= n as u64;
        file.seek(SeekFrom::Start(pos)).map_err(io)?;
        file.read_exact(&mut buf[..n]).map_err(io)?;
        lines.stats.bytes_read += n as u64;
        let chunk = &buf[..n];
        let mut end = n;
        while let Some(nl) = chunk[..end].iter().rposition(|&b| b == b'\n') {
            let go_on = if end == n {
                let mut line = chunk[nl + 1..end].to_vec();
                line.append(&mut carry);
                if std::mem::take(&mut oversized) {
                    lines.line(None)
                } else {
                    lines.line(Some(&line))
                }
            } else {
                lines.line(Some(&chunk[nl + 1..end]))
            };
            if !go_on {
                return Ok(lines.stats);
            }
            end = nl;
        }
        if end == n {
            if !oversized {
                let mut head = chunk.to_vec();
                head.append(&mut carry);
                carry = head;
            }
        } else {
            carry = chunk[..end].to_vec();
        }
        if carry.len() > MAX_LINE {
            carry = Vec::new();
            oversized = true;
        }
    }
    // Back at the start of the file (not only of the lookback): its first line is whole.
    if len == 0 {
        lines.stats.total_lines = Some(0);
    } else if pos == 0 {
        let go_on = if oversized {
            lines.line(None)
        } else {
            lines.line(Some(&carry))
        };
        if go_on {
            lines.stats.total_lines = Some(lines.seen);
        }
    }
    Ok(lines.stats)
}

impl AuditLog {
    /// Every record, oldest first, with the numbers of the lines that did not parse.
    pub fn read_report(&self) -> Result<ReadReport, String> {
        read_all(self.path())
    }

    /// When `resource` of `fleet` was last changed: the newest time of an executed request for it
    /// among the newest `LOOKBACK` bytes, as `audit::last_change` finds it in the whole log.
    ///
    /// The scan never stops at the first record older than the window: records are appended in
    /// clock order per process only, and the clocks differ (a simulated fleet's `--start` is a
    /// virtual time, possibly years back, its records sitting among AWS ones), so an old record
    /// can precede a newer one in the file, and stopping there would let a change inside the
    /// cooldown go unseen. So `since` (the start of the cooldown window) is not a stopping point:
    /// the whole lookback is read, and the guard is told the newest change however far back.
    pub fn last_change_since(
        &self,
        fleet: &str,
        resource: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, String> {
        let _ = since;
        let mut found: Option<DateTime<Utc>> = None;
        // A record of `resource` holds it as serde_json wrote it: the other lines are not parsed.
        let needle = serde_json::to_vec(resource).map_err(|e| e.to_string())?;
        scan_back_holding(self.path(), LOOKBACK, Some(&needle), |r| {
            if r.phase == Phase::Requested
                && r.decision == Decision::Execute
                && r.fleet == fleet
                && r.plan.resource == resource
            {
                found = found.max(Some(r.time));
            }
            true
        })?;
        Ok(found)
    }

    /// The weight the region's record had before its newest executed drain.
    pub fn recorded_weight_of(&self, fleet: &str, region: &str) -> Result<Option<i64>, String> {
        let mut found = None;
        scan_back(self.path(), LOOKBACK, |r| {
            if r.decision == Decision::Execute
                && r.fleet == fleet
                && r.region == region
                && matches!(r.op, Op::Drain { .. })
            {
                found = match &r.plan.undo {
                    Some(Op::Restore {
                        weight: Some(w), ..
                    }) => Some(*w),
                    _ => None,
                };
                return false;
            }
            true
        })?;
        Ok(found)
    }

    /// The newest reversible operation of `fleet` on `source` that took effect, is not itself an
    /// undo, and has not been undone (an undo is newer than what it undoes: seen first).
    pub fn last_reversible_of(
        &self,
        fleet: &str,
        source: SourceKind,
    ) -> Result<Option<AuditRecord>, String> {
        let mut undone: HashSet<String> = HashSet::new();
        let mut found = None;
        scan_back(self.path(), LOOKBACK, |r| {
            if r.decision == Decision::Execute {
                if let Some(id) = &r.undo_of {
                    undone.insert(id.clone());
                }
            }
            if r.phase == Phase::Ended
                && r.fleet == fleet
                && r.source == source
                && r.undo_of.is_none()
                && r.plan.reversible
                && r.plan.undo.is_some()
                && matches!(
                    r.result,
                    Some(OpResult::Applied) | Some(OpResult::NotYetVerified { .. })
                )
                && !undone.contains(&r.id)
            {
                found = Some(r);
                return false;
            }
            true
        })?;
        Ok(found)
    }

    /// `requested` records without their `ended` record among the newest `LOOKBACK` bytes,
    /// oldest first. Lines that do not parse are reported in the log file with their numbers.
    pub fn unended(&self) -> Result<Vec<AuditRecord>, String> {
        let mut ended: HashSet<String> = HashSet::new();
        let mut open = Vec::new();
        let stats = scan_back(self.path(), LOOKBACK, |r| {
            match r.phase {
                Phase::Ended => {
                    ended.insert(r.id.clone());
                }
                Phase::Requested if !ended.contains(&r.id) => open.push(r),
                Phase::Requested => {}
            }
            true
        })?;
        if !stats.bad_from_end.is_empty() {
            tracing::warn!(
                "audit log {}: skipped {} unreadable line(s): {}",
                self.path().display(),
                stats.bad_from_end.len(),
                stats.bad_lines()
            );
        }
        open.reverse();
        Ok(open)
    }
}
