//! Issue 6: tidings as a systemd user service and the everyday commands, tested through the
//! real binary.
//!
//! - sd_notify over a real `NOTIFY_SOCKET` (READY, STATUS, WATCHDOG, RELOADING/READY on SIGHUP
//!   and on a watch-list edit, STOPPING on SIGTERM, in that order; no WATCHDOG while the loop
//!   is wedged (a daemon unit test, through the clock seam) or when `WATCHDOG_PID` names
//!   another process);
//! - `feeds add` (direct feed, HTML page with one or two alternate links, `--pick`, neither),
//!   `feeds list | remove | enable | disable`, comments in the watch-list surviving edits;
//! - OPML `feeds import` / `feeds export` over the hand-made files in `tests/fixtures/opml/`
//!   (and over any OPML in `$TIDINGS_CORPUS`);
//! - `completions`, `man`, `--help`, exit codes;
//! - `service install | uninstall` into a temporary `XDG_CONFIG_HOME`, checked with
//!   `systemd-analyze` when it is installed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Child;

use crate::support::TIMEOUT;
use crate::support::cli::{Output, Sandbox};
use crate::support::fixtures;
use crate::support::http::{Response, TestServer};
use crate::support::notify_socket::NotifySocket;
use crate::support::watchlist::WatchList;

// ---------------------------------------------------------------------------------------------
// `tidings run` under a stand-in service manager

const SIGHUP: i32 = 1;
const SIGTERM: i32 = 15;
const CLOCK_MONOTONIC: i32 = 1;

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

unsafe extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
}

/// `CLOCK_MONOTONIC` in microseconds: the clock of `MONOTONIC_USEC=`.
fn monotonic_usec() -> u64 {
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a properly sized, aligned `struct timespec` (x86_64/aarch64).
    let rc = unsafe { clock_gettime(CLOCK_MONOTONIC, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_MONOTONIC)");
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1_000
}

/// The watchdog interval given to the daemon (`WATCHDOG_USEC`): it pings every 200 ms.
const WATCHDOG_USEC: u64 = 400_000;

/// `tidings --config C --db D run` as a child with `NOTIFY_SOCKET` set, the environment
/// otherwise as clean as `Sandbox::run`'s; stderr goes to a file. Killed when dropped.
struct RunChild {
    child: Child,
    pid: i32,
    stderr_path: PathBuf,
}

impl RunChild {
    fn start(sb: &Sandbox, sock: &NotifySocket, env: &[(&str, &str)]) -> RunChild {
        let root = sb.path();
        let stderr_path = root.join("run.stderr");
        let stderr = std::fs::File::create(&stderr_path).expect("create stderr file");
        let (mut cmd, _) = sb.command_with_files(&["run"]);
        cmd.stdout(Stdio::null())
            .stderr(Stdio::from(stderr))
            .env("NOTIFY_SOCKET", &sock.path)
            .env("TIDINGS_LOG", "info")
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}", root.join("no-bus-here").display()),
            );
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn tidings run");
        let pid = child.id().expect("child pid") as i32;
        RunChild {
            child,
            pid,
            stderr_path,
        }
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child, which has not been reaped.
        let rc = unsafe { kill(self.pid, sig) };
        assert_eq!(rc, 0, "kill({}, {sig})", self.pid);
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits (bounded) for the exit; returns the exit code (`None`: killed by a signal).
    async fn wait(&mut self) -> Option<i32> {
        let status = tokio::time::timeout(TIMEOUT, self.child.wait())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "tidings run did not exit within {TIMEOUT:?}\n--- stderr ---\n{}",
                    self.stderr()
                )
            })
            .expect("wait for tidings run");
        status.code()
    }
}

/// Every line of every datagram is one of the variables tidings is meant to send.
fn assert_known_variables(sock: &NotifySocket) {
    for msg in sock.log() {
        assert!(
            msg.ends_with('\n'),
            "datagram without final newline: {msg:?}"
        );
        for line in msg.lines() {
            let known = matches!(
                line,
                "READY=1" | "WATCHDOG=1" | "RELOADING=1" | "STOPPING=1"
            ) || line.starts_with("STATUS=")
                || line
                    .strip_prefix("MONOTONIC_USEC=")
                    .is_some_and(|v| v.parse::<u64>().is_ok());
            assert!(
                known,
                "unexpected line {line:?} in {msg:?}; all:\n{}",
                sock.transcript()
            );
        }
    }
}

/// `STATUS=N feed(s) · last poll HH:MM · N alert(s) today[ · N feed(s) failing]`: the feed
/// count and the number of alerts today.
fn parse_status(msg: &str) -> Option<(usize, Option<u64>)> {
    let re = regex::Regex::new(
        r"^STATUS=(\d+) feeds? · (?:last poll \d\d:\d\d|not polled yet) · (\d+) alerts? today(?: · \d+ feeds? failing)?\n$",
    )
    .expect("regex");
    let c = re.captures(msg)?;
    let feeds = c[1].parse().ok()?;
    let polled = msg.contains("· last poll ");
    let alerts = c[2].parse().ok()?;
    Some((feeds, polled.then_some(alerts)))
}

fn feed_response(fixture: &str, content_type: &str) -> Response {
    Response::ok(fixtures::bytes(fixture)).content_type(content_type)
}

/// `seed-feed.xml` plus an item published now that matches "NATO membership" (the seed
/// article itself is from 2022, older than the retention horizon, so it never alerts).
fn fresh_seed_feed() -> Response {
    let now = chrono::Utc::now().to_rfc2822();
    let item = format!(
        "<item><title>NATO membership talks for Ukraine resume</title>\
         <link>https://example.com/world/nato-membership-today</link>\
         <guid>nato-membership-today</guid><pubDate>{now}</pubDate>\
         <description>Allies discuss whether Ukraine can join NATO.</description></item>"
    );
    Response::ok(fixtures::seed_feed_with(&[item])).content_type("application/rss+xml")
}

