//! What an alert's notification says: one alert ([`render`]) or many ([`render_summary`]),
//! as a markup body and a plain one, with the article's age.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Notification;
use super::escape::{escape_markup, is_openable, plain};
use crate::model::{Snippet, Urgency};

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
    let secs = now.signed_duration_since(then).num_seconds();
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
