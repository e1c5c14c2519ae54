//! Issue "Hostile servers, hostile text", part "Feed text reaches the terminal raw": escape
//! sequences in feed text are stripped at parse, whatever still reaches a terminal from the
//! database is escaped, and `history --csv` cells cannot start a spreadsheet formula.

use crate::support::cli::{Output, Sandbox};
use crate::support::db;
use crate::support::feeds::{Item, rss};
use crate::support::http::{Response, TestServer};
use crate::support::watchlist::{NATO, WatchList};

/// Retitles the terminal's window, clears the screen, and wraps "here" in an OSC 8 hyperlink.
const HOSTILE_TITLE: &str = "\u{1b}]0;evil\u{7}NATO membership \u{1b}[2Jtalks \
                             \u{1b}]8;;https://evil.example/\u{1b}\\here\u{1b}]8;;\u{1b}\\\u{202E}";

fn item(slug: &str, title: &str) -> Item {
    let mut item = crate::faults::fresh(
        slug,
        title,
        "\u{2066}Allies\u{7} discussed the NATO membership application.\u{2069}",
    );
    item.guid = format!("hostile-{slug}");
    item
}

/// A sandbox watching `server`'s `/feed.xml` (these items, this channel title, no configured
/// name: the feed's own title names it) for the NATO topic.
fn watching(server: &TestServer, channel: &str, items: &[Item]) -> Sandbox {
    server.set(
        "/feed.xml",
        Response::ok(rss(channel, items)).content_type("application/rss+xml"),
    );
    let sb = Sandbox::new();
    sb.write_config(
        &WatchList::empty()
            .topic(NATO.0, NATO.1)
            .feed(&server.url("/feed.xml"), None)
            .to_toml(),
    );
    sb
}

/// What a terminal would obey in `out` (line feeds between lines aside), for messages.
fn obeyed(out: &str) -> Vec<char> {
    out.chars()
        .filter(|&c| c != '\n' && tidings::sanitize::is_terminal_control(c))
        .collect()
}

fn assert_shown_not_obeyed(out: &Output) {
    println!("{}", out.dump());
    out.assert_code(0);
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            obeyed(text).is_empty(),
            "{}: {stream} holds {:?}:\n{text}",
            out.command,
            obeyed(text)
        );
    }
}

/// A loopback feed whose channel and item titles carry OSC 0, CSI 2J, OSC 8 and bidi
/// controls: `poll --once`, `history` (with `--explain`), `feeds list`, `status` and `match`
/// print nothing a terminal obeys — for what is polled now (stripped at parse) and for rows
/// stored before the strip existed (escaped when printed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_feed_text_never_reaches_the_terminal_raw() {
    let server = TestServer::start().await;
    let channel = "Wire\u{1b}]0;pwned\u{7} \u{1b}[31mNews\u{200F}";
    let sb = watching(&server, channel, &[item("a", HOSTILE_TITLE)]);
    let polled = sb.tidings(&["poll", "--once"]).await;
    assert_shown_not_obeyed(&polled);
    assert!(polled.stdout.contains("Wire News"), "{}", polled.stdout);

    // Stripped before it was stored: whole sequences, no `]0;evil` left behind.
    let titles = db::articles(&sb.db);
    assert_eq!(
        titles.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>(),
        ["NATO membership talks here"]
    );
    let feed = db::query(&sb.db, "SELECT title FROM feeds");
    assert_eq!(feed[0][0].as_deref(), Some("Wire News"));

    let commands: [&[&str]; 6] = [
        &["history"],
        &["history", "--explain"],
        &["feeds", "list"],
        &["status"],
        &["match", "--history"],
        &["match", "--history", "--all"],
    ];
    for args in commands {
        let out = sb.tidings(args).await;
        assert_shown_not_obeyed(&out);
    }
    let history = sb.tidings(&["history", "--explain"]).await;
    assert!(
        history.stdout.contains("NATO membership talks here")
            && history.stdout.contains("Wire News")
            && !history.stdout.contains("]0;"),
        "{}",
        history.stdout
    );

    // Rows stored before the strip: the same text, now escaped where it is printed.
    let esc = "' || char(27) || '";
    for sql in [
        format!(
            "UPDATE articles SET title = '{esc}]0;old{esc}\\NATO membership {esc}[2Jold' || char(8238)"
        ),
        format!(
            "UPDATE alerts SET snippet = 'snip{esc}[1m' || char(7), terms = '[\"nato{esc}[5m\"]'"
        ),
        format!("UPDATE feeds SET title = 'Old{esc}]0;x' || char(7) || 'Wire'"),
    ] {
        db::execute(&sb.db, &sql);
    }
    // A failed poll names the feed by its stored title.
    server.set("/feed.xml", Response::status(500));
    let polled = sb.tidings(&["poll", "--once"]).await;
    println!("{}", polled.dump());
    assert!(obeyed(&polled.stdout).is_empty(), "{}", polled.stdout);
    assert!(
        polled.stdout.contains("Old\\x1b]0;x\\x07Wire"),
        "{}",
        polled.stdout
    );
    db::execute(
        &sb.db,
        &format!("UPDATE feeds SET last_error = 'HTTP 500 {esc}[2J' || char(10) || 'forged line'"),
    );
    for args in commands {
        let out = sb.tidings(args).await;
        assert_shown_not_obeyed(&out);
        if args[0] != "status" {
            assert!(
                out.stdout.contains("\\x1b"),
                "escaped ESC expected:\n{}",
                out.stdout
            );
        }
    }
    let status = sb.tidings(&["status"]).await;
    assert!(
        status.stdout.contains("Old\\x1b]0;x\\x07Wire")
            && status.stdout.contains("HTTP 500 \\x1b[2J\\nforged line"),
        "{}",
        status.stdout
    );
    let explain = sb.tidings(&["history", "--explain"]).await;
    assert!(
        explain
            .stdout
            .contains("\\x1b]0;old\\x1b\\NATO membership \\x1b[2Jold\\u{202e}")
            && explain.stdout.contains("snip\\x1b[1m\\x07"),
        "{}",
        explain.stdout
    );
}