/// The full conversation, in order: READY (the database exists by then), STATUS after the
/// polls, WATCHDOG pings, RELOADING (with MONOTONIC_USEC) and READY on SIGHUP and on an
/// atomic rename of the watch-list (which then takes effect), STOPPING on SIGTERM as the last
/// message, exit 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sd_notify_ready_status_watchdog_reload_and_stopping_in_order() {
    let server = TestServer::start().await;
    server.set("/feed.xml", fresh_seed_feed());
    server.set(
        "/second.xml",
        feed_response("seed-feed.atom", "application/atom+xml"),
    );
    let sb = Sandbox::new();
    let one = WatchList::standard().feed_every(&server.url("/feed.xml"), "Seed", "1s");
    sb.write_config(&one.to_toml());
    let mut sock = NotifySocket::bind();
    let usec = WATCHDOG_USEC.to_string();
    let mut d = RunChild::start(&sb, &sock, &[("WATCHDOG_USEC", &usec)]);

    // READY=1 is the first message, and the database is open by then.
    let (_, before) = sock.expect("READY=1", TIMEOUT, |m| m == "READY=1\n").await;
    assert!(
        before.is_empty(),
        "messages before READY=1: {before:?}\n--- stderr ---\n{}",
        d.stderr()
    );
    assert!(
        sb.db.exists(),
        "READY=1 arrived before the database {} exists",
        sb.db.display()
    );

    // STATUS after the polls ("1 feed · last poll HH:MM · N alerts today"), and several
    // WATCHDOG pings, before any other kind of message.
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    let (mut polled_statuses, mut pings) = (0, 0);
    while polled_statuses < 2 || pings < 3 {
        let Some(m) = sock.recv_until(deadline).await else {
            panic!(
                "wanted 2 STATUS lines after polls and 3 WATCHDOG=1 within {TIMEOUT:?}; got:\n{}\n--- stderr ---\n{}",
                sock.transcript(),
                d.stderr()
            );
        };
        if m == "WATCHDOG=1\n" {
            pings += 1;
            continue;
        }
        let status = parse_status(&m).unwrap_or_else(|| {
            panic!(
                "expected only STATUS and WATCHDOG after READY, got {m:?}; all:\n{}",
                sock.transcript()
            )
        });
        assert_eq!(status.0, 1, "{m:?}");
        if let Some(alerts) = status.1 {
            // alert_on_first_poll = true and the fresh item matches "NATO membership".
            assert!(alerts >= 1, "the poll recorded alerts, STATUS says {m:?}");
            polled_statuses += 1;
        }
    }

    // SIGHUP: RELOADING=1 with MONOTONIC_USEC= (taken after the signal), then READY=1.
    let t0 = monotonic_usec();
    d.signal(SIGHUP);
    let (reloading, skipped) = sock
        .expect("RELOADING=1 after SIGHUP", TIMEOUT, |m| {
            m.starts_with("RELOADING=1\n")
        })
        .await;
    let t1 = monotonic_usec();
    assert!(
        skipped
            .iter()
            .all(|m| m == "WATCHDOG=1\n" || m.starts_with("STATUS=")),
        "before RELOADING=1: {skipped:?}"
    );
    let stamp: u64 = reloading
        .lines()
        .find_map(|l| l.strip_prefix("MONOTONIC_USEC="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("RELOADING=1 without MONOTONIC_USEC=: {reloading:?}"));
    assert!(
        (t0..=t1).contains(&stamp),
        "MONOTONIC_USEC={stamp} is not between the signal ({t0}) and its receipt ({t1})"
    );
    let (_, between) = sock
        .expect("READY=1 after RELOADING=1", TIMEOUT, |m| m == "READY=1\n")
        .await;
    assert!(
        between
            .iter()
            .all(|m| m == "WATCHDOG=1\n" || m.starts_with("STATUS=")),
        "between RELOADING=1 and READY=1: {between:?}"
    );
    let (status, _) = sock
        .expect("STATUS after the reload", TIMEOUT, |m| {
            m.starts_with("STATUS=")
        })
        .await;
    assert_eq!(
        parse_status(&status).map(|s| s.0),
        Some(1),
        "after SIGHUP: {status:?}"
    );

    // An editor's atomic save (write a temp file, rename it over the watch-list) with a
    // second feed: RELOADING=1, READY=1, then STATUS counts 2 feeds and the new one is polled.
    let two = one
        .clone()
        .feed_every(&server.url("/second.xml"), "Second", "1s");
    let tmp = sb.path().join(".watchlist.toml.new");
    std::fs::write(&tmp, two.to_toml()).expect("write new watch-list");
    std::fs::rename(&tmp, &sb.config).expect("rename over the watch-list");
    let (reloading, skipped) = sock
        .expect("RELOADING=1 after the file changed", TIMEOUT, |m| {
            m.starts_with("RELOADING=1\n")
        })
        .await;
    assert!(reloading.contains("\nMONOTONIC_USEC="), "{reloading:?}");
    assert!(
        skipped
            .iter()
            .all(|m| m == "WATCHDOG=1\n" || m.starts_with("STATUS=")),
        "before RELOADING=1: {skipped:?}"
    );
    sock.expect("READY=1 after the file reload", TIMEOUT, |m| {
        m == "READY=1\n"
    })
    .await;
    sock.expect("STATUS with 2 feeds", TIMEOUT, |m| {
        parse_status(m).is_some_and(|s| s.0 == 2)
    })
    .await;
    // Keep reading the socket while waiting for the new feed's first request.
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while server.requests_to("/second.xml").is_empty() {
        let soon = (tokio::time::Instant::now() + Duration::from_millis(50)).min(deadline);
        sock.recv_until(soon).await;
        assert!(
            tokio::time::Instant::now() < deadline,
            "the feed added by the file edit was never polled\n--- stderr ---\n{}",
            d.stderr()
        );
    }

    // SIGTERM: STOPPING=1, exit 0, and nothing after STOPPING=1.
    d.signal(SIGTERM);
    let (_, before_stop) = sock
        .expect("STOPPING=1 after SIGTERM", TIMEOUT, |m| m == "STOPPING=1\n")
        .await;
    assert!(
        before_stop
            .iter()
            .all(|m| m == "WATCHDOG=1\n" || m.starts_with("STATUS=")),
        "between the reload and STOPPING=1: {before_stop:?}"
    );
    let code = d.wait().await;
    assert_eq!(
        code,
        Some(0),
        "exit code after SIGTERM\n--- stderr ---\n{}",
        d.stderr()
    );
    let after = sock.flush().await;
    assert!(after.is_empty(), "messages after STOPPING=1: {after:?}");
    assert_known_variables(&sock);
    let log = sock.log();
    let count = |m: &str| log.iter().filter(|x| x.as_str() == m).count();
    let reloads = log.iter().filter(|m| m.starts_with("RELOADING=1")).count();
    // SIGHUP and the file edit (an editor's save may count twice, should events straddle
    // the debounce); each reload is answered by its own READY=1.
    assert!(reloads >= 2, "all:\n{}", sock.transcript());
    assert_eq!(
        count("READY=1\n"),
        1 + reloads,
        "one READY at start, one per reload; all:\n{}",
        sock.transcript()
    );
    assert_eq!(count("STOPPING=1\n"), 1);
}

