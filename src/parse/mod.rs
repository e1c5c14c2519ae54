//! Feed bytes -> plain [`Article`]s. Pure: no I/O, no clock.
//!
//! feed-rs does the parsing, under `catch_unwind` so that no document can take the daemon
//! down. Around it:
//! - `repair.rs`: what feed-rs rejects but feeds really send (UTF-16 and legacy encodings,
//!   `<rss>` without a `version`, Atom 0.3, JSON Feeds whose version URL uses `http://`),
//! - `article.rs`: one entry -> one [`Article`] with links resolved and a stable dedup key,
//! - `text.rs`: HTML -> one line of plain text,
//! - `hints.rs`: the scheduling hints feed-rs does not read.

mod article;
mod hints;
mod repair;
mod text;

use std::panic::{AssertUnwindSafe, catch_unwind};

use thiserror::Error;
use url::Url;

use crate::model::Article;

/// Article links' canonical form lives with the other URL rules; kept here for its callers.
pub use crate::links::normalize_link;
pub use article::dedup_key;
pub use text::html_to_text;

/// What a feed document holds, as plain data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedFeed {
    /// The feed's own title, as plain text.
    pub title: Option<String>,
    pub articles: Vec<Article>,
    /// The document's scheduling hints (`<ttl>`, `<skipHours>`, `<skipDays>`, `sy:update*`).
    pub hints: crate::schedule::FeedHints,
}

/// Why a document yielded no feed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("empty document")]
    Empty,
    #[error("not a feed: the document looks like an HTML page")]
    Html,
    #[error("not a feed: {0}")]
    NotAFeed(String),
    #[error("unsupported encoding: {0}")]
    Encoding(String),
    #[error("the feed parser crashed on this document ({0})")]
    Panicked(String),
    #[error("more than {limit} entries in one document: not read")]
    TooManyEntries { limit: usize },
}

/// The most entries one document may hold. feed-rs keeps every entry of a document in memory
/// at once (about 1 KB each before their text): 10,000 is far above any news feed (they
/// carry 10–100) and bounds what one hostile document can make the parser hold.
pub const MAX_ENTRIES: usize = 10_000;

/// Whether `doc` holds more than `limit` entries, counted by their opening tags (`<item`,
/// `<entry`, with or without a prefix) or, in a JSON Feed, by `"id"` keys — before feed-rs
/// builds them. Over-counting (the strings inside escaped HTML) errs on the side of refusing
/// only documents that are already huge.
fn too_many_entries(doc: &[u8], limit: usize) -> bool {
    use std::sync::LazyLock;
    static XML: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
        aho_corasick::AhoCorasick::new([&b"<item"[..], b"<entry", b":item", b":entry"])
            .expect("fixed patterns")
    });
    static JSON: LazyLock<aho_corasick::AhoCorasick> =
        LazyLock::new(|| aho_corasick::AhoCorasick::new([&b"\"id\""[..]]).expect("fixed pattern"));
    let json = doc.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let finder = if json { &*JSON } else { &*XML };
    finder.find_iter(doc).nth(limit).is_some()
}

/// Parses a feed document. `base` (the feed's URL) resolves relative links.
///
/// Never panics: a panic inside feed-rs is caught and returned as [`ParseError::Panicked`].
pub fn parse(bytes: &[u8], base: &Url) -> Result<ParsedFeed, ParseError> {
    let doc = repair::prepare(bytes)?;
    if too_many_entries(&doc, MAX_ENTRIES) {
        return Err(ParseError::TooManyEntries { limit: MAX_ENTRIES });
    }
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        .id_generator(|_, _, _| article::NO_ID.to_string())
        .build();
    let feed = match catch_unwind(AssertUnwindSafe(|| parser.parse(doc.as_ref()))) {
        Ok(Ok(feed)) => feed,
        Ok(Err(e)) => {
            // `<rss>` without a `<channel>` (or an empty `<feed>`) is a feed with nothing in it.
            if let Some(root) = root_element(&doc)
                && matches!(root.as_str(), "rss" | "feed" | "rdf:RDF" | "RDF")
                && matches!(
                    e,
                    feed_rs::parser::ParseFeedError::ParseError(
                        feed_rs::parser::ParseErrorKind::NoFeedRoot
                    )
                )
            {
                return Ok(ParsedFeed::default());
            }
            return Err(classify_error(&doc, e));
        }
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            return Err(ParseError::Panicked(
                crate::sanitize::strip_controls(&msg).into_owned(),
            ));
        }
    };
    let title = feed
        .title
        .as_ref()
        .map(text::text_of)
        .filter(|t| !t.is_empty());
    let source = title.clone().unwrap_or_default();
    let articles = feed
        .entries
        .into_iter()
        .map(|e| article::from_entry(e, base, &source))
        .collect();
    let mut hints = hints::schedule_hints(&doc);
    hints.ttl_minutes = feed.ttl;
    Ok(ParsedFeed {
        title,
        articles,
        hints,
    })
}

