//! What `tidings review` reads: alerts page by page (keyset pagination on `(created_at, id)`,
//! along the `alerts_created` and `alerts_topic_created` indexes), one alert's detail, recent
//! articles for the review queue, the marks per topic, and `PRAGMA data_version` (has another
//! connection committed since we last looked?).

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;

use super::articles::{ARTICLE_COLUMNS, article_row};
use super::explanation::Explanation;
use super::{Result, Store, parse_ts, ts};
use crate::model::{Article, FeedId, Hit, Learned, Snippet};

/// Which alerts the review's list shows. Every part is optional; all given parts must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertFilter {
    /// Exactly this topic.
    pub topic: Option<String>,
    /// The feed's name, title or URL contains this (case-insensitive, any alphabet).
    pub feed: Option<String>,
    /// Created at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// The headline contains this (case-insensitive, any alphabet).
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

/// A position in the newest-first order of alerts: `(created_at as stored, id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageKey {
    pub created_key: String,
    pub id: i64,
}

impl From<&AlertRow> for PageKey {
    fn from(r: &AlertRow) -> PageKey {
        PageKey {
            created_key: r.created_key.clone(),
            id: r.id,
        }
    }
}

/// One page of alerts and where the next one starts (`None`: no older alert is left).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertPage {
    pub rows: Vec<AlertRow>,
    pub next: Option<PageKey>,
}

/// A page looks at no more than this many alerts (newest first, along the index), whatever
/// the text and feed filters keep: a filter that matches little never scans the whole table
/// in one go. A page may then hold fewer rows than asked without being the last.
pub const SCAN_WINDOW: usize = 5000;

/// The range of a query in `(created_at, id)` order.
#[derive(Default)]
struct Range<'a> {
    /// Strictly older than this.
    older: Option<&'a PageKey>,
    /// Strictly newer than this.
    newer: Option<&'a PageKey>,
    /// This or newer.
    from: Option<&'a PageKey>,
    ascending: bool,
}

/// Builds a statement's `WHERE` and its arguments, numbering the `?_` in each clause.
#[derive(Default)]
struct Sql {
    text: String,
    args: Vec<Box<dyn rusqlite::ToSql>>,
}

impl Sql {
    fn push(&mut self, clause: &str, values: Vec<Box<dyn rusqlite::ToSql>>) {
        let mut clause = clause.to_string();
        for v in values {
            self.args.push(v);
            clause = clause.replacen("?_", &format!("?{}", self.args.len()), 1);
        }
        self.text.push_str(&clause);
    }

    /// The range as bounds on `created_at` (what the indexes seek) plus the id tie-break.
    fn range(&mut self, range: &Range<'_>) {
        let mut bound = |cmp: &str, strict: &str, k: &PageKey| {
            self.push(
                &format!(
                    " AND al.created_at {cmp}= ?_ AND (al.created_at {cmp} ?_ OR al.id {strict} ?_)"
                ),
                vec![
                    Box::new(k.created_key.clone()),
                    Box::new(k.created_key.clone()),
                    Box::new(k.id),
                ],
            );
        };
        if let Some(k) = range.older {
            bound("<", "<", k);
        }
        if let Some(k) = range.newer {
            bound(">", ">", k);
        }
        if let Some(k) = range.from {
            bound(">", ">=", k);
        }
    }

    /// The filter's parts the indexes serve (topic, since).
    fn indexed(&mut self, filter: &AlertFilter) {
        if let Some(t) = &filter.topic {
            self.push(" AND al.topic = ?_", vec![Box::new(t.clone())]);
        }
        if let Some(t) = filter.since {
            self.push(" AND al.created_at >= ?_", vec![Box::new(ts(t))]);
        }
    }

    fn order(&mut self, ascending: bool, limit: usize, offset: usize) {
        let o = if ascending { "ASC" } else { "DESC" };
        self.push(
            &format!(" ORDER BY al.created_at {o}, al.id {o} LIMIT ?_ OFFSET ?_"),
            vec![Box::new(limit as i64), Box::new(offset as i64)],
        );
    }

    fn params(&self) -> Vec<&dyn rusqlite::ToSql> {
        self.args.iter().map(|b| b.as_ref()).collect()
    }
}

impl Store {
    /// The change counter of the database file as this connection sees it: it moves when
    /// another connection (the daemon, `tidings mark`) commits. Cheap: no table is read.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// Up to `limit` alerts matching `filter`, newest first, older than `after` (the
    /// previous page's `next`) or from the newest when `None`; at most [`SCAN_WINDOW`]
    /// alerts are looked at.
    pub fn alert_page(
        &self,
        filter: &AlertFilter,
        after: Option<&PageKey>,
        limit: usize,
    ) -> Result<AlertPage> {
        self.alert_page_within(filter, after, limit, SCAN_WINDOW)
    }

