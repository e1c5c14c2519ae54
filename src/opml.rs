//! OPML 2.0 import and export (`tidings feeds import FILE.opml`, `tidings feeds export`).
//!
//! Reading is lenient, as real subscription exports are: a missing `version` attribute is
//! accepted, nested outlines (folders) are flattened with their titles kept as categories,
//! outlines without `xmlUrl` are skipped and counted, unknown entities in attribute values
//! are kept as written. Writing produces valid OPML 2.0 with every attribute escaped.
//! Both directions are pure: text in, data out.

use std::collections::HashSet;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

/// One feed found in an OPML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpmlFeed {
    /// The feed's URL (`xmlUrl`), trimmed; an absolute http(s) URL.
    pub url: String,
    /// Its display name: `text`, else `title`; `None` when both are empty or equal the URL.
    pub name: Option<String>,
    /// The site's URL (`htmlUrl`), if given.
    pub html_url: Option<String>,
    /// The names of the enclosing outlines (folders), outermost first.
    pub categories: Vec<String>,
}

/// Everything read from an OPML document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpmlDocument {
    /// `<head><title>`, if any.
    pub title: Option<String>,
    /// The feeds, in document order (duplicates included; see [`dedup`]).
    pub feeds: Vec<OpmlFeed>,
    /// Outlines with no `xmlUrl` and no child outlines (links, notes): not feeds.
    pub skipped: usize,
    /// `xmlUrl` values that are not absolute http(s) URLs, as written.
    pub invalid: Vec<String>,
}

/// Why a document cannot be read as OPML.
#[derive(Debug, thiserror::Error)]
pub enum OpmlError {
    /// The XML is malformed.
    #[error("not well-formed XML at byte {position}: {message}")]
    Xml {
        /// Byte offset in the document where reading failed.
        position: u64,
        /// quick-xml's description.
        message: String,
    },
    /// The root element is not `<opml>`.
    #[error("not an OPML document: the root element is <{0}>, not <opml>")]
    NotOpml(String),
    /// The document is empty or has no elements.
    #[error("not an OPML document: no <opml> element")]
    Empty,
}

/// The feeds of an OPML document, flattened, in document order. See [`parse_opml_document`]
/// for the counts of skipped outlines.
pub fn parse_opml(text: &str) -> Result<Vec<OpmlFeed>, OpmlError> {
    parse_opml_document(text).map(|d| d.feeds)
}

/// An attribute value with entities resolved; one with an unknown entity (`&nbsp;` in a
/// hand-made file) is kept as written rather than failing the whole document.
fn attr_value(attr: &quick_xml::events::attributes::Attribute<'_>) -> String {
    match attr.normalized_value(XmlVersion::Implicit1_0) {
        Ok(v) => v.into_owned(),
        Err(_) => attr.value.to_string(),
    }
}

/// The attributes of an `<outline>` that matter here (names compared case-insensitively:
/// `xmlURL` and `xmlurl` occur in the wild).
#[derive(Default)]
struct Outline {
    text: Option<String>,
    title: Option<String>,
    xml_url: Option<String>,
    html_url: Option<String>,
}

impl Outline {
    fn read(e: &BytesStart<'_>) -> Outline {
        let mut o = Outline::default();
        for attr in e.attributes().with_checks(false).flatten() {
            let key = attr.key.local_name().as_ref().to_ascii_lowercase();
            let value = attr_value(&attr);
            let value = value.trim();
            let value = (!value.is_empty()).then(|| value.to_string());
            match key.as_str() {
                "text" => o.text = value,
                "title" => o.title = value,
                "xmlurl" => o.xml_url = value,
                "htmlurl" => o.html_url = value,
                _ => {}
            }
        }
        o
    }

    fn name(&self) -> Option<String> {
        self.text.clone().or_else(|| self.title.clone())
    }
}

fn is_feed_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
}

