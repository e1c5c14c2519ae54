//! Plain data shared by every module: no behaviour beyond small accessors.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Row id of a feed in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FeedId(pub i64);

/// Index of a topic in the configuration's topic list (and in the matcher built from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TopicId(pub usize);

/// The stable identity of an article within its feed: the guid when present, else the
/// normalised link, else a hash of title + summary. Never a parser-generated id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ArticleKey(pub String);

impl fmt::Display for ArticleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One entry of a feed, as plain text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Article {
    /// Dedup key (see [`ArticleKey`]).
    pub key: ArticleKey,
    /// The entry's id / guid exactly as written in the feed, if it had one.
    pub guid: Option<String>,
    /// Absolute link to the article (http or https only are ever opened).
    pub link: Option<String>,
    pub title: String,
    /// Summary / description, HTML converted to plain text.
    pub summary: String,
    /// Full content, HTML converted to plain text (often empty in news feeds).
    pub content: String,
    pub authors: Vec<String>,
    pub categories: Vec<String>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    /// Display name of the feed the article came from (the configured name, else the
    /// feed's own title). Searched by the `feed:` scope of the query language.
    pub source: String,
}

/// Article fields the query language can address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    Title,
    Summary,
    Content,
    Author,
    Category,
    Link,
    Feed,
}

impl Field {
    pub const ALL: [Field; 7] = [
        Field::Title,
        Field::Summary,
        Field::Content,
        Field::Author,
        Field::Category,
        Field::Link,
        Field::Feed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Summary => "summary",
            Field::Content => "content",
            Field::Author => "author",
            Field::Category => "category",
            Field::Link => "link",
            Field::Feed => "feed",
        }
    }

    pub fn parse(s: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How loudly a topic's alerts are shown (freedesktop urgency levels).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Urgency {
    Low,
    #[default]
    Normal,
    Critical,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Low => "low",
            Urgency::Normal => "normal",
            Urgency::Critical => "critical",
        }
    }
}

/// A tracked topic as configured (its query not yet compiled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    pub name: String,
    pub query: String,
    pub urgency: Urgency,
    pub enabled: bool,
    /// Labelled examples to learn from; `None`: the query alone decides.
    pub learn: Option<std::sync::Arc<crate::learn::LearnSpec>>,
}

/// Alias groups: `@name` in a query stands for any of the listed spellings.
pub type Aliases = BTreeMap<String, Vec<String>>;

/// One occurrence of a query term in an article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hit {
    /// The term as written in the query: `nato`, `"peace talks"`, `negotiat*`, `@zelensky`, `/re/`.
    /// Shared with the compiled query (a match copies no term text).
    pub term: std::sync::Arc<str>,
    /// The article text that matched, as it appears in the field (kept inline, without an
    /// allocation, up to 24 bytes: most hits are a word or two).
    pub text: compact_str::CompactString,
    pub field: Field,
    /// Byte offsets into the original (not normalised) field text.
    pub start: usize,
    pub end: usize,
}

/// About 160 characters of one field around the strongest hit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snippet {
    pub field: Option<Field>,
    pub text: String,
    /// Byte ranges of `text` that are hits, sorted and non-overlapping.
    pub marks: Vec<(usize, usize)>,
}

impl Snippet {
    /// The snippet cut into `(segment, is_hit)` pieces, in order.
    pub fn segments(&self) -> impl Iterator<Item = (&str, bool)> + '_ {
        let mut pieces = Vec::with_capacity(self.marks.len() * 2 + 1);
        let mut at = 0;
        for &(s, e) in &self.marks {
            if s > at {
                pieces.push((&self.text[at..s], false));
            }
            pieces.push((&self.text[s..e], true));
            at = e;
        }
        if at < self.text.len() {
            pieces.push((&self.text[at..], false));
        }
        pieces.into_iter()
    }

    /// Plain rendering with hits in «guillemets», for terminals and logs.
    pub fn to_plain_marked(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 8 * self.marks.len());
        for (seg, hit) in self.segments() {
            if hit {
                out.push('«');
                out.push_str(seg);
                out.push('»');
            } else {
                out.push_str(seg);
            }
        }
        out
    }
}

/// Why an article matched a topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Match {
    pub topic: TopicId,
    /// The hits that made the expression true, strongest first.
    pub hits: Vec<Hit>,
    pub snippet: Snippet,
    /// For a topic that learns: what its model said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learned: Option<Learned>,
}

/// A learned topic's verdict on an article, kept with the match as its explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Learned {
    /// Probability (0–1) that the article belongs to the topic.
    pub score: f64,
    /// The score an alert needs.
    pub threshold: f64,
    /// The features that pushed the score up most, with their contribution.
    pub reasons: Vec<(String, f64)>,
}

impl Eq for Learned {}

impl Learned {
    /// Whether the score reached the threshold: the model says the article belongs.
    pub fn accepted(&self) -> bool {
        self.score >= self.threshold
    }
}

impl Match {
    /// The distinct query terms that fired, in order of first appearance.
    pub fn terms(&self) -> Vec<&str> {
        let mut seen: Vec<&str> = Vec::new();
        for h in &self.hits {
            if !seen.contains(&&*h.term) {
                seen.push(&h.term);
            }
        }
        seen
    }
}
