//! The common world of an end-to-end test, built in one call: a private D-Bus with the
//! recording notification server ([`TestBus`]), a loopback HTTP server with the feeds
//! ([`TestServer`]), a sandbox with the watch-list and database ([`Sandbox`]), and `tidings`
//! run in it with a clean environment.
//!
//! ```ignore
//! let Some(s) = Scenario::builder("my_test")
//!     .feed("/feed.xml", "Wire", rss("Wire", &items))
//!     .topic("NATO membership", "NATO")
//!     .batch_after(100)
//!     .start()
//!     .await
//! else {
//!     return; // SKIPPED: no dbus-daemon (a failure under CI)
//! };
//! s.poll_once().await.assert_code(0);
//! assert_eq!(s.bus().notifications().len(), 1);
//! ```
//!
//! What varies is said on the [`Builder`]: feeds and what they serve, topics, settings, the
//! notification server's capabilities and behaviour ([`Notifier`]), the children's
//! environment. Tests without a bus use [`Builder::start_without_bus`].

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use toml::Value;

use super::TIMEOUT;
use super::cli::{Daemon, Output, POLL_EVERY, Sandbox, wait_until};
use super::db::{self, AlertRow};
use super::dbus::{Notification, TestBus};
use super::http::{Behaviour, TestServer};
use super::watchlist::WatchList;

/// What owns `org.freedesktop.Notifications` on the scenario's bus when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Notifier {
    /// The recording server, answering every call ([`TestBus::start`]).
    #[default]
    Answering,
    /// Nobody yet: a session started before the desktop. [`TestBus::serve`] brings the
    /// server up ([`TestBus::start_without_server`]).
    Absent,
    /// A server that answers `GetCapabilities` but never `Notify` ([`TestBus::start_hanging`]).
    Hanging,
}

/// What a [`Scenario`] is made of; see the module docs.
#[must_use = "a builder does nothing until started"]
pub struct Builder {
    test: String,
    watchlist: WatchList,
    /// What the HTTP server serves: `(path, behaviour)`.
    routes: Vec<(String, Behaviour)>,
    /// The `[[feed]]`s: `(path on the HTTP server or URL, name)`.
    watched: Vec<(String, Option<String>)>,
    interval: Option<String>,
    notifier: Notifier,
    capabilities: Option<Vec<String>>,
    off_bus: bool,
    opener: bool,
    env: Vec<(String, String)>,
    files: Vec<(String, Vec<u8>)>,
}

/// A started world. Dropping it stops the bus, the HTTP server and removes the sandbox.
pub struct Scenario {
    bus: Option<TestBus>,
    pub http: TestServer,
    /// The sandbox children run in (see [`Scenario::fresh_sandbox`]).
    pub sb: Sandbox,
    watchlist: WatchList,
    env: Vec<(String, String)>,
    /// Written into every sandbox (see [`Builder::file`]).
    files: Vec<(String, Vec<u8>)>,
    opener: Option<PathBuf>,
    /// Sandboxes replaced by [`Scenario::fresh_sandbox`], kept until the end of the test.
    retired: Vec<Sandbox>,
}

impl Scenario {
    /// A builder for the test `test` (named in the `SKIPPED` line when there is no
    /// `dbus-daemon`). The watch-list starts as [`WatchList::empty`].
    pub fn builder(test: &str) -> Builder {
        Builder {
            test: test.to_owned(),
            watchlist: WatchList::empty(),
            routes: Vec::new(),
            watched: Vec::new(),
            interval: None,
            notifier: Notifier::default(),
            capabilities: None,
            off_bus: false,
            opener: false,
            env: Vec::new(),
            files: Vec::new(),
        }
    }
}

impl Builder {
    /// Starts from `watchlist` instead of [`WatchList::empty`] (e.g. [`WatchList::standard`]).
    pub fn watchlist(mut self, watchlist: WatchList) -> Builder {
        self.watchlist = watchlist;
        self
    }

    /// Serves `body` at `path` and adds it to the watch-list as a `[[feed]]` named `name`.
    pub fn feed(self, path: &str, name: &str, body: impl Into<Behaviour>) -> Builder {
        self.serve(path, body).watch(path, Some(name))
    }

