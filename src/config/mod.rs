//! The watch-list: [`RawConfig`] exactly as written (serde), then a validated [`Config`]
//! (URLs parsed, durations parsed, topics compiled).
//!
//! Every error names the file, line, column, key and the problem:
//! `watchlist.toml:12:9: feed[3].url: relative URL without a base`.
//! Array indices in key paths count from 1, like the `[[feed]]` tables in the file.
//!
//! One file per part: the file as written (`raw.rs`), errors and their places (`error.rs`),
//! values (`values.rs`), `[settings]` (`settings.rs`), feeds, topics and aliases, sinks
//! (`feeds.rs`, `topics.rs`, `sinks.rs`), and training the topics that learn (`training.rs`).

mod error;
mod feeds;
mod raw;
mod settings;
mod sinks;
mod topics;
mod training;
mod values;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::matcher::Matcher;
use crate::model::{Aliases, Topic};

pub use error::{ConfigError, Located};
pub use feeds::FeedConfig;
pub use raw::{RawConfig, RawExamples, RawFeed, RawSettings, RawSink, RawTopic};
pub use settings::{DEFAULT_INTERVAL, DEFAULT_MAX_BODY, Settings};
pub use sinks::{SinkConfig, SinkKind};
pub use values::redact_url;

use error::Ctx;

/// The validated watch-list.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it was read from.
    pub path: PathBuf,
    pub settings: Settings,
    /// The feeds to poll (`enabled = false` ones are in `disabled_feeds`).
    pub feeds: Vec<FeedConfig>,
    /// Feeds the user switched off (`enabled = false`): kept, never polled.
    pub disabled_feeds: Vec<FeedConfig>,
    pub topics: Vec<Topic>,
    pub aliases: Aliases,
    /// Where alerts go besides the desktop.
    pub sinks: Vec<SinkConfig>,
    /// Every enabled topic's query, compiled once (models not trained).
    queries: Arc<Matcher>,
    /// The queries and, for topics that learn, their trained models: built by
    /// [`Config::train`] or on the first [`Config::matcher`], shared by clones. Commands that
    /// do not match (`check`, `status`, `feeds`) never train.
    learned: Arc<OnceLock<Arc<Matcher>>>,
}

impl Config {
    /// Holds no feed (enabled or not) and no topic: what an empty or truncated file reads as.
    /// Valid, but a reload refuses it over a running configuration that holds something.
    pub fn is_empty(&self) -> bool {
        self.feeds.is_empty() && self.disabled_feeds.is_empty() && self.topics.is_empty()
    }
}

/// Reads and validates the watch-list at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Validates watch-list text; `path` is only used to name the file in errors.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let ctx = Ctx {
        file: path.display().to_string(),
        text,
    };
    let raw: RawConfig = toml::from_str(text).map_err(|e| ctx.serde_error(&e))?;
    validate(raw, &ctx, path)
}

fn validate(raw: RawConfig, ctx: &Ctx<'_>, path: &Path) -> Result<Config, ConfigError> {
    let settings = settings::validate(ctx, &raw.settings)?;
    let aliases = topics::validate_aliases(ctx, &raw.aliases)?;
    let (feeds, disabled_feeds) = feeds::validate(ctx, &raw.feeds)?;
    let topics = topics::validate(ctx, path, &raw.topics)?;
    let sinks = sinks::validate(ctx, &raw.sinks)?;

    let queries =
        Arc::new(Matcher::new(&topics, &aliases).map_err(|e| topics::query_error(ctx, &raw, e))?);
    let config = Config {
        path: path.to_path_buf(),
        settings,
        feeds,
        disabled_feeds,
        topics,
        aliases,
        sinks,
        queries,
        learned: Arc::default(),
    };
    if !config.learns() {
        // Nothing to train: the queries are the matcher.
        let _ = config.learned.set(config.queries.clone());
    }
    Ok(config)
}
