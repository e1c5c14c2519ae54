//! `[[feed]]` entries: URL, name, interval, enabled; no feed twice.

use std::collections::HashSet;
use std::time::Duration;

use url::Url;

use super::ConfigError;
use super::error::Ctx;
use super::raw::RawFeed;
use super::values::{INTERVAL, duration_in, feed_url, redact_url};

/// One `[[feed]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedConfig {
    pub url: Url,
    pub name: Option<String>,
    /// Per-feed interval; `None` uses `settings.interval`.
    pub interval: Option<Duration>,
}

/// The feeds to poll and the ones switched off, each in the file's order.
pub(super) fn validate(
    ctx: &Ctx<'_>,
    raw: &[RawFeed],
) -> Result<(Vec<FeedConfig>, Vec<FeedConfig>), ConfigError> {
    let mut feeds = Vec::with_capacity(raw.len());
    let mut disabled_feeds = Vec::new();
    let mut seen_urls = HashSet::new();
    for (i, f) in raw.iter().enumerate() {
        let key = |k: &str| format!("feed[{}].{k}", i + 1);
        let url = feed_url(f.url.get_ref()).map_err(|m| ctx.at(f.url.span(), key("url"), m))?;
        if !seen_urls.insert(crate::links::feed_identity(url.as_str())) {
            return Err(ctx.at(
                f.url.span(),
                key("url"),
                format!("duplicate feed {}", redact_url(&url)),
            ));
        }
        let name = match &f.name {
            Some(n) if n.get_ref().trim().is_empty() => {
                return Err(ctx.at(
                    n.span(),
                    key("name"),
                    "empty name (leave the key out to use the feed's title)",
                ));
            }
            Some(n) => Some(n.get_ref().trim().to_string()),
            None => None,
        };
        let interval = f
            .interval
            .as_ref()
            .map(|v| duration_in(ctx, v, &key("interval"), INTERVAL))
            .transpose()?;
        let feed = FeedConfig {
            url,
            name,
            interval,
        };
        if f.enabled.unwrap_or(true) {
            feeds.push(feed);
        } else {
            disabled_feeds.push(feed);
        }
    }
    Ok((feeds, disabled_feeds))
}
