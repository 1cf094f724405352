//! The alert log's debounce lives in the domain (`fleet::alerts`): the weekly review's incidents
//! follow the same rules.

pub use crate::fleet::alerts::*;
