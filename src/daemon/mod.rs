//! The loop. The database owns the schedule (`feeds.next_poll_at`); the loop starts every
//! due feed as its own task (bounded by the global and per-host limits), records each result
//! as it arrives, and otherwise sleeps on one timer until the earliest next poll — waking early
//! only for a finished poll, a reload or shutdown.
//!
//! Wires the edges (fetch, store, notify) to the pure core (parse, matcher, schedule).

#![deny(clippy::arithmetic_side_effects)] // instants move only through `checked_time`

mod conclude;
mod delivery;
mod feedback;
mod learning;
mod poll_task;
mod reload;
mod report;
mod retention;
mod seams;

use crate::checked_time::{deadline, later};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::{debug, error, info, warn};

use crate::config::{Config, FeedConfig, redact_url};
use crate::desktop::{Feedback, Notifier};
use crate::fetch::{Fetcher, Limits};
use crate::links::host_key;
use crate::model::FeedId;
use crate::schedule;
use crate::store::{FeedState, Store, StoreError};

pub use conclude::REDIRECT_ADOPT_AFTER;
pub use delivery::{Backoff, DELIVERY_BACKOFF_BASE, DELIVERY_BACKOFF_CAP, Delivery};
pub use feedback::MUTE_FOR;
pub use learning::{learn_from_marks, learning_lines, log_learning, read_marks};
pub use poll_task::Fetched;
pub use report::{FeedReport, PollResult, Stats};
pub use retention::PRUNE_BATCH;
pub use seams::{Clock, Fetch, SystemClock, TokioClock};

use conclude::{Extra, conclude, fingerprint, record};
use delivery::Wake;
use poll_task::{Gates, Job, poll_one};
use report::log_report;

/// How long in-flight polls may run on after a shutdown request.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------------
// Reports

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
    /// The one timer fired: the earliest next poll, retention, or telling systemd we are
    /// alive (only reached while the loop turns).
    Timer,
}

/// How long the loop waits when another writer holds the database.
pub const BUSY_PAUSE: Duration = Duration::from_secs(2);
/// A poll that could not be recorded (database locked) is retried after this long.
pub const BUSY_RETRY: Duration = Duration::from_secs(30);

/// The loop's own state between turns.
struct LoopState {
    watchdog_every: Option<Duration>,
    next_watchdog: Option<tokio::time::Instant>,
    /// Wakes the delivery task (`None` outside `run`: `poll` delivers inline).
    delivery: Option<mpsc::UnboundedSender<Wake>>,
}

impl LoopState {
    /// Wakes the delivery task, if it runs.
    fn wake(&self, msg: impl FnOnce() -> Wake) {
        if let Some(tx) = &self.delivery {
            let _ = tx.send(msg());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The daemon

pub struct Daemon<F, N, C> {
    pub config: Config,
    pub store: Store,
    fetcher: Arc<F>,
    clock: Arc<C>,
    gates: Gates,
    /// Per feed, the scheduling hints of its last parsed document.
    feed_hints: HashMap<FeedId, schedule::FeedHints>,
    /// Polls that could not be recorded (database locked), to run again then.
    retry_soon: HashMap<FeedId, DateTime<Utc>>,
    /// Per feed, the hashes of the article keys in its last document, sorted (8 bytes a key,
    /// kept between polls for every feed: a `HashSet` took twice that).
    known: HashMap<FeedId, Arc<[u64]>>,
    tasks: JoinSet<Box<Fetched>>,
    in_flight: HashMap<tokio::task::Id, FeedId>,
    /// Desktop and sinks; its own task while `run` runs (`None` then).
    delivery: Option<Delivery<N, C>>,
    /// When retention runs next.
    next_prune: Option<DateTime<Utc>>,
    /// systemd's notification socket (a no-op outside systemd).
    sd: crate::service::SdNotify,
    last_poll_at: Option<DateTime<Utc>>,
    pub stats: Stats,
}

impl<N: Notifier + Send + Sync + 'static> Daemon<Fetcher, N, SystemClock> {
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
        )?)
    }
}

