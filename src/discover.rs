//! Feed discovery: the feeds an HTML page advertises with
//! `<link rel="alternate" type="application/rss+xml" href="…">` (`tidings feeds add` on a
//! site's front page offers them).
//!
//! The page is read by html5ever's tokenizer (the tree builder is not needed, and its cost
//! grows with nesting depth: a page of 50 000 nested `<div>`s took over a minute), so
//! attribute order, quoting, case, character references, comments and the raw-text elements
//! (`<script>`, `<style>`, `<title>`, ...) are handled as a browser would. Pure: text in, links
//! out; linear in the size of the page.

use std::cell::RefCell;
use std::collections::HashSet;

use html5ever::TokenizerResult;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use url::Url;

/// The `type` values that announce a feed. `application/json` is JSON Feed's original
/// announcement; WordPress also uses it for its REST API (`/wp-json/…`) and some sites for
/// oEmbed, so those links are left out.
const FEED_TYPES: &[&str] = &[
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
];

/// A `<link>` as written: rel, type, href, title.
type RawLink = (String, String, String, Option<String>);

/// Collects `<link>` and the first `<base href>` start tags, and switches the tokenizer into
/// the raw-text states that the tree builder would (so a `<link>` inside a script string is
/// not one).
#[derive(Default)]
struct Sink {
    links: RefCell<Vec<RawLink>>,
    base: RefCell<Option<String>>,
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let Token::TagToken(tag) = token else {
            return TokenSinkResult::Continue;
        };
        if tag.kind != TagKind::StartTag {
            return TokenSinkResult::Continue;
        }
        let attr = |wanted: &str| {
            tag.attrs
                .iter()
                .find(|a| (*a.name.local).eq_ignore_ascii_case(wanted))
                .map(|a| a.value.to_string())
        };
        // The tokenizer lower-cases tag names.
        match &*tag.name {
            "link" => {
                if let (Some(rel), Some(kind), Some(href)) =
                    (attr("rel"), attr("type"), attr("href"))
                {
                    self.links
                        .borrow_mut()
                        .push((rel, kind, href, attr("title")));
                }
                TokenSinkResult::Continue
            }
            "base" => {
                let mut base = self.base.borrow_mut();
                if base.is_none() {
                    *base = attr("href");
                }
                TokenSinkResult::Continue
            }
            _ if tag.self_closing => TokenSinkResult::Continue,
            "script" => TokenSinkResult::RawData(RawKind::ScriptData),
            "style" | "xmp" | "iframe" | "noembed" | "noframes" => {
                TokenSinkResult::RawData(RawKind::Rawtext)
            }
            "title" | "textarea" => TokenSinkResult::RawData(RawKind::Rcdata),
            "plaintext" => TokenSinkResult::Plaintext,
            _ => TokenSinkResult::Continue,
        }
    }
}