/// READY=1 tells systemd the service is up: `systemctl reload` (ExecReload= sends SIGHUP) or
/// `systemctl stop` (SIGTERM) may follow at once, so both signals must be handled from then
/// on, not die by their default action.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_sent_the_moment_ready_arrives_are_handled() {
    let server = TestServer::start().await;
    server.set(
        "/feed.xml",
        feed_response("seed-feed.xml", "application/rss+xml"),
    );
    let sb = Sandbox::new();
    sb.write_config(
        &WatchList::standard()
            .feed_every(&server.url("/feed.xml"), "Seed", "1s")
            .to_toml(),
    );

    // SIGHUP on READY=1: a reload, and the daemon lives on.
    let mut sock = NotifySocket::bind();
    let mut d = RunChild::start(&sb, &sock, &[]);
    sock.expect("READY=1", TIMEOUT, |m| m == "READY=1\n").await;
    d.signal(SIGHUP);
    let got = tokio::time::timeout(
        TIMEOUT,
        sock.expect("RELOADING=1 after an early SIGHUP", TIMEOUT, |m| {
            m.starts_with("RELOADING=1\n") || m == "STOPPING=1\n"
        }),
    )
    .await;
    let exited = if d.running() {
        None
    } else {
        Some(d.wait().await)
    };
    assert!(
        exited.is_none() && got.is_ok_and(|(m, _)| m.starts_with("RELOADING=1")),
        "SIGHUP right after READY=1: exited with {exited:?} (None = killed by the signal); messages:\n{}\n--- stderr ---\n{}",
        sock.transcript(),
        d.stderr()
    );
    sock.expect("READY=1 after the reload", TIMEOUT, |m| m == "READY=1\n")
        .await;
    d.signal(SIGTERM);
    sock.expect("STOPPING=1", TIMEOUT, |m| m == "STOPPING=1\n")
        .await;
    assert_eq!(d.wait().await, Some(0), "--- stderr ---\n{}", d.stderr());

    // SIGTERM on READY=1: a clean stop (STOPPING=1, exit 0), not death by signal.
    let mut sock = NotifySocket::bind();
    let mut d = RunChild::start(&sb, &sock, &[]);
    sock.expect("READY=1", TIMEOUT, |m| m == "READY=1\n").await;
    d.signal(SIGTERM);
    let code = d.wait().await;
    let rest = sock.flush().await;
    assert!(
        code == Some(0) && rest.iter().any(|m| m == "STOPPING=1\n"),
        "SIGTERM right after READY=1: exit {code:?} (None = killed by the signal), then {rest:?}\n--- stderr ---\n{}",
        d.stderr()
    );
}

/// `WATCHDOG_PID` naming another process means the watchdog is not ours: no pings, while the
/// loop keeps polling and reporting STATUS (sd_watchdog_enabled(3)).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_watchdog_when_watchdog_pid_is_another_process() {
    let server = TestServer::start().await;
    server.set(
        "/feed.xml",
        feed_response("seed-feed.xml", "application/rss+xml"),
    );
    let sb = Sandbox::new();
    sb.write_config(
        &WatchList::standard()
            .feed_every(&server.url("/feed.xml"), "Seed", "1s")
            .to_toml(),
    );
    let mut sock = NotifySocket::bind();
    let usec = WATCHDOG_USEC.to_string();
    let mut d = RunChild::start(
        &sb,
        &sock,
        &[("WATCHDOG_USEC", &usec), ("WATCHDOG_PID", "1")],
    );
    sock.expect("READY=1", TIMEOUT, |m| m == "READY=1\n").await;
    // Three polls a second apart: about 10 ping intervals.
    for i in 0..3 {
        sock.expect(&format!("STATUS after poll #{}", i + 1), TIMEOUT, |m| {
            m.starts_with("STATUS=") && m.contains("· last poll ")
        })
        .await;
    }
    d.signal(SIGTERM);
    sock.expect("STOPPING=1", TIMEOUT, |m| m == "STOPPING=1\n")
        .await;
    assert_eq!(d.wait().await, Some(0), "--- stderr ---\n{}", d.stderr());
    assert!(
        sock.log().iter().all(|m| m != "WATCHDOG=1\n"),
        "WATCHDOG=1 although WATCHDOG_PID=1:\n{}",
        sock.transcript()
    );
}

// ---------------------------------------------------------------------------------------------
// Watch-list editing

/// A watch-list with comments everywhere, as a user writes it.
const COMMENTED: &str = r#"# My tidings watch-list
# (hand-written; `tidings feeds ...` must keep every comment)

[settings]
interval = "15m"   # quarter-hourly
host_spacing = "0s"

# --- Feeds ---

# The one I started with
[[feed]]
name = "Existing"
url = "https://existing.example.org/rss.xml"   # keep this comment

# --- Topics ---

[[topic]]
name = "NATO membership"   # the important one
query = 'NATO AND (membership OR join*)'

# trailing comment
"#;

