//! `[settings]`: the defaults, and the keys written over them, checked.

use std::time::Duration;

use super::ConfigError;
use super::error::Ctx;
use super::raw::RawSettings;
use super::values::{
    HOST_SPACING, INTERVAL, NOTIFICATION_TIMEOUT, RETENTION, UP_TO_A_DAY, byte_size, count,
    duration_in,
};

/// Default poll interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15 * 60);
/// Default cap on a feed body.
pub const DEFAULT_MAX_BODY: u64 = 10 * 1024 * 1024;

/// `[settings]`: every key has a default.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Default poll interval for feeds without their own.
    pub interval: Duration,
    /// Notify for matching items already in a feed when it is polled for the first time.
    pub alert_on_first_poll: bool,
    /// Fetches in flight at once, over all hosts.
    pub concurrency: usize,
    /// Fetches in flight at once to one host.
    pub host_concurrency: usize,
    /// Minimum time between the starts of two requests to one host.
    pub host_spacing: Duration,
    /// Largest feed body accepted, in bytes.
    pub max_body_bytes: u64,
    /// Flood control: batching, per-topic rate limit, quiet hours.
    pub flood: crate::flood::FloodPolicy,
    /// How long notifications stay up; `None` = the notification server's default.
    pub notification_timeout: Option<Duration>,
    /// The command (and leading arguments) that opens a link; the link is appended.
    pub opener: Vec<String>,
    /// Articles without alerts are forgotten after this long.
    pub keep_articles: Duration,
    /// Alerts are deleted after this long; `None` keeps them forever.
    pub keep_alerts: Option<Duration>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            interval: DEFAULT_INTERVAL,
            alert_on_first_poll: false,
            concurrency: 8,
            host_concurrency: 1,
            host_spacing: Duration::from_secs(2),
            max_body_bytes: DEFAULT_MAX_BODY,
            flood: crate::flood::FloodPolicy::default(),
            notification_timeout: None,
            opener: vec!["xdg-open".to_string()],
            keep_articles: Duration::from_secs(90 * 86_400),
            keep_alerts: None,
        }
    }
}

/// The settings as written, checked, over the defaults.
pub(super) fn validate(ctx: &Ctx<'_>, s: &RawSettings) -> Result<Settings, ConfigError> {
    let mut settings = Settings::default();
    if let Some(v) = &s.interval {
        settings.interval = duration_in(ctx, v, "settings.interval", INTERVAL)?;
    }
    if let Some(v) = s.alert_on_first_poll {
        settings.alert_on_first_poll = v;
    }
    if let Some(v) = &s.concurrency {
        settings.concurrency = count(ctx, v, "settings.concurrency")?;
    }
    if let Some(v) = &s.host_concurrency {
        settings.host_concurrency = count(ctx, v, "settings.host_concurrency")?;
    }
    if let Some(v) = &s.host_spacing {
        settings.host_spacing = duration_in(ctx, v, "settings.host_spacing", HOST_SPACING)?;
    }
    if let Some(v) = &s.max_body_size {
        settings.max_body_bytes = byte_size(v.get_ref()).filter(|&n| n > 0).ok_or_else(|| {
            ctx.at(
                v.span(),
                "settings.max_body_size",
                "expected a size such as \"10MiB\", \"512KiB\" or \"1000000\"",
            )
        })?;
    }

    if let Some(v) = &s.batch_after {
        settings.flood.batch_after = count(ctx, v, "settings.batch_after")?;
    }
    if let Some(v) = &s.batch_window {
        settings.flood.batch_window = duration_in(ctx, v, "settings.batch_window", UP_TO_A_DAY)?;
    }
    if let Some(v) = &s.max_per_topic_per_hour {
        settings.flood.per_topic_per_hour = count(ctx, v, "settings.max_per_topic_per_hour")?;
    }
    if let Some(v) = &s.quiet_hours {
        settings.flood.quiet =
            Some(crate::flood::QuietHours::parse(v.get_ref()).ok_or_else(|| {
                ctx.at(
                    v.span(),
                    "settings.quiet_hours",
                    "expected local times \"HH:MM-HH:MM\", e.g. \"23:00-07:00\"",
                )
            })?);
    }
    if let Some(v) = &s.notification_timeout {
        settings.notification_timeout = match v.get_ref().trim() {
            "default" => None,
            _ => Some(duration_in(
                ctx,
                v,
                "settings.notification_timeout",
                NOTIFICATION_TIMEOUT,
            )?),
        };
    }
    if let Some(v) = &s.opener {
        if v.get_ref().first().is_none_or(|c| c.trim().is_empty()) {
            return Err(ctx.at(
                v.span(),
                "settings.opener",
                "expected a command, e.g. [\"xdg-open\"]",
            ));
        }
        settings.opener = v.get_ref().clone();
    }

    if let Some(v) = &s.keep_articles {
        settings.keep_articles = duration_in(ctx, v, "settings.keep_articles", RETENTION)?;
    }
    if let Some(v) = &s.keep_alerts {
        settings.keep_alerts = Some(duration_in(ctx, v, "settings.keep_alerts", RETENTION)?);
    }
    Ok(settings)
}
