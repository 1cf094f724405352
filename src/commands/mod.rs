//! Headless commands: the same state and sources as the console, printed instead of drawn.

pub mod act;
pub mod discover;
pub mod drill;
pub mod output;
pub mod report;
pub mod shared;
pub mod simulate;
pub mod snapshot;