    /// Serves `body` at `path` (see also [`Scenario::serve`], [`Scenario::add_feed`]).
    pub fn serve(mut self, path: &str, body: impl Into<Behaviour>) -> Builder {
        self.routes.push((path.to_owned(), body.into()));
        self
    }

    /// Adds a `[[feed]]`: a path on the HTTP server (starting with `/`; a 404 until served)
    /// or any URL, with a `name` unless `None`.
    pub fn watch(mut self, path_or_url: &str, name: Option<&str>) -> Builder {
        self.watched
            .push((path_or_url.to_owned(), name.map(str::to_owned)));
        self
    }

    /// Every feed has its own `interval` (e.g. `"1s"`, below the 5 min floor) so that
    /// `tidings run` polls it again soon.
    pub fn every(mut self, interval: &str) -> Builder {
        self.interval = Some(interval.to_owned());
        self
    }

    pub fn topic(mut self, name: &str, query: &str) -> Builder {
        self.watchlist = self.watchlist.topic(name, query);
        self
    }

    /// A topic with an `urgency` (`low`, `normal`, `critical`).
    pub fn topic_with_urgency(mut self, name: &str, query: &str, urgency: &str) -> Builder {
        self.watchlist = self.watchlist.topic_with_urgency(name, query, urgency);
        self
    }

    /// A topic that learns from `examples` (files relative to the watch-list; see
    /// [`Builder::file`]).
    pub fn topic_learning(mut self, name: &str, query: &str, examples: &[&str]) -> Builder {
        self.watchlist = self.watchlist.topic_learning(name, query, examples);
        self
    }

    /// A file `name` in the sandbox, beside the watch-list (e.g. a topic's examples).
    pub fn file(mut self, name: &str, contents: impl Into<Vec<u8>>) -> Builder {
        self.files.push((name.to_owned(), contents.into()));
        self
    }

    /// `[settings] key = value`.
    pub fn setting(mut self, key: &str, value: impl Into<Value>) -> Builder {
        self.watchlist = self.watchlist.setting(key, value);
        self
    }

    /// `batch_after = n`: more alerts than this at once become one summary.
    pub fn batch_after(self, n: i64) -> Builder {
        self.setting("batch_after", n)
    }

    /// `max_per_topic_per_hour = n`.
    pub fn max_per_topic_per_hour(self, n: i64) -> Builder {
        self.setting("max_per_topic_per_hour", n)
    }

    /// `quiet_hours = "HH:MM-HH:MM"` (the children's local time; see [`Builder::env`]).
    pub fn quiet_hours(self, window: &str) -> Builder {
        self.setting("quiet_hours", window)
    }

    /// `opener` is a script in the sandbox that records each argument; read it with
    /// [`Scenario::opened`].
    pub fn fake_opener(mut self) -> Builder {
        self.opener = true;
        self
    }

    /// What `GetCapabilities` answers (the server's default: `body`, `body-markup`, `actions`).
    pub fn capabilities(mut self, caps: &[&str]) -> Builder {
        self.capabilities = Some(caps.iter().map(|c| c.to_string()).collect());
        self
    }

    /// Who owns the notification name when the test begins.
    pub fn notifier(mut self, notifier: Notifier) -> Builder {
        self.notifier = notifier;
        self
    }

    /// The bus is started, but children cannot reach any bus until [`Scenario::join_bus`].
    pub fn off_bus(mut self) -> Builder {
        self.off_bus = true;
        self
    }