    fn alert_page_within(
        &self,
        filter: &AlertFilter,
        after: Option<&PageKey>,
        limit: usize,
        window: usize,
    ) -> Result<AlertPage> {
        // The oldest alert of the window, found along the index.
        let mut sql = Sql::default();
        sql.text
            .push_str("SELECT al.created_at, al.id FROM alerts al WHERE 1");
        sql.range(&Range {
            older: after,
            ..Range::default()
        });
        sql.indexed(filter);
        sql.order(false, 1, window.max(1) - 1);
        let bound: Option<PageKey> = self
            .conn
            .prepare_cached(&sql.text)?
            .query_row(sql.params().as_slice(), |r| {
                Ok(PageKey {
                    created_key: r.get(0)?,
                    id: r.get(1)?,
                })
            })
            .optional()?;
        let rows = self.alert_rows(
            filter,
            &Range {
                older: after,
                from: bound.as_ref(),
                ..Range::default()
            },
            limit,
        )?;
        let next = match rows.last() {
            Some(last) if rows.len() >= limit => Some(PageKey::from(last)),
            _ => bound,
        };
        Ok(AlertPage { rows, next })
    }

    /// These alerts as they are now (marks and delivery change after an alert is shown: a
    /// click on its notification, `tidings mark`); ids no longer stored are left out.
    pub fn alerts_by_id(&self, ids: &[i64]) -> Result<Vec<AlertRow>> {
        let ids = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} WHERE al.id IN (SELECT value FROM json_each(?1))"
        ))?;
        let rows = stmt.query_map([ids], alert_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Up to `limit` alerts matching `filter` newer than `than` (the top row shown), newest
    /// first: what was committed since.
    pub fn alerts_newer(
        &self,
        filter: &AlertFilter,
        than: &AlertRow,
        limit: usize,
    ) -> Result<Vec<AlertRow>> {
        let key = PageKey::from(than);
        let mut rows = self.alert_rows(
            filter,
            &Range {
                newer: Some(&key),
                ascending: true,
                ..Range::default()
            },
            limit,
        )?;
        rows.reverse();
        Ok(rows)
    }

    fn alert_rows(
        &self,
        filter: &AlertFilter,
        range: &Range<'_>,
        limit: usize,
    ) -> Result<Vec<AlertRow>> {
        let mut sql = Sql {
            text: format!("SELECT {ROW_COLUMNS} WHERE 1"),
            ..Sql::default()
        };
        sql.range(range);
        sql.indexed(filter);
        if let Some(f) = &filter.feed {
            sql.push(
                " AND (instr(lower(COALESCE(f.name, f.title, f.url)), lower(?_)) > 0
                       OR instr(lower(f.url), lower(?_)) > 0)",
                vec![Box::new(f.clone()), Box::new(f.clone())],
            );
        }
        if let Some(t) = &filter.text {
            sql.push(
                " AND instr(lower(ar.title), lower(?_)) > 0",
                vec![Box::new(t.clone())],
            );
        }
        sql.order(range.ascending, limit, 0);
        let mut stmt = self.conn.prepare_cached(&sql.text)?;
        let rows = stmt.query_map(sql.params().as_slice(), alert_row)?;
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
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles ar JOIN feeds f ON f.id = ar.feed_id
                 WHERE ar.id < ?2 AND ar.first_seen_at >= ?1
                 ORDER BY ar.id DESC LIMIT ?3"
        ))?;
        let rows = stmt.query_map(
            rusqlite::params![ts(since), before.unwrap_or(i64::MAX), limit as i64],
            |r| {
                let (id, article) = article_row(r)?;
                Ok(RecentArticle {
                    id,
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
        // Every page, following `next` until there is none.
        let pages = |f: &AlertFilter, limit: usize, window: usize| -> Vec<Vec<AlertRow>> {
            let mut out = Vec::new();
            let mut after = None;
            loop {
                let page = store
                    .alert_page_within(f, after.as_ref(), limit, window)
                    .unwrap();
                out.push(page.rows);
                match page.next {
                    Some(k) => after = Some(k),
                    None => return out,
                }
            }
        };
        let seen: Vec<AlertRow> = pages(&all, 3, SCAN_WINDOW).concat();
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
        assert_eq!(titles(&first.rows), ["Story 4", "Story 3"]);
        let next = store.alert_page(&f, first.next.as_ref(), 2).unwrap();
        assert_eq!(titles(&next.rows), ["Story 2", "Story 1"]);
        // A rare match behind a small window: empty pages until the window reaches it, none
        // skipped, none repeated.
        let rare = AlertFilter {
            text: Some("story 1".into()),
            ..Default::default()
        };
        let found = pages(&rare, 10, 2);
        assert!(found.len() >= 3 && found[0].is_empty(), "{found:?}");
        assert_eq!(titles(&found.concat()), ["Story 1"]);
        let feed = AlertFilter {
            feed: Some("WIRE".into()),
            ..Default::default()
        };
        assert_eq!(
            titles(&store.alert_page(&feed, None, 10).unwrap().rows),
            ["Story 6", "Story 5"]
        );
        let since = AlertFilter {
            since: Some(now() + chrono::Duration::hours(1)),
            ..Default::default()
        };
        assert_eq!(store.alert_page(&since, None, 10).unwrap().rows.len(), 2);
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
        let row = store
            .alert_page(&AlertFilter::default(), None, 1)
            .unwrap()
            .rows;
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
            store
                .alert_page(&AlertFilter::default(), None, 1)
                .unwrap()
                .rows[0]
                .mark,
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
