//! The loop under `tokio::time::pause()`: a scripted fetcher records every request with its
//! (virtual) time; the store is a real SQLite file in a temp dir.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex as StdMutex;

use super::*;
use url::Url;

use crate::config;
use crate::desktop::Feedback;
use crate::desktop::{Notification, NotifyError};
use crate::fetch::{FetchOutcome, Validators};
use crate::schedule::CacheHints;
use crate::store::{NewAlert, PollRecord};

const T0: &str = "2026-11-27T12:00:00Z";

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(T0)
        .unwrap()
        .with_timezone(&Utc)
}

/// What a scripted URL answers; the last entry repeats forever.
#[derive(Clone)]
enum Reply {
    NotModified,
    Status(u16, Option<Duration>),
    Moved(&'static str),
    Hang,
    /// 304 after this long.
    Slow(Duration),
    /// 200 with this body.
    Body(&'static str),
}

#[derive(Default)]
struct Script {
    replies: StdMutex<HashMap<String, VecDeque<Reply>>>,
    calls: StdMutex<Vec<(String, DateTime<Utc>)>>,
    /// Requests in flight now, per host, and the most ever seen at once.
    in_flight: StdMutex<HashMap<String, (usize, usize)>>,
}

struct ScriptedFetcher(Arc<Script>);

impl Fetch for ScriptedFetcher {
    fn fetch(
        &self,
        url: &Url,
        _v: &Validators,
        now: DateTime<Utc>,
    ) -> impl Future<Output = FetchOutcome> + Send {
        let script = self.0.clone();
        let url = url.to_string();
        async move {
            script.calls.lock().unwrap().push((url.clone(), now));
            let host = Url::parse(&url).unwrap().host_str().unwrap().to_string();
            {
                let mut f = script.in_flight.lock().unwrap();
                let e = f.entry(host.clone()).or_default();
                e.0 += 1;
                e.1 = e.1.max(e.0);
            }
            let reply = {
                let mut replies = script.replies.lock().unwrap();
                let q = replies.entry(url.clone()).or_default();
                if q.len() > 1 {
                    q.pop_front()
                } else {
                    q.front().cloned()
                }
            };
            match reply.unwrap_or(Reply::NotModified) {
                Reply::NotModified => FetchOutcome::NotModified {
                    hints: CacheHints::default(),
                    moved_to: None,
                },
                Reply::Status(status, retry_after) => FetchOutcome::http_error(
                    status,
                    CacheHints {
                        retry_after: retry_after
                            .map(|d| now + chrono::Duration::from_std(d).unwrap()),
                        ..Default::default()
                    },
                ),
                Reply::Moved(to) => FetchOutcome::NotModified {
                    hints: CacheHints::default(),
                    moved_to: Some(Url::parse(to).unwrap()),
                },
                Reply::Hang => std::future::pending().await,
                Reply::Body(body) => FetchOutcome::Fetched {
                    status: 200,
                    body: body.as_bytes().to_vec(),
                    validators: Validators::default(),
                    hints: CacheHints::default(),
                    final_url: Url::parse(&url).unwrap(),
                    moved_to: None,
                },
                Reply::Slow(d) => {
                    tokio::time::sleep(d).await;
                    script.in_flight.lock().unwrap().entry(host).or_default().0 -= 1;
                    FetchOutcome::NotModified {
                        hints: CacheHints::default(),
                        moved_to: None,
                    }
                }
            }
        }
    }
}

impl Script {
    fn reply(&self, url: &str, replies: Vec<Reply>) {
        self.replies
            .lock()
            .unwrap()
            .insert(url.to_string(), replies.into());
    }

    /// Times of the requests to `url`, as minutes after T0.
    fn minutes(&self, url: &str) -> Vec<f64> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(u, _)| u == url)
            .map(|(_, t)| (*t - t0()).num_milliseconds() as f64 / 60_000.0)
            .collect()
    }

    fn count(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
}

struct NoNotifier;

impl Notifier for NoNotifier {
    async fn send(&self, _n: &Notification) -> Result<u32, NotifyError> {
        Ok(1)
    }
}

struct Harness<N = NoNotifier> {
    _dir: tempfile::TempDir,
    config_path: PathBuf,
    script: Arc<Script>,
    daemon: Daemon<ScriptedFetcher, N, TokioClock>,
}

fn harness(watchlist: &str) -> Harness {
    harness_with(watchlist, NoNotifier)
}

fn harness_with<N: Notifier + Send + Sync + 'static>(watchlist: &str, notifier: N) -> Harness<N> {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("watchlist.toml");
    std::fs::write(&config_path, watchlist).unwrap();
    let config = config::load(&config_path).unwrap();
    let store = Store::open(&dir.path().join("tidings.db")).unwrap();
    let script = Arc::new(Script::default());
    let daemon = Daemon::with_parts(
        config,
        store,
        ScriptedFetcher(script.clone()),
        notifier,
        TokioClock::starting_at(t0()),
    )
    .unwrap();
    Harness {
        _dir: dir,
        config_path,
        script,
        daemon,
    }
}

