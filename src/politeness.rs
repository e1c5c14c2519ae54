//! Per-host politeness: how many requests one host gets at once, and how far apart they start.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, Semaphore};
use url::Url;

use crate::links::host_key;

/// Per-host politeness: at most `per_host` requests in flight to one host, and at least
/// `spacing` between the starts of two requests to it.
pub struct HostGate {
    per_host: usize,
    spacing: Duration,
    hosts: Mutex<HashMap<String, Arc<HostSlot>>>,
}

struct HostSlot {
    permits: Arc<Semaphore>,
    next_start: Mutex<tokio::time::Instant>,
}

impl HostGate {
    pub fn new(per_host: usize, spacing: Duration) -> Self {
        HostGate {
            per_host: per_host.max(1),
            spacing,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    pub async fn acquire(&self, url: &Url) -> tokio::sync::OwnedSemaphorePermit {
        let slot = {
            let mut hosts = self.hosts.lock().await;
            hosts
                .entry(host_key(url))
                .or_insert_with(|| {
                    Arc::new(HostSlot {
                        permits: Arc::new(Semaphore::new(self.per_host)),
                        next_start: Mutex::new(tokio::time::Instant::now()),
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
            let start = (*next).max(tokio::time::Instant::now());
            *next = start + self.spacing;
            start
        };
        tokio::time::sleep_until(start).await;
        permit
    }
}
