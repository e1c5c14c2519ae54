//! End-to-end: `tidings` as a child process against a loopback HTTP server, a SQLite file in a
//! temp dir and (where notifications matter) a private D-Bus with a recording notification
//! server.

use std::collections::BTreeMap;

use crate::support::cli::Sandbox;
use crate::support::db;
use crate::support::dbus::Notification;
use crate::support::feeds::{self, Item, markup_escape};
use crate::support::fixtures::{self, SEED_CHANNEL, SEED_HEADLINE, SEED_UNRELATED};
use crate::support::http::{self, Behaviour, Response};
use crate::support::scenario::{Builder, Scenario};
use crate::support::watchlist::{NATO, TALKS, WatchList};

const SEED: &str = "/seed.xml";
const ETAG_V1: &str = "\"seed-v1\"";
const LAST_MODIFIED_V1: &str = "Tue, 22 Mar 2022 12:00:00 GMT";

/// `seed-feed.xml` (plus `extra` items) with ETag and Last-Modified.
fn seed_response(etag: &str, last_modified: &str, extra: &[Item]) -> Response {
    let extra: Vec<String> = extra.iter().map(Item::to_xml).collect();
    Response::ok(fixtures::seed_feed_with(&extra))
        .content_type("application/rss+xml; charset=utf-8")
        .etag(etag)
        .last_modified(last_modified)
}

/// [`WatchList::standard`] and the feed `SEED` named [`SEED_CHANNEL`], serving the seed feed
/// with ETag and Last-Modified.
fn seed(test: &str) -> Builder {
    Scenario::builder(test)
        .watchlist(WatchList::standard())
        .feed(
            SEED,
            SEED_CHANNEL,
            seed_response(ETAG_V1, LAST_MODIFIED_V1, &[]),
        )
}

/// A new item that matches [`NATO`] only, with characters that must be escaped in the body.
/// (`<` and `>` stand alone: a tag-like `<word>` in a title may be read as HTML and dropped.)
fn finland_item() -> Item {
    Item::new(
        "finland-sweden-nato",
        "Finland & Sweden: NATO membership support > 60%, was < 30%",
        "Helsinki and Stockholm debate whether to apply for membership of the alliance.",
    )
}

/// Checks app name, summary and the first two body lines of one notification.
#[track_caller]
fn assert_notification(n: &Notification, topic: &str, headline: &str, source: &str) {
    assert_eq!(n.app_name, "tidings", "app_name of {n:#?}");
    assert_eq!(
        n.summary, topic,
        "summary (the topic name, unescaped) of {n:#?}"
    );
    let lines = n.body_lines();
    let want_headline = markup_escape(headline);
    assert_eq!(
        lines.first().copied(),
        Some(want_headline.as_str()),
        "body line 1 must be the escaped headline, in {n:#?}"
    );
    let want_source = markup_escape(source);
    assert!(
        lines.get(1).is_some_and(|l| l.starts_with(&want_source)),
        "body line 2 must start with the escaped source {want_source:?}, in {n:#?}"
    );
}