fn feeds_toml(urls: &[&str], interval: &str) -> String {
    let mut s = format!("[settings]\ninterval = \"{interval}\"\nhost_spacing = \"0s\"\n");
    for u in urls {
        s.push_str(&format!("[[feed]]\nurl = \"{u}\"\n"));
    }
    s
}

/// Runs the daemon for `virtual_time`, then shuts it down; `during` runs alongside.
async fn run_for<N: Notifier + Send + Sync + 'static>(
    h: &mut Harness<N>,
    virtual_time: Duration,
    during: impl Future<Output = ()>,
) -> mpsc::Sender<ReloadCause> {
    let (reload_tx, reload_rx) = mpsc::channel(4);
    let run = h.daemon.run(tokio::time::sleep(virtual_time), reload_rx);
    let ((), res) = tokio::join!(during, run);
    res.unwrap();
    reload_tx
}

/// Runs the daemon for 10 minutes more than one per edit: every 10 minutes the watch-list
/// becomes the next of `edits` and is reloaded.
async fn run_editing(h: &mut Harness, edits: &[&str]) {
    let path = h.config_path.clone();
    let virtual_time = Duration::from_secs(10 * 60 * (edits.len() as u64 + 1));
    let driver = |reload_tx: mpsc::Sender<ReloadCause>| async move {
        for text in edits {
            tokio::time::sleep(Duration::from_secs(10 * 60)).await;
            write(&path, text);
            reload_tx.send(ReloadCause::FileChanged).await.unwrap();
        }
    };
    let (reload_tx, reload_rx) = mpsc::channel(4);
    let run = h.daemon.run(tokio::time::sleep(virtual_time), reload_rx);
    let ((), res) = tokio::join!(driver(reload_tx), run);
    res.unwrap();
}

/// Writes `text` as the watch-list, then [`reload_at_once`].
async fn reload_now(h: &mut Harness, text: &str) {
    write(&h.config_path, text);
    reload_at_once(h).await;
}

