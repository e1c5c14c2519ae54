//! The topic language and the matcher (pure: no I/O, no clock).
//!
//! STUB: the real implementation is being written; this file only fixes the API.

use thiserror::Error;

use crate::model::{Aliases, Article, Match, Topic};

/// A query that cannot be compiled, with its position inside the query text.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("topic {topic:?}: query:{line}:{column}: {message}\n{excerpt}")]
pub struct QueryError {
    /// Index of the topic in the slice given to [`Matcher::new`] (`None` for an ad-hoc query).
    pub topic_index: Option<usize>,
    pub topic: String,
    /// 1-based line and column (in characters) inside the query text.
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The query line and a caret under the column, each line indented by two spaces.
    pub excerpt: String,
}

/// Every enabled topic compiled into one engine.
#[derive(Debug)]
pub struct Matcher {
    _topics: usize,
}

impl Matcher {
    pub fn new(topics: &[Topic], _aliases: &Aliases) -> Result<Matcher, QueryError> {
        Ok(Matcher {
            _topics: topics.len(),
        })
    }

    pub fn matches(&self, _article: &Article) -> Vec<Match> {
        Vec::new()
    }
}
