//! `tidings status`: every feed's health, as a table or JSON.

use std::process::ExitCode;

use super::paths::{load_config, open_store_read_only};
use super::{Failure, Global};
use crate::config;
use crate::sanitize::escape_controls;
use crate::store::Store;

/// `tidings status`.
pub(super) fn status_command(global: &Global, json: bool) -> Result<ExitCode, Failure> {
    let store = open_store_read_only(global)?;
    // The watch-list, when readable, tells feeds switched off from feeds removed.
    let switched_off: Vec<String> = load_config(global)
        .map(|c| c.disabled_feeds.iter().map(|f| f.url.to_string()).collect())
        .unwrap_or_default();
    status(&store, json, &switched_off)
}

/// `t` in `tz` as `MM-DD HH:MM`, with the year in front (`YYYY-MM-DD HH:MM`) when it is not
/// `now`'s year there: a deferral can run into the next year.
fn when<Tz: chrono::TimeZone>(
    t: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
    tz: &Tz,
) -> String
where
    Tz::Offset: std::fmt::Display,
{
    use chrono::Datelike;
    let t = t.with_timezone(tz);
    let format = if t.year() == now.with_timezone(tz).year() {
        "%m-%d %H:%M"
    } else {
        "%Y-%m-%d %H:%M"
    };
    t.format(format).to_string()
}

/// `tidings status`: every feed's health, read from the database (works while the daemon runs).
/// The table's text is escaped ([`escape_controls`]); JSON escapes control characters itself.
fn status(store: &Store, json: bool, switched_off: &[String]) -> Result<ExitCode, Failure> {
    let now = chrono::Utc::now();
    let feeds = store.feeds()?;
    let deferrals = store.host_deferrals(now)?;
    let config_error = store.state("config_error")?;
    let deferred_for = |f: &crate::store::FeedState| deferral_of(f, &deferrals);
    if json {
        let feeds: Vec<_> = feeds
            .iter()
            .map(|f| {
                serde_json::json!({
                    "name": f.name.clone().or_else(|| f.title.clone()),
                    "url": shown_url(&f.url),
                    "fetch_url": f.fetch_url.as_deref().map(shown_url),
                    "in_config": f.in_config || switched_off.contains(&f.url),
                    "enabled": !switched_off.contains(&f.url),
                    "last_polled_at": f.last_polled_at,
                    "last_status": f.last_status,
                    "last_new_articles": f.last_new_articles,
                    "next_poll_at": f.next_poll_at,
                    "consecutive_failures": f.consecutive_failures,
                    "disabled": f.disabled_reason,
                    "deferred": deferred_for(f),
                    "last_error": f.last_error,
                })
            })
            .collect();
        let doc = serde_json::json!({ "config_error": config_error, "feeds": feeds });
        println!("{doc}");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(e) = &config_error {
        println!(
            "watch-list NOT reloaded (the previous one is in force): {}\n",
            escape_controls(e)
        );
    }
    if feeds.is_empty() {
        println!("no feeds polled yet");
        return Ok(ExitCode::SUCCESS);
    }
    let local = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| "-".into())
    };
    println!(
        "{:<28} {:<11} {:>4} {:>4} {:<11} {:>5}  STATE",
        "FEED", "LAST POLL", "HTTP", "NEW", "NEXT POLL", "FAILS"
    );
    for f in &feeds {
        let name = f
            .name
            .clone()
            .or_else(|| f.title.clone())
            .unwrap_or_else(|| shown_url(&f.url));
        let name = escape_controls(&name).into_owned();
        let name: String = if name.chars().count() > 28 {
            name.chars().take(27).chain(['…']).collect()
        } else {
            name
        };
        let state = feed_health(f, switched_off.contains(&f.url), deferred_for(f), |t| {
            when(t, now, &chrono::Local)
        });
        println!(
            "{:<28} {:<11} {:>4} {:>4} {:<11} {:>5}  {}",
            name,
            local(f.last_polled_at),
            f.last_status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into()),
            f.last_new_articles,
            if f.disabled_reason.is_some() || !f.in_config {
                "-".into()
            } else {
                local(f.next_poll_at)
            },
            f.consecutive_failures,
            escape_controls(&state.join("; "))
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The pause its host asked for that holds `f` (its host is where it is fetched from: the
/// adopted redirect, else its URL).
pub fn deferral_of<'a>(
    f: &crate::store::FeedState,
    deferrals: &'a [crate::store::HostDeferral],
) -> Option<&'a crate::store::HostDeferral> {
    let url = f.fetch_url.as_deref().unwrap_or(&f.url);
    let host = url::Url::parse(url)
        .map(|u| crate::links::host_key(&u))
        .unwrap_or_default();
    deferrals.iter().find(|d| d.host == host)
}

/// What `status` (and the review's Feeds pane) says of a feed's health: disabled, removed,
/// its host deferred (until `when(t)`), backing off, moved, its last error; else "ok" or
/// "not polled yet".
pub fn feed_health(
    f: &crate::store::FeedState,
    switched_off: bool,
    deferral: Option<&crate::store::HostDeferral>,
    when: impl Fn(chrono::DateTime<chrono::Utc>) -> String,
) -> Vec<String> {
    let mut state = Vec::new();
    if switched_off {
        state.push("disabled in the watch-list".to_string());
    } else if !f.in_config {
        state.push("removed from watch-list".to_string());
    }
    if let Some(r) = &f.disabled_reason {
        state.push(format!("disabled: {r}"));
    }
    if let Some(d) = deferral {
        state.push(format!(
            "host deferred until {} ({})",
            when(d.until),
            d.reason
        ));
    }
    if f.consecutive_failures > 0 {
        state.push("backing off".into());
    }
    if let Some(u) = &f.fetch_url {
        state.push(format!("moved to {}", shown_url(u)));
    }
    if let Some(e) = &f.last_error {
        state.push(format!("error: {e}"));
    }
    if state.is_empty() {
        let fine = if f.last_polled_at.is_some() {
            "ok"
        } else {
            "not polled yet"
        };
        state.push(fine.into());
    }
    state
}

/// A feed URL as shown: credentials in it redacted.
fn shown_url(u: &str) -> String {
    url::Url::parse(u)
        .map(|u| config::redact_url(&u))
        .unwrap_or_else(|_| u.to_string())
}

#[cfg(test)]
mod tests {
    use chrono::{FixedOffset, TimeZone, Utc};

    use super::when;

    #[test]
    fn a_time_shows_its_year_only_when_it_is_not_this_year() {
        let now = Utc.with_ymd_and_hms(2026, 12, 5, 7, 0, 0).unwrap();
        let later = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 0).unwrap();
        let next_year = Utc.with_ymd_and_hms(2027, 1, 1, 0, 30, 0).unwrap();
        assert_eq!(when(later, now, &Utc), "12-31 23:59");
        assert_eq!(when(next_year, now, &Utc), "2027-01-01 00:30");
        // The year is the local one: 2026-12-31 23:30 UTC is already 2027 in UTC+1.
        let plus_one = FixedOffset::east_opt(3600).unwrap();
        let at = Utc.with_ymd_and_hms(2026, 12, 31, 23, 30, 0).unwrap();
        assert_eq!(when(at, now, &plus_one), "2027-01-01 00:30");
        assert_eq!(when(at, now, &Utc), "12-31 23:30");
    }
}
