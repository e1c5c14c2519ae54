//! The watch-list as written: serde structs that keep every value's span, unknown keys refused.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::model::Urgency;

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
