//! The user's marks: an alert or article right or wrong for a topic (the topics' training
//! examples, kept beyond retention).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Result, Store, StoreError, parse_ts, ts};

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

impl Store {
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::Article;
    use crate::store::test_support::{article, now, one_nato_alert};
    use crate::store::{HistoryFilter, PollRecord};

    #[test]
    fn marking_again_replaces_the_mark_and_marks_outlive_retention() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        one_nato_alert(&mut store, "a1");
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
}