/// Headlines (and a feed title) that a spreadsheet would run as formulas: `history --csv`
/// writes each such cell as text, a `'` in front and in quotes (OWASP), and a CSV reader gets
/// back the text with the `'`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_csv_cells_cannot_start_a_formula() {
    let server = TestServer::start().await;
    let titles = [
        "=HYPERLINK(\"https://evil.example/\",\"NATO membership\")",
        "+NATO membership vote",
        "-NATO membership cmd|' /C calc'!A0",
        "@SUM(1+1) NATO membership",
        "\tNATO membership after a tab",
    ];
    let items: Vec<Item> = titles
        .iter()
        .enumerate()
        .map(|(i, t)| item(&i.to_string(), t))
        .collect();
    let sb = watching(&server, "=cmd|' /C calc'!A0", &items);
    sb.tidings(&["poll", "--once"]).await.assert_code(0);
    let out = sb.tidings(&["history", "--csv"]).await;
    println!("{}", out.dump());
    out.assert_code(0);
    for raw in [
        "\"'=HYPERLINK(\"\"https://evil.example/\"\",\"\"NATO membership\"\")\"",
        "\"'+NATO membership vote\"",
        "\"'-NATO membership cmd|' /C calc'!A0\"",
        "\"'@SUM(1+1) NATO membership\"",
        "\"'=cmd|' /C calc'!A0\"",
    ] {
        assert!(
            out.stdout.contains(raw),
            "{raw} expected in:\n{}",
            out.stdout
        );
    }
    let mut reader = csv::Reader::from_reader(out.stdout.as_bytes());
    let headlines: Vec<String> = reader
        .records()
        .map(|r| {
            let r = r.expect("well-formed CSV");
            for cell in &r {
                assert!(
                    !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "formula cell {cell:?} in {r:?}"
                );
            }
            r[3].to_string()
        })
        .collect();
    assert_eq!(headlines.len(), titles.len(), "{headlines:?}");
    for t in titles {
        // The tab at the start of the last headline is whitespace to the parser: it is gone.
        let stored = t.trim_start();
        let neutralised = if stored == t {
            format!("'{t}")
        } else {
            stored.to_string()
        };
        assert!(
            headlines.contains(&neutralised),
            "{neutralised:?} not in {headlines:?}"
        );
    }
}
