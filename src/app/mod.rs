//! The Elm architecture: `Action` in, `State` changed, `Effect`s out. No I/O here.

pub mod action;
pub mod alerts;
pub mod cdn;
pub mod dialog;
pub mod drill;
pub mod look;
pub mod region;
pub mod snapshot;
pub mod state;
pub mod update;
pub mod week_cache;
pub mod week_charts;

pub use action::Action;
pub use dialog::{AuditView, Dialog};
pub use region::*;
pub use state::*;
pub use update::{update, Effect};
