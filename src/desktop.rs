//! EDGE: desktop notifications (freedesktop Notifications over the session bus). The only
//! module that talks D-Bus.
//!
//! notify-rust models the notification (summary, body, hints, actions, expiry) and encodes its
//! hints; the transport is one long-lived zbus connection of ours, because notify-rust opens a
//! new connection per notification, has no timeout (a server that owns the name but never
//! answers blocks it forever), and `ActionInvoked` only arrives on a connection that stays open.
//! Every call here runs under [`CALL_TIMEOUT`]; `GetCapabilities` is asked once per connection.
//!
//! Feed text never becomes markup: with `body-markup` everything from a feed is escaped and
//! only our own `<b>` tags mark the hits; without it the body is plain text. Links are opened
//! through actions (http/https only), never `<a href>`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use thiserror::Error;
use tokio::sync::{Mutex, mpsc};
use tracing::debug;

use crate::model::{Snippet, Urgency};

/// A D-Bus call that gets no answer within this is a failure.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

const DEST: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";
const IFACE: &str = "org.freedesktop.Notifications";

/// Action keys tidings offers.
pub const ACTION_DEFAULT: &str = "default";
pub const ACTION_OPEN: &str = "open";
pub const ACTION_MUTE: &str = "mute";
/// Marks the alert wrong (not relevant) for its topic.
pub const ACTION_WRONG: &str = "wrong";
/// Marks the alert right (relevant) for its topic.
pub const ACTION_RIGHT: &str = "right";

/// What to show, before it is fitted to the server's capabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Plain text (the spec allows no markup in the summary).
    pub summary: String,
    /// Body for servers with `body-markup`: feed text escaped, hits in `<b>`.
    pub body_markup: String,
    /// Body for servers without it: plain text.
    pub body_plain: String,
    pub urgency: Urgency,
    /// Opened by the `default` and `open` actions (only http/https links are kept).
    pub link: Option<String>,
    /// Offer "Mute topic for 1 h" for this topic.
    pub mute_topic: Option<String>,
    /// The alert this notification shows on its own: offer "Not relevant" and "Relevant",
    /// which mark it. `None` for a summary (and for [`render`]'s result until the caller,
    /// which knows the alert's id, sets it).
    pub mark_alert: Option<i64>,
    /// How long the server should show it; `None` = the server's default.
    pub expire: Option<Duration>,
}

/// An action the user invoked on one of our notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feedback {
    /// `ActionInvoked(id, key)`.
    Action { id: u32, key: String },
    /// `NotificationClosed(id, reason)`: its actions can be forgotten.
    Closed { id: u32 },
    /// A notification server took the name on the bus: pending alerts can go now.
    ServerAppeared,
}

#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct NotifyError(pub String);

/// Something that shows notifications. Returns the server's id for the notification.
pub trait Notifier {
    fn send(&self, n: &Notification) -> impl Future<Output = Result<u32, NotifyError>> + Send;
}

/// The desktop's notification server on the session bus, over one kept-alive connection.
#[derive(Clone)]
pub struct DesktopNotifier {
    session: Arc<Mutex<Option<Session>>>,
    feedback: mpsc::UnboundedSender<Feedback>,
}

