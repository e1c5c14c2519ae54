//! Clicks on our notifications: open the article, mute the topic for a while, mark the alert
//! right or wrong. Handled by the delivery task, which knows what it showed.

#![deny(clippy::arithmetic_side_effects)] // instants move only through `checked_time`

use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{info, warn};

use super::blocking;
use super::delivery::Delivery;
use super::seams::Clock;
use crate::desktop::{self, Feedback, Notifier};
use crate::store::StoreError;

/// "Mute topic for 1 h".
pub const MUTE_FOR: Duration = Duration::from_secs(3600);

/// What a shown notification's actions act on.
#[derive(Debug, Clone)]
pub(super) struct Shown {
    pub(super) link: Option<String>,
    pub(super) topic: Option<String>,
    /// The alert it shows on its own (not a summary): what "Not relevant"/"Relevant" mark.
    pub(super) alert: Option<i64>,
}

impl<N: Notifier, C: Clock> Delivery<N, C> {
    /// Keeps what a notification's actions need, for a bounded number of notifications.
    pub(super) fn remember(&mut self, server_id: u32, note: &desktop::Notification) {
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
    pub fn on_feedback(&mut self, fb: Feedback) -> Result<(), StoreError> {
        match fb {
            Feedback::Closed { id } => {
                self.shown.remove(&id);
            }
            Feedback::ServerAppeared => {
                // Retry now rather than at the end of the backoff.
                self.retry_desktop_now();
            }
            Feedback::Action { id, key } => {
                let Some(target) = self.shown.get(&id).cloned() else {
                    return Ok(());
                };
                match key.as_str() {
                    desktop::ACTION_DEFAULT | desktop::ACTION_OPEN => {
                        if let Some(link) = target.link
                            && let Err(e) = crate::opener::open(&self.config.settings.opener, &link)
                        {
                            warn!(error = %e, "cannot open the article");
                        }
                    }
                    desktop::ACTION_MUTE => {
                        if let Some(topic) = target.topic {
                            let until = crate::checked_time::later(self.clock.now(), MUTE_FOR);
                            info!(topic = %topic, until = %until, "topic muted");
                            blocking(|| self.store.mute_topic(&topic, until))?;
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
        let now = self.clock.now();
        match blocking(|| self.store.mark_alert(alert, label, "notification", now)) {
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

/// The next click, or never when there is nowhere clicks come from.
pub(super) async fn next(rx: &mut Option<mpsc::UnboundedReceiver<Feedback>>) -> Option<Feedback> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
