//! Tests of the harness itself, so that an e2e failure points at tidings, not at the harness.

use std::collections::HashMap;

use super::dbus::{NOTIFICATIONS_NAME, NOTIFICATIONS_PATH, TestBus};
use super::http::{Behaviour, Response, TestServer};

async fn call<B>(conn: &zbus::Connection, method: &str, body: B) -> zbus::Message
where
    B: serde::Serialize + zbus::DynamicType,
{
    conn.call_method(
        Some(NOTIFICATIONS_NAME),
        NOTIFICATIONS_PATH,
        Some(NOTIFICATIONS_NAME),
        method,
        &body,
    )
    .await
    .unwrap_or_else(|e| panic!("{method}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_server_records_notify_and_answers_capabilities() {
    let Some(bus) = TestBus::start_or_skip("notification_server_records_notify").await else {
        return;
    };
    let conn = zbus::connection::Builder::address(bus.address())
        .build()
        .await
        .expect("client connection to the private bus");
    let caps = conn
        .call_method(
            Some(NOTIFICATIONS_NAME),
            NOTIFICATIONS_PATH,
            Some(NOTIFICATIONS_NAME),
            "GetCapabilities",
            &(),
        )
        .await
        .expect("GetCapabilities");
    let caps: Vec<String> = caps.body().deserialize().expect("as");
    assert_eq!(caps, ["body", "body-markup", "actions"]);
    bus.set_capabilities(&["body"]);

    let mut hints: HashMap<&str, zbus::Variant<'_>> = HashMap::new();
    hints.insert("urgency", zbus::Variant::U8(2));
    hints.insert("desktop-entry", zbus::Variant::from("tidings"));
    let reply = call(
        &conn,
        "Notify",
        (
            "tidings",
            0u32,
            "",
            "Topic & more",
            "Head &amp; line\nSource",
            vec!["default", "Open"],
            hints,
            -1i32,
        ),
    )
    .await;
    let id: u32 = reply.body().deserialize().expect("u");
    assert_eq!(id, 1);
    let info = call(&conn, "GetServerInformation", ()).await;
    let (name, ..): (String, String, String, String) = info.body().deserialize().expect("ssss");
    assert_eq!(name, "tidings-test-server");
    call(&conn, "CloseNotification", (id,)).await;

    let notes = bus.notifications();
    assert_eq!(notes.len(), 1);
    let n = &notes[0];
    assert_eq!(n.summary, "Topic & more");
    assert_eq!(n.body_lines(), ["Head &amp; line", "Source"]);
    assert_eq!(n.actions, ["default", "Open"]);
    assert_eq!(n.hints.get("urgency").map(String::as_str), Some("2"));
    assert_eq!(
        n.hints.get("desktop-entry").map(String::as_str),
        Some("tidings")
    );
    assert_eq!(n.expire_timeout, -1);
    assert_eq!(bus.closed(), [1]);
    let caps = call(&conn, "GetCapabilities", ()).await;
    let caps: Vec<String> = caps.body().deserialize().expect("as");
    assert_eq!(caps, ["body"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_server_answers_conditional_requests_and_redirects() {
    let server = TestServer::start().await;
    server.set(
        "/f",
        Response::ok("feed")
            .etag("\"v1\"")
            .last_modified("Tue, 22 Mar 2022 12:00:00 GMT"),
    );
    server.set(
        "/old",
        Behaviour::Redirect {
            status: 301,
            location: "/f".into(),
        },
    );
    let client = tidings::fetch::client_builder().no_proxy().build().unwrap();
    let get = |path: &str, headers: &[(&str, &str)]| {
        let mut req = client.get(server.url(path));
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        req.send()
    };
    let r = get("/f", &[]).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], "\"v1\"");
    assert_eq!(r.text().await.unwrap(), "feed");
    let r = get("/f", &[("If-None-Match", "\"v1\"")]).await.unwrap();
    assert_eq!(r.status(), 304);
    let r = get("/f", &[("If-None-Match", "W/\"v0\", \"v1\"")])
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    // If-None-Match wins: a different tag means 200 even with a matching date.
    let r = get(
        "/f",
        &[
            ("If-None-Match", "\"v0\""),
            ("If-Modified-Since", "Tue, 22 Mar 2022 12:00:00 GMT"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let r = get(
        "/f",
        &[("If-Modified-Since", "Wed, 23 Mar 2022 00:00:00 GMT")],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 304);
    let r = get(
        "/f",
        &[("If-Modified-Since", "Mon, 21 Mar 2022 00:00:00 GMT")],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let r = get("/old", &[]).await.unwrap();
    assert_eq!(r.status(), 200, "redirect followed");
    assert_eq!(r.url().path(), "/f");
    assert_eq!(get("/nothing", &[]).await.unwrap().status(), 404);

    let reqs = server.requests();
    let statuses: Vec<Option<u16>> = reqs.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [200, 304, 304, 200, 304, 200, 301, 200, 404].map(Some)
    );
    assert!(reqs.iter().enumerate().all(|(i, r)| r.seq == i));
    assert_eq!(reqs[1].header("if-none-match"), Some("\"v1\""));
    assert_eq!(server.requests_to("/old").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_server_faults_reset_mid_body_and_closed_port() {
    let server = TestServer::start().await;
    server.set(
        "/reset",
        Behaviour::ResetMidBody {
            response: Response::ok(vec![b'x'; 10_000]),
            after: 100,
        },
    );
    let client = tidings::fetch::client_builder().no_proxy().build().unwrap();
    let r = client.get(server.url("/reset")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.bytes().await.is_err(),
        "a reset body must not read as complete"
    );

    let closed = super::http::closed_port_url("/x").await;
    assert!(client.get(&closed).send().await.is_err());

    server.set("/hang", Behaviour::Hang);
    let r = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        client.get(server.url("/hang")).send(),
    )
    .await;
    assert!(r.is_err(), "a hanging route must not answer");
}

/// The pseudo-terminal: the program sees a terminal of the size asked for, what it prints
/// lands on the parsed screen, typed keys reach it, and its exit status is read.
#[test]
fn pty_shows_the_screen_takes_keys_and_reports_the_exit_status() {
    use super::pty::{Pty, keys};
    let mut cmd = std::process::Command::new("sh");
    cmd.args([
        "-c",
        "stty size; printf 'name? '; read name; echo \"hello $name\"; exit 3",
    ]);
    let mut term = Pty::spawn(&cmd, 24, 80);
    let wait = std::time::Duration::from_secs(20);
    term.wait_for("the size and the prompt", wait, |s| {
        super::pty::line(s, 0) == "24 80" && super::pty::line(s, 1) == "name?"
    });
    term.send("tidings");
    term.send(keys::ENTER);
    term.wait_for("the greeting", wait, |s| {
        super::pty::lines(s).iter().any(|l| l == "hello tidings")
    });
    let status = term.wait_exit(wait);
    assert_eq!(status.exit_code(), 3, "{status:?}\n{}", term.dump());
}

/// `tidings` itself in the pseudo-terminal, with the sandbox's command (environment,
/// working directory): `status` on a fresh sandbox prints and exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pty_runs_tidings_with_the_sandbox_command() {
    use super::pty::Pty;
    let sb = super::cli::Sandbox::new();
    sb.write_config("");
    let piped = sb.tidings(&["status"]).await;
    let (mut cmd, _) = sb.command_with_files(&["status"]);
    cmd.env("TERM", "xterm-256color");
    tokio::task::block_in_place(|| {
        let mut term = Pty::spawn(cmd.as_std(), 24, 80);
        let status = term.wait_exit(std::time::Duration::from_secs(20));
        let first = piped.stdout.lines().chain(piped.stderr.lines()).next();
        let first = first.expect("status says something").trim_end().to_owned();
        assert!(
            term.contents().contains(&first),
            "{first:?} on the terminal\n{}",
            term.dump()
        );
        assert_eq!(
            Some(status.exit_code() as i32),
            piped.code,
            "{status:?} as without a terminal\n{}\n{}",
            piped.dump(),
            term.dump()
        );
    });
}
