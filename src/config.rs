//! The watch-list: [`RawConfig`] exactly as written (serde), then a validated [`Config`]
//! (URLs parsed, durations parsed, topics compiled).
//!
//! Every error names the file, line, column, key and the problem:
//! `watchlist.toml:12:9: feed[3].url: relative URL without a base`.
//! Array indices in key paths count from 1, like the `[[feed]]` tables in the file.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use crate::learn::{self, LearnSpec};
use crate::matcher::{LearnError, MatcherError};
use crate::matcher::{Matcher, QueryError};
use crate::model::{Aliases, Topic, Urgency};

/// Default poll interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15 * 60);
/// Default cap on a feed body.
pub const DEFAULT_MAX_BODY: u64 = 10 * 1024 * 1024;

/// The validated watch-list.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it was read from.
    pub path: PathBuf,
    pub settings: Settings,
    /// The feeds to poll (`enabled = false` ones are in `disabled_feeds`).
    pub feeds: Vec<FeedConfig>,
    /// Feeds the user switched off (`enabled = false`): kept, never polled.
    pub disabled_feeds: Vec<FeedConfig>,
    pub topics: Vec<Topic>,
    pub aliases: Aliases,
    /// Where alerts go besides the desktop.
    pub sinks: Vec<SinkConfig>,
    /// Every enabled topic's query, compiled once (models not trained).
    queries: Arc<Matcher>,
    /// The queries and, for topics that learn, their trained models: built by
    /// [`Config::train`] or on the first [`Config::matcher`], shared by clones. Commands that
    /// do not match (`check`, `status`, `feeds`) never train.
    learned: Arc<OnceLock<Arc<Matcher>>>,
}

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

/// One `[[feed]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedConfig {
    pub url: Url,
    pub name: Option<String>,
    /// Per-feed interval; `None` uses `settings.interval`.
    pub interval: Option<Duration>,
}

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

// ---------------------------------------------------------------------------------------------
// As written

/// The file as written. Unknown keys are errors.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub settings: RawSettings,
    #[serde(default)]
    pub aliases: BTreeMap<String, Spanned<Vec<Spanned<String>>>>,
    #[serde(default, rename = "feed")]
    pub feeds: Vec<RawFeed>,
    #[serde(default, rename = "topic")]
    pub topics: Vec<RawTopic>,
    #[serde(default, rename = "sink")]
    pub sinks: Vec<RawSink>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSink {
    pub kind: Spanned<String>,
    pub name: Option<String>,
    pub command: Option<Spanned<Vec<String>>>,
    pub url: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    pub interval: Option<Spanned<String>>,
    pub alert_on_first_poll: Option<bool>,
    pub concurrency: Option<Spanned<i64>>,
    pub host_concurrency: Option<Spanned<i64>>,
    pub host_spacing: Option<Spanned<String>>,
    pub max_body_size: Option<Spanned<String>>,
    pub batch_after: Option<Spanned<i64>>,
    pub batch_window: Option<Spanned<String>>,
    pub max_per_topic_per_hour: Option<Spanned<i64>>,
    pub quiet_hours: Option<Spanned<String>>,
    pub notification_timeout: Option<Spanned<String>>,
    pub opener: Option<Spanned<Vec<String>>>,
    pub keep_articles: Option<Spanned<String>>,
    pub keep_alerts: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFeed {
    pub url: Spanned<String>,
    pub name: Option<Spanned<String>>,
    pub interval: Option<Spanned<String>>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTopic {
    pub name: Spanned<String>,
    pub query: Spanned<String>,
    pub urgency: Option<Urgency>,
    pub enabled: Option<bool>,
    /// Labelled example files (relative to the watch-list's folder).
    pub examples: Option<Spanned<Vec<Spanned<RawExamples>>>>,
    /// The score (0–1) an article needs when the topic learns.
    pub threshold: Option<Spanned<f64>>,
}

/// One example file: a path (label column `label`), or `{ file = "…", label = "column" }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawExamples {
    Path(String),
    Table { file: String, label: Option<String> },
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Why a watch-list could not be used.
#[derive(Debug)]
pub enum ConfigError {
    /// The file could not be read.
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file was read but is not a valid watch-list.
    Invalid(Located),
}

/// An error at a place in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The file as the user named it.
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// Key path, e.g. `feed[3].url`.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, source } => {
                write!(f, "cannot read watch-list {}: {source}", path.display())
            }
            ConfigError::Invalid(l) => write!(
                f,
                "{}:{}:{}: {}: {}",
                l.file, l.line, l.column, l.key, l.message
            ),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Read { source, .. } => Some(source),
            ConfigError::Invalid(_) => None,
        }
    }
}