/// The lines `after` has beyond `before`, which must be one contiguous inserted block (every
/// line of `before`, comments included, is still there, in order, unchanged).
#[track_caller]
fn inserted_block(before: &str, after: &str) -> String {
    let b: Vec<&str> = before.lines().collect();
    let a: Vec<&str> = after.lines().collect();
    let p = b.iter().zip(&a).take_while(|(x, y)| x == y).count();
    let room = b.len().min(a.len()) - p;
    let s = b
        .iter()
        .rev()
        .zip(a.iter().rev())
        .take(room)
        .take_while(|(x, y)| x == y)
        .count();
    assert_eq!(
        p + s,
        b.len(),
        "the watch-list changed beyond one inserted block\n--- before ---\n{before}--- after ---\n{after}"
    );
    a[p..a.len() - s].join("\n") + "\n"
}

/// The `(url, name)` of the one `[[feed]]` in a TOML fragment.
#[track_caller]
fn one_feed(fragment: &str) -> (String, Option<String>) {
    let t: toml::Table =
        toml::from_str(fragment).unwrap_or_else(|e| panic!("not TOML: {e}\n{fragment}"));
    assert_eq!(t.len(), 1, "only a [[feed]] table was added:\n{fragment}");
    let feeds = t["feed"].as_array().expect("[[feed]]");
    assert_eq!(feeds.len(), 1, "{fragment}");
    let f = feeds[0].as_table().expect("table");
    (
        f["url"].as_str().expect("url").to_owned(),
        f.get("name").and_then(|n| n.as_str()).map(str::to_owned),
    )
}

/// `(url, name, enabled)` of every `[[feed]]` in a watch-list file.
#[track_caller]
fn feeds_in(path: &Path) -> Vec<(String, Option<String>, bool)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let t: toml::Table =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: not TOML: {e}", path.display()));
    t.get("feed")
        .and_then(|f| f.as_array())
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["url"].as_str().expect("url").to_owned(),
                        f.get("name").and_then(|n| n.as_str()).map(str::to_owned),
                        f.get("enabled").and_then(|e| e.as_bool()).unwrap_or(true),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn html_page(links: &[(&str, &str, &str)]) -> Response {
    let mut html = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>World News Wire</title>\n\
         <link rel=\"stylesheet\" href=\"/style.css\">\n",
    );
    for (kind, title, href) in links {
        html.push_str(&format!(
            "<link rel=\"alternate\" type=\"{kind}\" title=\"{title}\" href=\"{href}\">\n"
        ));
    }
    html.push_str("</head><body><h1>World News Wire</h1><p>Front page.</p></body></html>\n");
    Response::ok(html).content_type("text/html; charset=utf-8")
}

/// `feeds add`: a direct feed URL is added; a page with one alternate link adds that feed; a
/// page with two lists them and exits 2 without writing, `--pick 2` adds the second; a page
/// with no feed (and a duplicate) fails without writing. Every comment survives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_add_finds_feeds_on_pages_and_keeps_comments() {
    let server = TestServer::start().await;
    server.set(
        "/feed.xml",
        feed_response("seed-feed.xml", "application/rss+xml"),
    );
    server.set(
        "/atom.xml",
        feed_response("seed-feed.atom", "application/atom+xml"),
    );
    server.set(
        "/direct.json",
        feed_response("seed-feed.json", "application/feed+json"),
    );
    server.set(
        "/one.html",
        html_page(&[("application/rss+xml", "All news", "/feed.xml")]),
    );
    server.set(
        "/two.html",
        html_page(&[
            ("application/rss+xml", "RSS", "/feed.xml"),
            ("application/atom+xml", "Atom", "/atom.xml"),
        ]),
    );
    server.set("/plain.html", html_page(&[]));
    let sb = Sandbox::new();
    sb.write_config(COMMENTED);

    // A direct feed URL, with --name.
    let direct = server.url("/direct.json");
    let before = read(&sb.config);
    let out = sb
        .tidings(&["feeds", "add", &direct, "--name", "Direct JSON"])
        .await;
    out.assert_code(0);
    let after = read(&sb.config);
    assert_eq!(
        one_feed(&inserted_block(&before, &after)),
        (direct.clone(), Some("Direct JSON".to_owned())),
        "{}",
        out.dump()
    );

    // A page with one alternate link: its feed is added.
    let before = after;
    let out = sb
        .tidings(&["feeds", "add", &server.url("/one.html")])
        .await;
    out.assert_code(0);
    let after = read(&sb.config);
    assert_eq!(
        one_feed(&inserted_block(&before, &after)).0,
        server.url("/feed.xml"),
        "{}",
        out.dump()
    );
    assert!(
        out.stdout.contains(&server.url("/feed.xml")),
        "{}",
        out.dump()
    );

    // Two links: listed, exit 2, nothing written.
    let before = after;
    let page = server.url("/two.html");
    let out = sb.tidings(&["feeds", "add", &page]).await;
    out.assert_code(2);
    assert_eq!(read(&sb.config), before, "a choice to make writes nothing");
    let rss_line = out.line_with(&server.url("/feed.xml"));
    let atom_line = out.line_with(&server.url("/atom.xml"));
    assert!(rss_line.contains("1."), "numbered: {rss_line:?}");
    assert!(atom_line.contains("2."), "numbered: {atom_line:?}");
    assert!(out.stdout.contains("--pick"), "{}", out.dump());

    // --pick 2: the second one.
    let out = sb.tidings(&["feeds", "add", &page, "--pick", "2"]).await;
    out.assert_code(0);
    let after = read(&sb.config);
    assert_eq!(
        one_feed(&inserted_block(&before, &after)).0,
        server.url("/atom.xml"),
        "{}",
        out.dump()
    );

    // Neither a feed nor a page that links to one: fails, nothing written.
    let before = after;
    let out = sb
        .tidings(&["feeds", "add", &server.url("/plain.html")])
        .await;
    out.assert_failure();
    assert!(
        out.stderr.contains("/plain.html") && out.stderr.starts_with("tidings: "),
        "{}",
        out.dump()
    );
    assert_eq!(read(&sb.config), before);
    // A URL that does not answer with a document at all: fails, nothing written.
    let out = sb.tidings(&["feeds", "add", &server.url("/missing")]).await;
    out.assert_failure();
    assert_eq!(read(&sb.config), before);
    // Already in the watch-list: refused, nothing written.
    let out = sb.tidings(&["feeds", "add", &direct]).await;
    out.assert_failure();
    assert!(out.stderr.contains("already"), "{}", out.dump());
    assert_eq!(read(&sb.config), before);

    // The result is a valid watch-list with all four feeds, and every comment of the original.
    sb.tidings(&["check"]).await.assert_code(0);
    let urls: Vec<String> = feeds_in(&sb.config).into_iter().map(|f| f.0).collect();
    assert_eq!(
        urls,
        [
            "https://existing.example.org/rss.xml".to_owned(),
            direct,
            server.url("/feed.xml"),
            server.url("/atom.xml"),
        ]
    );
    let final_text = read(&sb.config);
    for line in COMMENTED.lines().filter(|l| l.contains('#')) {
        assert!(
            final_text.lines().any(|l| l == line),
            "lost {line:?}:\n{final_text}"
        );
    }
}

