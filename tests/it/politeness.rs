//! Politeness towards feed hosts, against the real binary and loopback servers: per-host
//! spacing and concurrency, 410 Gone, permanent redirects, and `Retry-After` deferring a whole
//! host. Real time with short intervals; every wait is a polled condition with a deadline, and
//! time is only ever asserted as a lower bound (arrival times recorded by the test server).

use std::time::{Duration, Instant};

use crate::daemon_child::status_json;
use crate::support::cli::{Sandbox, wait_until};
use crate::support::feeds::{Item, rss};
use crate::support::http::{Behaviour, Request, Response, TestServer};
use crate::support::watchlist::WatchList;

/// How long any one condition in these tests may take to come true.
const WAIT: Duration = Duration::from_secs(12);
/// Clock slack below a lower bound (scheduling jitter between the daemon and the server).
const SLACK: Duration = Duration::from_millis(20);

fn feed_doc(name: &str) -> Response {
    Response::ok(rss(
        name,
        &[Item::new(
            &format!("{name}-1"),
            &format!("Local bakery wins sourdough prize ({name})"),
            "Nothing about alliances here.",
        )],
    ))
    .content_type("application/rss+xml")
}

fn feed_status<'a>(status: &'a serde_json::Value, url: &str) -> &'a serde_json::Value {
    status["feeds"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["url"].as_str() == Some(url)))
        .unwrap_or_else(|| panic!("no feed {url} in status --json:\n{status:#}"))
}

