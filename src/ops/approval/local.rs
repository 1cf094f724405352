//! Pending approvals without `[shared]`: `<state dir>/approvals/<fleet>/<id>.json`, each written
//! whole (a temporary file renamed over it); an approval reads, checks and rewrites its file under
//! an exclusive lock of the fleet's directory, so two approvers on this machine cannot both win.

use super::{ApprovalStore, Approved, Pending};
use crate::ops::lease::local::{create_private_dir, stem, write_private_json};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::FutureExt;
use std::path::{Path, PathBuf};

/// Files read at most by one listing (a hostile directory is bounded).
const MAX_FILES: usize = 1000;
/// Bytes of one pending file at most.
const MAX_BYTES: u64 = 1 << 20;

pub struct LocalApprovals {
    dir: PathBuf,
}

fn read(path: &Path) -> Option<Pending> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_BYTES {
        return None;
    }
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

impl LocalApprovals {
    /// Approvals under `dir` (created 0700 when first needed).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        LocalApprovals { dir: dir.into() }
    }

    fn fleet_dir(&self, fleet: &str) -> PathBuf {
        self.dir.join(stem(fleet))
    }

    fn path(&self, fleet: &str, id: &str) -> PathBuf {
        self.fleet_dir(fleet).join(format!("{}.json", stem(id)))
    }

    /// Run `f` under the exclusive lock of `fleet`'s directory.
    fn locked<T>(&self, fleet: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
        use std::os::unix::fs::OpenOptionsExt;
        let dir = self.fleet_dir(fleet);
        let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
        create_private_dir(&dir).map_err(|e| io(&dir, e))?;
        let lock = dir.join(".lock");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock)
            .map_err(|e| io(&lock, e))?;
        file.lock().map_err(|e| io(&lock, e))?;
        let out = f();
        drop(file);
        out
    }

    fn write(&self, p: &Pending) -> Result<(), String> {
        write_private_json(&self.path(&p.fleet, &p.id), p)
    }

    fn put_now(&self, p: &Pending) -> Result<(), String> {
        self.locked(&p.fleet, || {
            if self.path(&p.fleet, &p.id).exists() {
                return Err(format!("approval id {} is taken", p.id));
            }
            self.write(p)
        })
    }

    fn list_now(&self, fleet: &str) -> Result<Vec<Pending>, String> {
        let dir = self.fleet_dir(fleet);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(format!("{}: {e}", dir.display())),
        };
        let mut all: Vec<Pending> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .take(MAX_FILES)
            .filter_map(|p| read(&p))
            .filter(|p| p.fleet == fleet)
            .collect();
        all.sort_by_key(|p| p.requested_at);
        Ok(all)
    }

    fn approve_now(
        &self,
        fleet: &str,
        id: &str,
        approver: &str,
        now: DateTime<Utc>,
    ) -> Result<Approved, String> {
        self.locked(fleet, || {
            let Some(mut p) = read(&self.path(fleet, id)) else {
                return Ok(Approved::Not(None));
            };
            if p.approved_by.is_some() || p.expired(now) || p.requester == approver {
                return Ok(Approved::Not(Some(p)));
            }
            p.approved_by = Some(approver.to_string());
            p.approved_at = Some(now);
            self.write(&p)?;
            Ok(Approved::Now(p))
        })
    }

    fn remove_now(&self, fleet: &str, id: &str) -> Result<(), String> {
        let path = self.path(fleet, id);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(format!("{}: {e}", path.display()))
            }
            _ => Ok(()),
        }
    }
}

impl ApprovalStore for LocalApprovals {
    fn name(&self) -> String {
        format!("files in {}", self.dir.display())
    }

    fn put<'a>(&'a self, p: &'a Pending) -> BoxFuture<'a, Result<(), String>> {
        let r = self.put_now(p);
        async move { r }.boxed()
    }

    fn get<'a>(
        &'a self,
        fleet: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Pending>, String>> {
        let r = read(&self.path(fleet, id)).filter(|p| p.fleet == fleet && p.id == id);
        async move { Ok(r) }.boxed()
    }

    fn list<'a>(&'a self, fleet: &'a str) -> BoxFuture<'a, Result<Vec<Pending>, String>> {
        let r = self.list_now(fleet);
        async move { r }.boxed()
    }

    fn approve<'a>(
        &'a self,
        fleet: &'a str,
        id: &'a str,
        approver: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Approved, String>> {
        let r = self.approve_now(fleet, id, approver, now);
        async move { r }.boxed()
    }

    fn remove<'a>(&'a self, fleet: &'a str, id: &'a str) -> BoxFuture<'a, Result<(), String>> {
        let r = self.remove_now(fleet, id);
        async move { r }.boxed()
    }
}
