//! One daemon per database (issue "Hostile servers, hostile text, and one daemon per
//! database"): a second `tidings run` on a database exits 1 at once, naming the PID that holds
//! the lock (`tidings.db.lock`); a daemon killed with SIGKILL leaves the file but not the lock;
//! `poll --once` and `status` keep working beside a running daemon, without duplicates.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::support::TIMEOUT;
use crate::support::cli::wait_until;
use crate::support::feeds::{Item, rss};
use crate::support::http::Response;
use crate::support::notify_socket::NotifySocket;
use crate::support::scenario::Scenario;
use crate::support::watchlist::{NATO, WatchList};

fn nato_item(slug: &str, title: &str) -> Item {
    Item::new(slug, title, "The alliance debates NATO membership.")
}

fn wire(items: &[Item]) -> Response {
    Response::ok(rss("Wire", items)).content_type("application/rss+xml")
}

/// Children talk to `sock` from now on (only `run` uses it): READY=1 says the daemon is in its
/// loop, its SIGTERM handler installed.
fn notify_to(s: &mut Scenario) -> NotifySocket {
    let sock = NotifySocket::bind();
    s.sb.set_env("NOTIFY_SOCKET", &sock.path.display().to_string());
    sock
}

async fn ready(sock: &mut NotifySocket) {
    sock.expect("READY=1", TIMEOUT, |m| m == "READY=1\n").await;
}

fn lock_file(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_exits_1_naming_the_holder_and_a_sigkilled_daemon_does_not_block() {
    let mut s = Scenario::builder("one_daemon")
        .topic(NATO.0, NATO.1)
        .feed(
            "/wire.xml",
            "Wire",
            wire(&[nato_item("a", "NATO membership: a")]),
        )
        .start_without_bus()
        .await;
    let lock = lock_file(s.db());
    let mut sock = notify_to(&mut s);

    let mut first = s.run();
    ready(&mut sock).await;
    let pid = first.pid();
    assert_eq!(
        std::fs::read_to_string(&lock).expect("the lock file beside the database"),
        format!("{pid}\n"),
        "the lock file holds the daemon's PID"
    );
    let mode = std::fs::metadata(&lock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "lock file mode {mode:o}");

    // The second one must end by itself, at once; today's code started a second daemon.
    let mut second = s.run();
    wait_until(
        "the second `tidings run` to exit (or to start: the defect)",
        TIMEOUT,
        || (!second.is_running() || second.stderr().contains("tidings started")).then_some(()),
        String::new,
    )
    .await;
    assert!(
        !second.is_running(),
        "a second daemon started on the same database:\n{}",
        second.stderr()
    );
    let out = second.wait_exit(TIMEOUT).await;
    out.assert_code(1);
    assert_eq!(
        out.stderr,
        format!(
            "tidings: another tidings daemon (PID {pid}) is already running on {}: it holds the \
             lock {} (stop it first, e.g. `systemctl --user stop tidings`, or use another --db)\n",
            s.db().display(),
            lock.display()
        ),
        "{}",
        out.dump()
    );
    assert!(first.is_running(), "the first daemon carries on");

    // SIGKILL: no clean-up runs, the file stays, the kernel drops the lock.
    first.signal("KILL").await;
    let killed = first.wait_exit(TIMEOUT).await;
    assert_eq!(killed.code, None, "killed by a signal");
    assert!(lock.exists(), "the lock file of a killed daemon stays");

    let third = s.run();
    ready(&mut sock).await;
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap(),
        format!("{}\n", third.pid()),
        "the new daemon's PID replaces the stale one"
    );
    third.stop().await.assert_code(0);
}

/// `poll --once` (and `status`) beside a running daemon: not locked out, and an alert it
/// records is shown once, by it alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_once_and_status_work_beside_a_running_daemon_without_duplicates() {
    let first = nato_item("first", "NATO membership: the first");
    let second = nato_item("second", "NATO membership: the second");
    let Some(mut s) = Scenario::builder("poll_once_beside_a_running_daemon")
        .watchlist(WatchList::standard())
        .feed("/wire.xml", "Wire", wire(std::slice::from_ref(&first)))
        .every("1h")
        .start()
        .await
    else {
        return;
    };
    // The first poll before the daemon: the feed is not due again for an hour, so the
    // daemon below polls nothing and shows nothing by itself.
    s.poll_once().await.assert_code(0);
    assert_eq!(s.wait_for_notifications(1).await.len(), 1);

    let mut sock = notify_to(&mut s);
    let mut daemon = s.run();
    ready(&mut sock).await;
    s.serve("/wire.xml", wire(&[first.clone(), second.clone()]));
    let out = s.poll_once().await;
    out.assert_code(0);
    let line = out.line_with("Wire");
    assert!(line.contains("1 new"), "one new article: {line:?}");
    let notes = s.wait_for_notifications(2).await;
    assert_eq!(notes[1].body_lines()[0], second.title);

    let status = s.tidings(&["status"]).await;
    status.assert_code(0);
    status.line_with("Wire");

    assert!(daemon.is_running(), "{}", daemon.stderr());
    daemon.stop().await.assert_code(0);
    let notes = s.notifications();
    assert_eq!(notes.len(), 2, "each alert shown once: {notes:#?}");
    let alerts = s.alerts();
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
}
