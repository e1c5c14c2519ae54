//! Concluding a poll: from the fetch's outcome and the parsed feed to what the store records
//! (articles, alerts, the feed's state and next poll, a host deferral, the feed disabled) and
//! what the report says. [`conclude`] decides, without the store; [`record`] applies its
//! [`Conclusion`] in one transaction.

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
use crate::model::{Article, FeedId, Match};
use crate::parse::{ParseError, ParsedFeed};
use crate::schedule::{self, Policy};
use crate::store::{FeedState, HostDeferral, NewAlert, PollRecord, Store, StoreError};

/// Permanent redirects are adopted once seen on this many polls in a row.
pub const REDIRECT_ADOPT_AFTER: u32 = 2;

/// Why a feed that answered 410 is not polled any more.
const GONE: &str = "410 Gone";

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

/// What one poll comes to, decided by [`conclude`]: everything [`record`] writes.
#[derive(Debug)]
pub(super) struct Conclusion {
    pub feed: FeedId,
    /// The feed's new state; `new_articles` is counted by [`record`], which alone knows which
    /// articles the feed never had.
    pub record: PollRecord,
    /// The document's articles, named after their source: those the feed never had are
    /// stored, matched and alerted.
    pub articles: Vec<Article>,
    /// Matches computed on the blocking pool, by article key, with the matcher in force now.
    pub ready: HashMap<String, Vec<Match>>,
    /// Whether the new articles' alerts notify (not for the backlog of a first poll).
    pub notify: bool,
    /// The host asked for a pause (429 or 503 with `Retry-After`): all its feeds wait.
    pub defer_host: Option<HostDeferral>,
    /// The feed is gone (410): not polled again until its watch-list entry, whose fingerprint
    /// this is, changes.
    pub gone: Option<String>,
    /// What the report says; for a parsed document, `new` and `alerts` are counted by
    /// [`record`].
    pub report: FeedReport,
}

