//! Marks: the user says an alert was right or wrong for its topic — with `tidings mark ID
//! right|wrong` or from the notification's "Relevant"/"Not relevant" actions — and the mark is
//! stored in `marks` (one per topic and article, the latest) and shown by `history`.
//!
//! `tidings` runs as a child process against the loopback HTTP server, a SQLite file in a temp
//! dir and, for the actions, a private D-Bus with the recording notification server. Nothing
//! sleeps to synchronise: every wait polls a condition under a deadline.

use crate::support::TIMEOUT;
use crate::support::cli::{Daemon, Output, wait_until};
use crate::support::db;
use crate::support::feeds::{self, Item};
use crate::support::http::Response;
use crate::support::scenario::{Builder, Scenario};

const TOPIC: &str = "NATO membership";

/// Two NATO headlines on one wire, for the tests of marks (here and in `review_tui.rs`).
pub(crate) fn finland() -> Item {
    Item::new(
        "marks-finland",
        "Finland applies to join NATO",
        "Helsinki sends its application to Brussels.",
    )
}

pub(crate) fn sweden() -> Item {
    Item::new(
        "marks-sweden",
        "Sweden weighs a NATO bid",
        "Stockholm parties debate the alliance.",
    )
}

pub(crate) fn feed(items: &[Item]) -> Response {
    Response::ok(feeds::rss("Wire", items)).content_type("application/rss+xml; charset=utf-8")
}

