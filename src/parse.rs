//! Feed bytes -> plain [`Article`]s. Pure: no I/O, no clock.
//!
//! feed-rs does the parsing. Around it, this module:
//! - repairs what feed-rs rejects but feeds really send (UTF-16 documents, `<rss>` without a
//!   `version`, JSON Feeds whose version URL uses `http://`),
//! - isolates feed-rs panics so that no document can take the daemon down,
//! - turns HTML into plain text, resolves links, and derives a stable dedup key.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};

use html5ever::TokenizerResult;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use sha2::{Digest, Sha256};
use thiserror::Error;
use url::Url;

use crate::model::{Article, ArticleKey};

/// Article links' canonical form lives with the other URL rules; kept here for its callers.
pub use crate::links::normalize_link;

/// Marks entries that had no id of their own: feed-rs would otherwise invent a random one.
const NO_ID: &str = "\u{0}tidings:no-id";

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
}

/// Parses a feed document. `base` (the feed's URL) resolves relative links.
///
/// Never panics: a panic inside feed-rs is caught and returned as [`ParseError::Panicked`].
pub fn parse(bytes: &[u8], base: &Url) -> Result<ParsedFeed, ParseError> {
    let doc = prepare(bytes)?;
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        .id_generator(|_, _, _| NO_ID.to_string())
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
            return Err(ParseError::Panicked(msg));
        }
    };
    let title = feed.title.as_ref().map(text_of).filter(|t| !t.is_empty());
    let source = title.clone().unwrap_or_default();
    let articles = feed
        .entries
        .into_iter()
        .map(|e| article_from_entry(e, base, &source))
        .collect();
    let mut hints = schedule_hints(&doc);
    hints.ttl_minutes = feed.ttl;
    Ok(ParsedFeed {
        title,
        articles,
        hints,
    })
}

/// `<skipHours>`, `<skipDays>` and `sy:updatePeriod` / `sy:updateFrequency` from the feed's
/// header (feed-rs does not read them).
///
/// The patterns are ASCII-only (`(?-u)`): tag names, digits and spaces, as the formats define
/// them. With Unicode `\w`, `\s` and `\d` the compiled regexes and their per-thread caches
/// held about 0.3 MB more for the daemon's life (massif, after a round of polls).
fn schedule_hints(doc: &[u8]) -> crate::schedule::FeedHints {
    use regex::bytes::Regex;
    use std::sync::LazyLock;
    static SKIP_HOURS: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?s-u)<skipHours>(.*?)</skipHours>").expect("static regex"));
    static SKIP_DAYS: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?s-u)<skipDays>(.*?)</skipDays>").expect("static regex"));
    static HOUR: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?-u)<hour>\s*(\d{1,2})\s*</hour>").expect("static regex"));
    static DAY: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?-u)<day>\s*([A-Za-z]+)\s*</day>").expect("static regex"));
    static PERIOD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?-u)<(?:\w+:)?updatePeriod>\s*(hourly|daily|weekly|monthly|yearly)\s*</")
            .expect("static regex")
    });
    static FREQUENCY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?-u)<(?:\w+:)?updateFrequency>\s*(\d{1,6})\s*</").expect("static regex")
    });
    // The channel's header: before the first item or entry.
    let head = &doc[..doc.len().min(64 * 1024)];
    let head = ["<item", "<entry"]
        .iter()
        .filter_map(|tag| head.windows(tag.len()).position(|w| w == tag.as_bytes()))
        .min()
        .map_or(head, |end| &head[..end]);
    let text = |m: &[u8]| String::from_utf8_lossy(m).into_owned();
    let mut hints = crate::schedule::FeedHints::default();
    if let Some(block) = SKIP_HOURS.captures(head) {
        hints.skip_hours = HOUR
            .captures_iter(&block[1])
            .filter_map(|c| text(&c[1]).parse::<u32>().ok())
            .map(|h| h % 24)
            .collect();
    }
    if let Some(block) = SKIP_DAYS.captures(head) {
        hints.skip_days = DAY
            .captures_iter(&block[1])
            .filter_map(|c| text(&c[1]).parse::<chrono::Weekday>().ok())
            .collect();
    }
    if let Some(p) = PERIOD.captures(head) {
        let period = match &p[1] {
            b"hourly" => 3600,
            b"daily" => 86_400,
            b"weekly" => 7 * 86_400,
            b"monthly" => 30 * 86_400,
            _ => 365 * 86_400,
        };
        let frequency = FREQUENCY
            .captures(head)
            .and_then(|c| text(&c[1]).parse::<u64>().ok())
            .filter(|&f| f > 0)
            .unwrap_or(1);
        hints.update_every = Some(std::time::Duration::from_secs(period / frequency));
    }
    hints
}