/// `feeds list`, `feeds disable` (writes `enabled = false`, `check` passes, `poll --once` no
/// longer fetches it), `feeds enable` (restores the file), `feeds remove`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_list_disable_enable_remove() {
    let server = TestServer::start().await;
    server.set(
        "/a.xml",
        feed_response("seed-feed.xml", "application/rss+xml"),
    );
    server.set(
        "/b.xml",
        feed_response("seed-feed.atom", "application/atom+xml"),
    );
    let (a, b) = (server.url("/a.xml"), server.url("/b.xml"));
    let sb = Sandbox::new();
    let original = format!(
        "# two feeds\n[settings]\nhost_spacing = \"0s\"  # loopback\n\n\
         # first\n[[feed]]\nname = \"Alpha\"\nurl = \"{a}\"\n\n\
         # second\n[[feed]]\nname = \"Beta\"\nurl = \"{b}\"  # the one we switch off\n\n\
         [[topic]]\nname = \"NATO\"\nquery = \"NATO\"\n"
    );
    sb.write_config(&original);

    let list = sb.tidings(&["feeds", "list"]).await;
    list.assert_code(0);
    assert_eq!(list.stdout.lines().count(), 2, "{}", list.dump());
    let line = list.line_with(&a);
    assert!(
        line.contains("Alpha") && line.contains("not polled yet"),
        "{line:?}"
    );
    assert!(list.line_with(&b).contains("Beta"), "{}", list.dump());

    sb.tidings(&["poll", "--once"]).await.assert_code(0);
    let (a_polls, b_polls) = (
        server.requests_to("/a.xml").len(),
        server.requests_to("/b.xml").len(),
    );
    assert_eq!((a_polls, b_polls), (1, 1));
    let list = sb.tidings(&["feeds", "list"]).await;
    assert!(
        list.line_with(&b).contains("ok, HTTP 200"),
        "{}",
        list.dump()
    );

    // disable: `enabled = false` in Beta's table and nowhere else.
    let out = sb.tidings(&["feeds", "disable", &b]).await;
    out.assert_code(0);
    let disabled = read(&sb.config);
    assert_eq!(
        inserted_block(&original, &disabled).trim(),
        "enabled = false",
        "{disabled}"
    );
    assert_eq!(
        feeds_in(&sb.config).iter().map(|f| f.2).collect::<Vec<_>>(),
        [true, false]
    );
    sb.tidings(&["check"]).await.assert_code(0);
    let out = sb.tidings(&["poll", "--once"]).await;
    out.assert_code(0);
    assert!(!out.stdout.contains("Beta"), "{}", out.dump());
    assert_eq!(server.requests_to("/a.xml").len(), a_polls + 1);
    assert_eq!(
        server.requests_to("/b.xml").len(),
        b_polls,
        "a disabled feed was fetched"
    );
    let list = sb.tidings(&["feeds", "list"]).await;
    assert!(list.line_with(&b).contains("disabled"), "{}", list.dump());
    // Disabling twice changes nothing.
    sb.tidings(&["feeds", "disable", &b]).await.assert_code(0);
    assert_eq!(read(&sb.config), disabled);

    // enable: the file is as it was, and the feed is polled again.
    sb.tidings(&["feeds", "enable", &b]).await.assert_code(0);
    assert_eq!(read(&sb.config), original);
    sb.tidings(&["poll", "--once"]).await.assert_code(0);
    assert_eq!(server.requests_to("/b.xml").len(), b_polls + 1);

    // remove: Alpha's table (and its own comment) goes; the rest stays.
    let out = sb.tidings(&["feeds", "remove", &a]).await;
    out.assert_code(0);
    let removed = read(&sb.config);
    assert_eq!(
        removed,
        original.replace(
            &format!("# first\n[[feed]]\nname = \"Alpha\"\nurl = \"{a}\"\n\n"),
            ""
        ),
    );
    let list = sb.tidings(&["feeds", "list"]).await;
    assert_eq!(list.stdout.lines().count(), 1, "{}", list.dump());
    list.line_with(&b);
    sb.tidings(&["check"]).await.assert_code(0);

    // Unknown URLs: exit 2, nothing written.
    for cmd in ["remove", "enable", "disable"] {
        let out = sb
            .tidings(&["feeds", cmd, "https://nowhere.example.org/feed"])
            .await;
        out.assert_code(2);
        assert!(out.stderr.contains("no such feed"), "{}", out.dump());
        assert_eq!(read(&sb.config), removed, "feeds {cmd}");
    }
}

// ---------------------------------------------------------------------------------------------
// OPML

/// What an import printed, as numbers: added, already in the watch-list, duplicated in the
/// file, outlines that are not feeds, invalid URLs.
#[track_caller]
fn import_counts(out: &Output) -> [usize; 5] {
    let re = regex::Regex::new(
        r"added (\d+) feeds?; skipped (\d+) already in the watch-list, (\d+) duplicated in the file, (\d+) outlines? that (?:are|is) not feeds?(?:, (\d+) invalid URLs?)?",
    )
    .expect("regex");
    let c = re
        .captures(&out.stdout)
        .unwrap_or_else(|| panic!("no import summary\n{}", out.dump()));
    let n = |i: usize| c.get(i).map_or(0, |m| m.as_str().parse().expect("number"));
    [n(1), n(2), n(3), n(4), n(5)]
}