struct Session {
    conn: zbus::Connection,
    caps: Vec<String>,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl DesktopNotifier {
    /// The notifier, and the stream of what happens to its notifications (clicks, closes, a
    /// notification server appearing). Must be called inside the tokio runtime: it starts a
    /// task that watches the bus for a notification server.
    pub fn new() -> (Self, mpsc::UnboundedReceiver<Feedback>) {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(watch_for_server(tx.clone()));
        (
            DesktopNotifier {
                session: Arc::new(Mutex::new(None)),
                feedback: tx,
            },
            rx,
        )
    }

    async fn connect(&self) -> Result<Session, NotifyError> {
        let conn = timed("connecting to the session bus", zbus::Connection::session()).await?;
        let caps: Vec<String> = timed(
            "GetCapabilities",
            conn.call_method(Some(DEST), PATH, Some(IFACE), "GetCapabilities", &()),
        )
        .await?
        .body()
        .deserialize()
        .map_err(|e| NotifyError(format!("GetCapabilities: {e}")))?;
        debug!(?caps, "notification server capabilities");
        // Subscribe before the first Notify, so that no click can arrive unheard.
        let signals = timed("subscribing to notification signals", subscribe(&conn)).await?;
        let listener = tokio::spawn(listen(signals, self.feedback.clone()));
        Ok(Session {
            conn,
            caps,
            listener,
        })
    }
}

/// Reports every time a notification server takes its name on the session bus, so pending
/// alerts go out as soon as the desktop is up. Without a session bus it retries slowly.
async fn watch_for_server(tx: mpsc::UnboundedSender<Feedback>) {
    let mut pause = Duration::from_secs(5);
    loop {
        if let Ok(Ok(conn)) = tokio::time::timeout(CALL_TIMEOUT, zbus::Connection::session()).await
        {
            pause = Duration::from_secs(5);
            let rule = zbus::MatchRule::builder()
                .msg_type(zbus::message::Type::Signal)
                .sender("org.freedesktop.DBus")
                .interface("org.freedesktop.DBus")
                .member("NameOwnerChanged")
                .add_arg(DEST)
                .build();
            if let Ok(rule) = rule
                && let Ok(mut stream) = zbus::MessageStream::for_match_rule(rule, &conn, None).await
            {
                while let Some(Ok(msg)) = stream.next().await {
                    let appeared = msg
                        .body()
                        .deserialize::<(String, String, String)>()
                        .is_ok_and(|(_, _, new_owner)| !new_owner.is_empty());
                    if appeared && tx.send(Feedback::ServerAppeared).is_err() {
                        return;
                    }
                }
            }
        }
        if tx.is_closed() {
            return;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(300));
    }
}

/// Forwards `ActionInvoked` and `NotificationClosed` until the connection ends.
type Signals = futures_util::stream::Select<zbus::MessageStream, zbus::MessageStream>;

/// The `ActionInvoked` and `NotificationClosed` signals on `conn`.
async fn subscribe(conn: &zbus::Connection) -> zbus::Result<Signals> {
    let rule = |member: &'static str| {
        zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface(IFACE)
            .member(member)
            .build()
    };
    let actions = zbus::MessageStream::for_match_rule(rule("ActionInvoked")?, conn, None).await?;
    let closes =
        zbus::MessageStream::for_match_rule(rule("NotificationClosed")?, conn, None).await?;
    Ok(futures_util::stream::select(actions, closes))
}

async fn listen(mut all: Signals, tx: mpsc::UnboundedSender<Feedback>) {
    while let Some(Ok(msg)) = all.next().await {
        let header = msg.header();
        let feedback = match header.member().map(|m| m.as_str()) {
            Some("ActionInvoked") => msg
                .body()
                .deserialize::<(u32, String)>()
                .ok()
                .map(|(id, key)| Feedback::Action { id, key }),
            Some("NotificationClosed") => msg
                .body()
                .deserialize::<(u32, u32)>()
                .ok()
                .map(|(id, _)| Feedback::Closed { id }),
            _ => None,
        };
        if let Some(f) = feedback
            && tx.send(f).is_err()
        {
            return;
        }
    }
}

