//! Marks: the user says an alert was right or wrong for its topic — with `tidings mark ID
//! right|wrong` or from the notification's "Relevant"/"Not relevant" actions — and the mark is
//! stored in `marks` (one per topic and article, the latest) and shown by `history`.
//!
//! `tidings` runs as a child process against the loopback HTTP server, a SQLite file in a temp
//! dir and, for the actions, a private D-Bus with the recording notification server. Nothing
//! sleeps to synchronise: every wait polls a condition under a deadline.

use std::time::{Duration, Instant};

use crate::support::TIMEOUT;
use crate::support::cli::{Daemon, Output, POLL_EVERY, Sandbox};
use crate::support::db;
use crate::support::dbus::TestBus;
use crate::support::feeds::{self, Item};
use crate::support::http::{Response, TestServer};
use crate::support::watchlist::WatchList;

const TOPIC: &str = "NATO membership";

fn finland() -> Item {
    Item::new(
        "marks-finland",
        "Finland applies to join NATO",
        "Helsinki sends its application to Brussels.",
    )
}

fn sweden() -> Item {
    Item::new(
        "marks-sweden",
        "Sweden weighs a NATO bid",
        "Stockholm parties debate the alliance.",
    )
}

fn feed(items: &[Item]) -> Response {
    Response::ok(feeds::rss("Wire", items)).content_type("application/rss+xml; charset=utf-8")
}

/// The alert id of the alert whose headline is `title`.
#[track_caller]
fn alert_id(sb: &Sandbox, title: &str) -> i64 {
    let rows = db::query(
        &sb.db,
        &format!(
            "SELECT al.id FROM alerts al JOIN articles ar ON ar.id = al.article_id \
             WHERE ar.title = '{}'",
            title.replace('\'', "''")
        ),
    );
    assert_eq!(rows.len(), 1, "one alert for {title:?}: {rows:?}");
    rows[0][0].as_deref().unwrap().parse().unwrap()
}

/// Every row of `marks`: (topic, label, title, summary, via, alert_id, article_id).
fn marks(sb: &Sandbox) -> Vec<db::Row> {
    db::query(
        &sb.db,
        "SELECT topic, label, title, summary, via, alert_id, article_id FROM marks ORDER BY id",
    )
}

fn json_rows(out: &Output) -> Vec<serde_json::Value> {
    out.stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}\n{}", out.dump()))
        })
        .collect()
}

/// `tidings mark ID wrong`, then `right`: one row in `marks` (label, copied title and summary,
/// via 'cli', the alert and article linked), replaced by the second; `history` shows the mark
/// on the alert's line (with its #id), in `--json` and in `--csv`; an unknown id exits 1
/// naming it; a bad label or id is a usage error (2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mark_command_records_replaces_and_history_shows_it() {
    let server = TestServer::start().await;
    server.set("/feed.xml", feed(&[finland(), sweden()]));
    let sb = Sandbox::new();
    sb.write_config(
        &WatchList::empty()
            .feed(&server.url("/feed.xml"), Some("Wire"))
            .topic(TOPIC, "NATO")
            .to_toml(),
    );
    sb.tidings(&["poll", "--once"]).await.assert_code(0);
    let fin = alert_id(&sb, &finland().title);
    let swe = alert_id(&sb, &sweden().title);

    let out = sb.tidings(&["mark", &fin.to_string(), "wrong"]).await;
    out.assert_code(0);
    let line = out.line_with("marked wrong");
    assert!(
        line.starts_with(&format!("alert {fin} ({TOPIC}): marked wrong")),
        "{line:?}"
    );
    let rows = marks(&sb);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert_eq!(
        r[..6],
        [
            Some(TOPIC.to_string()),
            Some("0".into()),
            Some(finland().title),
            Some(finland().description),
            Some("cli".into()),
            Some(fin.to_string()),
        ],
        "{r:?}"
    );
    assert!(r[6].is_some(), "the article is linked: {r:?}");

    // history: the id and the mark on the alert's line, nothing on the other one.
    let out = sb.tidings(&["history"]).await;
    out.assert_code(0);
    let line = out.line_with(&finland().title);
    assert!(
        line.contains(&format!("#{fin}")) && line.contains("✗ wrong"),
        "{line:?}"
    );
    let other = out.line_with(&sweden().title);
    assert!(
        other.contains(&format!("#{swe}")) && !other.contains('✗') && !other.contains('✓'),
        "{other:?}"
    );
    let out = sb.tidings(&["history", "--json"]).await;
    out.assert_code(0);
    for row in json_rows(&out) {
        let want = if row["id"] == fin {
            serde_json::json!("wrong")
        } else {
            serde_json::Value::Null
        };
        assert_eq!(row["mark"], want, "{row}");
    }
    let out = sb.tidings(&["history", "--csv"]).await;
    out.assert_code(0);
    let mut reader = csv::Reader::from_reader(out.stdout.as_bytes());
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no {name} column: {header:?}"))
    };
    let (id_col, mark_col) = (col("id"), col("mark"));
    let csv_marks: Vec<(String, String)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[id_col].to_string(), r[mark_col].to_string())
        })
        .collect();
    assert!(
        csv_marks.contains(&(fin.to_string(), "wrong".into()))
            && csv_marks.contains(&(swe.to_string(), String::new())),
        "{csv_marks:?}"
    );

    // Unknown ids and bad words.
    let out = sb.tidings(&["mark", "999999", "wrong"]).await;
    out.assert_code(1);
    assert!(out.stderr.contains("999999"), "{}", out.dump());
    for args in [
        &["mark", &fin.to_string(), "maybe"][..],
        &["mark", "forty-two", "wrong"],
        &["mark", &fin.to_string()],
    ] {
        sb.tidings(args).await.assert_code(2);
    }

    // Marking again replaces the mark.
    let out = sb.tidings(&["mark", &fin.to_string(), "right"]).await;
    out.assert_code(0);
    assert!(
        out.stdout.contains("marked right (was wrong)"),
        "{}",
        out.dump()
    );
    let rows = marks(&sb);
    assert_eq!(rows.len(), 1, "still one mark for the alert: {rows:?}");
    assert_eq!(rows[0][1].as_deref(), Some("1"), "{rows:?}");
    let out = sb.tidings(&["history"]).await;
    assert!(
        out.line_with(&finland().title).contains("✓ right"),
        "{}",
        out.dump()
    );
    let view = db::query(
        &sb.db,
        "SELECT alert_id, mark FROM alert_history ORDER BY alert_id",
    );
    assert!(
        view.contains(&vec![Some(fin.to_string()), Some("right".into())])
            && view.contains(&vec![Some(swe.to_string()), None]),
        "alert_history.mark: {view:?}"
    );
}

