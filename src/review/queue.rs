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
    let since = now - chrono::Duration::days(QUEUE_DAYS);
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
