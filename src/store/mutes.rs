//! Topics and feeds muted until a time: their alerts are recorded, not notified.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Result, Store, parse_ts, ts};

impl Store {
    /// Stops notifying `topic` until `until` (alerts are still recorded).
    pub fn mute_topic(&mut self, topic: &str, until: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "INSERT INTO mutes (topic, until) VALUES (?1, ?2)
             ON CONFLICT(topic) DO UPDATE SET until = excluded.until",
            params![topic, ts(until)],
        )?;
        Ok(())
    }

    /// Topics muted past `now`, with when the mute ends.
    pub fn muted_topics(&self, now: DateTime<Utc>) -> Result<Vec<(String, DateTime<Utc>)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT topic, until FROM mutes WHERE until > ?1")?;
        let rows = stmt.query_map([ts(now)], |r| {
            Ok((r.get(0)?, parse_ts(r.get(1)?).unwrap_or_default()))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Stops notifying alerts from feed `feed` until `until` (alerts are still recorded).
    pub fn mute_feed(&mut self, feed: crate::model::FeedId, until: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "INSERT INTO feed_mutes (feed_id, until) VALUES (?1, ?2)
             ON CONFLICT(feed_id) DO UPDATE SET until = excluded.until",
            params![feed.0, ts(until)],
        )?;
        Ok(())
    }

    /// Feeds muted past `now`, with when the mute ends.
    pub fn muted_feeds(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(crate::model::FeedId, DateTime<Utc>)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT feed_id, until FROM feed_mutes WHERE until > ?1")?;
        let rows = stmt.query_map([ts(now)], |r| {
            Ok((
                crate::model::FeedId(r.get(0)?),
                parse_ts(r.get(1)?).unwrap_or_default(),
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
