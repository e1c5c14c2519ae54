//! tidings: watches news feeds and tells you on the desktop when a tracked topic appears.
//!
//! See ARCHITECTURE.md for the code map and the invariants.

pub mod cli;
pub mod config;
pub mod daemon;
pub mod fetch;
pub mod flood;
pub mod matcher;
pub mod model;
pub mod notify;
pub mod parse;
pub mod reload;
pub mod schedule;
pub mod store;
pub mod story;
