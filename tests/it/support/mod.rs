//! Test support: real components at the edges, and helpers to drive `tidings` as a child process.
//!
//! Not every test uses every helper, so dead code is allowed in this module tree.
#![allow(dead_code)]

pub mod cli;
pub mod db;
pub mod dbus;
pub mod feeds;
pub mod fixtures;
pub mod http;
pub mod notify_socket;
pub mod watchlist;

use std::time::Duration;

/// Upper bound for anything a test waits on (process exit, bus start, a request).
/// Generous because debug builds on 2 shared cores can be slow, but always bounded.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Whether we run under CI (`CI=true`), where a missing tool is a failure, not a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

#[cfg(test)]
mod selftest;
