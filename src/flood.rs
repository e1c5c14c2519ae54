//! PURE: flood control. Decides which pending alerts become notifications of their own, which
//! are summarised into one, and which wait for the end of quiet hours. No I/O; `now` and the
//! time zone are parameters.
//!
//! - **Quiet hours** (local time): only critical topics notify; the rest wait, and everything
//!   created during quiet hours is summarised in one notification when they end.
//! - **Rate limit**: at most `per_topic_per_hour` notifications of one topic an hour; the rest
//!   go into a summary.
//! - **Batching**: when more than `batch_after` notifications would be shown within
//!   `batch_window`, this round's alerts become one summary.
//!
//! Critical topics are exempt from the rate limit and batching: they are urgent by choice.

#![deny(clippy::arithmetic_side_effects)] // instants move only through `checked_time`

use crate::checked_time::{earlier, earlier_by, later_by};
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, NaiveTime, TimeZone, Utc};

/// The user's flood-control settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FloodPolicy {
    pub batch_after: usize,
    pub batch_window: Duration,
    pub per_topic_per_hour: usize,
    pub quiet: Option<QuietHours>,
}

impl Default for FloodPolicy {
    fn default() -> Self {
        FloodPolicy {
            batch_after: 3,
            batch_window: Duration::from_secs(60),
            per_topic_per_hour: 10,
            quiet: None,
        }
    }
}

/// A daily quiet period in local time; may wrap past midnight (`23:00–07:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl QuietHours {
    /// Parses `"23:00-07:00"` (a hyphen or an en dash between the times).
    pub fn parse(s: &str) -> Option<QuietHours> {
        let (a, b) = s.split_once(['-', '–'])?;
        let t = |x: &str| NaiveTime::parse_from_str(x.trim(), "%H:%M").ok();
        let q = QuietHours {
            start: t(a)?,
            end: t(b)?,
        };
        (q.start != q.end).then_some(q)
    }

    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }

    /// When the quiet period that contains `now` ends.
    pub fn end_after<Tz: TimeZone>(&self, now: DateTime<Utc>, tz: &Tz) -> DateTime<Utc> {
        let local = now.with_timezone(tz);
        let mut day = local.date_naive();
        if local.time() >= self.end {
            day = day.succ_opt().unwrap_or(day);
        }
        tz.from_local_datetime(&day.and_time(self.end))
            .earliest()
            .map_or(later_by(now, chrono::Duration::hours(1)), |t| {
                t.with_timezone(&Utc)
            })
    }
}

/// What was recently shown, to apply the limits across rounds.
#[derive(Debug, Clone, Default)]
pub struct FloodState {
    /// (when, topic) of notifications shown in the last hour (summaries count once, topic "").
    shown: VecDeque<(DateTime<Utc>, String)>,
}

impl FloodState {
    /// The state as the store remembers it: notifications shown in the last hour (so limits
    /// hold across restarts and `poll --once` runs).
    pub fn from_shown(shown: impl IntoIterator<Item = (DateTime<Utc>, String)>) -> Self {
        let mut shown: Vec<_> = shown.into_iter().collect();
        shown.sort();
        FloodState {
            shown: shown.into(),
        }
    }

    pub fn record(&mut self, at: DateTime<Utc>, topic: &str) {
        self.shown.push_back((at, topic.to_string()));
    }

    fn prune(&mut self, now: DateTime<Utc>) {
        let hour_ago = earlier_by(now, chrono::Duration::hours(1));
        while self.shown.front().is_some_and(|(t, _)| *t < hour_ago) {
            self.shown.pop_front();
        }
    }
}

/// One pending alert, as flood control sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<'a> {
    pub id: i64,
    pub topic: &'a str,
    pub critical: bool,
    pub created_at: DateTime<Utc>,
}

/// A notification to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// One alert, its own notification.
    One(i64),
    /// Several alerts in one summary notification.
    Summary(Vec<i64>),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub deliveries: Vec<Delivery>,
    /// Alerts wait for quiet hours to end: plan again then.
    pub wake_at: Option<DateTime<Utc>>,
}

