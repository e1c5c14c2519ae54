//! The daemon's one-line state for `STATUS=` (what `systemctl status` shows).

use chrono::{DateTime, Local};

/// The daemon's one-line state for `STATUS=`:
/// `42 feeds · last poll 12:03 · 3 alerts today · 1 feed failing` (the failing part only when
/// some feed fails; `not polled yet` before the first poll).
pub fn status_line(
    feeds: usize,
    last_poll: Option<DateTime<Local>>,
    alerts_today: u64,
    failing: usize,
) -> String {
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = vec![plural(feeds as u64, "feed", "feeds")];
    parts.push(match last_poll {
        Some(t) => format!("last poll {}", t.format("%H:%M")),
        None => "not polled yet".to_string(),
    });
    parts.push(format!("{} today", plural(alerts_today, "alert", "alerts")));
    if failing > 0 {
        parts.push(format!(
            "{} failing",
            plural(failing as u64, "feed", "feeds")
        ));
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn status_lines() {
        let at = Local
            .with_ymd_and_hms(2026, 11, 28, 12, 3, 0)
            .earliest()
            .expect("local time");
        assert_eq!(
            status_line(42, Some(at), 3, 1),
            "42 feeds · last poll 12:03 · 3 alerts today · 1 feed failing"
        );
        assert_eq!(
            status_line(1, Some(at), 1, 0),
            "1 feed · last poll 12:03 · 1 alert today"
        );
        assert_eq!(
            status_line(0, None, 0, 2),
            "0 feeds · not polled yet · 0 alerts today · 2 feeds failing"
        );
    }
}
