//! Issue 5, end to end: alerts the user can trust. `tidings` runs as a child process (`poll
//! --once`, or `run` as a long-running daemon) against the loopback HTTP server, a SQLite file
//! in a temp dir and a private D-Bus with a recording notification server that the tests can
//! configure (capabilities), make click (`ActionInvoked`), start late or make hang.
//!
//! Nothing here sleeps to synchronise: every wait polls a condition under a deadline. Feeds of
//! daemon tests have `interval = "1s"`, and the served document is changed between polls.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::support::cli::{Output, POLL_EVERY, wait_until};
use crate::support::db;
use crate::support::dbus::Notification;
use crate::support::feeds::xml_escape;
use crate::support::http::Response;
use crate::support::scenario::{Builder, Notifier, Scenario};
use crate::support::{TIMEOUT, find_on_path};

// ---------------------------------------------------------------------------------------------
// Feeds built in the test

/// One RSS item; `title` and `description` are the element text *after* XML decoding (so
/// `&lt;a&gt;` in them reaches the parser as an HTML entity, i.e. as literal text `<a>`).
#[derive(Debug, Clone)]
struct Entry {
    guid: String,
    title: String,
    description: String,
    link: Option<String>,
    published: Option<DateTime<Utc>>,
}

impl Entry {
    /// Link `https://example.com/news/SLUG`, published ten minutes ago.
    fn new(slug: &str, title: &str, description: &str) -> Entry {
        Entry {
            guid: format!("alerts-{slug}"),
            title: title.to_owned(),
            description: description.to_owned(),
            link: Some(format!("https://example.com/news/{slug}")),
            published: Some(Utc::now() - chrono::Duration::minutes(10)),
        }
    }

    fn link(mut self, link: Option<&str>) -> Entry {
        self.link = link.map(str::to_owned);
        self
    }

    fn published(mut self, at: Option<DateTime<Utc>>) -> Entry {
        self.published = at;
        self
    }

    fn to_xml(&self) -> String {
        let mut s = format!(
            "    <item>\n      <title>{}</title>\n      <guid isPermaLink=\"false\">{}</guid>\n      \
             <description>{}</description>\n",
            xml_escape(&self.title),
            xml_escape(&self.guid),
            xml_escape(&self.description)
        );
        if let Some(l) = &self.link {
            s.push_str(&format!("      <link>{}</link>\n", xml_escape(l)));
        }
        if let Some(p) = &self.published {
            s.push_str(&format!("      <pubDate>{}</pubDate>\n", p.to_rfc2822()));
        }
        s.push_str("    </item>");
        s
    }
}

/// An RSS 2.0 response (no validators, no caching hints) with these items.
fn rss(channel: &str, items: &[Entry]) -> Response {
    let mut doc = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\">\n  <channel>\n    \
         <title>{}</title>\n    <link>https://example.com/</link>\n    \
         <description>alerts test feed</description>\n",
        xml_escape(channel)
    );
    for i in items {
        doc.push_str(&i.to_xml());
        doc.push('\n');
    }
    doc.push_str("  </channel>\n</rss>\n");
    Response::ok(doc).content_type("application/rss+xml; charset=utf-8")
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/// `n` items matching `NATO`, each its own story.
fn nato_items(prefix: &str, n: usize) -> Vec<Entry> {
    const PLACES: [&str; 8] = [
        "Oslo",
        "Riga",
        "Vilnius",
        "Tallinn",
        "Warsaw",
        "Bucharest",
        "Sofia",
        "Prague",
    ];
    (0..n)
        .map(|i| {
            let place = PLACES[i % PLACES.len()];
            Entry::new(
                &format!("{prefix}-{i}"),
                &format!("{place} hosts NATO defence ministers, round {i} of {prefix}"),
                &format!("Ministers met in {place} to discuss NATO air defence, session {i}."),
            )
        })
        .collect()
}

/// The scenario most tests share: `/feed.xml` serves `items` as the feed "Wire", watched for
/// the topic "NATO membership" (`NATO`).
fn wire(test: &str, items: &[Entry]) -> Builder {
    Scenario::builder(test)
        .feed("/feed.xml", "Wire", rss("Wire", items))
        .topic("NATO membership", "NATO")
}

fn keys_of(n: &Notification) -> Vec<&str> {
    n.actions.iter().step_by(2).map(String::as_str).collect()
}

/// Why `body` is not safe notification markup (feed text escaped, only `<b>` tags), if it is not.
fn markup_problem(body: &str) -> Option<String> {
    let stripped = body.replace("<b>", "").replace("</b>", "");
    if let Some(i) = stripped.find(['<', '>']) {
        return Some(format!(
            "raw {:?} at {i} of {stripped:?}",
            &stripped[i..i + 1]
        ));
    }
    for (i, _) in stripped.match_indices('&') {
        let rest = &stripped[i..];
        let named = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
            .iter()
            .any(|e| rest.starts_with(e));
        let numeric = rest.strip_prefix("&#").is_some_and(|r| {
            let end = r.find(';').unwrap_or(0);
            end > 0 && r[..end].chars().all(|c| c.is_ascii_alphanumeric())
        });
        if !named && !numeric {
            return Some(format!("raw '&' at {i} of {stripped:?}"));
        }
    }
    None
}

/// Markup back to text: `<b>` tags removed, entities decoded.
fn unmarkup(s: &str) -> String {
    s.replace("<b>", "")
        .replace("</b>", "")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[test]
fn markup_checks_catch_raw_feed_markup() {
    assert_eq!(markup_problem("a &amp; &lt;b&gt; <b>hit</b> &#39;"), None);
    assert!(markup_problem("a & b").is_some());
    assert!(markup_problem("<a href=\"x\">x</a>").is_some());
    assert!(markup_problem("x <img src=y>").is_some());
    assert!(markup_problem("&amp x").is_some());
    assert_eq!(unmarkup("&lt;a&gt; &amp;lt; <b>NATO</b>"), "<a> &lt; NATO");
}

/// `history --json` rows as JSON objects; fails unless every stdout line is one object.
#[track_caller]
fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    out.stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| {
                panic!("not one JSON object per line ({e}): {l:?}\n{}", out.dump())
            });
            assert!(v.is_object(), "not an object: {l:?}");
            v
        })
        .collect()
}

