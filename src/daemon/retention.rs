//! Retention, once a day: old articles without alerts (and old alerts, if set) are forgotten
//! in short steps.

#![deny(clippy::arithmetic_side_effects)] // instants move only through `checked_time`

use chrono::{DateTime, Utc};
use tracing::info;

use super::Daemon;
use super::seams::{Clock, Fetch};
use crate::desktop::Notifier;
use crate::store::StoreError;

/// Retention deletes at most this many rows per step.
pub const PRUNE_BATCH: usize = 5_000;

impl<F: Fetch, N: Notifier + Send + Sync + 'static, C: Clock> Daemon<F, N, C> {
    /// Retention, once a day: forget old articles without alerts (and old alerts if set), in
    /// steps of [`PRUNE_BATCH`] rows so that a large backlog never holds up the loop for long.
    pub(super) fn prune(&mut self, now: DateTime<Utc>) -> Result<(), StoreError> {
        let s = &self.config.settings;
        let (articles, alerts) =
            self.store
                .prune(now, s.keep_articles, s.keep_alerts, PRUNE_BATCH)?;
        if articles > 0 || alerts > 0 {
            info!(
                articles,
                alerts, "retention: forgot old articles and alerts"
            );
        }
        let more = articles.max(alerts) >= PRUNE_BATCH;
        let wait = if more {
            chrono::Duration::seconds(5)
        } else {
            chrono::Duration::days(1)
        };
        self.next_prune = Some(crate::checked_time::later_by(now, wait));
        Ok(())
    }
}