/// Plans this round of deliveries for `pending` (oldest first).
pub fn plan<Tz: TimeZone>(
    now: DateTime<Utc>,
    tz: &Tz,
    pending: &[Candidate<'_>],
    state: &mut FloodState,
    policy: &FloodPolicy,
) -> Plan {
    state.prune(now);
    let local_time = |t: DateTime<Utc>| t.with_timezone(tz).time();
    let quiet_now = policy.quiet.filter(|q| q.contains(local_time(now)));
    let mut plan = Plan::default();
    let mut summarised = Vec::new();
    let mut singles: Vec<&Candidate<'_>> = Vec::new();
    let mut per_topic: HashMap<&str, usize> = HashMap::new();
    for (_, topic) in &state.shown {
        let n = per_topic.entry(topic.as_str()).or_default();
        *n = n.saturating_add(1);
    }
    for a in pending {
        if a.critical {
            plan.deliveries.push(Delivery::One(a.id));
            continue;
        }
        if let Some(q) = quiet_now {
            plan.wake_at = Some(q.end_after(now, tz));
            continue;
        }
        if policy
            .quiet
            .is_some_and(|q| q.contains(local_time(a.created_at)))
        {
            summarised.push(a.id);
            continue;
        }
        let n = per_topic.entry(a.topic).or_default();
        if *n >= policy.per_topic_per_hour {
            summarised.push(a.id);
        } else {
            *n = n.saturating_add(1);
            singles.push(a);
        }
    }
    let window_start = earlier(now, policy.batch_window);
    let recent = state
        .shown
        .iter()
        .filter(|(t, _)| *t >= window_start)
        .count();
    if recent.saturating_add(singles.len()) > policy.batch_after {
        summarised.extend(singles.drain(..).map(|a| a.id));
    }
    plan.deliveries
        .extend(singles.iter().map(|a| Delivery::One(a.id)));
    if !summarised.is_empty() {
        summarised.sort_unstable();
        plan.deliveries.push(Delivery::Summary(summarised));
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn cands<'a>(specs: &[(i64, &'a str, bool, &str)]) -> Vec<Candidate<'a>> {
        specs
            .iter()
            .map(|&(id, topic, critical, at)| Candidate {
                id,
                topic,
                critical,
                created_at: t(at),
            })
            .collect()
    }

    const NOON: &str = "2026-11-27T12:00:00Z";

    #[test]
    fn a_few_alerts_are_shown_one_by_one() {
        let mut st = FloodState::default();
        let p = plan(
            t(NOON),
            &Utc,
            &cands(&[(1, "A", false, NOON), (2, "B", false, NOON)]),
            &mut st,
            &FloodPolicy::default(),
        );
        assert_eq!(p.deliveries, [Delivery::One(1), Delivery::One(2)]);
    }

    #[test]
    fn a_burst_becomes_one_summary_counting_recent_ones() {
        let mut st = FloodState::default();
        let burst = cands(&[
            (1, "A", false, NOON),
            (2, "A", false, NOON),
            (3, "B", false, NOON),
            (4, "B", false, NOON),
        ]);
        let p = plan(t(NOON), &Utc, &burst, &mut st, &FloodPolicy::default());
        assert_eq!(p.deliveries, [Delivery::Summary(vec![1, 2, 3, 4])]);

        // Two shown 30 s ago + two more now = four within the window: summarised.
        st.record(t("2026-11-27T11:59:30Z"), "A");
        st.record(t("2026-11-27T11:59:30Z"), "A");
        let p = plan(
            t(NOON),
            &Utc,
            &cands(&[(5, "A", false, NOON), (6, "B", false, NOON)]),
            &mut st,
            &FloodPolicy::default(),
        );
        assert_eq!(p.deliveries, [Delivery::Summary(vec![5, 6])]);
        // Two minutes later the window is clear again.
        let p = plan(
            t("2026-11-27T12:02:00Z"),
            &Utc,
            &cands(&[(7, "A", false, NOON)]),
            &mut st,
            &FloodPolicy::default(),
        );
        assert_eq!(p.deliveries, [Delivery::One(7)]);
    }

    #[test]
    fn per_topic_rate_limit_sends_the_rest_to_a_summary() {
        let mut st = FloodState::default();
        for m in 0..10 {
            st.record(t(NOON) - chrono::Duration::minutes(50 - m), "A");
        }
        let p = plan(
            t(NOON),
            &Utc,
            &cands(&[(1, "A", false, NOON), (2, "B", false, NOON)]),
            &mut st,
            &FloodPolicy::default(),
        );
        assert_eq!(p.deliveries, [Delivery::One(2), Delivery::Summary(vec![1])]);
    }

    #[test]
    fn critical_topics_are_exempt() {
        let mut st = FloodState::default();
        let burst: Vec<_> = (1..=6).map(|i| (i, "C", true, NOON)).collect();
        let p = plan(
            t(NOON),
            &Utc,
            &cands(&burst),
            &mut st,
            &FloodPolicy::default(),
        );
        assert_eq!(p.deliveries.len(), 6);
    }

    #[test]
    fn quiet_hours_hold_all_but_critical_then_summarise() {
        let tz = FixedOffset::east_opt(2 * 3600).unwrap(); // local = UTC+2
        let policy = FloodPolicy {
            quiet: QuietHours::parse("23:00–07:00"),
            ..Default::default()
        };
        let mut st = FloodState::default();
        // 02:00 local: quiet.
        let night = "2026-11-27T00:00:00Z";
        let pending = cands(&[(1, "A", false, night), (2, "C", true, night)]);
        let p = plan(t(night), &tz, &pending, &mut st, &policy);
        assert_eq!(p.deliveries, [Delivery::One(2)]);
        assert_eq!(p.wake_at, Some(t("2026-11-27T05:00:00Z")), "07:00 local");
        // 07:00 local: what came in during the night is summarised, even a single alert.
        let morning = "2026-11-27T05:00:00Z";
        let p = plan(
            t(morning),
            &tz,
            &cands(&[(1, "A", false, night), (3, "B", false, morning)]),
            &mut st,
            &policy,
        );
        assert_eq!(p.deliveries, [Delivery::One(3), Delivery::Summary(vec![1])]);
    }

    #[test]
    fn quiet_hours_parse_and_wrap() {
        let q = QuietHours::parse("23:00-07:00").unwrap();
        let h = |s| NaiveTime::parse_from_str(s, "%H:%M").unwrap();
        assert!(
            q.contains(h("23:30"))
                && q.contains(h("06:59"))
                && !q.contains(h("07:00"))
                && !q.contains(h("12:00"))
        );
        let day = QuietHours::parse("12:00–13:30").unwrap();
        assert!(day.contains(h("12:00")) && !day.contains(h("13:30")));
        assert_eq!(QuietHours::parse("7am"), None);
        assert_eq!(QuietHours::parse("07:00-07:00"), None);
    }
}
