//! Issue 7, fault matrix: one `tidings run` (child process, private D-Bus with the recording
//! notification server) over 34 feeds, each on a loopback "host" of its own (127.0.0.10 …),
//! half of them misbehaving in one way each. The daemon must stay up, alert every healthy
//! feed's matching article exactly once, record a clear error and back off for each faulty
//! feed, and keep its peak RSS (VmHWM) under 100 MB.
//!
//! The run is bounded by the slowest fault: a host that accepts and never answers (and one
//! that trickles a byte a second) fails only at the whole-request timeout (30 s).

use std::time::{Duration, Instant};

use crate::daemon_child::{Daemon, status_json, wait_until};
use crate::support::cli::Sandbox;
use crate::support::dbus::TestBus;
use crate::support::feeds::{Item, rss};
use crate::support::fixtures;
use crate::support::http::{Behaviour, Response, TestServer};

/// The peak-memory bound of the issue.
const MAX_HWM_KIB: u64 = 100 * 1024;
const TOPIC: &str = "NATO membership";
const QUERY: &str = "NATO AND (membership OR join*)";

/// What a feed is expected to do.
#[derive(Debug, Clone)]
enum Expect {
    /// Its headline is alerted exactly once; no error.
    Healthy { headline: String },
    /// `last_error` contains every one of these (case-insensitive); backs off.
    Fails { error_has: Vec<&'static str> },
    /// Either parses (then its headline alerts once) or fails with an error; never crashes.
    Either { headline: String },
}

struct Feed {
    name: String,
    url: String,
    expect: Expect,
    interval: &'static str,
    _server: TestServer,
}

/// An item published an hour ago (articles published before the retention horizon never
/// alert, so `Item::new`'s fixed 2022 date would not do).
pub fn fresh(slug: &str, title: &str, description: &str) -> Item {
    let mut item = Item::new(slug, title, description);
    item.pub_date = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc2822();
    item
}

fn matching(slug: &str, headline: &str) -> Item {
    fresh(
        slug,
        headline,
        "Allies discussed the membership application at length.",
    )
}

fn unrelated(slug: &str) -> Item {
    fresh(
        slug,
        &format!("Local bakery wins sourdough prize ({slug})"),
        "Nothing about alliances here.",
    )
}

/// A healthy feed's document: one matching, two unrelated items.
fn healthy_doc(name: &str, headline: &str) -> Vec<u8> {
    rss(
        name,
        &[
            unrelated(&format!("{name}-u1")),
            matching(&format!("{name}-m"), headline),
            unrelated(&format!("{name}-u2")),
        ],
    )
}

fn ok_xml(body: Vec<u8>, etag: &str) -> Response {
    Response::ok(body)
        .content_type("application/rss+xml")
        .etag(etag)
}

/// RSS as UTF-16LE with a BOM and `encoding="UTF-16"`.
fn utf16_doc(headline: &str) -> Vec<u8> {
    let utf8 = String::from_utf8(healthy_doc("UTF-16 Wire", headline)).unwrap();
    let utf8 = utf8.replace("encoding=\"UTF-8\"", "encoding=\"UTF-16\"");
    let mut out = vec![0xff, 0xfe];
    for u in utf8.encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
    }
    out
}

/// 10,000 items, one of which matches.
fn ten_thousand_doc(headline: &str) -> Vec<u8> {
    let items: Vec<Item> = (0..10_000)
        .map(|i| {
            if i == 5_000 {
                matching("tenk-m", headline)
            } else {
                Item::new(
                    &format!("tenk-{i}"),
                    &format!("Weather bulletin number {i}"),
                    "Cloudy with sunny spells.",
                )
            }
        })
        .collect();
    rss("Ten Thousand", &items)
}