async fn timed<T, E: std::fmt::Display>(
    what: &str,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, NotifyError> {
    match tokio::time::timeout(CALL_TIMEOUT, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(NotifyError(format!("{what}: {e}"))),
        Err(_) => Err(NotifyError(format!(
            "{what}: no answer within {}s",
            CALL_TIMEOUT.as_secs()
        ))),
    }
}

impl Notifier for DesktopNotifier {
    async fn send(&self, n: &Notification) -> Result<u32, NotifyError> {
        let mut guard = self.session.lock().await;
        if guard.as_ref().is_none_or(|s| s.listener.is_finished()) {
            *guard = Some(self.connect().await?);
        }
        let session = guard.as_ref().expect("connected above");
        let note = build(n, &session.caps);
        #[allow(deprecated)] // notify-rust 4 encodes hints as `zvariant::Value`
        let hints: HashMap<&str, zbus::zvariant::Value<'_>> =
            note.hints.iter().map(Into::into).collect();
        let body = (
            &note.appname,
            0u32,
            &note.icon,
            &note.summary,
            &note.body,
            &note.actions,
            hints,
            i32::from(note.timeout),
        );
        let call = session
            .conn
            .call_method(Some(DEST), PATH, Some(IFACE), "Notify", &body);
        let result = timed("Notify", call).await.and_then(|reply| {
            reply
                .body()
                .deserialize::<u32>()
                .map_err(|e| NotifyError(format!("Notify: {e}")))
        });
        if result.is_err() {
            // Start afresh next time: the server may have gone, or come back as another owner.
            *guard = None;
        }
        result
    }
}

/// The notify-rust model of `n`, fitted to the server's capabilities.
pub fn build(n: &Notification, caps: &[String]) -> notify_rust::Notification {
    let has = |c: &str| caps.iter().any(|x| x == c);
    let mut note = notify_rust::Notification::new();
    note.appname("tidings")
        .summary(&n.summary)
        .body(if has("body-markup") {
            &n.body_markup
        } else {
            &n.body_plain
        })
        .icon("application-rss+xml")
        .urgency(match n.urgency {
            Urgency::Low => notify_rust::Urgency::Low,
            Urgency::Normal => notify_rust::Urgency::Normal,
            Urgency::Critical => notify_rust::Urgency::Critical,
        })
        .hint(notify_rust::Hint::DesktopEntry("tidings".into()))
        .hint(notify_rust::Hint::Category("x-tidings.alert".into()));
    if let Some(d) = n.expire {
        note.timeout(d);
    }
    if has("actions") {
        if n.link.is_some() {
            note.action(ACTION_DEFAULT, "Open article")
                .action(ACTION_OPEN, "Open");
        }
        if n.mute_topic.is_some() {
            note.action(ACTION_MUTE, "Mute topic for 1 h");
        }
        if n.mark_alert.is_some() {
            note.action(ACTION_WRONG, "Not relevant")
                .action(ACTION_RIGHT, "Relevant");
        }
    }
    note
}

/// Escapes feed text for the notification body markup (`&`, `<`, `>`, quotes), dropping
/// control characters that markup cannot carry.
pub fn escape_markup(s: &str) -> String {
    quick_xml::escape::escape(plain(s).as_str()).into_owned()
}

/// Control characters other than newline and tab are not valid in markup, nor useful in text.
fn push_plain(out: &mut String, c: char) {
    if !c.is_control() || c == '\n' || c == '\t' {
        out.push(c);
    }
}

fn plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    s.chars().for_each(|c| push_plain(&mut out, c));
    out
}

/// What one alert's notification says.
#[derive(Debug, Clone)]
pub struct AlertContent<'a> {
    pub topic: &'a str,
    pub headline: &'a str,
    pub source: &'a str,
    pub published: Option<DateTime<Utc>>,
    pub snippet: &'a Snippet,
    pub link: Option<&'a str>,
    /// For a topic that learns: the model's score (0–1), shown after the source.
    pub score: Option<f64>,
}

