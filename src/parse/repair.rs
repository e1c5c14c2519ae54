//! Repairs before feed-rs reads a document: what it rejects but feeds really send (UTF-16 and
//! legacy encodings, stray invalid bytes, `<rss>` without `version`, Atom 0.3, JSON Feed
//! version URLs), and a plain reason when the document is no feed at all (empty, HTML).

use std::borrow::Cow;

use super::ParseError;

/// Repairs the document so feed-rs can read it, or says plainly why it is not a feed.
pub(super) fn prepare(bytes: &[u8]) -> Result<Cow<'_, [u8]>, ParseError> {
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

#[cfg(test)]
mod tests {
    use crate::parse::{parse, parse_str, test_base as base};

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
}
