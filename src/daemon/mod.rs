//! The loop. The database owns the schedule (`feeds.next_poll_at`); the loop starts every
//! due feed as its own task (bounded by the global and per-host limits), records each result
//! as it arrives, and otherwise sleeps on one timer until the earliest next poll — waking early
//! only for a finished poll, a reload or shutdown.
//!
//! Wires the edges (fetch, store, notify) to the pure core (parse, matcher, schedule).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tracing::{debug, error, info, warn};
use url::Url;

use crate::config::{self, Config, FeedConfig, redact_url};
use crate::desktop::{self, AlertContent, Feedback, Notifier, render, render_summary};
use crate::fetch::{FetchOutcome, Fetcher, Limits, Validators};
use crate::flood::{self, Candidate, Delivery, FloodState};
use crate::learn::ModelCache;
use crate::links::host_key;
use crate::matcher::LearnError;
use crate::model::{FeedId, Urgency};
use crate::model_cache::DirCache;
use crate::parse::{ParseError, ParsedFeed, parse};
use crate::politeness::HostGate;
use crate::schedule::{self, Outcome, Policy};
use crate::store::{FeedState, Mark, NewAlert, PollRecord, Store, StoreError};

/// How long in-flight polls may run on after a shutdown request.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Permanent redirects are adopted once seen on this many polls in a row.
pub const REDIRECT_ADOPT_AFTER: u32 = 2;

// ---------------------------------------------------------------------------------------------
// Seams: time and HTTP, so that tests can drive the loop.

/// Where the loop reads the time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Wall time that advances with tokio's clock, so it follows `tokio::time::pause()`.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    wall: DateTime<Utc>,
    start: tokio::time::Instant,
}

impl TokioClock {
    pub fn starting_at(wall: DateTime<Utc>) -> Self {
        TokioClock {
            wall,
            start: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = tokio::time::Instant::now() - self.start;
        self.wall + chrono::Duration::from_std(elapsed).unwrap_or_default()
    }
}

/// Something that fetches feeds.
pub trait Fetch: Send + Sync + 'static {
    fn fetch(
        &self,
        url: &Url,
        validators: &Validators,
        now: DateTime<Utc>,
    ) -> impl Future<Output = FetchOutcome> + Send;
}

impl Fetch for Fetcher {
    fn fetch(
        &self,
        url: &Url,
        validators: &Validators,
        now: DateTime<Utc>,
    ) -> impl Future<Output = FetchOutcome> + Send {
        Fetcher::fetch(self, url, validators, now)
    }
}

// ---------------------------------------------------------------------------------------------
// Reports

/// What one feed's poll did, for the summary line and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedReport {
    pub name: String,
    pub url: String,
    pub result: PollResult,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollResult {
    /// `backlog`: the feed's first poll, whose alerts are recorded without notifying.
    Fetched {
        status: u16,
        items: usize,
        new: usize,
        alerts: usize,
        backlog: bool,
    },
    NotModified,
    /// A 200 whose body is byte for byte the last one parsed.
    Unchanged {
        status: u16,
    },
    Failed {
        status: Option<u16>,
        error: String,
    },
}

impl FeedReport {
    pub fn ok(&self) -> bool {
        !matches!(self.result, PollResult::Failed { .. })
    }

    /// One line for `poll --once`.
    pub fn summary_line(&self) -> String {
        match &self.result {
            PollResult::Fetched {
                status,
                items,
                new,
                alerts,
                backlog,
            } => format!(
                "ok     {}  {status}  {items} items  {new} new  {alerts} alert{}{}",
                self.name,
                if *alerts == 1 { "" } else { "s" },
                if *backlog && *alerts > 0 {
                    " (first poll: recorded, not notified)"
                } else {
                    ""
                }
            ),
            PollResult::NotModified => format!("ok     {}  304  not modified", self.name),
            PollResult::Unchanged { status } => {
                format!("ok     {}  {status}  unchanged", self.name)
            }
            PollResult::Failed { error, .. } => format!("error  {}  {error}", self.name),
        }
    }
}

/// Counters for tests and `status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Turns of the loop (each one a wake-up).
    pub wakeups: u64,
    /// Polls recorded.
    pub polls: u64,
    /// Successful reloads.
    pub reloads: u64,
}

/// Why the watch-list should be read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadCause {
    /// SIGHUP.
    Signal,
    /// The file changed on disk.
    FileChanged,
}

/// The loop's inputs, one at a time.
enum Event {
    /// Shutdown was requested: stop scheduling, let in-flight polls finish.
    Shutdown,
    /// The watch-list should be read again.
    Reload(ReloadCause),
    /// A feed's fetch (and parse) finished.
    PollDone(Result<(tokio::task::Id, Box<Fetched>), tokio::task::JoinError>),
    /// The user acted on one of our notifications.
    Feedback(Feedback),
    /// Time to tell systemd we are alive (only reached while the loop turns).
    Watchdog,
    /// Test hook (`TIDINGS_TEST_HOOKS=1`, SIGUSR1): wedge the loop, to prove the watchdog stops.
    Wedge,
    /// The timer for the earliest next poll (or delivery retry) fired.
    Timer,
}

/// Whether notifications get through, for backoff and for logging the condition once.
#[derive(Debug, Clone, Copy, Default)]
struct DeliveryState {
    failures: u32,
    retry_at: Option<DateTime<Utc>>,
}

