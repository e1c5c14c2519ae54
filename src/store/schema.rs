//! The SQL schema: one migration per version, counted by `PRAGMA user_version`; the
//! `alert_history` view.

use rusqlite::Connection;

use super::Result;

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
    // 3: feeds muted until a time (`tidings review`): their alerts are recorded, not notified,
    // like a muted topic's.
    r#"
    CREATE TABLE feed_mutes (
        feed_id INTEGER PRIMARY KEY REFERENCES feeds(id) ON DELETE CASCADE,
        until   TEXT NOT NULL
    );
    "#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Applies the migrations the database has not had yet, in one transaction.
pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    // Another process may be migrating the same new database right now: take the write
    // lock first, then look again at what is left to do.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::one_nato_alert;
    use crate::store::{HistoryFilter, Store};

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
        one_nato_alert(&mut store, "a1");
        let rows = store
            .history(&HistoryFilter {
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].mark, None);
    }
}
