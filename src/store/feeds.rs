//! Feed rows and their state between polls: sync with the watch-list, next polls,
//! enable/disable, host deferrals.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Result, Store, StoreError, parse_ts, ts, ts_ceil};
use crate::model::FeedId;

/// What the store remembers about a feed between polls.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedState {
    pub id: FeedId,
    pub url: String,
    pub name: Option<String>,
    pub title: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_polled_at: Option<DateTime<Utc>>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    pub next_poll_at: Option<DateTime<Utc>>,
    pub first_polled_at: Option<DateTime<Utc>>,
    pub last_new_articles: u32,
    /// Still in the watch-list (removed feeds keep their rows and history).
    pub in_config: bool,
    /// Where the feed is fetched from after permanent redirects were adopted.
    pub fetch_url: Option<String>,
    /// The permanent redirect target seen on recent polls, and on how many in a row.
    pub redirect_to: Option<String>,
    pub redirect_seen: u32,
    /// Why the feed is not polled (e.g. `410 Gone`).
    pub disabled_reason: Option<String>,
    /// The feed's watch-list entry when it was disabled; editing it re-enables the feed.
    pub disabled_config: Option<String>,
    /// SHA-256 of the last body parsed: an identical body is not parsed again.
    pub body_hash: Option<String>,
}

const FEED_COLUMNS: &str =
    "id, url, name, title, etag, last_modified, last_polled_at, last_status, last_error,
    consecutive_failures, next_poll_at, first_polled_at, last_new_articles, in_config, fetch_url,
    redirect_to, redirect_seen, disabled_reason, disabled_config, body_hash";

fn feed_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FeedState> {
    Ok(FeedState {
        id: FeedId(r.get(0)?),
        url: r.get(1)?,
        name: r.get(2)?,
        title: r.get(3)?,
        etag: r.get(4)?,
        last_modified: r.get(5)?,
        last_polled_at: parse_ts(r.get(6)?),
        last_status: r.get(7)?,
        last_error: r.get(8)?,
        consecutive_failures: r.get(9)?,
        next_poll_at: parse_ts(r.get(10)?),
        first_polled_at: parse_ts(r.get(11)?),
        last_new_articles: r.get(12)?,
        in_config: r.get(13)?,
        fetch_url: r.get(14)?,
        redirect_to: r.get(15)?,
        redirect_seen: r.get(16)?,
        disabled_reason: r.get(17)?,
        disabled_config: r.get(18)?,
        body_hash: r.get(19)?,
    })
}

/// A host that asked us (429/503 with `Retry-After`) to come back later.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HostDeferral {
    pub host: String,
    pub until: DateTime<Utc>,
    pub reason: String,
}

impl Store {
    /// Makes sure every configured feed has a row (keyed by URL) with its current name, in one
    /// transaction; returns their states in the same order. Feeds removed from the config keep
    /// their rows and history.
    pub fn sync_feeds(
        &mut self,
        feeds: &[(&str, Option<&str>)],
        now: DateTime<Utc>,
    ) -> Result<Vec<FeedState>> {
        let tx = self.conn.transaction()?;
        let mut states = Vec::with_capacity(feeds.len());
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO feeds (url, name, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(url) DO UPDATE SET name = excluded.name",
            )?;
            let mut get =
                tx.prepare_cached(&format!("SELECT {FEED_COLUMNS} FROM feeds WHERE url = ?1"))?;
            for (url, name) in feeds {
                upsert.execute(params![url, name, ts(now)])?;
                states.push(get.query_row([url], feed_row)?);
            }
        }
        tx.commit()?;
        Ok(states)
    }

    /// One feed's [`Store::sync_feeds`].
    pub fn sync_feed(
        &mut self,
        url: &str,
        name: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<FeedState> {
        let mut states = self.sync_feeds(&[(url, name)], now)?;
        states
            .pop()
            .ok_or(StoreError::Sqlite(rusqlite::Error::QueryReturnedNoRows))
    }

    pub fn feed_by_url(&self, url: &str) -> Result<Option<FeedState>> {
        let sql = format!("SELECT {FEED_COLUMNS} FROM feeds WHERE url = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([url], feed_row)
            .optional()?)
    }

    /// Every feed the store knows, configured ones first, then by id.
    pub fn feeds(&self) -> Result<Vec<FeedState>> {
        let sql = format!("SELECT {FEED_COLUMNS} FROM feeds ORDER BY in_config DESC, id");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([], feed_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Marks which feeds are in the watch-list now (by URL); the others keep their history.
    pub fn set_configured(&mut self, urls: &[&str]) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute("UPDATE feeds SET in_config = 0", [])?;
        {
            let mut stmt = tx.prepare_cached("UPDATE feeds SET in_config = 1 WHERE url = ?1")?;
            for url in urls {
                stmt.execute([url])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Sets several feeds' next poll, in one transaction.
    pub fn set_next_polls(&mut self, polls: &[(FeedId, DateTime<Utc>)]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached("UPDATE feeds SET next_poll_at = ?2 WHERE id = ?1")?;
            for (feed, at) in polls {
                stmt.execute(params![feed.0, ts(*at)])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Polls a disabled feed again, from now. Returns whether it was disabled.
    pub fn enable_feed(&mut self, url: &str) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE feeds SET disabled_reason = NULL, disabled_config = NULL, next_poll_at = NULL
             WHERE url = ?1 AND disabled_reason IS NOT NULL",
            [url],
        )?;
        Ok(n > 0)
    }

    /// Hosts deferred past `now`.
    pub fn host_deferrals(&self, now: DateTime<Utc>) -> Result<Vec<HostDeferral>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT host, deferred_until, reason FROM hosts WHERE deferred_until > ?1 ORDER BY host")?;
        let rows = stmt.query_map([ts(now)], |r| {
            Ok(HostDeferral {
                host: r.get(0)?,
                until: parse_ts(r.get(1)?).unwrap_or_default(),
                reason: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Configured feeds whose last poll failed.
    pub fn failing_feeds(&self) -> Result<usize> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM feeds WHERE in_config = 1 AND consecutive_failures > 0",
            [],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as usize)
    }
}

/// Stops polling a feed until it is re-enabled (`config` is its watch-list entry now). Part of
/// a poll's transaction: [`super::PollTx::disable`].
pub(super) fn disable_feed(
    conn: &rusqlite::Connection,
    feed: FeedId,
    reason: &str,
    config: &str,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE feeds SET disabled_reason = ?2, disabled_config = ?3 WHERE id = ?1",
    )?
    .execute(params![feed.0, reason, config])?;
    Ok(())
}

/// Defers every feed of `host` until `until` (the later of this and any existing deferral).
/// Part of a poll's transaction: [`super::PollTx::defer_host`].
pub(super) fn defer_host(
    conn: &rusqlite::Connection,
    host: &str,
    until: DateTime<Utc>,
    reason: &str,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO hosts (host, deferred_until, reason) VALUES (?1, ?2, ?3)
         ON CONFLICT(host) DO UPDATE SET
            reason = CASE WHEN excluded.deferred_until > deferred_until THEN excluded.reason ELSE reason END,
            deferred_until = MAX(deferred_until, excluded.deferred_until)",
    )?
    .execute(params![host, ts_ceil(until), reason])?;
    Ok(())
}
