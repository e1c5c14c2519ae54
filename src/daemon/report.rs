//! What one feed's poll did: the report behind `poll --once`'s lines and the log.

use tracing::{info, warn};

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
    /// Not requested: its host asked for a pause (`Retry-After`) that has not ended.
    Deferred {
        until: chrono::DateTime<chrono::Utc>,
        reason: String,
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
            PollResult::Deferred { until, reason } => format!(
                "wait   {}  not polled: its host asked for a pause until {} ({reason})",
                self.name,
                until.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M")
            ),
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

pub(super) fn log_report(r: &FeedReport) {
    match &r.result {
        PollResult::Fetched {
            status,
            new,
            alerts,
            ..
        } if *new > 0 => {
            info!(feed = %r.url, status, new, matched = alerts, "polled")
        }
        PollResult::Fetched { .. }
        | PollResult::NotModified
        | PollResult::Unchanged { .. }
        | PollResult::Deferred { .. } => {
            tracing::debug!(feed = %r.url, "polled, nothing new")
        }
        PollResult::Failed { status, error } => {
            warn!(feed = %r.url, status, error = %error, "feed failed")
        }
    }
}
