//! PURE. Time arithmetic that cannot overflow: an instant moved by a duration saturates at the
//! end of its range instead of panicking. A server's date in year 9999, a retention of a
//! hundred years or a duration from a hostile document becomes "as late (or as early) as can
//! be", never a crash. The modules that compute with instants deny
//! `clippy::arithmetic_side_effects` and move instants only through these.

#![deny(clippy::arithmetic_side_effects)] // instants move only through `checked_time`

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

/// `t + d`, or the last instant chrono can hold.
pub fn later(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    later_by(t, TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX))
}

/// `t - d`, or the first instant chrono can hold.
pub fn earlier(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    earlier_by(t, TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX))
}

/// `t + d` for a signed `d`, saturating at either end.
pub fn later_by(t: DateTime<Utc>, d: TimeDelta) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(if d < TimeDelta::zero() {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// `t - d` for a signed `d`, saturating at either end.
pub fn earlier_by(t: DateTime<Utc>, d: TimeDelta) -> DateTime<Utc> {
    t.checked_sub_signed(d).unwrap_or(if d < TimeDelta::zero() {
        DateTime::<Utc>::MAX_UTC
    } else {
        DateTime::<Utc>::MIN_UTC
    })
}

/// A naive (wall-clock) `t - d`, saturating at either end.
pub fn naive_earlier_by(t: NaiveDateTime, d: TimeDelta) -> NaiveDateTime {
    t.checked_sub_signed(d).unwrap_or(if d < TimeDelta::zero() {
        NaiveDateTime::MAX
    } else {
        NaiveDateTime::MIN
    })
}

/// How long from `from` until `to`; zero when `to` is not later.
pub fn until(from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
    to.signed_duration_since(from).to_std().unwrap_or_default()
}

/// About thirty years: "never" for a monotonic deadline that cannot be represented.
const FAR: Duration = Duration::from_secs(946_080_000);

/// A monotonic `t + d`; when that cannot be represented, a deadline far enough away to mean
/// never (and `t` itself only if even that overflows).
pub fn deadline(t: tokio::time::Instant, d: Duration) -> tokio::time::Instant {
    t.checked_add(d).or_else(|| t.checked_add(FAR)).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_an_instant_past_the_end_of_time_saturates() {
        let t = DateTime::<Utc>::MAX_UTC;
        assert_eq!(later(t, Duration::from_secs(1)), DateTime::<Utc>::MAX_UTC);
        assert_eq!(later(t, Duration::MAX), DateTime::<Utc>::MAX_UTC);
        let t = DateTime::<Utc>::MIN_UTC;
        assert_eq!(earlier(t, Duration::from_secs(1)), DateTime::<Utc>::MIN_UTC);
        assert_eq!(later_by(t, TimeDelta::MIN), DateTime::<Utc>::MIN_UTC);
        assert_eq!(earlier_by(t, TimeDelta::MIN), DateTime::<Utc>::MAX_UTC);
        assert_eq!(
            naive_earlier_by(NaiveDateTime::MIN, TimeDelta::days(1)),
            NaiveDateTime::MIN
        );
    }

    #[test]
    fn ordinary_arithmetic_is_exact() {
        let t = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        assert_eq!(later(t, Duration::from_secs(90)).timestamp(), 1_700_000_090);
        assert_eq!(
            earlier(t, Duration::from_secs(90)).timestamp(),
            1_699_999_910
        );
        assert_eq!(until(t, later(t, Duration::from_secs(5))).as_secs(), 5);
        assert_eq!(until(later(t, Duration::from_secs(5)), t), Duration::ZERO);
    }

    #[test]
    fn a_deadline_beyond_the_monotonic_clock_is_far_away() {
        let now = tokio::time::Instant::now();
        let d = deadline(now, Duration::MAX);
        assert!(d > now);
        assert_eq!(
            deadline(now, Duration::from_secs(2)),
            now + Duration::from_secs(2)
        );
    }
}