/// 100,000 short items inside the 10 MiB body cap (issue 20's memory attack, which peaked at
/// 134 MB): refused before feed-rs builds them.
fn hundred_thousand_doc() -> Vec<u8> {
    let mut doc = String::from(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Hundred Thousand</title>",
    );
    for i in 0..100_000 {
        doc.push_str(&format!(
            "<item><guid>hk-{i}</guid><title>NATO membership bulletin {i}</title></item>"
        ));
    }
    doc.push_str("</channel></rss>");
    assert!(
        doc.len() < 10 << 20,
        "inside the body cap: {} bytes",
        doc.len()
    );
    doc.into_bytes()
}

/// Two items with the same guid, both matching: one article, one alert.
fn duplicate_guid_doc(headline: &str) -> Vec<u8> {
    let mut a = matching("dup", headline);
    a.link = "https://example.com/news/dup-1".into();
    let mut b = matching("dup", &format!("{headline} (updated)"));
    b.link = "https://example.com/news/dup-2".into();
    rss("Dup Guids", &[a, unrelated("dup-u"), b])
}

fn deep_doc(headline: &str, depth: usize) -> Vec<u8> {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Deep</title>\
         <link>https://example.com/</link><description>d</description>",
    );
    s.push_str(&matching("deep-m", headline).to_xml());
    s.push_str(&"<x>".repeat(depth));
    s.push_str(&"</x>".repeat(depth));
    s.push_str("</channel></rss>\n");
    s.into_bytes()
}

fn invalid_utf8_doc(headline: &str) -> Vec<u8> {
    let doc = String::from_utf8(healthy_doc("Bad Bytes", headline)).unwrap();
    let at = doc.find("Local bakery").unwrap();
    let mut out = doc.as_bytes()[..at].to_vec();
    out.extend_from_slice(b"\xc3\x28 \xff\xfe broken \xed\xa0\x80 ");
    out.extend_from_slice(&doc.as_bytes()[at..]);
    out
}

