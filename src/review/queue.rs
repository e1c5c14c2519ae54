//! The review queue and the topics' figures, computed off the UI thread: recent articles
//! scored by the matcher trained from the watch-list and the marks (as `match --history`
//! does), those closest to their topic's threshold first; and each topic's cross-validated F1
//! (as `eval --cv` does, on the topic's examples and marks).

use chrono::{DateTime, Utc};

use super::app::{QueueItem, TopicFigures};
use crate::config::Config;
use crate::store::Store;

/// How far back the queue looks.
pub const QUEUE_DAYS: i64 = 7;
/// At most this many recent articles are scored (the newest), read this many at a time.
pub const MAX_ARTICLES: usize = 2000;
const PAGE: usize = 500;
/// At most this many items per topic.
const PER_TOPIC: usize = 40;
/// Folds of the cross-validation, as `eval --cv 5`.
const FOLDS: usize = 5;

/// The least sure articles and alerts per topic (topics in watch-list order, each closest to
/// its threshold first): articles the query matched, whose model score is nearest the line.
pub fn build(
    store: &Store,
    config: &Config,
    cache: &dyn crate::learn::ModelCache,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<QueueItem>> {
    let config = config.with_marks(&crate::daemon::read_marks(store));
    let matcher = config
        .train_with(cache)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let since = crate::checked_time::earlier_by(now, chrono::Duration::days(QUEUE_DAYS));
    let mut per_topic: Vec<Vec<QueueItem>> = vec![Vec::new(); config.topics.len()];
    let (mut before, mut seen) = (None, 0);
    loop {
        let page = store.recent_articles(since, before, PAGE)?;
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        seen += page.len();
        let full = page.len() == PAGE;
        for ra in page {
            for a in matcher.assess(&ra.article) {
                let (Some(_), Some(v)) = (&a.query, &a.verdict) else {
                    continue;
                };
                let topic = &config.topics[a.topic.0].name;
                per_topic[a.topic.0].push(QueueItem {
                    topic: topic.clone(),
                    article_id: ra.id,
                    alert_id: ra.alerts.iter().find(|(t, _)| t == topic).map(|a| a.1),
                    title: ra.article.title.clone(),
                    source: ra.article.source.clone(),
                    link: ra.article.link.clone(),
                    score: v.score,
                    threshold: v.threshold,
                    mark: ra.marks.iter().find(|(t, _)| t == topic).map(|m| m.1),
                });
            }
        }
        if !full || seen >= MAX_ARTICLES {
            break;
        }
    }
    let mut out = Vec::new();
    for mut items in per_topic {
        items.sort_by(|a, b| {
            let d = |i: &QueueItem| (i.score - i.threshold).abs();
            d(a).total_cmp(&d(b))
        });
        items.truncate(PER_TOPIC);
        out.extend(items);
    }
    Ok(out)
}

/// Every enabled topic that learns or has marks: its marks and cross-validated F1.
pub fn figures(store: &Store, config: &Config) -> anyhow::Result<Vec<TopicFigures>> {
    let marks = store.marks()?;
    let config = config.with_marks(&marks);
    let counts = store.mark_counts()?;
    let mut out = Vec::new();
    for (i, t) in config.topics.iter().enumerate() {
        let (right, wrong) = counts
            .iter()
            .find(|c| c.0 == t.name)
            .map_or((0, 0), |c| (c.1, c.2));
        if !t.enabled || (t.learn.is_none() && right + wrong == 0) {
            continue;
        }
        let f1 = t.learn.as_ref().and_then(|_| {
            crate::learn::eval::cross_validate(&config.topics, &config.aliases, i, &[], FOLDS)
                .ok()
                .map(|r| r.counts.f1())
        });
        out.push(TopicFigures {
            topic: t.name.clone(),
            right,
            wrong,
            f1,
        });
    }
    Ok(out)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::model::{Article, ArticleKey, TopicId};
    use crate::store::NewAlert;
    use crate::store::test_support::now;

    /// A watch-list with one learning topic ("NATO": its examples say joining is right, jets
    /// and drills are wrong) and a store with articles the query matches, one of them alerted.
    pub(in crate::review) fn setup(dir: &std::path::Path) -> (Config, Store, Vec<i64>) {
        let mut ex = String::from("label\ttitle\n");
        for i in 0..8 {
            ex.push_str(&format!("1\tCountry {i} applies to join NATO\n"));
            ex.push_str(&format!("0\tNATO jets fly drill number {i}\n"));
        }
        std::fs::write(dir.join("ex.tsv"), ex).unwrap();
        let wl = dir.join("watchlist.toml");
        let text = "[[topic]]\nname = \"NATO\"\nquery = \"nato\"\nexamples = [\"ex.tsv\"]\n\
                    [[topic]]\nname = \"Plain\"\nquery = \"weather\"\n";
        std::fs::write(&wl, text).unwrap();
        let config = crate::config::parse(text, &wl).unwrap();
        let mut store = Store::open(&dir.join("t.db")).unwrap();
        let feed = store
            .sync_feed("https://a.example/rss", Some("A"), now())
            .unwrap();
        let mut tx = store.begin_poll(feed.id).unwrap();
        let titles = [
            "Finland applies to join NATO",
            "NATO jets fly a drill",
            "NATO jets and Finland applies",
            "Weather is fine",
        ];
        let new = tx
            .insert_new(
                titles
                    .iter()
                    .enumerate()
                    .map(|(i, t)| Article {
                        key: ArticleKey(format!("k{i}")),
                        title: t.to_string(),
                        ..Default::default()
                    })
                    .collect(),
                now(),
            )
            .unwrap();
        let m = crate::store::test_support::matched("s");
        tx.record_alerts(
            &[NewAlert {
                article_id: new[0].id,
                topic: "NATO",
                matched: &m,
                notify: true,
            }],
            now(),
        )
        .unwrap();
        tx.finish(&crate::store::PollRecord::default(), now())
            .unwrap();
        (config, store, new.iter().map(|n| n.id).collect())
    }

    #[test]
    fn the_queue_holds_the_querys_matches_closest_to_the_threshold_first() {
        let dir = tempfile::tempdir().unwrap();
        let (config, mut store, ids) = setup(dir.path());
        store
            .mark_article(ids[1], "NATO", false, "review", now())
            .unwrap();
        let items = build(&store, &config, &crate::learn::NoCache, now()).unwrap();
        assert_eq!(
            items.len(),
            3,
            "the query's matches of the learning topic: {items:?}"
        );
        assert!(items.iter().all(|i| i.topic == "NATO"));
        let distance = |i: &QueueItem| (i.score - i.threshold).abs();
        assert!(items.windows(2).all(|w| distance(&w[0]) <= distance(&w[1])));
        let by_id = |id: i64| items.iter().find(|i| i.article_id == id).unwrap();
        assert!(
            by_id(ids[0]).alert_id.is_some(),
            "the alerted article has its alert"
        );
        assert_eq!(by_id(ids[1]).mark, Some(false));
        assert_eq!(by_id(ids[1]).alert_id, None);
        // Articles older than the window are not scored.
        let later = now() + chrono::Duration::days(QUEUE_DAYS + 1);
        assert!(
            build(&store, &config, &crate::learn::NoCache, later)
                .unwrap()
                .is_empty()
        );
        let matcher = config.train().unwrap();
        assert!(matcher.model(TopicId(0)).is_some());
    }

    #[test]
    fn figures_count_marks_and_cross_validate_the_learning_topics() {
        let dir = tempfile::tempdir().unwrap();
        let (config, mut store, ids) = setup(dir.path());
        let before = figures(&store, &config).unwrap();
        assert_eq!(
            before.len(),
            1,
            "Plain neither learns nor has marks: {before:?}"
        );
        assert_eq!((before[0].right, before[0].wrong), (0, 0));
        let f1 = before[0].f1.expect("16 examples cross-validate in 5 folds");
        assert!((0.0..=1.0).contains(&f1));
        store
            .mark_article(ids[2], "NATO", true, "review", now())
            .unwrap();
        store
            .mark_article(ids[3], "Plain", false, "review", now())
            .unwrap();
        let after = figures(&store, &config).unwrap();
        assert_eq!(after.len(), 2, "Plain has a mark now: {after:?}");
        assert_eq!((after[0].right, after[0].wrong), (1, 0));
        assert_eq!(after[1].f1, None, "Plain does not learn");
    }
}