fn article_from_entry(e: feed_rs::model::Entry, base: &Url, source: &str) -> Article {
    let guid = Some(e.id).filter(|id| id != NO_ID && !id.trim().is_empty());
    let link = e
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or_else(|| e.links.first())
        .and_then(|l| absolute_http_url(&l.href, base))
        // A permalink <guid> without <link> leaves `links` empty.
        .or_else(|| {
            guid.as_deref()
                .and_then(|g| Url::parse(g).ok())
                .filter(is_http)
        });
    let title = e.title.as_ref().map(text_of).unwrap_or_default();
    let summary = e.summary.as_ref().map(text_of).unwrap_or_default();
    let content = e
        .content
        .as_ref()
        .and_then(|c| c.body.as_deref())
        .map(html_to_text)
        .unwrap_or_default();
    let key = dedup_key(guid.as_deref(), link.as_ref(), &title, &summary);
    Article {
        key,
        guid,
        link: link.map(String::from),
        title,
        summary,
        content,
        authors: e
            .authors
            .into_iter()
            .filter_map(|p| p.name)
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect(),
        categories: e
            .categories
            .into_iter()
            .map(|c| c.label.unwrap_or(c.term).trim().to_string())
            .filter(|c| !c.is_empty())
            .collect(),
        published: e.published.or(e.updated),
        updated: e.updated,
        source: source.to_string(),
    }
}

/// The guid when present, else the normalised link, else a hash of title + summary.
pub fn dedup_key(guid: Option<&str>, link: Option<&Url>, title: &str, summary: &str) -> ArticleKey {
    if let Some(g) = guid {
        return ArticleKey(format!("guid:{}", g.trim()));
    }
    if let Some(l) = link {
        return ArticleKey(format!("link:{}", normalize_link(l)));
    }
    let mut h = Sha256::new();
    h.update(title.trim().as_bytes());
    h.update([0]);
    h.update(summary.trim().as_bytes());
    let digest = h.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    ArticleKey(format!("hash:{hex}"))
}

fn is_http(u: &Url) -> bool {
    matches!(u.scheme(), "http" | "https")
}

fn absolute_http_url(href: &str, base: &Url) -> Option<Url> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    base.join(href).ok().filter(is_http)
}

/// Plain text of a feed-rs `Text`, converting HTML when the type says so or it looks like HTML.
fn text_of(t: &feed_rs::model::Text) -> String {
    let is_plain = t.content_type.essence().to_string() == "text/plain";
    if is_plain && !t.content.contains(['<', '&']) {
        collapse_ws(&t.content)
    } else {
        html_to_text(&t.content)
    }
}

/// HTML (or text with entities) to one line of plain text.
///
/// The fragment is read by html5ever's tokenizer (character references, comments, CDATA,
/// raw-text elements as a browser reads them) and its text kept: elements that break a line
/// in a browser (`<p>`, `<br>`, `<li>`, `<td>`, ...) become a space, inline ones (`<b>`, `<a>`,
/// ...) nothing, `<script>` / `<style>` contents are dropped. (html2text did this before; it
/// builds a DOM and lays the text out, which cost a third of a cold poll's CPU.)
pub fn html_to_text(html: &str) -> String {
    if !html.contains(['<', '&']) {
        return collapse_ws(html);
    }
    let tokenizer = Tokenizer::new(TextSink::default(), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    while let TokenizerResult::Script(()) = tokenizer.feed(&input) {}
    tokenizer.end();
    collapse_ws(&tokenizer.sink.text.take())
}

/// Collects the text of an HTML fragment for [`html_to_text`].
#[derive(Default)]
struct TextSink {
    text: RefCell<String>,
    /// Inside `<script>` / `<style>`: their text is not text.
    skipping: Cell<bool>,
}

impl TokenSink for TextSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            Token::CharacterTokens(t) => {
                if !self.skipping.get() {
                    self.text.borrow_mut().push_str(&t);
                }
                TokenSinkResult::Continue
            }
            Token::TagToken(tag) => {
                let name: &str = &tag.name;
                if !is_inline(name) {
                    self.text.borrow_mut().push(' ');
                }
                if tag.kind == TagKind::EndTag {
                    if matches!(name, "script" | "style") {
                        self.skipping.set(false);
                    }
                    return TokenSinkResult::Continue;
                }
                if tag.self_closing {
                    return TokenSinkResult::Continue;
                }
                match name {
                    "script" => {
                        self.skipping.set(true);
                        TokenSinkResult::RawData(RawKind::ScriptData)
                    }
                    "style" => {
                        self.skipping.set(true);
                        TokenSinkResult::RawData(RawKind::Rawtext)
                    }
                    "xmp" | "iframe" | "noembed" | "noframes" => {
                        TokenSinkResult::RawData(RawKind::Rawtext)
                    }
                    "title" | "textarea" => TokenSinkResult::RawData(RawKind::Rcdata),
                    "plaintext" => TokenSinkResult::Plaintext,
                    _ => TokenSinkResult::Continue,
                }
            }
            _ => TokenSinkResult::Continue,
        }
    }
}

