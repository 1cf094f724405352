//! opsdeck: a terminal operations console for services deployed across several AWS regions.

pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod console;
pub mod drill;
pub mod fleet;
pub mod gallery;
pub mod logging;
pub mod ops;
pub mod report;
pub mod setup;
pub mod source;
pub mod tui;
pub mod ui;