impl Config {
    /// Whether any enabled topic learns (has examples).
    pub fn learns(&self) -> bool {
        self.topics.iter().any(|t| t.enabled && t.learn.is_some())
    }

    /// Train every topic that learns, now (once: later calls and clones share the result).
    /// The daemon calls it off the runtime's workers, before it adopts a configuration; a
    /// failure is reported like a config error.
    pub fn train(&self) -> Result<Arc<Matcher>, LearnError> {
        self.train_with(&learn::NoCache)
    }

    /// [`Config::train`], reading models from `cache` where it has them and keeping there
    /// what it trains.
    pub fn train_with(&self, cache: &dyn learn::ModelCache) -> Result<Arc<Matcher>, LearnError> {
        if let Some(m) = self.learned.get() {
            return Ok(m.clone());
        }
        let m = match Matcher::learned_with(&self.topics, &self.aliases, cache) {
            Ok(m) => Arc::new(m),
            Err(MatcherError::Learn(e)) => return Err(e),
            // The queries compiled when the watch-list was read, so this does not happen.
            Err(MatcherError::Query(e)) => {
                return Err(LearnError {
                    topic_index: e.topic_index.unwrap_or_default(),
                    topic: e.topic.clone(),
                    message: e.to_string(),
                });
            }
        };
        Ok(self.learned.get_or_init(|| m).clone())
    }

    /// Lets go of the topics' examples once their models are trained (a reload reads the files
    /// again): the daemon keeps thousands of headlines out of its resident memory. Nothing
    /// happens before training.
    pub fn drop_examples(&mut self) {
        if self.learned.get().is_none() {
            return;
        }
        for t in &mut self.topics {
            if let Some(spec) = &t.learn {
                t.learn = Some(Arc::new(LearnSpec {
                    examples: Vec::new(),
                    threshold: spec.threshold,
                }));
            }
        }
    }

    /// The matcher: every enabled topic's query and, for topics that learn, their model.
    /// Trains on first use when [`Config::train`] has not run; if training fails (which
    /// `train` reports), the queries alone decide, and the failure is logged.
    pub fn matcher(&self) -> Arc<Matcher> {
        self.train().unwrap_or_else(|e| {
            tracing::error!(error = %e, "topics cannot learn; their queries alone decide");
            self.queries.clone()
        })
    }

    /// This configuration with the user's marks joined to their topics' examples (trained on
    /// first use, like any other).
    ///
    /// A mark for a topic that has no examples makes it learn from the marks alone once they
    /// hold both a right and a wrong one; until then the topic keeps to its query. A mark for a
    /// topic that is not in the watch-list is ignored. A mark replaces an example with the same
    /// text from the files (the user has the last word), unless that would leave the topic's
    /// examples without a positive or a negative: then that topic's marks are left out (logged).
    pub fn with_marks(&self, marks: &[crate::store::Mark]) -> Config {
        let mut topics = self.topics.clone();
        let mut changed = false;
        for t in &mut topics {
            let mine: Vec<learn::Example> = marks
                .iter()
                .filter(|m| m.topic == t.name)
                .map(|m| learn::Example {
                    title: m.title.clone(),
                    summary: m.summary.clone(),
                    label: m.label,
                    weight: 1.0,
                    origin: format!(
                        "{}{}",
                        learn::MARK_ORIGIN,
                        m.marked_at.format("%Y-%m-%d %H:%M")
                    ),
                })
                .collect();
            if mine.is_empty() {
                continue;
            }
            let mut spec = t.learn.as_deref().cloned().unwrap_or(LearnSpec {
                examples: Vec::new(),
                threshold: learn::DEFAULT_THRESHOLD,
            });
            spec.examples
                .retain(|e| !mine.iter().any(|m| m.same_text(e)));
            spec.examples.extend(mine);
            if let Some(why) = learn::unlearnable(&spec.examples) {
                if t.learn.is_some() {
                    tracing::warn!(topic = %t.name, "its marks are left out: {why}");
                }
                continue;
            }
            t.learn = Some(Arc::new(spec));
            changed = true;
        }
        if !changed {
            return self.clone();
        }
        Config {
            topics,
            learned: Arc::default(),
            ..self.clone()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Loading

/// Reads and validates the watch-list at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Validates watch-list text; `path` is only used to name the file in errors.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let ctx = Ctx {
        file: path.display().to_string(),
        text,
    };
    let raw: RawConfig = toml::from_str(text).map_err(|e| ctx.serde_error(&e))?;
    validate(raw, &ctx, path)
}

struct Ctx<'a> {
    file: String,
    text: &'a str,
}