impl<F: Fetch, N: Notifier + Send + Sync + 'static, C: Clock> Daemon<F, N, C> {
    /// Delivery gets its own connection to `store`'s database.
    pub fn with_parts(
        config: Config,
        store: Store,
        fetcher: F,
        notifier: N,
        clock: C,
    ) -> Result<Self, StoreError> {
        let clock = Arc::new(clock);
        // Delivery's own connection reads a few pending alerts at a time: a small page cache.
        let delivery_store = Store::open(store.path())?;
        delivery_store.limit_cache(256)?;
        let delivery = Delivery::new(delivery_store, notifier, clock.clone(), config.clone());
        Ok(Daemon {
            gates: Gates::new(&config.settings),
            config,
            store,
            fetcher: Arc::new(fetcher),
            clock,
            known: HashMap::new(),
            retry_soon: HashMap::new(),
            feed_hints: HashMap::new(),
            tasks: JoinSet::new(),
            in_flight: HashMap::new(),
            delivery: Some(delivery),
            next_prune: None,
            sd: crate::service::SdNotify::disabled(),
            last_poll_at: None,
            stats: Stats::default(),
        })
    }

    /// Delivery, between runs (`poll`, tests).
    pub fn delivery(&mut self) -> Option<&mut Delivery<N, C>> {
        self.delivery.as_mut()
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
        let midnight = crate::local_time::local_midnight(self.clock.now());
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
        if let Some(d) = self.delivery.as_mut() {
            d.feedback = Some(rx);
        }
    }

    /// Starts one feed's fetch as its own task.
    fn spawn_poll(&mut self, feed: FeedConfig, state: FeedState) {
        let id = state.id;
        let job = Job {
            fetcher: self.fetcher.clone(),
            clock: self.clock.clone(),
            gates: self.gates.clone(),
            matcher: self.config.matcher(),
            known: self.known.get(&id).cloned(),
            feed,
            state,
        };
        let handle = self.tasks.spawn(poll_one(job));
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
        // A host that asked for a pause is not asked again before it ends.
        let deferred = self.host_deferrals(now)?;
        let mut reports: HashMap<String, FeedReport> = HashMap::new();
        for (f, state) in feeds.iter().zip(states) {
            if let Some(d) = deferred.get(&host_key(&poll_task::fetch_url(f, &state))) {
                let report = FeedReport {
                    name: poll_task::source_name(f, None, &state),
                    url: redact_url(&f.url),
                    result: PollResult::Deferred {
                        until: d.until,
                        reason: d.reason.clone(),
                    },
                };
                reports.insert(f.url.to_string(), report);
                continue;
            }
            self.spawn_poll(f.clone(), state);
        }
        while let Some(done) = self.tasks.join_next_with_id().await {
            if let Some((url, report)) = blocking(|| self.on_done(done))? {
                reports.insert(url, report);
            }
        }
        if let Some(d) = self.delivery.as_mut() {
            d.deliver_pending().await?;
        }
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
        // Delivery runs as its own task, woken when alerts are committed; it starts with
        // whatever is pending.
        let (wake, wakes) = mpsc::unbounded_channel();
        let delivery = self.delivery.take().map(|d| tokio::spawn(d.run(wakes)));
        let _ = wake.send(Wake::Committed);
        let _ = self.sd.ready();
        self.report_status()?;
        let watchdog_every = self.sd.watchdog_interval();
        let mut ls = LoopState {
            watchdog_every,
            next_watchdog: watchdog_every.map(|d| deadline(tokio::time::Instant::now(), d)),
            delivery: Some(wake),
        };

        tokio::pin!(shutdown);
        let mut result = Ok(());
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
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        info!(in_flight = self.tasks.len(), "shutting down");
        let _ = self.sd.stopping();
        let deadline = deadline(tokio::time::Instant::now(), SHUTDOWN_GRACE);
        while result.is_ok() && !self.tasks.is_empty() {
            match tokio::time::timeout_at(deadline, self.tasks.join_next_with_id()).await {
                Ok(Some(done)) => {
                    if let Err(e) = blocking(|| self.on_done(done)) {
                        result = Err(e);
                    }
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
        // Delivery finishes what it is doing (within the grace period) and comes back.
        drop(ls);
        if let Some(mut task) = delivery {
            match tokio::time::timeout_at(deadline, &mut task).await {
                Ok(Ok(d)) => self.delivery = Some(d),
                Ok(Err(e)) => error!(error = %e, "the delivery task failed"),
                Err(_) => {
                    warn!("delivery still running after the grace period; stopped");
                    task.abort();
                }
            }
        }
        result
    }

    /// The daemon is about to idle (nothing in flight, waiting for the next event): give back
    /// the memory that work freed (SQLite's page cache, the allocator's free lists).
    fn release_memory(&self) {
        let _ = self.store.release_memory();
        crate::memory::trim_heap();
    }

    /// One turn of the loop: due work, then wait for one event and handle it. `Ok(true)` when
    /// shutdown was requested.
    async fn turn<S: Future<Output = ()>>(
        &mut self,
        shutdown: std::pin::Pin<&mut S>,
        reloads: &mut mpsc::Receiver<ReloadCause>,
        ls: &mut LoopState,
    ) -> Result<bool, StoreError> {
        self.stats.wakeups = self.stats.wakeups.saturating_add(1);
        let now = self.clock.now();
        // Due polls start first (as tasks); retention runs while they fetch.
        let due_next = blocking(|| self.start_due(now))?;
        if self.next_prune.is_none_or(|t| t <= now) {
            blocking(|| self.prune(now))?;
        }
        let next = [due_next, self.next_prune].into_iter().flatten().min();
        let mut wait = next
            .and_then(|t| t.signed_duration_since(now).to_std().ok())
            .unwrap_or(Duration::from_secs(24 * 3600));
        if let Some(at) = ls.next_watchdog {
            wait = wait.min(at.saturating_duration_since(tokio::time::Instant::now()));
        }
        if self.tasks.is_empty() {
            // About to idle: what this turn read (every feed's state, status counts) is not
            // needed until the next wake-up, which is rare when idle.
            self.release_memory();
        }
        let event = tokio::select! {
            biased;
            () = shutdown => Event::Shutdown,
            Some(cause) = reloads.recv() => Event::Reload(cause),
            Some(done) = self.tasks.join_next_with_id(), if !self.tasks.is_empty() => Event::PollDone(done),
            () = tokio::time::sleep(wait) => Event::Timer,
        };
        match event {
            Event::Shutdown => return Ok(true),
            Event::Reload(cause) => {
                self.reload(cause).await?;
                ls.wake(|| Wake::Config(Box::new(self.config.clone())));
            }
            Event::PollDone(done) => {
                self.last_poll_at = Some(self.clock.now());
                let recorded = blocking(|| {
                    let recorded = self.on_done(done)?;
                    self.report_status()?;
                    Ok::<_, StoreError>(recorded)
                })?;
                if let Some((_, report)) = recorded
                    && matches!(report.result, PollResult::Fetched { alerts, backlog: false, .. } if alerts > 0)
                {
                    ls.wake(|| Wake::Committed);
                }
            }
            Event::Timer => {}
        }
        if ls
            .next_watchdog
            .is_some_and(|at| at <= tokio::time::Instant::now())
        {
            // Alive means: the loop turns (we are here) and the database answers.
            if self.store.ping().is_ok() {
                let _ = self.sd.watchdog();
            }
            ls.next_watchdog = ls
                .watchdog_every
                .map(|d| deadline(tokio::time::Instant::now(), d));
        }
        Ok(false)
    }

    /// The hosts that asked for a pause still running at `now`, by host key.
    fn host_deferrals(
        &self,
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, crate::store::HostDeferral>, StoreError> {
        Ok(self
            .store
            .host_deferrals(now)?
            .into_iter()
            .map(|d| (d.host.clone(), d))
            .collect())
    }

    /// Starts every feed that is due and not in flight; returns when the next one is due.
    fn start_due(&mut self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut states: HashMap<String, FeedState> = self
            .store
            .feeds()?
            .into_iter()
            .map(|s| (s.url.clone(), s))
            .collect();
        let deferred = self.host_deferrals(now)?;
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
            let host = host_key(&poll_task::fetch_url(&feed, &state));
            let mut due_at = state.next_poll_at.unwrap_or(now);
            if let Some(d) = deferred.get(&host) {
                due_at = due_at.max(d.until);
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
        if let Some(Ok(p)) = &parsed {
            self.feed_hints.insert(state.id, p.hints.clone());
        }
        let extra = Extra {
            url,
            body_hash,
            unchanged,
            precomputed,
            last_hints: self.feed_hints.get(&state.id).cloned().unwrap_or_default(),
        };
        let conclusion = conclude(&self.config, &feed, &state, outcome, parsed, extra, now);
        let recorded = record(&mut self.store, &self.config, conclusion, now);
        let report = match recorded {
            Ok(r) => r,
            Err(e) if e.is_busy() => {
                warn!(feed = %redact_url(&feed.url), error = %e, "database locked by another writer; this poll is retried");
                let retry = later(now, BUSY_RETRY);
                self.retry_soon.insert(state.id, retry);
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        if let Some(keys) = keys {
            self.known.insert(state.id, keys);
        }
        self.stats.polls = self.stats.polls.saturating_add(1);
        log_report(&report);
        Ok(Some((feed.url.to_string(), report)))
    }
}

/// Runs SQLite work (synchronous, up to the 5 s busy timeout) without stalling the runtime's
/// other tasks: on a multi-threaded runtime the worker first hands its queue to another thread
/// (`block_in_place`); on a current-thread runtime (the paused-clock tests) it simply runs.
/// See BENCHMARKS.md ("SQLite off the runtime's workers").
pub(crate) fn blocking<R>(f: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)] // tests may compute plainly
mod tests;