/// The name of the document's root element (after the prolog, comments and doctype).
fn root_element(doc: &[u8]) -> Option<String> {
    let mut rest = &doc[..doc.len().min(16 * 1024)];
    loop {
        let start = rest.iter().position(|&b| b == b'<')?;
        rest = &rest[start..];
        let skip_to = |r: &[u8], end: &[u8]| {
            r.windows(end.len())
                .position(|w| w == end)
                .map(|i| i + end.len())
        };
        if rest.starts_with(b"<?") {
            rest = &rest[skip_to(rest, b"?>")?..];
        } else if rest.starts_with(b"<!--") {
            rest = &rest[skip_to(rest, b"-->")?..];
        } else if rest.starts_with(b"<!") {
            rest = &rest[skip_to(rest, b">")?..];
        } else {
            let name: Vec<u8> = rest[1..]
                .iter()
                .take_while(|b| !b.is_ascii_whitespace() && **b != b'>' && **b != b'/')
                .copied()
                .collect();
            return String::from_utf8(name).ok().filter(|n| !n.is_empty());
        }
    }
}

fn classify_error(doc: &[u8], e: feed_rs::parser::ParseFeedError) -> ParseError {
    use feed_rs::parser::{ParseErrorKind, ParseFeedError};
    match e {
        ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot) => {
            let head = String::from_utf8_lossy(&doc[..doc.len().min(512)]).to_ascii_lowercase();
            if head.contains("<html") {
                ParseError::Html
            } else {
                ParseError::NotAFeed("no RSS, Atom or JSON Feed root element".into())
            }
        }
        // feed-rs's message can quote the document.
        other => {
            ParseError::NotAFeed(crate::sanitize::strip_controls(&other.to_string()).into_owned())
        }
    }
}

/// The URL test documents are read from.
#[cfg(test)]
fn test_base() -> Url {
    Url::parse("https://example.com/feeds/world.xml").unwrap()
}

/// Parses a test document given as text.
#[cfg(test)]
fn parse_str(s: &str) -> Result<ParsedFeed, ParseError> {
    parse(s.as_bytes(), &test_base())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_item_becomes_plain_article() {
        let feed = parse_str(
            r#"<?xml version="1.0"?><rss version="2.0"><channel><title>World &amp; More</title>
            <item><title>NATO &lt;b&gt;talks&lt;/b&gt;</title><link>/a/1?utm_source=x</link>
            <guid isPermaLink="false">id-1</guid>
            <description>&lt;p&gt;Finland &lt;b&gt;applies&lt;/b&gt; to join&lt;/p&gt;</description>
            <category>World</category><pubDate>Tue, 22 Mar 2022 10:00:00 GMT</pubDate></item>
            </channel></rss>"#,
        )
        .unwrap();
        assert_eq!(feed.title.as_deref(), Some("World & More"));
        let a = &feed.articles[0];
        assert_eq!(a.key.0, "guid:id-1");
        assert_eq!(a.guid.as_deref(), Some("id-1"));
        assert_eq!(
            a.link.as_deref(),
            Some("https://example.com/a/1?utm_source=x")
        );
        assert_eq!(a.title, "NATO talks");
        assert_eq!(a.summary, "Finland applies to join");
        assert_eq!(a.categories, vec!["World"]);
        assert_eq!(a.source, "World & More");
        assert!(a.published.is_some());
    }

    #[test]
    fn rss_without_channel_is_an_empty_feed() {
        let feed =
            parse_str("<?xml version=\"1.0\"?>\n<!-- x --><rss version=\"2.0\"></rss>").unwrap();
        assert!(feed.articles.is_empty());
        assert!(matches!(
            parse_str("<foo></foo>"),
            Err(ParseError::NotAFeed(_))
        ));
    }

    #[test]
    fn non_feeds_are_clear_errors() {
        assert_eq!(parse_str(""), Err(ParseError::Empty));
        assert_eq!(parse_str("  \n "), Err(ParseError::Empty));
        assert_eq!(
            parse_str("<!DOCTYPE html><html><body>403 Forbidden</body></html>"),
            Err(ParseError::Html)
        );
        assert!(matches!(parse_str("hello"), Err(ParseError::NotAFeed(_))));
        assert!(parse_str("<rss version=\"2.0\"><chan").is_err());
    }

    #[test]
    fn a_document_with_too_many_entries_is_refused_before_it_is_built() {
        let rss = |n: usize| {
            let items: String = (0..n)
                .map(|i| format!("<item><title>t{i}</title><guid>g{i}</guid></item>"))
                .collect();
            format!("<rss version=\"2.0\"><channel><title>x</title>{items}</channel></rss>")
        };
        assert!(!too_many_entries(rss(3).as_bytes(), 3));
        assert!(too_many_entries(rss(4).as_bytes(), 3));
        let atom = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry/><entry/></feed>";
        assert!(!too_many_entries(atom.as_bytes(), 2));
        assert!(too_many_entries(atom.as_bytes(), 1));
        let json =
            r#" {"version":"https://jsonfeed.org/version/1.1","items":[{"id":"1"},{"id":"2"}]}"#;
        assert!(!too_many_entries(json.as_bytes(), 2));
        assert!(too_many_entries(json.as_bytes(), 1));
        assert_eq!(
            parse_str(&rss(MAX_ENTRIES + 1)),
            Err(ParseError::TooManyEntries { limit: MAX_ENTRIES })
        );
    }
}