fn titles(rows: &[serde_json::Value]) -> BTreeSet<String> {
    rows.iter()
        .map(|r| r["title"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------------------------
// 1. Content and escaping

/// The headline as stored after HTML-to-text: literal markup, an ampersand and quotes.
const EVIL_TITLE: &str = "Alliance news: <a href=\"https://evil.example\">x</a> \
                          <img src=file:///etc/passwd> & \"quotes\" 'too'";
/// The description as stored: the hits (`join`, `NATO`, `Helsinki`, `Finland`) and more markup.
const EVIL_SUMMARY: &str = "Helsinki says Finland will join NATO & the EU <soon>, officials said.";
/// A source name that needs escaping too.
const EVIL_SOURCE: &str = "Wire & Co <News>";

/// The feed for the content tests: the evil item (published 5 minutes ago, matches all three
/// topics) and an item without a pubDate (matches only the normal topic).
fn content_feed() -> Response {
    let evil = Entry::new(
        "evil",
        // Entities, so that the parser's HTML-to-text turns them into literal text.
        "Alliance news: &lt;a href=\"https://evil.example\"&gt;x&lt;/a&gt; \
         &lt;img src=file:///etc/passwd&gt; &amp; \"quotes\" 'too'",
        "Helsinki says Finland will join NATO &amp; the EU &lt;soon&gt;, officials said.",
    )
    .published(Some(Utc::now() - chrono::Duration::minutes(5)));
    let undated = Entry::new(
        "undated",
        "Stockholm weighs a bid for the alliance",
        "Sweden may join NATO next year.",
    )
    .published(None);
    rss("Channel title", &[evil, undated])
}

const LOW: &str = "Helsinki watch";
const NORMAL: &str = "NATO & <allies>";
const CRITICAL: &str = "Finland alarm";

/// The content feed from [`EVIL_SOURCE`] and the three topics, one per urgency.
fn content_scenario(test: &str) -> Builder {
    Scenario::builder(test)
        .batch_after(10)
        .setting("notification_timeout", "7s")
        .feed("/wire.xml", EVIL_SOURCE, content_feed())
        .topic_with_urgency(LOW, "Helsinki", "low")
        .topic_with_urgency(NORMAL, "NATO AND join*", "normal")
        .topic_with_urgency(CRITICAL, "Finland", "critical")
}

/// Checks what every notification carries whatever the capabilities: app name, icon,
/// summary = topic (plain), hints, expiry.
#[track_caller]
fn assert_common(n: &Notification) {
    assert_eq!(n.app_name, "tidings", "app_name: {n:#?}");
    assert!(!n.app_icon.is_empty(), "app_icon must be set: {n:#?}");
    assert!(
        [LOW, NORMAL, CRITICAL].contains(&n.summary.as_str()),
        "summary must be the topic's name, unescaped: {n:#?}"
    );
    let urgency = match n.summary.as_str() {
        LOW => "0",
        CRITICAL => "2",
        _ => "1",
    };
    assert_eq!(
        n.hints.get("urgency").map(String::as_str),
        Some(urgency),
        "urgency hint from the topic: {n:#?}"
    );
    assert_eq!(
        n.hints.get("desktop-entry").map(String::as_str),
        Some("tidings"),
        "desktop-entry hint: {n:#?}"
    );
    assert!(
        n.hints.get("category").is_some_and(|c| !c.is_empty()),
        "a category hint: {n:#?}"
    );
    assert_eq!(n.expire_timeout, 7000, "notification_timeout = 7s: {n:#?}");
}

/// Line 2 of the evil item's body, as text: "Wire & Co <News> · 5 min ago".
#[track_caller]
fn assert_source_and_age(line: &str, n: &Notification) {
    let rest = line
        .strip_prefix(&format!("{EVIL_SOURCE} · "))
        .unwrap_or_else(|| panic!("line 2 must be \"{EVIL_SOURCE} · N min ago\": {n:#?}"));
    let minutes: u32 = rest
        .strip_suffix(" min ago")
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("line 2 must end in \"N min ago\": {line:?} in {n:#?}"));
    assert!(
        (4..=7).contains(&minutes),
        "published 5 minutes ago, shown as {minutes} min: {n:#?}"
    );
}

/// Feed text with `<a href>`, `<img>`, `&` and quotes, through the real D-Bus path. With
/// `body-markup` the body is escaped markup with the hits in `<b>`; without it the body is
/// the plain text. Summary = topic, line 2 = "Source · N min ago" (just the source without a
/// pubDate), hints and expiry as configured; actions only when the server has `actions`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_content_is_escaped_for_markup_and_plain_without_it() {
    // --- a server with body-markup and actions
    let Some(mut s) = content_scenario("notification_content_is_escaped")
        .capabilities(&["body", "body-markup", "actions"])
        .start()
        .await
    else {
        return;
    };
    let out = s.poll_once().await;
    out.assert_code(0);
    let stored = db::articles(s.db());
    assert!(
        stored.iter().any(|(_, t)| t == EVIL_TITLE),
        "precondition: the headline is stored as literal text {EVIL_TITLE:?}: {stored:#?}"
    );
    let notes = s.notifications();
    assert_eq!(
        notes.len(),
        4,
        "three topics for the evil item + one for the undated item: {notes:#?}\n{}",
        out.dump()
    );
    for n in &notes {
        assert_common(n);
        if let Some(p) = markup_problem(&n.body) {
            panic!("body is not safe markup ({p}): {n:#?}");
        }
        assert!(
            !n.body.contains("<a ") && !n.body.contains("<img"),
            "feed markup reached the body: {n:#?}"
        );
        assert_eq!(
            keys_of(n),
            ["default", "open", "mute", "wrong", "right"],
            "with `actions`: default, open, mute, wrong, right: {n:#?}"
        );
        let lines = n.body_lines();
        if lines[0].contains("Stockholm") {
            assert_eq!(n.summary, NORMAL);
            assert_eq!(
                unmarkup(lines.get(1).copied().unwrap_or("")),
                EVIL_SOURCE,
                "no pubDate: line 2 is just the source: {n:#?}"
            );
            continue;
        }
        assert!(
            !lines[0].contains("<b>"),
            "the headline has no hits marked: {n:#?}"
        );
        assert_eq!(
            unmarkup(lines[0]),
            EVIL_TITLE,
            "line 1: the escaped headline: {n:#?}"
        );
        assert_source_and_age(&unmarkup(lines.get(1).copied().unwrap_or("")), n);
        let snippet = lines.get(2).copied().unwrap_or("");
        let hits: &[&str] = match n.summary.as_str() {
            LOW => &["Helsinki"],
            NORMAL => &["join", "NATO"],
            _ => &["Finland"],
        };
        for h in hits {
            assert!(
                snippet.contains(&format!("<b>{h}</b>")),
                "line 3: the snippet with {h:?} in <b>: {n:#?}"
            );
        }
        assert!(
            unmarkup(snippet).contains("join NATO & the EU <soon>"),
            "line 3: the snippet's text, escaped: {n:#?}"
        );
    }
    let mut summaries: Vec<&str> = notes.iter().map(|n| n.summary.as_str()).collect();
    summaries.sort_unstable();
    let mut want = vec![LOW, NORMAL, NORMAL, CRITICAL];
    want.sort_unstable();
    assert_eq!(summaries, want, "one notification per (article, topic)");

    // --- a server without body-markup and without actions: plain text, no actions
    s.bus().set_capabilities(&["body"]);
    s.fresh_sandbox();
    let out = s.poll_once().await;
    out.assert_code(0);
    let all = s.notifications();
    let plain = &all[notes.len()..];
    assert_eq!(plain.len(), 4, "{plain:#?}\n{}", out.dump());
    for n in plain {
        assert_common(n);
        assert!(
            n.actions.is_empty(),
            "no actions without the `actions` capability: {n:#?}"
        );
        assert!(!n.body.contains("<b>"), "no markup in a plain body: {n:#?}");
        let lines = n.body_lines();
        if lines[0].contains("Stockholm") {
            assert_eq!(lines.get(1).copied(), Some(EVIL_SOURCE), "{n:#?}");
            continue;
        }
        assert_eq!(
            lines[0], EVIL_TITLE,
            "line 1: the headline as plain text, not escaped: {n:#?}"
        );
        assert_source_and_age(lines.get(1).copied().unwrap_or(""), n);
        assert!(
            lines.get(2).is_some_and(|l| l.contains(EVIL_SUMMARY)),
            "line 3: the snippet as plain text: {n:#?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Actions

/// Under `tidings run`: `ActionInvoked(id, "default")` and `"open"` run the configured opener
/// with the article's link; links that are not http(s) are never opened; `"mute"` makes later
/// alerts of the topic `delivered_via = 'muted'` without a notification, while other topics
/// still notify.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_open_the_article_and_mute_the_topic() {
    const NATO_T: &str = "NATO membership"; // the topic of `wire`
    const TRUCE_T: &str = "Ceasefire";
    let a = Entry::new(
        "nato-a",
        "Finland moves closer to NATO membership",
        "Parliament backs the NATO bid.",
    )
    .link(Some("https://example.com/news/nato-a?id=1&x=y"));
    let a_link = "https://example.com/news/nato-a?id=1&x=y";
    let Some(s) = wire(
        "actions_open_the_article_and_mute",
        std::slice::from_ref(&a),
    )
    .batch_after(100)
    .fake_opener()
    .every("1s")
    .topic(TRUCE_T, "ceasefire")
    .start()
    .await
    else {
        return;
    };

    let mut daemon = s.run();
    let notes = s.wait_for_notifications(1).await;
    let n_a = notes[0].clone();
    assert_eq!(n_a.summary, NATO_T, "{n_a:#?}");
    assert_eq!(
        keys_of(&n_a),
        ["default", "open", "mute", "wrong", "right"],
        "actions of an alert with an http(s) link: {n_a:#?}"
    );

    // The first click is repeated until it has an effect: the daemon subscribes to
    // `ActionInvoked` on its own schedule after connecting.
    s.click_until(&mut daemon, n_a.id, "default", "the opener to run", || {
        !s.opened().is_empty()
    })
    .await;
    for l in s.opened() {
        assert_eq!(
            l, a_link,
            "the opener gets the article's link as its argument"
        );
    }

    // Links that are not http(s); then a barrier alert with a link of its own.
    let js = Entry::new("js", "Ceasefire declared, says a script", "A ceasefire.")
        .link(Some("javascript:alert(document.cookie)"));
    let file = Entry::new("file", "Ceasefire file leaked", "A ceasefire file.")
        .link(Some("file:///etc/passwd"));
    let barrier = Entry::new(
        "barrier",
        "Ceasefire holds for a third day",
        "The ceasefire holds.",
    );
    let barrier_link = barrier.link.clone().unwrap();
    s.serve(
        "/feed.xml",
        rss(
            "Wire",
            &[a.clone(), js.clone(), file.clone(), barrier.clone()],
        ),
    );
    let notes = s.wait_for_notifications(4).await;
    let by_headline = |h: &str| {
        notes
            .iter()
            .find(|n| n.body.contains(h))
            .unwrap_or_else(|| panic!("no notification for {h:?}: {notes:#?}"))
            .clone()
    };
    let (n_js, n_file, n_barrier) = (
        by_headline(&js.title),
        by_headline(&file.title),
        by_headline(&barrier.title),
    );
    for n in [&n_js, &n_file] {
        s.bus().invoke_action(n.id, "default").await;
        s.bus().invoke_action(n.id, "open").await;
    }
    s.bus().invoke_action(n_barrier.id, "open").await;
    wait_until(
        "`open` on the barrier alert to run the opener",
        TIMEOUT,
        || s.opened().contains(&barrier_link).then_some(()),
        || format!("{:?}\n{}", s.opened(), s.describe(&daemon)),
    )
    .await;
    let lines = s.opened();
    assert!(
        lines.iter().all(|l| l == a_link || *l == barrier_link),
        "only http(s) article links are ever opened: {lines:?}"
    );

    // Mute the NATO topic from its notification.
    s.bus().invoke_action(n_a.id, "mute").await;
    let until = wait_until(
        "the NATO topic to be muted",
        TIMEOUT,
        || {
            db::try_query(s.db(), "SELECT topic, until FROM mutes")
                .unwrap_or_default()
                .into_iter()
                .find(|r| r[0].as_deref() == Some(NATO_T))
                .and_then(|r| r[1].clone())
        },
        || s.describe(&daemon),
    )
    .await;
    let until = DateTime::parse_from_rfc3339(&until)
        .expect("mutes.until is RFC 3339")
        .with_timezone(&Utc);
    let ahead = until - Utc::now();
    assert!(
        ahead > chrono::Duration::minutes(55) && ahead <= chrono::Duration::minutes(61),
        "muted for 1 h, until {until}"
    );

    // A new NATO item is recorded as muted and not shown; a ceasefire item still is.
    let muted = Entry::new(
        "nato-muted",
        "NATO summit opens with a membership debate",
        "NATO leaders meet.",
    );
    let still = Entry::new(
        "truce-still",
        "Ceasefire talks move to Geneva",
        "Ceasefire envoys travel.",
    );
    s.serve(
        "/feed.xml",
        rss(
            "Wire",
            &[a.clone(), js, file, barrier, muted.clone(), still.clone()],
        ),
    );
    let notes = s.wait_for_notifications(5).await;
    assert!(
        notes.iter().any(|n| n.body.contains(&still.title)),
        "the other topic still notifies: {notes:#?}"
    );
    let alert = s
        .wait_for_alert("the muted topic's alert to be settled", &daemon, |a| {
            a.title == muted.title && a.delivered_at.is_some()
        })
        .await;
    assert_eq!(
        alert.delivered_via.as_deref(),
        Some("muted"),
        "an alert of a muted topic is recorded as muted: {alert:#?}"
    );
    let notes = s.notifications();
    assert!(
        !notes.iter().any(|n| n.body.contains(&muted.title)),
        "a muted topic was notified: {notes:#?}"
    );
    assert_eq!(notes.len(), 5, "{notes:#?}");
    assert_eq!(
        s.bus().capabilities_asked(),
        1,
        "GetCapabilities is asked once per connection, not per notification"
    );
    daemon.stop().await.assert_code(0);
}

// ---------------------------------------------------------------------------------------------
// 3. Batching and rate limit

/// Six new matching items in one poll become one summary notification ("6 new alerts — …")
/// instead of six; all six are in the history, delivered via the summary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_becomes_one_summary_and_every_alert_stays_in_history() {
    let mut items = nato_items("burst", 4);
    items.push(Entry::new(
        "truce-1",
        "Ceasefire &amp; &lt;truce&gt; agreed in the east",
        "A ceasefire begins at dawn.",
    ));
    items.push(Entry::new(
        "truce-2",
        "Ceasefire violations reported overnight",
        "Both sides accuse each other of breaking the ceasefire.",
    ));
    let Some(s) = wire("a_burst_becomes_one_summary", &items)
        .topic("Ceasefire & truce", "ceasefire")
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
        "6 alerts at once (default batch_after = 3) must be one summary: {notes:#?}\n{}",
        out.dump()
    );
    let summary = &notes[0].summary;
    assert!(
        summary.starts_with("6 new alerts — ")
            && summary.contains("NATO membership (4)")
            && summary.contains("Ceasefire & truce (2)"),
        "summary \"6 new alerts — NATO membership (4), Ceasefire & truce (2)\" (plain text): {:#?}",
        notes[0]
    );
    if let Some(p) = markup_problem(&notes[0].body) {
        panic!(
            "the summary's body is not safe markup ({p}): {:#?}",
            notes[0]
        );
    }
    assert!(
        unmarkup(&notes[0].body).contains("Ceasefire & <truce> agreed"),
        "the summary's body lists headlines, escaped: {:#?}",
        notes[0]
    );
    let out = s.tidings(&["history", "--json", "-n", "100"]).await;
    out.assert_code(0);
    let rows = json_lines(&out);
    assert_eq!(
        rows.len(),
        6,
        "every alert stays in the history\n{}",
        out.dump()
    );
    let mut want: BTreeSet<String> = items.iter().map(|i| i.title.clone()).collect();
    want.remove("Ceasefire &amp; &lt;truce&gt; agreed in the east");
    want.insert("Ceasefire & <truce> agreed in the east".to_owned());
    assert_eq!(titles(&rows), want);
    for a in s.alerts() {
        assert!(
            a.delivered_at.is_some() && a.delivered_via.as_deref() == Some("summary"),
            "each alert is delivered through the summary: {a:#?}"
        );
    }
}

/// `max_per_topic_per_hour = 2`: six alerts of one topic give two notifications of their own
/// and one summary for the other four.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_topic_rate_limit_sends_the_rest_to_a_summary() {
    let items = nato_items("rate", 6);
    let Some(s) = wire("per_topic_rate_limit", &items)
        .batch_after(100)
        .max_per_topic_per_hour(2)
        .start()
        .await
    else {
        return;
    };
    let out = s.poll_once().await;
    out.assert_code(0);
    let notes = s.notifications();
    let singles: Vec<&Notification> = notes
        .iter()
        .filter(|n| n.summary == "NATO membership")
        .collect();
    let summaries: Vec<&Notification> = notes
        .iter()
        .filter(|n| n.summary.starts_with("4 new alerts — NATO membership (4)"))
        .collect();
    assert!(
        notes.len() == 3 && singles.len() == 2 && summaries.len() == 1,
        "2 individual notifications + 1 summary of 4 expected: {notes:#?}\n{}",
        out.dump()
    );
    let alerts = s.alerts();
    assert_eq!(alerts.len(), 6);
    assert!(
        alerts.iter().all(|a| a.delivered_at.is_some()),
        "all six delivered (2 alone, 4 in the summary): {alerts:#?}"
    );
}