/// First retry after a failed notification; doubles up to [`DELIVERY_BACKOFF_CAP`].
pub const DELIVERY_BACKOFF_BASE: Duration = Duration::from_secs(15);
pub const DELIVERY_BACKOFF_CAP: Duration = Duration::from_secs(10 * 60);
/// When to try a delivery again after `failures` failed attempts in a row (1 = the first):
/// [`DELIVERY_BACKOFF_BASE`] doubling up to [`DELIVERY_BACKOFF_CAP`].
fn retry_after_failures(now: DateTime<Utc>, failures: u32) -> DateTime<Utc> {
    let exp = failures.saturating_sub(1).min(16);
    let backoff = DELIVERY_BACKOFF_BASE
        .saturating_mul(1 << exp)
        .min(DELIVERY_BACKOFF_CAP);
    now + chrono::Duration::from_std(backoff).unwrap_or_default()
}

/// How long the loop waits when another writer holds the database.
pub const BUSY_PAUSE: Duration = Duration::from_secs(2);
/// A poll that could not be recorded (database locked) is retried after this long.
pub const BUSY_RETRY: Duration = Duration::from_secs(30);

/// The loop's own state between turns.
struct LoopState {
    watchdog_every: Option<Duration>,
    next_watchdog: Option<tokio::time::Instant>,
    wedge: Option<tokio::signal::unix::Signal>,
}

/// Retention deletes at most this many rows per step.
pub const PRUNE_BATCH: usize = 5_000;
/// "Mute topic for 1 h".
pub const MUTE_FOR: Duration = Duration::from_secs(3600);

/// What a shown notification's actions act on.
#[derive(Debug, Clone)]
struct Shown {
    link: Option<String>,
    topic: Option<String>,
    /// The alert it shows on its own (not a summary): what "Not relevant"/"Relevant" mark.
    alert: Option<i64>,
}

/// A fetched (and parsed) feed, on its way to the store.
pub struct Fetched {
    feed: FeedConfig,
    state: FeedState,
    url: Url,
    outcome: FetchOutcome,
    parsed: Option<Result<ParsedFeed, ParseError>>,
    /// SHA-256 of the body, when there was one.
    body_hash: Option<String>,
    /// The body is the one parsed last time: nothing to parse or store.
    unchanged: bool,
    /// Matches computed on the blocking pool for the articles not seen in the feed's last
    /// document (by index into `parsed.articles`), with the matcher that computed them.
    precomputed: Option<Precomputed>,
    /// Hashes of every article key in this document, to tell new from known next time.
    keys: Option<Arc<[u64]>>,
    /// Holds one of the places for fetched-but-unrecorded feeds until the feed is recorded.
    _slot: tokio::sync::OwnedSemaphorePermit,
}

// ---------------------------------------------------------------------------------------------
// The daemon

pub struct Daemon<F, N, C> {
    pub config: Config,
    pub store: Store,
    pub notifier: N,
    fetcher: Arc<F>,
    clock: Arc<C>,
    hosts: Arc<HostGate>,
    global: Arc<Semaphore>,
    /// Feeds fetched but not yet recorded, at most [`unrecorded_limit`]: bounds memory at any N.
    unrecorded: Arc<Semaphore>,
    /// Documents parsed and matched at once: one per CPU. The work is CPU-bound, so more at
    /// once is no faster, and each holds a parsed document in memory.
    parsing: Arc<Semaphore>,
    /// Per feed, the scheduling hints of its last parsed document.
    feed_hints: HashMap<FeedId, schedule::FeedHints>,
    /// Polls that could not be recorded (database locked), to run again then.
    retry_soon: HashMap<FeedId, DateTime<Utc>>,
    /// Per feed, the hashes of the article keys in its last document, sorted (8 bytes a key,
    /// kept between polls for every feed: a `HashSet` took twice that).
    known: HashMap<FeedId, Arc<[u64]>>,
    tasks: JoinSet<Box<Fetched>>,
    in_flight: HashMap<tokio::task::Id, FeedId>,
    flood: FloodState,
    /// Whether `flood` was read from the store yet.
    flood_loaded: bool,
    delivery: DeliveryState,
    /// Alerts shown but not yet marked delivered (the database was locked): `(ids, when, via)`.
    /// Marked before anything else is shown, so a locked database never shows one twice.
    shown_unmarked: Vec<(Vec<i64>, DateTime<Utc>, &'static str)>,
    /// Alerts wait for quiet hours to end: deliver again then.
    hold_until: Option<DateTime<Utc>>,
    feedback: Option<mpsc::UnboundedReceiver<Feedback>>,
    /// When retention runs next.
    next_prune: Option<DateTime<Utc>>,
    /// Backoff per sink, by name.
    sink_state: HashMap<String, crate::sinks::SinkState>,
    sink_client: Option<reqwest::Client>,
    /// systemd's notification socket (a no-op outside systemd).
    sd: crate::service::SdNotify,
    last_poll_at: Option<DateTime<Utc>>,
    /// Notifications on screen whose actions we can act on, by server id (bounded).
    shown: HashMap<u32, Shown>,
    pub stats: Stats,
}

impl<N: Notifier> Daemon<Fetcher, N, SystemClock> {
    /// The production daemon: real HTTP, the system clock.
    pub fn new(config: Config, store: Store, notifier: N) -> anyhow::Result<Self> {
        let fetcher = Fetcher::new(Limits {
            max_body_bytes: config.settings.max_body_bytes,
            ..Limits::default()
        })?;
        Ok(Daemon::with_parts(
            config,
            store,
            fetcher,
            notifier,
            SystemClock,
        ))
    }
}

impl<F: Fetch, N: Notifier, C: Clock> Daemon<F, N, C> {
    pub fn with_parts(config: Config, store: Store, fetcher: F, notifier: N, clock: C) -> Self {
        let hosts = Arc::new(HostGate::new(
            config.settings.host_concurrency,
            config.settings.host_spacing,
        ));
        let global = Arc::new(Semaphore::new(config.settings.concurrency.max(1)));
        let unrecorded = Arc::new(Semaphore::new(unrecorded_limit(
            config.settings.concurrency,
        )));
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let parsing = Arc::new(Semaphore::new(cpus));
        Daemon {
            config,
            store,
            notifier,
            fetcher: Arc::new(fetcher),
            clock: Arc::new(clock),
            hosts,
            global,
            unrecorded,
            parsing,
            known: HashMap::new(),
            retry_soon: HashMap::new(),
            feed_hints: HashMap::new(),
            tasks: JoinSet::new(),
            in_flight: HashMap::new(),
            flood: FloodState::default(),
            flood_loaded: false,
            delivery: DeliveryState::default(),
            shown_unmarked: Vec::new(),
            hold_until: None,
            feedback: None,
            next_prune: None,
            sink_state: HashMap::new(),
            sink_client: None,
            sd: crate::service::SdNotify::disabled(),
            last_poll_at: None,
            shown: HashMap::new(),
            stats: Stats::default(),
        }
    }

