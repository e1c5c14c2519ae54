//! Concluding a poll: from the fetch's outcome and the parsed feed to what the store records
//! (articles, alerts, the feed's state and next poll) and what the report says.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::{info, warn};
use url::Url;

use super::poll_task::{Precomputed, source_name};
use super::report::{FeedReport, PollResult};
use crate::config::{Config, FeedConfig, redact_url};
use crate::fetch::{Failure, FetchOutcome};
use crate::links::host_key;
use crate::parse::{ParseError, ParsedFeed};
use crate::schedule::{self, Outcome, Policy};
use crate::store::{FeedState, HostDeferral, NewAlert, PollRecord, Store, StoreError};

/// Permanent redirects are adopted once seen on this many polls in a row.
pub const REDIRECT_ADOPT_AFTER: u32 = 2;

/// What the poll task learnt besides the outcome.
pub(super) struct Extra {
    /// The URL fetched (the feed's, or where an adopted redirect pointed).
    pub url: Url,
    pub body_hash: Option<String>,
    pub unchanged: bool,
    pub precomputed: Option<Precomputed>,
    /// The feed's scheduling hints from its last parsed document (for 304s and unchanged bodies).
    pub last_hints: schedule::FeedHints,
}

/// Stores one feed's poll in one transaction: new articles, their alerts, the feed's state,
/// and the host's deferral or the feed disabled when the server asked for that.
#[allow(clippy::too_many_arguments)]
pub(super) fn record_poll(
    store: &mut Store,
    config: &Config,
    feed: &FeedConfig,
    state: &FeedState,
    outcome: FetchOutcome,
    parsed: Option<Result<ParsedFeed, ParseError>>,
    extra: Extra,
    now: DateTime<Utc>,
) -> Result<FeedReport, StoreError> {
    let policy = Policy {
        default_interval: config.settings.interval,
        feed_interval: feed.interval,
    };
    let first_poll = state.first_polled_at.is_none();
    let mut name = source_name(feed, None, state);
    let jitter = jitter_for(&feed.url, now);
    let moved_to = match &outcome {
        FetchOutcome::Fetched { moved_to, .. } | FetchOutcome::NotModified { moved_to, .. } => {
            moved_to.clone()
        }
        FetchOutcome::Failed { .. } => None,
    };
    let mut defer_host = None;
    let mut gone = false;
    let mut tx = store.begin_poll(state.id)?;
    let (mut record, result) = match (outcome, parsed) {
        (FetchOutcome::NotModified { hints, .. }, _) => {
            let sched = Outcome {
                ok: true,
                hints,
                feed: extra.last_hints.clone(),
            };
            let rec = PollRecord {
                status: Some(304),
                next_poll_at: Some(schedule::next_poll(now, &policy, &sched, 0, jitter)),
                ..Default::default()
            };
            (rec, PollResult::NotModified)
        }
        (
            FetchOutcome::Fetched {
                status,
                validators,
                hints,
                ..
            },
            _,
        ) if extra.unchanged => {
            // The same bytes as last time: as good as a 304, without parsing them again.
            let sched = Outcome {
                ok: true,
                hints,
                feed: extra.last_hints.clone(),
            };
            let rec = PollRecord {
                status: Some(status),
                validators: Some((validators.etag, validators.last_modified)),
                next_poll_at: Some(schedule::next_poll(now, &policy, &sched, 0, jitter)),
                ..Default::default()
            };
            (rec, PollResult::Unchanged { status })
        }
        (
            FetchOutcome::Fetched {
                status,
                validators,
                hints,
                ..
            },
            Some(Ok(parsed)),
        ) => {
            name = source_name(feed, parsed.title.as_deref(), state);
            let items = parsed.articles.len();
            // Matches computed on the blocking pool, by article key, if computed with the
            // matcher in force now (a reload may have replaced it meanwhile).
            let mut ready: HashMap<String, Vec<crate::model::Match>> = HashMap::new();
            let matcher = config.matcher();
            if let Some((m, per_article)) = extra.precomputed
                && Arc::ptr_eq(&m, &matcher)
            {
                for (a, ms) in parsed.articles.iter().zip(per_article) {
                    if let Some(ms) = ms {
                        ready.insert(a.key.0.clone(), ms);
                    }
                }
            }
            let articles = parsed
                .articles
                .into_iter()
                .map(|mut a| {
                    a.source = name.clone();
                    a
                })
                .collect();
            let new = tx.insert_new(articles, now)?;
            let notify = !first_poll || config.settings.alert_on_first_poll;
            let matches: Vec<_> = new
                .iter()
                .map(|n| {
                    ready
                        .remove(&n.article.key.0)
                        .unwrap_or_else(|| matcher.matches(&n.article))
                })
                .collect();
            let alerts: Vec<NewAlert<'_>> = new
                .iter()
                .zip(&matches)
                .flat_map(|(n, ms)| {
                    ms.iter().map(move |m| NewAlert {
                        article_id: n.id,
                        topic: &config.topics[m.topic.0].name,
                        matched: m,
                        notify,
                    })
                })
                .collect();
            let created = tx.record_alerts(&alerts, now)?;
            let sched = Outcome {
                ok: true,
                hints,
                feed: parsed.hints.clone(),
            };
            let rec = PollRecord {
                status: Some(status),
                validators: Some((validators.etag, validators.last_modified)),
                title: parsed.title,
                body_hash: extra.body_hash,
                new_articles: new.len() as u32,
                next_poll_at: Some(schedule::next_poll(now, &policy, &sched, 0, jitter)),
                ..Default::default()
            };
            let result = PollResult::Fetched {
                status,
                items,
                new: new.len(),
                alerts: created,
                backlog: !notify,
            };
            (rec, result)
        }
        (outcome, parsed) => {
            let (status, error, hints) = match (outcome, parsed) {
                (
                    FetchOutcome::Failed {
                        status,
                        failure,
                        error,
                        hints,
                    },
                    _,
                ) => {
                    match failure {
                        Failure::RateLimited { until } => {
                            defer_host = Some(HostDeferral {
                                host: host_key(&extra.url),
                                until,
                                reason: status.map_or_else(
                                    || "Retry-After".to_string(),
                                    |s| format!("HTTP {s} with Retry-After"),
                                ),
                            });
                        }
                        Failure::Gone => gone = true,
                        Failure::Retry => {}
                    }
                    (status, error.to_string(), hints)
                }
                (FetchOutcome::Fetched { status, hints, .. }, Some(Err(e))) => {
                    (Some(status), e.to_string(), hints)
                }
                (FetchOutcome::Fetched { status, hints, .. }, _) => {
                    (Some(status), "not parsed".to_string(), hints)
                }
                (FetchOutcome::NotModified { hints, .. }, _) => {
                    (Some(304), "unexpected".to_string(), hints)
                }
            };
            let failures = state.consecutive_failures.saturating_add(1);
            let sched = Outcome {
                ok: false,
                hints,
                feed: Default::default(),
            };
            let rec = PollRecord {
                status,
                error: Some(error.clone()),
                next_poll_at: Some(schedule::next_poll(now, &policy, &sched, failures, jitter)),
                ..Default::default()
            };
            (rec, PollResult::Failed { status, error })
        }
    };
    if let Some(to) = moved_to {
        let to = to.to_string();
        record.redirect_seen = if state.redirect_to.as_deref() == Some(to.as_str()) {
            state.redirect_seen + 1
        } else {
            1
        };
        if record.redirect_seen >= REDIRECT_ADOPT_AFTER
            && state.fetch_url.as_deref() != Some(to.as_str())
        {
            info!(
                feed = %redact_url(&feed.url),
                new_url = %to,
                "feed moved permanently (seen on {} polls in a row); polling the new URL from now on — update the watch-list",
                record.redirect_seen
            );
            record.adopt_url = Some(to.clone());
        }
        record.redirect_to = Some(to);
    }
    if let Some(d) = &defer_host {
        tx.defer_host(&d.host, d.until, &d.reason)?;
    }
    if gone {
        tx.disable("410 Gone", &fingerprint(feed))?;
    }
    tx.finish(&record, now)?;
    if let Some(d) = &defer_host {
        info!(host = %d.host, until = %d.until, "host asked us to come back later; deferring all its feeds");
    }
    if gone {
        warn!(feed = %redact_url(&feed.url), "feed is gone (410); not polling it again until its watch-list entry changes or `tidings feeds enable`");
    }
    Ok(FeedReport {
        name,
        url: redact_url(&feed.url),
        result,
    })
}

/// A deterministic jitter in 0..1 per feed and poll, so backoffs of many feeds spread out.
fn jitter_for(url: &Url, now: DateTime<Utc>) -> f64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    url.as_str().hash(&mut h);
    now.timestamp().hash(&mut h);
    (h.finish() % 10_000) as f64 / 10_000.0
}

/// A feed's watch-list entry, to notice when the user edits it.
pub(super) fn fingerprint(feed: &FeedConfig) -> String {
    format!("{feed:?}")
}
