//! The seams: where the loop reads the time and fetches feeds, so tests can drive it under
//! `tokio::time::pause()` with a scripted fetcher.

#![deny(clippy::arithmetic_side_effects)] // instants move only through `checked_time`

use std::future::Future;

use chrono::{DateTime, Utc};
use url::Url;

use crate::fetch::{FetchOutcome, Fetcher, Validators};

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
        crate::checked_time::later(self.wall, self.start.elapsed())
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
