//! The loop: poll due feeds, record, alert, notify; sleep until the next due poll; stop when
//! the shutdown future resolves. Wires the edges (fetch, store, notify) to the pure core
//! (parse, matcher, schedule).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tokio::sync::{Mutex, Semaphore};
use tracing::{info, warn};
use url::Url;

use crate::config::{Config, FeedConfig, redact_url};
use crate::fetch::{FetchOutcome, Fetcher, Limits, Validators};
use crate::model::Urgency;
use crate::notify::{Notifier, render};
use crate::parse::{ParsedFeed, parse};
use crate::schedule::{self, Outcome, Policy};
use crate::store::{NewAlert, PollRecord, Store, StoreError};

/// How long in-flight polls may run on after a shutdown request.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What one feed's poll did, for the summary line and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedReport {
    pub name: String,
    pub url: String,
    pub result: PollResult,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollResult {
    Fetched { status: u16, items: usize, new: usize, alerts: usize },
    NotModified,
    Failed { status: Option<u16>, error: String },
}

impl FeedReport {
    pub fn ok(&self) -> bool {
        !matches!(self.result, PollResult::Failed { .. })
    }

    /// One line for `poll --once`.
    pub fn summary_line(&self) -> String {
        match &self.result {
            PollResult::Fetched { status, items, new, alerts } => format!(
                "ok     {}  {status}  {items} items  {new} new  {alerts} alert{}",
                self.name,
                if *alerts == 1 { "" } else { "s" }
            ),
            PollResult::NotModified => format!("ok     {}  304  not modified", self.name),
            PollResult::Failed { error, .. } => format!("error  {}  {error}", self.name),
        }
    }
}

/// The edges the loop drives.
pub struct Engine<N> {
    pub config: Config,
    pub store: Store,
    pub fetcher: Fetcher,
    pub notifier: N,
    hosts: HostGate,
}

impl<N: Notifier> Engine<N> {
    pub fn new(config: Config, store: Store, notifier: N) -> anyhow::Result<Self> {
        let fetcher = Fetcher::new(Limits {
            max_body_bytes: config.settings.max_body_bytes,
            ..Limits::default()
        })?;
        let hosts = HostGate::new(config.settings.host_concurrency, config.settings.host_spacing);
        Ok(Engine {
            config,
            store,
            fetcher,
            notifier,
            hosts,
        })
    }

    /// Polls the given feeds (at most `concurrency` fetches at once, politely per host),
    /// records everything, then delivers pending alerts. Returns one report per feed, in order.
    pub async fn poll(&mut self, feeds: &[FeedConfig]) -> Result<Vec<FeedReport>, StoreError> {
        let now = Utc::now();
        let mut states = Vec::with_capacity(feeds.len());
        for f in feeds {
            states.push(self.store.sync_feed(f.url.as_str(), f.name.as_deref(), now)?);
        }
        let fetcher = &self.fetcher;
        let hosts = &self.hosts;
        let mut fetched = futures_util::stream::iter(feeds.iter().zip(states.iter()).enumerate())
            .map(|(i, (feed, state))| async move {
                let validators = Validators {
                    etag: state.etag.clone(),
                    last_modified: state.last_modified.clone(),
                };
                let _permit = hosts.acquire(&feed.url).await;
                let outcome = fetcher.fetch(&feed.url, &validators, Utc::now()).await;
                drop(_permit);
                let parsed = match &outcome {
                    FetchOutcome::Fetched { body, final_url, .. } => {
                        let body = body.clone();
                        let base = final_url.clone();
                        Some(
                            tokio::task::spawn_blocking(move || parse(&body, &base))
                                .await
                                .unwrap_or_else(|e| Err(crate::parse::ParseError::Panicked(e.to_string()))),
                        )
                    }
                    _ => None,
                };
                (i, outcome, parsed)
            })
            .buffer_unordered(self.config.settings.concurrency.max(1));

        let mut reports: Vec<Option<FeedReport>> = vec![None; feeds.len()];
        while let Some((i, outcome, parsed)) = fetched.next().await {
            let report = record_poll(
                &mut self.store,
                &self.config,
                &feeds[i],
                &states[i],
                outcome,
                parsed,
                Utc::now(),
            )?;
            log_report(&report);
            reports[i] = Some(report);
        }
        drop(fetched);
        self.deliver_pending().await?;
        Ok(reports.into_iter().flatten().collect())
    }

