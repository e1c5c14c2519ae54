//! The one integration test binary: real HTTP server on loopback, real SQLite file, private
//! D-Bus session bus with an in-process notification server, and `tidings` run as a child
//! process.
//!
//! Run with `cargo test --test it`. Corpus tests need `TIDINGS_CORPUS=../shared/corpus`.

mod alerts;
mod corpus;
mod corpus_golden;
mod crash;
mod daemon_child;
mod e2e;
mod error_messages;
mod eval;
mod faults;
mod hostile_text;
mod marks;
mod one_daemon;
mod politeness;
mod quality;
mod read_only;
mod regressions;
mod review_tui;
mod security;
mod service;
mod sinks;
mod support;