/// The rate limit holds across polls of one daemon: with `max_per_topic_per_hour = 2`, the
/// third alert of the topic within the hour goes into a summary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_holds_across_polls_of_the_daemon() {
    let items = nato_items("hourly", 3);
    let Some(s) = wire("rate_limit_holds_across_polls", &items[..1])
        .batch_after(100)
        .max_per_topic_per_hour(2)
        .every("1s")
        .start()
        .await
    else {
        return;
    };
    let daemon = s.run();
    for n in 1..=3 {
        s.serve("/feed.xml", rss("Wire", &items[..n]));
        s.wait_for_notifications(n).await;
    }
    let notes = s.notifications();
    assert_eq!(notes[0].summary, "NATO membership", "{notes:#?}");
    assert_eq!(notes[1].summary, "NATO membership", "{notes:#?}");
    assert!(
        notes[2].summary.starts_with("1 new alert") && notes[2].summary.contains("(1)"),
        "the third alert within the hour is summarised: {notes:#?}\n{}",
        s.describe(&daemon)
    );
    daemon.stop().await.assert_code(0);
}

// ---------------------------------------------------------------------------------------------
// 4. Quiet hours

/// `HH:MM-HH:MM` in UTC, from `now + from` to `now + to`.
fn utc_window(from: chrono::Duration, to: chrono::Duration) -> String {
    let now = Utc::now();
    format!(
        "{}-{}",
        (now + from).format("%H:%M"),
        (now + to).format("%H:%M")
    )
}

