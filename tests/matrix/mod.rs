//! The failure-mode matrix's scenes and what opsdeck concludes in each (`observe`); the expected
//! cells live in `tests/failure_modes.rs`.

#![allow(dead_code)]

pub mod scene;

pub use scene::*;
