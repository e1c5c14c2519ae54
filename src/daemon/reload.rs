//! The watch-list, read again: a valid one replaces the running configuration (feeds and topics
//! added, removed or changed; the topics retrained with the user's marks), an invalid one changes
//! nothing and is reported, and so does a valid one that holds nothing over a running one that
//! holds something (an emptied file); and the feeds' rows kept in step with it.

#![deny(clippy::arithmetic_side_effects)] // instants move only through `checked_time`

use crate::checked_time::later;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::{error, info};

use super::poll_task::Gates;
use super::seams::{Clock, Fetch};
use super::{Daemon, ReloadCause, learn_from_marks, read_marks};
use crate::config::{self, FeedConfig};
use crate::desktop::Notifier;
use crate::model::FeedId;
use crate::model_cache::DirCache;
use crate::schedule::Policy;
use crate::store::StoreError;

impl<F: Fetch, N: Notifier + Send + Sync + 'static, C: Clock> Daemon<F, N, C> {
    /// Makes sure every configured feed has a row, marks which are configured, and spreads
    /// the first polls of feeds that are due (or new) over their first interval.
    pub(super) fn sync_config(&mut self, spread: bool) -> Result<(), StoreError> {
        let now = self.clock.now();
        let feeds: Vec<(&str, Option<&str>)> = self
            .config
            .feeds
            .iter()
            .map(|f| (f.url.as_str(), f.name.as_deref()))
            .collect();
        let states = self.store.sync_feeds(&feeds, now)?;
        let due: Vec<(FeedId, Duration)> = self
            .config
            .feeds
            .iter()
            .zip(&states)
            .filter(|(_, s)| s.next_poll_at.is_none_or(|t| t <= now))
            .map(|(f, s)| (s.id, self.policy(f).interval()))
            .collect();
        for sink in &self.config.sinks {
            self.store.register_sink(&sink.name)?;
        }
        let urls: Vec<&str> = self.config.feeds.iter().map(|f| f.url.as_str()).collect();
        self.store.set_configured(&urls)?;
        if spread && due.len() > 1 {
            let n = due.len() as u32;
            let polls: Vec<(FeedId, DateTime<Utc>)> = due
                .into_iter()
                .enumerate()
                .map(|(i, (id, interval))| {
                    // i < n, so the offset stays below the interval.
                    let offset = interval.checked_div(n).unwrap_or_default();
                    (id, later(now, offset.saturating_mul(i as u32)))
                })
                .collect();
            self.store.set_next_polls(&polls)?;
        }
        Ok(())
    }

    pub(super) fn policy(&self, feed: &FeedConfig) -> Policy {
        Policy {
            default_interval: self.config.settings.interval,
            feed_interval: feed.interval,
        }
    }

    /// Reads the watch-list again. A valid one replaces the running config (feeds and topics
    /// added, removed or changed; removed feeds keep their history); an invalid one, or one
    /// with no feeds and no topics replacing one with some, changes nothing and is reported
    /// in the log and in `status`.
    /// The user's marks join the topics' examples ([`learn_from_marks`]); loading and training
    /// run on the blocking pool, not on a runtime worker.
    pub(super) async fn reload(&mut self, cause: ReloadCause) -> Result<(), StoreError> {
        let _ = self.sd.reloading();
        let result = self.reload_inner(cause).await;
        let _ = self.sd.ready();
        self.report_status()?;
        result
    }

    async fn reload_inner(&mut self, cause: ReloadCause) -> Result<(), StoreError> {
        let marks = read_marks(&self.store);
        let path = self.config.path.clone();
        let cache = DirCache::beside(self.store.path());
        let loaded = tokio::task::spawn_blocking(move || {
            config::load(&path)
                .map_err(|e| e.to_string())
                .and_then(|c| learn_from_marks(c, &marks, &cache).map_err(|e| e.to_string()))
        })
        .await
        .unwrap_or_else(|e| Err(format!("loading the watch-list failed: {e}")))
        .and_then(|new| {
            // A 0-byte file (an editor that truncates, a failed copy) is valid TOML: taken at
            // its word it would stop all monitoring without a word.
            if new.is_empty() && !self.config.is_empty() {
                Err(format!(
                    "{} holds no feeds and no topics (emptied or truncated?); to stop \
                     monitoring, stop the daemon or disable the feeds",
                    new.path.display()
                ))
            } else {
                Ok(new)
            }
        });
        match loaded {
            Ok(new) => {
                let settings_changed = new.settings != self.config.settings;
                info!(
                    ?cause,
                    feeds = new.feeds.len(),
                    topics = new.topics.len(),
                    "watch-list reloaded"
                );
                self.config = new;
                if settings_changed {
                    let s = &self.config.settings;
                    // Polls in flight finish under the limits they started with.
                    self.gates = Gates::new(s);
                }
                self.sync_config(true)?;
                self.store.set_state("config_error", None)?;
                self.stats.reloads = self.stats.reloads.saturating_add(1);
            }
            Err(e) => {
                error!(
                    ?cause,
                    "watch-list not reloaded, the running one stays in force: {e}"
                );
                let at = crate::store::ts(self.clock.now());
                self.store
                    .set_state("config_error", Some(&format!("{at}: {e}")))?;
            }
        }
        Ok(())
    }
}
