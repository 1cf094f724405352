//! Logs go to a file in the state dir, never to the terminal.

use crate::ops::audit::file::{create_private_dir, open_private_append};
use std::path::PathBuf;

/// `$OPSDECK_STATE_DIR`, else the platform state dir (e.g. ~/.local/state/opsdeck), else a temp dir.
pub fn state_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("OPSDECK_STATE_DIR") {
        return PathBuf::from(d);
    }
    let dirs = directories::ProjectDirs::from("", "", "opsdeck");
    dirs.as_ref()
        .and_then(|d| d.state_dir().map(|p| p.to_path_buf()))
        .or_else(|| dirs.as_ref().map(|d| d.data_local_dir().to_path_buf()))
        .unwrap_or_else(|| std::env::temp_dir().join("opsdeck"))
}

/// Start file logging (level from `OPSDECK_LOG`, default info). Returns the guard that flushes the
/// writer and the log file's path; logging is skipped (not fatal) when the dir cannot be created.
pub fn init() -> Option<(tracing_appender::non_blocking::WorkerGuard, PathBuf)> {
    let dir = state_dir();
    create_private_dir(&dir).ok()?;
    let path = dir.join("opsdeck.log");
    let file = open_private_append(&path, false).ok()?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter = tracing_subscriber::EnvFilter::try_from_env("OPSDECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .ok()?;
    Some((guard, path))
}