/// The feeds a page links to, in page order, without duplicates: the absolute http(s) URL
/// (relative `href`s resolved against `<base href>` if the page has one, else `base`), the
/// link's `title` (white space collapsed), and its `type` (lower case, without parameters).
pub fn feed_links(html: &str, base: &Url) -> Vec<(Url, Option<String>, String)> {
    let tokenizer = Tokenizer::new(Sink::default(), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    while let TokenizerResult::Script(()) = tokenizer.feed(&input) {}
    tokenizer.end();
    let links = tokenizer.sink.links.take();
    let page_base = tokenizer
        .sink
        .base
        .take()
        .and_then(|h| base.join(h.trim()).ok());

    let base = page_base.as_ref().unwrap_or(base);
    let mut seen = HashSet::new();
    links
        .into_iter()
        .filter_map(|(rel, kind, href, title)| {
            let is_alternate = rel
                .split_ascii_whitespace()
                .any(|r| r.eq_ignore_ascii_case("alternate"));
            let kind = kind
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            if !is_alternate || !FEED_TYPES.contains(&kind.as_str()) {
                return None;
            }
            let href = href.trim();
            if href.is_empty() {
                return None;
            }
            let url = base.join(href).ok()?;
            if !matches!(url.scheme(), "http" | "https") {
                return None;
            }
            if kind == "application/json"
                && (url.path().contains("/wp-json/") || url.as_str().contains("oembed"))
            {
                return None;
            }
            if !seen.insert(url.clone()) {
                return None;
            }
            let title = title
                .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|t| !t.is_empty());
            Some((url, title, kind))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://news.example.com/section/page.html").expect("static URL")
    }

    fn check(html: &str, expected: &[(&str, Option<&str>, &str)]) {
        let got = feed_links(html, &base());
        let got: Vec<_> = got
            .iter()
            .map(|(u, t, k)| (u.as_str(), t.as_deref(), k.as_str()))
            .collect();
        assert_eq!(got, expected, "{html}");
    }

    #[test]
    fn finds_the_usual_links() {
        check(
            r#"<!doctype html><html><head>
              <title>News</title>
              <link rel="stylesheet" href="/s.css">
              <link rel="alternate" type="application/rss+xml" title="All news" href="/feed.rss">
              <link rel="alternate" type="application/atom+xml" title="Atom" href="https://news.example.com/atom.xml">
              <link rel="alternate" type="application/feed+json" href="feed.json">
              <link rel="alternate" type="application/json" title="JSON Feed" href="/feed-v1.json">
              <link rel="alternate" hreflang="de" href="/de/">
              </head><body><p>hi</p></body></html>"#,
            &[
                (
                    "https://news.example.com/feed.rss",
                    Some("All news"),
                    "application/rss+xml",
                ),
                (
                    "https://news.example.com/atom.xml",
                    Some("Atom"),
                    "application/atom+xml",
                ),
                (
                    "https://news.example.com/section/feed.json",
                    None,
                    "application/feed+json",
                ),
                (
                    "https://news.example.com/feed-v1.json",
                    Some("JSON Feed"),
                    "application/json",
                ),
            ],
        );
    }

    #[test]
    fn attributes_in_any_order_case_and_quoting() {
        check(
            r#"<LINK HREF=/a.xml TYPE="Application/RSS+XML; charset=utf-8" REL='Alternate Feed' title='A &amp; B'>
               <link title="  spaced
                 title  " href="//cdn.example.net/b.xml" rel="alternate" type="application/atom+xml"/>"#,
            &[
                (
                    "https://news.example.com/a.xml",
                    Some("A & B"),
                    "application/rss+xml",
                ),
                (
                    "https://cdn.example.net/b.xml",
                    Some("spaced title"),
                    "application/atom+xml",
                ),
            ],
        );
    }

    #[test]
    fn base_href_is_honoured() {
        check(
            r#"<head><base href="https://static.example.org/blog/">
               <link rel="alternate" type="application/rss+xml" href="rss.xml"></head>"#,
            &[(
                "https://static.example.org/blog/rss.xml",
                None,
                "application/rss+xml",
            )],
        );
    }

    #[test]
    fn links_that_are_not_feeds_are_left_out() {
        check(
            r#"<head>
              <link rel="alternate" type="application/json" href="/wp-json/wp/v2/pages/7">
              <link rel="alternate" type="application/json+oembed" href="/oembed?url=x">
              <link rel="alternate" type="application/json" href="/api/oembed.json">
              <link rel="stylesheet" type="application/rss+xml" href="/not-alternate.xml">
              <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
              <link rel="alternate" type="application/rss+xml" href="">
              <link rel="alternate" type="application/rss+xml">
              <link rel="alternate" type="text/html" href="/m/">
              <!-- <link rel="alternate" type="application/rss+xml" href="/commented.xml"> -->
              </head>
              <body><a rel="alternate" type="application/rss+xml" href="/anchor.xml">a</a></body>"#,
            &[],
        );
    }

    #[test]
    fn duplicates_once_and_links_in_body_count() {
        check(
            r#"<html><head><link rel="alternate" type="application/rss+xml" href="/f.xml"></head>
               <body><div><div><link rel="alternate" type="application/rss+xml" href="https://news.example.com/f.xml">
               <link rel="alternate" type="application/atom+xml" href="/g.xml"></div></div></body></html>"#,
            &[
                (
                    "https://news.example.com/f.xml",
                    None,
                    "application/rss+xml",
                ),
                (
                    "https://news.example.com/g.xml",
                    None,
                    "application/atom+xml",
                ),
            ],
        );
    }

    #[test]
    fn links_inside_scripts_styles_and_titles_are_text() {
        check(
            r#"<head><title><link rel="alternate" type="application/rss+xml" href="/t.xml"></title>
               <script>var s = '<link rel="alternate" type="application/rss+xml" href="/s.xml">';</script>
               <style>/* <link rel="alternate" type="application/rss+xml" href="/c.xml"> */</style>
               <link rel="alternate" type="application/rss+xml" href="/real.xml"></head>"#,
            &[(
                "https://news.example.com/real.xml",
                None,
                "application/rss+xml",
            )],
        );
    }

    #[test]
    fn not_html_at_all() {
        check("", &[]);
        check("{\"version\": \"https://jsonfeed.org/version/1.1\"}", &[]);
        check(
            "<rss version=\"2.0\"><channel><link>https://x/</link></channel></rss>",
            &[],
        );
        check(&"<div>".repeat(50_000), &[]);
    }
}
