//! The topic language and the matcher (pure: no I/O, no clock, no global state).
//!
//! # The topic language
//!
//! A topic's `query` says which articles it wants:
//!
//! ```text
//! NATO NEAR/8 (join* OR membership OR accession)
//! @putin NEAR/12 @zelensky NEAR/12 (talks OR meet* OR summit)
//! title:(ceasefire OR truce) AND NOT category:opinion
//! "peace talk*" feed:reuters /covid-?19/
//! ```
//!
//! | syntax | matches |
//! |---|---|
//! | `word` | the whole word (`nato` does not match `natonal`, `talks` not `talkshow`) |
//! | `"a phrase"` | the words one after the other (any punctuation between them) |
//! | `negotiat*` | any word starting with `negotiat`; also last word of a phrase: `"peace talk*"` (at least 2 characters before `*`) |
//! | `@name` | any spelling of the alias group `name` (names are case-insensitive; each spelling is a word, a phrase, or ends in `*`) |
//! | `/regex/` | a [regex](https://docs.rs/regex) on the *normalised* field text (see below); `\/` is a slash |
//! | `a AND b`, `a b` | both |
//! | `a OR b` | either |
//! | `NOT a`, `-a` | `a` does not occur |
//! | `a NEAR/n b`, `a NEAR b` | see NEAR below; bare `NEAR` is `NEAR/10`; `n` is 0 to 1000 |
//! | `( ... )` | grouping |
//! | `title:x`, `title:"…"`, `title:( ... )` | `x` inside that field only |
//!
//! Operators are **case-sensitive**: `AND`, `OR`, `NOT`, `NEAR` only in capitals; `and`, `or`,
//! `not`, `near` are ordinary words (so a headline's "rock and roll" can be searched as a phrase
//! and lowercase words never surprise anyone by turning into logic).
//!
//! Precedence, tightest first: `NOT` (and `-`), then `NEAR`, then `AND` (and juxtaposition),
//! then `OR`. So `a OR b c` is `a OR (b AND c)` and `NOT a NEAR b` is an error (a NEAR operand
//! cannot contain `NOT`).
//!
//! Fields: `title`, `summary`, `content`, `author` (each author), `category` (each category),
//! `link`, `feed` (the feed's display name). Unscoped terms search title, summary and content.
//! An unknown `foo:` is an error (a word such as `10:30`, whose part before `:` is not all
//! letters, is just a word). Scopes do not nest.
//!
//! ## Normalisation and words
//!
//! Query words and article text both go through [`normalize`]: NFKC (fullwidth `ＮＡＴＯ` is
//! `nato`), case folding, diacritics removed (`Zelénskyy` = `Zelenskyy`; also Cyrillic: `й`
//! becomes `и`, `ї` becomes `і`, on both sides alike), typographic apostrophes (`’ ʼ ‘ `` ` ``)
//! unified to `'`, hyphens and dashes (`‐ ‑ ‒ – — ― −`) unified to `-`, and invisible format
//! characters (soft hyphen, zero-width joiners) dropped. Words are then runs of Unicode letters
//! and digits (`2022` is a word); apostrophes, hyphens and any other punctuation separate words:
//! `Ukraine's` is `ukraine` `s` and `Putin–Zelensky` is `putin` `zelensky`, so a query word
//! containing them (`Ukraine's`) matches as a phrase.
//!
//! ## NEAR
//!
//! Positions are word indexes within one field value (the title, one author, ...): terms in
//! different fields are never near each other. Two occurrences are *within n* when they do not
//! overlap and at most `n` other words lie between them, in either order: `a NEAR/0 b` means
//! adjacent, `a NEAR/2 b` matches `a x y b` and `b x y a` but not `a x y z b`. A phrase or
//! alias occurrence spans all its words; the distance is counted from its first or last word.
//!
//! A chain `A NEAR/n B NEAR/m C` matches when there are occurrences `a`, `b`, `c` in one field
//! value with `a`, `b` within `n` and `b`, `c` within `m` (each adjacent pair of the chain,
//! either order; only adjacent operands must be different occurrences, so in
//! `nato NEAR/1 x NEAR/1 nato` one `nato` can serve both ends). Operands may be groups:
//! `(@putin OR kremlin) NEAR/12 (@zelensky OR kyiv)`.
//! Inside a NEAR operand, `x AND y` stands for the occurrences of both (when both occur).
//! A parenthesised NEAR used as an operand counts as the window spanning its chain.
//!
//! ## Explanations
//!
//! Each [`Match`] lists the hits that made the query true (for `OR`, every alternative that
//! occurred; for `NEAR`, the occurrences of the closest chain found for each occurrence of the
//! last operand; nothing under `NOT`), strongest first: title, then summary, content, author,
//! category, link, feed, then by position. `term` is the term as written in the query (for an
//! alias, `@name`), `text` and `start..end` are the original field text and its byte range.
//! The snippet is about 160 characters of the field of the strongest hit, around the stretch
//! holding the most distinct terms, cut at spaces with `…` where cut, whitespace runs collapsed
//! to one space, and `marks` the byte ranges of hits in the snippet text.
//!
//! ## Limits
//!
//! Each field is analysed up to its first 8 MiB. Per article, at most 4,096 occurrences of one
//! term are kept (a 1 MB field of `nato nato …` still matches, in bounded time and memory) and
//! at most 64 hits are listed in a `Match`. The work per article is one normalisation of each
//! field, one Aho-Corasick pass over all fields for the terms of every topic, and then an
//! evaluation of only the topics with at least one hit (plus topics with a `/regex/`, which are
//! evaluated on every article).
//!
//! ## Errors
//!
//! Every topic is compiled when the [`Matcher`] is built; a bad query is a [`QueryError`] with
//! its line and column: unbalanced parentheses, a dangling operator, an empty query, an
//! unterminated phrase or regex, a bad `NEAR/n`, an undefined alias, an unknown field, an empty
//! phrase, an invalid or too large regex, a query longer than 10 KiB or nested deeper than 64
//! levels, and a query that can never match on its own (only `NOT ...`, or `x AND NOT x`).
//! Aliases are checked too: an alias with no spelling or an empty spelling is an error.

