//! Fits a [`Notification`] to the server's capabilities: notify-rust's model with the markup or
//! the plain body, and the actions tidings offers (when the server shows actions).

use super::Notification;
use crate::model::Urgency;

/// Action keys tidings offers.
pub const ACTION_DEFAULT: &str = "default";
pub const ACTION_OPEN: &str = "open";
pub const ACTION_MUTE: &str = "mute";
/// Marks the alert wrong (not relevant) for its topic.
pub const ACTION_WRONG: &str = "wrong";
/// Marks the alert right (relevant) for its topic.
pub const ACTION_RIGHT: &str = "right";

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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::{DateTime, Utc};

    use super::*;
    use crate::desktop::{AlertContent, render, render_summary};
    use crate::model::Snippet;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
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
}
