//! Retention: pruning old alerts and the articles no alert refers to, in batches.

#![deny(clippy::arithmetic_side_effects)] // instants move only through `checked_time`

use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Result, Store, ts};

impl Store {
    /// Retention: deletes alerts older than `keep_alerts` (if set), then articles first seen
    /// before `keep_articles` that no alert refers to — at most `batch` rows of each, so that a
    /// large backlog is worked off in short steps. Returns (articles, alerts) deleted.
    pub fn prune(
        &mut self,
        now: DateTime<Utc>,
        keep_articles: Duration,
        keep_alerts: Option<Duration>,
        batch: usize,
    ) -> Result<(usize, usize)> {
        // Checked: a horizon beyond the calendar keeps everything instead of overflowing.
        let before = |d: Duration| {
            let cutoff = chrono::Duration::from_std(d)
                .ok()
                .and_then(|d| now.checked_sub_signed(d))
                .unwrap_or(DateTime::<Utc>::MIN_UTC);
            ts(cutoff)
        };
        let tx = self.conn.transaction()?;
        let alerts = match keep_alerts {
            Some(d) => tx.execute(
                "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts WHERE created_at < ?1 LIMIT ?2)",
                params![before(d), batch as i64],
            )?,
            None => 0,
        };
        let articles = tx.execute(
            "DELETE FROM articles WHERE id IN (
                SELECT id FROM articles WHERE first_seen_at < ?1
                  AND NOT EXISTS (SELECT 1 FROM alerts WHERE alerts.article_id = articles.id)
                  AND NOT EXISTS (SELECT 1 FROM alert_sources WHERE alert_sources.article_id = articles.id)
                LIMIT ?2)",
            params![before(keep_articles), batch as i64],
        )?;
        tx.commit()?;
        Ok((articles, alerts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::PollRecord;
    use crate::store::test_support::{article, now, one_nato_alert};

    #[test]
    fn retention_forgets_old_articles_without_alerts_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        one_nato_alert(&mut store, "alerted");
        let feed = store
            .sync_feed("https://a.example/rss", None, now())
            .unwrap();
        let mut tx = store.begin_poll(feed.id).unwrap();
        tx.insert_new(vec![article("quiet", "Weather")], now())
            .unwrap();
        tx.finish(&PollRecord::default(), now()).unwrap();

        let day = Duration::from_secs(86_400);
        let later = now() + chrono::Duration::days(100);
        assert_eq!(store.prune(later, 90 * day, None, 1000).unwrap(), (1, 0));
        assert_eq!(
            store.articles_since(None).unwrap().len(),
            1,
            "the alerted article stays"
        );
        assert_eq!(
            store.prune(later, 90 * day, Some(30 * day), 1000).unwrap(),
            (1, 1)
        );
        assert!(store.articles_since(None).unwrap().is_empty());
    }

    #[test]
    fn a_horizon_beyond_the_calendar_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        one_nato_alert(&mut store, "a1");
        let forever = Duration::from_secs(300_000 * 365 * 86_400);
        assert_eq!(
            store
                .prune(now(), forever, Some(Duration::MAX), 100)
                .unwrap(),
            (0, 0)
        );
    }
}
