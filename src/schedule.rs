//! PURE: when to poll a feed next. No I/O, no clock: `now` and the jitter are parameters.

#![deny(clippy::arithmetic_side_effects)] // instants move only through `checked_time`

use crate::checked_time::{self, later_by};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// The lowest interval a feed gets unless it sets a lower one itself.
pub const FLOOR: Duration = Duration::from_secs(5 * 60);
/// The longest the server's hints can push the next poll.
pub const CEILING: Duration = Duration::from_secs(24 * 3600);
/// First retry after a failure; doubles per consecutive failure.
pub const BACKOFF_BASE: Duration = Duration::from_secs(60);
/// Backoff never waits longer than this.
pub const BACKOFF_CAP: Duration = Duration::from_secs(12 * 3600);

/// The feed's polling policy, from the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The global default interval.
    pub default_interval: Duration,
    /// The feed's own interval, if it sets one (then it may be below [`FLOOR`]).
    pub feed_interval: Option<Duration>,
}

impl Policy {
    /// The interval in force: the feed's own, else the default floored at [`FLOOR`];
    /// never above [`CEILING`].
    pub fn interval(&self) -> Duration {
        match self.feed_interval {
            Some(i) => i.min(CEILING),
            None => self.default_interval.clamp(FLOOR, CEILING),
        }
    }
}

/// The server's caching hints, as `fetch` reads them from a response: already clamped to
/// at most [`CEILING`] after the response, never before it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheHints {
    /// `Cache-Control: max-age` (or `s-maxage`).
    pub max_age: Option<Duration>,
    /// `Expires`.
    pub expires: Option<DateTime<Utc>>,
    /// `Retry-After` (seconds or an HTTP date), resolved against the response time.
    pub retry_after: Option<DateTime<Utc>>,
}

/// What a feed document says about how often to poll it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedHints {
    /// RSS `<ttl>`, minutes.
    pub ttl_minutes: Option<u32>,
    /// RSS `<skipHours>`: hours (0–23, GMT) in which the feed does not change.
    pub skip_hours: Vec<u32>,
    /// RSS `<skipDays>`.
    pub skip_days: Vec<chrono::Weekday>,
    /// `sy:updatePeriod` divided by `sy:updateFrequency`.
    pub update_every: Option<Duration>,
}

/// When to poll next, after a poll whose response carried `hints` (the document's own hints,
/// `feed`, from its last parse). `failures`: how many polls in a row failed, this one included
/// (0: it succeeded).
///
/// Success: `now + interval`, pushed later (never earlier) by the server's and the document's
/// hints, clamped to the ceiling. Failure number `failures` (1 = the first): exponential
/// backoff from [`BACKOFF_BASE`] to [`BACKOFF_CAP`] with up to +25 % jitter
/// (`jitter` in 0..=1), and never before a `Retry-After`.
pub fn next_poll(
    now: DateTime<Utc>,
    policy: &Policy,
    hints: &CacheHints,
    feed: &FeedHints,
    failures: u32,
    jitter: f64,
) -> DateTime<Utc> {
    let at = |d: Duration| checked_time::later(now, d);
    let retry_after = hints.retry_after.filter(|t| *t > now);
    if failures > 0 {
        let exp = failures.saturating_sub(1).min(30);
        let backoff = BACKOFF_BASE.saturating_mul(1u32 << exp).min(BACKOFF_CAP);
        let jittered = backoff.mul_f64(1.0 + 0.25 * jitter.clamp(0.0, 1.0));
        let t = at(jittered);
        return retry_after.map_or(t, |r| r.max(t)).min(at(CEILING));
    }
    let interval = policy.interval();
    let mut wait = interval;
    if let Some(age) = hints.max_age {
        wait = wait.max(age);
    }
    if let Some(ttl) = feed.ttl_minutes {
        wait = wait.max(Duration::from_secs(u64::from(ttl) * 60));
    }
    if let Some(every) = feed.update_every {
        wait = wait.max(every);
    }
    if let Some(exp) = hints.expires
        && let Ok(d) = exp.signed_duration_since(now).to_std()
    {
        wait = wait.max(d);
    }
    let t =
        skip_quiet_times(at(wait.min(CEILING.max(interval))), feed).min(at(CEILING.max(interval)));
    retry_after.map_or(t, |r| r.max(t).min(at(CEILING)))
}