fn times(reqs: &[Request], origin: Instant) -> String {
    reqs.iter()
        .map(|r| {
            format!(
                "  #{} {} {} -> {:?} at +{:?}\n",
                r.seq,
                r.method,
                r.path,
                r.status,
                r.at.saturating_duration_since(origin)
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_host_spacing_and_one_request_in_flight() {
    const DELAY: Duration = Duration::from_millis(300);
    const SPACING: Duration = Duration::from_secs(1);
    let host1 = TestServer::start().await;
    let host2 = TestServer::start_on("127.0.0.2").await;
    let paths = ["/a.xml", "/b.xml", "/c.xml"];
    let mut wl = WatchList::standard()
        .setting("host_concurrency", 1)
        .setting("host_spacing", "1s")
        .setting("concurrency", 8);
    for p in paths {
        host1.set(p, Behaviour::delayed(DELAY, feed_doc(p)));
        wl = wl.feed(&host1.url(p), Some(p));
    }
    host2.set("/d.xml", Behaviour::delayed(DELAY, feed_doc("d")));
    wl = wl.feed(&host2.url("/d.xml"), Some("other host"));
    let sb = Sandbox::new();
    sb.write_config(&wl.to_toml());

    let started = Instant::now();
    let out = sb.tidings(&["poll", "--once"]).await;
    out.assert_code(0);

    let reqs = host1.requests();
    let other = host2.requests();
    let all = format!(
        "host 1:\n{}host 2:\n{}{}",
        times(&reqs, started),
        times(&other, started),
        out.dump()
    );
    assert_eq!(reqs.len(), 3, "one request per feed on host 1\n{all}");
    for p in paths {
        assert_eq!(
            reqs.iter().filter(|r| r.path == p).count(),
            1,
            "{p} requested once\n{all}"
        );
    }
    for w in reqs.windows(2) {
        let gap = w[1].at.duration_since(w[0].at);
        // The earlier request is answered only DELAY after it arrived: a later one arriving
        // before that would be two requests in flight to one host.
        assert!(
            gap + SLACK >= DELAY,
            "requests #{} and #{} to one host overlap (gap {gap:?}, each takes {DELAY:?})\n{all}",
            w[0].seq,
            w[1].seq
        );
        assert!(
            gap + SLACK >= SPACING,
            "requests #{} and #{} to one host start {gap:?} apart, host_spacing is {SPACING:?}\n{all}",
            w[0].seq,
            w[1].seq
        );
    }
    assert_eq!(other.len(), 1, "one request to host 2\n{all}");
    assert!(
        other[0].at < reqs[1].at,
        "the feed on host 2 waited behind host 1's queue (it should go before host 1's \
         second request, which host_spacing holds back by {SPACING:?})\n{all}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_feed_is_not_polled_again() {
    let server = TestServer::start().await;
    server.set("/gone.xml", Response::status(410));
    server.set("/live.xml", feed_doc("live"));
    let gone_url = server.url("/gone.xml");
    let sb = Sandbox::new();
    sb.write_config(
        &WatchList::standard()
            .feed_every(&gone_url, "Gone", "1s")
            .feed_every(&server.url("/live.xml"), "Live", "1s")
            .to_toml(),
    );

    let started = Instant::now();
    let mut daemon = sb.spawn(&["run"]);
    let describe = || times(&server.requests(), started);
    wait_until(
        "the healthy feed to be polled 3 times",
        WAIT,
        || (server.requests_to("/live.xml").len() >= 3).then_some(()),
        describe,
    )
    .await;
    assert!(daemon.is_running(), "daemon died\n{}", daemon.stderr());
    let gone = server.requests_to("/gone.xml");
    assert_eq!(
        gone.len(),
        1,
        "the 410 feed is requested exactly once\n{}\n--- stderr ---\n{}",
        describe(),
        daemon.stderr()
    );

    let st = status_json(&sb).await;
    let f = feed_status(&st, &gone_url);
    let disabled = f["disabled"].as_str().unwrap_or_default();
    assert!(
        disabled.contains("410"),
        "status --json shows the 410 feed disabled for 410: {f:#}"
    );
    let out = daemon.stop().await;
    out.assert_code(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_redirect_is_adopted_after_two_polls() {
    let server = TestServer::start().await;
    server.set(
        "/old.xml",
        Behaviour::Redirect {
            status: 301,
            location: server.url("/new.xml"),
        },
    );
    server.set("/new.xml", feed_doc("moved"));
    let old_url = server.url("/old.xml");
    let sb = Sandbox::new();
    sb.write_config(
        &WatchList::standard()
            .feed_every(&old_url, "Moved", "1s")
            .to_toml(),
    );

    let started = Instant::now();
    let mut daemon = sb.spawn(&["run"]);
    let describe = || times(&server.requests(), started);
    wait_until(
        "the new URL to be requested 3 times",
        WAIT,
        || (server.requests_to("/new.xml").len() >= 3).then_some(()),
        describe,
    )
    .await;
    assert!(daemon.is_running(), "daemon died\n{}", daemon.stderr());
    assert_eq!(
        server.requests_to("/old.xml").len(),
        2,
        "the old URL is requested on exactly two polls, then the new URL is adopted\n{}\n\
         --- stderr ---\n{}",
        describe(),
        daemon.stderr()
    );

    let st = status_json(&sb).await;
    let f = feed_status(&st, &old_url);
    assert!(
        f["fetch_url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/new.xml")),
        "status --json shows the adopted fetch_url: {f:#}"
    );
    let out = daemon.stop().await;
    out.assert_code(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_defers_the_whole_host() {
    /// The deferral the server asks for.
    const RETRY_AFTER: Duration = Duration::from_secs(3);
    /// Requests already on their way when the 429 was answered may still arrive.
    const IN_FLIGHT: Duration = Duration::from_millis(250);
    /// The quiet window asserted: the deferral, less a little for clock rounding.
    const QUIET_UNTIL: Duration = Duration::from_millis(2800);
    let host_a = TestServer::start().await;
    let host_b = TestServer::start_on("127.0.0.2").await;
    host_a.set(
        "/limited.xml",
        Response::status(429).header("Retry-After", "3"),
    );
    host_a.set("/steady.xml", feed_doc("steady"));
    host_b.set("/feed.xml", feed_doc("elsewhere"));
    let sb = Sandbox::new();
    sb.write_config(
        &WatchList::standard()
            .feed_every(&host_a.url("/limited.xml"), "Limited", "1s")
            .feed_every(&host_a.url("/steady.xml"), "Steady", "1s")
            .feed_every(&host_b.url("/feed.xml"), "Elsewhere", "1s")
            .to_toml(),
    );

    let started = Instant::now();
    let mut daemon = sb.spawn(&["run"]);
    let describe = || {
        format!(
            "host A:\n{}host B:\n{}",
            times(&host_a.requests(), started),
            times(&host_b.requests(), started)
        )
    };
    let t429 = wait_until(
        "the 429",
        WAIT,
        || host_a.requests_to("/limited.xml").first().map(|r| r.at),
        describe,
    )
    .await;
    // Wait until the deferral is well over, as seen by host B still being polled after it.
    wait_until(
        "host B to be polled after the deferral is over",
        WAIT,
        || {
            host_b
                .requests()
                .iter()
                .any(|r| r.at >= t429 + RETRY_AFTER + Duration::from_millis(500))
                .then_some(())
        },
        describe,
    )
    .await;
    assert!(daemon.is_running(), "daemon died\n{}", daemon.stderr());

    let all = format!(
        "{}(the 429 arrived at +{:?})\n--- stderr ---\n{}",
        describe(),
        t429.duration_since(started),
        daemon.stderr()
    );
    let window = |r: &Request| r.at > t429 + IN_FLIGHT && r.at < t429 + QUIET_UNTIL;
    let on_a: Vec<Request> = host_a.requests().into_iter().filter(window).collect();
    assert!(
        on_a.is_empty(),
        "host A was requested within {QUIET_UNTIL:?} of its 429 with Retry-After: 3: {:?}\n{all}",
        on_a.iter().map(|r| r.seq).collect::<Vec<_>>()
    );
    let on_b = host_b.requests().into_iter().filter(window).count();
    assert!(
        on_b >= 2,
        "host B kept being polled while host A was deferred ({on_b} requests in the window)\n{all}"
    );
    let out = daemon.stop().await;
    out.assert_code(0);
}
