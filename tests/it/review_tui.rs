//! `tidings review`, the full-screen review of alerts, driven as a person would: the real
//! binary in a pseudo-terminal of 80×24 ([`Pty`]), keys typed into it, and the screen read
//! back through a terminal emulator. The database comes from `tidings poll --once` against
//! the loopback HTTP server; the mark made in the UI is then checked in the `marks` table and
//! in `tidings history`.
//!
//! Every wait reads the terminal until the parsed screen says what is awaited, under a
//! deadline that fails the test with the last screen. Nothing sleeps.

use std::time::Duration;

use crate::marks::{feed, finland, sweden};
use crate::support::db;
use crate::support::pty::{self, Pty, keys};
use crate::support::scenario::Scenario;

const TOPIC: &str = "NATO membership";
/// The terminal's size.
const ROWS: u16 = 24;
const COLS: u16 = 80;
/// How long one step may take (start-up, a key's effect, the exit).
const WAIT: Duration = Duration::from_secs(20);

/// Whether any row of the screen contains `needle`.
fn shows(screen: &vt100::Screen, needle: &str) -> bool {
    pty::lines(screen).iter().any(|l| l.contains(needle))
}

/// The row that shows `needle`, if one does.
fn row_with(screen: &vt100::Screen, needle: &str) -> Option<String> {
    pty::lines(screen).into_iter().find(|l| l.contains(needle))
}

/// `tidings review` in an 80×24 terminal on the scenario's database and watch-list.
fn review(s: &Scenario) -> Pty {
    let db = s.db().display().to_string();
    let config = s.sb.config.display().to_string();
    let (mut cmd, _) =
        s.sb.command(&["review", "--db", db.as_str(), "--config", config.as_str()]);
    cmd.env("TERM", "xterm-256color")
        // The size is the terminal's, not what a parent shell exported.
        .env_remove("COLUMNS")
        .env_remove("LINES");
    Pty::spawn(cmd.as_std(), ROWS, COLS)
}

/// Two alerts from a poll; in the review, `/finland` + Enter leaves Finland's alone, `n`
/// marks it wrong (the row says so), `q` exits 0; the mark is in `marks` (label 0, via
/// 'review', linked to the alert) and `tidings history` shows it on that alert only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_filters_marks_wrong_and_history_shows_it() {
    let s = Scenario::builder("review_filters_marks_wrong_and_history_shows_it")
        .feed("/feed.xml", "Wire", feed(&[finland(), sweden()]))
        .topic(TOPIC, "NATO")
        .start_without_bus()
        .await;
    s.poll_once().await.assert_code(0);
    let fin = s.alert_id(&finland().title);
    let swe = s.alert_id(&sweden().title);
    let (fin_title, swe_title) = (finland().title, sweden().title);

    // The terminal is driven with blocking reads (threads, not tasks).
    tokio::task::block_in_place(|| {
        let mut term = review(&s);
        term.wait_for("the Alerts pane with both alerts", WAIT, |sc| {
            pty::line(sc, 0).contains("Alerts") && shows(sc, &fin_title) && shows(sc, &swe_title)
        });

        // The filter: `/`, the text (lower case: the match ignores case), Enter.
        term.send("/");
        term.send("finland");
        term.wait_for("the typed filter at the bottom", WAIT, |sc| {
            pty::lines(sc)[usize::from(ROWS) - 3..]
                .iter()
                .any(|l| l.contains("finland"))
        });
        term.send(keys::ENTER);
        term.wait_for("only Finland's alert", WAIT, |sc| {
            shows(sc, &fin_title) && !shows(sc, &swe_title)
        });

        // `n`: the selected (only) alert is wrong, and its row says so.
        term.send("n");
        term.wait_for("Finland's row to show `wrong`", WAIT, |sc| {
            row_with(sc, &fin_title).is_some_and(|r| r.contains("wrong"))
        });

        term.send("q");
        let status = term.wait_exit(WAIT);
        assert!(
            status.success(),
            "`{}` exited with {status:?}\n{}",
            term.command(),
            term.dump()
        );
    });

    let marks = db::query(
        s.db(),
        "SELECT topic, label, via, alert_id, title FROM marks ORDER BY id",
    );
    assert_eq!(
        marks,
        [vec![
            Some(TOPIC.to_string()),
            Some("0".into()),
            Some("review".into()),
            Some(fin.to_string()),
            Some(fin_title.clone()),
        ]],
        "one mark, wrong, from the review, on Finland's alert"
    );

    let out = s.tidings(&["history"]).await;
    out.assert_code(0);
    let line = out.line_with(&fin_title);
    assert!(
        line.contains(&format!("#{fin}")) && line.contains("✗ wrong"),
        "{line:?}\n{}",
        out.dump()
    );
    let other = out.line_with(&swe_title);
    assert!(
        other.contains(&format!("#{swe}")) && !other.contains('✗') && !other.contains('✓'),
        "{other:?}\n{}",
        out.dump()
    );
}