/// Elements that do not break the line of text they are in.
fn is_inline(name: &str) -> bool {
    matches!(
        name,
        "a" | "abbr"
            | "acronym"
            | "b"
            | "bdi"
            | "bdo"
            | "big"
            | "cite"
            | "code"
            | "data"
            | "del"
            | "dfn"
            | "em"
            | "font"
            | "i"
            | "ins"
            | "kbd"
            | "label"
            | "mark"
            | "nobr"
            | "q"
            | "s"
            | "samp"
            | "small"
            | "span"
            | "strike"
            | "strong"
            | "sub"
            | "sup"
            | "time"
            | "tt"
            | "u"
            | "var"
            | "wbr"
    )
}

/// Whitespace runs to one space, none at either end: `split_whitespace()` joined with single
/// spaces. ASCII text (most of it; this runs over every title, summary and body) is copied a
/// stretch at a time: words with single spaces between them go out in one copy, so text that
/// is already tidy costs one pass and one copy. (The byte set is std's ASCII whitespace, which
/// lacks only the vertical tab: text holding one takes the general path.)
fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    if !s.is_ascii() || s.contains('\x0B') {
        for word in s.split_whitespace() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
        return out;
    }
    let b = s.as_bytes();
    let n = b.len();
    let mut k = 0;
    while k < n && b[k].is_ascii_whitespace() {
        k += 1;
    }
    while k < n {
        let from = k;
        loop {
            while k < n && !b[k].is_ascii_whitespace() {
                k += 1;
            }
            // One plain space between two words stays inside the stretch.
            if k + 1 < n && b[k] == b' ' && !b[k + 1].is_ascii_whitespace() {
                k += 1;
                continue;
            }
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&s[from..k]);
        while k < n && b[k].is_ascii_whitespace() {
            k += 1;
        }
    }
    out
}

/// Repairs the document so feed-rs can read it, or says plainly why it is not a feed.
fn prepare(bytes: &[u8]) -> Result<Cow<'_, [u8]>, ParseError> {
    let doc = transcode(bytes)?;
    let start = doc
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .ok_or(ParseError::Empty)?;
    let body = &doc[start..];
    if body.first() == Some(&b'{') {
        return Ok(fix_json_feed_version(&doc).map_or(doc, Cow::Owned));
    }
    if looks_like_html(body) {
        return Err(ParseError::Html);
    }
    let doc = add_missing_rss_version(&doc).map_or(doc, Cow::Owned);
    Ok(upgrade_atom_03_namespace(&doc).map_or(doc, Cow::Owned))
}

/// feed-rs reads Atom 1.0 only: an Atom 0.3 document (`xmlns="http://purl.org/atom/ns#"`)
/// parses as an empty feed. Its core elements (`entry`, `title`, `link`, `id`, `summary`,
/// `content`, `author`) kept their names in 1.0, so moving it into the 1.0 namespace recovers
/// the entries (0.3's `issued` / `modified` dates are not read).
fn upgrade_atom_03_namespace(doc: &[u8]) -> Option<Vec<u8>> {
    const OLD: &[u8] = b"http://purl.org/atom/ns#";
    const NEW: &[u8] = b"http://www.w3.org/2005/Atom";
    let head = &doc[..doc.len().min(4096)];
    let pos = head.windows(OLD.len()).position(|w| w == OLD)?;
    let mut out = Vec::with_capacity(doc.len() + 4);
    out.extend_from_slice(&doc[..pos]);
    out.extend_from_slice(NEW);
    out.extend_from_slice(&doc[pos + OLD.len()..]);
    Some(out)
}

