//! Headless commands: the same state and sources as the console, printed instead of drawn.

pub mod discover;
pub mod snapshot;
