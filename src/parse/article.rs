//! One feed-rs entry -> one [`Article`]: links resolved against the feed's URL (http(s) only),
//! text made plain (and free of escape sequences and control characters), and the stable dedup
//! key.

use sha2::{Digest, Sha256};
use url::Url;

use super::text::{html_to_text, text_of};
use crate::links::normalize_link;
use crate::model::{Article, ArticleKey};
use crate::sanitize::strip_controls;

/// Marks entries that had no id of their own: feed-rs would otherwise invent a random one.
pub(super) const NO_ID: &str = "\u{0}tidings:no-id";

/// The article an entry describes; `source` is the feed's title.
pub(super) fn from_entry(e: feed_rs::model::Entry, base: &Url, source: &str) -> Article {
    // The guid is the article's identity, kept as written (a changed guid would be a new
    // article); it reaches the user only as JSON, which escapes it.
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
            .map(|n| strip_controls(&n).trim().to_string())
            .filter(|n| !n.is_empty())
            .collect(),
        categories: e
            .categories
            .into_iter()
            .map(|c| {
                strip_controls(&c.label.unwrap_or(c.term))
                    .trim()
                    .to_string()
            })
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

#[cfg(test)]
mod tests {
    use crate::parse::parse_str;

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

    /// Issue "Hostile servers, hostile text": escape sequences and control characters in any
    /// text field (raw in the XML, as an HTML character reference, in a JSON Feed) are gone
    /// before anything is stored.
    #[test]
    fn escape_sequences_and_controls_are_stripped_from_every_field() {
        let feed = parse_str(
            "<rss version=\"2.0\"><channel><title>Wire\u{1b}]0;pwned\u{7}\u{202E} News</title>\
            <item><title>\u{1b}]0;evil title\u{7}NATO \u{1b}[2Jtalks\u{1b}]8;;https://evil.example/\u{1b}\\here\u{1b}]8;;\u{1b}\\</title>\
            <guid>g</guid><description>&lt;p&gt;Finland&amp;#27;[31m applies\u{7f}\u{9b}&lt;/p&gt;</description>\
            <author>x@example.com (Ann\u{1b}[8m Lee)</author><category>\u{2066}World\u{2069}</category>\
            </item></channel></rss>",
        )
        .unwrap();
        assert_eq!(feed.title.as_deref(), Some("Wire News"));
        let a = &feed.articles[0];
        assert_eq!(a.title, "NATO talkshere");
        assert_eq!(a.summary, "Finland applies");
        assert_eq!(a.source, "Wire News");
        assert_eq!(a.categories, ["World"]);
        assert!(
            a.authors
                .iter()
                .all(|n| crate::sanitize::is_terminal_safe(n)),
            "{:?}",
            a.authors
        );

        let json = parse_str(
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"J\u001b[2J",
            "items":[{"id":"1","title":"\u001b]0;evil\u0007Ceasefire\u202e","content_text":"a\u0000b\u009dc",
            "content_html":"<p>x\u001b[1my</p>"}]}"#,
        )
        .unwrap();
        assert_eq!(json.title.as_deref(), Some("J"));
        let a = &json.articles[0];
        assert_eq!(a.title, "Ceasefire");
        for text in [&a.summary, &a.content] {
            assert!(crate::sanitize::is_terminal_safe(text), "{text:?}");
        }
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
}