/// Reads an OPML document (any version, or none).
pub fn parse_opml_document(text: &str) -> Result<OpmlDocument, OpmlError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = quick_xml::Reader::from_str(text);
    {
        let config = reader.config_mut();
        config.allow_dangling_amp = true;
        config.check_end_names = false;
    }
    let mut doc = OpmlDocument::default();
    // One entry per open element: Some(folder name) for an open <outline> that is not a feed.
    let mut stack: Vec<Element> = Vec::new();
    let mut seen_root = false;
    let mut in_head_title = false;
    let mut title = String::new();

    enum Element {
        Other,
        Body,
        Head,
        HeadTitle,
        /// An open outline: its name (for categories), whether it is a feed, whether it has
        /// had child outlines.
        Outline {
            name: Option<String>,
            feed: bool,
            children: bool,
        },
    }

    let in_body = |stack: &[Element]| {
        stack.iter().any(|e| matches!(e, Element::Body))
            || stack.iter().any(|e| matches!(e, Element::Outline { .. }))
    };

    loop {
        let event = reader.read_event().map_err(|e| OpmlError::Xml {
            position: reader.error_position(),
            message: e.to_string(),
        })?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let local = e.local_name();
                let name = local.as_ref().to_ascii_lowercase();
                if !seen_root {
                    seen_root = true;
                    if name != "opml" {
                        return Err(OpmlError::NotOpml(name));
                    }
                    if empty {
                        break;
                    }
                    stack.push(Element::Other);
                    continue;
                }
                let element = match name.as_str() {
                    "head" if stack.len() == 1 => Element::Head,
                    "title" if matches!(stack.last(), Some(Element::Head)) => {
                        in_head_title = true;
                        Element::HeadTitle
                    }
                    "body" if stack.len() == 1 => Element::Body,
                    "outline" if in_body(&stack) => {
                        if let Some(Element::Outline { children, .. }) = stack.last_mut() {
                            *children = true;
                        }
                        let o = Outline::read(e);
                        let feed = o.xml_url.is_some();
                        if let Some(url) = &o.xml_url {
                            if is_feed_url(url) {
                                let categories = stack
                                    .iter()
                                    .filter_map(|e| match e {
                                        Element::Outline {
                                            name: Some(n),
                                            feed: false,
                                            ..
                                        } => Some(n.clone()),
                                        _ => None,
                                    })
                                    .collect();
                                let name = o.name().filter(|n| n != url);
                                doc.feeds.push(OpmlFeed {
                                    url: url.clone(),
                                    name,
                                    html_url: o.html_url.clone(),
                                    categories,
                                });
                            } else {
                                doc.invalid.push(url.clone());
                            }
                        } else if empty {
                            doc.skipped += 1;
                        }
                        Element::Outline {
                            name: o.name(),
                            feed,
                            children: false,
                        }
                    }
                    _ => Element::Other,
                };
                if !empty {
                    stack.push(element);
                } else {
                    in_head_title = false;
                }
            }
            Event::End(_) => {
                match stack.pop() {
                    Some(Element::HeadTitle) => in_head_title = false,
                    // A non-feed outline written as <outline ...></outline>, with no children.
                    Some(Element::Outline {
                        feed: false,
                        children: false,
                        ..
                    }) => doc.skipped += 1,
                    _ => {}
                }
                if stack.is_empty() {
                    break;
                }
            }
            Event::Text(ref t) if in_head_title => {
                title.push_str(t.as_ref());
            }
            Event::CData(ref t) if in_head_title => {
                title.push_str(t.as_ref());
            }
            Event::GeneralRef(ref r) if in_head_title => {
                let name: &str = r.as_ref();
                match quick_xml::escape::resolve_predefined_entity(name) {
                    Some(s) => title.push_str(s),
                    None => match r.resolve_char_ref() {
                        Ok(Some(c)) => title.push(c),
                        _ => {
                            title.push('&');
                            title.push_str(name);
                            title.push(';');
                        }
                    },
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root {
        return Err(OpmlError::Empty);
    }
    let title = title.trim();
    doc.title = (!title.is_empty()).then(|| title.to_string());
    Ok(doc)
}

/// Drops feeds whose URL repeats an earlier one ([`crate::links::same_feed`]; first one wins,
/// order kept); returns the remaining feeds and how many were dropped.
pub fn dedup(feeds: Vec<OpmlFeed>) -> (Vec<OpmlFeed>, usize) {
    let mut seen = HashSet::new();
    let before = feeds.len();
    let kept: Vec<_> = feeds
        .into_iter()
        .filter(|f| seen.insert(crate::links::feed_identity(&f.url)))
        .collect();
    let dropped = before - kept.len();
    (kept, dropped)
}

/// Escapes text for a double-quoted XML attribute. Tabs and line breaks become character
/// references (so they survive attribute-value normalisation); other control characters,
/// which XML 1.0 forbids, are dropped.
fn escape_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if c.is_control() && (c as u32) < 0x20 => {}
            '\u{fffe}' | '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// An OPML 2.0 document listing `feeds` as `(url, name)`: one `<outline type="rss">` each,
/// with `text` (required by the spec; the URL when there is no name), `title` when named,
/// and `xmlUrl`.
pub fn to_opml<U: AsRef<str>, N: AsRef<str>>(feeds: &[(U, Option<N>)]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <opml version=\"2.0\">\n  <head>\n    <title>tidings feeds</title>\n  </head>\n  <body>\n",
    );
    for (url, name) in feeds {
        let url = escape_attr(url.as_ref());
        let name = name
            .as_ref()
            .map(|n| n.as_ref().trim())
            .filter(|n| !n.is_empty())
            .map(escape_attr);
        out.push_str("    <outline type=\"rss\" text=\"");
        out.push_str(name.as_deref().unwrap_or(&url));
        out.push('"');
        if let Some(name) = &name {
            out.push_str(" title=\"");
            out.push_str(name);
            out.push('"');
        }
        out.push_str(" xmlUrl=\"");
        out.push_str(&url);
        out.push_str("\"/>\n");
    }
    out.push_str("  </body>\n</opml>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(feeds: &[OpmlFeed]) -> Vec<(String, Option<String>)> {
        feeds
            .iter()
            .map(|f| (f.url.clone(), f.name.clone()))
            .collect()
    }

    #[test]
    fn round_trip() {
        let feeds = vec![
            (
                "https://kyivindependent.com/news-archive/rss/".to_string(),
                Some("The Kyiv Independent".to_string()),
            ),
            ("https://example.org/feed.xml".to_string(), None),
            (
                "https://example.com/rss?a=1&b=2".to_string(),
                Some("Ünïcødé — Зеленський".to_string()),
            ),
        ];
        let text = to_opml(&feeds);
        let doc = parse_opml_document(&text).expect("parse");
        assert_eq!(pairs(&doc.feeds), feeds);
        assert_eq!(doc.title.as_deref(), Some("tidings feeds"));
        assert_eq!(doc.skipped, 0);
        assert!(
            text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">")
        );
    }

    #[test]
    fn hostile_text_is_escaped_and_survives() {
        let nasty = "A <b>&amp; \"quoted\" 'single' </outline><outline xmlUrl=\"http://evil\"/>\n\ttab\u{1}";
        let feeds = [("https://example.com/?q=<&>\"'", Some(nasty))];
        let text = to_opml(&feeds);
        assert!(!text.contains("<b>"));
        assert!(!text.contains("\u{1}"));
        let doc = parse_opml_document(&text).expect("parse");
        assert_eq!(doc.feeds.len(), 1, "{text}");
        assert_eq!(doc.feeds[0].url, "https://example.com/?q=<&>\"'");
        assert_eq!(
            doc.feeds[0].name.as_deref(),
            Some(nasty.trim_end_matches('\u{1}'))
        );
    }

    #[test]
    fn nested_outlines_are_flattened_with_categories() {
        let text = r#"<?xml version="1.0"?>
<opml version="2.0">
  <head><title>My &amp; feeds</title></head>
  <body>
    <outline text="News">
      <outline text="Ukraine" title="Ukraine">
        <outline type="rss" text="Kyiv Independent" xmlUrl="https://kyivindependent.com/feed/" htmlUrl="https://kyivindependent.com/"/>
      </outline>
      <outline type="rss" title="Only a title" xmlUrl="https://example.org/a.xml"></outline>
    </outline>
    <outline type="rss" text="" xmlUrl="https://example.org/top.xml"/>
  </body>
</opml>"#;
        let doc = parse_opml_document(text).expect("parse");
        assert_eq!(doc.title.as_deref(), Some("My & feeds"));
        assert_eq!(
            doc.feeds,
            vec![
                OpmlFeed {
                    url: "https://kyivindependent.com/feed/".into(),
                    name: Some("Kyiv Independent".into()),
                    html_url: Some("https://kyivindependent.com/".into()),
                    categories: vec!["News".into(), "Ukraine".into()],
                },
                OpmlFeed {
                    url: "https://example.org/a.xml".into(),
                    name: Some("Only a title".into()),
                    html_url: None,
                    categories: vec!["News".into()],
                },
                OpmlFeed {
                    url: "https://example.org/top.xml".into(),
                    name: None,
                    html_url: None,
                    categories: vec![],
                },
            ]
        );
        assert_eq!(doc.skipped, 0);
    }

    #[test]
    fn missing_version_and_odd_attribute_case_are_accepted() {
        let text = r#"<opml><body><outline text="A" xmlURL="http://a.example/rss"/></body></opml>"#;
        let feeds = parse_opml(text).expect("parse");
        assert_eq!(
            pairs(&feeds),
            [("http://a.example/rss".to_string(), Some("A".to_string()))]
        );
    }

    #[test]
    fn non_feed_outlines_are_skipped_and_counted() {
        let text = r#"<opml version="1.0"><body>
            <outline text="a link" type="link" url="https://example.com/"/>
            <outline text="a note"></outline>
            <outline text="empty folder"><outline text="note inside"/></outline>
            <outline text="ftp" xmlUrl="ftp://example.com/feed"/>
            <outline text="relative" xmlUrl="/feed.xml"/>
            <outline text="ok" xmlUrl="https://example.com/feed"/>
        </body></opml>"#;
        let doc = parse_opml_document(text).expect("parse");
        assert_eq!(
            pairs(&doc.feeds),
            [(
                "https://example.com/feed".to_string(),
                Some("ok".to_string())
            )]
        );
        assert_eq!(doc.skipped, 3);
        assert_eq!(doc.invalid, ["ftp://example.com/feed", "/feed.xml"]);
    }

    #[test]
    fn duplicates_are_dropped_by_dedup() {
        let text = r#"<opml version="2.0"><body>
            <outline text="A" xmlUrl="https://example.com/feed"/>
            <outline text="Folder"><outline text="A again" xmlUrl="https://EXAMPLE.com:443/feed#x"/></outline>
            <outline text="B" xmlUrl="https://example.com/other"/>
            <outline text="A third time" xmlUrl="https://example.com/feed"/>
        </body></opml>"#;
        let feeds = parse_opml(text).expect("parse");
        assert_eq!(feeds.len(), 4);
        let (kept, dropped) = dedup(feeds);
        assert_eq!(dropped, 2);
        assert_eq!(
            pairs(&kept),
            [
                (
                    "https://example.com/feed".to_string(),
                    Some("A".to_string())
                ),
                (
                    "https://example.com/other".to_string(),
                    Some("B".to_string())
                ),
            ]
        );
    }

    #[test]
    fn entities_and_bom() {
        let text = "\u{feff}<?xml version=\"1.0\"?><opml version=\"2.0\"><body>\
            <outline text=\"Caf&#233; &amp; more &nbsp;&lt;3\" xmlUrl=\"https://e.com/?a=1&amp;b=2\"/>\
            </body></opml>";
        let feeds = parse_opml(text).expect("parse");
        assert_eq!(feeds.len(), 1);
        assert_eq!(feeds[0].url, "https://e.com/?a=1&b=2");
        // An unknown entity keeps the value as written instead of failing the document.
        assert!(
            feeds[0].name.as_deref().is_some_and(|n| n.contains("nbsp")),
            "{feeds:?}"
        );
    }

    #[test]
    fn not_opml() {
        assert!(matches!(parse_opml(""), Err(OpmlError::Empty)));
        assert!(matches!(
            parse_opml("<rss version=\"2.0\"><channel/></rss>"),
            Err(OpmlError::NotOpml(n)) if n == "rss"
        ));
        assert!(matches!(
            parse_opml("<opml><body><outline text=\"a\" xmlUrl=\"x\"<"),
            Err(OpmlError::Xml { .. })
        ));
        assert_eq!(parse_opml("<opml/>").expect("empty opml"), vec![]);
    }

    #[test]
    fn outlines_outside_body_are_ignored() {
        let text = r#"<opml version="2.0"><head><outline text="x" xmlUrl="https://a.example/"/></head><body/></opml>"#;
        assert_eq!(parse_opml(text).expect("parse"), vec![]);
    }

    #[test]
    fn a_typical_reader_export() {
        let text = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE opml [ <!ENTITY boom "BOOMBOOMBOOMBOOM"> ]>
<opml version="1.1">
  <head>
    <title><![CDATA[Subscriptions in Reader]]></title>
    <dateCreated>Fri, 27 Nov 2026 12:00:00 GMT</dateCreated>
  </head>
  <body>
    <outline text="World" title="World">
      <outline type="rss" text="BBC &amp;boom; World" title="BBC" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml" htmlUrl="https://www.bbc.co.uk/news/world"/>
      <outline type="rss" text="&boom;" xmlUrl="https://example.org/boom.xml"/>
    </outline>
  </body>
</opml>"#;
        let doc = parse_opml_document(text).expect("parse");
        assert_eq!(doc.title.as_deref(), Some("Subscriptions in Reader"));
        assert_eq!(doc.feeds.len(), 2);
        assert_eq!(doc.feeds[0].name.as_deref(), Some("BBC &boom; World"));
        assert_eq!(doc.feeds[0].categories, ["World"]);
        // Entities declared in the document are never expanded.
        assert_eq!(doc.feeds[1].name.as_deref(), Some("&boom;"));
    }
}