/// `(summary, first body line)` pairs, sorted, for comparing sets of notifications.
fn keys(notes: &[Notification]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = notes
        .iter()
        .map(|n| {
            (
                n.summary.clone(),
                n.body_lines().first().unwrap_or(&"").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The shipped example's topics against the seed article, as in the project's origin story:
/// one notification per matching (article, topic), none for the unrelated items, and the
/// database holds the articles and the delivered alerts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_article_alerts_once_per_topic_with_shipped_watchlist() {
    let (wl, shipped) = WatchList::shipped_example();
    let Some(s) = Scenario::builder("seed_article_alerts_once_per_topic")
        .watchlist(wl.alert_on_first_poll(true))
        .serve(SEED, seed_response(ETAG_V1, LAST_MODIFIED_V1, &[]))
        // No `name`: the source shown is the feed's own title.
        .watch(SEED, None)
        .start()
        .await
    else {
        return;
    };
    let wl = s.watchlist();
    let topics = wl.topic_names();
    let want_topics = ["NATO membership", "Putin–Zelensky talks"];
    for t in want_topics {
        assert!(
            topics.iter().any(|n| n == t),
            "topic {t:?} missing from the {} watch-list: {topics:?}",
            if shipped { "shipped" } else { "fallback" }
        );
    }

    let out = s.poll_once().await;
    out.assert_code(0);
    // The feed has no configured name: its line may show the feed's title or its URL.
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains(SEED_CHANNEL) || l.contains(&s.url(SEED)))
        .collect();
    assert!(
        lines.len() == 1 && lines[0].contains("ok") && lines[0].contains("200"),
        "one summary line for the seed feed, saying ok and 200\n{}",
        out.dump()
    );

    let notes = s.notifications();
    for n in &notes {
        assert!(
            !SEED_UNRELATED.iter().any(|h| n.body.contains(h)),
            "an unrelated item raised a notification: {n:#?}"
        );
        assert_notification(n, &n.summary, SEED_HEADLINE, SEED_CHANNEL);
    }
    let mut per_topic: BTreeMap<&str, usize> = BTreeMap::new();
    for n in &notes {
        *per_topic.entry(n.summary.as_str()).or_default() += 1;
        // The topic's urgency travels as the freedesktop `urgency` hint (0, 1, 2).
        let want = match wl.topic_urgency(&n.summary).as_deref() {
            Some("low") => "0",
            Some("critical") => "2",
            _ => "1",
        };
        assert_eq!(
            n.hints.get("urgency").map(String::as_str),
            Some(want),
            "urgency hint for topic {:?}: {n:#?}",
            n.summary
        );
    }
    for t in want_topics {
        assert_eq!(
            per_topic.get(t).copied(),
            Some(1),
            "expected exactly one notification for topic {t:?}; per topic: {per_topic:?}\n{}",
            out.dump()
        );
    }
    assert!(
        per_topic.values().all(|&c| c == 1),
        "at most one notification per (article, topic): {per_topic:?}"
    );

    let articles = db::articles(s.db());
    assert_eq!(articles.len(), 4, "all 4 seed items stored: {articles:?}");
    let alerts = s.alerts();
    assert_eq!(
        alerts.len(),
        notes.len(),
        "one alert row per notification: {alerts:#?}"
    );
    for a in &alerts {
        assert_eq!(
            a.title, SEED_HEADLINE,
            "alert for an unrelated item: {a:#?}"
        );
        assert!(a.notify, "alert should be marked to notify: {a:#?}");
        assert!(a.delivered_at.is_some(), "delivered_at not set: {a:#?}");
        assert!(
            a.delivery_error.is_none(),
            "unexpected delivery_error: {a:#?}"
        );
        assert!(
            per_topic.contains_key(a.topic.as_str()),
            "alert {a:#?} has no notification"
        );
    }
}

/// Second poll sends the stored validators; the server answers 304; nothing new is raised.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_poll_is_conditional_and_304_raises_nothing() {
    let Some(s) = seed("second_poll_is_conditional").start().await else {
        return;
    };

    s.poll_once().await.assert_code(0);
    let first = s.notifications();
    assert_eq!(
        keys(&first),
        vec![
            (NATO.0.to_owned(), SEED_HEADLINE.to_owned()),
            (TALKS.0.to_owned(), SEED_HEADLINE.to_owned()),
        ],
        "first poll: one notification per topic for the seed article"
    );
    let feed = db::feed(s.db(), &s.url(SEED));
    assert!(
        feed.etag.as_deref().is_some_and(|e| e.contains("seed-v1")),
        "ETag stored: {feed:?}"
    );
    assert!(
        feed.last_modified.is_some(),
        "Last-Modified stored: {feed:?}"
    );

    let out = s.poll_once().await;
    out.assert_code(0);
    let reqs = s.http.requests_to(SEED);
    assert_eq!(reqs.len(), 2, "one request per poll: {reqs:#?}");
    let second = &reqs[1];
    assert_eq!(
        second.header("If-None-Match"),
        Some(ETAG_V1),
        "second request must carry If-None-Match: {second:#?}"
    );
    let ims = second.header("If-Modified-Since");
    assert!(
        ims.and_then(http::http_date) == http::http_date(LAST_MODIFIED_V1),
        "second request must carry If-Modified-Since = {LAST_MODIFIED_V1}: {second:#?}"
    );
    assert_eq!(second.status, Some(304), "server answered 304");
    let line = out.line_with(SEED_CHANNEL);
    assert!(
        line.to_lowercase().contains("not modified"),
        "summary line should say not modified: {line:?}"
    );
    assert_eq!(
        s.notifications().len(),
        first.len(),
        "a 304 raised notifications: {:#?}",
        s.notifications()
    );
    assert_eq!(db::articles(s.db()).len(), 4);
}

/// A new process on the same database: a changed ETag with the same items raises nothing;
/// one new matching item raises exactly one notification, with escaped headline and source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_does_not_repeat_alerts_and_new_item_alerts_once() {
    let source = "News & Views <Test>";
    let Some(s) = Scenario::builder("restart_does_not_repeat_alerts")
        .watchlist(WatchList::standard())
        .feed(SEED, source, seed_response(ETAG_V1, LAST_MODIFIED_V1, &[]))
        .start()
        .await
    else {
        return;
    };

    s.poll_once().await.assert_code(0);
    let first = s.notifications();
    assert_eq!(first.len(), 2, "first poll: {first:#?}");
    for n in &first {
        assert_notification(n, &n.summary, SEED_HEADLINE, source);
    }

    // Same items, new validators: the server sends 200 with the full body again.
    s.serve(
        SEED,
        seed_response("\"seed-v2\"", "Wed, 23 Mar 2022 12:00:00 GMT", &[]),
    );
    let out = s.poll_once().await;
    out.assert_code(0);
    assert_eq!(s.http.requests_to(SEED)[1].status, Some(200));
    let line = out.line_with(source);
    // Byte for byte the same body: recognised without parsing it again.
    assert!(
        line.contains("200") && line.contains("unchanged"),
        "same items again: 200 and unchanged expected: {line:?}"
    );
    assert_eq!(
        s.notifications().len(),
        2,
        "same items re-served with a new ETag raised notifications again: {:#?}",
        &s.notifications()[2..]
    );

    let item = finland_item();
    s.serve(
        SEED,
        seed_response(
            "\"seed-v3\"",
            "Thu, 24 Mar 2022 12:00:00 GMT",
            std::slice::from_ref(&item),
        ),
    );
    let out = s.poll_once().await;
    out.assert_code(0);
    let notes = s.notifications();
    assert_eq!(
        notes.len(),
        3,
        "exactly one new notification expected: {:#?}\n{}",
        &notes[2..],
        out.dump()
    );
    assert_notification(&notes[2], NATO.0, &item.title, source);
    assert_eq!(db::articles(s.db()).len(), 5);
    assert_eq!(s.alerts().len(), 3);
}

