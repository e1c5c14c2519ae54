//! Test set-up shared by the store's unit tests: articles, matches, one recorded poll.

use chrono::{DateTime, Utc};

use super::{NewAlert, PollRecord, Store};
use crate::model::{Article, ArticleKey, Match};

pub(crate) fn article(key: &str, title: &str) -> Article {
    Article {
        key: ArticleKey(key.into()),
        title: title.into(),
        ..Default::default()
    }
}

pub(crate) fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub(crate) fn matched(snippet: &str) -> Match {
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
pub(crate) fn poll_with(
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

/// Stores one poll of `https://a.example/rss` with one article (`key`, "Finland applies to
/// join NATO", `https://a.example/1`) that alerts for `NATO`.
pub(crate) fn one_nato_alert(store: &mut Store, key: &str) {
    poll_with(
        store,
        "https://a.example/rss",
        &[(key, "Finland applies to join NATO", "https://a.example/1")],
        "NATO",
        now(),
    );
}
