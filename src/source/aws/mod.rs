//! The AWS source (issue 3).
