//! Feed text made safe: escaped for the body markup, control characters dropped, and only
//! http(s) links ever opened.

/// Escapes feed text for the notification body markup (`&`, `<`, `>`, quotes), dropping
/// control characters that markup cannot carry.
pub fn escape_markup(s: &str) -> String {
    quick_xml::escape::escape(plain(s).as_str()).into_owned()
}

/// Control characters other than newline and tab are not valid in markup, nor useful in text.
fn push_plain(out: &mut String, c: char) {
    if !c.is_control() || c == '\n' || c == '\t' {
        out.push(c);
    }
}

pub(super) fn plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    s.chars().for_each(|c| push_plain(&mut out, c));
    out
}

/// Only http and https links are ever opened.
pub fn is_openable(link: &str) -> bool {
    url::Url::parse(link).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The opener's own guard, whatever the parser let through: a feed that smuggles another
    /// scheme into a link never gets it opened.
    #[test]
    fn only_http_and_https_links_are_openable() {
        for ok in [
            "https://example.com/a",
            "http://example.com/a?b=1#c",
            "HTTPS://EXAMPLE.COM/",
        ] {
            assert!(is_openable(ok), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            " javascript:alert(1)",
            "file:///etc/passwd",
            "data:text/html,<script>alert(1)</script>",
            "mailto:a@example.com",
            "ftp://example.com/a",
            "vbscript:msgbox",
            "/relative/path",
            "example.com/a",
            "",
        ] {
            assert!(!is_openable(bad), "{bad}");
        }
    }

    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(escape_markup("a\u{0}b\u{1b}[31mc\td"), "ab[31mc\td");
    }
}