/// Decides what one poll of one feed comes to, without the store or the clock (`now` is
/// given): everything to record, and the report.
pub(super) fn conclude(
    config: &Config,
    feed: &FeedConfig,
    state: &FeedState,
    outcome: FetchOutcome,
    parsed: Option<Result<ParsedFeed, ParseError>>,
    extra: Extra,
    now: DateTime<Utc>,
) -> Conclusion {
    let policy = Policy {
        default_interval: config.settings.interval,
        feed_interval: feed.interval,
    };
    let jitter = jitter_for(&feed.url, now);
    let next_poll = |hints, feed_hints, failures| {
        Some(schedule::next_poll(
            now, &policy, hints, feed_hints, failures, jitter,
        ))
    };
    let notify = state.first_polled_at.is_some() || config.settings.alert_on_first_poll;
    let mut name = source_name(feed, None, state);
    let mut articles = Vec::new();
    let mut ready = HashMap::new();
    let mut defer_host = None;
    let mut gone = None;
    let moved_to = match &outcome {
        FetchOutcome::Fetched { moved_to, .. } | FetchOutcome::NotModified { moved_to, .. } => {
            moved_to.clone()
        }
        FetchOutcome::Failed { .. } => None,
    };
    let (mut record, result) = match (outcome, parsed) {
        (FetchOutcome::NotModified { hints, .. }, _) => {
            let rec = PollRecord {
                status: Some(304),
                next_poll_at: next_poll(&hints, &extra.last_hints, 0),
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
            let rec = PollRecord {
                status: Some(status),
                validators: Some((validators.etag, validators.last_modified)),
                next_poll_at: next_poll(&hints, &extra.last_hints, 0),
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
            if let Some((m, per_article)) = extra.precomputed
                && Arc::ptr_eq(&m, &config.matcher())
            {
                for (a, ms) in parsed.articles.iter().zip(per_article) {
                    if let Some(ms) = ms {
                        ready.insert(a.key.0.clone(), ms);
                    }
                }
            }
            articles = parsed
                .articles
                .into_iter()
                .map(|mut a| {
                    a.source = name.clone();
                    a
                })
                .collect();
            let rec = PollRecord {
                status: Some(status),
                validators: Some((validators.etag, validators.last_modified)),
                title: parsed.title,
                body_hash: extra.body_hash,
                next_poll_at: next_poll(&hints, &parsed.hints, 0),
                ..Default::default()
            };
            let result = PollResult::Fetched {
                status,
                items,
                new: 0,
                alerts: 0,
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
                        Failure::Gone => gone = Some(fingerprint(feed)),
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
            let rec = PollRecord {
                status,
                error: Some(error.clone()),
                next_poll_at: next_poll(&hints, &Default::default(), failures),
                ..Default::default()
            };
            (rec, PollResult::Failed { status, error })
        }
    };
    if let Some(to) = moved_to {
        let to = to.to_string();
        record.redirect_seen = if state.redirect_to.as_deref() == Some(to.as_str()) {
            state.redirect_seen.saturating_add(1)
        } else {
            1
        };
        if record.redirect_seen >= REDIRECT_ADOPT_AFTER
            && state.fetch_url.as_deref() != Some(to.as_str())
        {
            record.adopt_url = Some(to.clone());
        }
        record.redirect_to = Some(to);
    }
    Conclusion {
        feed: state.id,
        record,
        articles,
        ready,
        notify,
        defer_host,
        gone,
        report: FeedReport {
            name,
            url: redact_url(&feed.url),
            result,
        },
    }
}

/// Records a [`Conclusion`] in one transaction: the articles the feed never had, their
/// matches and alerts, the feed's state, the host's deferral, the feed disabled. Then logs
/// what changed beyond this feed's poll. Returns the report, with what was new counted.
pub(super) fn record(
    store: &mut Store,
    config: &Config,
    conclusion: Conclusion,
    now: DateTime<Utc>,
) -> Result<FeedReport, StoreError> {
    let Conclusion {
        feed,
        mut record,
        articles,
        mut ready,
        notify,
        defer_host,
        gone,
        mut report,
    } = conclusion;
    let mut tx = store.begin_poll(feed)?;
    let new = tx.insert_new(articles, now)?;
    // Articles new to the feed and not matched on the blocking pool are matched now.
    let matches: Vec<Vec<Match>> = if new.is_empty() {
        Vec::new()
    } else {
        let matcher = config.matcher();
        new.iter()
            .map(|n| {
                ready
                    .remove(&n.article.key.0)
                    .unwrap_or_else(|| matcher.matches(&n.article))
            })
            .collect()
    };
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
    record.new_articles = new.len() as u32;
    if let PollResult::Fetched {
        new: n, alerts: a, ..
    } = &mut report.result
    {
        *n = new.len();
        *a = created;
    }
    if let Some(d) = &defer_host {
        tx.defer_host(&d.host, d.until, &d.reason)?;
    }
    if let Some(entry) = &gone {
        tx.disable(GONE, entry)?;
    }
    tx.finish(&record, now)?;
    if let Some(to) = &record.adopt_url {
        info!(
            feed = %report.url,
            new_url = %to,
            "feed moved permanently (seen on {} polls in a row); polling the new URL from now on — update the watch-list",
            record.redirect_seen
        );
    }
    if let Some(d) = &defer_host {
        info!(host = %d.host, until = %d.until, "host asked us to come back later; deferring all its feeds");
    }
    if gone.is_some() {
        warn!(feed = %report.url, "feed is gone (410); not polling it again until its watch-list entry changes or `tidings feeds enable`");
    }
    Ok(report)
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

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)] // tests may compute plainly
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::fetch::{FetchError, Validators};
    use crate::schedule::CacheHints;

    const FEED: &str = "https://news.example/rss";

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn config() -> Config {
        let toml = format!(
            "[settings]\ninterval = \"15m\"\n[[feed]]\nurl = \"{FEED}\"\n\
             [[topic]]\nname = \"NATO\"\nquery = \"NATO\"\n"
        );
        crate::config::parse(&toml, Path::new("watchlist.toml")).unwrap()
    }

    fn state() -> FeedState {
        FeedState {
            id: FeedId(7),
            url: FEED.into(),
            name: None,
            title: Some("Stored title".into()),
            etag: None,
            last_modified: None,
            last_polled_at: None,
            last_status: None,
            last_error: None,
            consecutive_failures: 0,
            next_poll_at: None,
            first_polled_at: None,
            last_new_articles: 0,
            in_config: true,
            fetch_url: None,
            redirect_to: None,
            redirect_seen: 0,
            disabled_reason: None,
            disabled_config: None,
            body_hash: None,
        }
    }

    fn extra() -> Extra {
        Extra {
            url: Url::parse(FEED).unwrap(),
            body_hash: None,
            unchanged: false,
            precomputed: None,
            last_hints: Default::default(),
        }
    }

    fn conclude_with(
        state: &FeedState,
        outcome: FetchOutcome,
        parsed: Option<Result<ParsedFeed, ParseError>>,
    ) -> Conclusion {
        let config = config();
        let feed = config.feeds[0].clone();
        conclude(&config, &feed, state, outcome, parsed, extra(), now())
    }

    fn minutes(m: i64) -> Option<DateTime<Utc>> {
        Some(now() + chrono::Duration::minutes(m))
    }

    #[test]
    fn not_modified_keeps_the_validators_and_waits_the_interval() {
        let c = conclude_with(
            &state(),
            FetchOutcome::NotModified {
                hints: CacheHints::default(),
                moved_to: None,
            },
            None,
        );
        assert_eq!(c.feed, FeedId(7));
        assert_eq!(c.record.status, Some(304));
        assert_eq!(c.record.validators, None);
        assert_eq!(c.record.next_poll_at, minutes(15));
        assert!(c.articles.is_empty() && c.defer_host.is_none() && c.gone.is_none());
        assert_eq!(c.report.result, PollResult::NotModified);
        assert_eq!(c.report.name, "Stored title");
    }

    #[test]
    fn a_parsed_document_names_its_articles_and_its_first_poll_is_a_backlog() {
        let body = br#"<rss version="2.0"><channel><title>News</title>
            <item><title>NATO summit</title><guid>a</guid></item>
            <item><title>Weather</title><guid>b</guid></item></channel></rss>"#;
        let parsed = crate::parse::parse(body, &Url::parse(FEED).unwrap());
        let c = conclude_with(
            &state(),
            FetchOutcome::Fetched {
                status: 200,
                body: body.to_vec(),
                validators: Validators {
                    etag: Some("\"v2\"".into()),
                    last_modified: None,
                },
                hints: CacheHints::default(),
                final_url: Url::parse(FEED).unwrap(),
                moved_to: None,
            },
            Some(parsed),
        );
        assert_eq!(c.articles.len(), 2);
        assert!(c.articles.iter().all(|a| a.source == "News"));
        assert!(
            !c.notify,
            "a first poll records its backlog without notifying"
        );
        assert_eq!(c.record.title.as_deref(), Some("News"));
        assert_eq!(
            c.record.validators,
            Some((Some("\"v2\"".into()), None)),
            "a fetched document's validators are kept"
        );
        assert_eq!(c.record.error, None);
        assert_eq!(c.record.next_poll_at, minutes(15));
        assert_eq!(
            c.report.result,
            PollResult::Fetched {
                status: 200,
                items: 2,
                new: 0,
                alerts: 0,
                backlog: true,
            },
            "new articles and alerts are counted when recorded"
        );
    }

    #[test]
    fn rate_limited_defers_the_host_and_backs_off_until_then() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "2400".parse().unwrap());
        let hints = crate::fetch::cache_hints(&headers, now());
        let c = conclude_with(&state(), FetchOutcome::http_error(429, hints), None);
        let d = c.defer_host.expect("a deferral");
        assert_eq!(
            (d.host.as_str(), d.until, d.reason.as_str()),
            (
                "news.example:443",
                now() + chrono::Duration::minutes(40),
                "HTTP 429 with Retry-After"
            )
        );
        assert_eq!(c.record.next_poll_at, minutes(40));
        assert_eq!(c.record.status, Some(429));
        assert_eq!(
            c.record.error.as_deref(),
            Some("HTTP 429 Too Many Requests")
        );
        assert!(c.gone.is_none());
        assert!(!c.report.ok());
    }

    /// A `Retry-After` in the year 9999 defers the host (and the feed) by one day.
    #[test]
    fn retry_after_in_year_9999_defers_one_day() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::RETRY_AFTER,
            "Fri, 31 Dec 9999 23:59:59 GMT".parse().unwrap(),
        );
        let hints = crate::fetch::cache_hints(&headers, now());
        let c = conclude_with(&state(), FetchOutcome::http_error(503, hints), None);
        let day = now() + chrono::Duration::days(1);
        assert_eq!(c.defer_host.map(|d| d.until), Some(day));
        assert_eq!(c.record.next_poll_at, Some(day));
    }

    #[test]
    fn gone_disables_the_feed_with_its_watch_list_entry() {
        let c = conclude_with(
            &state(),
            FetchOutcome::http_error(410, CacheHints::default()),
            None,
        );
        assert_eq!(c.gone, Some(fingerprint(&config().feeds[0])));
        assert!(c.defer_host.is_none());
        assert_eq!(c.record.error.as_deref(), Some("HTTP 410 Gone"));
    }

    #[test]
    fn failures_back_off_and_nothing_else_happens() {
        let mut s = state();
        s.consecutive_failures = 2;
        let c = conclude_with(
            &s,
            FetchOutcome::Failed {
                status: None,
                failure: Failure::Retry,
                error: FetchError::Connect("Connection refused".into()),
                hints: CacheHints::default(),
            },
            None,
        );
        // The third failure in a row: 4 minutes, plus up to 25 % jitter.
        let next = c.record.next_poll_at.unwrap();
        assert!(next >= now() + chrono::Duration::minutes(4));
        assert!(next <= now() + chrono::Duration::minutes(5));
        assert_eq!(
            c.report.result,
            PollResult::Failed {
                status: None,
                error: "cannot connect: Connection refused".into()
            }
        );
        assert!(c.defer_host.is_none() && c.gone.is_none() && c.articles.is_empty());
    }

    #[test]
    fn a_permanent_redirect_is_adopted_on_its_second_poll() {
        let to = Url::parse("https://new.example/rss").unwrap();
        let moved = || FetchOutcome::NotModified {
            hints: CacheHints {
                max_age: Some(Duration::from_secs(60)),
                ..Default::default()
            },
            moved_to: Some(to.clone()),
        };
        let first = conclude_with(&state(), moved(), None);
        assert_eq!(first.record.redirect_to.as_deref(), Some(to.as_str()));
        assert_eq!(first.record.redirect_seen, 1);
        assert_eq!(first.record.adopt_url, None);
        let mut s = state();
        s.redirect_to = Some(to.to_string());
        s.redirect_seen = 1;
        let second = conclude_with(&s, moved(), None);
        assert_eq!(second.record.redirect_seen, REDIRECT_ADOPT_AFTER);
        assert_eq!(second.record.adopt_url.as_deref(), Some(to.as_str()));
    }
}
