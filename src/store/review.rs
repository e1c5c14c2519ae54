//! What `tidings review` reads: alerts page by page (keyset pagination on `(created_at, id)`,
//! along the `alerts_created` and `alerts_topic_created` indexes), one alert's detail, recent
//! articles for the review queue, the marks per topic, and `PRAGMA data_version` (has another
//! connection committed since we last looked?).

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;

use super::explanation::Explanation;
use super::{Result, Store, parse_ts, ts};
use crate::model::{Article, FeedId, Hit, Learned, Snippet};

/// Which alerts the review's list shows. Every part is optional; all given parts must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertFilter {
    /// Exactly this topic.
    pub topic: Option<String>,
    /// The feed's name, title or URL contains this (case-insensitive for ASCII).
    pub feed: Option<String>,
    /// Created at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// The headline contains this (case-insensitive for ASCII).
    pub text: Option<String>,
}

/// One alert as a line of the review's list.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    /// `created_at` as stored: the page's cursor.
    pub created_key: String,
    pub topic: String,
    pub source: String,
    pub title: String,
    /// The user's mark: `Some(true)` right, `Some(false)` wrong.
    pub mark: Option<bool>,
    /// How it was delivered (`desktop`, `summary`, `muted`, ...), `None` while pending.
    pub delivered_via: Option<String>,
    pub link: Option<String>,
}

/// Everything the review's detail view shows about one alert.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertDetail {
    pub id: i64,
    pub article_id: i64,
    pub feed_id: FeedId,
    pub created_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    pub topic: String,
    pub source: String,
    pub feed_url: String,
    pub title: String,
    pub link: Option<String>,
    pub summary: String,
    pub terms: Vec<String>,
    pub hits: Vec<Hit>,
    pub snippet: Snippet,
    pub learned: Option<Learned>,
    pub also_reported_by: Vec<String>,
    pub mark: Option<bool>,
}

/// A stored article first seen lately, with the topics it alerted for and its marks.
#[derive(Debug, Clone, PartialEq)]
pub struct RecentArticle {
    pub id: i64,
    pub article: Article,
    /// `(topic, alert id)` for every alert of the article.
    pub alerts: Vec<(String, i64)>,
    /// `(topic, label)` for every mark of the article.
    pub marks: Vec<(String, bool)>,
}

/// How many marks a topic has: (right, wrong).
pub type MarkCounts = (String, u32, u32);

const ROW_COLUMNS: &str =
    "al.id, al.created_at, al.topic, COALESCE(f.name, f.title, f.url), ar.title,
    (SELECT m.label FROM marks m WHERE m.topic = al.topic AND m.article_id = al.article_id),
    al.delivered_via, ar.link
    FROM alerts al JOIN articles ar ON ar.id = al.article_id JOIN feeds f ON f.id = ar.feed_id";

fn alert_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AlertRow> {
    let key: String = r.get(1)?;
    Ok(AlertRow {
        id: r.get(0)?,
        created_at: parse_ts(Some(key.clone())).unwrap_or_default(),
        created_key: key,
        topic: r.get(2)?,
        source: r.get(3)?,
        title: r.get(4)?,
        mark: r.get(5)?,
        delivered_via: r.get(6)?,
        link: r.get(7)?,
    })
}