/// Every row of `marks`: (topic, label, title, summary, via, alert_id, article_id).
fn marks(s: &Scenario) -> Vec<db::Row> {
    db::query(
        s.db(),
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
    let s = Scenario::builder("mark_command_records_replaces_and_history_shows_it")
        .feed("/feed.xml", "Wire", feed(&[finland(), sweden()]))
        .topic(TOPIC, "NATO")
        .start_without_bus()
        .await;
    s.poll_once().await.assert_code(0);
    let fin = s.alert_id(&finland().title);
    let swe = s.alert_id(&sweden().title);

    let out = s.tidings(&["mark", &fin.to_string(), "wrong"]).await;
    out.assert_code(0);
    let line = out.line_with("marked wrong");
    assert!(
        line.starts_with(&format!("alert {fin} ({TOPIC}): marked wrong")),
        "{line:?}"
    );
    let rows = marks(&s);
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
    let out = s.tidings(&["history"]).await;
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
    let out = s.tidings(&["history", "--json"]).await;
    out.assert_code(0);
    for row in json_rows(&out) {
        let want = if row["id"] == fin {
            serde_json::json!("wrong")
        } else {
            serde_json::Value::Null
        };
        assert_eq!(row["mark"], want, "{row}");
    }
    let out = s.tidings(&["history", "--csv"]).await;
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
    let out = s.tidings(&["mark", "999999", "wrong"]).await;
    out.assert_code(1);
    assert!(out.stderr.contains("999999"), "{}", out.dump());
    for args in [
        &["mark", &fin.to_string(), "maybe"][..],
        &["mark", "forty-two", "wrong"],
        &["mark", &fin.to_string()],
    ] {
        s.tidings(args).await.assert_code(2);
    }

    // Marking again replaces the mark.
    let out = s.tidings(&["mark", &fin.to_string(), "right"]).await;
    out.assert_code(0);
    assert!(
        out.stdout.contains("marked right (was wrong)"),
        "{}",
        out.dump()
    );
    let rows = marks(&s);
    assert_eq!(rows.len(), 1, "still one mark for the alert: {rows:?}");
    assert_eq!(rows[0][1].as_deref(), Some("1"), "{rows:?}");
    let out = s.tidings(&["history"]).await;
    assert!(
        out.line_with(&finland().title).contains("✓ right"),
        "{}",
        out.dump()
    );
    let view = db::query(
        s.db(),
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
    let Some(s) = Scenario::builder("the_wrong_action_marks_the_alert")
        .batch_after(100)
        .feed("/feed.xml", "Wire", feed(&[finland()]))
        .every("1s")
        .topic(TOPIC, "NATO")
        .start()
        .await
    else {
        return;
    };
    let mut daemon = s.run();
    let notes = s.wait_for_notifications(1).await;
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
    let alert = s.alert_id(&finland().title);

    // Repeated until it has an effect: the daemon may not listen yet for the first one
    // (marking wrong twice is still one mark).
    s.click_until(&mut daemon, n.id, "wrong", "the alert to be marked", || {
        !marks(&s).is_empty()
    })
    .await;
    let row = marks(&s).remove(0);
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
    let out = s.tidings(&["mark", &alert.to_string(), "right"]).await;
    out.assert_code(0);
    let rows = marks(&s);
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

// ---------------------------------------------------------------------------------------------
// Marks reach the model.

/// Examples for [`TOPIC`] under the query `NATO`: 4 right (joining), 4 wrong (the headquarters'
/// daily life). [`finland`] is not among them and scores high; [`canteen`] scores low.
const EXAMPLES: &str = "label\ttitle\tsummary\n\
    1\tSweden applies to join NATO\tStockholm sends its membership application.\n\
    1\tUkraine asks to join NATO\tKyiv sends a membership application to the alliance.\n\
    1\tGeorgia hopes to join NATO soon\tTbilisi wants membership of the alliance.\n\
    1\tMoldova debates whether to join NATO\tChisinau weighs a membership application.\n\
    0\tNATO summit dinner menu revealed\tChefs prepare the meal for the summit.\n\
    0\tNATO headquarters car park closes\tStaff at the headquarters are told to take the bus.\n\
    0\tNATO staff football team loses again\tThe headquarters team lost the match.\n\
    0\tNATO building gets new windows\tRenovation of the headquarters continues.\n";

/// A topic that does not learn, with the same query.
const PLAIN: &str = "Alliance";

/// Matched by the query, refused by the model.
fn canteen() -> Item {
    Item::new(
        "marks-canteen",
        "NATO canteen menu changes",
        "The headquarters staff get a new meal.",
    )
}

/// Matched by no query: a false negative the user can still mark.
fn helsinki() -> Item {
    Item::new(
        "marks-helsinki",
        "Helsinki votes on alliance bid",
        "Parliament backs the application.",
    )
}

/// `examples.tsv` ([`EXAMPLES`]) beside the watch-list; the feed "Wire" serving `items`;
/// [`TOPIC`] learning from the examples, and (if `plain`) [`PLAIN`].
fn learning(test: &str, items: &[Item], plain: bool) -> Builder {
    let b = Scenario::builder(test)
        .file("examples.tsv", EXAMPLES)
        .batch_after(100)
        .feed("/feed.xml", "Wire", feed(items))
        .topic_learning(TOPIC, "NATO", &["examples.tsv"]);
    if plain { b.topic(PLAIN, "NATO") } else { b }
}

/// The log line of a load of the watch-list for [`TOPIC`].
fn learns(examples: usize, right: usize, wrong: usize, marks: usize) -> String {
    format!(
        "topic \"{TOPIC}\" learns from {examples} examples ({right} right, {wrong} wrong), \
         {marks} of them marks"
    )
}

/// A learned topic's alert keeps the model's verdict: `history --json` has its score (at least
/// the threshold) and reasons, null for a topic that does not learn; `history --explain` prints
/// the `model:` line. `match --history --json` gives every stored article's id, and
/// `tidings mark --article ID --topic NAME` marks one that never alerted (via 'cli', no alert),
/// which the next load learns from; an unknown topic is a usage error, an unknown article a
/// failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learned_alerts_explain_their_score_and_match_lets_articles_be_marked() {
    let s = learning(
        "learned_alerts_explain_their_score",
        &[finland(), canteen(), helsinki()],
        true,
    )
    .start_without_bus()
    .await;
    let out = s.poll_once().await;
    out.assert_code(0);
    assert!(out.stderr.contains(&learns(8, 4, 4, 0)), "{}", out.dump());

    // The query proposes, the model decides: the canteen alerts only the plain topic.
    let alerts = db::query(
        s.db(),
        "SELECT al.topic, ar.title FROM alerts al JOIN articles ar ON ar.id = al.article_id \
         ORDER BY al.topic, ar.title",
    );
    let row = |topic: &str, item: Item| vec![Some(topic.to_string()), Some(item.title)];
    assert_eq!(
        alerts,
        [
            row(PLAIN, finland()),
            row(PLAIN, canteen()),
            row(TOPIC, finland())
        ],
        "{}",
        out.dump()
    );

    let out = s.tidings(&["history", "--json"]).await;
    out.assert_code(0);
    let rows = json_rows(&out);
    assert_eq!(rows.len(), 3, "{}", out.dump());
    for row in &rows {
        if row["topic"] == TOPIC {
            let score = row["score"].as_f64().unwrap_or_else(|| panic!("{row}"));
            assert!((0.5..=1.0).contains(&score), "{row}");
            let reasons = row["reasons"].as_array().unwrap_or_else(|| panic!("{row}"));
            assert!(
                !reasons.is_empty()
                    && reasons
                        .iter()
                        .all(|r| r[0].is_string() && r[1].as_f64().is_some_and(|c| c > 0.0)),
                "{row}"
            );
        } else {
            assert!(row["score"].is_null() && row["reasons"].is_null(), "{row}");
        }
    }
    let out = s.tidings(&["history", "--explain"]).await;
    out.assert_code(0);
    let line = out.line_with("model: score");
    assert!(
        line.starts_with("    model: score 0.") && line.contains(" ≥ 0.50 — "),
        "{line:?}\n{}",
        out.dump()
    );

    // Every stored article with its id.
    let out = s.tidings(&["match", "--history", "--json"]).await;
    out.assert_code(0);
    let entries = json_rows(&out);
    assert_eq!(entries.len(), 3, "{}", out.dump());
    let id_of = |title: &str| {
        let e = entries
            .iter()
            .find(|e| e["title"] == title)
            .unwrap_or_else(|| panic!("no {title:?}\n{}", out.dump()));
        e["article_id"].as_i64().unwrap_or_else(|| panic!("{e}"))
    };
    let missed = id_of(&helsinki().title);
    let stored = db::query(
        s.db(),
        &format!("SELECT title FROM articles WHERE id = {missed}"),
    );
    assert_eq!(stored, [vec![Some(helsinki().title)]]);

    let out = s
        .tidings(&[
            "mark",
            "--article",
            &missed.to_string(),
            "--topic",
            TOPIC,
            "right",
        ])
        .await;
    out.assert_code(0);
    assert!(
        out.line_with("marked right")
            .starts_with(&format!("article {missed} ({TOPIC}): marked right")),
        "{}",
        out.dump()
    );
    let rows = marks(&s);
    assert_eq!(
        rows,
        [vec![
            Some(TOPIC.to_string()),
            Some("1".into()),
            Some(helsinki().title),
            Some(helsinki().description),
            Some("cli".into()),
            None,
            Some(missed.to_string()),
        ]]
    );
    let out = s
        .tidings(&[
            "mark",
            "--article",
            &missed.to_string(),
            "--topic",
            "Nope",
            "right",
        ])
        .await;
    out.assert_code(2);
    assert!(out.stderr.contains("Nope"), "{}", out.dump());
    let out = s
        .tidings(&["mark", "--article", "999999", "--topic", TOPIC, "right"])
        .await;
    out.assert_code(1);
    assert!(out.stderr.contains("999999"), "{}", out.dump());
    assert_eq!(marks(&s).len(), 1);

    // The next load learns from it.
    let out = s.tidings(&["match", "--history", "--json"]).await;
    out.assert_code(0);
    assert!(out.stderr.contains(&learns(9, 5, 4, 1)), "{}", out.dump());
}

/// Under `tidings run`: start-up logs what the topic learns from; `tidings mark ID wrong` on its
/// alert, then SIGHUP, and the reloaded model has one example more, the mark.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_line_mark_reaches_the_model_at_the_next_reload() {
    let s = learning("a_command_line_mark_reaches_the_model", &[finland()], false)
        .start_without_bus()
        .await;
    let mut daemon = s.run();
    daemon.wait_stderr(&learns(8, 4, 4, 0), TIMEOUT).await;
    let alert = wait_until(
        "the alert",
        TIMEOUT,
        || {
            (db::count(s.db(), "SELECT COUNT(*) FROM alerts") == 1)
                .then(|| s.alert_id(&finland().title))
        },
        || daemon.stderr(),
    )
    .await;

    s.tidings(&["mark", &alert.to_string(), "wrong"])
        .await
        .assert_code(0);
    assert!(
        !daemon.stderr().contains(&learns(9, 4, 5, 1)),
        "not before the reload"
    );
    daemon.signal("HUP").await;
    daemon.wait_stderr(&learns(9, 4, 5, 1), TIMEOUT).await;
    let err = daemon.wait_stderr("watch-list reloaded", TIMEOUT).await;
    assert_eq!(
        err.matches("learns from").count(),
        err.matches("watch-list reloaded").count() + 1,
        "one line per load:\n{err}"
    );
    assert_running(&mut daemon);
    daemon.stop().await.assert_code(0);
}

/// The same through the notification: its body gives the score, its "Not relevant" action
/// marks the alert, and the reload after SIGHUP learns from the mark.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_mark_reaches_the_model_at_the_next_reload() {
    let Some(s) = learning("a_notification_mark_reaches_the_model", &[finland()], false)
        .start()
        .await
    else {
        return;
    };
    let mut daemon = s.run();
    daemon.wait_stderr(&learns(8, 4, 4, 0), TIMEOUT).await;
    let notes = s.wait_for_notifications(1).await;
    let n = notes[0].clone();
    assert_eq!(n.summary, TOPIC, "{n:#?}");
    let source_line = n.body_lines().get(1).map(|l| l.to_string());
    assert!(
        source_line
            .as_deref()
            .is_some_and(|l| l.starts_with("Wire") && l.contains(" · score 0.")),
        "{n:#?}"
    );

    // Repeated until it has an effect: the daemon may not listen yet for the first one.
    s.click_until(&mut daemon, n.id, "wrong", "the alert to be marked", || {
        !marks(&s).is_empty()
    })
    .await;
    let rows = marks(&s);
    assert_eq!(
        (rows[0][1].as_deref(), rows[0][4].as_deref()),
        (Some("0"), Some("notification")),
        "{rows:?}"
    );
    daemon.signal("HUP").await;
    daemon.wait_stderr(&learns(9, 4, 5, 1), TIMEOUT).await;
    assert_running(&mut daemon);
    daemon.stop().await.assert_code(0);
}

