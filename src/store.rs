//! EDGE: the only owner of the SQLite connection — migrations, dedup, feed state, alerts.
//!
//! One poll of one feed is one transaction ([`PollTx`]): the new articles, their alerts and
//! the feed's new state are committed together, so a crash never leaves an article stored
//! without its alert, or a validator (ETag) advanced past articles that were not stored.

use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use thiserror::Error;

use crate::model::{Article, FeedId, Match};

/// The schema, one migration per version. `PRAGMA user_version` holds the applied count.
const MIGRATIONS: &[&str] = &[
    // 1: feeds, articles, alerts.
    r#"
    CREATE TABLE feeds (
        id                   INTEGER PRIMARY KEY,
        url                  TEXT NOT NULL UNIQUE,
        name                 TEXT,
        title                TEXT,
        etag                 TEXT,
        last_modified        TEXT,
        last_polled_at       TEXT,
        last_status          INTEGER,
        last_error           TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        next_poll_at         TEXT,
        first_polled_at      TEXT,
        last_new_articles    INTEGER NOT NULL DEFAULT 0,
        created_at           TEXT NOT NULL,
        in_config            INTEGER NOT NULL DEFAULT 1,
        fetch_url            TEXT,
        redirect_to          TEXT,
        redirect_seen        INTEGER NOT NULL DEFAULT 0,
        disabled_reason      TEXT,
        disabled_config      TEXT,
        body_hash            TEXT
    );
    CREATE TABLE hosts (
        host           TEXT PRIMARY KEY,
        deferred_until TEXT NOT NULL,
        reason         TEXT NOT NULL
    );
    CREATE TABLE daemon_state (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE articles (
        id            INTEGER PRIMARY KEY,
        feed_id       INTEGER NOT NULL REFERENCES feeds(id),
        key           TEXT NOT NULL,
        guid          TEXT,
        link          TEXT,
        title         TEXT NOT NULL,
        summary       TEXT NOT NULL,
        authors       TEXT NOT NULL DEFAULT '[]',
        categories    TEXT NOT NULL DEFAULT '[]',
        published_at  TEXT,
        first_seen_at TEXT NOT NULL,
        story_link    TEXT,
        UNIQUE (feed_id, key)
    );
    CREATE INDEX articles_first_seen ON articles(first_seen_at);
    CREATE INDEX articles_story_link ON articles(story_link);
    CREATE TABLE alerts (
        id             INTEGER PRIMARY KEY,
        article_id     INTEGER NOT NULL REFERENCES articles(id),
        topic          TEXT NOT NULL,
        terms          TEXT NOT NULL,
        snippet        TEXT NOT NULL,
        explanation    TEXT NOT NULL,
        created_at     TEXT NOT NULL,
        notify         INTEGER NOT NULL,
        delivered_at   TEXT,
        delivered_via  TEXT,
        delivery_error TEXT,
        attempts       INTEGER NOT NULL DEFAULT 0,
        UNIQUE (article_id, topic)
    );
    CREATE TABLE alert_sources (
        alert_id   INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        PRIMARY KEY (alert_id, article_id)
    );
    CREATE INDEX alert_sources_article ON alert_sources(article_id);
    -- One row per alert with its article, feed and topic joined: the stable way to read history.
    CREATE VIEW alert_history AS
    SELECT al.id            AS alert_id,
           al.created_at    AS created_at,
           al.topic         AS topic,
           COALESCE(f.name, f.title, f.url) AS source,
           f.url            AS feed_url,
           ar.title         AS title,
           ar.link          AS link,
           ar.published_at  AS published_at,
           al.terms         AS terms,
           al.snippet       AS snippet,
           al.notify        AS notify,
           al.delivered_at  AS delivered_at,
           al.delivered_via AS delivered_via,
           al.delivery_error AS delivery_error,
           (SELECT group_concat(src, ', ') FROM (
                SELECT DISTINCT COALESCE(f2.name, f2.title, f2.url) AS src
                FROM alert_sources s JOIN articles a2 ON a2.id = s.article_id JOIN feeds f2 ON f2.id = a2.feed_id
                WHERE s.alert_id = al.id)) AS also_reported_by
    FROM alerts al
    JOIN articles ar ON ar.id = al.article_id
    JOIN feeds f ON f.id = ar.feed_id;
    CREATE TABLE sinks (
        name     TEXT PRIMARY KEY,
        baseline INTEGER NOT NULL  -- alerts up to this id existed before the sink: not sent
    );
    CREATE TABLE sink_deliveries (
        alert_id     INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        sink         TEXT NOT NULL,
        delivered_at TEXT,
        error        TEXT,
        attempts     INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (alert_id, sink)
    );
    CREATE TABLE mutes (
        topic TEXT PRIMARY KEY,
        until TEXT NOT NULL
    );
    CREATE INDEX alerts_created ON alerts(created_at);
    CREATE INDEX alerts_pending ON alerts(notify, delivered_at);
    CREATE INDEX alerts_topic_created ON alerts(topic, created_at);
    "#,
    // 2: the user's marks on alerts (right/wrong for the topic), the training examples of the
    // topic's classifier; `alert_history` shows each alert's mark.
    r#"
    CREATE TABLE marks (
        id         INTEGER PRIMARY KEY,
        topic      TEXT NOT NULL,
        label      INTEGER NOT NULL CHECK (label IN (0, 1)),  -- 1 right/relevant, 0 wrong/not relevant
        title      TEXT NOT NULL,  -- copied from the article, so that retention never loses an example
        summary    TEXT NOT NULL,
        article_id INTEGER REFERENCES articles(id) ON DELETE SET NULL,
        alert_id   INTEGER REFERENCES alerts(id) ON DELETE SET NULL,
        via        TEXT NOT NULL,  -- 'cli', 'notification', 'match'
        marked_at  TEXT NOT NULL,
        UNIQUE (topic, article_id)
    );
    -- Retention deletes articles and alerts: their marks are found (and set NULL) by index.
    CREATE INDEX marks_article ON marks(article_id);
    CREATE INDEX marks_alert ON marks(alert_id);
    DROP VIEW alert_history;
    CREATE VIEW alert_history AS
    SELECT al.id            AS alert_id,
           al.created_at    AS created_at,
           al.topic         AS topic,
           COALESCE(f.name, f.title, f.url) AS source,
           f.url            AS feed_url,
           ar.title         AS title,
           ar.link          AS link,
           ar.published_at  AS published_at,
           al.terms         AS terms,
           al.snippet       AS snippet,
           al.notify        AS notify,
           al.delivered_at  AS delivered_at,
           al.delivered_via AS delivered_via,
           al.delivery_error AS delivery_error,
           (SELECT group_concat(src, ', ') FROM (
                SELECT DISTINCT COALESCE(f2.name, f2.title, f2.url) AS src
                FROM alert_sources s JOIN articles a2 ON a2.id = s.article_id JOIN feeds f2 ON f2.id = a2.feed_id
                WHERE s.alert_id = al.id)) AS also_reported_by,
           (SELECT CASE m.label WHEN 1 THEN 'right' ELSE 'wrong' END FROM marks m
            WHERE m.topic = al.topic AND m.article_id = al.article_id) AS mark
    FROM alerts al
    JOIN articles ar ON ar.id = al.article_id
    JOIN feeds f ON f.id = ar.feed_id;
    "#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("cannot open database {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "database {path} has schema version {found}, newer than this tidings understands ({supported}); \
         refusing to touch it (upgrade tidings, or use another --db)"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("no alert with id {0} (`tidings history` shows the ids)")]
    NoSuchAlert(i64),
    #[error("no article with id {0}")]
    NoSuchArticle(i64),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl StoreError {
    /// A lock held by another writer past `busy_timeout`: worth retrying later.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

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

/// An article just inserted, with its row id.
#[derive(Debug, Clone)]
pub struct NewArticle {
    pub id: i64,
    pub article: Article,
}

/// An alert to record for a new article.
#[derive(Debug, Clone)]
pub struct NewAlert<'a> {
    pub article_id: i64,
    pub topic: &'a str,
    pub matched: &'a Match,
    /// False for the backlog of a feed's first poll: recorded, never notified.
    pub notify: bool,
}

/// An alert waiting for delivery, with what the notification needs.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingAlert {
    pub id: i64,
    /// The query terms that fired.
    pub terms: Vec<String>,
    pub topic: String,
    pub title: String,
    pub link: Option<String>,
    pub source: String,
    pub snippet: crate::model::Snippet,
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub attempts: u32,
    /// For a topic that learns: the model's score, threshold and reasons.
    pub learned: Option<crate::model::Learned>,
}

/// One line of `tidings history`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HistoryRow {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub topic: String,
    pub source: String,
    pub title: String,
    pub link: Option<String>,
    pub terms: Vec<String>,
    pub snippet: String,
    pub notify: bool,
    pub delivered_at: Option<DateTime<Utc>>,
    pub delivered_via: Option<String>,
    pub delivery_error: Option<String>,
    /// Other feeds that carried the same story.
    pub also_reported_by: Vec<String>,
    /// The user's mark on the alert: `right`, `wrong`, or none.
    pub mark: Option<String>,
    /// For a topic that learns: the model's score (0–1); `None` otherwise.
    pub score: Option<f64>,
    /// The score the topic's alerts need; `None` when the topic does not learn.
    pub threshold: Option<f64>,
    /// The features that pushed the score up most, `[feature, contribution]`; `None` when the
    /// topic does not learn.
    pub reasons: Option<Vec<(String, f64)>>,
}