/// `tidings review --db PATH` where there is no database: exit 1, the path named, and no
/// database created there; as given (relative, no `--config`), and absolute with one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_of_a_missing_database_exits_1_naming_it() {
    let s = Scenario::builder("review_of_a_missing_database_exits_1_naming_it")
        .topic(TOPIC, "NATO")
        .start_without_bus()
        .await;
    let missing = s.sb.path().join("missing.db");
    let out = s.sb.run(&["review", "--db", "missing.db"]).await;
    out.assert_code(1);
    assert!(
        out.stderr.contains("missing.db"),
        "the error names missing.db\n{}",
        out.dump()
    );
    assert!(!missing.exists(), "review created missing.db");

    let path = missing.display().to_string();
    let config = s.sb.config.display().to_string();
    let out =
        s.sb.run(&["review", "--db", path.as_str(), "--config", config.as_str()])
            .await;
    out.assert_code(1);
    assert!(
        out.stderr.contains(&path),
        "the error names {path}\n{}",
        out.dump()
    );
    assert!(!missing.exists(), "review created {path}");
}

/// The headline among `titles` on the selected (reverse-video) row, if one is.
fn selected<'a>(screen: &vt100::Screen, titles: &[&'a str]) -> Option<&'a str> {
    pty::lines(screen)
        .iter()
        .enumerate()
        .find_map(|(row, text)| {
            let row = u16::try_from(row).ok()?;
            let title = titles.iter().find(|t| text.contains(**t))?;
            screen
                .cell(row, 0)
                .is_some_and(vt100::Cell::inverse)
                .then_some(*title)
        })
}

/// `Esc` cancels a filter being typed (both alerts stay), Down moves the selection to the
/// other alert, `y` marks that one right (its row says so, and `marks` has label 1 via
/// 'review' for it alone).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_cancels_a_filter_moves_down_and_marks_right() {
    let s = Scenario::builder("review_cancels_a_filter_moves_down_and_marks_right")
        .feed("/feed.xml", "Wire", feed(&[finland(), sweden()]))
        .topic(TOPIC, "NATO")
        .start_without_bus()
        .await;
    s.poll_once().await.assert_code(0);
    let (fin_title, swe_title) = (finland().title, sweden().title);
    let titles = [fin_title.as_str(), swe_title.as_str()];

    let second = tokio::task::block_in_place(|| {
        let mut term = review(&s);
        let mut first = None;
        term.wait_for("the Alerts pane with a selected alert", WAIT, |sc| {
            first = selected(sc, &titles);
            pty::line(sc, 0).contains("Alerts")
                && first.is_some()
                && shows(sc, titles[0])
                && shows(sc, titles[1])
        });
        let first = first.expect("seen");
        let second = *titles.iter().find(|t| **t != first).unwrap();

        term.send("/sweden");
        term.wait_for("the typed filter at the bottom", WAIT, |sc| {
            pty::lines(sc)[usize::from(ROWS) - 3..]
                .iter()
                .any(|l| l.contains("sweden"))
        });
        term.send(keys::ESC);
        term.wait_for("the prompt gone, both alerts still listed", WAIT, |sc| {
            !pty::lines(sc)[usize::from(ROWS) - 3..]
                .iter()
                .any(|l| l.contains("sweden"))
                && shows(sc, &fin_title)
                && shows(sc, &swe_title)
        });

        term.send(keys::DOWN);
        term.wait_for("the selection on the other alert", WAIT, |sc| {
            selected(sc, &titles) == Some(second)
        });
        term.send("y");
        term.wait_for("its row to show `right`", WAIT, |sc| {
            row_with(sc, second).is_some_and(|r| r.contains("right"))
        });
        assert!(
            row_with(term.screen(), first)
                .is_some_and(|r| !r.contains("right") && !r.contains("wrong")),
            "the first alert has no mark\n{}",
            term.dump()
        );
        term.send("q");
        let status = term.wait_exit(WAIT);
        assert!(status.success(), "{status:?}\n{}", term.dump());
        second.to_owned()
    });

    let marks = db::query(s.db(), "SELECT label, via, alert_id FROM marks ORDER BY id");
    assert_eq!(
        marks,
        [vec![
            Some("1".into()),
            Some("review".into()),
            Some(s.alert_id(&second).to_string()),
        ]],
        "one mark, right, from the review, on {second:?}"
    );
}

/// A watch-list that cannot be read does not stop the review: the alerts are listed, the
/// status line names the watch-list's error, and the Queue pane says there is nothing to
/// score with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_without_a_readable_watch_list_lists_alerts_and_says_why() {
    let s = Scenario::builder("review_without_a_readable_watch_list_lists_alerts_and_says_why")
        .feed("/feed.xml", "Wire", feed(&[finland(), sweden()]))
        .topic(TOPIC, "NATO")
        .start_without_bus()
        .await;
    s.poll_once().await.assert_code(0);
    s.sb.write_config("[[topic]]\nname = \"Broken\"\nquery = \"NATO AND\"\n");
    let fin_title = finland().title;

    tokio::task::block_in_place(|| {
        let mut term = review(&s);
        term.wait_for("the alerts and the watch-list's error", WAIT, |sc| {
            pty::line(sc, 0).contains("Alerts") && shows(sc, &fin_title) && shows(sc, "watch-list")
        });
        term.send(keys::TAB);
        term.send(keys::TAB);
        term.wait_for("the Queue pane saying why it is empty", WAIT, |sc| {
            shows(sc, "no watch-list")
        });
        term.send("q");
        let status = term.wait_exit(WAIT);
        assert!(status.success(), "{status:?}\n{}", term.dump());
    });
}