/// Reloads the watch-list at once and runs the daemon for a minute.
async fn reload_at_once(h: &mut Harness) {
    let (reload_tx, reload_rx) = mpsc::channel(1);
    reload_tx.send(ReloadCause::FileChanged).await.unwrap();
    drop(reload_tx);
    h.daemon
        .run(tokio::time::sleep(Duration::from_secs(60)), reload_rx)
        .await
        .unwrap();
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[tokio::test(start_paused = true)]
async fn first_polls_are_spread_over_the_first_interval() {
    let urls: Vec<String> = (0..10)
        .map(|i| format!("https://h{i}.example/rss"))
        .collect();
    let refs: Vec<&str> = urls.iter().map(String::as_str).collect();
    let mut h = harness(&feeds_toml(&refs, "10m"));
    run_for(&mut h, Duration::from_secs(9 * 60 + 59), async {}).await;
    let mut firsts: Vec<f64> = urls.iter().map(|u| h.script.minutes(u)[0]).collect();
    firsts.sort_by(f64::total_cmp);
    let want: Vec<f64> = (0..10).map(f64::from).collect();
    assert_eq!(
        firsts, want,
        "one feed a minute over the 10-minute interval"
    );
}

#[tokio::test(start_paused = true)]
async fn idle_daemon_wakes_only_for_due_polls() {
    let urls: Vec<String> = (0..200)
        .map(|i| format!("https://h{i}.example/rss"))
        .collect();
    let refs: Vec<&str> = urls.iter().map(String::as_str).collect();
    let mut h = harness(&feeds_toml(&refs, "15m"));
    run_for(&mut h, Duration::from_secs(3600), async {}).await;
    let polls = h.script.count() as u64;
    assert_eq!(polls, 800, "every feed polled every 15 minutes for an hour");
    assert_eq!(h.daemon.stats.polls, polls);
    // Each poll costs at most one timer wake-up and one completion; nothing else wakes the loop.
    assert!(
        h.daemon.stats.wakeups <= 2 * polls + 2,
        "{} wake-ups for {polls} polls",
        h.daemon.stats.wakeups
    );
}

#[tokio::test(start_paused = true)]
async fn failures_back_off_exponentially_and_recover() {
    let url = "https://flaky.example/rss";
    let mut h = harness(&feeds_toml(&[url], "15m"));
    h.script.reply(
        url,
        vec![
            Reply::Status(500, None),
            Reply::Status(500, None),
            Reply::Status(500, None),
            Reply::Status(500, None),
            Reply::NotModified,
        ],
    );
    run_for(&mut h, Duration::from_secs(60 * 60), async {}).await;
    let t = h.script.minutes(url);
    let gaps: Vec<f64> = t.windows(2).map(|w| w[1] - w[0]).collect();
    // 1, 2, 4, 8 minutes (each up to +25 % jitter), then back to the 15-minute interval
    // (times are stored to the second).
    let second = 1.0 / 60.0;
    for (gap, base) in gaps.iter().zip([1.0, 2.0, 4.0, 8.0, 15.0]) {
        let max = if base == 15.0 { 15.0 } else { base * 1.25 };
        assert!(
            (base - second..=max + second).contains(gap),
            "gaps {gaps:?}"
        );
    }
    let state = h.daemon.store.feed_by_url(url).unwrap().unwrap();
    assert_eq!(state.consecutive_failures, 0);
}

#[tokio::test(start_paused = true)]
async fn retry_after_defers_every_feed_of_that_host() {
    let (a, b, other) = (
        "https://busy.example/a.xml",
        "https://busy.example/b.xml",
        "https://calm.example/rss",
    );
    let mut h = harness(&feeds_toml(&[a, b, other], "15m"));
    // The first request to the host gets 429 with Retry-After: 40 minutes.
    h.script.reply(
        a,
        vec![
            Reply::Status(429, Some(Duration::from_secs(40 * 60))),
            Reply::NotModified,
        ],
    );
    h.script.reply(
        b,
        vec![
            Reply::Status(429, Some(Duration::from_secs(40 * 60))),
            Reply::NotModified,
        ],
    );
    run_for(&mut h, Duration::from_secs(70 * 60), async {}).await;
    let first_429 = [h.script.minutes(a)[0], h.script.minutes(b)[0]]
        .into_iter()
        .fold(f64::MAX, f64::min);
    for url in [a, b] {
        for t in h.script.minutes(url) {
            assert!(
                t <= first_429 || t >= first_429 + 40.0,
                "{url} polled at {t} min, inside the deferral from {first_429}"
            );
        }
    }
    assert!(h.script.minutes(other).len() >= 4, "other hosts carry on");
}

/// `poll --once` honours a host's deferral too: within the pause its feeds are not requested,
/// and their report says why and until when; other hosts are polled.
#[tokio::test(start_paused = true)]
async fn a_one_shot_poll_honours_the_hosts_deferral() {
    let (a, other) = ("https://busy.example/a.xml", "https://calm.example/rss");
    let mut h = harness(&feeds_toml(&[a, other], "15m"));
    h.script.reply(
        a,
        vec![Reply::Status(429, Some(Duration::from_secs(40 * 60)))],
    );
    let feeds = h.daemon.config.feeds.clone();
    h.daemon.poll(&feeds).await.unwrap();
    tokio::time::sleep(Duration::from_secs(10 * 60)).await;
    let reports = h.daemon.poll(&feeds).await.unwrap();
    assert_eq!(
        h.script.minutes(a),
        [0.0],
        "not asked again inside the pause"
    );
    assert_eq!(
        h.script.minutes(other),
        [0.0, 10.0],
        "other hosts are polled"
    );
    assert!(
        matches!(&reports[0].result, PollResult::Deferred { until, .. } if *until == t0() + chrono::Duration::minutes(40)),
        "{:?}",
        reports[0]
    );
    assert!(reports[0].ok(), "a pause is not a failure");
    assert!(
        reports[0]
            .summary_line()
            .contains("not polled: its host asked for a pause until"),
        "{}",
        reports[0].summary_line()
    );
}

#[tokio::test(start_paused = true)]
async fn gone_feed_is_disabled_until_its_entry_changes() {
    let (gone, ok) = ("https://old.example/rss", "https://new.example/rss");
    let mut h = harness(&feeds_toml(&[gone, ok], "5m"));
    h.script.reply(gone, vec![Reply::Status(410, None)]);
    run_for(&mut h, Duration::from_secs(60 * 60), async {}).await;
    assert_eq!(
        h.script.minutes(gone).len(),
        1,
        "never polled again after 410"
    );
    let state = h.daemon.store.feed_by_url(gone).unwrap().unwrap();
    assert_eq!(state.disabled_reason.as_deref(), Some("410 Gone"));

    // Editing its entry (here: giving it a name) re-enables it.
    let edited =
        feeds_toml(&[ok], "5m") + &format!("[[feed]]\nurl = \"{gone}\"\nname = \"Back\"\n");
    write(&h.config_path, &edited);
    let (reload_tx, reload_rx) = mpsc::channel(4);
    reload_tx.send(ReloadCause::Signal).await.unwrap();
    h.daemon
        .run(tokio::time::sleep(Duration::from_secs(600)), reload_rx)
        .await
        .unwrap();
    assert!(
        h.script.minutes(gone).len() >= 2,
        "polled again after the edit"
    );
}

#[tokio::test(start_paused = true)]
async fn permanent_redirect_is_adopted_after_two_polls() {
    let (old, new) = ("https://a.example/old.xml", "https://a.example/new.xml");
    let mut h = harness(&feeds_toml(&[old], "5m"));
    h.script.reply(old, vec![Reply::Moved(new)]);
    run_for(&mut h, Duration::from_secs(16 * 60), async {}).await;
    assert_eq!(
        h.script.minutes(old).len(),
        2,
        "two polls of the old URL, both redirected"
    );
    assert!(!h.script.minutes(new).is_empty(), "then the new URL");
    let state = h.daemon.store.feed_by_url(old).unwrap().unwrap();
    assert_eq!(state.fetch_url.as_deref(), Some(new));
}

#[tokio::test(start_paused = true)]
async fn reload_adds_and_removes_feeds_and_a_broken_file_changes_nothing() {
    let (a, b, c) = (
        "https://a.example/rss",
        "https://b.example/rss",
        "https://c.example/rss",
    );
    let mut h = harness(&feeds_toml(&[a, b], "5m"));
    let script = h.script.clone();
    run_editing(&mut h, &[&feeds_toml(&[a, c], "5m"), "[[feed]\nurl = "]).await;

    let after = |url: &str, min: f64| script.minutes(url).into_iter().filter(|t| *t > min).count();
    assert!(
        after(b, 10.0) == 0,
        "removed feed not polled after the reload"
    );
    assert!(after(c, 10.0) >= 2, "added feed polled");
    assert!(
        after(a, 20.0) >= 1 && after(c, 20.0) >= 1,
        "broken file: the running config goes on"
    );
    let err = h.daemon.store.state("config_error").unwrap().unwrap();
    assert!(err.contains("watchlist.toml:1:"), "{err}");
    assert_eq!(h.daemon.stats.reloads, 1);
    let removed = h.daemon.store.feed_by_url(b).unwrap().unwrap();
    assert!(!removed.in_config, "removed feed keeps its row");
}

/// An emptied watch-list (0 bytes: an editor that truncates, a failed `cp`) is valid TOML, but
/// a reload that would drop every feed and every topic keeps the running configuration and
/// says why in `status`; the next good file is taken. Starting empty stays allowed.
#[tokio::test(start_paused = true)]
async fn a_reload_to_an_empty_watch_list_keeps_the_running_one() {
    let (a, b) = ("https://a.example/rss", "https://b.example/rss");
    let mut h = harness(&feeds_toml(&[a], "5m"));
    let script = h.script.clone();
    run_editing(&mut h, &["", "# nothing yet\n[settings]\n"]).await;

    let after = |url: &str, min: f64| script.minutes(url).into_iter().filter(|t| *t > min).count();
    assert!(after(a, 20.0) >= 1, "the running config goes on");
    let err = h.daemon.store.state("config_error").unwrap().unwrap();
    assert!(err.contains("no feeds and no topics"), "{err}");
    assert_eq!(h.daemon.stats.reloads, 0);
    assert!(h.daemon.store.feed_by_url(a).unwrap().unwrap().in_config);
    assert_eq!(h.daemon.config.feeds.len(), 1);

    // The next good file is taken and clears the error.
    reload_now(&mut h, &feeds_toml(&[b], "5m")).await;
    assert_eq!(h.daemon.store.state("config_error").unwrap(), None);
    assert_eq!(h.daemon.stats.reloads, 1);

    // Empty over empty drops nothing: taken as it is.
    let mut h = harness("");
    reload_now(&mut h, "[settings]\n").await;
    assert_eq!(h.daemon.store.state("config_error").unwrap(), None);
    assert_eq!(h.daemon.stats.reloads, 1);
}

/// A reload whose example file went bad (a label that is not 0/1; no negative left) keeps the
/// running configuration, the topic's model included, and names the problem in `status`.
#[tokio::test(start_paused = true)]
async fn a_reload_with_bad_examples_keeps_the_running_topics() {
    let a = "https://a.example/rss";
    let toml = format!(
        "{}[[topic]]\nname = \"NATO\"\nquery = \"nato\"\nexamples = [\"examples.tsv\"]\n",
        feeds_toml(&[a], "5m")
    );
    let mut h = harness(&feeds_toml(&[a], "5m"));
    let examples = h.config_path.with_file_name("examples.tsv");
    write(
        &examples,
        "label\ttitle\n1\tFinland joins NATO\n0\tNATO jets land\n",
    );
    write(&h.config_path, &toml);
    h.daemon.config = config::load(&h.config_path).unwrap();
    let learning = |h: &Harness| {
        h.daemon.config.topics[0]
            .learn
            .as_ref()
            .map(|l| l.examples.len())
    };
    assert_eq!(learning(&h), Some(2));

    for (bad, want) in [
        (
            "label\ttitle\n1\tFinland joins NATO\nno\tNATO jets land\n",
            "examples.tsv:3: label: expected 0 or 1",
        ),
        (
            "label\ttitle\n1\tFinland joins NATO\n1\tSweden joins NATO\n1\tNATO grows\n",
            "the examples hold 3 positive and 0 negative items",
        ),
    ] {
        write(&examples, bad);
        reload_at_once(&mut h).await;
        let err = h.daemon.store.state("config_error").unwrap().unwrap();
        assert!(err.contains(want), "{err}");
        assert_eq!(learning(&h), Some(2), "the running topics stay");
        assert!(
            h.daemon
                .config
                .matcher()
                .model(crate::model::TopicId(0))
                .is_some(),
            "and keep their model"
        );
    }
    assert_eq!(h.daemon.stats.reloads, 0);
}

#[tokio::test(start_paused = true)]
async fn shutdown_waits_for_in_flight_polls_at_most_the_grace_period() {
    let (hang, ok) = ("https://hang.example/rss", "https://ok.example/rss");
    let mut h = harness(&feeds_toml(&[hang, ok], "5m"));
    h.script.reply(hang, vec![Reply::Hang]);
    let started = tokio::time::Instant::now();
    run_for(&mut h, Duration::from_secs(60), async {}).await;
    let took = tokio::time::Instant::now() - started;
    assert!(
        took <= Duration::from_secs(60) + SHUTDOWN_GRACE,
        "took {took:?}"
    );
    let state = h.daemon.store.feed_by_url(hang).unwrap().unwrap();
    assert_eq!(
        state.last_polled_at, None,
        "an unfinished poll records nothing"
    );
}

#[tokio::test(start_paused = true)]
async fn one_request_in_flight_per_host_and_spacing_between_them() {
    let same_host: Vec<String> = (0..4)
        .map(|i| format!("https://one.example/{i}.xml"))
        .collect();
    let other = "https://two.example/rss";
    let mut toml = feeds_toml(&[], "5m").replace("host_spacing = \"0s\"", "host_spacing = \"2s\"");
    for u in same_host.iter().map(String::as_str).chain([other]) {
        toml.push_str(&format!("[[feed]]\nurl = \"{u}\"\n"));
    }
    let mut h = harness(&toml);
    for u in same_host.iter().map(String::as_str).chain([other]) {
        h.script.reply(u, vec![Reply::Slow(Duration::from_secs(1))]);
    }
    // Start every feed at once (no spreading): a one-shot pass over all of them.
    let feeds = h.daemon.config.feeds.clone();
    h.daemon.poll(&feeds).await.unwrap();

    let in_flight = h.script.in_flight.lock().unwrap().clone();
    assert_eq!(
        in_flight["one.example"].1, 1,
        "never two requests at once to one host"
    );
    let mut starts: Vec<f64> = same_host
        .iter()
        .flat_map(|u| h.script.minutes(u))
        .map(|m| m * 60.0)
        .collect();
    starts.sort_by(f64::total_cmp);
    for w in starts.windows(2) {
        // One at a time (each takes 1 s) and at least 2 s between starts.
        assert!(w[1] - w[0] >= 2.0 - 1e-9, "starts {starts:?}");
    }
    let other_start = h.script.minutes(other)[0] * 60.0;
    assert!(
        other_start < 1.0,
        "another host is not held up: {other_start} s"
    );
}

/// A host with more due feeds than `concurrency` queues at its own pace without holding the
/// places other hosts need: their feeds are fetched at their own host's spacing.
#[tokio::test(start_paused = true)]
async fn a_busy_host_does_not_starve_the_others() {
    let busy: Vec<String> = (0..60)
        .map(|i| format!("https://busy.example/{i}.xml"))
        .collect();
    let quiet: Vec<String> = (0..4)
        .map(|i| format!("https://quiet.example/{i}.xml"))
        .collect();
    let mut toml = feeds_toml(&[], "1h").replace(
        "host_spacing = \"0s\"",
        "host_spacing = \"1s\"\nconcurrency = 4",
    );
    for u in busy.iter().chain(&quiet) {
        toml.push_str(&format!("[[feed]]\nurl = \"{u}\"\n"));
    }
    let mut h = harness(&toml);
    let feeds = h.daemon.config.feeds.clone();
    h.daemon.poll(&feeds).await.unwrap();

    let seconds = |urls: &[String]| -> Vec<f64> {
        let mut s: Vec<f64> = urls
            .iter()
            .flat_map(|u| h.script.minutes(u))
            .map(|m| m * 60.0)
            .collect();
        s.sort_by(f64::total_cmp);
        s
    };
    let quiet_starts = seconds(&quiet);
    assert_eq!(
        quiet_starts,
        [0.0, 1.0, 2.0, 3.0],
        "the quiet host's feeds go at its own pace"
    );
    let busy_starts = seconds(&busy);
    assert_eq!(busy_starts.len(), 60);
    for w in busy_starts.windows(2) {
        assert!(
            w[1] - w[0] >= 1.0 - 1e-9,
            "busy host spacing: {busy_starts:?}"
        );
    }
}

/// A notifier that answers after two (virtual) hours.
struct SlowNotifier;

impl Notifier for SlowNotifier {
    async fn send(&self, _n: &Notification) -> Result<u32, NotifyError> {
        tokio::time::sleep(Duration::from_secs(2 * 3600)).await;
        Ok(1)
    }
}

/// Delivery is its own task: a notification server (or sink) that takes hours to answer
/// holds up neither the polls nor the loop's turns.
#[tokio::test(start_paused = true)]
async fn a_slow_notification_server_does_not_hold_up_the_polls() {
    let a = "https://a.example/rss";
    let toml = format!(
        "{}alert_on_first_poll = true\n[[topic]]\nname = \"NATO\"\nquery = \"nato\"\n",
        feeds_toml(&[], "15m")
    ) + &format!("[[feed]]\nurl = \"{a}\"\n");
    let mut h = harness_with(&toml, SlowNotifier);
    h.script.reply(
        a,
        vec![Reply::Body(
            "<rss version=\"2.0\"><channel><title>A</title><item><title>Finland joins NATO</title>\
             <link>https://a.example/1</link></item></channel></rss>",
        )],
    );
    run_for(&mut h, Duration::from_secs(3600), async {}).await;
    assert_eq!(
        h.script.minutes(a),
        [0.0, 15.0, 30.0, 45.0],
        "polled every 15 minutes while the first notification was still being sent"
    );
    let pending = h.daemon.store.pending_alerts(10).unwrap();
    assert_eq!(pending.len(), 1, "the alert stays pending: never lost");
}

/// "Not relevant" / "Relevant" on a notification the daemon showed record the mark of its
/// alert (via `notification`, the later one replacing the earlier); an unknown notification
/// is ignored, and an alert gone meanwhile is not fatal.
#[tokio::test(start_paused = true)]
async fn mark_actions_mark_the_shown_alert() {
    let mut h = harness(&feeds_toml(&["https://a.example/rss"], "15m"));
    let store = &mut h.daemon.store;
    let feed = store
        .sync_feed("https://a.example/rss", None, t0())
        .unwrap();
    let mut tx = store.begin_poll(feed.id).unwrap();
    let new = tx
        .insert_new(
            vec![crate::model::Article {
                key: crate::model::ArticleKey("k1".into()),
                title: "Finland applies to join NATO".into(),
                summary: "Helsinki applies.".into(),
                ..Default::default()
            }],
            t0(),
        )
        .unwrap();
    let matched = crate::model::Match {
        learned: None,
        topic: crate::model::TopicId(0),
        hits: vec![],
        snippet: crate::model::Snippet::default(),
    };
    tx.record_alerts(
        &[NewAlert {
            article_id: new[0].id,
            topic: "NATO",
            matched: &matched,
            notify: true,
        }],
        t0(),
    )
    .unwrap();
    tx.finish(&PollRecord::default(), t0()).unwrap();
    h.daemon
        .delivery()
        .unwrap()
        .deliver_pending()
        .await
        .unwrap();
    assert_eq!(
        h.daemon
            .delivery()
            .unwrap()
            .shown
            .get(&1)
            .and_then(|s| s.alert),
        Some(1),
        "the notification (server id 1) shows alert 1"
    );

    let action = |id: u32, key: &str| Feedback::Action {
        id,
        key: key.to_string(),
    };
    h.daemon
        .delivery()
        .unwrap()
        .on_feedback(action(7, "wrong"))
        .unwrap();
    assert!(
        h.daemon.store.marks().unwrap().is_empty(),
        "not our notification"
    );
    h.daemon
        .delivery()
        .unwrap()
        .on_feedback(action(1, "wrong"))
        .unwrap();
    let marks = h.daemon.store.marks().unwrap();
    assert_eq!(
        marks
            .iter()
            .map(|m| (
                m.topic.as_str(),
                m.label,
                m.title.as_str(),
                m.summary.as_str()
            ))
            .collect::<Vec<_>>(),
        [(
            "NATO",
            false,
            "Finland applies to join NATO",
            "Helsinki applies."
        )]
    );
    h.daemon
        .delivery()
        .unwrap()
        .on_feedback(action(1, "right"))
        .unwrap();
    let marks = h.daemon.store.marks().unwrap();
    assert_eq!(
        marks.iter().map(|m| m.label).collect::<Vec<_>>(),
        [true],
        "replaced"
    );

    // Retention forgets the alert while its notification is still on screen.
    let later = t0() + chrono::Duration::days(2);
    h.daemon
        .store
        .prune(
            later,
            Duration::from_secs(3600),
            Some(Duration::from_secs(3600)),
            100,
        )
        .unwrap();
    h.daemon
        .delivery()
        .unwrap()
        .on_feedback(action(1, "wrong"))
        .unwrap();
    assert_eq!(
        h.daemon.store.marks().unwrap().len(),
        1,
        "the mark outlives its alert"
    );
}

/// A wall clock that the test can stop: while wedged, `now()` blocks the caller — the loop
/// asks it at the start of every turn, so the loop stops turning.
#[derive(Clone, Default)]
struct WedgeClock {
    wedged: Arc<(StdMutex<bool>, std::sync::Condvar)>,
    /// Told each time a caller blocks.
    blocked: Arc<StdMutex<Option<std::sync::mpsc::Sender<()>>>>,
}

impl WedgeClock {
    fn set(&self, wedged: bool) {
        let (m, cv) = &*self.wedged;
        *m.lock().unwrap() = wedged;
        cv.notify_all();
    }
}

impl Clock for WedgeClock {
    fn now(&self) -> DateTime<Utc> {
        let (m, cv) = &*self.wedged;
        let mut wedged = m.lock().unwrap();
        if *wedged && let Some(tx) = &*self.blocked.lock().unwrap() {
            let _ = tx.send(());
        }
        while *wedged {
            wedged = cv.wait(wedged).unwrap();
        }
        Utc::now()
    }
}

/// `WATCHDOG=1` is sent only while the loop turns: a wedged loop goes silent (so systemd
/// restarts the service), and pings resume once it turns again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_watchdog_while_the_loop_is_wedged() {
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify");
    // A blocking socket read from the test's thread: a wedged worker can stall the runtime's
    // timers, so waits on this side do not use them.
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    let config_path = dir.path().join("watchlist.toml");
    std::fs::write(&config_path, feeds_toml(&[], "1h")).unwrap();
    let config = config::load(&config_path).unwrap();
    let store = Store::open(&dir.path().join("tidings.db")).unwrap();
    let clock = WedgeClock::default();
    let mut daemon = Daemon::with_parts(
        config,
        store,
        ScriptedFetcher(Arc::new(Script::default())),
        NoNotifier,
        clock.clone(),
    )
    .unwrap();
    // WATCHDOG_USEC = 0.2 s: a ping every 0.1 s.
    daemon.set_service_notify(crate::service::SdNotify::from_vars(
        Some(socket_path.into()),
        Some("200000"),
        None,
        1,
    ));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (_reload_tx, reload_rx) = mpsc::channel(1);
    let run = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        daemon.run(shutdown, reload_rx).await
    });

    let recv = |within: Duration| {
        socket
            .set_read_timeout(Some(within.max(Duration::from_millis(1))))
            .unwrap();
        let mut buf = [0u8; 512];
        let n = socket.recv(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    };
    let mut pings = 0;
    while pings < 3 {
        let m = recv(Duration::from_secs(10)).expect("a message");
        pings += usize::from(m == "WATCHDOG=1\n");
    }

    let (tx, blocked) = std::sync::mpsc::channel();
    *clock.blocked.lock().unwrap() = Some(tx);
    // Unwedges however the test ends, so a failed assertion cannot hang the runtime.
    struct Unwedge(WedgeClock);
    impl Drop for Unwedge {
        fn drop(&mut self) {
            self.0.set(false);
        }
    }
    let unwedge = Unwedge(clock.clone());
    clock.set(true);
    blocked
        .recv_timeout(Duration::from_secs(10))
        .expect("the loop to ask the clock and block");
    // What the loop sent before it wedged is read now; from here on it must be silent. The
    // one fixed wait: the assertion is that nothing arrives in it (five ping intervals).
    while recv(Duration::from_millis(1)).is_some() {}
    let mut late = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_millis(500);
    while let Some(m) = recv(deadline.saturating_duration_since(std::time::Instant::now())) {
        late.push(m);
    }
    assert!(
        late.iter().all(|m| m != "WATCHDOG=1\n"),
        "pings while wedged: {late:?}"
    );

    drop(unwedge);
    loop {
        let m = recv(Duration::from_secs(10)).expect("pings again once the loop turns");
        if m == "WATCHDOG=1\n" {
            break;
        }
    }
    stop.send(()).unwrap();
    run.await.unwrap().unwrap();
}

