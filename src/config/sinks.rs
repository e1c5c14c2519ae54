//! `[[sink]]` entries: a command or a webhook, and the stable name that tracks deliveries.

use url::Url;

use super::ConfigError;
use super::error::Ctx;
use super::raw::RawSink;
use super::values::{feed_url, redact_url};

/// A `[[sink]]`: somewhere alerts go besides the desktop (machines without one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkConfig {
    /// Stable name (tracks what was delivered): the configured `name`, else the command or URL.
    pub name: String,
    pub kind: SinkKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkKind {
    /// Runs the program with the alert as JSON on stdin; exit status 0 is success.
    Command(Vec<String>),
    /// POSTs the alert as JSON; a 2xx answer is success.
    Webhook(Url),
}

/// The sinks, in the file's order.
pub(super) fn validate(ctx: &Ctx<'_>, raw: &[RawSink]) -> Result<Vec<SinkConfig>, ConfigError> {
    let mut sinks = Vec::with_capacity(raw.len());
    for (i, sk) in raw.iter().enumerate() {
        let key = |k: &str| format!("sink[{}].{k}", i + 1);
        let kind = match (sk.kind.get_ref().as_str(), &sk.command, &sk.url) {
            ("command", Some(cmd), None) => {
                if cmd.get_ref().first().is_none_or(|c| c.trim().is_empty()) {
                    return Err(ctx.at(
                        cmd.span(),
                        key("command"),
                        "expected a program and its arguments, e.g. [\"/usr/local/bin/forward\"]",
                    ));
                }
                SinkKind::Command(cmd.get_ref().clone())
            }
            ("webhook", None, Some(url)) => SinkKind::Webhook(
                feed_url(url.get_ref()).map_err(|m| ctx.at(url.span(), key("url"), m))?,
            ),
            ("command", _, _) => {
                return Err(ctx.at(
                    sk.kind.span(),
                    key("kind"),
                    "a command sink needs `command` (and no `url`)",
                ));
            }
            ("webhook", _, _) => {
                return Err(ctx.at(
                    sk.kind.span(),
                    key("kind"),
                    "a webhook sink needs `url` (and no `command`)",
                ));
            }
            (other, _, _) => {
                return Err(ctx.at(
                    sk.kind.span(),
                    key("kind"),
                    format!("unknown sink kind {other:?}, expected \"command\" or \"webhook\""),
                ));
            }
        };
        let name = sk.name.clone().unwrap_or_else(|| match &kind {
            SinkKind::Command(c) => c.join(" "),
            SinkKind::Webhook(u) => redact_url(u),
        });
        sinks.push(SinkConfig { name, kind });
    }
    Ok(sinks)
}
