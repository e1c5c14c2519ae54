//! How long the runtime's other tasks wait while the daemon records polls in SQLite.
//!
//! A cold pass over 100 generated feeds (50 items each, one in ten about NATO) through
//! `Daemon::poll` on a two-worker runtime, with an in-process fetcher; meanwhile a ticker task
//! sleeps 1 ms at a time and records how late each wake-up is. The figures are the lateness of
//! the ticker (what any other task — a fetch, delivery, a D-Bus reply — would see).
//!
//! With `TIDINGS_STALL_LOCK_MS=N`, another connection holds the database's write lock for N ms
//! from 20 ms into the pass (a `sqlite3` writer, a second process): the daemon's writes wait
//! in SQLite's busy handler meanwhile.
//!
//! Run: `cargo bench --bench stall` (prints p50 / p99 / max lateness and the pass's time).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tidings::daemon::{Daemon, Fetch, SystemClock};
use tidings::desktop::{Notification, Notifier, NotifyError};
use tidings::fetch::{FetchOutcome, Validators};
use url::Url;

const FEEDS: usize = 100;
const ITEMS: usize = 50;

struct Generated;

impl Fetch for Generated {
    fn fetch(
        &self,
        url: &Url,
        _v: &Validators,
        _now: DateTime<Utc>,
    ) -> impl Future<Output = FetchOutcome> + Send {
        let url = url.clone();
        async move {
            let feed: usize = url
                .path()
                .trim_matches(|c: char| !c.is_ascii_digit())
                .parse()
                .unwrap_or(0);
            let mut body = String::from(
                "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Feed</title>",
            );
            for i in 0..ITEMS {
                let about = if i % 10 == 0 {
                    "Finland applies to join NATO as Sweden waits"
                } else {
                    "Markets close higher as oil prices ease"
                };
                body.push_str(&format!(
                    "<item><title>{about} ({feed}-{i})</title><link>https://f{feed}.example/{i}</link>\
                     <description>Story {i} of feed {feed}: {about}, reporters say, with more \
                     detail to follow in later editions of this report.</description></item>"
                ));
            }
            body.push_str("</channel></rss>");
            FetchOutcome::Fetched {
                status: 200,
                body: body.into_bytes(),
                validators: Validators::default(),
                hints: Default::default(),
                final_url: url,
                moved_to: None,
            }
        }
    }
}

struct Silent;

impl Notifier for Silent {
    async fn send(&self, _n: &Notification) -> Result<u32, NotifyError> {
        Ok(1)
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut toml = String::from(
        "[settings]\nhost_spacing = \"0s\"\nalert_on_first_poll = true\n\
         [[topic]]\nname = \"NATO\"\nquery = \"NATO\"\n",
    );
    for i in 0..FEEDS {
        toml.push_str(&format!(
            "[[feed]]\nurl = \"https://f{i}.example/{i}.xml\"\n"
        ));
    }
    let config_path = dir.path().join("watchlist.toml");
    std::fs::write(&config_path, toml).unwrap();
    let config = tidings::config::load(&config_path).unwrap();
    let db = dir.path().join("tidings.db");
    let store = tidings::store::Store::open(&db).unwrap();
    let lock_ms: u64 = std::env::var("TIDINGS_STALL_LOCK_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let locker = (lock_ms > 0).then(|| {
        std::thread::spawn(move || {
            let conn = rusqlite::Connection::open(&db).unwrap();
            std::thread::sleep(Duration::from_millis(20));
            conn.execute_batch("BEGIN IMMEDIATE").unwrap();
            std::thread::sleep(Duration::from_millis(lock_ms));
            conn.execute_batch("COMMIT").unwrap();
        })
    });

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (lates, took) = rt.block_on(async move {
        let feeds = config.feeds.clone();
        let mut daemon = Daemon::with_parts(config, store, Generated, Silent, SystemClock).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = tokio::spawn({
            let stop = stop.clone();
            async move {
                let mut lates = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let start = Instant::now();
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    lates.push(start.elapsed().saturating_sub(Duration::from_millis(1)));
                }
                lates
            }
        });
        let t = Instant::now();
        daemon.poll(&feeds).await.unwrap();
        let took = t.elapsed();
        stop.store(true, Ordering::Relaxed);
        (ticker.await.unwrap(), took)
    });
    if let Some(t) = locker {
        t.join().unwrap();
    }
    let mut ms: Vec<f64> = lates.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q) as usize];
    println!(
        "cold pass over {FEEDS} feeds: {:.0} ms; ticker lateness over {} ticks: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        took.as_secs_f64() * 1e3,
        ms.len(),
        at(0.5),
        at(0.99),
        ms.last().copied().unwrap_or(0.0)
    );
}