/// Under `tidings run`: a single alert's notification offers "Not relevant" (`wrong`) and
/// "Relevant" (`right`) after the other actions; invoking `wrong` records the mark with
/// via = 'notification' and logs it; `tidings mark` works while the daemon runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wrong_action_marks_the_alert_from_its_notification() {
    let Some(bus) = TestBus::start_or_skip("the_wrong_action_marks_the_alert").await else {
        return;
    };
    let server = TestServer::start().await;
    server.set("/feed.xml", feed(&[finland()]));
    let sb = Sandbox::with_bus(bus.address());
    sb.write_config(
        &WatchList::empty()
            .setting("batch_after", 100)
            .feed_every(&server.url("/feed.xml"), "Wire", "1s")
            .topic(TOPIC, "NATO")
            .to_toml(),
    );
    let mut daemon = sb.spawn(&["run"]);
    let notes = bus.wait_for_notifications(1, TIMEOUT).await;
    let n = notes[0].clone();
    let keys: Vec<&str> = n.actions.iter().step_by(2).map(String::as_str).collect();
    assert_eq!(
        keys,
        ["default", "open", "mute", "wrong", "right"],
        "{n:#?}"
    );
    let labels: Vec<&str> = n
        .actions
        .iter()
        .skip(1)
        .step_by(2)
        .map(String::as_str)
        .collect();
    assert_eq!(labels[3..], ["Not relevant", "Relevant"], "{n:#?}");
    let alert = alert_id(&sb, &finland().title);

    // Repeated until it has an effect: the daemon may not listen yet for the first one
    // (marking wrong twice is still one mark).
    let deadline = Instant::now() + TIMEOUT;
    let row = loop {
        bus.invoke_action(n.id, "wrong").await;
        let until = Instant::now() + Duration::from_secs(1);
        while Instant::now() < until && marks(&sb).is_empty() {
            tokio::time::sleep(POLL_EVERY).await;
        }
        if let Some(row) = marks(&sb).into_iter().next() {
            break row;
        }
        assert!(
            daemon.is_running() && Instant::now() < deadline,
            "`wrong` never marked the alert\n{}",
            daemon.stderr()
        );
    };
    assert_eq!(
        row[..6],
        [
            Some(TOPIC.to_string()),
            Some("0".into()),
            Some(finland().title),
            Some(finland().description),
            Some("notification".into()),
            Some(alert.to_string()),
        ],
        "{row:?}"
    );
    daemon
        .wait_stderr("alert marked from its notification", TIMEOUT)
        .await;

    // The CLI while the daemon runs: the mark is replaced.
    let out = sb.tidings(&["mark", &alert.to_string(), "right"]).await;
    out.assert_code(0);
    let rows = marks(&sb);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0][1].as_deref(), rows[0][4].as_deref()),
        (Some("1"), Some("cli")),
        "{rows:?}"
    );
    assert_running(&mut daemon);
    daemon.stop().await.assert_code(0);
}

#[track_caller]
fn assert_running(d: &mut Daemon) {
    assert!(d.is_running(), "the daemon exited:\n{}", d.stderr());
}