/// Trained models are kept beside the database: a second `poll --once` with the same examples
/// reads its model instead of training it, and a mark (new examples) trains a new one. A model
/// read back scores exactly as the one trained: the same score, to the last bit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_are_kept_beside_the_database_until_the_examples_change() {
    let s = learning("models_are_kept_beside_the_database", &[finland()], false)
        .start_without_bus()
        .await;
    let trained = format!("{}; model trained", learns(8, 4, 4, 0));
    let cached = format!("{}; model read from the cache", learns(8, 4, 4, 0));

    let out = s.poll_once().await;
    out.assert_code(0);
    assert!(out.stderr.contains(&trained), "{}", out.dump());
    let models = s.db().with_file_name("models");
    assert_eq!(std::fs::read_dir(&models).unwrap().count(), 1);

    let out = s.poll_once().await;
    out.assert_code(0);
    assert!(out.stderr.contains(&cached), "{}", out.dump());

    // `match` reads the cache but writes none: with the folder gone it trains, keeps nothing,
    // and scores the stored article exactly as the cached model did.
    let score = |out: &Output| {
        assert!(out.code == Some(0), "{}", out.dump());
        json_rows(out)[0]["topics"][0]["score"].to_string()
    };
    let out = s.tidings(&["match", "--history", "--json"]).await;
    assert!(out.stderr.contains(&cached), "{}", out.dump());
    let from_cache = score(&out);
    let aside = s.db().with_file_name("models-aside");
    std::fs::rename(&models, &aside).unwrap();
    let out = s.tidings(&["match", "--history", "--json"]).await;
    assert!(out.stderr.contains(&trained), "{}", out.dump());
    assert_eq!(score(&out), from_cache, "bit for bit");
    assert!(!models.exists(), "match keeps no model");
    std::fs::rename(&aside, &models).unwrap();

    let alert = s.alert_id(&finland().title);
    s.tidings(&["mark", &alert.to_string(), "right"])
        .await
        .assert_code(0);
    let out = s.poll_once().await;
    out.assert_code(0);
    assert!(
        out.stderr
            .contains(&format!("{}; model trained", learns(9, 5, 4, 1))),
        "{}",
        out.dump()
    );
    assert_eq!(std::fs::read_dir(&models).unwrap().count(), 2);
}
