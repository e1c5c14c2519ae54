//! tidings: watches news feeds and tells you on the desktop when a tracked topic appears.
//!
//! See ARCHITECTURE.md for the code map and the invariants.

pub mod atomic_write;
pub mod checked_time;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod desktop;
pub mod discover;
pub mod fetch;
pub mod flood;
pub mod learn;
pub mod links;
pub mod local_time;
pub mod logging;
pub mod matcher;
pub mod memory;
pub mod model;
pub mod model_cache;
pub mod opener;
pub mod opml;
pub mod parse;
pub mod politeness;
pub mod reload;
pub mod review;
pub mod sanitize;
pub mod schedule;
pub mod service;
pub mod sinks;
pub mod store;
pub mod story;
pub mod text_pos;
pub mod watchlist_edit;
