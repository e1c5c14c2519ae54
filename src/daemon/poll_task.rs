//! One feed's poll task: wait its turn (host, memory, global limits), fetch, and — off the
//! loop, on the blocking pool — parse, name the source and match the articles that are new.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use super::seams::{Clock, Fetch};
use crate::config::{FeedConfig, redact_url};
use crate::fetch::{FetchOutcome, Validators};
use crate::parse::{ParseError, ParsedFeed, parse};
use crate::politeness::HostGate;
use crate::store::FeedState;

/// A fetched (and parsed) feed, on its way to the store.
pub struct Fetched {
    pub(super) feed: FeedConfig,
    pub(super) state: FeedState,
    pub(super) url: Url,
    pub(super) outcome: FetchOutcome,
    pub(super) parsed: Option<Result<ParsedFeed, ParseError>>,
    /// SHA-256 of the body, when there was one.
    pub(super) body_hash: Option<String>,
    /// The body is the one parsed last time: nothing to parse or store.
    pub(super) unchanged: bool,
    /// Matches computed on the blocking pool for the articles not seen in the feed's last
    /// document (by index into `parsed.articles`), with the matcher that computed them.
    pub(super) precomputed: Option<Precomputed>,
    /// Hashes of every article key in this document, to tell new from known next time.
    pub(super) keys: Option<Arc<[u64]>>,
    /// Holds one of the places for fetched-but-unrecorded feeds until the feed is recorded.
    pub(super) _slot: OwnedSemaphorePermit,
}

/// The limits every poll task passes, shared by all of them.
#[derive(Clone)]
pub(super) struct Gates {
    /// Per host: places and spacing. Waited for first, holding nothing else.
    pub hosts: Arc<HostGate>,
    /// Feeds fetched but not yet recorded, at most [`unrecorded_limit`]: bounds memory at any N.
    pub unrecorded: Arc<Semaphore>,
    /// Feeds being fetched or parsed at once: `concurrency`.
    pub global: Arc<Semaphore>,
    /// Documents parsed and matched at once: one per CPU. The work is CPU-bound, so more at
    /// once is no faster, and each holds a parsed document in memory.
    pub parsing: Arc<Semaphore>,
}

impl Gates {
    pub fn new(settings: &crate::config::Settings) -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        Gates {
            hosts: Arc::new(HostGate::new(
                settings.host_concurrency,
                settings.host_spacing,
            )),
            unrecorded: Arc::new(Semaphore::new(unrecorded_limit(settings.concurrency))),
            global: Arc::new(Semaphore::new(settings.concurrency.max(1))),
            parsing: Arc::new(Semaphore::new(cpus)),
        }
    }
}

/// What one poll task works on.
pub(super) struct Job<F, C> {
    pub fetcher: Arc<F>,
    pub clock: Arc<C>,
    pub gates: Gates,
    pub matcher: Arc<crate::matcher::Matcher>,
    pub feed: FeedConfig,
    pub state: FeedState,
    /// The feed's article key hashes from its last document.
    pub known: Option<Arc<[u64]>>,
}

/// Where a feed is fetched from: the URL it moved to (an adopted permanent redirect), else its
/// watch-list URL.
pub(super) fn fetch_url(feed: &FeedConfig, state: &FeedState) -> Url {
    state
        .fetch_url
        .as_deref()
        .and_then(|u| Url::parse(u).ok())
        .unwrap_or_else(|| feed.url.clone())
}

/// One feed's poll: its host's turn, a place among the unrecorded and among the fetching,
/// the fetch, then (for a new body) parsing and matching on the blocking pool.
pub(super) async fn poll_one<F: Fetch, C: Clock>(job: Job<F, C>) -> Box<Fetched> {
    let Job {
        fetcher,
        clock,
        gates,
        matcher,
        feed,
        state,
        known,
    } = job;
    let url = fetch_url(&feed, &state);
    // The host first: a host with many due feeds waits at its own pace without holding the
    // places other hosts need.
    let turn = gates.hosts.acquire(&url).await;
    let slot = gates
        .unrecorded
        .acquire_owned()
        .await
        .expect("semaphore never closed");
    let validators = Validators {
        etag: state.etag.clone(),
        last_modified: state.last_modified.clone(),
    };
    // The global permit covers fetching and parsing: at most `concurrency` feeds are in
    // either at once.
    let _global = gates
        .global
        .acquire_owned()
        .await
        .expect("semaphore never closed");
    let outcome = {
        turn.start().await;
        let outcome = fetcher.fetch(&url, &validators, clock.now()).await;
        drop(turn);
        outcome
    };
    let mut fetched = Fetched {
        feed,
        state,
        url,
        outcome,
        parsed: None,
        body_hash: None,
        unchanged: false,
        precomputed: None,
        keys: None,
        _slot: slot,
    };
    if let FetchOutcome::Fetched {
        body, final_url, ..
    } = &mut fetched.outcome
    {
        // The body moves into the parser and is dropped after it.
        let body = std::mem::take(body);
        let hash = body_hash(&body);
        fetched.unchanged = fetched.state.body_hash.as_deref() == Some(hash.as_str());
        fetched.body_hash = Some(hash);
        if !fetched.unchanged {
            let base = final_url.clone();
            let (feed, state) = (fetched.feed.clone(), fetched.state.clone());
            let _cpu = gates
                .parsing
                .acquire_owned()
                .await
                .expect("semaphore never closed");
            let prepared = tokio::task::spawn_blocking(move || {
                prepare(&body, &base, &feed, &state, &matcher, known.as_deref())
            })
            .await;
            match prepared {
                Ok(Prepared {
                    parsed,
                    precomputed,
                    keys,
                }) => {
                    fetched.parsed = Some(parsed);
                    fetched.precomputed = precomputed;
                    fetched.keys = keys;
                }
                Err(e) => fetched.parsed = Some(Err(ParseError::Panicked(e.to_string()))),
            }
        }
    }
    Box::new(fetched)
}

