//! Per-host politeness: how many requests one host gets at once, and how far apart they start.
//!
//! A poll waits its turn at its host *before* it takes one of the global places, so a host
//! with many due feeds queues behind its own spacing without holding places other hosts
//! could use.

#![deny(clippy::arithmetic_side_effects)] // instants move only through `checked_time`

use crate::checked_time::deadline;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use url::Url;

use crate::links::host_key;

/// At most `per_host` requests in flight to one host, and at least `spacing` between the
/// starts of two requests to it.
pub struct HostGate {
    per_host: usize,
    spacing: Duration,
    hosts: Mutex<HashMap<String, Arc<HostSlot>>>,
}

struct HostSlot {
    permits: Arc<Semaphore>,
    /// The earliest the next request may start (a turn reserves it on leaving the queue).
    next_start: Mutex<Instant>,
    /// When the last request actually started.
    last_start: Mutex<Option<Instant>>,
}

/// A request's turn at its host: held for as long as the request is in flight.
pub struct HostTurn {
    slot: Arc<HostSlot>,
    spacing: Duration,
    _permit: OwnedSemaphorePermit,
}

impl HostGate {
    pub fn new(per_host: usize, spacing: Duration) -> Self {
        HostGate {
            per_host: per_host.max(1),
            spacing,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for one of the host's places and for its spacing since the previous start.
    pub async fn acquire(&self, url: &Url) -> HostTurn {
        let slot = {
            let mut hosts = self.hosts.lock().await;
            hosts
                .entry(host_key(url))
                .or_insert_with(|| {
                    Arc::new(HostSlot {
                        permits: Arc::new(Semaphore::new(self.per_host)),
                        next_start: Mutex::new(Instant::now()),
                        last_start: Mutex::new(None),
                    })
                })
                .clone()
        };
        let permit = slot
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore never closed");
        let start = {
            let mut next = slot.next_start.lock().await;
            let start = (*next).max(Instant::now());
            *next = deadline(start, self.spacing);
            start
        };
        if start > Instant::now() {
            tokio::time::sleep_until(start).await;
        }
        HostTurn {
            slot,
            spacing: self.spacing,
            _permit: permit,
        }
    }
}

impl HostTurn {
    /// Call right before the request starts (after any other wait): keeps `spacing` since the
    /// host's previous actual start, which a wait for a global place may have shifted, and
    /// records this start.
    pub async fn start(&self) {
        let mut last = self.slot.last_start.lock().await;
        // Only sleep when there is time to wait: a timer, even one already due, costs a turn of
        // the timer wheel (about a millisecond), and this lock is held meanwhile.
        if let Some(at) = last.map(|prev| deadline(prev, self.spacing))
            && at > Instant::now()
        {
            tokio::time::sleep_until(at).await;
        }
        let now = Instant::now();
        *last = Some(now);
        let mut next = self.slot.next_start.lock().await;
        *next = (*next).max(deadline(now, self.spacing));
    }
}