    /// Report readiness, status and liveness to systemd through `sd`.
    pub fn set_service_notify(&mut self, sd: crate::service::SdNotify) {
        self.sd = sd;
    }

    /// Keeps systemd's STATUS= line current: "42 feeds · last poll 12:03 · 3 alerts today · 1 feed failing".
    fn report_status(&mut self) -> Result<(), StoreError> {
        if !self.sd.is_active() {
            return Ok(());
        }
        let midnight = chrono::Local::now()
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(chrono::Local).earliest())
            .map_or_else(Utc::now, |t| t.with_timezone(&Utc));
        let today = self.store.count_alerts_since(midnight)?.max(0) as u64;
        let failing = self.store.failing_feeds()?;
        let line = crate::service::status_line(
            self.config.feeds.len(),
            self.last_poll_at.map(|t| t.with_timezone(&chrono::Local)),
            today,
            failing,
        );
        if let Err(e) = self.sd.status(&line) {
            debug!(error = %e, "cannot send STATUS to systemd");
        }
        Ok(())
    }

    /// Where the user's clicks on our notifications arrive.
    pub fn set_feedback(&mut self, rx: mpsc::UnboundedReceiver<Feedback>) {
        self.feedback = Some(rx);
    }

    /// Makes sure every configured feed has a row, marks which are configured, and spreads
    /// the first polls of feeds that are due (or new) over their first interval.
    fn sync_config(&mut self, spread: bool) -> Result<(), StoreError> {
        let now = self.clock.now();
        let feeds: Vec<(&str, Option<&str>)> = self
            .config
            .feeds
            .iter()
            .map(|f| (f.url.as_str(), f.name.as_deref()))
            .collect();
        let states = self.store.sync_feeds(&feeds, now)?;
        let due: Vec<(FeedId, Duration)> = self
            .config
            .feeds
            .iter()
            .zip(&states)
            .filter(|(_, s)| s.next_poll_at.is_none_or(|t| t <= now))
            .map(|(f, s)| (s.id, self.policy(f).interval()))
            .collect();
        for sink in &self.config.sinks {
            self.store.register_sink(&sink.name)?;
        }
        let urls: Vec<&str> = self.config.feeds.iter().map(|f| f.url.as_str()).collect();
        self.store.set_configured(&urls)?;
        if spread && due.len() > 1 {
            let n = due.len() as u32;
            let polls: Vec<(FeedId, DateTime<Utc>)> = due
                .into_iter()
                .enumerate()
                .map(|(i, (id, interval))| {
                    let offset = interval / n * i as u32;
                    (
                        id,
                        now + chrono::Duration::from_std(offset).unwrap_or_default(),
                    )
                })
                .collect();
            self.store.set_next_polls(&polls)?;
        }
        Ok(())
    }

    fn policy(&self, feed: &FeedConfig) -> Policy {
        Policy {
            default_interval: self.config.settings.interval,
            feed_interval: feed.interval,
        }
    }