type FeedSet = BTreeSet<(String, Option<String>)>;

fn feed_set(path: &Path) -> FeedSet {
    feeds_in(path).into_iter().map(|(u, n, _)| (u, n)).collect()
}

/// Hand-made OPML: nested folders, a duplicate inside the file (same URL spelled differently)
/// and one already in the watch-list, non-feed outlines, invalid xmlUrls; a file without
/// `version`. The summary has the right counts, the right feeds are added (names from
/// `text`, else `title`), comments survive, and a second import adds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opml_import_counts_and_adds_the_right_feeds() {
    let sb = Sandbox::new();
    let start = "# feeds I read\n[settings]\ninterval = \"30m\"  # half-hourly\n\n\
                 [[feed]]\nname = \"Already\"\nurl = \"https://already.example.org/feed.xml\"\n\n\
                 # topics\n[[topic]]\nname = \"NATO\"\nquery = \"NATO\"\n";
    sb.write_config(start);

    let nested = fixtures::path("opml/nested.opml");
    let out = sb
        .tidings(&["feeds", "import", &nested.display().to_string()])
        .await;
    out.assert_code(0);
    assert_eq!(import_counts(&out), [3, 1, 1, 3, 2], "{}", out.dump());
    assert!(
        out.stdout.contains("ftp://files.example.org/feed.xml")
            && out.stdout.contains("/relative/feed.xml"),
        "the invalid URLs are named\n{}",
        out.dump()
    );
    let expected: FeedSet = [
        ("https://already.example.org/feed.xml", Some("Already")),
        ("https://one.example.org/rss.xml", Some("World One")),
        ("https://two.example.org/atom.xml", Some("World Two & Co")),
        ("https://three.example.org/feed", Some("Three (title only)")),
    ]
    .into_iter()
    .map(|(u, n)| (u.to_owned(), n.map(str::to_owned)))
    .collect();
    assert_eq!(feed_set(&sb.config), expected);
    let text = read(&sb.config);
    for line in start.lines().filter(|l| l.contains('#')) {
        assert!(text.lines().any(|l| l == line), "lost {line:?}:\n{text}");
    }
    sb.tidings(&["check"]).await.assert_code(0);

    // Again: everything is already there; the file is not touched.
    let out = sb
        .tidings(&["feeds", "import", &nested.display().to_string()])
        .await;
    out.assert_code(0);
    assert_eq!(import_counts(&out), [0, 4, 1, 3, 2], "{}", out.dump());
    assert_eq!(read(&sb.config), text);

    // No `version` attribute, no <head>, an `xmlURL` spelled in another case.
    let out = sb
        .tidings(&[
            "feeds",
            "import",
            &fixtures::path("opml/no-version.opml").display().to_string(),
        ])
        .await;
    out.assert_code(0);
    assert_eq!(import_counts(&out), [3, 0, 0, 0, 0], "{}", out.dump());
    let mut expected = expected;
    expected.insert(("https://four.example.org/rss".into(), Some("Four".into())));
    expected.insert(("https://five.example.org/rss".into(), None));
    expected.insert((
        "https://six.example.org/feed.json".into(),
        Some("Six".into()),
    ));
    assert_eq!(feed_set(&sb.config), expected);

    // Not OPML at all: exit 2, nothing written.
    let before = read(&sb.config);
    let rss = sb.path().join("feed.opml");
    std::fs::write(&rss, fixtures::bytes("seed-feed.xml")).expect("write");
    let out = sb
        .tidings(&["feeds", "import", &rss.display().to_string()])
        .await;
    out.assert_code(2);
    assert!(out.stderr.contains("OPML"), "{}", out.dump());
    assert_eq!(read(&sb.config), before);
}

/// Feeds written as an array of inline tables are a valid watch-list: `feeds list` and
/// `feeds export` read them; `feeds add` says it needs `[[feed]]` tables and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_feeds_are_listed_and_exported_but_not_edited() {
    let server = TestServer::start().await;
    server.set(
        "/c.xml",
        feed_response("seed-feed.xml", "application/rss+xml"),
    );
    let sb = Sandbox::new();
    let text = "feed = [\n  { url = \"https://a.example/rss\", name = \"Alpha\" },\n  \
                { url = \"https://b.example/rss\", enabled = false },\n]\n";
    sb.write_config(text);
    sb.tidings(&["check"]).await.assert_code(0);

    let list = sb.tidings(&["feeds", "list"]).await;
    list.assert_code(0);
    assert_eq!(list.stdout.lines().count(), 2, "{}", list.dump());
    assert!(list.line_with("https://a.example/rss").contains("Alpha"));
    assert!(list.line_with("https://b.example/rss").contains("disabled"));

    let export = sb.tidings(&["feeds", "export"]).await;
    export.assert_code(0);
    assert!(
        export.stdout.contains("https://a.example/rss")
            && export.stdout.contains("https://b.example/rss")
            && export.stdout.contains("Alpha"),
        "{}",
        export.dump()
    );

    let out = sb.tidings(&["feeds", "add", &server.url("/c.xml")]).await;
    out.assert_code(2);
    assert!(
        out.stderr
            .contains("must be written as [[feed]] tables to be edited"),
        "{}",
        out.dump()
    );
    assert_eq!(read(&sb.config), text);
}

/// Exports `from`'s watch-list, imports that into an empty watch-list; both hold the same
/// feeds and the second export is the first, byte for byte. Returns the export.
async fn round_trip(from: &Sandbox) -> String {
    let export = from.tidings(&["feeds", "export"]).await;
    export.assert_code(0);
    assert!(
        export.stdout.starts_with("<?xml") && export.stdout.contains("<opml version=\"2.0\""),
        "{}",
        export.dump()
    );
    let to = Sandbox::new();
    let file = to.path().join("export.opml");
    std::fs::write(&file, &export.stdout).expect("write export");
    let out = to
        .tidings(&["feeds", "import", &file.display().to_string()])
        .await;
    out.assert_code(0);
    let n = feed_set(&from.config).len();
    assert_eq!(import_counts(&out), [n, 0, 0, 0, 0], "{}", out.dump());
    assert_eq!(feed_set(&to.config), feed_set(&from.config));
    if n > 0 {
        to.tidings(&["check"]).await.assert_code(0);
    }
    let again = to.tidings(&["feeds", "export"]).await;
    again.assert_code(0);
    assert_eq!(again.stdout, export.stdout, "export → import → export");
    export.stdout
}