impl Ctx<'_> {
    fn at(
        &self,
        span: Range<usize>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        let (line, column) = crate::text_pos::line_col(self.text, span.start);
        ConfigError::Invalid(Located {
            file: self.file.clone(),
            line,
            column,
            key: key.into(),
            message: message.into(),
        })
    }

    fn serde_error(&self, e: &toml::de::Error) -> ConfigError {
        let span = e.span().unwrap_or(0..0);
        // A syntax error still leaves a partial document to find the key in.
        let (root, syntax_errors) = toml::de::DeTable::parse_recoverable(self.text);
        let fallback = if syntax_errors.is_empty() {
            "(top level)"
        } else {
            "(syntax)"
        };
        let mut key = key_path_at(root.get_ref(), span.start).unwrap_or_else(|| fallback.into());
        if let Some(k) = bare_key_at(self.text, &span)
            && !key.ends_with(k)
        {
            key = format!("{key}.{k}");
        }
        let message = e.message().trim().replace('\n', " ");
        self.at(span, key, message)
    }
}

/// The dotted key path of the innermost key or value covering `offset`; when none covers it
/// (a duplicate key is not in the parsed document), the nearest table before it.
fn key_path_at(table: &toml::de::DeTable<'_>, offset: usize) -> Option<String> {
    fn walk_table(t: &toml::de::DeTable<'_>, offset: usize, path: &mut String) {
        let covering = t
            .iter()
            .find(|(k, v)| k.span().contains(&offset) || v.span().contains(&offset));
        let preceding = || {
            t.iter()
                .filter(|(k, v)| {
                    k.span().start <= offset && (v.get_ref().is_table() || v.get_ref().is_array())
                })
                .max_by_key(|(k, _)| k.span().start)
        };
        if let Some((k, v)) = covering.or_else(preceding) {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(k.get_ref());
            if !k.span().contains(&offset) {
                walk_value(v.get_ref(), offset, path);
            }
        }
    }
    fn walk_value(v: &toml::de::DeValue<'_>, offset: usize, path: &mut String) {
        match v {
            toml::de::DeValue::Table(t) => walk_table(t, offset, path),
            toml::de::DeValue::Array(a) => {
                let found = a
                    .iter()
                    .enumerate()
                    .find(|(_, v)| v.span().contains(&offset))
                    .or_else(|| {
                        a.iter()
                            .enumerate()
                            .rfind(|(_, v)| v.span().start <= offset && v.get_ref().is_table())
                    });
                if let Some((i, v)) = found {
                    path.push_str(&format!("[{}]", i + 1));
                    walk_value(v.get_ref(), offset, path);
                }
            }
            _ => {}
        }
    }
    let mut path = String::new();
    walk_table(table, offset, &mut path);
    (!path.is_empty()).then_some(path)
}

/// The bare key written at `span`, if the error points at one.
fn bare_key_at<'a>(text: &'a str, span: &Range<usize>) -> Option<&'a str> {
    let k = text.get(span.clone())?;
    let bare = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let is_key = text[span.end..]
        .trim_start_matches([' ', '\t'])
        .starts_with('=');
    (bare && is_key).then_some(k)
}

