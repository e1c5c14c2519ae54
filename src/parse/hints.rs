//! The scheduling hints a feed's header carries besides `<ttl>` (which feed-rs reads):
//! `<skipHours>`, `<skipDays>`, `sy:updatePeriod` / `sy:updateFrequency`.

/// `<skipHours>`, `<skipDays>` and `sy:updatePeriod` / `sy:updateFrequency` from the feed's
/// header (feed-rs does not read them).
///
/// The patterns are ASCII-only (`(?-u)`): tag names, digits and spaces, as the formats define
/// them. With Unicode `\w`, `\s` and `\d` the compiled regexes and their per-thread caches
/// held about 0.3 MB more for the daemon's life (massif, after a round of polls).
pub(super) fn schedule_hints(doc: &[u8]) -> crate::schedule::FeedHints {
    use regex::bytes::Regex;
    use std::sync::LazyLock;
    static SKIP_HOURS: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?s-u)<skipHours>(.*?)</skipHours>").expect("static regex"));
    static SKIP_DAYS: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?s-u)<skipDays>(.*?)</skipDays>").expect("static regex"));
    static HOUR: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?-u)<hour>\s*(\d{1,2})\s*</hour>").expect("static regex"));
    static DAY: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?-u)<day>\s*([A-Za-z]+)\s*</day>").expect("static regex"));
    static PERIOD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?-u)<(?:\w+:)?updatePeriod>\s*(hourly|daily|weekly|monthly|yearly)\s*</")
            .expect("static regex")
    });
    static FREQUENCY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?-u)<(?:\w+:)?updateFrequency>\s*(\d{1,6})\s*</").expect("static regex")
    });
    // The channel's header: before the first item or entry.
    let head = &doc[..doc.len().min(64 * 1024)];
    let head = ["<item", "<entry"]
        .iter()
        .filter_map(|tag| head.windows(tag.len()).position(|w| w == tag.as_bytes()))
        .min()
        .map_or(head, |end| &head[..end]);
    let text = |m: &[u8]| String::from_utf8_lossy(m).into_owned();
    let mut hints = crate::schedule::FeedHints::default();
    if let Some(block) = SKIP_HOURS.captures(head) {
        hints.skip_hours = HOUR
            .captures_iter(&block[1])
            .filter_map(|c| text(&c[1]).parse::<u32>().ok())
            .map(|h| h % 24)
            .collect();
    }
    if let Some(block) = SKIP_DAYS.captures(head) {
        hints.skip_days = DAY
            .captures_iter(&block[1])
            .filter_map(|c| text(&c[1]).parse::<chrono::Weekday>().ok())
            .collect();
    }
    if let Some(p) = PERIOD.captures(head) {
        let period = match &p[1] {
            b"hourly" => 3600,
            b"daily" => 86_400,
            b"weekly" => 7 * 86_400,
            b"monthly" => 30 * 86_400,
            _ => 365 * 86_400,
        };
        let frequency = FREQUENCY
            .captures(head)
            .and_then(|c| text(&c[1]).parse::<u64>().ok())
            .filter(|&f| f > 0)
            .unwrap_or(1);
        hints.update_every = Some(std::time::Duration::from_secs(period / frequency));
    }
    hints
}

#[cfg(test)]
mod tests {
    use crate::parse::parse_str;

    #[test]
    fn scheduling_hints_are_read() {
        let feed = parse_str(
            r#"<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel><title>T</title>
            <ttl>60</ttl><skipHours><hour>0</hour><hour>23</hour></skipHours>
            <skipDays><day>Saturday</day><day>Sunday</day></skipDays>
            <sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>
            <item><title>A</title><guid>g</guid><description>&lt;skipHours&gt;</description></item></channel></rss>"#,
        )
        .unwrap();
        let h = feed.hints;
        assert_eq!(h.ttl_minutes, Some(60));
        assert_eq!(h.skip_hours, [0, 23]);
        assert_eq!(h.skip_days, [chrono::Weekday::Sat, chrono::Weekday::Sun]);
        assert_eq!(h.update_every, Some(std::time::Duration::from_secs(1800)));
    }
}
