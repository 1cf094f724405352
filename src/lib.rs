//! opsdeck: a terminal operations console for services deployed across several AWS regions.

pub mod app;
pub mod config;
pub mod fleet;
pub mod source;
pub mod ui;