mod normalize;
mod parse;
mod scanner;
mod snippet;
mod terms;

#[cfg(test)]
mod tests;

use thiserror::Error;

use crate::learn::{self, ModelCache, TopicModel};
use crate::model::{Aliases, Article, Learned, Match, Topic, TopicId};

pub use normalize::{normalize, words};
pub use parse::{DEFAULT_NEAR, Expr, MAX_DEPTH, MAX_NEAR, MAX_QUERY_BYTES};

use scanner::{Scanner, ScannerBuilder};

/// A query that cannot be compiled, with its position inside the query text.
///
/// For a bad alias, `topic` is `@name`, the position is inside the offending spelling and
/// `topic_index` is `None`.
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

impl QueryError {
    fn at(
        query: &str,
        pos: usize,
        message: String,
        topic: &str,
        topic_index: Option<usize>,
    ) -> QueryError {
        let (line, column) = crate::text_pos::line_col(query, pos);
        let whole_line = crate::text_pos::line_at(query, pos);
        let line_text = whole_line.trim_end_matches('\r');
        let pad: String = whole_line
            .chars()
            .take(column - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        QueryError {
            topic_index,
            topic: topic.to_owned(),
            line,
            column,
            message,
            excerpt: format!("  {line_text}\n  {pad}^"),
        }
    }
}

/// Every enabled topic compiled into one scanner, and the trained model of each topic that
/// learns.
#[derive(Debug)]
pub struct Matcher {
    scanner: Scanner,
    /// Indexed by topic index; `None` for a topic without examples.
    models: Vec<Option<TopicModel>>,
    /// Indexed by topic index: the model came from a [`ModelCache`].
    from_cache: Vec<bool>,
}

/// A topic's examples could not be learned from.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("topic {topic:?}: {message}")]
pub struct LearnError {
    pub topic_index: usize,
    pub topic: String,
    pub message: String,
}

/// What the query and (for a topic that learns) the model said about one article and topic.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub topic: TopicId,
    /// The query's match, if it matched.
    pub query: Option<Match>,
    /// The model's verdict (`None` for a topic without a model).
    pub verdict: Option<Learned>,
}

impl Assessment {
    /// Whether this is an alert: the query matched and, for a topic that learns, the model
    /// accepted it.
    pub fn alerts(&self) -> bool {
        self.query.is_some() && self.verdict.as_ref().is_none_or(Learned::accepted)
    }
}