/// `alert_on_first_poll = false`: the backlog is stored and its alerts recorded with
/// notify = 0, nothing is shown; an item that arrives later is shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_poll_records_backlog_without_notifying() {
    let Some(s) = seed("first_poll_records_backlog")
        .setting("alert_on_first_poll", false)
        .start()
        .await
    else {
        return;
    };

    let out = s.poll_once().await;
    out.assert_code(0);
    assert_eq!(
        s.notifications(),
        vec![],
        "first poll must not notify\n{}",
        out.dump()
    );
    assert_eq!(db::articles(s.db()).len(), 4, "backlog stored");
    let alerts = s.alerts();
    assert_eq!(alerts.len(), 2, "backlog alerts recorded: {alerts:#?}");
    for a in &alerts {
        assert!(!a.notify, "backlog alert must have notify = 0: {a:#?}");
        assert!(a.delivered_at.is_none(), "backlog alert delivered? {a:#?}");
    }

    let item = finland_item();
    s.serve(
        SEED,
        seed_response(
            "\"seed-v2\"",
            "Wed, 23 Mar 2022 12:00:00 GMT",
            std::slice::from_ref(&item),
        ),
    );
    s.poll_once().await.assert_code(0);
    let notes = s.notifications();
    assert_eq!(notes.len(), 1, "the new item, only: {notes:#?}");
    assert_notification(&notes[0], NATO.0, &item.title, SEED_CHANNEL);
}