    /// Sends every alert waiting for delivery; a failure is recorded on the alert.
    pub async fn deliver_pending(&mut self) -> Result<(), StoreError> {
        let pending = self.store.pending_alerts(500)?;
        for alert in pending {
            let urgency = self
                .config
                .topics
                .iter()
                .find(|t| t.name == alert.topic)
                .map_or(Urgency::Normal, |t| t.urgency);
            let note = render(&alert, urgency);
            match self.notifier.send(&note).await {
                Ok(()) => self.store.mark_delivered(alert.id, Utc::now())?,
                Err(e) => {
                    warn!(alert = alert.id, topic = %alert.topic, error = %e, "notification failed");
                    self.store.mark_failed(alert.id, &e.0)?;
                }
            }
        }
        Ok(())
    }

    /// Polls every feed when it is due, until `shutdown` resolves. In-flight polls get
    /// [`SHUTDOWN_GRACE`] to finish; an unfinished poll commits nothing.
    pub async fn run(&mut self, shutdown: impl Future<Output = ()>) -> Result<(), StoreError> {
        tokio::pin!(shutdown);
        loop {
            let now = Utc::now();
            let feeds = self.config.feeds.clone();
            let mut due = Vec::new();
            let mut next: Option<DateTime<Utc>> = None;
            for f in &feeds {
                let state = self.store.feed_by_url(f.url.as_str())?;
                match state.and_then(|s| s.next_poll_at) {
                    Some(t) if t > now => next = Some(next.map_or(t, |n| n.min(t))),
                    _ => due.push(f.clone()),
                }
            }
            if !due.is_empty() {
                let pass = self.poll(&due);
                tokio::pin!(pass);
                tokio::select! {
                    r = &mut pass => { r?; continue; }
                    () = &mut shutdown => {
                        info!("shutting down: letting in-flight polls finish");
                        let _ = tokio::time::timeout(SHUTDOWN_GRACE, pass).await;
                        return Ok(());
                    }
                }
            }
            let wait = next
                .and_then(|t| (t - Utc::now()).to_std().ok())
                .unwrap_or(Duration::from_secs(60));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = &mut shutdown => {
                    info!("shutting down");
                    return Ok(());
                }
            }
        }
    }
}