/// A routine and an alarming item; the topics `Routine` (normal) and `Alarm` (critical);
/// `quiet_hours = quiet` in the children's local time, which is UTC.
fn quiet_scenario(test: &str, quiet: &str) -> Builder {
    Scenario::builder(test)
        .env("TZ", "UTC")
        .quiet_hours(quiet)
        .feed(
            "/feed.xml",
            "Wire",
            rss(
                "Wire",
                &[
                    Entry::new("routine", "NATO ministers meet", "A routine NATO meeting."),
                    Entry::new(
                        "alarm",
                        "Ceasefire collapses overnight",
                        "The ceasefire has collapsed.",
                    ),
                ],
            ),
        )
        .topic_with_urgency("Routine", "NATO", "normal")
        .topic_with_urgency("Alarm", "ceasefire", "critical")
}

/// Quiet hours around the current time (local time = UTC in the child): a normal topic is
/// held (alert pending, no error), a critical topic notifies. Outside the window both notify.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_hours_hold_all_but_critical_topics() {
    let h = chrono::Duration::hours;
    let quiet = utc_window(h(-1), h(1));
    let Some(mut s) = quiet_scenario("quiet_hours_hold_all_but_critical", &quiet)
        .start()
        .await
    else {
        return;
    };
    let out = s.poll_once().await;
    out.assert_code(0);
    let notes = s.notifications();
    assert_eq!(
        notes.iter().map(|n| n.summary.as_str()).collect::<Vec<_>>(),
        ["Alarm"],
        "during quiet hours {quiet} (UTC) only the critical topic notifies: {notes:#?}\n{}",
        out.dump()
    );
    let alerts = s.alerts();
    let routine = alerts
        .iter()
        .find(|a| a.topic == "Routine")
        .unwrap_or_else(|| panic!("no Routine alert: {alerts:#?}"));
    assert!(
        routine.notify && routine.delivered_at.is_none(),
        "the held alert stays pending: {routine:#?}"
    );

    // The same outside the window: both notify.
    let later = utc_window(h(2), h(3));
    s.fresh_sandbox();
    s.configure(|w| w.setting("quiet_hours", later.as_str()));
    s.poll_once().await.assert_code(0);
    let notes = &s.notifications()[1..];
    let mut got: Vec<&str> = notes.iter().map(|n| n.summary.as_str()).collect();
    got.sort_unstable();
    assert_eq!(
        got,
        ["Alarm", "Routine"],
        "outside quiet hours {later} both topics notify: {notes:#?}"
    );
}

/// When quiet hours end, the daemon summarises what was held in one notification.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_hours_end_releases_held_alerts_as_one_summary() {
    // Quiet hours end at the next full minute at least 30 s away.
    let now = Utc::now();
    let end = {
        use chrono::Timelike;
        let t = now + chrono::Duration::seconds(90);
        t.with_second(0)
            .and_then(|t| t.with_nanosecond(0))
            .expect("a whole minute")
    };
    let quiet = format!(
        "{}-{}",
        (end - chrono::Duration::hours(2)).format("%H:%M"),
        end.format("%H:%M")
    );
    let Some(s) = quiet_scenario("quiet_hours_end_releases", &quiet)
        .start()
        .await
    else {
        return;
    };
    let daemon = s.run();
    let first = s.wait_for_notifications(1).await;
    assert_eq!(first[0].summary, "Alarm", "{first:#?}");
    s.wait_for_alert("the routine alert to be recorded", &daemon, |a| {
        a.topic == "Routine"
    })
    .await;
    assert_eq!(s.notifications().len(), 1, "held during quiet hours");
    let wait = (end - Utc::now()).to_std().unwrap_or_default() + TIMEOUT;
    let notes = s.bus().wait_for_notifications(2, wait).await;
    let at = Utc::now();
    assert!(
        at >= end,
        "notified before the end of quiet hours ({end}): {notes:#?}"
    );
    assert!(
        notes[1].summary.starts_with("1 new alert") && notes[1].summary.contains("Routine (1)"),
        "what was held is summarised when quiet hours end: {notes:#?}"
    );
    daemon.stop().await.assert_code(0);
}

// ---------------------------------------------------------------------------------------------
// 5. No server, then a server

/// `tidings run` on a bus without a notification server: the alert is recorded pending with
/// the reason, retried with backoff and the condition logged once; when the server takes the
/// name, the daemon delivers at once (well before its next retry), exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_alert_is_delivered_once_when_a_server_appears() {
    let a = Entry::new("first", "NATO opens a new office", "NATO expands.");
    let Some(s) = wire(
        "pending_alert_is_delivered_once_when_a_server_appears",
        std::slice::from_ref(&a),
    )
    .notifier(Notifier::Absent)
    .every("1s")
    .start()
    .await
    else {
        return;
    };
    let daemon = s.run();
    // Two failed attempts (the first, and the retry after the backoff).
    let pending = s
        .wait_for_alert("two failed delivery attempts", &daemon, |x| {
            x.attempts >= 2 && x.delivery_error.is_some()
        })
        .await;
    assert!(
        pending.delivered_at.is_none(),
        "not delivered without a server: {pending:#?}"
    );
    let err = daemon.stderr();
    let warned: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("WARN") && l.to_lowercase().contains("notif"))
        .collect();
    assert_eq!(
        warned.len(),
        1,
        "the condition is logged once, not on every attempt: {warned:#?}\n{err}"
    );

    let started = Instant::now();
    s.bus().serve().await.expect("serve notifications");
    let notes = s.wait_for_notifications(1).await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "a server appearing must be noticed at once (NameOwnerChanged), not at the next \
         backoff retry: took {took:?}\n{}",
        s.describe(&daemon)
    );
    assert!(notes[0].body.contains(&a.title), "{notes:#?}");

    // Barrier: a new alert; then the first one must still have been shown only once.
    let b = Entry::new("second", "NATO drills begin", "NATO exercises.");
    s.serve("/feed.xml", rss("Wire", &[a.clone(), b.clone()]));
    let notes = s.wait_for_notifications(2).await;
    let count = |t: &str| notes.iter().filter(|n| n.body.contains(t)).count();
    assert_eq!(
        (count(&a.title), count(&b.title), notes.len()),
        (1, 1, 2),
        "each alert notified exactly once: {notes:#?}"
    );
    s.wait_for_alerts(
        "both alerts to be marked delivered, without an error",
        &daemon,
        |alerts| {
            alerts.len() == 2
                && alerts
                    .iter()
                    .all(|x| x.delivered_at.is_some() && x.delivery_error.is_none())
        },
    )
    .await;
    daemon.stop().await.assert_code(0);
}