impl Matcher {
    /// Compile every enabled topic (and check every alias). `TopicId(i)` in results is the
    /// index of the topic in `topics`; disabled topics are not compiled and never match.
    pub fn new(topics: &[Topic], aliases: &Aliases) -> Result<Matcher, QueryError> {
        check_aliases(aliases)?;
        let mut b = ScannerBuilder::default();
        for (i, t) in topics.iter().enumerate() {
            if !t.enabled {
                continue;
            }
            let expr = parse::parse(&t.query, aliases)
                .map_err(|e| QueryError::at(&t.query, e.pos, e.message, &t.name, Some(i)))?;
            b.add(TopicId(i), &expr, aliases);
        }
        let scanner = b.build().map_err(|message| QueryError {
            topic_index: None,
            topic: String::new(),
            line: 1,
            column: 1,
            message,
            excerpt: String::new(),
        })?;
        Ok(Matcher {
            scanner,
            models: Vec::new(),
            from_cache: Vec::new(),
        })
    }

    /// [`Matcher::new`], then train a model for every enabled topic with examples.
    pub fn learned(topics: &[Topic], aliases: &Aliases) -> Result<Matcher, MatcherError> {
        Matcher::learned_with(topics, aliases, &learn::NoCache)
    }

    /// [`Matcher::learned`], taking each model from `cache` when it holds one for the same
    /// examples, query and aliases ([`learn::model_key`]), and keeping there what it trains.
    pub fn learned_with(
        topics: &[Topic],
        aliases: &Aliases,
        cache: &dyn ModelCache,
    ) -> Result<Matcher, MatcherError> {
        let mut m = Matcher::new(topics, aliases)?;
        m.models = topics.iter().map(|_| None).collect();
        m.from_cache = vec![false; topics.len()];
        for (i, t) in topics.iter().enumerate() {
            let Some(spec) = t.learn.as_ref().filter(|_| t.enabled) else {
                continue;
            };
            let key = learn::model_key(&spec.examples, &t.query, aliases, learn::DEFAULT_C);
            if let Some(model) = cache.load(&key) {
                m.models[i] = Some(model.with_threshold(spec.threshold));
                m.from_cache[i] = true;
                continue;
            }
            let fail = |message: String| LearnError {
                topic_index: i,
                topic: t.name.clone(),
                message,
            };
            let matches: Vec<Option<Match>> = spec
                .examples
                .iter()
                .map(|e| m.query_match(TopicId(i), &e.title, &e.summary))
                .collect();
            let hits: Vec<Option<Vec<&str>>> = matches
                .iter()
                .map(|mm| mm.as_ref().map(Match::terms))
                .collect();
            let model = TopicModel::train(&spec.examples, &hits, spec.threshold, learn::DEFAULT_C)
                .map_err(fail)?;
            cache.save(&key, &model);
            m.models[i] = Some(model);
        }
        Ok(m)
    }

    /// Whether topic `topic`'s model was read from the cache rather than trained.
    pub fn model_from_cache(&self, topic: TopicId) -> bool {
        self.from_cache.get(topic.0).copied().unwrap_or(false)
    }

    /// The query's match of one topic on a title and summary.
    fn query_match(&self, topic: TopicId, title: &str, summary: &str) -> Option<Match> {
        let a = Article {
            title: title.to_owned(),
            summary: summary.to_owned(),
            ..Article::default()
        };
        self.scanner
            .matches(&a)
            .into_iter()
            .find(|m| m.topic == topic)
    }

    /// The topics `article` is an alert for, ordered by [`TopicId`], each with its explanation
    /// (and, for a topic that learns, the model's score and reasons).
    pub fn matches(&self, article: &Article) -> Vec<Match> {
        let mut ms = self.scanner.matches(article);
        if self.models.iter().all(Option::is_none) {
            return ms;
        }
        ms.retain_mut(|m| match self.model(m.topic) {
            None => true,
            Some(model) => {
                let v = model.judge(&features(article, Some(m)));
                let accepted = v.accepted();
                m.learned = Some(v);
                accepted
            }
        });
        ms
    }

    /// Every topic's query match and model verdict on `article`, also where the query did not
    /// match or the model said no (for `eval`, which shows why an item was missed). The model
    /// scores articles the query did not match too, though those never alert.
    pub fn assess(&self, article: &Article) -> Vec<Assessment> {
        let ms = self.scanner.matches(article);
        let topics = self.scanner.topic_ids();
        topics
            .into_iter()
            .map(|topic| {
                let mut query = ms.iter().find(|m| m.topic == topic).cloned();
                let verdict = self.model(topic).map(|model| {
                    let v = model.judge(&features(article, query.as_ref()));
                    if let Some(q) = &mut query {
                        q.learned = Some(v.clone());
                    }
                    v
                });
                Assessment {
                    topic,
                    query,
                    verdict,
                }
            })
            .collect()
    }

