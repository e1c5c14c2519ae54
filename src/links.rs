//! URL identity: when two URLs name the same thing (an article, a feed, a host).
//!
//! There are deliberately two notions of "the same URL", because mistakes cost differently:
//!
//! - [`normalize_link`], for **article links**: aggressive. Feeds and aggregators link one
//!   story under many spellings (tracking parameters, `www.`, AMP pages, `http`/`https`);
//!   treating them as one avoids a second alert for a story already seen. The result is stored
//!   (article dedup keys, story keys), so its rules must not drift.
//! - [`feed_identity`] / [`same_feed`], for **feed URLs** in the watch-list (config's
//!   duplicate check, `feeds add | remove | enable | disable`, OPML import): conservative.
//!   Only spellings that cannot fetch a different document are one feed; a false match would
//!   refuse a feed the user asked for, while a missed one only polls a feed twice (its
//!   articles are still deduplicated).

use url::Url;

/// `host:port`, the unit of politeness.
pub fn host_key(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or("").to_ascii_lowercase(),
        url.port_or_known_default().unwrap_or(0)
    )
}

/// An article link in a canonical form for comparison (dedup keys, "same story"): no
/// fragment, `https`, lowercase host, no `www.` or `amp.`, no port, no trailing slash or `/amp`
/// segment, tracking parameters (`utm_*`, `fbclid`, `amp`, ...) removed, the remaining query
/// sorted.
///
/// Not for feed URLs (see [`feed_identity`]): a query parameter or `www.` may well select a
/// different feed.
pub fn normalize_link(url: &Url) -> String {
    let mut u = url.clone();
    u.set_fragment(None);
    if let Some(host) = u.host_str() {
        let host = host.to_ascii_lowercase();
        let host = host.strip_prefix("www.").unwrap_or(&host).to_string();
        let _ = u.set_host(Some(&host));
    }
    let _ = u.set_scheme("https");
    let _ = u.set_port(None);
    // AMP variants: `amp.` hosts, a trailing `/amp` segment, `?amp` / `outputType=amp`.
    if let Some(host) = u
        .host_str()
        .and_then(|h| h.strip_prefix("amp."))
        .map(str::to_string)
    {
        let _ = u.set_host(Some(&host));
    }
    let mut path = u.path().trim_end_matches('/').to_string();
    if let Some(p) = path.strip_suffix("/amp") {
        path = p.to_string();
    }
    u.set_path(&path);
    let mut pairs: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| !is_tracking_param(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    if pairs.is_empty() {
        u.set_query(None);
    } else {
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    String::from(u).trim_end_matches('/').to_string()
}

/// Query parameters that track the reader and never select the article.
fn is_tracking_param(k: &str) -> bool {
    k.starts_with("utm_")
        || matches!(
            k,
            "fbclid"
                | "gclid"
                | "dclid"
                | "msclkid"
                | "mc_cid"
                | "mc_eid"
                | "igshid"
                | "ocid"
                | "cmpid"
                | "amp"
                | "outputType"
        )
}

/// The key two feed URLs (as written in the watch-list or an OPML file) are one feed by: the
/// parsed URL (scheme and host lower-cased, default port and empty path made explicit, the
/// fragment removed: it is never sent to the server), else the trimmed text.
///
/// Everything else stays significant: `http` vs `https`, `www.`, a trailing slash, the query
/// and credentials can each reach a different document (see the module docs for why this is
/// not [`normalize_link`]).
pub fn feed_identity(url: &str) -> String {
    let url = url.trim();
    match Url::parse(url) {
        Ok(mut u) => {
            u.set_fragment(None);
            u.into()
        }
        Err(_) => url.to_string(),
    }
}

/// Whether two feed URLs name the same feed: equal [`feed_identity`].
pub fn same_feed(a: &str, b: &str) -> bool {
    feed_identity(a) == feed_identity(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        normalize_link(&Url::parse(s).expect("url"))
    }

    #[test]
    fn article_links_ignore_tracking_www_scheme_and_fragment() {
        let a = norm("http://www.example.com/a/?utm_campaign=z&id=3&fbclid=q#f");
        assert_eq!(a, norm("https://example.com/a?id=3"));
        assert_eq!(a, "https://example.com/a?id=3");
    }

    #[test]
    fn article_links_ignore_amp_variants() {
        let want = norm("https://example.com/a?id=3");
        assert_eq!(
            norm("https://amp.example.com/a/amp?id=3&outputType=amp"),
            want
        );
        assert_eq!(norm("https://example.com/a?amp&id=3"), want);
    }

    #[test]
    fn article_links_ignore_host_case_port_and_trailing_slash() {
        assert_eq!(
            norm("https://EXAMPLE.com:8443/x/"),
            norm("https://example.com/x")
        );
        assert_eq!(norm("https://example.com/"), "https://example.com");
    }

    #[test]
    fn article_links_sort_the_query_and_keep_what_selects() {
        assert_eq!(
            norm("https://example.com/a?b=2&a=1"),
            norm("https://example.com/a?a=1&b=2")
        );
        assert_ne!(
            norm("https://example.com/a?id=3"),
            norm("https://example.com/a?id=4")
        );
        assert_ne!(norm("https://example.com/a"), norm("https://example.com/b"));
    }

    #[test]
    fn feeds_are_the_same_when_only_case_port_fragment_or_spaces_differ() {
        let feed = "https://example.com/feed";
        for same in [
            "HTTPS://Example.COM/feed",
            "https://example.com:443/feed",
            "https://example.com/feed#top",
            "  https://example.com/feed \n",
        ] {
            assert!(same_feed(feed, same), "{same}");
        }
        assert!(same_feed("https://example.com", "https://example.com/"));
        assert_eq!(feed_identity(" https://EXAMPLE.com/feed#x"), feed);
    }

    #[test]
    fn feeds_differ_by_scheme_www_slash_query_path_case_and_credentials() {
        let feed = "https://example.com/feed";
        for other in [
            "http://example.com/feed",
            "https://www.example.com/feed",
            "https://example.com/feed/",
            "https://example.com/feed?utm_source=x",
            "https://example.com/Feed",
            "https://user@example.com/feed",
            "https://example.com:8443/feed",
        ] {
            assert!(!same_feed(feed, other), "{other}");
        }
    }

    #[test]
    fn unparsable_feed_urls_compare_as_trimmed_text() {
        assert!(same_feed(" feeds/world.xml", "feeds/world.xml "));
        assert!(!same_feed("feeds/world.xml", "feeds/World.xml"));
        assert_eq!(feed_identity(" not a url "), "not a url");
    }

    #[test]
    fn host_key_is_lowercase_host_and_port() {
        let k = |s: &str| host_key(&Url::parse(s).expect("url"));
        assert_eq!(k("https://Example.com/a"), "example.com:443");
        assert_eq!(k("http://example.com:8080/"), "example.com:8080");
    }
}