/// A notification server that goes away (desktop session restarting) and comes back: the
/// alert raised meanwhile stays pending with an error and is delivered once, at once, when the
/// server is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_goes_away_and_comes_back_gets_the_pending_alert() {
    let a = Entry::new("before", "NATO opens a new office", "NATO expands.");
    let Some(s) = wire(
        "a_server_that_goes_away_and_comes_back",
        std::slice::from_ref(&a),
    )
    .every("1s")
    .start()
    .await
    else {
        return;
    };
    let daemon = s.run();
    s.wait_for_notifications(1).await;

    s.bus().unserve().await;
    let b = Entry::new("meanwhile", "NATO drills begin", "NATO exercises.");
    s.serve("/feed.xml", rss("Wire", &[a.clone(), b.clone()]));
    s.wait_for_alert(
        "the alert raised without a server to fail with an error",
        &daemon,
        |x| x.title == b.title && x.delivery_error.is_some(),
    )
    .await;
    let started = Instant::now();
    s.bus().serve().await.expect("serve notifications again");
    let notes = s.wait_for_notifications(2).await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "the returning server is noticed at once: took {took:?}\n{}",
        s.describe(&daemon)
    );
    assert!(notes[1].body.contains(&b.title), "{notes:#?}");

    // Barrier: one more alert; nothing was shown twice.
    let c = Entry::new("after", "NATO air policing extended", "NATO jets.");
    s.serve("/feed.xml", rss("Wire", &[a.clone(), b.clone(), c.clone()]));
    let notes = s.wait_for_notifications(3).await;
    for t in [&a.title, &b.title, &c.title] {
        assert_eq!(
            notes.iter().filter(|n| n.body.contains(t.as_str())).count(),
            1,
            "{t:?} shown exactly once: {notes:#?}"
        );
    }
    daemon.stop().await.assert_code(0);
}

/// `poll --once` without a bus leaves the alert pending with its error; the next run with a
/// server delivers it once, and later runs (poll or daemon) never show it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_with_pending_alerts_delivers_each_once() {
    let a = Entry::new("pending", "NATO names a new envoy", "NATO envoy.");
    let Some(mut s) = wire("restart_with_pending_alerts", std::slice::from_ref(&a))
        .every("1s")
        .off_bus() // no bus at all, until join_bus
        .start()
        .await
    else {
        return;
    };
    let out = s.poll_once().await;
    out.assert_code(0);
    let alerts = s.alerts();
    assert!(
        alerts.len() == 1 && alerts[0].delivered_at.is_none() && alerts[0].delivery_error.is_some(),
        "pending with a delivery_error: {alerts:#?}\n{}",
        out.dump()
    );

    s.join_bus();
    let out = s.poll_once().await;
    out.assert_code(0);
    let notes = s.notifications();
    assert_eq!(
        notes.len(),
        1,
        "the pending alert is delivered: {notes:#?}\n{}",
        out.dump()
    );
    assert!(notes[0].body.contains(&a.title));
    let alerts = s.alerts();
    assert!(
        alerts[0].delivered_at.is_some() && alerts[0].delivery_error.is_none(),
        "{alerts:#?}"
    );

    s.poll_once().await.assert_code(0);
    assert_eq!(s.notifications().len(), 1, "{:#?}", s.notifications());

    // The daemon: a new item is the barrier; the old alert must not come again.
    let b = Entry::new("after-restart", "NATO drills in the north", "NATO drills.");
    s.serve("/feed.xml", rss("Wire", &[a.clone(), b.clone()]));
    let daemon = s.run();
    let notes = s.wait_for_notifications(2).await;
    assert!(
        notes[1].body.contains(&b.title),
        "the new alert, and the delivered one never again: {notes:#?}"
    );
    s.wait_for_alerts("the new alert to be marked delivered", &daemon, |alerts| {
        alerts.iter().all(|x| x.delivered_at.is_some())
    })
    .await;
    let out = daemon.stop().await;
    out.assert_code(0);

    // Restart by SIGTERM: again only the new item is shown.
    let c = Entry::new("after-sigterm", "NATO air policing extended", "NATO jets.");
    s.serve("/feed.xml", rss("Wire", &[a.clone(), b.clone(), c.clone()]));
    let daemon = s.run();
    let notes = s.wait_for_notifications(3).await;
    let out = daemon.stop().await;
    out.assert_code(0);
    let notes_now = s.notifications();
    assert_eq!(notes_now.len(), 3, "{notes_now:#?}\n{}", out.dump());
    assert!(notes[2].body.contains(&c.title), "{notes_now:#?}");
    for t in [&a.title, &b.title, &c.title] {
        assert_eq!(
            notes_now
                .iter()
                .filter(|n| n.body.contains(t.as_str()))
                .count(),
            1,
            "{t:?} shown exactly once over three restarts: {notes_now:#?}"
        );
    }
}

/// The per-topic hourly limit is about the user's hour, not one process's: a `poll --once`
/// (e.g. from a timer) or a restarted daemon within the hour still counts what was shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_survives_a_restart() {
    let items = nato_items("restart-rate", 3);
    let Some(s) = wire("rate_limit_survives_a_restart", &items[..2])
        .batch_after(100)
        .max_per_topic_per_hour(2)
        .start()
        .await
    else {
        return;
    };
    s.poll_once().await.assert_code(0);
    let notes = s.notifications();
    assert!(
        notes.len() == 2 && notes.iter().all(|n| n.summary == "NATO membership"),
        "two alerts within the limit are shown one by one: {notes:#?}"
    );
    s.serve("/feed.xml", rss("Wire", &items));
    let out = s.poll_once().await;
    out.assert_code(0);
    let notes = s.notifications();
    assert_eq!(notes.len(), 3, "{notes:#?}\n{}", out.dump());
    assert!(
        notes[2].summary != "NATO membership" && notes[2].summary.starts_with("1 new alert"),
        "the third alert of the topic within the hour (max_per_topic_per_hour = 2) goes into a summary, also when it comes from another process: {:#?}",
        notes[2]
    );
}

// ---------------------------------------------------------------------------------------------
// 6. A server that never answers

/// A server that owns the name but never answers `Notify`: `poll --once` does not hang (the
/// call times out after 5 s), prints its summary, and the alert stays pending with an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_does_not_hang_the_poll() {
    let Some(s) = wire(
        "a_server_that_never_answers_does_not_hang_the_poll",
        &[Entry::new("hang", "NATO envoy arrives", "NATO envoy.")],
    )
    .notifier(Notifier::Hanging)
    .start()
    .await
    else {
        return;
    };
    let started = Instant::now();
    let out = s.poll_once().await;
    let took = started.elapsed();
    out.assert_code(0);
    let line = out.line_with("Wire");
    assert!(
        line.starts_with("ok") && line.contains("1 alert"),
        "the poll summary still prints: {line:?}"
    );
    assert!(
        took < Duration::from_secs(25),
        "Notify must time out after 5 s; the poll took {took:?}\n{}",
        out.dump()
    );
    assert!(
        s.bus().unanswered() >= 1,
        "Notify was called (and left unanswered)\n{}",
        out.dump()
    );
    let alerts = s.alerts();
    assert!(
        alerts.len() == 1 && alerts[0].delivered_at.is_none() && alerts[0].delivery_error.is_some(),
        "pending with an error: {alerts:#?}"
    );
}