    /// `key=value` in the environment of every child (e.g. `TZ=UTC`).
    pub fn env(mut self, key: &str, value: &str) -> Builder {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Starts everything. `None` after printing `SKIPPED` when there is no `dbus-daemon`
    /// (not under CI; `CI=true` makes that a failure); any other failure fails the test.
    pub async fn start(self) -> Option<Scenario> {
        let started = match self.notifier {
            Notifier::Answering => TestBus::start().await,
            Notifier::Absent => TestBus::start_without_server().await,
            Notifier::Hanging => TestBus::start_hanging().await,
        };
        let bus = TestBus::or_skip(started, &self.test)?;
        Some(self.finish(Some(bus)).await)
    }

    /// Starts the world without a bus: children see a bus address where nothing listens,
    /// never the machine's session bus. Never skipped.
    pub async fn start_without_bus(self) -> Scenario {
        assert!(
            self.notifier == Notifier::Answering && self.capabilities.is_none() && !self.off_bus,
            "{}: a notification server was configured for a scenario without a bus",
            self.test
        );
        self.finish(None).await
    }

    async fn finish(self, bus: Option<TestBus>) -> Scenario {
        if let (Some(bus), Some(caps)) = (&bus, &self.capabilities) {
            let caps: Vec<&str> = caps.iter().map(String::as_str).collect();
            bus.set_capabilities(&caps);
        }
        let http = TestServer::start().await;
        for (path, body) in self.routes {
            http.set(&path, body);
        }
        let mut watchlist = self.watchlist;
        for (at, name) in self.watched {
            let url = if at.starts_with('/') {
                http.url(&at)
            } else {
                at
            };
            watchlist = match (name, &self.interval) {
                (name, None) => watchlist.feed(&url, name.as_deref()),
                (Some(name), Some(every)) => watchlist.feed_every(&url, &name, every),
                (None, Some(_)) => panic!("{}: a feed with an interval needs a name", self.test),
            };
        }
        let on_bus = bus.as_ref().filter(|_| !self.off_bus);
        let sb = sandbox(on_bus, &self.env, &self.files);
        let mut s = Scenario {
            bus,
            http,
            sb,
            watchlist,
            env: self.env,
            files: self.files,
            opener: None,
            retired: Vec::new(),
        };
        if self.opener {
            let script = write_fake_opener(s.sb.path());
            s.watchlist = s
                .watchlist
                .clone()
                .setting("opener", vec![script.display().to_string()]);
            s.opener = Some(s.sb.path().join(OPENED));
        }
        s.write_config();
        s
    }
}

/// The file the fake opener appends its arguments to, in the sandbox it was made in.
const OPENED: &str = "opened.txt";

/// An executable shell script in `dir` that appends each argument, one per line, to
/// `dir/opened.txt`: the test double for the desktop's opener.
fn write_fake_opener(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("opener.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\" >> '{}'; done\n",
            dir.join(OPENED).display()
        ),
    )
    .expect("write opener script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .expect("chmod opener script");
    script
}

/// A new sandbox on `bus` (none: no bus at all) with `env` for its children and `files`.
fn sandbox(
    bus: Option<&TestBus>,
    env: &[(String, String)],
    files: &[(String, Vec<u8>)],
) -> Sandbox {
    let mut sb = match bus {
        Some(bus) => Sandbox::with_bus(bus.address()),
        None => Sandbox::new(),
    };
    for (k, v) in env {
        sb.set_env(k, v);
    }
    for (name, contents) in files {
        let path = sb.path().join(name);
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
    sb
}

impl Scenario {
    /// The private bus. Panics for a scenario started without one.
    pub fn bus(&self) -> &TestBus {
        self.bus
            .as_ref()
            .expect("this scenario was started without a bus")
    }

    /// `http://127.0.0.1:PORT/PATH` on the scenario's HTTP server.
    pub fn url(&self, path: &str) -> String {
        self.http.url(path)
    }

    /// What `path` serves from the next request on.
    pub fn serve(&self, path: &str, body: impl Into<Behaviour>) {
        self.http.set(path, body);
    }

    /// The watch-list as last written.
    pub fn watchlist(&self) -> &WatchList {
        &self.watchlist
    }

    /// Changes the watch-list and writes it to the sandbox.
    pub fn configure(&mut self, change: impl FnOnce(WatchList) -> WatchList) {
        self.watchlist = change(self.watchlist.clone());
        self.write_config();
    }

    /// Adds a served path to the watch-list as a `[[feed]]` named `name` and writes it.
    pub fn add_feed(&mut self, path: &str, name: &str) {
        let url = self.url(path);
        self.configure(|w| w.feed(&url, Some(name)));
    }

    fn write_config(&self) {
        self.sb.write_config(&self.watchlist.to_toml());
    }

    /// Children started from now on talk to the bus (after [`Builder::off_bus`]).
    pub fn join_bus(&mut self) {
        let address = self.bus().address().to_owned();
        self.sb.set_bus(&address);
    }

    /// Moves to a new sandbox (empty database, the current watch-list) on the same bus and
    /// HTTP server; the old one is kept until the scenario is dropped.
    pub fn fresh_sandbox(&mut self) {
        let sb = sandbox(self.bus.as_ref(), &self.env, &self.files);
        self.retired.push(std::mem::replace(&mut self.sb, sb));
        self.write_config();
    }

    /// `tidings --config CONFIG --db DB ARGS...` to completion.
    pub async fn tidings(&self, args: &[&str]) -> Output {
        self.sb.tidings(args).await
    }

    /// `tidings poll --once`.
    pub async fn poll_once(&self) -> Output {
        self.tidings(&["poll", "--once"]).await
    }

    /// `tidings run` as a long-running child (killed when dropped).
    pub fn run(&self) -> Daemon {
        self.sb.spawn(&["run"])
    }

    /// The database file.
    pub fn db(&self) -> &Path {
        &self.sb.db
    }

    /// The id of the one alert whose headline is `title`.
    #[track_caller]
    pub fn alert_id(&self, title: &str) -> i64 {
        let rows = db::query(
            self.db(),
            &format!(
                "SELECT al.id FROM alerts al JOIN articles ar ON ar.id = al.article_id \
                 WHERE ar.title = '{}'",
                title.replace('\'', "''")
            ),
        );
        assert_eq!(rows.len(), 1, "one alert for {title:?}: {rows:?}");
        rows[0][0].as_deref().unwrap().parse().unwrap()
    }

    /// Every alert in the database (which must exist).
    #[track_caller]
    pub fn alerts(&self) -> Vec<AlertRow> {
        db::alerts(&self.sb.db)
    }

    /// Every alert so far (none while the database does not exist yet).
    pub fn alerts_so_far(&self) -> Vec<AlertRow> {
        db::alerts_so_far(&self.sb.db)
    }

    /// What the notification server has been sent so far.
    pub fn notifications(&self) -> Vec<Notification> {
        self.bus().notifications()
    }

    /// Waits (at most [`TIMEOUT`]) for at least `n` notifications.
    pub async fn wait_for_notifications(&self, n: usize) -> Vec<Notification> {
        self.bus().wait_for_notifications(n, TIMEOUT).await
    }

    /// The alerts and the daemon's stderr, for failure messages.
    pub fn describe(&self, daemon: &Daemon) -> String {
        format!(
            "alerts: {:#?}\n--- daemon stderr ---\n{}",
            self.alerts_so_far(),
            daemon.stderr()
        )
    }

    /// Waits (at most [`TIMEOUT`]) for an alert for which `pred` holds, while `daemon` works.
    pub async fn wait_for_alert(
        &self,
        what: &str,
        daemon: &Daemon,
        pred: impl Fn(&AlertRow) -> bool,
    ) -> AlertRow {
        wait_until(
            what,
            TIMEOUT,
            || self.alerts_so_far().into_iter().find(|a| pred(a)),
            || self.describe(daemon),
        )
        .await
    }

    /// Waits (at most [`TIMEOUT`]) until `pred` holds for all the alerts so far.
    pub async fn wait_for_alerts(
        &self,
        what: &str,
        daemon: &Daemon,
        pred: impl Fn(&[AlertRow]) -> bool,
    ) {
        wait_until(
            what,
            TIMEOUT,
            || pred(&self.alerts_so_far()).then_some(()),
            || self.describe(daemon),
        )
        .await
    }

    /// Invokes action `key` of notification `id` until `done` holds, once a second: the
    /// daemon subscribes to `ActionInvoked` on its own schedule after connecting, so a first
    /// click may come too early. Fails if the daemon exits or after [`TIMEOUT`].
    pub async fn click_until(
        &self,
        daemon: &mut Daemon,
        id: u32,
        key: &str,
        what: &str,
        mut done: impl FnMut() -> bool,
    ) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            self.bus().invoke_action(id, key).await;
            let until = Instant::now() + Duration::from_secs(1);
            while Instant::now() < until && !done() {
                tokio::time::sleep(POLL_EVERY).await;
            }
            if done() {
                return;
            }
            assert!(
                daemon.is_running() && Instant::now() < deadline,
                "{what}: `{key}` on notification {id} had no effect\n{}",
                self.describe(daemon)
            );
        }
    }

    /// The arguments the fake opener got, one per line (see [`Builder::fake_opener`]).
    pub fn opened(&self) -> Vec<String> {
        let log = self
            .opener
            .as_ref()
            .expect("the scenario has no fake opener (Builder::fake_opener)");
        std::fs::read_to_string(log)
            .map(|s| s.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }
}