/// Moves `t` past the feed's `<skipHours>` (GMT) and `<skipDays>`.
fn skip_quiet_times(mut t: DateTime<Utc>, feed: &FeedHints) -> DateTime<Utc> {
    use chrono::{Datelike, DurationRound, Timelike};
    if feed.skip_hours.len() >= 24 || feed.skip_days.len() >= 7 {
        return t; // a feed that skips everything skips nothing
    }
    for _ in 0..(24 * 8) {
        if feed.skip_days.contains(&t.weekday()) {
            t = later_by(
                t.duration_trunc(chrono::Duration::days(1)).unwrap_or(t),
                chrono::Duration::days(1),
            );
        } else if feed.skip_hours.contains(&t.hour()) {
            t = later_by(
                t.duration_trunc(chrono::Duration::hours(1)).unwrap_or(t),
                chrono::Duration::hours(1),
            );
        } else {
            break;
        }
    }
    t
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)] // tests may compute plainly
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }
    const MIN: u64 = 60;

    fn policy(default_min: u64, feed_min: Option<u64>) -> Policy {
        Policy {
            default_interval: Duration::from_secs(default_min * MIN),
            feed_interval: feed_min.map(|m| Duration::from_secs(m * MIN)),
        }
    }

    #[test]
    fn table() {
        // The server's hints and the document's; failures > 0 is a failed poll.
        let ok = |hints: CacheHints, ttl: Option<u32>| {
            let feed = FeedHints {
                ttl_minutes: ttl,
                ..Default::default()
            };
            (hints, feed)
        };
        let fail = <(CacheHints, FeedHints)>::default;
        let mins = |m: i64| t0() + chrono::Duration::minutes(m);
        type Case = (
            &'static str,
            Policy,
            (CacheHints, FeedHints),
            u32,
            f64,
            DateTime<Utc>,
        );
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("default interval", policy(15, None), ok(Default::default(), None), 0, 0.0, mins(15)),
            ("default floored at 5 min", policy(1, None), ok(Default::default(), None), 0, 0.0, mins(5)),
            ("feed may go below the floor", policy(15, Some(1)), ok(Default::default(), None), 0, 0.0, mins(1)),
            ("ceiling 24 h", policy(15, Some(48 * 60)), ok(Default::default(), None), 0, 0.0, mins(24 * 60)),
            ("max-age pushes later", policy(15, None), ok(CacheHints { max_age: Some(Duration::from_secs(3600)), ..Default::default() }, None), 0, 0.0, mins(60)),
            ("max-age never earlier", policy(15, None), ok(CacheHints { max_age: Some(Duration::from_secs(60)), ..Default::default() }, None), 0, 0.0, mins(15)),
            ("ttl pushes later", policy(15, None), ok(Default::default(), Some(120)), 0, 0.0, mins(120)),
            ("hints clamped to 24 h", policy(15, None), ok(Default::default(), Some(100_000)), 0, 0.0, mins(24 * 60)),
            ("expires pushes later", policy(15, None), ok(CacheHints { expires: Some(mins(40)), ..Default::default() }, None), 0, 0.0, mins(40)),
            ("first failure: 1 min", policy(15, None), fail(), 1, 0.0, mins(1)),
            ("third failure: 4 min", policy(15, None), fail(), 3, 0.0, mins(4)),
            ("jitter adds up to 25 %", policy(15, None), fail(), 3, 1.0, mins(5)),
            ("backoff capped at 12 h", policy(15, None), fail(), 40, 0.0, mins(12 * 60)),
            ("retry-after obeyed", policy(15, None), (CacheHints { retry_after: Some(mins(90)), ..Default::default() }, FeedHints::default()), 1, 0.0, mins(90)),
        ];
        for (name, p, (hints, feed), f, j, want) in cases {
            assert_eq!(next_poll(t0(), &p, &hints, &feed, f, j), want, "{name}");
        }
    }

    #[test]
    fn feed_hints_push_later() {
        use chrono::Weekday;
        let mins = |m: i64| t0() + chrono::Duration::minutes(m);
        let p = policy(15, None);
        // T0 is Friday 12:00 GMT.
        let cases: Vec<(&str, FeedHints, DateTime<Utc>)> = vec![
            (
                "hourly update period of 2 per hour: 30 min",
                FeedHints {
                    update_every: Some(Duration::from_secs(1800)),
                    ..Default::default()
                },
                mins(30),
            ),
            (
                "update period shorter than the interval: interval",
                FeedHints {
                    update_every: Some(Duration::from_secs(60)),
                    ..Default::default()
                },
                mins(15),
            ),
            (
                "skipHours 12: to 13:00",
                FeedHints {
                    skip_hours: vec![12],
                    ..Default::default()
                },
                mins(60),
            ),
            (
                "skipHours 12, 13: to 14:00",
                FeedHints {
                    skip_hours: vec![12, 13],
                    ..Default::default()
                },
                mins(120),
            ),
            (
                "skipDays Friday: to Saturday 00:00",
                FeedHints {
                    skip_days: vec![Weekday::Fri],
                    ..Default::default()
                },
                mins(12 * 60),
            ),
            (
                "skipDays Friday, skipHours 0: to Saturday 01:00",
                FeedHints {
                    skip_days: vec![Weekday::Fri],
                    skip_hours: vec![0],
                    ..Default::default()
                },
                mins(13 * 60),
            ),
            (
                "every hour skipped: ignored",
                FeedHints {
                    skip_hours: (0..24).collect(),
                    ..Default::default()
                },
                mins(15),
            ),
        ];
        for (name, feed, want) in cases {
            let hints = CacheHints::default();
            assert_eq!(next_poll(t0(), &p, &hints, &feed, 0, 0.0), want, "{name}");
        }
    }
}