fn validate(raw: RawConfig, ctx: &Ctx<'_>, path: &Path) -> Result<Config, ConfigError> {
    let s = &raw.settings;
    let mut settings = Settings::default();
    if let Some(v) = &s.interval {
        settings.interval = positive_duration(ctx, v, "settings.interval")?;
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
        settings.host_spacing = duration(ctx, v, "settings.host_spacing")?;
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
        settings.flood.batch_window = duration(ctx, v, "settings.batch_window")?;
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
            _ => Some(positive_duration(ctx, v, "settings.notification_timeout")?),
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
        settings.keep_articles = positive_duration(ctx, v, "settings.keep_articles")?;
    }
    if let Some(v) = &s.keep_alerts {
        settings.keep_alerts = Some(positive_duration(ctx, v, "settings.keep_alerts")?);
    }

    let mut aliases = Aliases::new();
    for (name, spellings) in &raw.aliases {
        let key = format!("aliases.{name}");
        if spellings.get_ref().is_empty() {
            return Err(ctx.at(
                spellings.span(),
                key,
                "an alias needs at least one spelling",
            ));
        }
        if let Some((i, s)) = spellings
            .get_ref()
            .iter()
            .enumerate()
            .find(|(_, s)| s.get_ref().trim().is_empty())
        {
            return Err(ctx.at(s.span(), format!("{key}[{}]", i + 1), "empty spelling"));
        }
        aliases.insert(
            name.clone(),
            spellings
                .get_ref()
                .iter()
                .map(|s| s.get_ref().clone())
                .collect(),
        );
    }

    let mut feeds = Vec::with_capacity(raw.feeds.len());
    let mut disabled_feeds = Vec::new();
    let mut seen_urls = HashSet::new();
    for (i, f) in raw.feeds.iter().enumerate() {
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
            .map(|v| positive_duration(ctx, v, &key("interval")))
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

    let mut topics = Vec::with_capacity(raw.topics.len());
    let mut seen_names = HashSet::new();
    for (i, t) in raw.topics.iter().enumerate() {
        let name = t.name.get_ref().trim().to_string();
        if name.is_empty() {
            return Err(ctx.at(
                t.name.span(),
                format!("topic[{}].name", i + 1),
                "empty topic name",
            ));
        }
        if !seen_names.insert(name.clone()) {
            return Err(ctx.at(
                t.name.span(),
                format!("topic[{}].name", i + 1),
                format!("duplicate topic {name:?}"),
            ));
        }
        let learn = learn_spec(ctx, path, i, t)?;
        topics.push(Topic {
            name,
            query: t.query.get_ref().clone(),
            urgency: t.urgency.unwrap_or_default(),
            enabled: t.enabled.unwrap_or(true),
            learn,
        });
    }

    let mut sinks = Vec::with_capacity(raw.sinks.len());
    for (i, sk) in raw.sinks.iter().enumerate() {
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

    let queries = Arc::new(Matcher::new(&topics, &aliases).map_err(|e| query_error(ctx, &raw, e))?);
    let config = Config {
        path: path.to_path_buf(),
        settings,
        feeds,
        disabled_feeds,
        topics,
        aliases,
        sinks,
        queries,
        learned: Arc::default(),
    };
    if !config.learns() {
        // Nothing to train: the queries are the matcher.
        let _ = config.learned.set(config.queries.clone());
    }
    Ok(config)
}

/// A topic's `examples` and `threshold`, with every example file read and checked.
fn learn_spec(
    ctx: &Ctx<'_>,
    path: &Path,
    i: usize,
    t: &RawTopic,
) -> Result<Option<Arc<LearnSpec>>, ConfigError> {
    let key = |k: &str| format!("topic[{}].{k}", i + 1);
    let threshold = match &t.threshold {
        None => learn::DEFAULT_THRESHOLD,
        Some(v) if (0.0..=1.0).contains(v.get_ref()) && t.examples.is_some() => *v.get_ref(),
        Some(v) if t.examples.is_none() => {
            return Err(ctx.at(
                v.span(),
                key("threshold"),
                "a threshold needs `examples` to learn from",
            ));
        }
        Some(v) => {
            return Err(ctx.at(
                v.span(),
                key("threshold"),
                "expected a score between 0 and 1",
            ));
        }
    };
    let Some(files) = &t.examples else {
        return Ok(None);
    };
    if files.get_ref().is_empty() {
        return Err(ctx.at(
            files.span(),
            key("examples"),
            "empty list: name at least one example file, or leave `examples` out",
        ));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut examples = Vec::new();
    for (k, f) in files.get_ref().iter().enumerate() {
        let key = key(&format!("examples[{}]", k + 1));
        let (file, column) = match f.get_ref() {
            RawExamples::Path(p) => (p.as_str(), "label"),
            RawExamples::Table { file, label } => {
                (file.as_str(), label.as_deref().unwrap_or("label"))
            }
        };
        let full = dir.join(file);
        let text = std::fs::read_to_string(&full).map_err(|e| {
            ctx.at(
                f.span(),
                key.clone(),
                format!("cannot read {}: {e}", full.display()),
            )
        })?;
        let got = learn::read_examples(&text, column, file)
            .map_err(|e| ctx.at(f.span(), key.clone(), format!("{file}:{e}")))?;
        examples.extend(got);
    }
    if let Some(why) = learn::unlearnable(&examples) {
        return Err(ctx.at(files.span(), key("examples"), why));
    }
    Ok(Some(Arc::new(LearnSpec {
        examples,
        threshold,
    })))
}

/// Places a query error at its topic's `query` value, keeping the matcher's own position and caret.
fn query_error(ctx: &Ctx<'_>, raw: &RawConfig, e: QueryError) -> ConfigError {
    match e
        .topic_index
        .and_then(|i| raw.topics.get(i).map(|t| (i, t)))
    {
        Some((i, t)) => ctx.at(
            t.query.span(),
            format!("topic[{}].query", i + 1),
            e.to_string(),
        ),
        None => {
            // An alias error: `topic` is `@name`.
            let name = e.topic.trim_start_matches('@');
            let span = raw
                .aliases
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map_or(0..0, |(_, v)| v.span());
            ctx.at(span, format!("aliases.{name}"), e.to_string())
        }
    }
}

fn feed_url(s: &str) -> Result<Url, String> {
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

fn duration(ctx: &Ctx<'_>, v: &Spanned<String>, key: &str) -> Result<Duration, ConfigError> {
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

fn positive_duration(
    ctx: &Ctx<'_>,
    v: &Spanned<String>,
    key: &str,
) -> Result<Duration, ConfigError> {
    let d = duration(ctx, v, key)?;
    if d.is_zero() {
        return Err(ctx.at(v.span(), key, "must be longer than zero"));
    }
    Ok(d)
}

fn count(ctx: &Ctx<'_>, v: &Spanned<i64>, key: &str) -> Result<usize, ConfigError> {
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
fn byte_size(s: &str) -> Option<u64> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn check_ok(text: &str) -> Config {
        parse(text, Path::new("watchlist.toml")).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Bad examples are config errors at the topic's `examples` entry, with the example
    /// file's own `file:line`; good ones make the topic learn.
    #[test]
    fn example_files_are_checked_and_learned_from() {
        let dir = tempfile::tempdir().unwrap();
        let wl = dir.path().join("watchlist.toml");
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write(
            "good.tsv",
            "label\ttitle\n1\tFinland joins NATO\n0\tNATO jets land\n",
        );
        write(
            "bad.tsv",
            "label\ttitle\n1\tFinland joins NATO\n2\tNATO jets land\n",
        );
        write("nolabel.tsv", "title\nNATO\n");
        write(
            "allpos.tsv",
            "label\ttitle\n1\tFinland joins NATO\n1\tSweden joins NATO\n",
        );
        let topic = |examples: &str| {
            format!("[[topic]]\nname = \"T\"\nquery = \"nato\"\nexamples = {examples}\n")
        };
        let err = |examples: &str| parse(&topic(examples), &wl).unwrap_err().to_string();
        let e = err("[\"missing.tsv\"]");
        assert!(
            e.contains(":4:13: topic[1].examples[1]: cannot read"),
            "{e}"
        );
        let e = err("[\"good.tsv\", \"bad.tsv\"]");
        assert!(
            e.contains("topic[1].examples[2]: bad.tsv:3: label: expected 0 or 1, found \"2\""),
            "{e}"
        );
        let e = err("[{ file = \"nolabel.tsv\" }]");
        assert!(
            e.contains("nolabel.tsv:1: no label column \"label\""),
            "{e}"
        );
        let e = err("[\"allpos.tsv\"]");
        assert!(
            e.contains("topic[1].examples: the examples hold 2 positive and 0 negative"),
            "{e}"
        );
        let e = err("[]");
        assert!(e.contains("topic[1].examples: empty list"), "{e}");
        let c = parse(&topic("[\"good.tsv\"]"), &wl).unwrap();
        assert_eq!(c.topics[0].learn.as_ref().unwrap().examples.len(), 2);
        assert!(c.matcher().model(crate::model::TopicId(0)).is_some());
        let e = parse(
            "[[topic]]\nname = \"T\"\nquery = \"nato\"\nthreshold = 0.5\n",
            &wl,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("threshold needs `examples`"), "{e}");
    }

    /// Marks join their topic's examples: a mark replaces the file's example with the same
    /// text; a topic without examples learns once its marks hold both labels; marks that would
    /// leave a topic's examples one-sided are left out; nothing is trained until it is used.
    #[test]
    fn marks_join_their_topics_examples() {
        let dir = tempfile::tempdir().unwrap();
        let wl = dir.path().join("watchlist.toml");
        std::fs::write(
            dir.path().join("ex.tsv"),
            "label\ttitle\n1\tFinland joins NATO\n0\tNATO jets land\n",
        )
        .unwrap();
        let text = "[[topic]]\nname = \"A\"\nquery = \"nato\"\nexamples = [\"ex.tsv\"]\n\
                    [[topic]]\nname = \"B\"\nquery = \"nato\"\n";
        let c = parse(text, &wl).unwrap();
        let mark = |topic: &str, label: bool, title: &str| crate::store::Mark {
            topic: topic.into(),
            label,
            title: title.into(),
            summary: String::new(),
            marked_at: chrono::DateTime::UNIX_EPOCH,
        };
        let counts = |c: &Config, i: usize| c.topics[i].learn.as_ref().map(|l| l.counts());

        let m = c.with_marks(&[mark("A", false, "Finland joins NATO"), mark("B", true, "x")]);
        assert_eq!(
            counts(&m, 0),
            Some((1, 1, 0)),
            "A's mark would leave it without a positive: left out"
        );
        assert_eq!(
            counts(&m, 1),
            None,
            "B has one label only: it keeps to its query"
        );

        let m = c.with_marks(&[
            mark("A", true, "Sweden joins NATO"),
            mark("B", true, "x"),
            mark("B", false, "y"),
            mark("C", true, "not a topic"),
        ]);
        assert_eq!(counts(&m, 0), Some((2, 1, 1)));
        assert_eq!(counts(&m, 1), Some((1, 1, 2)));
        assert!(m.learned.get().is_none(), "not trained before use");
        let matcher = m.train().unwrap();
        assert!(matcher.model(crate::model::TopicId(1)).is_some());
        assert!(
            Arc::ptr_eq(&matcher, &m.clone().matcher()),
            "trained once, shared by clones"
        );

        // Once trained, the examples can go; the models stay.
        let mut untrained = c.with_marks(&[mark("B", true, "x"), mark("B", false, "y")]);
        untrained.drop_examples();
        assert_eq!(
            counts(&untrained, 1),
            Some((1, 1, 2)),
            "not before training"
        );
        let mut dropped = m.clone();
        dropped.drop_examples();
        assert_eq!(counts(&dropped, 0), Some((0, 0, 0)));
        assert!(Arc::ptr_eq(&matcher, &dropped.matcher()), "the same models");
    }

    /// Every bad config with the exact first line of its error.
    #[test]
    fn bad_configs_name_file_line_column_key_and_problem() {
        let cases: &[(&str, &str)] = &[
            (
                "[[feed]]\nurl = \"feeds/world.xml\"\n",
                "watchlist.toml:2:7: feed[1].url: relative URL without a base",
            ),
            (
                "[[feed]]\nurl = \"https://a.example/rss\"\n[[feed]]\nurl = \"https://b.example/rss\"\n[[feed]]\nurl = \"https://c.example/rss\"\n\n\n\n    url = \"x\"\n",
                "watchlist.toml:10:5: feed[3].url: duplicate key",
            ),
            (
                "[[feed]]\nurl = \"ftp://a.example/rss\"\n",
                "watchlist.toml:2:7: feed[1].url: unsupported scheme \"ftp\" (expected http or https)",
            ),
            (
                "[[feed]]\nurl = \"https://a.example/rss\"\n[[feed]]\nurl = \"https://a.example/rss\"\n",
                "watchlist.toml:4:7: feed[2].url: duplicate feed https://a.example/rss",
            ),
            (
                "[[feed]]\nurl = \"https://a.example/rss\"\nurll = \"x\"\n",
                "watchlist.toml:3:1: feed[1].urll: unknown field `urll`, expected one of `url`, `name`, `interval`, `enabled`",
            ),
            (
                "[[feed]]\nname = \"A\"\n",
                "watchlist.toml:1:1: feed[1]: missing field `url`",
            ),
            (
                "[settings]\ninterval = \"soon\"\n",
                "watchlist.toml:2:12: settings.interval: invalid duration \"soon\": expected number at 0 (examples: \"90s\", \"15m\", \"1h 30m\")",
            ),
            (
                "[settings]\ninterval = \"0s\"\n",
                "watchlist.toml:2:12: settings.interval: must be longer than zero",
            ),
            (
                "[settings]\ninterval = 15\n",
                "watchlist.toml:2:12: settings.interval: invalid type: integer `15`, expected a string",
            ),
            (
                "[settings]\nconcurrency = 0\n",
                "watchlist.toml:2:15: settings.concurrency: expected a number from 1 to 1024, got 0",
            ),
            (
                "[settings]\nalert_on_first_pol = true\n",
                "watchlist.toml:2:1: settings.alert_on_first_pol: unknown field `alert_on_first_pol`, expected one of `interval`, `alert_on_first_poll`, `concurrency`, `host_concurrency`, `host_spacing`, `max_body_size`, `batch_after`, `batch_window`, `max_per_topic_per_hour`, `quiet_hours`, `notification_timeout`, `opener`, `keep_articles`, `keep_alerts`",
            ),
            (
                "[setings]\n",
                "watchlist.toml:1:2: setings: unknown field `setings`, expected one of `settings`, `aliases`, `feed`, `topic`, `sink`",
            ),
            (
                "[[topic]]\nname = \"A\"\nquery = \"x\"\nurgency = \"loud\"\n",
                "watchlist.toml:4:11: topic[1].urgency: unknown variant `loud`, expected one of `low`, `normal`, `critical`",
            ),
            (
                "[[topic]]\nname = \"A\"\nquery = \"x\"\n[[topic]]\nname = \"A\"\nquery = \"y\"\n",
                "watchlist.toml:5:8: topic[2].name: duplicate topic \"A\"",
            ),
            (
                "[[topic]]\nname = \" \"\nquery = \"x\"\n",
                "watchlist.toml:2:8: topic[1].name: empty topic name",
            ),
            (
                "[[feed]]\nurl = \"https://a.example/rss\"\nname = \"\"\n",
                "watchlist.toml:3:8: feed[1].name: empty name (leave the key out to use the feed's title)",
            ),
            ("[[feed]\nurl = 1\n", "watchlist.toml:1:8: (syntax): "),
            (
                "[settings]\nquiet_hours = \"late\"\n",
                "watchlist.toml:2:15: settings.quiet_hours: expected local times \"HH:MM-HH:MM\", e.g. \"23:00-07:00\"",
            ),
            (
                "[[sink]]\nkind = \"pigeon\"\n",
                "watchlist.toml:2:8: sink[1].kind: unknown sink kind \"pigeon\", expected \"command\" or \"webhook\"",
            ),
            (
                "[[sink]]\nkind = \"webhook\"\nurl = \"ntfy/topic\"\n",
                "watchlist.toml:3:7: sink[1].url: relative URL without a base",
            ),
            (
                "[[sink]]\nkind = \"command\"\n",
                "watchlist.toml:2:8: sink[1].kind: a command sink needs `command` (and no `url`)",
            ),
            (
                "[aliases]\nkyiv = []\n",
                "watchlist.toml:2:8: aliases.kyiv: an alias needs at least one spelling",
            ),
            (
                "[aliases]\nkyiv = [\"Kyiv\", \" \"]\n",
                "watchlist.toml:2:17: aliases.kyiv[2]: empty spelling",
            ),
        ];
        for (text, want) in cases {
            let err = parse(text, Path::new("watchlist.toml"))
                .expect_err(text)
                .to_string();
            let first = err.lines().next().unwrap();
            assert!(
                first.starts_with(want),
                "config:\n{text}\nwant: {want}\ngot:  {first}"
            );
        }
    }

    #[test]
    fn defaults_and_overrides() {
        let c = check_ok("");
        assert_eq!(c.settings, Settings::default());
        let c = check_ok(
            "[settings]\ninterval = \"1h\"\nalert_on_first_poll = true\nhost_spacing = \"0s\"\nmax_body_size = \"1MiB\"\n\
             [[feed]]\nurl = \"https://user:secret@a.example/rss\"\ninterval = \"30m\"\n",
        );
        assert_eq!(c.settings.interval, Duration::from_secs(3600));
        assert!(c.settings.alert_on_first_poll);
        assert_eq!(c.settings.host_spacing, Duration::ZERO);
        assert_eq!(c.settings.max_body_bytes, 1 << 20);
        assert_eq!(c.feeds[0].interval, Some(Duration::from_secs(1800)));
        assert_eq!(
            redact_url(&c.feeds[0].url),
            "https://a.example/rss",
            "credentials never shown"
        );
    }
}