    /// The trained model of a topic, if it learns.
    pub fn model(&self, topic: TopicId) -> Option<&TopicModel> {
        self.models.get(topic.0).and_then(Option::as_ref)
    }

    /// Which automaton scans for the topics' terms and its heap size in bytes: `("NFA", 52_000)`,
    /// `("DFA", 9_800_000)`, or `("none", 0)` when no topic has a term (for benchmarks and tests).
    pub fn automaton(&self) -> (&'static str, usize) {
        self.scanner.automaton()
    }
}

/// A watch-list's topics could not be compiled or learned.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MatcherError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error(transparent)]
    Learn(#[from] LearnError),
}

/// What a topic's model sees of an article: its feature keys, with the query's hits.
fn features(article: &Article, m: Option<&Match>) -> Vec<u64> {
    let terms = m.map(Match::terms);
    learn::feature_keys(
        &article.title,
        &article.summary,
        &article.content,
        terms.as_deref(),
    )
}

/// One compiled ad-hoc query (`tidings match --query '...'`).
#[derive(Debug)]
pub struct Query {
    expr: Expr,
    scanner: Scanner,
}

impl Query {
    /// The parsed query; its `Display` is a canonical query text that parses back to it.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The match, if `article` matches (its `topic` is `TopicId(0)`).
    pub fn matches(&self, article: &Article) -> Option<Match> {
        self.scanner.matches(article).into_iter().next()
    }
}

/// Compile one ad-hoc query; errors name the topic `query` with no topic index.
pub fn compile_query(query: &str, aliases: &Aliases) -> Result<Query, QueryError> {
    check_aliases(aliases)?;
    let expr = parse_query(query, aliases)?;
    let mut b = ScannerBuilder::default();
    b.add(TopicId(0), &expr, aliases);
    let scanner = b.build().map_err(|message| QueryError {
        topic_index: None,
        topic: "query".to_owned(),
        line: 1,
        column: 1,
        message,
        excerpt: String::new(),
    })?;
    Ok(Query { expr, scanner })
}

/// Parse (and validate) a query without building a scanner.
pub fn parse_query(query: &str, aliases: &Aliases) -> Result<Expr, QueryError> {
    parse::parse(query, aliases).map_err(|e| QueryError::at(query, e.pos, e.message, "query", None))
}

/// Every alias needs a referable name and at least one spelling with letters or digits.
fn check_aliases(aliases: &Aliases) -> Result<(), QueryError> {
    let mut seen: Vec<String> = Vec::new();
    for (name, spellings) in aliases {
        let fail = |text: &str, pos: usize, message: String| {
            Err(QueryError::at(
                text,
                pos,
                message,
                &format!("@{name}"),
                None,
            ))
        };
        if name.is_empty() || name.contains(|c: char| c.is_whitespace() || "()\"".contains(c)) {
            return fail(
                name,
                0,
                format!(
                    "alias name '{name}' must be non-empty without spaces, parentheses or quotes"
                ),
            );
        }
        let lower = name.to_lowercase();
        if seen.contains(&lower) {
            return fail(
                name,
                0,
                format!("alias '@{name}' is defined twice (alias names are case-insensitive)"),
            );
        }
        seen.push(lower);
        if spellings.is_empty() {
            return fail("", 0, format!("alias '@{name}' has no spellings"));
        }
        for (k, s) in spellings.iter().enumerate() {
            let body = s.trim().strip_suffix('*');
            let ok = match body {
                Some(p) => {
                    p.chars().last().is_some_and(char::is_alphanumeric) && !p.contains('*') && {
                        let ws = words(p);
                        !ws.is_empty() && (ws.len() > 1 || ws[0].chars().count() >= 2)
                    }
                }
                None => !s.contains('*') && !words(s).is_empty(),
            };
            if !ok {
                let what = if s.trim().is_empty() {
                    "is empty".to_owned()
                } else {
                    format!(
                        "'{s}' is not a word, a phrase or a prefix (at least 2 letters before a final '*')"
                    )
                };
                return fail(s, 0, format!("alias '@{name}': spelling {} {what}", k + 1));
            }
        }
    }
    Ok(())
}
