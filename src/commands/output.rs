//! Writing a command's answer. Output errors never panic: a reader that went away (`| head`,
//! `| true`) ends the command quietly, and a message that cannot reach a dead terminal is dropped
//! (the log file has it).

use crate::setup::CliError;
use std::io::{ErrorKind, Write};

/// Write `text` to standard output and flush it. A closed pipe is [`CliError::OutputClosed`].
pub fn print(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| match e.kind() {
            ErrorKind::BrokenPipe => CliError::OutputClosed,
            _ => CliError::Runtime(format!("cannot write to standard output: {e}")),
        })
}

/// [`print`] with a newline.
pub fn println(text: &str) -> Result<(), CliError> {
    print(&format!("{text}\n"))
}

/// `opsdeck: TEXT` on standard error; if standard error is gone there is nobody to tell.
pub fn say(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "opsdeck: {text}");
}
