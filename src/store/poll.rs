//! The poll transaction ([`PollTx`]): one poll of one feed — its new articles, their alerts
//! (one per story and topic) and the feed's new state — committed as a whole or not at all.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::explanation::Explanation;
use super::{Result, Store, ts};
use crate::model::{Article, FeedId, Match};
use crate::story::{Story, StoryKey};

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

impl Store {
    /// Starts the transaction that records one poll of one feed.
    pub fn begin_poll(&mut self, feed: FeedId) -> Result<PollTx<'_>> {
        let tx = self.conn.transaction()?;
        Ok(PollTx { tx, feed })
    }
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
                article.link.as_deref().and_then(crate::story::story_link),
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
        let since = ts(crate::checked_time::earlier(now, crate::story::WINDOW));
        let now = ts(now);
        let mut created = 0;
        for a in alerts {
            let (title, link): (String, Option<String>) = self
                .tx
                .prepare_cached("SELECT title, story_link FROM articles WHERE id = ?1")?
                .query_row([a.article_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let story = Story::new(StoryKey {
                title: &title,
                link: link.as_deref(),
            });
            let same = self.same_story_alert(a.topic, &since, a.article_id, &story)?;
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

    /// The alert of `topic` since `since` about the same story, if any; [`Story::first_same`]
    /// decides, over candidates read in the order it asks for: the alerts whose article has the
    /// same normalised link (through the `articles_story_link` index), then the topic's recent
    /// alerts, newest first, at most [`crate::story::TITLE_CANDIDATES`] — the latter only when
    /// the title can match at all.
    fn same_story_alert(
        &self,
        topic: &str,
        since: &str,
        article: i64,
        story: &Story<'_>,
    ) -> Result<Option<i64>> {
        let row = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?, r.get(2)?));
        if let Some(link) = story.link() {
            let mut by_link = self.tx.prepare_cached(
                // CROSS JOIN keeps articles outermost: the planner, without statistics,
                // otherwise walks every alert of the topic in the window for each new one.
                "SELECT al.id, ar.title, ar.story_link FROM articles ar CROSS JOIN alerts al ON al.article_id = ar.id
                 WHERE ar.story_link = ?1 AND al.topic = ?2 AND al.created_at >= ?3 AND ar.id != ?4
                 ORDER BY al.id DESC LIMIT 1",
            )?;
            let rows = by_link.query_map(params![link, topic, since, article], row)?;
            if let Some(alert) = story.first_same(rows)? {
                return Ok(Some(alert));
            }
        }
        if !story.compares_titles() {
            return Ok(None);
        }
        // Newest first along `alerts_topic_created` (created_at, then id, follows insertion):
        // the index gives the order, so the LIMIT stops the walk instead of sorting them all.
        let mut recent = self.tx.prepare_cached(
            "SELECT al.id, ar.title, ar.story_link FROM alerts al JOIN articles ar ON ar.id = al.article_id
             WHERE al.topic = ?1 AND al.created_at >= ?2 AND al.article_id != ?3
             ORDER BY al.created_at DESC, al.id DESC LIMIT ?4",
        )?;
        let rows = recent.query_map(
            params![topic, since, article, crate::story::TITLE_CANDIDATES as i64],
            row,
        )?;
        Ok(story.first_same(rows)?)
    }

    /// Defers every feed of `host` until `until` (it asked for a pause), with this poll.
    pub fn defer_host(&mut self, host: &str, until: DateTime<Utc>, reason: &str) -> Result<()> {
        super::feeds::defer_host(&self.tx, host, until, reason)
    }

    /// Stops polling this feed until it is re-enabled (`config`: its watch-list entry now),
    /// with this poll.
    pub fn disable(&mut self, reason: &str, config: &str) -> Result<()> {
        super::feeds::disable_feed(&self.tx, self.feed, reason, config)
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
    use crate::store::HistoryFilter;
    use crate::store::test_support::{article, now, poll_with};

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
    fn host_deferral_and_disabling_commit_with_the_poll_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let feed = store
            .sync_feed("https://a.example/rss", None, now())
            .unwrap();
        let until = now() + chrono::Duration::hours(1);
        let gone = PollRecord {
            status: Some(410),
            error: Some("HTTP 410 Gone".into()),
            ..Default::default()
        };
        {
            // Not finished (a crash, a locked database): nothing of it is kept.
            let mut tx = store.begin_poll(feed.id).unwrap();
            tx.defer_host("a.example", until, "HTTP 429 with Retry-After")
                .unwrap();
            tx.disable("410 Gone", "entry").unwrap();
        }
        assert!(store.host_deferrals(now()).unwrap().is_empty());
        let s = store.feed_by_url(&feed.url).unwrap().unwrap();
        assert_eq!(s.disabled_reason, None);

        let mut tx = store.begin_poll(feed.id).unwrap();
        tx.defer_host("a.example", until, "HTTP 429 with Retry-After")
            .unwrap();
        tx.disable("410 Gone", "entry").unwrap();
        tx.finish(&gone, now()).unwrap();
        let deferrals = store.host_deferrals(now()).unwrap();
        assert_eq!(
            deferrals
                .iter()
                .map(|d| (d.host.as_str(), d.until))
                .collect::<Vec<_>>(),
            [("a.example", until)]
        );
        let s = store.feed_by_url(&feed.url).unwrap().unwrap();
        assert_eq!(
            (s.disabled_reason.as_deref(), s.disabled_config.as_deref()),
            (Some("410 Gone"), Some("entry"))
        );
        assert_eq!(s.last_status, Some(410));
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

    /// An article whose link is an older alert's and whose title is a newer alert's joins the
    /// one with the same link.
    #[test]
    fn the_same_link_wins_over_a_newer_similar_title() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let live = ("a1", "Live: NATO news", "https://news.example/live");
        assert_eq!(
            poll_with(&mut store, "https://a.example/rss", &[live], "NATO", now()),
            1
        );
        let titled = (
            "b1",
            "Finland applies to join NATO",
            "https://b.example/finland",
        );
        assert_eq!(
            poll_with(
                &mut store,
                "https://b.example/rss",
                &[titled],
                "NATO",
                now()
            ),
            1,
            "a short title is compared by link only"
        );
        let both = (
            "c1",
            "Finland formally applies to join NATO",
            "https://news.example/live?utm_source=rss",
        );
        assert_eq!(
            poll_with(&mut store, "https://c.example/rss", &[both], "NATO", now()),
            0
        );
        let rows = store
            .history(&HistoryFilter {
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        let also = |title: &str| {
            rows.iter()
                .find(|r| r.title == title)
                .unwrap()
                .also_reported_by
                .clone()
        };
        assert_eq!(also("Live: NATO news"), ["https://c.example/rss"]);
        assert!(also("Finland applies to join NATO").is_empty());
    }
}