/// Feeds fetched but not yet recorded, at most: every fetch slot, and two more so the
/// recorder always has the next feed ready. Each one waiting holds its parsed articles.
pub(super) fn unrecorded_limit(concurrency: usize) -> usize {
    concurrency.max(1).saturating_add(2)
}

/// Matches per article (by index; `None` for articles seen before), and the matcher that
/// computed them.
pub(super) type Precomputed = (
    Arc<crate::matcher::Matcher>,
    Vec<Option<Vec<crate::model::Match>>>,
);

/// What the blocking pool makes of a body.
struct Prepared {
    parsed: Result<ParsedFeed, ParseError>,
    precomputed: Option<Precomputed>,
    keys: Option<Arc<[u64]>>,
}

/// Parses a body, names its articles' source, and matches the articles that were not in the
/// feed's last document — off the loop, on the blocking pool.
fn prepare(
    body: &[u8],
    base: &Url,
    feed: &FeedConfig,
    state: &FeedState,
    matcher: &Arc<crate::matcher::Matcher>,
    known: Option<&[u64]>,
) -> Prepared {
    let mut parsed = match parse(body, base) {
        Ok(p) => p,
        Err(e) => {
            return Prepared {
                parsed: Err(e),
                precomputed: None,
                keys: None,
            };
        }
    };
    let source = source_name(feed, parsed.title.as_deref(), state);
    let mut keys = Vec::with_capacity(parsed.articles.len());
    let mut matches = Vec::with_capacity(parsed.articles.len());
    for a in &mut parsed.articles {
        a.source = source.clone();
        let k = key_hash(&a.key.0);
        keys.push(k);
        let seen_before = known.is_some_and(|set| key_seen(set, k));
        matches.push((!seen_before).then(|| matcher.matches(a)));
    }
    Prepared {
        parsed: Ok(parsed),
        precomputed: Some((matcher.clone(), matches)),
        keys: Some(key_set(keys)),
    }
}

/// The name articles of this feed carry: the configured one, else the feed's title (as just
/// parsed, else as last stored), else its URL.
pub(super) fn source_name(
    feed: &FeedConfig,
    parsed_title: Option<&str>,
    state: &FeedState,
) -> String {
    feed.name
        .clone()
        .or_else(|| parsed_title.map(str::to_string))
        .or_else(|| state.title.clone())
        .unwrap_or_else(|| redact_url(&feed.url))
}

/// A document's key hashes as the sorted set [`key_seen`] searches.
fn key_set(mut keys: Vec<u64>) -> Arc<[u64]> {
    keys.sort_unstable();
    keys.dedup();
    Arc::from(keys)
}

fn key_seen(set: &[u64], key: u64) -> bool {
    set.binary_search(&key).is_ok()
}

fn key_hash(key: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

fn body_hash(body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_documents_key_set_finds_exactly_its_keys() {
        let keys: Vec<u64> = ["b", "a", "c", "a", "z"]
            .iter()
            .map(|k| key_hash(k))
            .collect();
        let set = key_set(keys);
        assert_eq!(set.len(), 4, "duplicates kept once");
        assert!(
            set.windows(2).all(|w| w[0] < w[1]),
            "sorted for binary search"
        );
        for k in ["a", "b", "c", "z"] {
            assert!(key_seen(&set, key_hash(k)), "{k}");
        }
        for k in ["", "d", "A", "aa"] {
            assert!(!key_seen(&set, key_hash(k)), "{k}");
        }
        assert!(!key_seen(&key_set(Vec::new()), key_hash("a")));
    }
}