    /// Starts one feed's fetch as its own task.
    fn spawn_poll(&mut self, feed: FeedConfig, state: FeedState) {
        let fetcher = self.fetcher.clone();
        let hosts = self.hosts.clone();
        let global = self.global.clone();
        let unrecorded = self.unrecorded.clone();
        let parsing = self.parsing.clone();
        let clock = self.clock.clone();
        let matcher = self.config.matcher();
        let known = self.known.get(&state.id).cloned();
        let url = state
            .fetch_url
            .as_deref()
            .and_then(|u| Url::parse(u).ok())
            .unwrap_or_else(|| feed.url.clone());
        let id = state.id;
        let handle = self.tasks.spawn(async move {
            let slot = unrecorded
                .acquire_owned()
                .await
                .expect("semaphore never closed");
            let validators = Validators {
                etag: state.etag.clone(),
                last_modified: state.last_modified.clone(),
            };
            // The global permit covers fetching and parsing: at most `concurrency` feeds are
            // in either at once.
            let _global = global
                .acquire_owned()
                .await
                .expect("semaphore never closed");
            let outcome = {
                let _host = hosts.acquire(&url).await;
                fetcher.fetch(&url, &validators, clock.now()).await
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
                    let _cpu = parsing
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
        });
        self.in_flight.insert(handle.id(), id);
    }

    /// Polls the given feeds now (at most `concurrency` at once, politely per host), records
    /// everything, then delivers pending alerts. One report per feed, in the given order.
    pub async fn poll(&mut self, feeds: &[FeedConfig]) -> Result<Vec<FeedReport>, StoreError> {
        let now = self.clock.now();
        let rows: Vec<(&str, Option<&str>)> = feeds
            .iter()
            .map(|f| (f.url.as_str(), f.name.as_deref()))
            .collect();
        let states = self.store.sync_feeds(&rows, now)?;
        // A sink receives the alerts created from its first run on.
        for sink in &self.config.sinks {
            self.store.register_sink(&sink.name)?;
        }
        for (f, state) in feeds.iter().zip(states) {
            self.spawn_poll(f.clone(), state);
        }
        let mut reports: HashMap<String, FeedReport> = HashMap::new();
        while let Some(done) = self.tasks.join_next_with_id().await {
            if let Some((url, report)) = self.on_done(done)? {
                reports.insert(url, report);
            }
        }
        self.deliver_pending().await?;
        Ok(feeds
            .iter()
            .filter_map(|f| reports.remove(f.url.as_str()))
            .collect())
    }

    /// Runs until `shutdown` resolves: polls feeds when due, reloads the watch-list when
    /// `reloads` says so. In-flight polls get [`SHUTDOWN_GRACE`] to finish; an unfinished
    /// poll commits nothing.
    pub async fn run(
        &mut self,
        shutdown: impl Future<Output = ()>,
        mut reloads: mpsc::Receiver<ReloadCause>,
    ) -> Result<(), StoreError> {
        self.sync_config(true)?;
        match self.deliver_pending().await {
            Err(e) if !e.is_busy() => return Err(e),
            _ => {} // a locked database delays delivery; the loop retries
        }
        let _ = self.sd.ready();
        self.report_status()?;
        let watchdog_every = self.sd.watchdog_interval();
        let mut ls = LoopState {
            watchdog_every,
            next_watchdog: watchdog_every.map(|d| tokio::time::Instant::now() + d),
            wedge: test_hook_signal(),
        };

        tokio::pin!(shutdown);
        loop {
            match self.turn(shutdown.as_mut(), &mut reloads, &mut ls).await {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) if e.is_busy() => {
                    // Another writer holds the database past busy_timeout: nothing is lost
                    // (an unrecorded poll is retried); wait a little and carry on.
                    warn!(error = %e, "the database is locked by another writer; trying again shortly");
                    tokio::select! {
                        biased;
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(BUSY_PAUSE) => {}
                    }
                }
                Err(e) => return Err(e),
            }
        }
        info!(in_flight = self.tasks.len(), "shutting down");
        let _ = self.sd.stopping();
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        while !self.tasks.is_empty() {
            match tokio::time::timeout_at(deadline, self.tasks.join_next_with_id()).await {
                Ok(Some(done)) => {
                    self.on_done(done)?;
                }
                Ok(None) => break,
                Err(_) => {
                    warn!(
                        abandoned = self.tasks.len(),
                        "polls still running after the grace period; nothing of them is recorded"
                    );
                    self.tasks.abort_all();
                    break;
                }
            }
        }
        Ok(())
    }

    /// The daemon is about to idle (nothing in flight, waiting for the next event): give back
    /// the memory that work freed (SQLite's page cache, the allocator's free lists).
    fn release_memory(&self) {
        let _ = self.store.release_memory();
        crate::service::trim_heap();
    }

    /// One turn of the loop: due work, then wait for one event and handle it. `Ok(true)` when
    /// shutdown was requested.
    async fn turn<S: Future<Output = ()>>(
        &mut self,
        shutdown: std::pin::Pin<&mut S>,
        reloads: &mut mpsc::Receiver<ReloadCause>,
        ls: &mut LoopState,
    ) -> Result<bool, StoreError> {
        self.stats.wakeups += 1;
        let now = self.clock.now();
        if self.sink_retry_at().is_some_and(|t| t <= now) {
            self.deliver_sinks().await?;
        }
        if [self.delivery.retry_at, self.hold_until]
            .into_iter()
            .flatten()
            .any(|t| t <= now)
        {
            self.deliver_pending().await?;
        }
        // Due polls start first (as tasks); retention runs while they fetch.
        let due_next = self.start_due(now)?;
        if self.next_prune.is_none_or(|t| t <= now) {
            self.prune(now)?;
        }
        let next = [
            due_next,
            self.delivery.retry_at,
            self.hold_until,
            self.next_prune,
            self.sink_retry_at(),
        ]
        .into_iter()
        .flatten()
        .min();
        let wait = next
            .and_then(|t| (t - now).to_std().ok())
            .unwrap_or(Duration::from_secs(24 * 3600));
        if self.tasks.is_empty() {
            // About to idle: what this turn read (every feed's state, status counts) is not
            // needed until the next wake-up, which is rare when idle.
            self.release_memory();
        }
        let event = tokio::select! {
            biased;
            () = shutdown => Event::Shutdown,
            Some(cause) = reloads.recv() => Event::Reload(cause),
            Some(fb) = next_feedback(&mut self.feedback) => Event::Feedback(fb),
            () = sleep_until_opt(ls.next_watchdog) => Event::Watchdog,
            Some(()) = recv_opt(&mut ls.wedge) => Event::Wedge,
            Some(done) = self.tasks.join_next_with_id(), if !self.tasks.is_empty() => Event::PollDone(done),
            () = tokio::time::sleep(wait) => Event::Timer,
        };
        match event {
            Event::Shutdown => return Ok(true),
            Event::Reload(cause) => self.reload(cause).await?,
            Event::PollDone(done) => {
                self.last_poll_at = Some(self.clock.now());
                let recorded = self.on_done(done)?;
                self.report_status()?;
                if let Some((_, report)) = recorded
                    && matches!(report.result, PollResult::Fetched { alerts, backlog: false, .. } if alerts > 0)
                {
                    self.deliver_pending().await?;
                }
            }
            Event::Feedback(fb) => self.on_feedback(fb)?,
            Event::Watchdog => {
                // Alive means: the loop turns (we are here) and the database answers.
                if self.store.ping().is_ok() {
                    let _ = self.sd.watchdog();
                }
                ls.next_watchdog = ls.watchdog_every.map(|d| tokio::time::Instant::now() + d);
            }
            Event::Wedge => {
                warn!("test hook: wedging the main loop");
                loop {
                    std::thread::sleep(Duration::from_secs(3600));
                }
            }
            Event::Timer => {}
        }
        Ok(false)
    }