/// Non-ASCII-compatible encodings (UTF-16 with or without BOM) become UTF-8 with the
/// declaration rewritten, because feed-rs's XML reader panics on them.
fn transcode(bytes: &[u8]) -> Result<Cow<'_, [u8]>, ParseError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let utf16 = match bytes {
        [0xFF, 0xFE, 0, 0, ..]
        | [0, 0, 0xFE, 0xFF, ..]
        | [0, 0, 0, b'<', ..]
        | [b'<', 0, 0, 0, ..] => {
            return Err(ParseError::Encoding("UTF-32 is not supported".into()));
        }
        [0xFF, 0xFE, ..] => Some((encoding_rs::UTF_16LE, 2)),
        [0xFE, 0xFF, ..] => Some((encoding_rs::UTF_16BE, 2)),
        [b'<', 0, _, 0, ..] | [b'{', 0, ..] => Some((encoding_rs::UTF_16LE, 0)),
        [0, b'<', 0, _, ..] | [0, b'{', ..] => Some((encoding_rs::UTF_16BE, 0)),
        [0x4C, 0x6F, 0xA7, 0x94, ..] => {
            return Err(ParseError::Encoding("EBCDIC is not supported".into()));
        }
        _ => None,
    };
    if let Some((enc, bom)) = utf16 {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom..]);
        let text = rewrite_xml_encoding_decl(&text, "utf-8");
        return Ok(Cow::Owned(text.into_bytes()));
    }
    // An ASCII-compatible document: a legacy encoding declared in the XML declaration is
    // decoded here (quick-xml inside feed-rs panics on some of them), and what is meant to be
    // UTF-8 but has stray invalid bytes keeps its valid text rather than failing whole.
    if let Some(label) = declared_encoding(bytes) {
        match encoding_rs::Encoding::for_label(label.as_bytes()) {
            // Declared UTF-16 but not actually UTF-16 (we would have seen it above): UTF-8.
            Some(enc)
                if enc == encoding_rs::UTF_8
                    || enc == encoding_rs::UTF_16LE
                    || enc == encoding_rs::UTF_16BE => {}
            Some(enc) => {
                let (text, _) = enc.decode_without_bom_handling(bytes);
                return Ok(Cow::Owned(
                    rewrite_xml_encoding_decl(&text, "utf-8").into_bytes(),
                ));
            }
            None => return Err(ParseError::Encoding(format!("unknown encoding {label:?}"))),
        }
    }
    let declares_other = declared_encoding(bytes).is_some_and(|l| !l.eq_ignore_ascii_case("utf-8"));
    match String::from_utf8_lossy(bytes) {
        Cow::Borrowed(_) if !declares_other => Ok(Cow::Borrowed(bytes)),
        text => Ok(Cow::Owned(
            rewrite_xml_encoding_decl(&text, "utf-8").into_bytes(),
        )),
    }
}

/// The `encoding` of a leading XML declaration, if there is one.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(1024)];
    let rest = head.strip_prefix(b"<?xml")?;
    let end = rest.windows(2).position(|w| w == b"?>")?;
    let decl = String::from_utf8_lossy(&rest[..end]);
    static ENCODING: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"encoding\s*=\s*["']([^"']*)["']"#).expect("static regex")
    });
    ENCODING.captures(&decl).map(|c| c[1].trim().to_string())
}

/// Rewrites a leading XML declaration for text that is now UTF-8: its `encoding` is removed
/// (UTF-8 is XML's default, and a parser then has nothing to switch to).
fn rewrite_xml_encoding_decl(text: &str, _now: &str) -> String {
    if let Some(rest) = text.strip_prefix("<?xml")
        && let Some(end) = rest.find("?>")
    {
        let decl = &rest[..end];
        static ENCODING: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(r#"\s*encoding\s*=\s*["'][^"']*["']"#).expect("static regex")
        });
        let decl = ENCODING.replace(decl, "");
        return format!("<?xml{decl}{}", &rest[end..]);
    }
    text.to_string()
}

