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
pub mod pty;
pub mod scenario;
pub mod watchlist;

use std::path::PathBuf;
use std::time::Duration;

/// Upper bound for anything a test waits on (process exit, bus start, a request).
/// Generous because debug builds on 2 shared cores can be slow, but always bounded.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Whether we run under CI (`CI=true`), where a missing tool is a failure, not a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Says plainly that a test skipped part of its work. Straight to stderr: the harness
/// captures `println!` of passing tests, and a skip must be seen.
pub fn skipped(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {why}");
}

/// The first file called `name` in a directory of `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The shared feed corpus named by `TIDINGS_CORPUS` (relative paths from the crate root), or
/// `None` after saying that `what` was skipped — so `cargo test` passes anywhere.
pub fn corpus_or_skip(what: &str) -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("TIDINGS_CORPUS").map(PathBuf::from) else {
        skipped(&format!("{what} (set TIDINGS_CORPUS=../shared/corpus)"));
        return None;
    };
    Some(if dir.is_absolute() {
        dir
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir)
    })
}

#[cfg(test)]
mod selftest;