    /// Starts every feed that is due and not in flight; returns when the next one is due.
    fn start_due(&mut self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut states: HashMap<String, FeedState> = self
            .store
            .feeds()?
            .into_iter()
            .map(|s| (s.url.clone(), s))
            .collect();
        let deferred: HashMap<String, DateTime<Utc>> = self
            .store
            .host_deferrals(now)?
            .into_iter()
            .map(|d| (d.host, d.until))
            .collect();
        let busy: HashSet<FeedId> = self.in_flight.values().copied().collect();
        let mut next: Option<DateTime<Utc>> = None;
        let feeds = self.config.feeds.clone();
        for feed in feeds {
            let Some(state) = states.remove(feed.url.as_str()) else {
                continue;
            };
            if busy.contains(&state.id) {
                continue;
            }
            if state.disabled_reason.is_some() {
                if state.disabled_config.as_deref() == Some(fingerprint(&feed).as_str()) {
                    continue;
                }
                info!(feed = %redact_url(&feed.url), "watch-list entry edited: polling the disabled feed again");
                self.store.enable_feed(feed.url.as_str())?;
            }
            let fetch_url = state.fetch_url.as_deref().and_then(|u| Url::parse(u).ok());
            let host = host_key(fetch_url.as_ref().unwrap_or(&feed.url));
            let mut due_at = state.next_poll_at.unwrap_or(now);
            if let Some(until) = deferred.get(&host) {
                due_at = due_at.max(*until);
            }
            if let Some(retry) = self.retry_soon.get(&state.id) {
                due_at = due_at.max(*retry);
            }
            if due_at <= now {
                self.retry_soon.remove(&state.id);
                self.spawn_poll(feed, state);
            } else {
                next = Some(next.map_or(due_at, |n| n.min(due_at)));
            }
        }
        Ok(next)
    }