/// `feeds export` → `feeds import` into an empty watch-list gives the same feeds, names with
/// markup characters and non-ASCII text included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opml_export_import_round_trip() {
    let sb = Sandbox::new();
    sb.write_config(
        "[[feed]]\nname = 'Kyiv «Post» & \"Co\" <b>'\nurl = \"https://kyiv.example.org/rss?a=1&b=2\"\n\n\
         [[feed]]\nurl = \"https://nameless.example.org/atom.xml\"\n\n\
         [[feed]]\nname = \"Зеркало\"\nurl = \"https://zerkalo.example.org/feed/\"\ninterval = \"10m\"\n",
    );
    let export = round_trip(&sb).await;
    assert!(
        export.contains("https://kyiv.example.org/rss?a=1&amp;b=2"),
        "{export}"
    );

    // And the hand-made files, once imported, survive the same trip.
    let sb = Sandbox::new();
    for f in ["opml/nested.opml", "opml/no-version.opml"] {
        sb.tidings(&["feeds", "import", &fixtures::path(f).display().to_string()])
            .await
            .assert_code(0);
    }
    assert_eq!(feed_set(&sb.config).len(), 7);
    round_trip(&sb).await;
}

/// Every `*.opml` file under `$TIDINGS_CORPUS`: imported into an empty watch-list (or rejected
/// with exit 2), then round-tripped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opml_round_trip_over_the_corpus() {
    let Some(root) = crate::support::corpus_or_skip("OPML corpus round trip") else {
        return;
    };
    let mut files = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("opml"))
            {
                files.push(p);
            }
        }
    }
    if files.is_empty() {
        crate::support::skipped("no *.opml files in TIDINGS_CORPUS");
        return;
    }
    files.sort();
    let (mut ok, mut rejected) = (0, 0);
    for f in &files {
        let sb = Sandbox::new();
        let out = sb
            .tidings(&["feeds", "import", &f.display().to_string()])
            .await;
        match out.code {
            Some(0) => {
                ok += 1;
                round_trip(&sb).await;
            }
            Some(2) => {
                rejected += 1;
                println!("{}: rejected: {}", f.display(), out.stderr.trim());
            }
            _ => panic!("{}: unexpected exit\n{}", f.display(), out.dump()),
        }
    }
    println!("OPML corpus: {ok} round-tripped, {rejected} rejected");
}

// ---------------------------------------------------------------------------------------------
// Completions, manual, help, exit codes

/// `completions bash|zsh|fish` print scripts for `tidings` (the bash one is valid bash), `man`
/// prints roff, `--help` lists every command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_man_and_help() {
    let sb = Sandbox::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = sb.run(&["completions", shell]).await;
        out.assert_code(0);
        assert!(
            out.stdout.len() > 200 && out.stdout.contains("tidings"),
            "{shell}: {}",
            out.dump()
        );
        for word in ["feeds", "service", "completions", "config"] {
            assert!(out.stdout.contains(word), "{shell} completions lack {word}");
        }
        assert!(out.stderr.is_empty(), "{shell}: {}", out.dump());
    }
    // The bash script parses (bash is always there on Debian; skip if not).
    let bash = sb.run(&["completions", "bash"]).await;
    let script = sb.path().join("tidings.bash");
    std::fs::write(&script, &bash.stdout).expect("write");
    match std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
    {
        Ok(o) => assert!(
            o.status.success() && o.stderr.is_empty(),
            "bash -n: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(_) => crate::support::skipped("bash -n (no bash)"),
    }
    // Invalid shell: a usage error.
    sb.run(&["completions", "tcsh"]).await.assert_code(2);

    let man = sb.run(&["man"]).await;
    man.assert_code(0);
    assert!(
        man.stdout.starts_with(".TH") || man.stdout.starts_with(".ie"),
        "{}",
        man.dump()
    );
    assert!(man.stdout.contains("tidings"), "{}", man.dump());
    assert!(
        man.stdout.contains("feeds"),
        "the manual names the commands"
    );
    // It renders without a single groff warning (when groff is installed).
    let page = sb.path().join("tidings.1");
    std::fs::write(&page, &man.stdout).expect("write");
    match std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(&page)
        .output()
    {
        Ok(o) => assert!(
            o.status.success() && o.stdout.is_empty() && o.stderr.is_empty(),
            "groff -ww: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(_) => crate::support::skipped("groff not installed (manual not rendered)"),
    }

    let help = sb.run(&["--help"]).await;
    help.assert_code(0);
    let commands: Vec<&str> = help
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for c in [
        "run",
        "poll",
        "check",
        "match",
        "status",
        "feeds",
        "history",
        "service",
        "completions",
        "man",
    ] {
        assert!(
            commands.contains(&c),
            "--help lacks {c}: {commands:?}\n{}",
            help.dump()
        );
    }
    let feeds_help = sb.run(&["feeds", "--help"]).await;
    feeds_help.assert_code(0);
    for c in [
        "add", "list", "remove", "enable", "disable", "import", "export",
    ] {
        assert!(
            feeds_help
                .stdout
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{c} "))),
            "feeds --help lacks {c}\n{}",
            feeds_help.dump()
        );
    }
    let service_help = sb.run(&["service", "--help"]).await;
    service_help.assert_code(0);
    for c in ["install", "uninstall"] {
        assert!(service_help.stdout.contains(c), "{}", service_help.dump());
    }
}

/// Exit codes: 0 ok, 1 runtime failure (an unusable database), 2 usage or config error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes() {
    let sb = Sandbox::new();
    // Usage errors.
    sb.run(&["frobnicate"]).await.assert_code(2);
    sb.run(&["feeds", "add"]).await.assert_code(2);
    sb.run(&["poll"]).await.assert_code(2);
    sb.tidings(&["feeds", "add", "not a url"])
        .await
        .assert_code(2);
    sb.run(&["--version"]).await.assert_code(0);

    // A bad watch-list: 2 with the file, line and key, for check, run and poll; no database.
    sb.write_config("[[feed]]\nurll = \"https://example.org/rss\"\n");
    for args in [&["check"][..], &["run"], &["poll", "--once"]] {
        let out = sb.tidings(args).await;
        out.assert_code(2);
        assert!(
            out.stderr.starts_with("tidings: ")
                && out.stderr.contains("watchlist.toml:")
                && out.stderr.contains("urll"),
            "{}",
            out.dump()
        );
        assert!(!out.stderr.contains("stack backtrace"), "{}", out.dump());
    }
    assert!(!sb.db.exists(), "a config error opened the database");

    // An unusable database (its directory is a regular file): 1.
    sb.write_config("[[topic]]\nname = \"t\"\nquery = \"NATO\"\n");
    let blocker = sb.path().join("not-a-dir");
    std::fs::write(&blocker, "").expect("write");
    let db = blocker.join("tidings.db").display().to_string();
    let config = sb.config.display().to_string();
    for args in [&["history"][..], &["status"], &["poll", "--once"], &["run"]] {
        let mut all = vec!["--config", &config, "--db", &db];
        all.extend_from_slice(args);
        let out = sb.run(&all).await;
        out.assert_code(1);
        assert!(out.stderr.starts_with("tidings: "), "{}", out.dump());
    }
    sb.tidings(&["check"]).await.assert_code(0);
}