/// No session bus at all: the poll still succeeds and the alert keeps its delivery error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_bus_records_delivery_error_and_exits_zero() {
    // DBUS_SESSION_BUS_ADDRESS -> a socket that does not exist
    let s = seed("no_bus_records_delivery_error")
        .start_without_bus()
        .await;
    let out = s.poll_once().await;
    out.assert_code(0);
    let alerts = s.alerts();
    assert_eq!(
        alerts.len(),
        2,
        "alerts recorded: {alerts:#?}\n{}",
        out.dump()
    );
    for a in &alerts {
        assert!(a.notify, "{a:#?}");
        assert!(
            a.delivered_at.is_none(),
            "delivered_at set without a bus: {a:#?}"
        );
        assert!(
            a.delivery_error
                .as_deref()
                .is_some_and(|e| !e.trim().is_empty()),
            "delivery_error must say why: {a:#?}"
        );
    }
}

/// Broken feeds beside a healthy one (HTTP 500, an HTML page with 200, an empty 200, a closed
/// port, a connection reset mid-body): each failure is reported on its own line and stored in
/// `feeds.last_error`, the healthy feed still alerts, and the exit code is 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_feeds_do_not_stop_a_healthy_one() {
    let closed = http::closed_port_url("/feed.xml").await;
    let s = Scenario::builder("failing_feeds_do_not_stop_a_healthy_one")
        .watchlist(WatchList::standard())
        .feed(
            SEED,
            "Healthy Wire",
            seed_response(ETAG_V1, LAST_MODIFIED_V1, &[]),
        )
        .feed(
            "/500",
            "Broken Feed",
            Response::status(500)
                .content_type("text/plain")
                .body("internal error\n"),
        )
        .feed(
            "/html",
            "Html Page",
            Response::ok(fixtures::bytes("latimes-cloudfront-403.html")).content_type("text/html"),
        )
        .feed(
            "/empty",
            "Empty Body",
            Response::ok(fixtures::bytes("empty-download.xml")).content_type("application/rss+xml"),
        )
        .watch(&closed, Some("Closed Port"))
        .feed(
            "/cut",
            "Cut Off",
            Behaviour::ResetMidBody {
                response: seed_response(ETAG_V1, LAST_MODIFIED_V1, &[]),
                after: 700,
            },
        )
        .start_without_bus()
        .await;
    let failing = [
        ("Broken Feed", s.url("/500")),
        ("Html Page", s.url("/html")),
        ("Empty Body", s.url("/empty")),
        ("Closed Port", closed.clone()),
        ("Cut Off", s.url("/cut")),
    ];

    let out = s.poll_once().await;
    out.assert_code(0);
    let healthy = out.line_with("Healthy Wire");
    assert!(healthy.contains("ok"), "healthy line: {healthy:?}");
    for (name, url) in &failing {
        let line = out.line_with(name);
        assert!(
            line.contains("error"),
            "line for {name} should report an error: {line:?}"
        );
        let row = db::feed(s.db(), url);
        assert!(
            row.last_error
                .as_deref()
                .is_some_and(|e| !e.trim().is_empty()),
            "feeds.last_error for {name}: {row:?}"
        );
    }
    let broken = out.line_with("Broken Feed");
    assert!(
        broken.contains("500"),
        "the 500 should be named: {broken:?}"
    );
    let row = db::feed(s.db(), &s.url(SEED));
    assert!(
        row.last_error.is_none(),
        "healthy feed has an error: {row:?}"
    );
    let alerts = s.alerts();
    let healthy_alerts: Vec<&String> = alerts
        .iter()
        .filter(|a| a.feed_url == s.url(SEED))
        .map(|a| &a.topic)
        .collect();
    assert_eq!(
        healthy_alerts.len(),
        2,
        "the healthy feed still alerts for both topics: {alerts:#?}"
    );
    assert_eq!(alerts.len(), 2, "only the healthy feed alerts: {alerts:#?}");
}