/// A muted feed's alerts are recorded `muted`, like a muted topic's, and not shown; other
/// feeds' alerts of the same topic are shown; once the mute ends, the feed's alerts show again.
#[tokio::test(start_paused = true)]
async fn alerts_of_a_muted_feed_are_marked_muted() {
    let (a, b) = ("https://a.example/rss", "https://b.example/rss");
    let mut h = harness(&feeds_toml(&[a, b], "15m"));
    let record = |store: &mut Store, feed: &str, key: &str, at: DateTime<Utc>| {
        let feed = store.sync_feed(feed, None, at).unwrap();
        let mut tx = store.begin_poll(feed.id).unwrap();
        let new = tx
            .insert_new(
                vec![crate::model::Article {
                    key: crate::model::ArticleKey(key.into()),
                    title: format!("NATO story {key}"),
                    ..Default::default()
                }],
                at,
            )
            .unwrap();
        let matched = crate::model::Match {
            learned: None,
            topic: crate::model::TopicId(0),
            hits: vec![],
            snippet: crate::model::Snippet::default(),
        };
        tx.record_alerts(
            &[NewAlert {
                article_id: new[0].id,
                topic: "NATO",
                matched: &matched,
                notify: true,
            }],
            at,
        )
        .unwrap();
        tx.finish(&PollRecord::default(), at).unwrap();
        feed.id
    };
    let feed_a = record(&mut h.daemon.store, a, "a1", t0());
    record(&mut h.daemon.store, b, "b1", t0());
    h.daemon
        .store
        .mute_feed(feed_a, t0() + chrono::Duration::hours(1))
        .unwrap();
    h.daemon
        .delivery()
        .unwrap()
        .deliver_pending()
        .await
        .unwrap();
    let via = |store: &Store| {
        let mut rows: Vec<(String, Option<String>)> = store
            .history(&crate::store::HistoryFilter {
                limit: 10,
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|r| (r.title, r.delivered_via))
            .collect();
        rows.sort();
        rows
    };
    let rows = via(&h.daemon.store);
    assert_eq!(rows[0], ("NATO story a1".into(), Some("muted".into())));
    assert_ne!(rows[1].1.as_deref(), Some("muted"), "{rows:?}");
    assert!(rows[1].1.is_some(), "feed B's alert was shown: {rows:?}");

    // The mute has ended: the feed's next alert is shown.
    h.daemon
        .store
        .mute_feed(feed_a, t0() - chrono::Duration::hours(1))
        .unwrap();
    record(&mut h.daemon.store, a, "a2", t0());
    h.daemon
        .delivery()
        .unwrap()
        .deliver_pending()
        .await
        .unwrap();
    let rows = via(&h.daemon.store);
    assert!(
        rows[1].0 == "NATO story a2" && rows[1].1.as_deref() != Some("muted"),
        "{rows:?}"
    );
}
