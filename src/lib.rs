//! tidings: watches news feeds and tells you on the desktop when a tracked topic appears.
//!
//! See ARCHITECTURE.md for the code map and the invariants.

pub mod config;
pub mod matcher;
pub mod model;
pub mod parse;