/// When no feed can be polled, the exit code is 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_feeds_failing_exits_one() {
    let closed = http::closed_port_url("/feed.xml").await;
    let s = Scenario::builder("all_feeds_failing_exits_one")
        .watchlist(WatchList::standard())
        .feed(
            "/500",
            "Broken Feed",
            Response::status(500).body("internal error\n"),
        )
        .watch(&closed, Some("Closed Port"))
        .start_without_bus()
        .await;
    let out = s.poll_once().await;
    out.assert_code(1);
    for name in ["Broken Feed", "Closed Port"] {
        let line = out.line_with(name);
        assert!(line.contains("error"), "{name}: {line:?}");
    }
}

/// `check`: a valid watch-list passes; bad ones exit 2 with `file:line:col: key` on stderr
/// (file name as given); no database is created either way. The full error table is a unit
/// test in src/config.rs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_validates_and_reports_file_line_column_key() {
    let sb = Sandbox::new();
    let relative = ["--config", "watchlist.toml", "--db", "tidings.db"];

    sb.write_config(
        &WatchList::standard()
            .feed("http://127.0.0.1:9/feed.xml", Some("Somewhere"))
            .to_toml(),
    );
    let out = sb.run(&[&["check"][..], &relative[..]].concat()).await;
    out.assert_code(0);
    assert!(!sb.db.exists(), "check created the database");

    // (file text, expected "file:line:col:" prefix or "file:line:", expected key path)
    let cases: [(&str, &str, &str); 3] = [
        (
            concat!(
                "[settings]\n",
                "interval = \"15m\"\n",
                "\n",
                "[[feed]]\n",
                "  url = \"http://127.0.0.1:9/a.xml\"\n",
                "\n",
                "[[feed]]\n",
                "  url = \"http://127.0.0.1:9/b.xml\"\n",
                "\n",
                "[[feed]]\n",
                "  name = \"Relative\"\n",
                "  url = \"feeds/c.xml\"\n",
            ),
            "watchlist.toml:12:9:",
            "feed[3].url",
        ),
        (
            concat!(
                "[settings]\n",
                "interval = \"fortnight\"\n",
                "\n",
                "[[topic]]\n",
                "name = \"A\"\n",
                "query = \"NATO\"\n",
            ),
            "watchlist.toml:2:",
            "settings.interval",
        ),
        (
            concat!(
                "[[topic]]\n",
                "name = \"Fine\"\n",
                "query = \"NATO\"\n",
                "\n",
                "[[topic]]\n",
                "name = \"Broken\"\n",
                "query = \"NATO AND (membership\"\n",
            ),
            "watchlist.toml:7:",
            "topic[2].query",
        ),
    ];
    for (text, position, key) in cases {
        sb.write_config(text);
        // Global flags after the subcommand, as the contract allows.
        let out = sb.run(&[&["check"][..], &relative[..]].concat()).await;
        out.assert_code(2);
        assert!(
            out.stderr.contains(position) && out.stderr.contains(key),
            "stderr should contain {position:?} and {key:?}\nconfig:\n{text}\n{}",
            out.dump()
        );
        assert!(!sb.db.exists(), "check created the database");
    }

    // A bad watch-list also stops `poll` with exit 2, before touching the database.
    let out = sb.tidings(&["poll", "--once"]).await;
    out.assert_code(2);
    assert!(
        !sb.db.exists(),
        "poll with a bad config created the database"
    );
}