/// The same under `tidings run`: the daemon keeps polling and recording, and stops promptly
/// on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_does_not_hang_the_daemon() {
    let a = Entry::new("hang-1", "NATO envoy arrives", "NATO envoy.");
    let Some(s) = wire(
        "a_server_that_never_answers_does_not_hang_the_daemon",
        std::slice::from_ref(&a),
    )
    .notifier(Notifier::Hanging)
    .every("1s")
    .start()
    .await
    else {
        return;
    };
    let daemon = s.run();
    s.wait_for_alert("the first alert to fail with an error", &daemon, |x| {
        x.delivery_error.is_some()
    })
    .await;
    let b = Entry::new("hang-2", "NATO envoy leaves", "NATO envoy.");
    s.serve("/feed.xml", rss("Wire", &[a, b.clone()]));
    s.wait_for_alert(
        "the daemon to keep polling and record the next alert",
        &daemon,
        |x| x.title == b.title,
    )
    .await;
    daemon.signal("TERM").await;
    let out = daemon.wait_exit(Duration::from_secs(20)).await;
    out.assert_code(0);
    assert!(
        s.alerts().iter().all(|x| x.delivered_at.is_none()),
        "nothing is marked delivered that the server never accepted"
    );
}

// ---------------------------------------------------------------------------------------------
// 7. One alert per story

/// The same story from two feeds (same link plus `?utm_source=x`, or a near-identical title)
/// is one alert and one notification; `history` names the other source; an edited title on a
/// later poll (same guid) is not a new alert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_alert_per_story_across_feeds() {
    let a1 = Entry::new(
        "a1",
        "Finland applies to join NATO after decades of neutrality",
        "Helsinki submits its NATO application.",
    )
    .link(Some("https://news.example/world/finland-nato-bid"));
    let a2 = Entry::new(
        "a2",
        "Sweden formally applies to join the NATO alliance today",
        "Stockholm follows Helsinki.",
    )
    .link(Some("https://news.example/world/sweden-nato"));
    // Same link with a tracking parameter, other words.
    let b1 = Entry::new(
        "b1",
        "Helsinki hands in its NATO paperwork",
        "The application went in on Wednesday.",
    )
    .link(Some(
        "https://news.example/world/finland-nato-bid?utm_source=x",
    ));
    // Another link, a near-identical title.
    let b2 = Entry::new(
        "b2",
        "Sweden formally applies to join NATO alliance today",
        "Syndicated copy.",
    )
    .link(Some("https://syndicate.example/2022/sweden-joins"));
    // A different story.
    let b3 = Entry::new(
        "b3",
        "NATO summit opens in Madrid with new members",
        "Leaders gather in Madrid.",
    )
    .link(Some("https://syndicate.example/2022/madrid-summit"));
    // An AMP copy of a1 with host case, `www.`, a click id and a fragment, other words.
    let c1 = Entry::new(
        "c1",
        "Nordic neutrality ends as NATO bid lands",
        "Aggregated.",
    )
    .link(Some(
        "https://amp.News.Example/world/finland-nato-bid/amp/?fbclid=abc#top",
    ));
    // Only the Agency feed is watched at first.
    let Some(mut s) = Scenario::builder("one_alert_per_story_across_feeds")
        .batch_after(100)
        .feed(
            "/a.xml",
            "Agency Wire",
            rss("Agency", &[a1.clone(), a2.clone()]),
        )
        .serve(
            "/b.xml",
            rss("Syndicate", &[b1.clone(), b2.clone(), b3.clone()]),
        )
        .serve("/c.xml", rss("Aggregator", std::slice::from_ref(&c1)))
        .topic("NATO membership", "NATO")
        .start()
        .await
    else {
        return;
    };
    s.poll_once().await.assert_code(0);
    assert_eq!(s.notifications().len(), 2, "{:#?}", s.notifications());

    // All three.
    s.add_feed("/b.xml", "Syndicate");
    s.add_feed("/c.xml", "Aggregator");
    let out = s.poll_once().await;
    out.assert_code(0);
    let notes = s.notifications();
    assert_eq!(
        notes.len(),
        3,
        "only the Madrid story is new; the others are the same stories: {:#?}\n{}",
        &notes[2..],
        out.dump()
    );
    assert!(notes[2].body.contains(&b3.title), "{notes:#?}");
    let alerts = s.alerts();
    assert_eq!(
        alerts.len(),
        3,
        "one alert per story and topic: {alerts:#?}"
    );

    // history: "also reported by: ..." under each Agency story.
    let out = s.tidings(&["history", "-n", "100"]).await;
    out.assert_code(0);
    let blocks: Vec<String> = out.stdout.lines().fold(Vec::new(), |mut acc, l| {
        if !l.starts_with(char::is_whitespace) || acc.is_empty() {
            acc.push(String::new());
        }
        let last = acc.last_mut().expect("pushed");
        last.push_str(l);
        last.push('\n');
        acc
    });
    for story in [&a1.title, &a2.title] {
        let block = blocks
            .iter()
            .find(|b| b.contains(story.as_str()))
            .unwrap_or_else(|| panic!("no history entry for {story:?}\n{}", out.dump()));
        let also = block
            .lines()
            .find_map(|l| l.trim().strip_prefix("also reported by: "))
            .unwrap_or_else(|| panic!("history shows the other sources of {story:?}:\n{block}"));
        let want: &[&str] = if story == &a1.title {
            &["Aggregator", "Syndicate"]
        } else {
            &["Syndicate"]
        };
        let mut got: Vec<&str> = also.split(", ").collect();
        got.sort_unstable();
        assert_eq!(got, want, "also reported by, for {story:?}:\n{block}");
    }
    let madrid = blocks
        .iter()
        .find(|b| b.contains(&b3.title))
        .expect("Madrid entry");
    assert!(!madrid.contains("also reported by"), "{madrid}");

    let out = s.tidings(&["history", "--json", "-n", "100"]).await;
    out.assert_code(0);
    let rows = json_lines(&out);
    for r in &rows {
        let title = r["title"].as_str().unwrap_or_default();
        let want: Vec<&str> = if title == b3.title {
            vec![]
        } else if title == a1.title {
            vec!["Aggregator", "Syndicate"]
        } else {
            vec!["Syndicate"]
        };
        let mut got: Vec<String> = serde_json::from_value(r["also_reported_by"].clone())
            .unwrap_or_else(|e| panic!("also_reported_by is a list of names ({e}): {r}"));
        got.sort_unstable();
        assert_eq!(got, want, "also_reported_by of {title:?}: {r}");
    }

    // An edited headline (same guid) on a later poll is the same article.
    let mut edited = a1.clone();
    edited.title = "Finland applies to join NATO after 75 years of neutrality (updated)".into();
    s.serve("/a.xml", rss("Agency", &[edited, a2.clone()]));
    let out = s.poll_once().await;
    out.assert_code(0);
    assert_eq!(
        s.alerts().len(),
        3,
        "an edited title is not a new alert\n{}",
        out.dump()
    );
    assert_eq!(s.notifications().len(), 3, "{:#?}", &s.notifications()[3..]);

    // The same stories arriving through all three feeds in one pass: still one alert each.
    s.fresh_sandbox(); // watching all three
    s.serve("/a.xml", rss("Agency", &[a1.clone(), a2.clone()]));
    let before = s.notifications().len();
    let out = s.poll_once().await;
    out.assert_code(0);
    let alerts = s.alerts();
    assert_eq!(
        alerts.len(),
        3,
        "Finland, Sweden, Madrid: one alert per story when the feeds arrive together: {alerts:#?}"
    );
    assert_eq!(s.notifications().len() - before, 3, "{}", out.dump());
}

// ---------------------------------------------------------------------------------------------
// 8. History, stats and the alert_history view

const AGENCY_NATO: &str = "Finland applies to join NATO";
const AGENCY_TALKS: &str = "Ceasefire talks resume in Istanbul";
const AGENCY_BOTH: &str = "NATO, ceasefire and the \"long\" war";
const SYND_NATO: &str = "Baltic states ask NATO for more air defence";
const SYND_TALKS: &str = "Grain corridor talks stall";

