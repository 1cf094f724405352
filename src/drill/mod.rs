//! DR drill walkthroughs: a runbook (`runbook`) rehearsed on the simulated fleet, run against AWS,
//! or rolled back (`engine`); what it saw goes to a timeline (`timeline`) from which the report —
//! measured RTO/RPO beside the objectives and the what-if's prediction, the verdict — is computed
//! (`report`). `observe` judges the steady state and stop conditions on the fleet's values.

pub mod engine;
pub mod observe;
pub mod report;
pub mod runbook;
pub mod timeline;

pub use engine::{Drill, Mode, World};
pub use runbook::{Runbook, RunbookError};
pub use timeline::Verdict;