/// Fails if an error message says the same thing twice in a row (`a: b: b`): the chain of
/// causes should be reported once (STYLE.md, "Report errors once, with their chain").
#[track_caller]
fn assert_no_repeated_cause(stderr: &str) {
    for line in stderr.lines() {
        let parts: Vec<&str> = line.split(": ").map(str::trim).collect();
        for w in parts.windows(2) {
            assert!(w[0] != w[1], "error message repeats {:?}: {line:?}", w[0]);
        }
    }
}

/// A database path that is a directory, or a file that is not SQLite: a clear error that
/// names the path (once, without repeating causes), a non-zero exit, and the file left as it
/// was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_database_is_reported_and_not_overwritten() {
    let mut s = seed("unusable_database_is_reported")
        .start_without_bus()
        .await;
    let db = s.db().to_owned();
    std::fs::create_dir(&db).unwrap();
    let out = s.poll_once().await;
    out.assert_failure();
    assert!(
        out.stderr.contains(&db.display().to_string()),
        "error should name {}\n{}",
        db.display(),
        out.dump()
    );
    assert_no_repeated_cause(&out.stderr);
    assert!(db.is_dir());

    s.fresh_sandbox();
    let db = s.db().to_owned();
    let garbage: Vec<u8> = b"this is not an SQLite database, it is a shopping list\n"
        .iter()
        .copied()
        .cycle()
        .take(8192)
        .collect();
    std::fs::write(&db, &garbage).unwrap();
    for args in [&["poll", "--once"][..], &["history"][..]] {
        let out = s.tidings(args).await;
        out.assert_failure();
        assert!(
            out.stderr.contains(&db.display().to_string()),
            "error should name {}\n{}",
            db.display(),
            out.dump()
        );
        assert_no_repeated_cause(&out.stderr);
        assert_eq!(
            std::fs::read(&db).unwrap(),
            garbage,
            "`{}` modified the garbage database file",
            out.command
        );
    }
}

/// `history` lists alerts newest first, one line each with time, topic, source and headline;
/// `--limit N` keeps the N newest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_lists_newest_first_and_limit_works() {
    let source = "History Wire";
    let s = Scenario::builder("history_lists_newest_first")
        .watchlist(WatchList::standard())
        .watch("/h.xml", Some(source)) // served below
        .start_without_bus()
        .await;
    let items = [
        Item::new(
            "a",
            "Finland edges closer to NATO membership",
            "Helsinki moves on its application.",
        ),
        Item::new(
            "b",
            "Sweden debates joining NATO",
            "Stockholm parties weigh the bid.",
        ),
        Item::new(
            "c",
            "Georgia renews its NATO membership hopes",
            "Tbilisi restates its aim.",
        ),
    ];
    for n in 1..=items.len() {
        s.serve("/h.xml", Response::ok(feeds::rss(source, &items[..n])));
        s.poll_once().await.assert_code(0);
    }
    let alerts = s.alerts();
    assert_eq!(alerts.len(), 3, "one alert per item: {alerts:#?}");

    let out = s.tidings(&["history"]).await;
    out.assert_code(0);
    let time = regex::Regex::new(r"\d{1,2}:\d{2}").unwrap();
    let mut positions = Vec::new();
    for item in &items {
        let line = out.line_with(&item.title);
        assert!(
            line.contains(NATO.0) && line.contains(source) && time.is_match(line),
            "history line should have time, topic, source, headline: {line:?}"
        );
        positions.push(out.stdout.find(&item.title).unwrap());
    }
    assert!(
        positions[2] < positions[1] && positions[1] < positions[0],
        "history must list newest first (c, b, a)\n{}",
        out.dump()
    );

    let out = s.tidings(&["history", "--limit", "2"]).await;
    out.assert_code(0);
    out.line_with(&items[2].title);
    out.line_with(&items[1].title);
    assert!(
        !out.stdout.contains(&items[0].title),
        "--limit 2 must leave out the oldest\n{}",
        out.dump()
    );
}