/// Two feeds, two topics, six alerts (one article matches both topics); the first two alerts
/// back-dated to 2025-01-15 and 2025-06-15. No bus: alerts stay pending, which history shows.
async fn history_scenario() -> Scenario {
    let s = Scenario::builder("history")
        .feed(
            "/a.xml",
            "Agency Wire",
            rss(
                "Agency",
                &[
                    Entry::new("h-a1", AGENCY_NATO, "Helsinki applies."),
                    Entry::new("h-a2", AGENCY_TALKS, "Negotiators meet again."),
                    Entry::new(
                        "h-a3",
                        AGENCY_BOTH,
                        "An analysis, with commas, and \"quotes\".",
                    ),
                ],
            ),
        )
        .feed(
            "/b.xml",
            "Syndicate",
            rss(
                "Syndicate",
                &[
                    Entry::new("h-b1", SYND_NATO, "Estonia, Latvia and Lithuania ask."),
                    Entry::new("h-b2", SYND_TALKS, "Talks over grain exports stall."),
                ],
            ),
        )
        .topic("NATO membership", "NATO")
        .topic("Peace talks", "ceasefire OR talks")
        .start_without_bus()
        .await;
    s.poll_once().await.assert_code(0);
    assert_eq!(s.alerts().len(), 6, "{:#?}", s.alerts());
    for (title, at) in [
        (AGENCY_NATO, "2025-01-15T12:00:00Z"),
        (AGENCY_TALKS, "2025-06-15T12:00:00Z"),
    ] {
        let n = db::execute(
            s.db(),
            &format!(
                "UPDATE alerts SET created_at = '{at}' \
                 WHERE article_id = (SELECT id FROM articles WHERE title = '{title}')"
            ),
        );
        assert_eq!(n, 1, "back-date the alert of {title:?}");
    }
    s
}

/// `history --json -n 100 ARGS...`: its rows and its output.
async fn history_json(s: &Scenario, args: &[&str]) -> (Vec<serde_json::Value>, Output) {
    let mut all = vec!["history", "--json", "-n", "100"];
    all.extend_from_slice(args);
    let out = s.tidings(&all).await;
    out.assert_code(0);
    (json_lines(&out), out)
}

/// `history` with `--topic`, `--feed`, `--since`, `--until`, `--search`, `--limit`, `--json`
/// (one object per line, newest first), `--csv` (header + rows, quoted), `--explain`; and
/// `stats --days 7` with one line per topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_filters_formats_and_stats() {
    let s = history_scenario().await;
    let json = |args: &'static [&'static str]| history_json(&s, args);

    let (all, out) = json(&[]).await;
    assert_eq!(all.len(), 6, "{}", out.dump());
    for r in &all {
        for key in [
            "topic",
            "source",
            "title",
            "link",
            "created_at",
            "delivered_at",
            "also_reported_by",
        ] {
            assert!(
                r.get(key).is_some(),
                "history --json row without {key:?}: {r}"
            );
        }
    }
    let times: Vec<&str> = all
        .iter()
        .map(|r| r["created_at"].as_str().unwrap_or_default())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    assert_eq!(
        all.last().map(|r| r["title"].as_str()),
        Some(Some(AGENCY_NATO)),
        "the oldest alert comes last"
    );

    let (rows, _) = json(&["--topic", "Peace talks"]).await;
    assert_eq!(titles(&rows), set(&[AGENCY_TALKS, AGENCY_BOTH, SYND_TALKS]));
    assert!(rows.iter().all(|r| r["topic"] == "Peace talks"));

    let (rows, _) = json(&["--feed", "syndic"]).await;
    assert_eq!(
        titles(&rows),
        set(&[SYND_NATO, SYND_TALKS]),
        "--feed, any case"
    );
    assert!(rows.iter().all(|r| r["source"] == "Syndicate"));

    let (rows, _) = json(&["--since", "2025-03-01", "--until", "2025-12-31"]).await;
    assert_eq!(titles(&rows), set(&[AGENCY_TALKS]), "--since/--until dates");
    let (rows, _) = json(&["--until", "2025-03-01"]).await;
    assert_eq!(titles(&rows), set(&[AGENCY_NATO]));
    let (rows, _) = json(&["--since", "24h"]).await;
    assert_eq!(
        titles(&rows),
        set(&[AGENCY_BOTH, SYND_NATO, SYND_TALKS]),
        "--since 24h"
    );
    assert_eq!(rows.len(), 4, "AGENCY_BOTH alerts for two topics");

    let (rows, _) = json(&["--search", "air DEFENCE"]).await;
    assert_eq!(
        titles(&rows),
        set(&[SYND_NATO]),
        "--search: every word, any case"
    );
    let (rows, _) = json(&["--search", "ceasefire istanbul"]).await;
    assert_eq!(titles(&rows), set(&[AGENCY_TALKS]));
    let (rows, _) = json(&["--search", "exports"]).await;
    assert_eq!(
        titles(&rows),
        set(&[SYND_TALKS]),
        "--search looks in the summary too"
    );

    let out = s.tidings(&["history", "--json", "--limit", "2"]).await;
    out.assert_code(0);
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 2, "--limit 2: {}", out.dump());
    assert_eq!(rows[..], all[..2], "--limit keeps the newest");

    // CSV: a header, then one row per alert, quoted where needed.
    let out = s.tidings(&["history", "--csv", "-n", "100"]).await;
    out.assert_code(0);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(out.stdout.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap_or_else(|e| panic!("CSV header: {e}\n{}", out.dump()))
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header.get(..6),
        Some(&["time", "topic", "source", "headline", "link", "delivered"].map(String::from)[..]),
        "CSV columns: time, topic, source, headline, link, delivered: {header:?}"
    );
    let records: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("CSV rows: {e}\n{}", out.dump()));
    assert_eq!(records.len(), 6, "{}", out.dump());
    assert!(
        records.iter().all(|r| r.len() == header.len()),
        "every row has every column"
    );
    assert_eq!(
        records.iter().filter(|r| &r[3] == AGENCY_BOTH).count(),
        2,
        "a headline with a comma and quotes survives CSV quoting: {}",
        out.dump()
    );

    // --explain: the terms that fired and the snippet with the hits marked.
    let out = s
        .tidings(&[
            "history",
            "--explain",
            "--topic",
            "NATO membership",
            "--search",
            "Baltic",
        ])
        .await;
    out.assert_code(0);
    assert!(
        out.stdout.contains(SYND_NATO)
            && out
                .stdout
                .lines()
                .any(|l| l.contains("terms") && l.contains("NATO"))
            && out.stdout.contains("«NATO»"),
        "--explain shows the terms and the snippet with the hits marked\n{}",
        out.dump()
    );

    // The human listing: time, topic, source, headline, link and delivery state.
    let out = s.tidings(&["history", "-n", "100"]).await;
    out.assert_code(0);
    let line = out.line_with(SYND_NATO);
    assert!(
        line.contains("NATO membership") && line.contains("Syndicate"),
        "topic and source on the headline's line: {line:?}"
    );
    assert!(
        out.stdout.contains("https://example.com/news/h-b1"),
        "the link is shown\n{}",
        out.dump()
    );

    // A bad time is a usage error.
    let out = s.tidings(&["history", "--since", "last tuesdayish"]).await;
    out.assert_code(2);

    // stats: one line per topic with the alerts of the last 7 days (the back-dated ones are
    // older).
    let out = s.tidings(&["stats", "--days", "7"]).await;
    out.assert_code(0);
    for topic in ["NATO membership", "Peace talks"] {
        let lines: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| l.starts_with(topic))
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "one stats line for {topic:?}\n{}",
            out.dump()
        );
        assert_eq!(
            lines[0].split_whitespace().last(),
            Some("2"),
            "two alerts of {topic:?} in the last 7 days: {:?}",
            lines[0]
        );
    }
}