/// Where a page starts: older than a row, or newer than one.
enum Cursor<'a> {
    Top,
    OlderThan(&'a AlertRow),
    NewerThan(&'a AlertRow),
}

impl Store {
    /// The change counter of the database file as this connection sees it: it moves when
    /// another connection (the daemon, `tidings mark`) commits. Cheap: no table is read.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// Up to `limit` alerts matching `filter`, newest first, older than `after` (the last row
    /// of the previous page) or from the newest when `None`.
    pub fn alert_page(
        &self,
        filter: &AlertFilter,
        after: Option<&AlertRow>,
        limit: usize,
    ) -> Result<Vec<AlertRow>> {
        let cursor = after.map_or(Cursor::Top, Cursor::OlderThan);
        self.alert_rows(filter, cursor, limit)
    }

    /// Up to `limit` alerts matching `filter` newer than `than` (the top row shown), newest
    /// first: what was committed since.
    pub fn alerts_newer(
        &self,
        filter: &AlertFilter,
        than: &AlertRow,
        limit: usize,
    ) -> Result<Vec<AlertRow>> {
        let mut rows = self.alert_rows(filter, Cursor::NewerThan(than), limit)?;
        rows.reverse();
        Ok(rows)
    }

    fn alert_rows(
        &self,
        filter: &AlertFilter,
        cursor: Cursor<'_>,
        limit: usize,
    ) -> Result<Vec<AlertRow>> {
        let mut sql = format!("SELECT {ROW_COLUMNS} WHERE 1");
        let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
        let mut arg = |sql: &mut String, clause: &str, values: Vec<Box<dyn rusqlite::ToSql>>| {
            let mut clause = clause.to_string();
            for v in values {
                args.push(v);
                clause = clause.replacen("?_", &format!("?{}", args.len()), 1);
            }
            sql.push_str(&clause);
        };
        // The cursor as a range on `created_at` (what the index seeks) plus the tie-break.
        let order = match cursor {
            Cursor::Top => "DESC",
            Cursor::OlderThan(row) => {
                arg(
                    &mut sql,
                    " AND al.created_at <= ?_ AND (al.created_at < ?_ OR al.id < ?_)",
                    vec![
                        Box::new(row.created_key.clone()),
                        Box::new(row.created_key.clone()),
                        Box::new(row.id),
                    ],
                );
                "DESC"
            }
            Cursor::NewerThan(row) => {
                arg(
                    &mut sql,
                    " AND al.created_at >= ?_ AND (al.created_at > ?_ OR al.id > ?_)",
                    vec![
                        Box::new(row.created_key.clone()),
                        Box::new(row.created_key.clone()),
                        Box::new(row.id),
                    ],
                );
                "ASC"
            }
        };
        if let Some(t) = &filter.topic {
            arg(&mut sql, " AND al.topic = ?_", vec![Box::new(t.clone())]);
        }
        if let Some(f) = &filter.feed {
            arg(
                &mut sql,
                " AND (instr(lower(COALESCE(f.name, f.title, f.url)), lower(?_)) > 0
                       OR instr(lower(f.url), lower(?_)) > 0)",
                vec![Box::new(f.clone()), Box::new(f.clone())],
            );
        }
        if let Some(t) = filter.since {
            arg(&mut sql, " AND al.created_at >= ?_", vec![Box::new(ts(t))]);
        }
        if let Some(t) = &filter.text {
            arg(
                &mut sql,
                " AND instr(lower(ar.title), lower(?_)) > 0",
                vec![Box::new(t.clone())],
            );
        }
        arg(
            &mut sql,
            &format!(" ORDER BY al.created_at {order}, al.id {order} LIMIT ?_"),
            vec![Box::new(limit as i64)],
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let params: Vec<&dyn rusqlite::ToSql> = args.iter().map(|b| b.as_ref()).collect();
        let rows = stmt.query_map(params.as_slice(), alert_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One alert with its article, explanation and the other feeds that reported it; `None`
    /// when it is gone (retention).
    pub fn alert_detail(&self, id: i64) -> Result<Option<AlertDetail>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT h.alert_id, al.article_id, ar.feed_id, h.created_at, h.published_at, h.topic,
                    h.source, h.feed_url, h.title, h.link, ar.summary, h.terms, al.explanation,
                    h.also_reported_by, h.mark
             FROM alert_history h JOIN alerts al ON al.id = h.alert_id
             JOIN articles ar ON ar.id = al.article_id
             WHERE h.alert_id = ?1",
        )?;
        let row = stmt
            .query_row([id], |r| {
                let terms: String = r.get(11)?;
                let explanation: String = r.get(12)?;
                let explanation =
                    serde_json::from_str::<Explanation>(&explanation).unwrap_or_default();
                let also: Option<String> = r.get(13)?;
                let mark: Option<String> = r.get(14)?;
                Ok(AlertDetail {
                    id: r.get(0)?,
                    article_id: r.get(1)?,
                    feed_id: FeedId(r.get(2)?),
                    created_at: parse_ts(r.get(3)?).unwrap_or_default(),
                    published_at: parse_ts(r.get(4)?),
                    topic: r.get(5)?,
                    source: r.get(6)?,
                    feed_url: r.get(7)?,
                    title: r.get(8)?,
                    link: r.get(9)?,
                    summary: r.get(10)?,
                    terms: serde_json::from_str(&terms).unwrap_or_default(),
                    hits: explanation.hits,
                    snippet: explanation.snippet,
                    learned: explanation.learned,
                    also_reported_by: also
                        .map(|a| a.split(", ").map(str::to_string).collect())
                        .unwrap_or_default(),
                    mark: mark.map(|m| m == "right"),
                })
            })
            .optional()?;
        Ok(row)
    }

    /// Up to `limit` articles first seen at or after `since`, newest first (by id), older
    /// than article `before` when given: the review queue reads its candidates page by page.
    pub fn recent_articles(
        &self,
        since: DateTime<Utc>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<RecentArticle>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT ar.id, ar.key, ar.guid, ar.link, ar.title, ar.summary, ar.authors, ar.categories,
                    ar.published_at, COALESCE(f.name, f.title, f.url)
             FROM articles ar JOIN feeds f ON f.id = ar.feed_id
             WHERE ar.id < ?2 AND ar.first_seen_at >= ?1
             ORDER BY ar.id DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(
            rusqlite::params![ts(since), before.unwrap_or(i64::MAX), limit as i64],
            |r| {
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
                Ok(RecentArticle {
                    id: r.get(0)?,
                    article,
                    alerts: Vec::new(),
                    marks: Vec::new(),
                })
            },
        )?;
        let mut out: Vec<RecentArticle> = rows.collect::<Result<_, _>>()?;
        let mut alerts = self
            .conn
            .prepare_cached("SELECT topic, id FROM alerts WHERE article_id = ?1")?;
        let mut marks = self
            .conn
            .prepare_cached("SELECT topic, label FROM marks WHERE article_id = ?1")?;
        for a in &mut out {
            a.alerts = alerts
                .query_map([a.id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            a.marks = marks
                .query_map([a.id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
        }
        Ok(out)
    }

    /// How many marks each topic has, (topic, right, wrong), by topic name.
    pub fn mark_counts(&self) -> Result<Vec<MarkCounts>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT topic, SUM(label), COUNT(*) - SUM(label) FROM marks GROUP BY topic ORDER BY topic",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{now, poll_with};

    fn titles(rows: &[AlertRow]) -> Vec<&str> {
        rows.iter().map(|r| r.title.as_str()).collect()
    }

    /// Pages follow each other without a gap or a repeat, also among alerts created in the
    /// same second (the id breaks the tie); filters hold on every page; newer rows are found
    /// above the top one.
    #[test]
    fn pages_are_keyset_paged_and_filtered() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let items: Vec<(String, String, String)> = (0..7)
            .map(|i| {
                (
                    format!("k{i}"),
                    format!("Story {i}"),
                    format!("https://a.example/{i}"),
                )
            })
            .collect();
        let refs: Vec<(&str, &str, &str)> = items
            .iter()
            .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
            .collect();
        // Five in one second, two a day later.
        poll_with(&mut store, "https://a.example/rss", &refs[..5], "A", now());
        poll_with(
            &mut store,
            "https://wire.example/rss",
            &refs[5..],
            "B",
            now() + chrono::Duration::days(1),
        );
        let all = AlertFilter::default();
        let mut seen = Vec::new();
        let mut page = store.alert_page(&all, None, 3).unwrap();
        while !page.is_empty() {
            seen.extend(page.clone());
            page = store.alert_page(&all, page.last(), 3).unwrap();
        }
        assert_eq!(
            titles(&seen),
            [
                "Story 6", "Story 5", "Story 4", "Story 3", "Story 2", "Story 1", "Story 0"
            ]
        );
        let f = AlertFilter {
            topic: Some("A".into()),
            text: Some("STORY".into()),
            ..Default::default()
        };
        let first = store.alert_page(&f, None, 2).unwrap();
        assert_eq!(titles(&first), ["Story 4", "Story 3"]);
        let next = store.alert_page(&f, first.last(), 2).unwrap();
        assert_eq!(titles(&next), ["Story 2", "Story 1"]);
        let feed = AlertFilter {
            feed: Some("WIRE".into()),
            ..Default::default()
        };
        assert_eq!(
            titles(&store.alert_page(&feed, None, 10).unwrap()),
            ["Story 6", "Story 5"]
        );
        let since = AlertFilter {
            since: Some(now() + chrono::Duration::hours(1)),
            ..Default::default()
        };
        assert_eq!(store.alert_page(&since, None, 10).unwrap().len(), 2);
        // Above the third row: the two newer ones, newest first.
        assert_eq!(
            titles(&store.alerts_newer(&all, &seen[2], 10).unwrap()),
            ["Story 6", "Story 5"]
        );
        assert!(store.alerts_newer(&all, &seen[0], 10).unwrap().is_empty());
    }

    #[test]
    fn detail_recent_articles_and_mark_counts() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        poll_with(
            &mut store,
            "https://a.example/rss",
            &[("1", "Finland applies to join NATO", "https://a.example/1")],
            "NATO",
            now(),
        );
        let row = store.alert_page(&AlertFilter::default(), None, 1).unwrap();
        let d = store.alert_detail(row[0].id).unwrap().unwrap();
        assert_eq!(
            (d.title.as_str(), d.link.as_deref(), d.mark),
            (
                "Finland applies to join NATO",
                Some("https://a.example/1"),
                None
            )
        );
        assert_eq!(store.alert_detail(999).unwrap(), None);
        store.mark_alert(d.id, false, "review", now()).unwrap();
        assert_eq!(store.alert_detail(d.id).unwrap().unwrap().mark, Some(false));
        assert_eq!(
            store.alert_page(&AlertFilter::default(), None, 1).unwrap()[0].mark,
            Some(false)
        );
        assert_eq!(store.mark_counts().unwrap(), [("NATO".to_string(), 0, 1)]);
        let recent = store
            .recent_articles(now() - chrono::Duration::days(7), None, 10)
            .unwrap();
        assert_eq!(recent.len(), 1);
        assert_eq!(recent[0].alerts, [("NATO".to_string(), d.id)]);
        assert_eq!(recent[0].marks, [("NATO".to_string(), false)]);
        assert!(
            store
                .recent_articles(now() + chrono::Duration::days(1), None, 10)
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .recent_articles(now() - chrono::Duration::days(7), Some(recent[0].id), 10)
                .unwrap()
                .is_empty()
        );
    }
}