/// Summary = the topic; body = the headline, "Source · 4 min ago" (" · score 0.93" for a topic
/// that learns), and the snippet with the hits marked (in `<b>` for markup servers).
pub fn render(
    a: &AlertContent<'_>,
    urgency: Urgency,
    now: DateTime<Utc>,
    expire: Option<Duration>,
) -> Notification {
    let headline = one_line(a.headline);
    let mut source_line = one_line(a.source).to_string();
    if let Some(age) = a.published.and_then(|p| age(now, p)) {
        source_line.push_str(" · ");
        source_line.push_str(&age);
    }
    if let Some(score) = a.score.filter(|s| s.is_finite()) {
        source_line.push_str(&format!(" · score {score:.2}"));
    }
    let mut markup = format!(
        "{}\n{}",
        escape_markup(headline),
        escape_markup(&source_line)
    );
    let mut plain_body = format!("{}\n{}", plain(headline), plain(&source_line));
    let snippet_text = one_line(&a.snippet.text);
    if !snippet_text.is_empty() && snippet_text != headline {
        markup.push('\n');
        plain_body.push('\n');
        for (seg, hit) in a.snippet.segments() {
            let seg = seg.replace(['\n', '\r'], " ");
            if hit {
                markup.push_str("<b>");
                markup.push_str(&escape_markup(&seg));
                markup.push_str("</b>");
            } else {
                markup.push_str(&escape_markup(&seg));
            }
            plain_body.push_str(&plain(&seg));
        }
    }
    Notification {
        summary: plain(a.topic),
        body_markup: markup,
        body_plain: plain_body,
        urgency,
        link: a.link.filter(|l| is_openable(l)).map(str::to_string),
        mute_topic: Some(a.topic.to_string()),
        mark_alert: None,
        expire,
    }
}

/// One notification for many alerts: "7 new alerts — NATO membership (4), Putin–Zelensky talks (3)",
/// with the newest headlines in the body. `alerts` is (topic, headline, link), newest first.
pub fn render_summary(
    alerts: &[(&str, &str, Option<&str>)],
    urgency: Urgency,
    expire: Option<Duration>,
) -> Notification {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for (topic, _, _) in alerts {
        match counts.iter_mut().find(|(t, _)| t == topic) {
            Some((_, n)) => *n += 1,
            None => counts.push((topic, 1)),
        }
    }
    let topics: Vec<String> = counts
        .iter()
        .map(|(t, n)| format!("{} ({n})", plain(t)))
        .collect();
    let noun = if alerts.len() == 1 { "alert" } else { "alerts" };
    let summary = format!("{} new {noun} — {}", alerts.len(), topics.join(", "));
    let shown = 5;
    let mut lines_markup = Vec::new();
    let mut lines_plain = Vec::new();
    for (topic, headline, _) in alerts.iter().take(shown) {
        lines_markup.push(format!(
            "{}: {}",
            escape_markup(topic),
            escape_markup(one_line(headline))
        ));
        lines_plain.push(format!("{}: {}", plain(topic), plain(one_line(headline))));
    }
    if alerts.len() > shown {
        let more = format!("… and {} more (tidings history)", alerts.len() - shown);
        lines_markup.push(escape_markup(&more));
        lines_plain.push(more);
    }
    Notification {
        summary,
        body_markup: lines_markup.join("\n"),
        body_plain: lines_plain.join("\n"),
        urgency,
        link: alerts
            .iter()
            .find_map(|(_, _, l)| l.filter(|l| is_openable(l)))
            .map(str::to_string),
        mute_topic: None,
        mark_alert: None,
        expire,
    }
}

/// "just now", "4 min ago", "3 h ago", "2 days ago"; `None` for a time in the future.
pub fn age(now: DateTime<Utc>, then: DateTime<Utc>) -> Option<String> {
    let secs = (now - then).num_seconds();
    if secs < -60 {
        return None;
    }
    Some(match secs {
        ..60 => "just now".to_string(),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        86_400..172_800 => "1 day ago".to_string(),
        _ => format!("{} days ago", secs / 86_400),
    })
}

