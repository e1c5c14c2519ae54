//! Error messages (issue "Hostile servers, hostile text, and one daemon per database"): each
//! cause once.

use crate::support::cli::Sandbox;

/// A missing watch-list: its cause once, not "(os error 2): … (os error 2)".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_watch_list_names_its_cause_once() {
    let sb = Sandbox::new();
    let missing = sb.path().join("missing.toml");
    let db = sb.db.display().to_string();
    for command in ["check", "run", "poll"] {
        let mut args = vec!["--config", missing.to_str().unwrap(), "--db", &db, command];
        if command == "poll" {
            args.push("--once");
        }
        let out = sb.run(&args).await;
        out.assert_code(2);
        assert_eq!(
            out.stderr,
            format!(
                "tidings: cannot read watch-list {}: No such file or directory (os error 2)\n",
                missing.display()
            ),
            "{}",
            out.dump()
        );
    }
    // The default watch-list (no --config): where to put one, then the cause, once.
    let default = sb.path().join("xdg/config/tidings/watchlist.toml");
    let out = sb.run(&["--db", &db, "check"]).await;
    out.assert_code(2);
    assert_eq!(
        out.stderr,
        format!(
            "tidings: no watch-list at {0}: copy config/watchlist.toml there, or pass --config \
             PATH: cannot read watch-list {0}: No such file or directory (os error 2)\n",
            default.display()
        ),
        "{}",
        out.dump()
    );
    assert!(!sb.db.exists(), "a config error opens no database");
}

/// An empty watch-list (0 bytes, or only settings and comments) is valid: `check` says so on
/// stdout, warns on stderr that nothing would be monitored, and exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_warns_about_an_empty_watch_list() {
    let sb = Sandbox::new();
    for text in ["", "# later\n[settings]\ninterval = \"5m\"\n"] {
        sb.write_config(text);
        let out = sb.tidings(&["check"]).await;
        out.assert_code(0);
        assert!(
            out.stdout.contains("ok (0 feeds, 0 topics"),
            "{}",
            out.dump()
        );
        assert!(
            out.stderr.contains("warning:") && out.stderr.contains("no feeds and no topics"),
            "{}",
            out.dump()
        );
    }
    sb.write_config("[[feed]]\nurl = \"https://a.example/rss\"\n");
    let out = sb.tidings(&["check"]).await;
    out.assert_code(0);
    assert_eq!(out.stderr, "", "{}", out.dump());
}

/// A `--since` further back than the calendar reaches (`300000y`) panicked in `history` and
/// `match --history`: it means "since the beginning".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_since_before_the_calendar_is_the_beginning_not_a_crash() {
    let sb = Sandbox::new();
    sb.write_config("");
    let out = sb.tidings(&["poll", "--once"]).await;
    out.assert_code(0);
    let out = sb.tidings(&["history", "--since", "300000y"]).await;
    out.assert_code(0);
    assert!(!out.stderr.contains("panicked"), "{}", out.dump());
    let out = sb
        .tidings(&[
            "match",
            "--history",
            "--since",
            "300000y",
            "--query",
            "NATO",
        ])
        .await;
    assert!(!out.stderr.contains("panicked"), "{}", out.dump());
    assert_ne!(out.code, Some(101), "{}", out.dump());
}