// ---------------------------------------------------------------------------------------------
// service install | uninstall

fn systemd_analyze_available() -> bool {
    std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `service install` (HOME and XDG_CONFIG_HOME in a temp dir, child only) writes
/// `$XDG_CONFIG_HOME/systemd/user/tidings.service` = the checked-in unit with `ExecStart=`
/// starting this binary (and the database directory writable), prints the `systemctl --user`
/// commands; the unit passes `systemd-analyze verify` silently and scores at most 2.0 in
/// `systemd-analyze security`; `service uninstall` removes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_install_and_uninstall() {
    let sb = Sandbox::new();
    let unit = sb.path().join("xdg/config/systemd/user/tidings.service");
    let data_dir = sb.path().join("xdg/data/tidings");
    let binary = std::fs::canonicalize(env!("CARGO_BIN_EXE_tidings")).expect("binary path");

    let out = sb.run(&["service", "install"]).await;
    out.assert_code(0);
    assert!(
        out.stdout.contains(&binary.display().to_string()),
        "{}",
        out.dump()
    );
    for cmd in [
        "systemctl --user daemon-reload",
        "systemctl --user enable --now tidings.service",
    ] {
        assert!(out.stdout.contains(cmd), "{cmd}\n{}", out.dump());
    }
    let text = read(&unit);
    let exec: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("ExecStart="))
        .collect();
    let plain = binary
        .to_str()
        .is_some_and(|s| !s.contains(|c: char| c.is_whitespace() || "%\"'\\".contains(c)));
    if plain {
        assert_eq!(
            exec,
            [format!("ExecStart={} run", binary.display())],
            "{text}"
        );
    } else {
        assert_eq!(exec.len(), 1, "{text}");
    }
    // Everything else is the checked-in unit, except the writable database directory.
    let template = read(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("systemd/tidings.service"));
    let (t, u): (Vec<&str>, Vec<&str>) = (template.lines().collect(), text.lines().collect());
    assert_eq!(t.len(), u.len(), "{text}");
    for (tl, ul) in t.iter().zip(&u) {
        if tl.starts_with("ExecStart=") {
            continue;
        }
        if tl.starts_with("ReadWritePaths=") && tl != ul {
            assert!(
                ul.contains(&data_dir.display().to_string()),
                "ReadWritePaths= names the data directory {}: {ul:?}",
                data_dir.display()
            );
            continue;
        }
        assert_eq!(tl, ul);
    }
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&data_dir)
            .expect("data directory created")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "{}", data_dir.display());
    }
    // Installing again replaces the unit.
    sb.run(&["service", "install"]).await.assert_code(0);
    assert_eq!(read(&unit), text);

    if systemd_analyze_available() {
        let runtime = sb.path().join("analyze-runtime");
        std::fs::create_dir_all(&runtime).expect("runtime dir");
        let run = |args: &[&str]| {
            std::process::Command::new("systemd-analyze")
                .args(args)
                .arg(&unit)
                .env("XDG_RUNTIME_DIR", &runtime)
                .output()
                .expect("systemd-analyze")
        };
        let v = run(&["--user", "--man=no", "verify"]);
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&v.stdout),
            String::from_utf8_lossy(&v.stderr)
        );
        assert!(
            v.status.success() && said.is_empty(),
            "systemd-analyze verify printed (trap 6: any output fails):\n{said}"
        );
        let s = run(&["--user", "security", "--offline=yes"]);
        let report =
            String::from_utf8_lossy(&s.stdout).into_owned() + &String::from_utf8_lossy(&s.stderr);
        let score: f64 = report
            .lines()
            .find_map(|l| l.split("Overall exposure level for ").nth(1))
            .and_then(|rest| rest.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no exposure level in:\n{report}"));
        assert!(score <= 2.0, "exposure {score} > 2.0:\n{report}");
    } else if crate::support::in_ci() {
        panic!("systemd-analyze is not installed (CI=true)");
    } else {
        crate::support::skipped("systemd-analyze not installed (unit not verified)");
    }

    let out = sb.run(&["service", "uninstall"]).await;
    out.assert_code(0);
    assert!(!unit.exists(), "{}", out.dump());
    assert!(
        out.stdout.contains("systemctl --user daemon-reload"),
        "{}",
        out.dump()
    );
    let out = sb.run(&["service", "uninstall"]).await;
    out.assert_code(1);
    assert!(out.stderr.contains("no tidings unit"), "{}", out.dump());
}