fn one_line(s: &str) -> &str {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

/// Only http and https links are ever opened.
pub fn is_openable(link: &str) -> bool {
    url::Url::parse(link).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The opener's own guard, whatever the parser let through: a feed that smuggles another
    /// scheme into a link never gets it opened.
    #[test]
    fn only_http_and_https_links_are_openable() {
        for ok in [
            "https://example.com/a",
            "http://example.com/a?b=1#c",
            "HTTPS://EXAMPLE.COM/",
        ] {
            assert!(is_openable(ok), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            " javascript:alert(1)",
            "file:///etc/passwd",
            "data:text/html,<script>alert(1)</script>",
            "mailto:a@example.com",
            "ftp://example.com/a",
            "vbscript:msgbox",
            "/relative/path",
            "example.com/a",
            "",
        ] {
            assert!(!is_openable(bad), "{bad}");
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn feed_text_is_escaped_and_only_hits_are_bold() {
        let snippet = Snippet {
            field: None,
            text: "Finland <applies> to join NATO & 'more'".into(),
            marks: vec![(26, 30)],
        };
        let content = AlertContent {
            topic: "NATO & friends",
            headline: r#"<a href="https://evil.example">Click</a> & <img src="file:///etc/passwd">"#,
            source: "Wire <b>News</b>",
            published: Some(t("2026-11-27T11:56:00Z")),
            snippet: &snippet,
            link: Some("javascript:alert(1)"),
            score: None,
        };
        let n = render(&content, Urgency::Critical, t("2026-11-27T12:00:00Z"), None);
        assert_eq!(
            n.summary, "NATO & friends",
            "the summary is plain text, not escaped"
        );
        assert_eq!(
            n.body_markup,
            "&lt;a href=&quot;https://evil.example&quot;&gt;Click&lt;/a&gt; &amp; &lt;img src=&quot;file:///etc/passwd&quot;&gt;\n\
             Wire &lt;b&gt;News&lt;/b&gt; · 4 min ago\n\
             Finland &lt;applies&gt; to join <b>NATO</b> &amp; &apos;more&apos;"
        );
        assert_eq!(
            n.body_plain,
            "<a href=\"https://evil.example\">Click</a> & <img src=\"file:///etc/passwd\">\n\
             Wire <b>News</b> · 4 min ago\n\
             Finland <applies> to join NATO & 'more'"
        );
        assert_eq!(n.link, None, "only http(s) links are opened");
    }

    /// A learned topic's alert says its score after the source (two decimals), in both bodies;
    /// without a score (a topic that does not learn) nothing is added.
    #[test]
    fn a_learned_alert_shows_its_score_after_the_source() {
        let snippet = Snippet {
            field: None,
            text: "Kremlin says talks with Kyiv resume".into(),
            marks: vec![(13, 18)],
        };
        let content = AlertContent {
            topic: "Talks",
            headline: "Talks resume",
            source: "Wire",
            published: Some(t("2026-11-27T11:56:00Z")),
            snippet: &snippet,
            link: None,
            score: Some(0.9349),
        };
        let now = t("2026-11-27T12:00:00Z");
        let n = render(&content, Urgency::Normal, now, None);
        assert_eq!(
            n.body_plain,
            "Talks resume\nWire · 4 min ago · score 0.93\nKremlin says talks with Kyiv resume"
        );
        assert_eq!(
            n.body_markup,
            "Talks resume\nWire · 4 min ago · score 0.93\nKremlin says <b>talks</b> with Kyiv resume"
        );
        let n = render(
            &AlertContent {
                published: None,
                ..content.clone()
            },
            Urgency::Normal,
            now,
            None,
        );
        assert_eq!(n.body_plain.lines().nth(1), Some("Wire · score 0.93"));
        let n = render(
            &AlertContent {
                score: None,
                ..content
            },
            Urgency::Normal,
            now,
            None,
        );
        assert_eq!(n.body_plain.lines().nth(1), Some("Wire · 4 min ago"));
    }

    #[test]
    fn capabilities_choose_body_and_actions() {
        let snippet = Snippet::default();
        let content = AlertContent {
            topic: "T",
            headline: "A & B",
            source: "S",
            published: None,
            snippet: &snippet,
            link: Some("https://example.com/a"),
            score: None,
        };
        let n = render(
            &content,
            Urgency::Low,
            t("2026-11-27T12:00:00Z"),
            Some(Duration::from_secs(10)),
        );
        let caps = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let rich = build(&n, &caps(&["body", "body-markup", "actions"]));
        assert_eq!(rich.body, "A &amp; B\nS");
        assert_eq!(
            rich.actions,
            [
                "default",
                "Open article",
                "open",
                "Open",
                "mute",
                "Mute topic for 1 h"
            ]
        );
        assert_eq!(i32::from(rich.timeout), 10_000);
        let bare = build(&n, &caps(&["body"]));
        assert_eq!(bare.body, "A & B\nS");
        assert!(bare.actions.is_empty());
    }

    #[test]
    fn a_single_alert_offers_marks_after_the_other_actions_a_summary_does_not() {
        let snippet = Snippet::default();
        let content = AlertContent {
            topic: "T",
            headline: "A",
            source: "S",
            published: None,
            snippet: &snippet,
            link: Some("https://example.com/a"),
            score: None,
        };
        let mut n = render(&content, Urgency::Normal, t("2026-11-27T12:00:00Z"), None);
        assert_eq!(n.mark_alert, None, "render does not know the alert's id");
        n.mark_alert = Some(42);
        let caps = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            build(&n, &caps(&["body", "actions"])).actions,
            [
                "default",
                "Open article",
                "open",
                "Open",
                "mute",
                "Mute topic for 1 h",
                "wrong",
                "Not relevant",
                "right",
                "Relevant"
            ]
        );
        assert!(
            build(&n, &caps(&["body"])).actions.is_empty(),
            "no actions without the `actions` capability"
        );
        // No link: no open actions, the marks still.
        let content = AlertContent {
            link: None,
            ..content
        };
        let mut n = render(&content, Urgency::Normal, t("2026-11-27T12:00:00Z"), None);
        n.mark_alert = Some(42);
        assert_eq!(
            build(&n, &caps(&["actions"])).actions,
            [
                "mute",
                "Mute topic for 1 h",
                "wrong",
                "Not relevant",
                "right",
                "Relevant"
            ]
        );

        let summary = render_summary(
            &[("T", "a", Some("https://x.example/1")), ("T", "b", None)],
            Urgency::Normal,
            None,
        );
        assert_eq!(summary.mark_alert, None);
        let keys: Vec<String> = build(&summary, &caps(&["actions"]))
            .actions
            .into_iter()
            .step_by(2)
            .collect();
        assert_eq!(keys, ["default", "open"], "a summary gets no mark actions");
    }

    #[test]
    fn ages() {
        let now = t("2026-11-27T12:00:00Z");
        let cases = [
            ("2026-11-27T11:59:30Z", Some("just now")),
            ("2026-11-27T11:56:00Z", Some("4 min ago")),
            ("2026-11-27T09:00:00Z", Some("3 h ago")),
            ("2026-11-26T11:00:00Z", Some("1 day ago")),
            ("2026-11-20T12:00:00Z", Some("7 days ago")),
            ("2026-11-27T13:00:00Z", None),
        ];
        for (then, want) in cases {
            assert_eq!(age(now, t(then)).as_deref(), want, "{then}");
        }
    }

    #[test]
    fn summary_counts_topics() {
        let alerts = [
            ("NATO membership", "a", Some("https://x.example/1")),
            ("Putin–Zelensky talks", "b", None),
            ("NATO membership", "c <d>", None),
        ];
        let n = render_summary(&alerts, Urgency::Normal, None);
        assert_eq!(
            n.summary,
            "3 new alerts — NATO membership (2), Putin–Zelensky talks (1)"
        );
        assert_eq!(
            n.body_markup,
            "NATO membership: a\nPutin–Zelensky talks: b\nNATO membership: c &lt;d&gt;"
        );
        assert_eq!(n.link.as_deref(), Some("https://x.example/1"));
    }

    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(escape_markup("a\u{0}b\u{1b}[31mc\td"), "ab[31mc\td");
    }
}
