//! The built-in simulated fleet.
