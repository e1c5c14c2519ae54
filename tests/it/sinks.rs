//! Sinks: alerts go to a command (JSON on stdin) and a webhook besides the desktop; a failing
//! sink is retried, and each alert reaches each sink once.

use crate::support::cli::Sandbox;
use crate::support::fixtures::{self, SEED_HEADLINE};
use crate::support::http::{Response, TestServer};
use crate::support::watchlist::WatchList;

const SEED: &str = "/seed.xml";

/// A command sink that appends each alert (one JSON line) to `out`, and fails (exit 1) while
/// the file `fail` exists.
fn sink_script(sb: &Sandbox) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let script = sb.path().join("sink.sh");
    let out = sb.path().join("alerts.jsonl");
    let fail = sb.path().join("fail");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ -e '{fail}' ] && exit 1\ncat >> '{out}'\necho >> '{out}'\n",
            fail = fail.display(),
            out = out.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, out, fail)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_and_webhook_sinks_get_each_alert_once_and_failures_are_retried() {
    let server = TestServer::start().await;
    server.set(
        SEED,
        Response::ok(fixtures::bytes("seed-feed.xml")).content_type("application/rss+xml"),
    );
    server.set("/hook", Response::ok(b"ok".to_vec()));
    let sb = Sandbox::new(); // no D-Bus: the desktop fails, the sinks do not depend on it
    let (script, out, fail) = sink_script(&sb);
    std::fs::write(&fail, b"").unwrap();
    let config = WatchList::standard()
        .feed(&server.url(SEED), Some("World News Wire"))
        .setting("alert_on_first_poll", true)
        .to_toml()
        + &format!(
            "\n[[sink]]\nkind = \"command\"\ncommand = [\"{}\"]\n\n[[sink]]\nkind = \"webhook\"\nurl = \"{}\"\n",
            script.display(),
            server.url("/hook")
        );
    sb.write_config(&config);

    // First poll: the command sink fails, the webhook gets the two alerts.
    sb.tidings(&["poll", "--once"]).await.assert_code(0);
    assert!(!out.exists() || std::fs::read_to_string(&out).unwrap().trim().is_empty());
    let hooks = server.requests_to("/hook");
    assert_eq!(hooks.len(), 2, "one POST per alert: {hooks:#?}");
    assert!(hooks.iter().all(|r| r.method == "POST"));

    // The sink recovers: the next run hands it the two pending alerts, the webhook nothing new.
    std::fs::remove_file(&fail).unwrap();
    sb.tidings(&["poll", "--once"]).await.assert_code(0);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "each alert once: {lines:#?}");
    for l in &lines {
        assert_eq!(l["title"], SEED_HEADLINE);
        assert_eq!(l["source"], "World News Wire");
        assert!(l["topic"].as_str().is_some_and(|t| !t.is_empty()));
    }
    assert_eq!(
        server.requests_to("/hook").len(),
        2,
        "the webhook is not sent anything twice"
    );

    // And once more: nothing new anywhere.
    sb.tidings(&["poll", "--once"]).await.assert_code(0);
    assert_eq!(
        std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count(),
        2
    );
    assert_eq!(server.requests_to("/hook").len(), 2);
}