/// A mark as the user gave it: the article was right (relevant) or wrong for the topic.
/// Title and summary are copied, so a mark outlives its article and alert.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Mark {
    pub topic: String,
    /// True: right (relevant); false: wrong (not relevant).
    pub label: bool,
    pub title: String,
    pub summary: String,
    pub marked_at: DateTime<Utc>,
}

/// What [`Store::mark_alert`] recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkedAlert {
    pub alert_id: i64,
    pub article_id: i64,
    pub topic: String,
    pub title: String,
    pub label: bool,
    /// The label of the mark this one replaced, if the alert was marked before.
    pub previous: Option<bool>,
}

/// The word for a label: `right` or `wrong`.
pub fn label_word(label: bool) -> &'static str {
    if label { "right" } else { "wrong" }
}

/// Which alerts `history` shows.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    pub topic: Option<String>,
    /// Matches the feed's name, title or URL (case-insensitive substring).
    pub feed: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Every word must occur in the headline, summary or snippet (case-insensitive).
    pub search: Vec<String>,
    pub limit: usize,
}

/// How a poll of one feed ended, as the store records it.
#[derive(Debug, Clone, Default)]
pub struct PollRecord {
    pub status: Option<u16>,
    /// `None` on success.
    pub error: Option<String>,
    /// New validators, only on a successful fetch (a 304 keeps the old ones).
    pub validators: Option<(Option<String>, Option<String>)>,
    pub title: Option<String>,
    pub new_articles: u32,
    pub next_poll_at: Option<DateTime<Utc>>,
    /// The permanent-redirect target seen on this poll (`None`: no permanent redirect).
    pub redirect_to: Option<String>,
    /// On how many polls in a row `redirect_to` was seen.
    pub redirect_seen: u32,
    /// Fetch from here from now on (a permanent redirect adopted).
    pub adopt_url: Option<String>,
    /// Hash of the body just parsed (`None` keeps the stored one).
    pub body_hash: Option<String>,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A time stored to the second, rounded *up*: for a host's `Retry-After`, which must never come
/// early. (A feed's own `next_poll_at` is rounded down; a 429/503's `Retry-After` also defers
/// its host, so the host deferral is what holds.)
pub(crate) fn ts_ceil(t: DateTime<Utc>) -> String {
    use chrono::{DurationRound, Timelike};
    let t = if t.nanosecond() == 0 {
        t
    } else {
        t.duration_trunc(chrono::Duration::seconds(1)).unwrap_or(t) + chrono::Duration::seconds(1)
    };
    ts(t)
}

fn parse_ts(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.with_timezone(&Utc))
}