/// The `alert_history` view read with the `sqlite3` CLI while `tidings run` polls and writes:
/// every read succeeds, the daemon keeps working, and the view has one row per alert with
/// topic, source, title, link and delivered_at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_history_view_is_readable_by_sqlite3_while_the_daemon_writes() {
    let Some(sqlite3) = find_on_path("sqlite3") else {
        assert!(!crate::support::in_ci(), "sqlite3 CLI not found (CI=true)");
        crate::support::skipped("sqlite3 not found (alert_history_view_is_readable)");
        return;
    };
    let items = nato_items("view", 5);
    let Some(s) = wire("alert_history_view_is_readable", &items[..1])
        .batch_after(100)
        .every("1s")
        .start()
        .await
    else {
        return;
    };
    let sql = "SELECT alert_id, topic, source, title, link, delivered_at FROM alert_history \
               ORDER BY alert_id";
    let read = |sql: &str| {
        let (sqlite3, db, sql) = (sqlite3.clone(), s.db().to_owned(), sql.to_owned());
        async move {
            let out = tokio::time::timeout(
                TIMEOUT,
                tokio::process::Command::new(&sqlite3)
                    .arg("-bail")
                    .arg("-json")
                    .arg(&db)
                    .arg(&sql)
                    .kill_on_drop(true)
                    .output(),
            )
            .await
            .expect("sqlite3 finished")
            .expect("run sqlite3");
            assert!(
                out.status.success(),
                "sqlite3 failed while the daemon runs: {}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if text.trim().is_empty() {
                return Vec::new();
            }
            serde_json::from_str::<Vec<serde_json::Value>>(&text)
                .unwrap_or_else(|e| panic!("sqlite3 -json output ({e}): {text}"))
        }
    };

    let mut daemon = s.run();
    // The daemon creates the database; a `sqlite3` started before would create an empty one.
    wait_until(
        "the daemon to create the database",
        TIMEOUT,
        || db::try_query(s.db(), "SELECT 1 FROM alert_history LIMIT 1").ok(),
        || s.describe(&daemon),
    )
    .await;
    let mut reads = 0;
    for n in 1..=items.len() {
        s.serve("/feed.xml", rss("Wire", &items[..n]));
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let rows = read(sql).await;
            reads += 1;
            if rows.len() >= n && rows.iter().all(|r| !r["delivered_at"].is_null()) {
                break;
            }
            assert!(
                daemon.is_running() && Instant::now() < deadline,
                "waiting for {n} delivered alerts in alert_history: {rows:#?}\n{}",
                s.describe(&daemon)
            );
            tokio::time::sleep(POLL_EVERY).await;
        }
    }
    let rows = read(sql).await;
    let alerts = read("SELECT count(*) AS n FROM alerts").await;
    assert_eq!(
        serde_json::json!(rows.len()),
        alerts[0]["n"],
        "one view row per alert"
    );
    assert_eq!(rows.len(), items.len(), "{rows:#?}");
    for (r, item) in rows.iter().zip(&items) {
        assert_eq!(r["topic"], "NATO membership", "{r}");
        assert_eq!(r["source"], "Wire", "{r}");
        assert_eq!(r["title"].as_str(), Some(item.title.as_str()), "{r}");
        assert_eq!(r["link"].as_str(), item.link.as_deref(), "{r}");
        let at = r["delivered_at"].as_str().unwrap_or_default();
        assert!(
            DateTime::parse_from_rfc3339(at).is_ok(),
            "delivered_at is RFC 3339: {r}"
        );
    }
    assert!(reads >= items.len(), "read while the daemon worked");
    let out = daemon.stop().await;
    out.assert_code(0);
    let err = out.stderr.to_lowercase();
    assert!(
        !err.contains("locked") && !err.contains("busy") && !err.contains("error"),
        "the daemon met no lock while sqlite3 read:\n{}",
        out.stderr
    );
    assert_eq!(s.notifications().len(), items.len());
}

/// The summary's default action opens the newest of the summarised articles (never an older
/// one) with the configured opener.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_default_action_opens_the_newest_article() {
    let items: Vec<Entry> = nato_items("summary-open", 4)
        .into_iter()
        .enumerate()
        .map(|(i, e)| e.published(Some(Utc::now() - chrono::Duration::minutes(40 - i as i64))))
        .collect();
    let newest = items[3].link.clone().expect("link");
    let Some(s) = wire("summary_default_action", &items)
        .fake_opener()
        .every("1s")
        .start()
        .await
    else {
        return;
    };
    let mut daemon = s.run();
    let notes = s.wait_for_notifications(1).await;
    assert!(
        notes[0].summary.starts_with("4 new alerts"),
        "4 alerts at once are one summary: {notes:#?}"
    );
    assert!(
        keys_of(&notes[0]).contains(&"default"),
        "the summary has a default action: {notes:#?}"
    );
    s.click_until(
        &mut daemon,
        notes[0].id,
        "default",
        "the summary's default action to run the opener",
        || !s.opened().is_empty(),
    )
    .await;
    let lines = s.opened();
    let older: Vec<String> = items[..3].iter().filter_map(|i| i.link.clone()).collect();
    assert!(
        lines.iter().all(|l| !older.contains(l)),
        "an older article was opened instead of the newest: {lines:?}"
    );
    assert!(
        lines.iter().all(|l| *l == newest),
        "the newest article is opened: {lines:?}, newest {newest}"
    );
    daemon.stop().await.assert_code(0);
}

/// Retention under `tidings run`: articles older than `keep_articles` without alerts are
/// pruned, alerts (and their articles) are kept unless `keep_alerts` is set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_prunes_old_articles_and_alerts_only_when_set() {
    let old_alerted = Entry::new("ret-old-alert", "NATO archive story", "NATO, long ago.");
    let old_plain = Entry::new("ret-old-plain", "Local bakery wins a prize", "Bread.");
    let recent = Entry::new("ret-recent", "NATO story of today", "NATO today.");
    let mut s = wire(
        "retention",
        &[old_alerted.clone(), old_plain.clone(), recent.clone()],
    )
    .start_without_bus() // retention does not need one
    .await;
    s.poll_once().await.assert_code(0);
    assert_eq!(db::articles(s.db()).len(), 3);
    // Everything first seen 400 days ago; the archive story's alert too.
    db::execute(
        s.db(),
        "UPDATE articles SET first_seen_at = '2020-01-01T00:00:00Z'",
    );
    db::execute(
        s.db(),
        &format!(
            "UPDATE alerts SET created_at = '2020-01-01T00:00:00Z' WHERE article_id = \
             (SELECT id FROM articles WHERE title = '{}')",
            old_alerted.title
        ),
    );
    let titles_now = |s: &Scenario| -> BTreeSet<String> {
        db::articles(s.db()).into_iter().map(|(_, t)| t).collect()
    };

    // keep_articles only: the old article without an alert goes; alerts stay.
    s.configure(|w| w.setting("keep_articles", "30d"));
    let daemon = s.run();
    wait_until(
        "the old article without an alert to be pruned",
        TIMEOUT,
        || (!titles_now(&s).contains(&old_plain.title)).then_some(()),
        || format!("{:?}\n{}", titles_now(&s), s.describe(&daemon)),
    )
    .await;
    daemon.stop().await.assert_code(0);
    assert_eq!(
        titles_now(&s),
        set(&[&old_alerted.title, &recent.title]),
        "articles with alerts are kept"
    );
    assert_eq!(
        s.alerts().len(),
        2,
        "alerts are kept unless keep_alerts is set"
    );

    // keep_alerts: the old alert goes, and with it its article.
    s.configure(|w| w.setting("keep_alerts", "365d"));
    let daemon = s.run();
    s.wait_for_alerts("the old alert to be pruned", &daemon, |alerts| {
        alerts.len() == 1
    })
    .await;
    daemon.stop().await.assert_code(0);
    assert_eq!(s.alerts()[0].title, recent.title);
    assert_eq!(
        titles_now(&s),
        set(&[&recent.title]),
        "the pruned alert's old article goes too"
    );
}
