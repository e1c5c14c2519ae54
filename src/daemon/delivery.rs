//! Delivery: pending alerts to the desktop, as flood control plans them, and to the sinks,
//! each with its own backoff; and the clicks on what was shown ([`super::feedback`]). Under
//! `run` it is its own task, woken by the loop when alerts are committed, so a slow
//! notification server or sink never holds up the loop (polls, the watchdog).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::feedback::Shown;
use super::seams::Clock;
use super::{BUSY_PAUSE, blocking};
use crate::config::Config;
use crate::desktop::{AlertContent, Feedback, Notifier, render, render_summary};
use crate::flood::{self, Candidate, Delivery as Planned, FloodState};
use crate::model::Urgency;
use crate::store::{PendingAlert, Store, StoreError};

/// First retry after a failed delivery; doubles up to [`DELIVERY_BACKOFF_CAP`].
pub const DELIVERY_BACKOFF_BASE: Duration = Duration::from_secs(15);
pub const DELIVERY_BACKOFF_CAP: Duration = Duration::from_secs(10 * 60);

/// Whether a destination (the desktop, one sink) gets alerts through: failures in a row and
/// when to try again ([`DELIVERY_BACKOFF_BASE`] doubling up to [`DELIVERY_BACKOFF_CAP`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Backoff {
    failures: u32,
    retry_at: Option<DateTime<Utc>>,
}

impl Backoff {
    /// Records a failure at `now`; returns the number of failures in a row.
    fn failed(&mut self, now: DateTime<Utc>) -> u32 {
        self.failures = self.failures.saturating_add(1);
        let exp = self.failures.saturating_sub(1).min(16);
        let wait = DELIVERY_BACKOFF_BASE
            .saturating_mul(1 << exp)
            .min(DELIVERY_BACKOFF_CAP);
        self.retry_at = Some(now + chrono::Duration::from_std(wait).unwrap_or_default());
        self.failures
    }

    /// Records a success; returns how many failures it ends.
    fn succeeded(&mut self) -> u32 {
        std::mem::take(self).failures
    }

    fn waiting(&self, now: DateTime<Utc>) -> bool {
        self.retry_at.is_some_and(|t| t > now)
    }
}

/// What the loop tells the delivery task.
pub(super) enum Wake {
    /// Alerts were committed: deliver what is pending.
    Committed,
    /// The watch-list was reloaded: topics, flood control, sinks and opener may have changed.
    Config(Box<Config>),
}

