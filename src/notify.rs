//! EDGE: desktop notifications (freedesktop, over D-Bus through notify-rust). The only module
//! that talks D-Bus.
//!
//! Feed text never becomes markup: everything from a feed is escaped for the body markup
//! (`&`, `<`, `>`), and links are opened through actions, never `<a href>`.

use std::future::Future;
use std::time::Duration;

use thiserror::Error;

use crate::model::Urgency;
use crate::store::PendingAlert;

/// A notification call that gets no answer within this is a failure (notify-rust has no timeout).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// What to show for one alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Plain text (the spec does not allow markup in the summary).
    pub summary: String,
    /// Body markup, already escaped.
    pub body: String,
    pub urgency: Urgency,
    /// Opened by the default action (only http/https).
    pub link: Option<String>,
}

#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct NotifyError(pub String);

/// Something that shows notifications.
pub trait Notifier {
    fn send(&self, n: &Notification) -> impl Future<Output = Result<(), NotifyError>> + Send;
}

/// The desktop's notification server on the session bus.
#[derive(Debug, Clone, Default)]
pub struct DesktopNotifier;

impl Notifier for DesktopNotifier {
    async fn send(&self, n: &Notification) -> Result<(), NotifyError> {
        let mut note = notify_rust::Notification::new();
        note.appname("tidings")
            .summary(&n.summary)
            .body(&n.body)
            .urgency(match n.urgency {
                Urgency::Low => notify_rust::Urgency::Low,
                Urgency::Normal => notify_rust::Urgency::Normal,
                Urgency::Critical => notify_rust::Urgency::Critical,
            })
            .hint(notify_rust::Hint::DesktopEntry("tidings".into()))
            .hint(notify_rust::Hint::Category("im.received".into()));
        match tokio::time::timeout(SEND_TIMEOUT, note.show_async()).await {
            Ok(Ok(_handle)) => Ok(()),
            Ok(Err(e)) => Err(NotifyError(e.to_string())),
            Err(_) => Err(NotifyError(format!(
                "the notification server did not answer within {}s",
                SEND_TIMEOUT.as_secs()
            ))),
        }
    }
}

/// Escapes feed text for the notification body markup.
pub fn escape_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than newline and tab are not valid in XML.
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// The notification for an alert: summary = topic; body = headline, source, snippet.
pub fn render(alert: &PendingAlert, urgency: Urgency) -> Notification {
    let mut body = escape_markup(one_line(&alert.title));
    body.push('\n');
    body.push_str(&escape_markup(one_line(&alert.source)));
    let snippet = one_line(&alert.snippet.text);
    if !snippet.is_empty() && snippet != one_line(&alert.title) {
        body.push('\n');
        body.push_str(&escape_markup(snippet));
    }
    Notification {
        summary: alert.topic.clone(),
        body,
        urgency,
        link: alert.link.clone().filter(|l| is_openable(l)),
    }
}

fn one_line(s: &str) -> &str {
    s.lines().next().unwrap_or("").trim()
}

/// Only http and https links are ever opened.
pub fn is_openable(link: &str) -> bool {
    url::Url::parse(link).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Snippet;

    fn alert(title: &str, source: &str, snippet: &str) -> PendingAlert {
        PendingAlert {
            id: 1,
            topic: "NATO & friends".into(),
            title: title.into(),
            link: Some("javascript:alert(1)".into()),
            source: source.into(),
            snippet: Snippet {
                field: None,
                text: snippet.into(),
                marks: vec![],
            },
            published_at: None,
            created_at: Default::default(),
            attempts: 0,
        }
    }

    #[test]
    fn feed_text_is_escaped_and_never_markup() {
        let n = render(
            &alert(
                r#"<a href="https://evil.example">Click</a> & <img src="file:///etc/passwd">"#,
                "Wire <b>News</b>",
                "Finland 'applies' to join",
            ),
            Urgency::Critical,
        );
        assert_eq!(
            n.summary, "NATO & friends",
            "the summary is plain text, not escaped"
        );
        assert_eq!(
            n.body,
            "&lt;a href=&quot;https://evil.example&quot;&gt;Click&lt;/a&gt; &amp; &lt;img src=&quot;file:///etc/passwd&quot;&gt;\n\
             Wire &lt;b&gt;News&lt;/b&gt;\n\
             Finland &apos;applies&apos; to join"
        );
        assert_eq!(n.link, None, "only http(s) links are opened");
    }

    #[test]
    fn snippet_equal_to_title_is_not_repeated() {
        let n = render(&alert("Headline", "Src", "Headline"), Urgency::Normal);
        assert_eq!(n.body, "Headline\nSrc");
    }

    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(escape_markup("a\u{0}b\u{1b}[31mc\td"), "ab[31mc\td");
    }
}