fn http_date(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn toml_config(feeds: &[Feed]) -> String {
    let mut s = String::from(
        "[settings]\n\
         interval = \"15m\"\n\
         alert_on_first_poll = true\n\
         concurrency = 8\n\
         host_concurrency = 1\n\
         host_spacing = \"0s\"\n\
         max_body_size = \"10MiB\"\n\
         batch_after = 1024\n\
         max_per_topic_per_hour = 1024\n\n",
    );
    for f in feeds {
        s.push_str(&format!(
            "[[feed]]\nurl = \"{}\"\nname = \"{}\"\ninterval = \"{}\"\n\n",
            f.url, f.name, f.interval
        ));
    }
    s.push_str(&format!(
        "[[topic]]\nname = \"{TOPIC}\"\nquery = '{QUERY}'\n"
    ));
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_matrix_daemon_survives_alerts_healthy_and_backs_off_faulty() {
    let Some(bus) = TestBus::start_or_skip("fault_matrix").await else {
        return;
    };
    let mut feeds: Vec<Feed> = Vec::new();
    let mut next_ip = 10u8;
    let mut host = || {
        next_ip += 1;
        format!("127.0.0.{next_ip}")
    };

    // --- healthy hosts ------------------------------------------------------------------
    for i in 0..12 {
        let name = format!("Healthy {i}");
        let headline = format!("NATO membership bid advances, report {i}");
        let server = TestServer::start_on(&host()).await;
        server.set("/feed.xml", ok_xml(healthy_doc(&name, &headline), "\"h\""));
        feeds.push(Feed {
            url: server.url("/feed.xml"),
            name,
            expect: Expect::Healthy { headline },
            interval: "2s",
            _server: server,
        });
    }
    let special: Vec<(&str, String, Vec<u8>)> = vec![
        (
            "UTF-16",
            "NATO membership in UTF-16 transcoded".into(),
            vec![],
        ),
        (
            "Ten thousand",
            "NATO membership among ten thousand items".into(),
            vec![],
        ),
        (
            "Duplicate guids",
            "NATO membership story with a duplicated guid".into(),
            vec![],
        ),
    ];
    for (name, headline, _) in special {
        let body = match name {
            "UTF-16" => utf16_doc(&headline),
            "Ten thousand" => ten_thousand_doc(&headline),
            _ => duplicate_guid_doc(&headline),
        };
        let server = TestServer::start_on(&host()).await;
        server.set("/feed.xml", ok_xml(body, "\"s\""));
        feeds.push(Feed {
            url: server.url("/feed.xml"),
            name: name.into(),
            expect: Expect::Healthy { headline },
            interval: "2s",
            _server: server,
        });
    }

    // --- faulty hosts -------------------------------------------------------------------
    let seed = healthy_doc("Faulty", "NATO membership never seen from a faulty feed");
    let half = seed.len() / 2;
    let in_an_hour = http_date(chrono::Utc::now() + chrono::Duration::hours(1));
    let faults: Vec<(&str, Behaviour, Vec<&'static str>)> = vec![
        (
            "HTTP 500",
            Response::status(500).body("boom\n").into(),
            vec!["500"],
        ),
        (
            "HTTP 503 Retry-After seconds",
            Response::status(503).header("Retry-After", "120").into(),
            vec!["503"],
        ),
        (
            "HTTP 429 Retry-After date",
            Response::status(429)
                .header("Retry-After", &in_an_hour)
                .into(),
            vec!["429"],
        ),
        (
            "HTTP 429 Retry-After in year 9999",
            Response::status(429)
                .header("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT")
                .into(),
            vec!["429"],
        ),
        (
            "Twenty thousand items",
            ok_xml(hundred_thousand_doc(), "\"k\"").into(),
            vec!["more than 10000 entries"],
        ),
        (
            "Trickle",
            Behaviour::Trickle {
                response: ok_xml(seed.clone(), "\"t\""),
                interval: Duration::from_secs(1),
            },
            vec!["timed out"],
        ),
        (
            "Reset mid-body",
            Behaviour::ResetMidBody {
                response: ok_xml(seed.clone(), "\"r\""),
                after: half,
            },
            vec![],
        ),
        (
            "Truncated XML",
            ok_xml(seed[..half].to_vec(), "\"tr\"").into(),
            vec![],
        ),
        (
            "Malformed XML",
            ok_xml(
                b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>M</title>\
                  <item><title>NATO membership <b>unclosed</title></chanel></rss>"
                    .to_vec(),
                "\"m\"",
            )
            .into(),
            vec![],
        ),
        (
            "HTML error page with 200",
            Response::ok(fixtures::bytes("latimes-cloudfront-403.html"))
                .content_type("text/html")
                .into(),
            vec!["html"],
        ),
        (
            "Empty 200",
            ok_xml(Vec::new(), "\"e\"").into(),
            vec!["empty"],
        ),
        (
            "50 MB body",
            Behaviour::Huge {
                len: 50 * 1024 * 1024,
                pattern: b"<rss version=\"2.0\"><channel><title>x</title>".to_vec(),
                content_type: "application/rss+xml".into(),
                declare_length: false,
            },
            vec!["larger than"],
        ),
        (
            "Gzip bomb",
            Behaviour::GzipBomb { inflated_mib: 4096 },
            vec!["larger than"],
        ),
        (
            "Redirect loop",
            Behaviour::Redirect {
                status: 302,
                location: "/loop-b".into(),
            },
            vec!["redirect"],
        ),
        (
            "Redirect to file",
            Behaviour::Redirect {
                status: 302,
                location: "file:///etc/passwd".into(),
            },
            vec!["redirect", "file"],
        ),
        (
            "Redirect to ftp",
            Behaviour::Redirect {
                status: 301,
                location: "ftp://127.0.0.1/feed.xml".into(),
            },
            vec!["redirect", "ftp"],
        ),
    ];
    for (name, behaviour, error_has) in faults {
        let server = TestServer::start_on(&host()).await;
        server.set("/feed.xml", behaviour);
        server.set(
            "/loop-b",
            Behaviour::Redirect {
                status: 302,
                location: "/feed.xml".into(),
            },
        );
        feeds.push(Feed {
            url: server.url("/feed.xml"),
            name: name.into(),
            expect: Expect::Fails { error_has },
            interval: "1s",
            _server: server,
        });
    }
    // Accepts the connection, never reads or answers.
    let hole = TestServer::start_black_hole(&host()).await;
    feeds.push(Feed {
        url: format!("http://{}/feed.xml", hole.addr()),
        name: "Never answers".into(),
        expect: Expect::Fails {
            error_has: vec!["timed out"],
        },
        interval: "1s",
        _server: hole,
    });

    // --- either parses or fails cleanly -------------------------------------------------
    for (name, headline, body) in [
        (
            "Invalid UTF-8",
            "NATO membership despite broken bytes",
            invalid_utf8_doc("NATO membership despite broken bytes"),
        ),
        (
            "Deeply nested",
            "NATO membership before deep nesting",
            deep_doc("NATO membership before deep nesting", 100_000),
        ),
    ] {
        let server = TestServer::start_on(&host()).await;
        server.set("/feed.xml", ok_xml(body, "\"x\""));
        feeds.push(Feed {
            url: server.url("/feed.xml"),
            name: name.into(),
            expect: Expect::Either {
                headline: headline.into(),
            },
            interval: "1s",
            _server: server,
        });
    }
    println!("fault matrix: {} feeds", feeds.len());

    let sb = Sandbox::with_bus(bus.address());
    sb.write_config(&toml_config(&feeds));
    sb.tidings(&["check"]).await.assert_code(0);

    let started = Instant::now();
    let mut daemon = Daemon::start(&sb, bus.address(), "info");

    // Every healthy headline notified.
    let healthy: Vec<String> = feeds
        .iter()
        .filter_map(|f| match &f.expect {
            Expect::Healthy { headline } => Some(headline.clone()),
            _ => None,
        })
        .collect();
    let notified_line = |headline: &str| {
        bus.notifications()
            .iter()
            .filter(|n| n.body.lines().next() == Some(headline))
            .count()
    };
    wait_until(
        "a notification for every healthy feed's matching article",
        Duration::from_secs(60),
        async || {
            if let Some(st) = daemon.exited() {
                panic!("daemon exited early: {st:?}\n{}", daemon.stderr());
            }
            healthy.iter().all(|h| notified_line(h) >= 1).then_some(())
        },
    )
    .await;
    println!(
        "all {} healthy feeds alerted after {:.1?}",
        healthy.len(),
        started.elapsed()
    );

    // Every faulty feed has its error recorded.
    let faulty: Vec<&Feed> = feeds
        .iter()
        .filter(|f| matches!(f.expect, Expect::Fails { .. }))
        .collect();
    let status = wait_until(
        "an error recorded for every faulty feed",
        Duration::from_secs(60),
        async || {
            if let Some(st) = daemon.exited() {
                panic!("daemon exited early: {st:?}\n{}", daemon.stderr());
            }
            let st = status_json(&sb).await;
            let all = faulty.iter().all(|f| {
                feed_status(&st, &f.url)
                    .is_some_and(|s| s["last_error"].as_str().is_some_and(|e| !e.is_empty()))
            });
            all.then_some(st)
        },
    )
    .await;
    println!("all faulty feeds failed after {:.1?}", started.elapsed());

    let hwm = daemon.vm_hwm_kib().expect("VmHWM of the running daemon");
    println!(
        "daemon peak RSS (VmHWM): {:.1} MiB (bound {} MiB)",
        hwm as f64 / 1024.0,
        MAX_HWM_KIB / 1024
    );
    assert!(
        daemon.exited().is_none(),
        "daemon died\n{}",
        daemon.stderr()
    );

    let now = chrono::Utc::now();
    let mut problems = Vec::new();
    for f in &feeds {
        let st = feed_status(&status, &f.url)
            .unwrap_or_else(|| panic!("no status entry for {}: {status:#}", f.name));
        let error = st["last_error"].as_str().unwrap_or("");
        let failures = st["consecutive_failures"].as_i64().unwrap_or(-1);
        let next_poll = st["next_poll_at"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
        println!(
            "{:<30} failures={failures:<2} next_poll={:<22} error={error}",
            f.name,
            st["next_poll_at"].as_str().unwrap_or("-")
        );
        match &f.expect {
            Expect::Healthy { headline } => {
                let n = notified_line(headline);
                if n != 1 {
                    problems.push(format!("{}: {headline:?} notified {n} times", f.name));
                }
                if !error.is_empty() {
                    problems.push(format!("{}: healthy feed has an error: {error}", f.name));
                }
            }
            Expect::Fails { error_has } => {
                let lower = error.to_lowercase();
                for needle in error_has {
                    if !lower.contains(needle) {
                        problems.push(format!(
                            "{}: error {error:?} does not say {needle:?}",
                            f.name
                        ));
                    }
                }
                if failures < 1 {
                    problems.push(format!("{}: consecutive_failures = {failures}", f.name));
                }
                // Backoff: at least a minute, so still in the future however slow we are.
                if next_poll.is_none_or(|t| t <= now) {
                    problems.push(format!(
                        "{}: next poll {:?} is not in the future (now {now})",
                        f.name, st["next_poll_at"]
                    ));
                }
            }
            Expect::Either { headline } => {
                let n = notified_line(headline);
                let ok = (error.is_empty() && n == 1) || (!error.is_empty() && n == 0);
                println!(
                    "  -> {}",
                    if error.is_empty() {
                        "parsed"
                    } else {
                        "refused"
                    }
                );
                if !ok {
                    problems.push(format!(
                        "{}: error {error:?} but headline notified {n} times",
                        f.name
                    ));
                }
            }
        }
    }
    // Nothing that does not match, and nothing from a faulty feed, was ever notified.
    for n in bus.notifications() {
        let first = n.body.lines().next().unwrap_or("");
        if first.contains("bakery") || first.contains("never seen") {
            problems.push(format!("unexpected notification: {first:?}"));
        }
    }
    assert!(
        problems.is_empty(),
        "fault matrix problems:\n  {}\n--- daemon stderr (tail) ---\n{}",
        problems.join("\n  "),
        tail(&daemon.stderr(), 60)
    );
    assert!(
        hwm < MAX_HWM_KIB,
        "daemon peak RSS {hwm} KiB exceeds {MAX_HWM_KIB} KiB"
    );
    assert!(daemon.exited().is_none(), "daemon died at the end");
    assert_eq!(daemon.stop().await, Some(0), "clean exit on SIGTERM");

    // The same matrix through `poll --once` on a fresh database: the measurement.
    let once_db = sb.path().join("once.db");
    let (cmd, text) = sb.command(&[
        "--config",
        &sb.config.display().to_string(),
        "--db",
        &once_db.display().to_string(),
        "poll",
        "--once",
    ]);
    let mut cmd = cmd.into_std();
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .env("DBUS_SESSION_BUS_ADDRESS", bus.address());
    let (code, once_hwm) = tokio::task::spawn_blocking(move || peak_rss_of(cmd))
        .await
        .expect("poll --once");
    println!(
        "poll --once peak RSS (ru_maxrss): {:.1} MiB (bound {} MiB)",
        once_hwm as f64 / 1024.0,
        MAX_HWM_KIB / 1024
    );
    assert!(
        code.is_some(),
        "{text}: killed by a signal (exit status {code:?})"
    );
    assert!(
        once_hwm < MAX_HWM_KIB,
        "{text}: peak RSS {once_hwm} KiB exceeds {MAX_HWM_KIB} KiB"
    );
}

fn feed_status<'a>(status: &'a serde_json::Value, url: &str) -> Option<&'a serde_json::Value> {
    status["feeds"]
        .as_array()?
        .iter()
        .find(|f| f["url"].as_str() == Some(url))
}

pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Runs `cmd` to its end; its exit code and peak resident set (KiB, from `wait4`'s rusage).
fn peak_rss_of(mut cmd: std::process::Command) -> (Option<i32>, u64) {
    let child = cmd.spawn().expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value; wait4 fills it. The child is reaped here, and
    // `child` is never waited on afterwards.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    drop(child);
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (code, usage.ru_maxrss as u64)
}