/// Alerts shown but not yet marked delivered (the database was locked): `(ids, when, via)`.
type Unmarked = (Vec<i64>, DateTime<Utc>, &'static str);

pub struct Delivery<N, C> {
    /// Its own connection to the loop's database.
    pub(super) store: Store,
    notifier: N,
    pub(super) clock: Arc<C>,
    pub(super) config: Config,
    flood: FloodState,
    /// Whether `flood` was read from the store yet.
    flood_loaded: bool,
    desktop: Backoff,
    /// Per sink, by name.
    sinks: HashMap<String, Backoff>,
    /// Marked before anything else is shown, so a locked database never shows one twice.
    shown_unmarked: Vec<Unmarked>,
    /// Alerts wait for quiet hours to end: deliver again then.
    hold_until: Option<DateTime<Utc>>,
    /// The database could not be read or written: try again then.
    retry_store: Option<DateTime<Utc>>,
    sink_client: Option<reqwest::Client>,
    /// Notifications on screen whose actions we can act on, by server id (bounded).
    pub(super) shown: HashMap<u32, Shown>,
    /// Where the user's clicks on our notifications arrive.
    pub(super) feedback: Option<mpsc::UnboundedReceiver<Feedback>>,
}

impl<N: Notifier, C: Clock> Delivery<N, C> {
    pub(super) fn new(store: Store, notifier: N, clock: Arc<C>, config: Config) -> Self {
        Delivery {
            store,
            notifier,
            clock,
            config,
            flood: FloodState::default(),
            flood_loaded: false,
            desktop: Backoff::default(),
            sinks: HashMap::new(),
            shown_unmarked: Vec::new(),
            hold_until: None,
            retry_store: None,
            sink_client: None,
            shown: HashMap::new(),
            feedback: None,
        }
    }

    /// A notification server appeared: if the desktop was failing, try again now rather than
    /// at the end of the backoff.
    pub(super) fn retry_desktop_now(&mut self) {
        if self.desktop.failures > 0 {
            self.desktop.retry_at = Some(self.clock.now());
        }
    }

    /// When delivery should run again without being woken: a retry or the end of quiet hours.
    fn next_wake(&self) -> Option<DateTime<Utc>> {
        [self.desktop.retry_at, self.hold_until, self.retry_store]
            .into_iter()
            .chain(self.sinks.values().map(|s| s.retry_at))
            .flatten()
            .min()
    }

    /// The delivery task: runs until the loop drops its sender, then returns itself. Errors
    /// (a locked database) are logged and retried; they never stop it.
    pub(super) async fn run(mut self, mut wake: mpsc::UnboundedReceiver<Wake>) -> Self {
        let mut feedback = self.feedback.take();
        loop {
            let now = self.clock.now();
            let sleep = self
                .next_wake()
                .map(|t| (t - now).to_std().unwrap_or_default());
            tokio::select! {
                biased;
                msg = wake.recv() => match msg {
                    None => break,
                    Some(Wake::Config(config)) => {
                        self.config = *config;
                        continue;
                    }
                    Some(Wake::Committed) => {}
                },
                Some(fb) = super::feedback::next(&mut feedback) => {
                    if let Err(e) = self.on_feedback(fb) {
                        warn!(error = %e, "cannot act on a click on a notification");
                    }
                    continue;
                }
                () = sleep_opt(sleep) => {}
            }
            if let Err(e) = self.deliver_pending().await {
                warn!(error = %e, "cannot deliver alerts now; trying again shortly");
                let pause = chrono::Duration::from_std(BUSY_PAUSE).unwrap_or_default();
                self.retry_store = Some(self.clock.now() + pause);
            }
        }
        self.feedback = feedback;
        self
    }

    /// Delivers what is pending, as flood control plans it: alerts of muted topics and feeds are marked
    /// `muted`; a failure is recorded on the alerts, logged once while it lasts, and retried
    /// with backoff.
    pub async fn deliver_pending(&mut self) -> Result<(), StoreError> {
        self.retry_store = None;
        self.deliver_desktop().await?;
        self.deliver_sinks().await
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
            if self.sinks.get(&sink.name).is_some_and(|b| b.waiting(now)) {
                continue;
            }
            for alert in blocking(|| self.store.sink_pending(&sink.name, 100))? {
                let result = crate::sinks::deliver(&sink.kind, &client, &alert).await;
                let at = self.clock.now();
                let error = result.as_ref().err().map(String::as_str);
                blocking(|| self.store.mark_sink(alert.id, &sink.name, at, error))?;
                let backoff = self.sinks.entry(sink.name.clone()).or_default();
                match result {
                    Ok(()) => {
                        if backoff.succeeded() > 0 {
                            info!(sink = %sink.name, "sink works again");
                        }
                    }
                    Err(e) => {
                        if backoff.failed(now) == 1 {
                            warn!(sink = %sink.name, error = %e, "sink failed; its alerts are retried");
                        }
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
            if let Err(e) = blocking(|| self.store.mark_delivered(ids, *at, via)) {
                let pause = chrono::Duration::from_std(BUSY_PAUSE).unwrap_or_default();
                self.retry_store = Some(now + pause);
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
            self.flood = FloodState::from_shown(blocking(|| self.store.shown_since(hour_ago))?);
            self.flood_loaded = true;
        }
        self.hold_until = None;
        let pending = blocking(|| self.store.pending_alerts(1000))?;
        if pending.is_empty() {
            self.desktop.retry_at = None;
            return Ok(());
        }
        let muted: HashSet<String> = blocking(|| self.store.muted_topics(now))?
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        let muted_feeds: HashSet<crate::model::FeedId> = blocking(|| self.store.muted_feeds(now))?
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        let (silenced, pending): (Vec<_>, Vec<_>) = pending
            .into_iter()
            .partition(|a| muted.contains(&a.topic) || muted_feeds.contains(&a.feed_id));
        if !silenced.is_empty() {
            let ids: Vec<i64> = silenced.iter().map(|a| a.id).collect();
            blocking(|| self.store.mark_delivered(&ids, now, "muted"))?;
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
        let by_id: HashMap<i64, &PendingAlert> = pending.iter().map(|a| (a.id, a)).collect();
        let expire = self.config.settings.notification_timeout;
        let mut deliveries = plan.deliveries.into_iter();
        while let Some(delivery) = deliveries.next() {
            let (note, ids, via, topic) = match delivery {
                Planned::One(id) => {
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
                Planned::Summary(ids) => {
                    let mut items: Vec<&PendingAlert> =
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
                    let after_failures = self.desktop.succeeded();
                    if after_failures > 0 {
                        info!(after_failures, "notifications get through again");
                    }
                    self.shown_unmarked.push((ids, self.clock.now(), via));
                    self.mark_shown(now)?;
                }
                Err(e) => {
                    // The rest of this round is not attempted; it waits with the same reason.
                    let mut ids = ids;
                    for rest in deliveries.by_ref() {
                        match rest {
                            Planned::One(id) => ids.push(id),
                            Planned::Summary(more) => ids.extend(more),
                        }
                    }
                    blocking(|| self.store.mark_failed(&ids, &e.0))?;
                    let failures = self.desktop.failed(now);
                    if failures == 1 {
                        warn!(error = %e, "cannot show notifications; alerts stay pending and are retried");
                    } else {
                        debug!(error = %e, failures, "notification retry failed");
                    }
                    break;
                }
            }
        }
        Ok(())
    }
}

/// Sleeps for `d`, or forever without one.
async fn sleep_opt(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}
