//! The lease without `[shared]`: an exclusive OS file lock (`flock`) on `<state dir>/leases/
//! <fleet>.lock`, so two processes on this machine cannot act on one fleet at once. The OS
//! releases the lock when its process dies, however it dies; the holder is written beside the lock
//! (`<fleet>.holder.json`, replaced atomically) and removed on release, so a holder file found by
//! whoever takes the lock next names an operation that was abandoned.

use super::{Attempt, Holder, LeaseStore};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::FutureExt;
use std::collections::HashMap;
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

pub struct LocalLeases {
    dir: PathBuf,
    /// The open lock files of the leases this process holds (closing one releases its lock).
    held: Mutex<HashMap<String, File>>,
}

impl LocalLeases {
    /// Leases in `dir` (created 0700 when first needed).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        LocalLeases {
            dir: dir.into(),
            held: Mutex::new(HashMap::new()),
        }
    }

    pub fn lock_path(&self, resource: &str) -> PathBuf {
        self.dir.join(format!("{}.lock", stem(resource)))
    }

    pub fn holder_path(&self, resource: &str) -> PathBuf {
        self.dir.join(format!("{}.holder.json", stem(resource)))
    }

    fn take(&self, resource: &str, holder: &Holder) -> Result<Attempt, String> {
        let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
        create_private_dir(&self.dir).map_err(|e| io(&self.dir, e))?;
        let path = self.lock_path(resource);
        let file = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)
                .map_err(|e| io(&path, e))?
        };
        match file.try_lock() {
            Ok(()) => {
                let abandoned = read_holder(&self.holder_path(resource));
                write_holder(&self.holder_path(resource), holder)?;
                self.held
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(resource.to_string(), file);
                Ok(Attempt::Granted { abandoned })
            }
            Err(TryLockError::WouldBlock) => Ok(Attempt::Held(None)),
            Err(TryLockError::Error(e)) => Err(io(&path, e)),
        }
    }

    /// The holder of a lock someone else holds. Its holder file is written right after the lock
    /// is taken: until then it is missing, or still names the earlier (dead) holder, so it is
    /// read again for up to a second until it names a live process.
    async fn live_holder(&self, resource: &str) -> Option<Holder> {
        let path = self.holder_path(resource);
        let mut last = None;
        for _ in 0..50 {
            last = read_holder(&path);
            if last
                .as_ref()
                .is_some_and(|h| h.host != super::host_name() || alive(h.pid))
            {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        last
    }

    fn give_up(&self, resource: &str, holder: &Holder) -> Result<(), String> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let Some(file) = held.remove(resource) else {
            return Err(format!("this process holds no lease on `{resource}`"));
        };
        let path = self.holder_path(resource);
        let result = match read_holder(&path) {
            Some(h) if h.token == holder.token => {
                std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))
            }
            _ => Ok(()),
        };
        drop(file); // closing the lock file releases the lock
        result
    }
}

/// Create `dir` readable by its owner only (0700), as the state directory is.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

fn alive(pid: u32) -> bool {
    pid == std::process::id() || Path::new("/proc").join(pid.to_string()).exists()
}

fn read_holder(path: &Path) -> Option<Holder> {
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice(&text).ok()
}

/// A name made safe for a file: every character but ASCII letters, digits, `-`, `_` and `.`
/// becomes `_`.
pub(crate) fn stem(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn write_holder(path: &Path, holder: &Holder) -> Result<(), String> {
    write_private_json(path, holder)
}

/// Write `value` as JSON to `path` whole or not at all, readable by its owner only (0600): a
/// temporary file, synced, renamed over it.
pub(crate) fn write_private_json<T: serde::Serialize>(
    path: &Path,
    value: &T,
) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    let fail = |e: std::io::Error| format!("{}: {e}", tmp.display());
    let json = serde_json::to_vec(value).map_err(|e| e.to_string())?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(fail)?;
    f.write_all(&json).map_err(fail)?;
    f.sync_all().map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

impl LeaseStore for LocalLeases {
    fn name(&self) -> String {
        format!("lock files in {}", self.dir.display())
    }

    fn try_take<'a>(
        &'a self,
        resource: &'a str,
        holder: &'a Holder,
        _now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Attempt, String>> {
        async move {
            match self.take(resource, holder)? {
                Attempt::Held(_) => Ok(Attempt::Held(self.live_holder(resource).await)),
                granted => Ok(granted),
            }
        }
        .boxed()
    }

    fn extend<'a>(
        &'a self,
        resource: &'a str,
        holder: &'a Holder,
    ) -> BoxFuture<'a, Result<(), String>> {
        let held = self
            .held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(resource);
        let r = if held {
            write_holder(&self.holder_path(resource), holder)
        } else {
            Err(format!("this process holds no lease on `{resource}`"))
        };
        async move { r }.boxed()
    }

    fn release<'a>(
        &'a self,
        resource: &'a str,
        holder: &'a Holder,
    ) -> BoxFuture<'a, Result<(), String>> {
        let r = self.give_up(resource, holder);
        async move { r }.boxed()
    }

    fn holder<'a>(&'a self, resource: &'a str) -> BoxFuture<'a, Result<Option<Holder>, String>> {
        let h = read_holder(&self.holder_path(resource));
        async move { Ok(h) }.boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::Op;

    fn holder(token: &str) -> Holder {
        let now = Utc::now();
        Holder {
            identity: "alice".into(),
            host: super::super::host_name(),
            pid: std::process::id(),
            token: token.into(),
            audit_id: format!("id-{token}"),
            op: Op::Drain {
                region: "us-east-1".into(),
            },
            since: now,
            until: now,
        }
    }

    #[tokio::test]
    async fn a_held_lock_refuses_naming_its_holder_and_is_free_again_once_released() {
        let dir = tempfile::tempdir().unwrap();
        let one = LocalLeases::new(dir.path().join("leases"));
        // A second store in the same process opens its own file: the OS lock still excludes it.
        let two = LocalLeases::new(dir.path().join("leases"));
        let (a, b) = (holder("a"), holder("b"));
        assert_eq!(
            one.take("atlas", &a).unwrap(),
            Attempt::Granted { abandoned: None }
        );
        let now = Utc::now();
        assert_eq!(
            two.try_take("atlas", &b, now).await.unwrap(),
            Attempt::Held(Some(a.clone()))
        );
        one.give_up("atlas", &a).unwrap();
        assert!(!one.holder_path("atlas").exists());
        assert_eq!(
            two.take("atlas", &b).unwrap(),
            Attempt::Granted { abandoned: None }
        );
    }

    #[test]
    fn a_lock_dropped_without_release_is_reported_abandoned() {
        let dir = tempfile::tempdir().unwrap();
        let one = LocalLeases::new(dir.path());
        let a = holder("a");
        one.take("atlas", &a).unwrap();
        // The process "dies": its lock file is closed, the holder file stays.
        one.held.lock().unwrap().clear();
        let two = LocalLeases::new(dir.path());
        assert_eq!(
            two.take("atlas", &holder("b")).unwrap(),
            Attempt::Granted { abandoned: Some(a) }
        );
    }
}
