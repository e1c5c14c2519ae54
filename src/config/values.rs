//! The watch-list's values: durations, counts, sizes and URLs, parsed with their errors placed;
//! and a URL as it may be shown.

use std::time::Duration;

use toml::Spanned;
use url::Url;

use super::ConfigError;
use super::error::Ctx;

/// A URL as it may be shown: without credentials.
pub fn redact_url(url: &Url) -> String {
    if url.password().is_none() && url.username().is_empty() {
        return url.to_string();
    }
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

pub(super) fn feed_url(s: &str) -> Result<Url, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty URL".into());
    }
    let url = match Url::parse(s) {
        Ok(u) => u,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            return Err("relative URL without a base".into());
        }
        Err(e) => return Err(format!("invalid URL: {e}")),
    };
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(format!(
                "unsupported scheme {other:?} (expected http or https)"
            ));
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("URL has no host".into());
    }
    Ok(url)
}

pub(super) fn duration(
    ctx: &Ctx<'_>,
    v: &Spanned<String>,
    key: &str,
) -> Result<Duration, ConfigError> {
    humantime::parse_duration(v.get_ref().trim()).map_err(|e| {
        ctx.at(
            v.span(),
            key,
            format!(
                "invalid duration {:?}: {e} (examples: \"90s\", \"15m\", \"1h 30m\")",
                v.get_ref()
            ),
        )
    })
}

/// A duration within `range` (each key's range is in README.md, "Settings"): outside it, an
/// error at the value's position naming both ends. The ranges keep every later time sum far
/// from overflow.
pub(super) fn duration_in(
    ctx: &Ctx<'_>,
    v: &Spanned<String>,
    key: &str,
    range: std::ops::RangeInclusive<Duration>,
) -> Result<Duration, ConfigError> {
    let d = duration(ctx, v, key)?;
    if range.contains(&d) {
        return Ok(d);
    }
    let show = |d: &Duration| humantime::format_duration(*d).to_string();
    let problem = if range.start().is_zero() {
        format!(
            "{:?} is too long: at most {}",
            v.get_ref(),
            show(range.end())
        )
    } else {
        format!(
            "{:?} is out of range: from {} to {}",
            v.get_ref(),
            show(range.start()),
            show(range.end())
        )
    };
    Err(ctx.at(v.span(), key, problem))
}

/// Polling intervals: from one second to 30 days.
pub(super) const INTERVAL: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(30 * 86_400);
/// Spacing between requests to one host: up to one hour.
pub(super) const HOST_SPACING: std::ops::RangeInclusive<Duration> =
    Duration::ZERO..=Duration::from_secs(3_600);
/// The batching window and a notification's timeout: up to one day.
pub(super) const UP_TO_A_DAY: std::ops::RangeInclusive<Duration> =
    Duration::ZERO..=Duration::from_secs(86_400);
/// How long a notification stays on screen: more than zero, up to one day.
pub(super) const NOTIFICATION_TIMEOUT: std::ops::RangeInclusive<Duration> =
    Duration::from_millis(1)..=Duration::from_secs(86_400);
/// Retention: from one second to 100 years.
pub(super) const RETENTION: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(3_155_760_000); // 100 years of 365.25 days

pub(super) fn count(ctx: &Ctx<'_>, v: &Spanned<i64>, key: &str) -> Result<usize, ConfigError> {
    match usize::try_from(*v.get_ref()) {
        Ok(n) if (1..=1024).contains(&n) => Ok(n),
        _ => Err(ctx.at(
            v.span(),
            key,
            format!("expected a number from 1 to 1024, got {}", v.get_ref()),
        )),
    }
}

/// "10MiB", "512 KiB", "1MB", "1000000".
pub(super) fn byte_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "kib" | "k" => 1 << 10,
        "mb" => 1_000_000,
        "mib" | "m" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" | "g" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}