impl Store {
    /// Opens (creating if needed) the database at `path`: directory 0700, file 0600, WAL,
    /// `busy_timeout`, migrations. A newer schema or a file that is not a database is an
    /// error naming the path; nothing is overwritten.
    pub fn open(path: &Path) -> Result<Store> {
        let open_err = |source: Box<dyn std::error::Error + Send + Sync>| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| open_err(Box::new(e)))?;
        }
        if path.is_dir() {
            return Err(open_err("it is a directory".into()));
        }
        // Create the file ourselves so that it is private from the first byte. Only a new
        // file: opening (and closing) an existing one outside SQLite would drop this process's
        // POSIX locks on it, held by its other connections — another process would then take
        // itself for the last one and delete the WAL under them.
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(open_err(Box::new(e))),
        }
        let conn = Connection::open(path).map_err(|e| open_err(Box::new(e)))?;
        // Recording a poll uses about twenty distinct statements: with rusqlite's default
        // cache of 16 they were evicted and compiled again for every feed.
        conn.set_prepared_statement_cache_capacity(64);
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        // Two processes opening a new database at once: the loser of the race to switch it to
        // WAL gets SQLITE_BUSY without waiting; it simply tries again.
        let mut tries = 0;
        let configured = loop {
            match store.configure() {
                Err(e) if e.is_busy() && tries < 50 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                other => break other,
            }
        };
        configured.map_err(|e| match e {
            StoreError::Sqlite(e) => open_err(Box::new(e)),
            other => other,
        })?;
        Ok(store)
    }

    fn configure(&mut self) -> Result<()> {
        self.conn.busy_timeout(Duration::from_secs(5))?;
        // Reading the schema version first fails cleanly on a file that is not a database.
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: self.path.clone(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        if version < SCHEMA_VERSION {
            // Another process may be migrating the same new database right now: take the write
            // lock first, then look again at what is left to do.
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
                tx.execute_batch(sql)?;
                tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            }
            tx.commit()?;
        }
        for suffix in ["-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

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

    /// Stops polling a feed until it is re-enabled (`config` is its watch-list entry now).
    pub fn disable_feed(&mut self, feed: FeedId, reason: &str, config: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE feeds SET disabled_reason = ?2, disabled_config = ?3 WHERE id = ?1",
            params![feed.0, reason, config],
        )?;
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

    /// Defers every feed of `host` until `until` (the later of this and any existing deferral).
    pub fn defer_host(&mut self, host: &str, until: DateTime<Utc>, reason: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO hosts (host, deferred_until, reason) VALUES (?1, ?2, ?3)
             ON CONFLICT(host) DO UPDATE SET
                reason = CASE WHEN excluded.deferred_until > deferred_until THEN excluded.reason ELSE reason END,
                deferred_until = MAX(deferred_until, excluded.deferred_until)",
            params![host, ts_ceil(until), reason],
        )?;
        Ok(())
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

    /// Daemon-wide facts for `status` (e.g. `config_error`), by key.
    pub fn set_state(&mut self, key: &str, value: Option<&str>) -> Result<()> {
        match value {
            Some(v) => self.conn.execute(
                "INSERT INTO daemon_state (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, v],
            )?,
            None => self
                .conn
                .execute("DELETE FROM daemon_state WHERE key = ?1", [key])?,
        };
        Ok(())
    }

    pub fn state(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM daemon_state WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()?)
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

    /// Gives the connection's page cache back to the allocator (the daemon calls this when a
    /// burst of polls is over; the cache refills on the next one).
    pub fn release_memory(&self) -> Result<()> {
        self.conn.execute_batch("PRAGMA shrink_memory")?;
        Ok(())
    }

    /// Does the database answer? (For the watchdog.)
    pub fn ping(&self) -> Result<()> {
        self.conn.query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    /// Alerts created at or after `since`.
    pub fn count_alerts_since(&self, since: DateTime<Utc>) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM alerts WHERE created_at >= ?1",
            [ts(since)],
            |r| r.get(0),
        )?)
    }

    /// Starts the transaction that records one poll of one feed.
    pub fn begin_poll(&mut self, feed: FeedId) -> Result<PollTx<'_>> {
        let tx = self.conn.transaction()?;
        Ok(PollTx { tx, feed })
    }

    /// Alerts recorded for notification and not yet delivered, oldest first.
    pub fn pending_alerts(&self, limit: usize) -> Result<Vec<PendingAlert>> {
        self.pending_where(
            "al.notify = 1 AND al.delivered_at IS NULL",
            &[&(limit as i64)],
        )
    }

    /// Alerts the sink `name` has not yet received, oldest first.
    pub fn sink_pending(&self, name: &str, limit: usize) -> Result<Vec<PendingAlert>> {
        self.pending_where(
            "al.notify = 1
             AND al.id > (SELECT baseline FROM sinks WHERE name = ?2)
             AND NOT EXISTS (SELECT 1 FROM sink_deliveries d
                             WHERE d.alert_id = al.id AND d.sink = ?2 AND d.delivered_at IS NOT NULL)",
            &[&(limit as i64), &name],
        )
    }

    fn pending_where(
        &self,
        condition: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<PendingAlert>> {
        let sql = format!(
            "SELECT al.id, al.topic, ar.title, ar.link, COALESCE(f.name, f.title, f.url), al.explanation,
                    ar.published_at, al.created_at, al.attempts, al.terms
             FROM alerts al JOIN articles ar ON ar.id = al.article_id JOIN feeds f ON f.id = ar.feed_id
             WHERE {condition}
             ORDER BY al.id LIMIT ?1"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(args, |r| {
            let explanation: String = r.get(5)?;
            let explanation = serde_json::from_str::<Explanation>(&explanation).unwrap_or_default();
            let terms: String = r.get(9)?;
            Ok(PendingAlert {
                id: r.get(0)?,
                terms: serde_json::from_str(&terms).unwrap_or_default(),
                topic: r.get(1)?,
                title: r.get(2)?,
                link: r.get(3)?,
                source: r.get(4)?,
                snippet: explanation.snippet,
                published_at: parse_ts(r.get(6)?),
                created_at: parse_ts(r.get(7)?).unwrap_or_default(),
                attempts: r.get(8)?,
                learned: explanation.learned,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Registers a sink: it receives the alerts created from now on (not the history).
    pub fn register_sink(&mut self, name: &str) -> Result<()> {
        self.conn.execute(
            "INSERT OR IGNORE INTO sinks (name, baseline) VALUES (?1, (SELECT COALESCE(MAX(id), 0) FROM alerts))",
            [name],
        )?;
        Ok(())
    }

    /// Records one attempt to hand an alert to a sink.
    pub fn mark_sink(
        &mut self,
        alert: i64,
        sink: &str,
        now: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO sink_deliveries (alert_id, sink, delivered_at, error, attempts) VALUES (?1, ?2, ?3, ?4, 1)
             ON CONFLICT(alert_id, sink) DO UPDATE SET
                delivered_at = excluded.delivered_at, error = excluded.error, attempts = attempts + 1",
            params![alert, sink, error.is_none().then(|| ts(now)), error],
        )?;
        Ok(())
    }

    /// Marks alerts as delivered (`via`: `desktop`, `summary`, `muted`, ...).
    pub fn mark_delivered(&mut self, alerts: &[i64], now: DateTime<Utc>, via: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE alerts SET delivered_at = ?2, delivered_via = ?3, delivery_error = NULL,
                                   attempts = attempts + 1
                 WHERE id = ?1",
            )?;
            for id in alerts {
                stmt.execute(params![id, ts(now), via])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Records a failed delivery attempt; the alerts stay pending.
    pub fn mark_failed(&mut self, alerts: &[i64], error: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE alerts SET delivery_error = ?2, attempts = attempts + 1 WHERE id = ?1",
            )?;
            for id in alerts {
                stmt.execute(params![id, error])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Notifications shown since `since`, for flood control: (when, topic) for each alert shown
    /// on its own, and (when, "") once per summary.
    pub fn shown_since(&self, since: DateTime<Utc>) -> Result<Vec<(DateTime<Utc>, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT delivered_at, topic FROM alerts WHERE delivered_at >= ?1 AND delivered_via = 'desktop'
             UNION ALL
             SELECT DISTINCT delivered_at, '' FROM alerts WHERE delivered_at >= ?1 AND delivered_via = 'summary'",
        )?;
        let rows = stmt.query_map([ts(since)], |r| {
            Ok((
                parse_ts(r.get(0)?).unwrap_or_default(),
                r.get::<_, String>(1)?,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

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

    /// Alerts matching `filter`, newest first (from the `alert_history` view).
    pub fn history(&self, filter: &HistoryFilter) -> Result<Vec<HistoryRow>> {
        let mut sql = String::from(
            "SELECT h.alert_id, h.created_at, h.topic, h.source, h.title, h.link, h.terms, h.snippet, h.notify,
                    h.delivered_at, h.delivered_via, h.delivery_error, h.also_reported_by, h.mark,
                    (SELECT al.explanation FROM alerts al WHERE al.id = h.alert_id)
             FROM alert_history h WHERE 1",
        );
        let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
        let mut arg = |sql: &mut String, clause: &str, v: Box<dyn rusqlite::ToSql>| {
            args.push(v);
            sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
        };
        if let Some(t) = &filter.topic {
            arg(&mut sql, " AND h.topic = ?", Box::new(t.clone()));
        }
        if let Some(f) = &filter.feed {
            arg(
                &mut sql,
                " AND (instr(lower(h.source), lower(?)) > 0 OR instr(lower(h.feed_url), lower(?)) > 0)",
                Box::new(f.clone()),
            );
        }
        if let Some(t) = filter.since {
            arg(&mut sql, " AND h.created_at >= ?", Box::new(ts(t)));
        }
        if let Some(t) = filter.until {
            arg(&mut sql, " AND h.created_at < ?", Box::new(ts(t)));
        }
        for w in &filter.search {
            arg(
                &mut sql,
                " AND (instr(lower(h.title), lower(?)) > 0 OR instr(lower(h.snippet), lower(?)) > 0
                       OR instr(lower((SELECT summary FROM alerts al JOIN articles ar ON ar.id = al.article_id
                                       WHERE al.id = h.alert_id)), lower(?)) > 0)",
                Box::new(w.clone()),
            );
        }
        arg(
            &mut sql,
            " ORDER BY h.created_at DESC, h.alert_id DESC LIMIT ?",
            Box::new(filter.limit as i64),
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let params: Vec<&dyn rusqlite::ToSql> = args.iter().map(|b| b.as_ref()).collect();
        let rows = stmt.query_map(params.as_slice(), |r| {
            let terms: String = r.get(6)?;
            let also: Option<String> = r.get(12)?;
            let explanation: Option<String> = r.get(14)?;
            let learned = explanation
                .and_then(|e| serde_json::from_str::<Explanation>(&e).ok())
                .and_then(|e| e.learned);
            Ok(HistoryRow {
                id: r.get(0)?,
                created_at: parse_ts(r.get(1)?).unwrap_or_default(),
                topic: r.get(2)?,
                source: r.get(3)?,
                title: r.get(4)?,
                link: r.get(5)?,
                terms: serde_json::from_str(&terms).unwrap_or_default(),
                snippet: r.get(7)?,
                notify: r.get(8)?,
                delivered_at: parse_ts(r.get(9)?),
                delivered_via: r.get(10)?,
                delivery_error: r.get(11)?,
                also_reported_by: also
                    .map(|a| a.split(", ").map(str::to_string).collect())
                    .unwrap_or_default(),
                mark: r.get(13)?,
                score: learned.as_ref().map(|l| l.score),
                threshold: learned.as_ref().map(|l| l.threshold),
                reasons: learned.map(|l| l.reasons),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Marks alert `alert_id` right (`label` true) or wrong for its topic: the mark is on the
    /// alert's article and replaces an earlier mark of the same article and topic. `via` says
    /// where it came from (`cli`, `notification`). An unknown id is [`StoreError::NoSuchAlert`].
    pub fn mark_alert(
        &mut self,
        alert_id: i64,
        label: bool,
        via: &str,
        now: DateTime<Utc>,
    ) -> Result<MarkedAlert> {
        let tx = self.conn.transaction()?;
        let (article_id, topic, title): (i64, String, String) = tx
            .query_row(
                "SELECT al.article_id, al.topic, ar.title
                 FROM alerts al JOIN articles ar ON ar.id = al.article_id WHERE al.id = ?1",
                [alert_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?
            .ok_or(StoreError::NoSuchAlert(alert_id))?;
        let previous = upsert_mark(&tx, article_id, &topic, label, via, now)?;
        tx.commit()?;
        Ok(MarkedAlert {
            alert_id,
            article_id,
            topic,
            title,
            label,
            previous,
        })
    }

    /// Marks article `article_id` right (`label` true) or wrong for `topic`, whether or not it
    /// alerted (e.g. from `tidings match --history`); replaces an earlier mark of the same
    /// article and topic. Returns the label it replaced. An unknown id is
    /// [`StoreError::NoSuchArticle`].
    pub fn mark_article(
        &mut self,
        article_id: i64,
        topic: &str,
        label: bool,
        via: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<bool>> {
        let tx = self.conn.transaction()?;
        let previous = upsert_mark(&tx, article_id, topic, label, via, now)?;
        tx.commit()?;
        Ok(previous)
    }

    /// Every mark, oldest first (by id): the training examples of all topics.
    pub fn marks(&self) -> Result<Vec<Mark>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT topic, label, title, summary, marked_at FROM marks ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Mark {
                topic: r.get(0)?,
                label: r.get(1)?,
                title: r.get(2)?,
                summary: r.get(3)?,
                marked_at: parse_ts(r.get(4)?).unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Alerts per local day and topic since `since`: (day, topic, count), oldest first.
    pub fn alerts_per_day(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(chrono::NaiveDate, String, u64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT date(created_at, 'localtime') AS day, topic, COUNT(*) FROM alerts
             WHERE created_at >= ?1 GROUP BY day, topic ORDER BY day, topic",
        )?;
        let rows = stmt.query_map([ts(since)], |r| {
            let day: String = r.get(0)?;
            Ok((day, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (day, topic, n) = row?;
            if let Ok(d) = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d") {
                out.push((d, topic, n.max(0) as u64));
            }
        }
        Ok(out)
    }

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
        let before = |d: Duration| {
            ts(now - chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX / 2))
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

impl Store {
    /// Stored articles first seen at or after `since` (all when `None`), oldest first, as
    /// articles (content is not stored: only title, summary, authors, categories, link).
    pub fn articles_since(&self, since: Option<DateTime<Utc>>) -> Result<Vec<Article>> {
        Ok(self
            .articles_since_with_ids(since)?
            .into_iter()
            .map(|(_, a)| a)
            .collect())
    }

    /// [`Store::articles_since`], each with its row id (what `tidings mark --article` takes).
    pub fn articles_since_with_ids(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<(i64, Article)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT ar.id, ar.key, ar.guid, ar.link, ar.title, ar.summary, ar.authors, ar.categories,
                    ar.published_at, COALESCE(f.name, f.title, f.url)
             FROM articles ar JOIN feeds f ON f.id = ar.feed_id
             WHERE ?1 IS NULL OR ar.first_seen_at >= ?1
             ORDER BY ar.id",
        )?;
        let rows = stmt.query_map([since.map(ts)], |r| {
            let authors: String = r.get(6)?;
            let categories: String = r.get(7)?;
            let article = Article {
                key: crate::model::ArticleKey(r.get(1)?),
                guid: r.get(2)?,
                link: r.get(3)?,
                title: r.get(4)?,
                summary: r.get(5)?,
                content: String::new(),
                authors: serde_json::from_str(&authors).unwrap_or_default(),
                categories: serde_json::from_str(&categories).unwrap_or_default(),
                published: parse_ts(r.get(8)?),
                updated: None,
                source: r.get(9)?,
            };
            Ok((r.get(0)?, article))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Inserts or replaces the mark of (`topic`, `article_id`), copying the article's title and
/// summary and linking the topic's alert of the article if there is one. Returns the label it
/// replaced.
fn upsert_mark(
    tx: &rusqlite::Transaction<'_>,
    article_id: i64,
    topic: &str,
    label: bool,
    via: &str,
    now: DateTime<Utc>,
) -> Result<Option<bool>> {
    let previous: Option<bool> = tx
        .prepare_cached("SELECT label FROM marks WHERE topic = ?1 AND article_id = ?2")?
        .query_row(params![topic, article_id], |r| r.get(0))
        .optional()?;
    let n = tx
        .prepare_cached(
            "INSERT INTO marks (topic, label, title, summary, article_id, alert_id, via, marked_at)
             SELECT ?1, ?2, ar.title, ar.summary, ar.id,
                    (SELECT al.id FROM alerts al WHERE al.article_id = ar.id AND al.topic = ?1),
                    ?3, ?4
             FROM articles ar WHERE ar.id = ?5
             ON CONFLICT(topic, article_id) DO UPDATE SET
                label = excluded.label, title = excluded.title, summary = excluded.summary,
                alert_id = COALESCE(excluded.alert_id, alert_id), via = excluded.via,
                marked_at = excluded.marked_at",
        )?
        .execute(params![topic, label, via, ts(now), article_id])?;
    if n == 0 {
        return Err(StoreError::NoSuchArticle(article_id));
    }
    Ok(previous)
}

/// What is stored in `alerts.explanation`: the hits, the snippet and, for a topic that learns,
/// the model's verdict, as JSON. Rows written before models existed have no `learned`.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Explanation {
    hits: Vec<crate::model::Hit>,
    snippet: crate::model::Snippet,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    learned: Option<crate::model::Learned>,
}

/// One poll of one feed, committed as a whole or not at all.
pub struct PollTx<'s> {
    tx: rusqlite::Transaction<'s>,
    feed: FeedId,
}

impl PollTx<'_> {
    /// Inserts the articles this feed has never had; returns only those, in feed order.
    /// An article seen before (same feed, same key) is left as it is.
    pub fn insert_new(
        &mut self,
        articles: Vec<Article>,
        now: DateTime<Utc>,
    ) -> Result<Vec<NewArticle>> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO articles (feed_id, key, guid, link, title, summary, authors, categories, published_at,
                                   first_seen_at, story_link)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT(feed_id, key) DO NOTHING",
        )?;
        let mut known = self
            .tx
            .prepare_cached("SELECT 1 FROM articles WHERE feed_id = ?1 AND key = ?2")?;
        let now = ts(now);
        let mut new = Vec::new();
        for article in articles {
            // Already known: skip the serialising below (the common case on a re-download).
            if known.exists(params![self.feed.0, article.key.0])? {
                continue;
            }
            let inserted = stmt.execute(params![
                self.feed.0,
                article.key.0,
                article.guid,
                article.link,
                article.title,
                article.summary,
                serde_json::to_string(&article.authors).unwrap_or_else(|_| "[]".into()),
                serde_json::to_string(&article.categories).unwrap_or_else(|_| "[]".into()),
                article.published.map(ts),
                now,
                article
                    .link
                    .as_deref()
                    .and_then(|l| url::Url::parse(l).ok())
                    .map(|u| crate::parse::normalize_link(&u)),
            ])?;
            if inserted == 1 {
                new.push(NewArticle {
                    id: self.tx.last_insert_rowid(),
                    article,
                });
            }
        }
        Ok(new)
    }

    /// Records alerts for articles inserted in this transaction — one alert per story and
    /// topic: when an alert of the same topic in the last 48 h is about the same story (see
    /// [`crate::story`]), the article is added to that alert's sources instead. Returns how
    /// many alerts were created.
    pub fn record_alerts(&mut self, alerts: &[NewAlert<'_>], now: DateTime<Utc>) -> Result<usize> {
        let since = ts(now - chrono::Duration::from_std(crate::story::WINDOW).unwrap_or_default());
        let now = ts(now);
        let mut created = 0;
        for a in alerts {
            let (title, link): (String, Option<String>) = self
                .tx
                .prepare_cached("SELECT title, story_link FROM articles WHERE id = ?1")?
                .query_row([a.article_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let same =
                self.same_story_alert(a.topic, &since, a.article_id, &title, link.as_deref())?;
            if let Some(alert) = same {
                self.tx.prepare_cached("INSERT OR IGNORE INTO alert_sources (alert_id, article_id) VALUES (?1, ?2)")?
                    .execute(params![alert, a.article_id])?;
                continue;
            }
            let terms = serde_json::to_string(&a.matched.terms()).unwrap_or_else(|_| "[]".into());
            let explanation = serde_json::to_string(&Explanation {
                hits: a.matched.hits.clone(),
                snippet: a.matched.snippet.clone(),
                learned: a.matched.learned.clone(),
            })
            .unwrap_or_else(|_| "{}".into());
            created += self.tx.prepare_cached(
                "INSERT INTO alerts (article_id, topic, terms, snippet, explanation, created_at, notify)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(article_id, topic) DO NOTHING",
            )?.execute(params![
                a.article_id,
                a.topic,
                terms,
                a.matched.snippet.to_plain_marked(),
                explanation,
                now,
                a.notify,
            ])?;
        }
        Ok(created)
    }

    /// The alert of `topic` since `since` about the same story, if any: first by normalised link
    /// (indexed), then by title similarity against the topic's recent alerts.
    fn same_story_alert(
        &self,
        topic: &str,
        since: &str,
        article: i64,
        title: &str,
        link: Option<&str>,
    ) -> Result<Option<i64>> {
        if let Some(link) = link {
            let by_link = self
                .tx
                .prepare_cached(
                    "SELECT al.id FROM articles ar JOIN alerts al ON al.article_id = ar.id
                     WHERE ar.story_link = ?1 AND al.topic = ?2 AND al.created_at >= ?3 AND ar.id != ?4
                     ORDER BY al.id DESC LIMIT 1",
                )?
                .query_row(params![link, topic, since, article], |r| r.get(0))
                .optional()?;
            if by_link.is_some() {
                return Ok(by_link);
            }
        }
        let words = crate::story::title_words(title);
        if words.len() < crate::story::MIN_TITLE_WORDS {
            return Ok(None);
        }
        let mut earlier = self.tx.prepare_cached(
            "SELECT al.id, ar.title FROM alerts al JOIN articles ar ON ar.id = al.article_id
             WHERE al.topic = ?1 AND al.created_at >= ?2 AND al.article_id != ?3
             ORDER BY al.id DESC",
        )?;
        let mut rows = earlier.query(params![topic, since, article])?;
        while let Some(r) = rows.next()? {
            let other: String = r.get(1)?;
            if crate::story::similar_titles(&words, &crate::story::title_words(&other)) {
                return Ok(Some(r.get(0)?));
            }
        }
        Ok(None)
    }

    /// Records how the poll ended and commits everything.
    pub fn finish(self, record: &PollRecord, now: DateTime<Utc>) -> Result<()> {
        let now_s = ts(now);
        let ok = record.error.is_none();
        self.tx.prepare_cached(
            "UPDATE feeds SET
                last_polled_at = ?2,
                last_status = ?3,
                last_error = ?4,
                consecutive_failures = CASE WHEN ?5 THEN 0 ELSE consecutive_failures + 1 END,
                first_polled_at = CASE WHEN ?5 THEN COALESCE(first_polled_at, ?2) ELSE first_polled_at END,
                etag = CASE WHEN ?6 THEN ?7 ELSE etag END,
                last_modified = CASE WHEN ?6 THEN ?8 ELSE last_modified END,
                title = COALESCE(?9, title),
                last_new_articles = ?10,
                next_poll_at = ?11,
                redirect_to = ?12,
                redirect_seen = ?13,
                fetch_url = COALESCE(?14, fetch_url),
                body_hash = COALESCE(?15, body_hash)
             WHERE id = ?1",
        )?
        .execute(params![
                self.feed.0,
                now_s,
                record.status,
                record.error,
                ok,
                record.validators.is_some(),
                record.validators.as_ref().and_then(|v| v.0.clone()),
                record.validators.as_ref().and_then(|v| v.1.clone()),
                record.title,
                record.new_articles,
                record.next_poll_at.map(ts),
                record.redirect_to,
                record.redirect_seen,
                record.adopt_url,
                record.body_hash,
            ])?;
        self.tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ArticleKey;

    fn article(key: &str, title: &str) -> Article {
        Article {
            key: ArticleKey(key.into()),
            title: title.into(),
            ..Default::default()
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn insert_new_returns_only_unseen_articles_and_state_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/tidings.db");
        let mut store = Store::open(&path).unwrap();
        let feed = store
            .sync_feed("https://a.example/rss", Some("A"), now())
            .unwrap();
        assert_eq!(feed.first_polled_at, None);

        let mut tx = store.begin_poll(feed.id).unwrap();
        let new = tx
            .insert_new(vec![article("k1", "one"), article("k2", "two")], now())
            .unwrap();
        assert_eq!(new.len(), 2);
        let record = PollRecord {
            status: Some(200),
            validators: Some((Some("\"v1\"".into()), None)),
            new_articles: 2,
            ..Default::default()
        };
        tx.finish(&record, now()).unwrap();
        drop(store);

        let mut store = Store::open(&path).unwrap();
        let mut tx = store.begin_poll(feed.id).unwrap();
        let new = tx
            .insert_new(
                vec![article("k2", "two, edited"), article("k3", "three")],
                now(),
            )
            .unwrap();
        assert_eq!(
            new.iter()
                .map(|n| n.article.title.as_str())
                .collect::<Vec<_>>(),
            ["three"]
        );
        tx.finish(
            &PollRecord {
                status: Some(304),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
        let state = store.feed_by_url("https://a.example/rss").unwrap().unwrap();
        assert_eq!(
            state.etag.as_deref(),
            Some("\"v1\""),
            "a 304 keeps the validators"
        );
        assert_eq!(state.first_polled_at, Some(now()));
    }

    #[test]
    fn failures_count_up_and_reset() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let feed = store
            .sync_feed("https://a.example/rss", None, now())
            .unwrap();
        for _ in 0..2 {
            let tx = store.begin_poll(feed.id).unwrap();
            let rec = PollRecord {
                status: Some(500),
                error: Some("HTTP 500".into()),
                ..Default::default()
            };
            tx.finish(&rec, now()).unwrap();
        }
        let s = store.feed_by_url(&feed.url).unwrap().unwrap();
        assert_eq!(
            (s.consecutive_failures, s.last_error.as_deref()),
            (2, Some("HTTP 500"))
        );
        assert_eq!(
            s.first_polled_at, None,
            "a failed poll is not the first poll"
        );
        let tx = store.begin_poll(feed.id).unwrap();
        tx.finish(
            &PollRecord {
                status: Some(200),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
        let s = store.feed_by_url(&feed.url).unwrap().unwrap();
        assert_eq!((s.consecutive_failures, s.last_error), (0, None));
    }

    #[test]
    fn newer_schema_and_garbage_files_are_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let newer = dir.path().join("newer.db");
        {
            let c = Connection::open(&newer).unwrap();
            c.pragma_update(None, "user_version", 99).unwrap();
        }
        let err = Store::open(&newer).err().unwrap().to_string();
        assert!(
            err.contains("schema version 99") && err.contains("newer.db"),
            "{err}"
        );

        let garbage = dir.path().join("garbage.db");
        std::fs::write(
            &garbage,
            b"this is not a database, just some bytes long enough to look like a header......",
        )
        .unwrap();
        let before = std::fs::read(&garbage).unwrap();
        let err = Store::open(&garbage).err().unwrap().to_string();
        assert!(err.contains("garbage.db"), "{err}");
        assert_eq!(
            std::fs::read(&garbage).unwrap(),
            before,
            "never overwritten"
        );

        let err = format!(
            "{:#}",
            anyhow::Error::from(Store::open(dir.path()).err().unwrap())
        );
        assert!(err.contains("is a directory"), "{err}");
    }

    fn matched(snippet: &str) -> Match {
        Match {
            learned: None,
            topic: crate::model::TopicId(0),
            hits: vec![],
            snippet: crate::model::Snippet {
                field: None,
                text: snippet.into(),
                marks: vec![],
            },
        }
    }

    /// Stores one poll of `feed` with the given (key, title, link) articles, all matching
    /// `topic`; returns how many alerts were created.
    fn poll_with(
        store: &mut Store,
        feed: &str,
        items: &[(&str, &str, &str)],
        topic: &str,
        at: DateTime<Utc>,
    ) -> usize {
        let state = store.sync_feed(feed, None, at).unwrap();
        let mut tx = store.begin_poll(state.id).unwrap();
        let articles = items
            .iter()
            .map(|(k, t, l)| Article {
                link: Some(l.to_string()),
                ..article(k, t)
            })
            .collect();
        let new = tx.insert_new(articles, at).unwrap();
        let m = matched("s");
        let alerts: Vec<NewAlert<'_>> = new
            .iter()
            .map(|n| NewAlert {
                article_id: n.id,
                topic,
                matched: &m,
                notify: true,
            })
            .collect();
        let created = tx.record_alerts(&alerts, at).unwrap();
        tx.finish(&PollRecord::default(), at).unwrap();
        created
    }

    #[test]
    fn one_alert_per_story_and_topic_across_feeds() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let story = (
            "a1",
            "Finland applies to join NATO",
            "https://news.example/finland-nato",
        );
        assert_eq!(
            poll_with(&mut store, "https://a.example/rss", &[story], "NATO", now()),
            1
        );
        // The same link with tracking parameters, in another feed: absorbed.
        let copy = (
            "b1",
            "Finland applies for NATO membership",
            "https://www.news.example/finland-nato/?utm_source=rss",
        );
        assert_eq!(
            poll_with(&mut store, "https://b.example/rss", &[copy], "NATO", now()),
            0
        );
        // A near-identical title with another link: absorbed too.
        let retitled = (
            "c1",
            "Finland formally applies to join NATO",
            "https://c.example/x",
        );
        assert_eq!(
            poll_with(
                &mut store,
                "https://c.example/rss",
                &[retitled],
                "NATO",
                now()
            ),
            0
        );
        // Another topic alerts on its own; a different story alerts.
        assert_eq!(
            poll_with(
                &mut store,
                "https://c.example/rss",
                &[("c2", "Finland applies to join NATO", "https://c.example/y")],
                "Nordics",
                now()
            ),
            1
        );
        assert_eq!(
            poll_with(
                &mut store,
                "https://c.example/rss",
                &[("c3", "Sweden applies to join NATO", "https://c.example/z")],
                "NATO",
                now()
            ),
            1
        );
        // After 48 hours the same story is news again.
        let later = now() + chrono::Duration::hours(49);
        assert_eq!(
            poll_with(
                &mut store,
                "https://d.example/rss",
                &[("d1", "Finland applies to join NATO", "https://d.example/q")],
                "NATO",
                later
            ),
            1
        );

        let all = store
            .history(&HistoryFilter {
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        let first = all
            .iter()
            .find(|r| {
                r.title == "Finland applies to join NATO"
                    && r.topic == "NATO"
                    && r.source == "https://a.example/rss"
            })
            .unwrap();
        assert_eq!(
            first.also_reported_by,
            ["https://b.example/rss", "https://c.example/rss"]
        );
    }

    #[test]
    fn history_filters() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let day = |d: i64| now() + chrono::Duration::days(d);
        poll_with(
            &mut store,
            "https://kyiv.example/rss",
            &[("1", "Talks resume in Istanbul today", "https://k.example/1")],
            "Talks",
            day(0),
        );
        poll_with(
            &mut store,
            "https://wire.example/rss",
            &[("2", "Finland applies to join NATO", "https://w.example/2")],
            "NATO",
            day(1),
        );
        poll_with(
            &mut store,
            "https://wire.example/rss",
            &[(
                "3",
                "Talks stall over Crimea question",
                "https://w.example/3",
            )],
            "Talks",
            day(2),
        );
        let titles = |f: HistoryFilter| -> Vec<String> {
            let limit = if f.limit == 0 { 10 } else { f.limit };
            store
                .history(&HistoryFilter { limit, ..f })
                .unwrap()
                .into_iter()
                .map(|r| r.title)
                .collect()
        };
        assert_eq!(titles(HistoryFilter::default()).len(), 3);
        assert_eq!(
            titles(HistoryFilter {
                topic: Some("Talks".into()),
                ..Default::default()
            }),
            [
                "Talks stall over Crimea question",
                "Talks resume in Istanbul today"
            ]
        );
        assert_eq!(
            titles(HistoryFilter {
                feed: Some("KYIV".into()),
                ..Default::default()
            }),
            ["Talks resume in Istanbul today"]
        );
        assert_eq!(
            titles(HistoryFilter {
                since: Some(day(1)),
                until: Some(day(2)),
                ..Default::default()
            }),
            ["Finland applies to join NATO"]
        );
        assert_eq!(
            titles(HistoryFilter {
                search: vec!["talks".into(), "crimea".into()],
                ..Default::default()
            }),
            ["Talks stall over Crimea question"]
        );
        assert_eq!(
            titles(HistoryFilter {
                limit: 1,
                ..Default::default()
            }),
            ["Talks stall over Crimea question"]
        );
        let per_day = store.alerts_per_day(day(-1)).unwrap();
        assert_eq!(per_day.iter().map(|r| r.2).sum::<u64>(), 3);
    }

    /// The model's verdict is kept in `alerts.explanation` and read back by `pending_alerts` and
    /// `history`; an explanation written before models existed (no `learned`) still reads.
    #[test]
    fn explanations_keep_the_models_score() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let state = store
            .sync_feed("https://a.example/rss", None, now())
            .unwrap();
        let mut tx = store.begin_poll(state.id).unwrap();
        let new = tx
            .insert_new(vec![article("1", "Talks"), article("2", "Old")], now())
            .unwrap();
        let learned = crate::model::Learned {
            score: 0.93,
            threshold: 0.5,
            reasons: vec![("t:talks".into(), 0.81), ("q:@side".into(), 0.62)],
        };
        let with = Match {
            learned: Some(learned.clone()),
            ..matched("s")
        };
        let without = matched("s");
        let alerts = [
            NewAlert {
                article_id: new[0].id,
                topic: "Talks",
                matched: &with,
                notify: true,
            },
            NewAlert {
                article_id: new[1].id,
                topic: "Plain",
                matched: &without,
                notify: true,
            },
        ];
        assert_eq!(tx.record_alerts(&alerts, now()).unwrap(), 2);
        tx.finish(&PollRecord::default(), now()).unwrap();
        // An old row: the explanation as it was written before `learned` existed.
        store
            .conn
            .execute(
                r#"UPDATE alerts SET explanation = '{"hits":[],"snippet":{"field":null,"text":"s","marks":[]}}'
                   WHERE topic = 'Plain'"#,
                [],
            )
            .unwrap();

        let pending = store.pending_alerts(10).unwrap();
        let by_topic = |t: &str| pending.iter().find(|a| a.topic == t).unwrap();
        assert_eq!(by_topic("Talks").learned.as_ref(), Some(&learned));
        assert_eq!(by_topic("Plain").learned, None);
        assert_eq!(by_topic("Plain").snippet.text, "s", "old rows still read");

        let rows = store
            .history(&HistoryFilter {
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        let row = |t: &str| rows.iter().find(|r| r.topic == t).unwrap();
        let talks = row("Talks");
        assert_eq!(
            (talks.score, talks.threshold, talks.reasons.as_ref()),
            (Some(0.93), Some(0.5), Some(&learned.reasons))
        );
        let plain = row("Plain");
        assert_eq!(
            (plain.score, plain.threshold, &plain.reasons),
            (None, None, &None)
        );
        let json = serde_json::to_value(plain).unwrap();
        assert!(
            json["score"].is_null() && json["reasons"].is_null(),
            "{json}"
        );
        let json = serde_json::to_value(talks).unwrap();
        assert_eq!(
            json["reasons"][0],
            serde_json::json!(["t:talks", 0.81]),
            "{json}"
        );
    }

    #[test]
    fn retention_forgets_old_articles_without_alerts_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        poll_with(
            &mut store,
            "https://a.example/rss",
            &[(
                "alerted",
                "Finland applies to join NATO",
                "https://a.example/1",
            )],
            "NATO",
            now(),
        );
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
    fn marking_again_replaces_the_mark_and_marks_outlive_retention() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        poll_with(
            &mut store,
            "https://a.example/rss",
            &[("a1", "Finland applies to join NATO", "https://a.example/1")],
            "NATO",
            now(),
        );
        let feed = store
            .sync_feed("https://a.example/rss", None, now())
            .unwrap();
        let mut tx = store.begin_poll(feed.id).unwrap();
        let quiet = tx
            .insert_new(
                vec![Article {
                    summary: "Rain all week.".into(),
                    ..article("quiet", "Weather in Brussels")
                }],
                now(),
            )
            .unwrap()[0]
            .id;
        tx.finish(&PollRecord::default(), now()).unwrap();
        let alert = store
            .history(&HistoryFilter {
                limit: 10,
                ..Default::default()
            })
            .unwrap()[0]
            .id;

        let first = store.mark_alert(alert, false, "cli", now()).unwrap();
        assert_eq!(
            (first.topic.as_str(), first.label, first.previous),
            ("NATO", false, None)
        );
        let later = now() + chrono::Duration::minutes(5);
        let again = store
            .mark_alert(alert, true, "notification", later)
            .unwrap();
        assert_eq!(again.previous, Some(false), "the earlier mark is replaced");
        assert_eq!(
            store
                .mark_article(quiet, "NATO", true, "match", now())
                .unwrap(),
            None
        );
        let marks = store.marks().unwrap();
        assert_eq!(
            marks,
            [
                Mark {
                    topic: "NATO".into(),
                    label: true,
                    title: "Finland applies to join NATO".into(),
                    summary: String::new(),
                    marked_at: later,
                },
                Mark {
                    topic: "NATO".into(),
                    label: true,
                    title: "Weather in Brussels".into(),
                    summary: "Rain all week.".into(),
                    marked_at: now(),
                },
            ],
            "one mark per (topic, article), the latest, in id order"
        );
        let via: String = store
            .conn
            .query_row("SELECT via FROM marks WHERE alert_id = ?1", [alert], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(via, "notification");
        let history = store
            .history(&HistoryFilter {
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(history[0].mark.as_deref(), Some("right"));

        // Unknown ids are errors naming them.
        let err = store.mark_alert(999_999, false, "cli", now()).unwrap_err();
        assert!(matches!(err, StoreError::NoSuchAlert(999_999)), "{err}");
        assert!(err.to_string().contains("999999"), "{err}");
        let err = store
            .mark_article(999_999, "NATO", false, "cli", now())
            .unwrap_err();
        assert!(matches!(err, StoreError::NoSuchArticle(999_999)), "{err}");

        // Retention forgets the alert and both articles (foreign keys on): the marks stay.
        let day = Duration::from_secs(86_400);
        let gone = now() + chrono::Duration::days(100);
        assert_eq!(
            store.prune(gone, 90 * day, Some(30 * day), 1000).unwrap(),
            (2, 1)
        );
        assert!(store.articles_since(None).unwrap().is_empty());
        assert_eq!(store.marks().unwrap(), marks, "marks outlive retention");
        let links: Vec<(Option<i64>, Option<i64>)> = store
            .conn
            .prepare("SELECT article_id, alert_id FROM marks ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(links, [(None, None), (None, None)]);
    }

    #[test]
    fn version_1_databases_migrate_and_keep_their_alerts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(MIGRATIONS[0]).unwrap();
            c.pragma_update(None, "user_version", 1).unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        let version: i64 = store
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        poll_with(
            &mut store,
            "https://a.example/rss",
            &[("a1", "Finland applies to join NATO", "https://a.example/1")],
            "NATO",
            now(),
        );
        let rows = store
            .history(&HistoryFilter {
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].mark, None);
    }

    #[test]
    fn files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/tidings.db");
        let _store = Store::open(&path).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
    }
}
