//! What was alerted, read back: `tidings history` rows and filters, counts, alerts per day.

use chrono::{DateTime, Utc};

use super::explanation::Explanation;
use super::{Result, Store, parse_ts, ts};

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

impl Store {
    /// Alerts created at or after `since`.
    pub fn count_alerts_since(&self, since: DateTime<Utc>) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM alerts WHERE created_at >= ?1",
            [ts(since)],
            |r| r.get(0),
        )?)
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{now, poll_with};

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
}

#[cfg(test)]
mod unicode_tests {
    use crate::store::test_support::poll_with;
    use crate::store::{HistoryFilter, Store};

    /// SQLite's own `lower()` folds ASCII only: a search for "зеленський" missed
    /// "Зеленський …" (and `feed:` a Cyrillic feed name in the review).
    #[test]
    fn search_ignores_case_beyond_ascii() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let now = chrono::Utc::now();
        poll_with(
            &mut store,
            "https://a.example/rss",
            &[(
                "k1",
                "Зеленський: переговори з Путіним можливі",
                "https://a.example/1",
            )],
            "Зеленський",
            now,
        );
        for word in ["зеленський", "ПУТІНИМ", "Переговори"] {
            let rows = store
                .history(&HistoryFilter {
                    search: vec![word.into()],
                    limit: 10,
                    ..Default::default()
                })
                .unwrap();
            assert_eq!(rows.len(), 1, "{word}");
        }
        let ro = Store::open_read_only(&dir.path().join("t.db")).unwrap();
        let rows = ro
            .history(&HistoryFilter {
                search: vec!["ЗЕЛЕНСЬКИЙ".into()],
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(rows.len(), 1, "read-only connections fold too");
    }
}