/// The Atom and JSON Feed variants alert like RSS; the source is each feed's own title.
/// (Each runs against its own database: in one, the second copy of the story would join the
/// first alert as "also reported by" — see `alerts::one_alert_per_story_across_feeds`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atom_and_json_feeds_alert_like_rss() {
    for (fixture, path, content_type, source) in [
        (
            "seed-feed.atom",
            "/seed.atom",
            "application/atom+xml",
            "World News Wire (Atom)",
        ),
        (
            "seed-feed.json",
            "/seed.json",
            "application/feed+json",
            "World News Wire (JSON)",
        ),
    ] {
        let Some(s) = Scenario::builder("atom_and_json_feeds_alert_like_rss")
            .watchlist(WatchList::standard())
            .serve(
                path,
                Response::ok(fixtures::bytes(fixture)).content_type(content_type),
            )
            .watch(path, None)
            .start()
            .await
        else {
            return;
        };
        let out = s.poll_once().await;
        out.assert_code(0);
        let notes = s.notifications();
        assert_eq!(
            notes.len(),
            1,
            "one NATO notification from {fixture}: {notes:#?}\n{}",
            out.dump()
        );
        assert_notification(&notes[0], NATO.0, SEED_HEADLINE, source);
    }
}

/// Regression guard for trap 3: items without a guid keep their identity across polls, so a
/// re-served feed without validators stores nothing new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_without_guid_are_not_stored_twice() {
    let s = Scenario::builder("items_without_guid_are_not_stored_twice")
        .watchlist(WatchList::standard())
        .feed(
            "/dt.xml",
            "Daily Telegraph",
            Response::ok(fixtures::bytes("dailytelegraph-rss092-noguid.xml"))
                .content_type("application/rss+xml"),
        )
        .start_without_bus()
        .await;
    s.poll_once().await.assert_code(0);
    let first = db::articles(s.db());
    assert!(!first.is_empty(), "the RSS 0.92 feed yields articles");
    // The same items in a body that differs (a trailing comment), so it is parsed again and
    // the items' identity, not the body's, has to hold.
    let mut again = fixtures::bytes("dailytelegraph-rss092-noguid.xml");
    again.extend_from_slice(b"\n<!-- re-rendered -->\n");
    s.serve(
        "/dt.xml",
        Response::ok(again).content_type("application/rss+xml"),
    );
    let out = s.poll_once().await;
    out.assert_code(0);
    assert_eq!(
        db::articles(s.db()),
        first,
        "second poll of the same no-guid items stored new rows\n{}",
        out.dump()
    );
    let line = out.line_with("Daily Telegraph");
    assert!(line.contains("0 new"), "{line:?}");
}

/// A moved feed: the redirect is followed and the feed polled as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirected_feed_is_followed() {
    let s = Scenario::builder("redirected_feed_is_followed")
        .watchlist(WatchList::standard())
        .serve(SEED, seed_response(ETAG_V1, LAST_MODIFIED_V1, &[]))
        .watch("/moved.xml", Some("Moved Wire")) // served below: it redirects to SEED
        .start_without_bus()
        .await;
    s.serve(
        "/moved.xml",
        Behaviour::Redirect {
            status: 301,
            location: s.url(SEED),
        },
    );
    let out = s.poll_once().await;
    out.assert_code(0);
    let line = out.line_with("Moved Wire");
    assert!(line.contains("ok"), "{line:?}");
    let paths: Vec<String> = s.http.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/moved.xml", SEED], "redirect followed once");
    assert_eq!(db::articles(s.db()).len(), 4);
    assert_eq!(s.alerts().len(), 2, "{:#?}", s.alerts());
}
