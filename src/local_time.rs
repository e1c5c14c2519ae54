//! Where a day begins in a time zone, as an instant: "today" and "the last N days" start there.

#![deny(clippy::arithmetic_side_effects)] // instants move only through `checked_time`

use crate::checked_time::naive_earlier_by;
use chrono::{DateTime, Local, NaiveDate, NaiveTime, Offset, TimeDelta, TimeZone, Utc};

/// The start of `now`'s day in the local time zone (see [`day_start`]).
pub fn local_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    day_start(now.with_timezone(&Local).date_naive(), &Local)
}

/// The first instant of `date` in `tz`: its midnight; the first of two midnights when the
/// clocks go back over it; the moment the clocks jump when they spring forward over it (that
/// day has no midnight).
pub fn day_start<Tz: TimeZone>(date: NaiveDate, tz: &Tz) -> DateTime<Utc> {
    let midnight = date.and_time(NaiveTime::MIN);
    match tz.from_local_datetime(&midnight).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => {
            // In the gap: midnight read with the offset in force before the jump is the jump.
            let before = tz
                .offset_from_utc_datetime(&naive_earlier_by(midnight, TimeDelta::days(1)))
                .fix();
            naive_earlier_by(
                midnight,
                TimeDelta::seconds(i64::from(before.local_minus_utc())),
            )
            .and_utc()
        }
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)] // tests may compute plainly
mod tests {
    use super::*;
    use chrono::{FixedOffset, LocalResult, NaiveDateTime};

    /// A zone that changes from `BEFORE` to `AFTER` hours east of UTC on 2026-09-06 at `AT`
    /// o'clock (local time before the change).
    #[derive(Clone, Copy, Debug)]
    struct Jump<const BEFORE: i32, const AFTER: i32, const AT: u32>;

    impl<const BEFORE: i32, const AFTER: i32, const AT: u32> Jump<BEFORE, AFTER, AT> {
        fn hours(h: i32) -> FixedOffset {
            FixedOffset::east_opt(h * 3600).expect("valid offset")
        }
        /// The change, in UTC.
        fn at() -> NaiveDateTime {
            let local = day(6).and_hms_opt(AT, 0, 0).expect("valid time");
            local - TimeDelta::hours(i64::from(BEFORE))
        }
    }

    impl<const BEFORE: i32, const AFTER: i32, const AT: u32> TimeZone for Jump<BEFORE, AFTER, AT> {
        type Offset = FixedOffset;
        fn from_offset(_: &FixedOffset) -> Self {
            Jump
        }
        fn offset_from_local_date(&self, local: &NaiveDate) -> LocalResult<FixedOffset> {
            self.offset_from_local_datetime(&local.and_time(NaiveTime::MIN))
        }
        fn offset_from_local_datetime(&self, local: &NaiveDateTime) -> LocalResult<FixedOffset> {
            let fits = |h: i32| {
                let utc = *local - TimeDelta::hours(i64::from(h));
                (self.offset_from_utc_datetime(&utc) == Self::hours(h)).then(|| Self::hours(h))
            };
            match (fits(BEFORE), fits(AFTER)) {
                (Some(a), Some(b)) if a.local_minus_utc() > b.local_minus_utc() => {
                    LocalResult::Ambiguous(a, b)
                }
                (Some(a), Some(b)) => LocalResult::Ambiguous(b, a),
                (Some(o), None) | (None, Some(o)) => LocalResult::Single(o),
                (None, None) => LocalResult::None,
            }
        }
        fn offset_from_utc_date(&self, utc: &NaiveDate) -> FixedOffset {
            self.offset_from_utc_datetime(&utc.and_time(NaiveTime::MIN))
        }
        fn offset_from_utc_datetime(&self, utc: &NaiveDateTime) -> FixedOffset {
            Self::hours(if *utc < Self::at() { BEFORE } else { AFTER })
        }
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 9, d).expect("valid date")
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("valid time")
            .with_timezone(&Utc)
    }

    #[test]
    fn a_day_starts_at_its_midnight() {
        assert_eq!(day_start(day(6), &Utc), utc("2026-09-06T00:00:00Z"));
        let east = FixedOffset::east_opt(2 * 3600).expect("valid offset");
        assert_eq!(day_start(day(6), &east), utc("2026-09-05T22:00:00Z"));
        let west = FixedOffset::west_opt(5 * 3600).expect("valid offset");
        assert_eq!(day_start(day(6), &west), utc("2026-09-06T05:00:00Z"));
    }

    #[test]
    fn clocks_springing_forward_over_midnight_start_the_day_at_the_jump() {
        // 00:00 at UTC-4 becomes 01:00 at UTC-3: the day's first instant is 01:00 local.
        let tz = Jump::<-4, -3, 0>;
        assert_eq!(
            tz.from_local_datetime(&day(6).and_time(NaiveTime::MIN)),
            LocalResult::None
        );
        assert_eq!(day_start(day(6), &tz), utc("2026-09-06T04:00:00Z"));
        assert_eq!(day_start(day(5), &tz), utc("2026-09-05T04:00:00Z"));
        assert_eq!(day_start(day(7), &tz), utc("2026-09-07T03:00:00Z"));
    }

    #[test]
    fn clocks_going_back_over_midnight_start_the_day_at_the_first_midnight() {
        // 01:00 at UTC-3 becomes 00:00 at UTC-4: midnight happens twice.
        let tz = Jump::<-3, -4, 1>;
        assert!(matches!(
            tz.from_local_datetime(&day(6).and_time(NaiveTime::MIN)),
            LocalResult::Ambiguous(..)
        ));
        assert_eq!(day_start(day(6), &tz), utc("2026-09-06T03:00:00Z"));
        assert_eq!(day_start(day(7), &tz), utc("2026-09-07T04:00:00Z"));
    }

    #[test]
    fn local_midnight_is_the_start_of_the_local_day() {
        let now = utc("2026-11-27T12:00:00Z");
        let midnight = local_midnight(now);
        assert!(midnight <= now && now - midnight < TimeDelta::hours(25));
        let local = midnight.with_timezone(&Local);
        assert_eq!(local.date_naive(), now.with_timezone(&Local).date_naive());
    }
}