fn looks_like_html(body: &[u8]) -> bool {
    let head = &body[..body.len().min(1024)];
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    let head = head.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let head = match head.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or("", |(_, r)| r).trim_start(),
        None => head,
    };
    head.starts_with("<!doctype html") || head.starts_with("<html") || head.starts_with("<head")
}

/// feed-rs rejects `<rss>` without a `version` attribute; feeds in the wild omit it.
fn add_missing_rss_version(doc: &[u8]) -> Option<Vec<u8>> {
    let head = &doc[..doc.len().min(8192)];
    let pos = head.windows(4).position(|w| w == b"<rss")?;
    let after = head.get(pos + 4)?;
    if !(after.is_ascii_whitespace() || *after == b'>') {
        return None;
    }
    let tag_end = pos + head[pos..].iter().position(|&b| b == b'>')?;
    if head[pos..tag_end].windows(8).any(|w| w == b"version=") {
        return None;
    }
    let mut out = Vec::with_capacity(doc.len() + 16);
    out.extend_from_slice(&doc[..pos + 4]);
    out.extend_from_slice(b" version=\"2.0\"");
    out.extend_from_slice(&doc[pos + 4..]);
    Some(out)
}

/// feed-rs accepts only `https://jsonfeed.org/version/1...`; feeds also write `http://` or `1.1`.
fn fix_json_feed_version(doc: &[u8]) -> Option<Vec<u8>> {
    let mut value: serde_json::Value = serde_json::from_slice(doc).ok()?;
    let obj = value.as_object_mut()?;
    let version = obj.get("version")?.as_str()?;
    if version.starts_with("https://jsonfeed.org/version/1") {
        return None;
    }
    let fixed = if let Some(rest) = version.strip_prefix("http://jsonfeed.org/version/1") {
        format!("https://jsonfeed.org/version/1{rest}")
    } else if version == "1" || version.starts_with("1.") {
        format!("https://jsonfeed.org/version/{version}")
    } else {
        return None;
    };
    obj.insert("version".into(), serde_json::Value::String(fixed));
    serde_json::to_vec(&value).ok()
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
        other => ParseError::NotAFeed(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn collapse_ws_is_split_whitespace_joined(s in "[ a\t\n\r\u{0B}\u{0C}\u{85}\u{A0}\u{2003}\u{3000}é€𝄞]{0,40}") {
            let want = s.split_whitespace().collect::<Vec<_>>().join(" ");
            proptest::prop_assert_eq!(collapse_ws(&s), want);
        }

        #[test]
        fn collapse_ws_on_ascii_is_split_whitespace_joined(s in "([a-c]{1,9} ?|[ \t\n\r\u{0B}\u{0C}\u{1F}]){0,20}") {
            let want = s.split_whitespace().collect::<Vec<_>>().join(" ");
            proptest::prop_assert_eq!(collapse_ws(&s), want);
        }
    }

    fn base() -> Url {
        Url::parse("https://example.com/feeds/world.xml").unwrap()
    }

    fn parse_str(s: &str) -> Result<ParsedFeed, ParseError> {
        parse(s.as_bytes(), &base())
    }

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
    fn missing_guid_uses_normalised_link_then_hash_never_random() {
        let doc = r#"<rss version="2.0"><channel><title>T</title>
            <item><title>A</title><link>https://WWW.Example.com/x/?utm_medium=rss#top</link></item>
            <item><title>B</title><description>no link</description></item>
            </channel></rss>"#;
        let one = parse_str(doc).unwrap();
        let two = parse_str(doc).unwrap();
        assert_eq!(one.articles[0].key.0, "link:https://example.com/x");
        assert!(one.articles[1].key.0.starts_with("hash:"));
        assert_eq!(
            one.articles[1].key, two.articles[1].key,
            "stable across parses"
        );
        assert_eq!(one.articles[1].guid, None);
    }

    #[test]
    fn permalink_guid_without_link_is_the_link() {
        let feed = parse_str(
            r#"<rss version="2.0"><channel><title>T</title>
            <item><title>A</title><guid>https://example.com/story/9</guid></item></channel></rss>"#,
        )
        .unwrap();
        assert_eq!(
            feed.articles[0].link.as_deref(),
            Some("https://example.com/story/9")
        );
    }

    #[test]
    fn non_http_links_are_dropped() {
        let feed = parse_str(
            r#"<rss version="2.0"><channel><title>T</title>
            <item><title>A</title><link>javascript:alert(1)</link><guid>g</guid></item></channel></rss>"#,
        )
        .unwrap();
        assert_eq!(feed.articles[0].link, None);
    }

    #[test]
    fn rss_without_version_is_accepted() {
        let feed = parse_str(r#"<rss><channel><title>T</title><item><title>A</title><guid>g</guid></item></channel></rss>"#)
            .unwrap();
        assert_eq!(feed.articles.len(), 1);
    }

    #[test]
    fn atom_03_entries_are_read() {
        let feed = parse_str(
            r#"<?xml version="1.0"?><feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Old</title>
            <entry><title>Entry one</title><link rel="alternate" type="text/html" href="/e/1"/>
            <id>tag:example.com,2004:1</id><summary>Sum</summary></entry></feed>"#,
        )
        .unwrap();
        assert_eq!(feed.articles.len(), 1);
        assert_eq!(feed.articles[0].title, "Entry one");
        assert_eq!(
            feed.articles[0].link.as_deref(),
            Some("https://example.com/e/1")
        );
    }

    #[test]
    fn json_feed_with_http_version_url_is_accepted() {
        let feed = parse_str(
            r#"{"version":"http://jsonfeed.org/version/1","title":"J","items":[{"id":"1","title":"Hi","content_text":"x"}]}"#,
        )
        .unwrap();
        assert_eq!(feed.articles[0].key.0, "guid:1");
    }

    #[test]
    fn utf16_document_is_transcoded() {
        let xml = r#"<?xml version="1.0" encoding="utf-16"?><rss version="2.0"><channel><title>Київ</title><item><title>Зеленський</title><guid>g</guid></item></channel></rss>"#;
        for (bom, le) in [(true, true), (true, false), (false, true), (false, false)] {
            let mut bytes = Vec::new();
            if bom {
                bytes.extend_from_slice(if le { &[0xFF, 0xFE] } else { &[0xFE, 0xFF] });
            }
            for u in xml.encode_utf16() {
                bytes.extend_from_slice(&if le { u.to_le_bytes() } else { u.to_be_bytes() });
            }
            let feed = parse(&bytes, &base()).unwrap();
            assert_eq!(feed.title.as_deref(), Some("Київ"));
            assert_eq!(feed.articles[0].title, "Зеленський");
        }
    }

    #[test]
    fn legacy_encodings_are_decoded_and_stray_bytes_survive() {
        let mut doc = b"<?xml version=\"1.0\"".to_vec();
        doc.extend(std::iter::repeat_n(b' ', 200));
        doc.extend_from_slice(b"encoding=\"windows-1251\"?><rss version=\"2.0\"><channel><title>");
        doc.extend_from_slice(&[0xCA, 0xE8, 0xE5, 0xE2]); // "Киев" in windows-1251
        doc.extend_from_slice(
            b"</title><item><title>a</title><guid>g</guid></item></channel></rss>",
        );
        assert_eq!(parse(&doc, &base()).unwrap().title.as_deref(), Some("Киев"));

        let mut bad = b"<rss version=\"2.0\"><channel><title>T</title><item><title>caf".to_vec();
        bad.extend_from_slice(&[0xE9, 0xFF]);
        bad.extend_from_slice(b"</title><guid>g</guid></item><item><title>ok</title><guid>h</guid></item></channel></rss>");
        let feed = parse(&bad, &base()).unwrap();
        assert_eq!(
            feed.articles.len(),
            2,
            "one bad byte does not cost the feed"
        );
        assert_eq!(feed.articles[1].title, "ok");
    }

    #[test]
    fn scheduling_hints_are_read() {
        let feed = parse_str(
            r#"<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel><title>T</title>
            <ttl>60</ttl><skipHours><hour>0</hour><hour>23</hour></skipHours>
            <skipDays><day>Saturday</day><day>Sunday</day></skipDays>
            <sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>
            <item><title>A</title><guid>g</guid><description>&lt;skipHours&gt;</description></item></channel></rss>"#,
        )
        .unwrap();
        let h = feed.hints;
        assert_eq!(h.ttl_minutes, Some(60));
        assert_eq!(h.skip_hours, [0, 23]);
        assert_eq!(h.skip_days, [chrono::Weekday::Sat, chrono::Weekday::Sun]);
        assert_eq!(h.update_every, Some(std::time::Duration::from_secs(1800)));
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
}
