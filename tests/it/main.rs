//! The one integration test binary: real HTTP server on loopback, real SQLite file, private
//! D-Bus session bus with an in-process notification server, and `tidings` run as a child
//! process.
//!
//! Run with `cargo test --test it`. Corpus tests need `TIDINGS_CORPUS=../shared/corpus`.

mod corpus;
mod e2e;
mod quality;
mod support;