    /// Records a finished poll. Returns the feed's URL and report.
    fn on_done(
        &mut self,
        done: Result<(tokio::task::Id, Box<Fetched>), tokio::task::JoinError>,
    ) -> Result<Option<(String, FeedReport)>, StoreError> {
        let fetched = match done {
            Ok((id, fetched)) => {
                self.in_flight.remove(&id);
                fetched
            }
            Err(e) => {
                // A poll task that panicked: its feed is simply polled again later.
                self.in_flight.remove(&e.id());
                error!(error = %e, "a poll task failed");
                return Ok(None);
            }
        };
        let now = self.clock.now();
        let Fetched {
            feed,
            state,
            url,
            outcome,
            parsed,
            body_hash,
            unchanged,
            precomputed,
            keys,
            _slot,
        } = *fetched;
        let host = host_key(&url);
        let retry_after = match &outcome {
            FetchOutcome::Failed {
                status: Some(s @ (429 | 503)),
                hints,
                ..
            } => hints.retry_after.map(|t| (*s, t)),
            _ => None,
        };
        let gone = matches!(
            outcome,
            FetchOutcome::Failed {
                status: Some(410),
                ..
            }
        );
        if let Some(Ok(p)) = &parsed {
            self.feed_hints.insert(state.id, p.hints.clone());
        }
        let extra = Extra {
            body_hash,
            unchanged,
            precomputed,
            last_hints: self.feed_hints.get(&state.id).cloned().unwrap_or_default(),
        };
        let recorded = record_poll(
            &mut self.store,
            &self.config,
            &feed,
            &state,
            outcome,
            parsed,
            extra,
            now,
        );
        let report = match recorded {
            Ok(r) => r,
            Err(e) if e.is_busy() => {
                warn!(feed = %redact_url(&feed.url), error = %e, "database locked by another writer; this poll is retried");
                let retry = now + chrono::Duration::from_std(BUSY_RETRY).unwrap_or_default();
                self.retry_soon.insert(state.id, retry);
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        if let Some(keys) = keys {
            self.known.insert(state.id, keys);
        }
        self.stats.polls += 1;
        log_report(&report);
        if let Some((status, until)) = retry_after {
            info!(host = %host, until = %until, "host asked us to come back later; deferring all its feeds");
            self.store
                .defer_host(&host, until, &format!("HTTP {status} with Retry-After"))?;
        }
        if gone {
            warn!(feed = %report.url, "feed is gone (410); not polling it again until its watch-list entry changes or `tidings feeds enable`");
            self.store
                .disable_feed(state.id, "410 Gone", &fingerprint(&feed))?;
        }
        Ok(Some((feed.url.to_string(), report)))
    }

    /// Reads the watch-list again. A valid one replaces the running config (feeds and topics
    /// added, removed or changed; removed feeds keep their history); an invalid one changes
    /// nothing and is reported in the log and in `status`.
    /// The user's marks join the topics' examples ([`learn_from_marks`]); loading and training
    /// run on the blocking pool, not on a runtime worker.
    async fn reload(&mut self, cause: ReloadCause) -> Result<(), StoreError> {
        let _ = self.sd.reloading();
        let result = self.reload_inner(cause).await;
        let _ = self.sd.ready();
        self.report_status()?;
        result
    }

    async fn reload_inner(&mut self, cause: ReloadCause) -> Result<(), StoreError> {
        let marks = read_marks(&self.store);
        let path = self.config.path.clone();
        let cache = DirCache::beside(self.store.path());
        let loaded = tokio::task::spawn_blocking(move || {
            config::load(&path)
                .map_err(|e| e.to_string())
                .and_then(|c| learn_from_marks(c, &marks, &cache).map_err(|e| e.to_string()))
        })
        .await
        .unwrap_or_else(|e| Err(format!("loading the watch-list failed: {e}")));
        match loaded {
            Ok(new) => {
                let settings_changed = new.settings != self.config.settings;
                info!(
                    ?cause,
                    feeds = new.feeds.len(),
                    topics = new.topics.len(),
                    "watch-list reloaded"
                );
                self.config = new;
                if settings_changed {
                    let s = &self.config.settings;
                    self.hosts = Arc::new(HostGate::new(s.host_concurrency, s.host_spacing));
                    self.global = Arc::new(Semaphore::new(s.concurrency.max(1)));
                    self.unrecorded = Arc::new(Semaphore::new(unrecorded_limit(s.concurrency)));
                }
                self.sync_config(true)?;
                self.store.set_state("config_error", None)?;
                self.stats.reloads += 1;
            }
            Err(e) => {
                error!(
                    ?cause,
                    "watch-list not reloaded, the running one stays in force: {e}"
                );
                let at = crate::store::ts(self.clock.now());
                self.store
                    .set_state("config_error", Some(&format!("{at}: {e}")))?;
            }
        }
        Ok(())
    }

    /// Delivers what is pending, as flood control plans it: alerts of muted topics are marked
    /// `muted`; a failure is recorded on the alerts, logged once while it lasts, and retried
    /// with backoff.
    pub async fn deliver_pending(&mut self) -> Result<(), StoreError> {
        self.deliver_desktop().await?;
        self.deliver_sinks().await
    }

    /// The earliest time a failed sink is due for a retry.
    fn sink_retry_at(&self) -> Option<DateTime<Utc>> {
        self.sink_state.values().filter_map(|s| s.retry_at).min()
    }

    /// Hands every alert a sink has not received yet to it; a failing sink backs off and the
    /// others carry on.
    async fn deliver_sinks(&mut self) -> Result<(), StoreError> {
        if self.config.sinks.is_empty() {
            return Ok(());
        }
        let now = self.clock.now();
        let client = match &self.sink_client {
            Some(c) => c.clone(),
            None => {
                let c = crate::fetch::client_builder()
                    .user_agent(crate::fetch::USER_AGENT)
                    .connect_timeout(crate::fetch::CONNECT_TIMEOUT)
                    .build()
                    .unwrap_or_default();
                self.sink_client = Some(c.clone());
                c
            }
        };
        for sink in self.config.sinks.clone() {
            let state = self.sink_state.entry(sink.name.clone()).or_default();
            if state.retry_at.is_some_and(|t| t > now) {
                continue;
            }
            state.retry_at = None;
            for alert in self.store.sink_pending(&sink.name, 100)? {
                let result = crate::sinks::deliver(&sink.kind, &client, &alert).await;
                self.store.mark_sink(
                    alert.id,
                    &sink.name,
                    self.clock.now(),
                    result.as_ref().err().map(String::as_str),
                )?;
                let state = self.sink_state.entry(sink.name.clone()).or_default();
                match result {
                    Ok(()) => {
                        if state.failures > 0 {
                            info!(sink = %sink.name, "sink works again");
                        }
                        *state = crate::sinks::SinkState::default();
                    }
                    Err(e) => {
                        state.failures += 1;
                        if state.failures == 1 {
                            warn!(sink = %sink.name, error = %e, "sink failed; its alerts are retried");
                        }
                        state.retry_at = Some(retry_after_failures(now, state.failures));
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// Marks the alerts already shown as delivered. On failure (a locked database) they stay
    /// listed, and delivery is retried shortly: they are marked then, never shown again.
    fn mark_shown(&mut self, now: DateTime<Utc>) -> Result<(), StoreError> {
        while let Some((ids, at, via)) = self.shown_unmarked.first() {
            if let Err(e) = self.store.mark_delivered(ids, *at, via) {
                let pause = chrono::Duration::from_std(BUSY_PAUSE).unwrap_or_default();
                self.delivery.retry_at = Some(now + pause);
                return Err(e);
            }
            self.shown_unmarked.remove(0);
        }
        Ok(())
    }

    /// Desktop delivery, as flood control plans it.
    async fn deliver_desktop(&mut self) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.mark_shown(now)?;
        if !self.flood_loaded {
            // Limits hold across restarts and separate `poll --once` runs.
            let hour_ago = now - chrono::Duration::hours(1);
            self.flood = FloodState::from_shown(self.store.shown_since(hour_ago)?);
            self.flood_loaded = true;
        }
        self.hold_until = None;
        let pending = self.store.pending_alerts(1000)?;
        if pending.is_empty() {
            self.delivery.retry_at = None;
            return Ok(());
        }
        let muted: HashSet<String> = self
            .store
            .muted_topics(now)?
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        let (silenced, pending): (Vec<_>, Vec<_>) =
            pending.into_iter().partition(|a| muted.contains(&a.topic));
        if !silenced.is_empty() {
            let ids: Vec<i64> = silenced.iter().map(|a| a.id).collect();
            self.store.mark_delivered(&ids, now, "muted")?;
        }
        let topics = self.config.topics.clone();
        let urgency = |topic: &str| {
            topics
                .iter()
                .find(|t| t.name == topic)
                .map_or(Urgency::Normal, |t| t.urgency)
        };
        let candidates: Vec<Candidate<'_>> = pending
            .iter()
            .map(|a| Candidate {
                id: a.id,
                topic: &a.topic,
                critical: urgency(&a.topic) == Urgency::Critical,
                created_at: a.created_at,
            })
            .collect();
        let plan = flood::plan(
            now,
            &chrono::Local,
            &candidates,
            &mut self.flood,
            &self.config.settings.flood,
        );
        self.hold_until = plan.wake_at;
        let by_id: HashMap<i64, &crate::store::PendingAlert> =
            pending.iter().map(|a| (a.id, a)).collect();
        let expire = self.config.settings.notification_timeout;
        let mut deliveries = plan.deliveries.into_iter();
        while let Some(delivery) = deliveries.next() {
            let (note, ids, via, topic) = match delivery {
                Delivery::One(id) => {
                    let Some(a) = by_id.get(&id) else { continue };
                    let content = AlertContent {
                        topic: &a.topic,
                        headline: &a.title,
                        source: &a.source,
                        published: a.published_at,
                        snippet: &a.snippet,
                        link: a.link.as_deref(),
                        score: a.learned.as_ref().map(|l| l.score),
                    };
                    let mut note = render(&content, urgency(&a.topic), now, expire);
                    note.mark_alert = Some(id);
                    (note, vec![id], "desktop", a.topic.as_str())
                }
                Delivery::Summary(ids) => {
                    let mut items: Vec<&crate::store::PendingAlert> =
                        ids.iter().filter_map(|id| by_id.get(id).copied()).collect();
                    items.sort_by_key(|a| {
                        std::cmp::Reverse((a.published_at.unwrap_or(a.created_at), a.id))
                    });
                    let list: Vec<(&str, &str, Option<&str>)> = items
                        .iter()
                        .map(|a| (a.topic.as_str(), a.title.as_str(), a.link.as_deref()))
                        .collect();
                    (
                        render_summary(&list, Urgency::Normal, expire),
                        ids,
                        "summary",
                        "",
                    )
                }
            };
            match self.notifier.send(&note).await {
                Ok(server_id) => {
                    self.flood.record(now, topic);
                    self.remember(server_id, &note);
                    if self.delivery.failures > 0 {
                        info!(
                            after_failures = self.delivery.failures,
                            "notifications get through again"
                        );
                    }
                    self.delivery = DeliveryState::default();
                    self.shown_unmarked.push((ids, self.clock.now(), via));
                    self.mark_shown(now)?;
                }
                Err(e) => {
                    // The rest of this round is not attempted; it waits with the same reason.
                    let mut ids = ids;
                    for rest in deliveries.by_ref() {
                        match rest {
                            Delivery::One(id) => ids.push(id),
                            Delivery::Summary(more) => ids.extend(more),
                        }
                    }
                    self.store.mark_failed(&ids, &e.0)?;
                    self.delivery.failures += 1;
                    if self.delivery.failures == 1 {
                        warn!(error = %e, "cannot show notifications; alerts stay pending and are retried");
                    } else {
                        debug!(error = %e, failures = self.delivery.failures, "notification retry failed");
                    }
                    self.delivery.retry_at =
                        Some(retry_after_failures(now, self.delivery.failures));
                    break;
                }
            }
        }
        Ok(())
    }

    /// Retention, once a day: forget old articles without alerts (and old alerts if set), in
    /// steps of [`PRUNE_BATCH`] rows so that a large backlog never holds up the loop for long.
    fn prune(&mut self, now: DateTime<Utc>) -> Result<(), StoreError> {
        let s = &self.config.settings;
        let (articles, alerts) =
            self.store
                .prune(now, s.keep_articles, s.keep_alerts, PRUNE_BATCH)?;
        if articles + alerts > 0 {
            info!(
                articles,
                alerts, "retention: forgot old articles and alerts"
            );
        }
        let more = articles.max(alerts) >= PRUNE_BATCH;
        let wait = if more {
            chrono::Duration::seconds(5)
        } else {
            chrono::Duration::days(1)
        };
        self.next_prune = Some(now + wait);
        Ok(())
    }

    /// Keeps what a notification's actions need, for a bounded number of notifications.
    fn remember(&mut self, server_id: u32, note: &desktop::Notification) {
        const KEEP: usize = 256;
        if self.shown.len() >= KEEP
            && let Some(oldest) = self.shown.keys().min().copied()
        {
            self.shown.remove(&oldest);
        }
        self.shown.insert(
            server_id,
            Shown {
                link: note.link.clone(),
                topic: note.mute_topic.clone(),
                alert: note.mark_alert,
            },
        );
    }

    /// Acts on a click: open the article (http/https only), mute the topic for an hour, or
    /// mark the alert right or wrong for its topic.
    fn on_feedback(&mut self, fb: Feedback) -> Result<(), StoreError> {
        match fb {
            Feedback::Closed { id } => {
                self.shown.remove(&id);
            }
            Feedback::ServerAppeared => {
                // Retry now rather than at the end of the backoff.
                if self.delivery.failures > 0 {
                    self.delivery.retry_at = Some(self.clock.now());
                }
            }
            Feedback::Action { id, key } => {
                let Some(target) = self.shown.get(&id).cloned() else {
                    return Ok(());
                };
                match key.as_str() {
                    desktop::ACTION_DEFAULT | desktop::ACTION_OPEN => {
                        if let Some(link) = target.link.filter(|l| desktop::is_openable(l)) {
                            open_link(&self.config.settings.opener, &link);
                        }
                    }
                    desktop::ACTION_MUTE => {
                        if let Some(topic) = target.topic {
                            let until = self.clock.now()
                                + chrono::Duration::from_std(MUTE_FOR).unwrap_or_default();
                            info!(topic = %topic, until = %until, "topic muted");
                            self.store.mute_topic(&topic, until)?;
                        }
                    }
                    desktop::ACTION_WRONG | desktop::ACTION_RIGHT => {
                        if let Some(alert) = target.alert {
                            let label = key == desktop::ACTION_RIGHT;
                            self.mark_from_notification(alert, label)?;
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Records the user's mark on `alert` from its notification. An alert gone meanwhile
    /// (retention) is logged, not fatal.
    fn mark_from_notification(&mut self, alert: i64, label: bool) -> Result<(), StoreError> {
        match self
            .store
            .mark_alert(alert, label, "notification", self.clock.now())
        {
            Ok(m) => {
                info!(
                    alert = m.alert_id,
                    topic = %m.topic,
                    title = %m.title,
                    mark = crate::store::label_word(m.label),
                    previous = m.previous.map(crate::store::label_word),
                    "alert marked from its notification; it joins the topic's examples at the next reload"
                );
                Ok(())
            }
            Err(e @ StoreError::NoSuchAlert(_)) => {
                warn!(error = %e, "cannot mark the alert from its notification");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// The user's marks in `store`, to join to the topics' examples. Marks that cannot be read
/// are logged and left out: the topics still learn from their example files.
pub fn read_marks(store: &Store) -> Vec<Mark> {
    store.marks().unwrap_or_else(|e| {
        warn!(error = %e, "cannot read the marks; topics learn from their example files only");
        Vec::new()
    })
}

/// `config` with `marks` joined to its topics' examples ([`Config::with_marks`]), trained
/// (models for unchanged examples come from `cache`); logs, once, what each topic that learns
/// learns from; then lets go of the examples ([`Config::drop_examples`]). Trains models (a
/// fraction of a second for thousands of examples): call it off the runtime's workers. A
/// topic that cannot learn is an error, like a config error: the caller keeps the running
/// configuration.
pub fn learn_from_marks(
    config: Config,
    marks: &[Mark],
    cache: &dyn ModelCache,
) -> Result<Config, LearnError> {
    let mut config = config.with_marks(marks);
    config.train_with(cache)?;
    log_learning(&config);
    config.drop_examples();
    Ok(config)
}

/// Logs, once per load, what each topic that learns learns from ([`learning_lines`]).
pub fn log_learning(config: &Config) {
    for line in learning_lines(config) {
        info!("{line}");
    }
}

/// `topic "NAME" learns from N examples (R right, W wrong), M of them marks; model trained` (or
/// `read from the cache`), for each enabled topic that learns. Call it on a trained `config`.
pub fn learning_lines(config: &Config) -> Vec<String> {
    let matcher = config.matcher();
    config
        .topics
        .iter()
        .enumerate()
        .filter(|(_, t)| t.enabled)
        .filter_map(|(i, t)| {
            let (right, wrong, marks) = t.learn.as_ref()?.counts();
            let how = if matcher.model_from_cache(crate::model::TopicId(i)) {
                "read from the cache"
            } else {
                "trained"
            };
            Some(format!(
                "topic {:?} learns from {} examples ({right} right, {wrong} wrong), {marks} of them marks; model {how}",
                t.name,
                right + wrong
            ))
        })
        .collect()
}

/// Feeds fetched but not yet recorded, at most: every fetch slot, and two more so the
/// recorder always has the next feed ready. Each one waiting holds its parsed articles.
fn unrecorded_limit(concurrency: usize) -> usize {
    concurrency.max(1) + 2
}

/// Sleeps until `at`, or forever when there is no `at`.
async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

async fn recv_opt(sig: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match sig {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

/// SIGUSR1 as the wedge hook, only with `TIDINGS_TEST_HOOKS=1`.
fn test_hook_signal() -> Option<tokio::signal::unix::Signal> {
    if std::env::var_os("TIDINGS_TEST_HOOKS").is_some_and(|v| v == "1") {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1()).ok()
    } else {
        None
    }
}

/// The next click, or never when there is nowhere clicks come from.
async fn next_feedback(rx: &mut Option<mpsc::UnboundedReceiver<Feedback>>) -> Option<Feedback> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Runs the opener with the link; the child is reaped in the background.
fn open_link(opener: &[String], link: &str) {
    let Some((cmd, args)) = opener.split_first() else {
        return;
    };
    match tokio::process::Command::new(cmd)
        .args(args)
        .arg(link)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(mut child) => {
            tokio::spawn(async move {
                let _ = child.wait().await;
            });
        }
        Err(e) => warn!(opener = %cmd, error = %e, "cannot open the article"),
    }
}

/// A feed's watch-list entry, to notice when the user edits it.
fn fingerprint(feed: &FeedConfig) -> String {
    format!("{feed:?}")
}

/// Matches per article (by index; `None` for articles seen before), and the matcher that
/// computed them.
type Precomputed = (
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
fn source_name(feed: &FeedConfig, parsed_title: Option<&str>, state: &FeedState) -> String {
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

/// Stores one feed's poll: new articles, their alerts and the feed's state, in one transaction.
/// What the poll task learnt besides the outcome.
struct Extra {
    body_hash: Option<String>,
    unchanged: bool,
    precomputed: Option<Precomputed>,
    /// The feed's scheduling hints from its last parsed document (for 304s and unchanged bodies).
    last_hints: schedule::FeedHints,
}

#[allow(clippy::too_many_arguments)]
fn record_poll(
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
                        error,
                        hints,
                    },
                    _,
                ) => (status, error.to_string(), hints),
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
    tx.finish(&record, now)?;
    Ok(FeedReport {
        name,
        url: redact_url(&feed.url),
        result,
    })
}

fn log_report(r: &FeedReport) {
    match &r.result {
        PollResult::Fetched {
            status,
            new,
            alerts,
            ..
        } if *new > 0 => {
            info!(feed = %r.url, status, new, matched = alerts, "polled")
        }
        PollResult::Fetched { .. } | PollResult::NotModified | PollResult::Unchanged { .. } => {
            tracing::debug!(feed = %r.url, "polled, nothing new")
        }
        PollResult::Failed { status, error } => {
            warn!(feed = %r.url, status, error = %error, "feed failed")
        }
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

#[cfg(test)]
mod tests;