/// Stores one feed's poll: new articles, their alerts and the feed's state, in one transaction.
fn record_poll(
    store: &mut Store,
    config: &Config,
    feed: &FeedConfig,
    state: &crate::store::FeedState,
    outcome: FetchOutcome,
    parsed: Option<Result<ParsedFeed, crate::parse::ParseError>>,
    now: DateTime<Utc>,
) -> Result<FeedReport, StoreError> {
    let policy = Policy {
        default_interval: config.settings.interval,
        feed_interval: feed.interval,
    };
    let first_poll = state.first_polled_at.is_none();
    let name = feed
        .name
        .clone()
        .or_else(|| state.title.clone())
        .unwrap_or_else(|| redact_url(&feed.url));
    let jitter = jitter_for(&feed.url, now);
    let mut tx = store.begin_poll(state.id)?;
    let (record, result) = match (outcome, parsed) {
        (FetchOutcome::NotModified { hints }, _) => {
            let sched = Outcome { ok: true, hints, ttl_minutes: None };
            let rec = PollRecord {
                status: Some(304),
                next_poll_at: Some(schedule::next_poll(now, &policy, &sched, 0, jitter)),
                ..Default::default()
            };
            (rec, PollResult::NotModified)
        }
        (FetchOutcome::Fetched { status, validators, hints, .. }, Some(Ok(parsed))) => {
            let source = feed.name.clone().or_else(|| parsed.title.clone()).unwrap_or_else(|| name.clone());
            let items = parsed.articles.len();
            let articles = parsed
                .articles
                .into_iter()
                .map(|mut a| {
                    a.source = source.clone();
                    a
                })
                .collect();
            let new = tx.insert_new(articles, now)?;
            let notify = !first_poll || config.settings.alert_on_first_poll;
            let matches: Vec<_> = new.iter().map(|n| config.matcher.matches(&n.article)).collect();
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
            tx.record_alerts(&alerts, now)?;
            let sched = Outcome {
                ok: true,
                hints,
                ttl_minutes: parsed.ttl_minutes,
            };
            let rec = PollRecord {
                status: Some(status),
                validators: Some((validators.etag, validators.last_modified)),
                title: parsed.title,
                new_articles: new.len() as u32,
                next_poll_at: Some(schedule::next_poll(now, &policy, &sched, 0, jitter)),
                ..Default::default()
            };
            let result = PollResult::Fetched {
                status,
                items,
                new: new.len(),
                alerts: alerts.len(),
            };
            (rec, result)
        }
        (outcome, parsed) => {
            let (status, error, hints) = match (outcome, parsed) {
                (FetchOutcome::Failed { status, error, hints }, _) => (status, error.to_string(), hints),
                (FetchOutcome::Fetched { status, hints, .. }, Some(Err(e))) => (Some(status), e.to_string(), hints),
                (FetchOutcome::Fetched { status, hints, .. }, _) => (Some(status), "not parsed".to_string(), hints),
                (FetchOutcome::NotModified { hints }, _) => (Some(304), "unexpected".to_string(), hints),
            };
            let failures = state.consecutive_failures.saturating_add(1);
            let sched = Outcome { ok: false, hints, ttl_minutes: None };
            let rec = PollRecord {
                status,
                error: Some(error.clone()),
                next_poll_at: Some(schedule::next_poll(now, &policy, &sched, failures, jitter)),
                ..Default::default()
            };
            (rec, PollResult::Failed { status, error })
        }
    };
    tx.finish(&record, now)?;
    Ok(FeedReport {
        name,
        url: redact_url(&feed.url),
        result,
    })
}

fn log_report(r: &FeedReport) {
    match &r.result {
        PollResult::Fetched { status, new, alerts, .. } if *new > 0 => {
            info!(feed = %r.url, status, new, matched = alerts, "polled")
        }
        PollResult::Fetched { .. } | PollResult::NotModified => {
            tracing::debug!(feed = %r.url, "polled, nothing new")
        }
        PollResult::Failed { status, error } => warn!(feed = %r.url, status, error = %error, "feed failed"),
    }
}

/// A deterministic jitter in 0..1 per feed and poll, so backoffs of many feeds spread out.
fn jitter_for(url: &Url, now: DateTime<Utc>) -> f64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    url.as_str().hash(&mut h);
    now.timestamp().hash(&mut h);
    (h.finish() % 10_000) as f64 / 10_000.0
}

/// Per-host politeness: at most `per_host` requests in flight to one host, and at least
/// `spacing` between the starts of two requests to it.
struct HostGate {
    per_host: usize,
    spacing: Duration,
    hosts: Mutex<HashMap<String, Arc<HostSlot>>>,
}

struct HostSlot {
    permits: Arc<Semaphore>,
    next_start: Mutex<tokio::time::Instant>,
}

impl HostGate {
    fn new(per_host: usize, spacing: Duration) -> Self {
        HostGate {
            per_host: per_host.max(1),
            spacing,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    async fn acquire(&self, url: &Url) -> tokio::sync::OwnedSemaphorePermit {
        let host = format!("{}:{}", url.host_str().unwrap_or(""), url.port_or_known_default().unwrap_or(0));
        let slot = {
            let mut hosts = self.hosts.lock().await;
            hosts
                .entry(host)
                .or_insert_with(|| {
                    Arc::new(HostSlot {
                        permits: Arc::new(Semaphore::new(self.per_host)),
                        next_start: Mutex::new(tokio::time::Instant::now()),
                    })
                })
                .clone()
        };
        let permit = slot.permits.clone().acquire_owned().await.expect("semaphore never closed");
        let start = {
            let mut next = slot.next_start.lock().await;
            let start = (*next).max(tokio::time::Instant::now());
            *next = start + self.spacing;
            start
        };
        tokio::time::sleep_until(start).await;
        permit
    }
}
