//! PURE. The review's filter prompt: `topic:NAME`, `feed:TEXT` and `since:7d` tokens (a value
//! with spaces in double quotes: `topic:"NATO membership"`), the rest a plain, case-insensitive
//! substring of the headline.

use chrono::{DateTime, Utc};

use crate::store::AlertFilter;

/// Reads what was typed at the `/` prompt into a filter; an unreadable `since:` is an error
/// to show on the status line.
pub fn parse(input: &str, now: DateTime<Utc>) -> Result<AlertFilter, String> {
    let mut filter = AlertFilter::default();
    let mut words = Vec::new();
    for token in tokens(input) {
        let (key, value) = match token.split_once(':') {
            Some((k, v)) if matches!(k, "topic" | "feed" | "since") && !v.is_empty() => (k, v),
            _ => {
                words.push(token);
                continue;
            }
        };
        match key {
            "topic" => filter.topic = Some(value.to_string()),
            "feed" => filter.feed = Some(value.to_string()),
            _ => {
                let t = crate::cli::parse_since(value, now).map_err(|e| format!("since: {e}"))?;
                filter.since = Some(t);
            }
        }
    }
    if !words.is_empty() {
        filter.text = Some(words.join(" "));
    }
    Ok(filter)
}

/// Splits at spaces outside double quotes; the quotes themselves are dropped.
fn tokens(input: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in input.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_plain_text() {
        let now = DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let f = parse(
            r#"topic:"NATO membership" feed:wire since:7d  Finland  joins"#,
            now,
        )
        .unwrap();
        assert_eq!(f.topic.as_deref(), Some("NATO membership"));
        assert_eq!(f.feed.as_deref(), Some("wire"));
        assert_eq!(f.since, Some(now - chrono::Duration::days(7)));
        assert_eq!(f.text.as_deref(), Some("Finland joins"));
        assert_eq!(parse("", now).unwrap(), AlertFilter::default());
        assert_eq!(
            parse("topic: x", now).unwrap().text.as_deref(),
            Some("topic: x"),
            "an empty value is text"
        );
        assert!(parse("since:someday", now).unwrap_err().contains("since"));
    }
}
