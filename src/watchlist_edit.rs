//! Editing the watch-list from the command line (`tidings feeds add | remove | enable |
//! disable | list`) without disturbing the user's file: comments, blank lines, key order and
//! formatting survive byte for byte, except in the one `[[feed]]` table that is edited.
//! Listing reads either form of the feeds (`[[feed]]` tables or `feed = [{ url = … }]`); only
//! edits need the `[[feed]]` tables.
//!
//! Every function takes the file's text and returns the new text (pure; the caller reads and
//! writes the file and validates the result with `config::load` before replacing the file).
//! Feeds are matched by URL with [`crate::links::same_feed`] (so `HTTPS://Example.com/feed`
//! finds `https://example.com/feed`).

use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, TableLike, Value, value};

/// A `[[feed]]` as written in the watch-list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    /// `url`, as written.
    pub url: String,
    /// `name`, if any.
    pub name: Option<String>,
    /// `interval`, as written, if any.
    pub interval: Option<String>,
    /// `false` when the table has `enabled = false`.
    pub enabled: bool,
}

/// Why the watch-list could not be edited.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The file is not valid TOML.
    #[error("not valid TOML: {0}")]
    Toml(#[from] toml_edit::TomlError),
    /// `feed` is something other than an array of `[[feed]]` tables (e.g. an inline array).
    #[error("`feed` must be written as [[feed]] tables to be edited by tidings")]
    FeedShape,
    /// `feed` is not an array of tables in either form, so there are no feeds to read.
    #[error("`feed` must be an array of tables: [[feed]] tables or feed = [{{ url = \"…\" }}]")]
    NotFeeds,
    /// `feeds add` with a URL that is already in the watch-list.
    #[error("{url}: already in the watch-list (feed[{index}])")]
    Duplicate {
        /// The URL given.
        url: String,
        /// 1-based, as in `feed[3]` in config errors.
        index: usize,
    },
    /// No `[[feed]]` has this URL.
    #[error("{0}: no such feed in the watch-list")]
    NotFound(String),
    /// `feeds add` with something that is not an absolute http(s) URL.
    #[error("{0}: not an absolute http(s) URL")]
    BadUrl(String),
}

fn parse(text: &str) -> Result<DocumentMut, EditError> {
    Ok(text.parse::<DocumentMut>()?)
}

/// The `[[feed]]` array, if the document has one; an error when `feed` has another shape.
fn feeds(doc: &DocumentMut) -> Result<Option<&ArrayOfTables>, EditError> {
    match doc.get("feed") {
        None => Ok(None),
        Some(Item::ArrayOfTables(a)) => Ok(Some(a)),
        Some(_) => Err(EditError::FeedShape),
    }
}

fn feeds_mut(doc: &mut DocumentMut) -> Result<Option<&mut ArrayOfTables>, EditError> {
    match doc.get_mut("feed") {
        None => Ok(None),
        Some(Item::ArrayOfTables(a)) => Ok(Some(a)),
        Some(_) => Err(EditError::FeedShape),
    }
}

/// Every feed's table, in file order, in either form: `[[feed]]` tables or an array of inline
/// tables (read-only: edits need the `[[feed]]` tables, [`feeds`]).
fn feed_tables(doc: &DocumentMut) -> Result<Vec<&dyn TableLike>, EditError> {
    match doc.get("feed") {
        None => Ok(Vec::new()),
        Some(Item::ArrayOfTables(a)) => Ok(a.iter().map(|t| t as &dyn TableLike).collect()),
        Some(Item::Value(Value::Array(a))) => a
            .iter()
            .map(|v| {
                v.as_inline_table()
                    .map(|t| t as &dyn TableLike)
                    .ok_or(EditError::NotFeeds)
            })
            .collect(),
        Some(_) => Err(EditError::NotFeeds),
    }
}

fn table_url(t: &dyn TableLike) -> Option<&str> {
    t.get("url").and_then(Item::as_str)
}

/// 0-based index of the feed with `url`.
fn find(feeds: &ArrayOfTables, url: &str) -> Option<usize> {
    feeds
        .iter()
        .position(|t| table_url(t).is_some_and(|u| crate::links::same_feed(u, url)))
}

/// Every feed, `[[feed]]` tables or inline ones, in file order. Tables without a string `url`
/// are listed with an empty URL (the config loader reports them properly).
pub fn list_feeds(text: &str) -> Result<Vec<FeedEntry>, EditError> {
    let doc = parse(text)?;
    Ok(feed_tables(&doc)?
        .into_iter()
        .map(|t| FeedEntry {
            url: table_url(t).unwrap_or_default().to_string(),
            name: t.get("name").and_then(Item::as_str).map(str::to_string),
            interval: t.get("interval").and_then(Item::as_str).map(str::to_string),
            enabled: t.get("enabled").and_then(Item::as_bool).unwrap_or(true),
        })
        .collect())
}

/// Appends a `[[feed]]` with `url` (and `name`) after the last feed (at the end of the file
/// when there is none). Errors on a URL already present or one that is not absolute http(s).
pub fn add_feed(text: &str, url: &str, name: Option<&str>) -> Result<String, EditError> {
    let url = url.trim();
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => {}
        _ => return Err(EditError::BadUrl(url.to_string())),
    }
    let mut doc = parse(text)?;
    if let Some(feeds) = feeds(&doc)?
        && let Some(i) = find(feeds, url)
    {
        return Err(EditError::Duplicate {
            url: url.to_string(),
            index: i + 1,
        });
    }
    let mut table = Table::new();
    if let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) {
        table.insert("name", value(name));
    }
    table.insert("url", value(url));
    if let Some(feeds) = feeds_mut(&mut doc)? {
        // toml_edit writes a table without a position right after the one before it: the
        // new feed follows the last [[feed]], before whatever comes next.
        feeds.push(table);
        return Ok(doc.to_string());
    }
    // No feeds yet: append the table as text, so trailing comments stay where they are.
    let mut feeds = ArrayOfTables::new();
    feeds.push(table);
    let mut new = DocumentMut::new();
    new.insert("feed", Item::ArrayOfTables(feeds));
    let mut out = text.to_string();
    if !out.is_empty() {
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out.push('\n');
    }
    out.push_str(new.to_string().trim_start());
    Ok(out)
}

/// Removes the `[[feed]]` with `url`, together with the comment lines directly above its
/// header (no blank line between). Comments further up, separated by a blank line (a section
/// banner such as `# --- Feeds ---`), stay where they were.
pub fn remove_feed(text: &str, url: &str) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let feeds = feeds_mut(&mut doc)?.ok_or_else(|| EditError::NotFound(url.to_string()))?;
    let i = find(feeds, url).ok_or_else(|| EditError::NotFound(url.to_string()))?;
    let removed = feeds.remove(i);
    if feeds.is_empty() {
        doc.remove("feed");
    }
    // In toml_edit the lines between two tables are the prefix of the second one's header;
    // hand the part that is not the removed feed's own comment to the table that follows.
    let prefix = removed
        .decor()
        .prefix()
        .and_then(|p| p.as_str())
        .unwrap_or_default();
    let kept = kept_comments(prefix);
    if !kept.is_empty() {
        match next_table(&mut doc, removed.position()) {
            Some(next) => {
                let old = next
                    .decor()
                    .prefix()
                    .and_then(|p| p.as_str())
                    .unwrap_or("\n")
                    .to_string();
                next.decor_mut().set_prefix(format!("{kept}{old}"));
            }
            None => {
                let trailing = doc.trailing().as_str().unwrap_or_default().to_string();
                doc.set_trailing(format!("{kept}{trailing}"));
            }
        }
    }
    Ok(doc.to_string())
}

/// The part of a table header's prefix that does not belong to the table: everything before
/// the last blank line, when it holds a comment; else nothing.
fn kept_comments(prefix: &str) -> String {
    let lines: Vec<&str> = prefix.split_inclusive('\n').collect();
    let Some(blank) = lines.iter().rposition(|l| l.trim().is_empty()) else {
        return String::new();
    };
    let kept = &lines[..blank];
    if kept.iter().any(|l| l.trim_start().starts_with('#')) {
        kept.concat()
    } else {
        String::new()
    }
}

/// The top-level table (or `[[array]]` element) written first after document position
/// `after`.
fn next_table(doc: &mut DocumentMut, after: Option<isize>) -> Option<&mut Table> {
    let after = after?;
    let mut best: Option<(isize, String, Option<usize>)> = None;
    for (key, item) in doc.iter() {
        let candidates: Vec<(Option<isize>, Option<usize>)> = match item {
            Item::Table(t) => vec![(t.position(), None)],
            Item::ArrayOfTables(a) => a
                .iter()
                .enumerate()
                .map(|(i, t)| (t.position(), Some(i)))
                .collect(),
            _ => Vec::new(),
        };
        for (pos, index) in candidates {
            if let Some(pos) = pos
                && pos > after
                && best.as_ref().is_none_or(|(b, _, _)| pos < *b)
            {
                best = Some((pos, key.to_string(), index));
            }
        }
    }
    let (_, key, index) = best?;
    match (doc.get_mut(&key)?, index) {
        (Item::Table(t), None) => Some(t),
        (Item::ArrayOfTables(a), Some(i)) => a.get_mut(i),
        _ => None,
    }
}

/// Disables (`enabled = false`, appended to the table) or enables (the `enabled` key removed)
/// the feed with `url`. Setting what is already set leaves the text unchanged.
pub fn set_feed_enabled(text: &str, url: &str, enabled: bool) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let feeds = feeds_mut(&mut doc)?.ok_or_else(|| EditError::NotFound(url.to_string()))?;
    let i = find(feeds, url).ok_or_else(|| EditError::NotFound(url.to_string()))?;
    let table = feeds
        .get_mut(i)
        .ok_or_else(|| EditError::NotFound(url.to_string()))?;
    let current = table.get("enabled").and_then(Item::as_bool);
    if enabled {
        if table.contains_key("enabled") {
            table.remove("enabled");
        } else {
            return Ok(text.to_string());
        }
    } else if current == Some(false) {
        return Ok(text.to_string());
    } else {
        table.insert("enabled", value(false));
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const WATCHLIST: &str = r#"# tidings watch-list
# with comments everywhere

[settings]
interval = "15m"   # poll every quarter hour

# --- Feeds ---

# Ukraine
[[feed]]
name = "The Kyiv Independent"
url = "https://kyivindependent.com/news-archive/rss/"
interval   =   "10m"    # odd spacing, kept

# Russia (in exile)
[[feed]]
url = "https://meduza.io/rss/en/all"   # no name
name='Meduza'

[[feed]]
name = "BBC"
url = "https://feeds.bbci.co.uk/news/world/rss.xml"

# --- Topics ---

[aliases]
zelensky = ["Zelensky", "Zelenskyy"]

[[topic]]
name = "NATO membership"
query = 'NATO NEAR/8 (join* OR membership)'
"#;

    /// The text with the lines in `from..to` (0-based, half-open) replaced by `with`.
    fn splice(text: &str, from: usize, to: usize, with: &[&str]) -> String {
        let lines: Vec<&str> = text.lines().collect();
        let mut out: Vec<&str> = lines[..from].to_vec();
        out.extend_from_slice(with);
        out.extend_from_slice(&lines[to..]);
        let mut s = out.join("\n");
        s.push('\n');
        s
    }

    fn line_of(text: &str, needle: &str) -> usize {
        text.lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?}"))
    }

    #[test]
    fn list() {
        let feeds = list_feeds(WATCHLIST).expect("list");
        assert_eq!(feeds.len(), 3);
        assert_eq!(
            feeds[0],
            FeedEntry {
                url: "https://kyivindependent.com/news-archive/rss/".into(),
                name: Some("The Kyiv Independent".into()),
                interval: Some("10m".into()),
                enabled: true,
            }
        );
        assert_eq!(feeds[1].name.as_deref(), Some("Meduza"));
        assert!(list_feeds("").expect("empty").is_empty());
    }

    #[test]
    fn add_goes_after_the_last_feed_and_changes_nothing_else() {
        let out = add_feed(
            WATCHLIST,
            "https://example.com/feed.xml",
            Some("Example \"quoted\""),
        )
        .expect("add");
        let at = line_of(WATCHLIST, "feeds.bbci.co.uk") + 1;
        let expected = splice(
            WATCHLIST,
            at,
            at,
            &[
                "",
                "[[feed]]",
                r#"name = 'Example "quoted"'"#,
                r#"url = "https://example.com/feed.xml""#,
            ],
        );
        assert_eq!(out, expected);
        assert_eq!(list_feeds(&out).expect("list").len(), 4);
        // The result is valid TOML with the new feed's values intact.
        let feeds = list_feeds(&out).expect("list");
        assert_eq!(feeds[3].name.as_deref(), Some("Example \"quoted\""));
    }

    #[test]
    fn add_without_name_and_to_a_file_without_feeds() {
        let out = add_feed("# only a comment\n", "https://example.com/rss", None).expect("add");
        assert_eq!(
            out,
            "# only a comment\n\n[[feed]]\nurl = \"https://example.com/rss\"\n"
        );
        let out = add_feed("", "https://example.com/rss", None).expect("add");
        assert_eq!(out, "[[feed]]\nurl = \"https://example.com/rss\"\n");
        let text = "[settings]\ninterval = \"1h\"  # hourly\n\n[[topic]]\nname = \"t\"\nquery = \"x\"\n# end";
        let out = add_feed(text, "https://example.com/rss", Some("E")).expect("add");
        assert_eq!(
            out,
            format!("{text}\n\n[[feed]]\nname = \"E\"\nurl = \"https://example.com/rss\"\n")
        );
        assert_eq!(list_feeds(&out).expect("list").len(), 1);
    }

    #[test]
    fn add_refuses_duplicates_and_bad_urls() {
        let err =
            add_feed(WATCHLIST, "https://MEDUZA.io:443/rss/en/all", None).expect_err("duplicate");
        assert!(
            matches!(err, EditError::Duplicate { index: 2, .. }),
            "{err}"
        );
        for bad in ["/relative/feed", "ftp://example.com/x", "not a url", ""] {
            assert!(
                matches!(add_feed(WATCHLIST, bad, None), Err(EditError::BadUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn remove_takes_the_table_and_its_own_comment() {
        let out = remove_feed(WATCHLIST, "https://meduza.io/rss/en/all").expect("remove");
        let from = line_of(WATCHLIST, "# Russia (in exile)");
        let to = line_of(WATCHLIST, "name='Meduza'") + 2; // and the blank line after it
        assert_eq!(out, splice(WATCHLIST, from, to, &[]));
        assert_eq!(list_feeds(&out).expect("list").len(), 2);
        assert!(matches!(
            remove_feed(&out, "https://meduza.io/rss/en/all"),
            Err(EditError::NotFound(_))
        ));
    }

    #[test]
    fn remove_the_last_feed() {
        let text = "[settings]\ninterval = \"1h\"\n\n[[feed]]\nurl = \"https://a.example/\"\n";
        let out = remove_feed(text, "https://a.example/").expect("remove");
        assert_eq!(out, "[settings]\ninterval = \"1h\"\n");
    }

    #[test]
    fn disable_and_enable_touch_only_that_table() {
        let off = set_feed_enabled(
            WATCHLIST,
            "https://feeds.bbci.co.uk/news/world/rss.xml",
            false,
        )
        .expect("disable");
        let at = line_of(WATCHLIST, "feeds.bbci.co.uk") + 1;
        assert_eq!(off, splice(WATCHLIST, at, at, &["enabled = false"]));
        assert!(!list_feeds(&off).expect("list")[2].enabled);
        // Idempotent.
        assert_eq!(
            set_feed_enabled(&off, "https://feeds.bbci.co.uk/news/world/rss.xml", false)
                .expect("again"),
            off
        );
        let on = set_feed_enabled(&off, "https://feeds.bbci.co.uk/news/world/rss.xml", true)
            .expect("enable");
        assert_eq!(on, WATCHLIST);
        assert_eq!(
            set_feed_enabled(WATCHLIST, "https://meduza.io/rss/en/all", true).expect("noop"),
            WATCHLIST
        );
    }

    #[test]
    fn disable_a_feed_in_the_middle() {
        let off = set_feed_enabled(
            WATCHLIST,
            "https://kyivindependent.com/news-archive/rss/",
            false,
        )
        .expect("disable");
        let at = line_of(WATCHLIST, "odd spacing") + 1;
        assert_eq!(off, splice(WATCHLIST, at, at, &["enabled = false"]));
    }

    #[test]
    fn errors() {
        assert!(matches!(list_feeds("[[feed]\n"), Err(EditError::Toml(_))));
        assert!(matches!(list_feeds("feed = 1\n"), Err(EditError::NotFeeds)));
        assert!(matches!(list_feeds("[feed]\n"), Err(EditError::NotFeeds)));
        assert!(matches!(
            remove_feed(
                "feed = [{ url = \"https://a.example/\" }]\n",
                "https://a.example/"
            ),
            Err(EditError::FeedShape)
        ));
        assert!(matches!(
            set_feed_enabled("", "https://a.example/", false),
            Err(EditError::NotFound(_))
        ));
    }

    /// Feeds written as an array of inline tables are a valid watch-list: they are listed like
    /// `[[feed]]` tables; only edits ask for the `[[feed]]` form.
    #[test]
    fn inline_feeds_are_listed_not_edited() {
        let text = "feed = [\n  { url = \"https://a.example/rss\", name = \"A\", interval = \"10m\" },\n  \
                    { url = \"https://b.example/rss\", enabled = false },\n]\n";
        crate::config::parse(text, std::path::Path::new("watchlist.toml")).expect("valid");
        let feeds = list_feeds(text).expect("list");
        assert_eq!(
            feeds,
            [
                FeedEntry {
                    url: "https://a.example/rss".into(),
                    name: Some("A".into()),
                    interval: Some("10m".into()),
                    enabled: true,
                },
                FeedEntry {
                    url: "https://b.example/rss".into(),
                    name: None,
                    interval: None,
                    enabled: false,
                },
            ]
        );
        assert!(list_feeds("feed = []\n").expect("empty").is_empty());
        assert!(matches!(
            add_feed(text, "https://c.example/rss", None),
            Err(EditError::FeedShape)
        ));
        assert!(matches!(
            set_feed_enabled(text, "https://b.example/rss", true),
            Err(EditError::FeedShape)
        ));
    }

    /// The edited text is still a watch-list the config loader accepts, with the feed added
    /// or removed.
    #[test]
    fn edits_load_as_config() {
        let path = std::path::Path::new("watchlist.toml");
        let before = crate::config::parse(WATCHLIST, path).expect("fixture loads");
        let added = add_feed(WATCHLIST, "https://example.com/feed.xml", Some("E")).expect("add");
        let config = crate::config::parse(&added, path).expect("after add");
        assert_eq!(config.feeds.len(), before.feeds.len() + 1);
        assert!(
            config
                .feeds
                .iter()
                .any(|f| f.url.as_str() == "https://example.com/feed.xml")
        );
        let removed =
            remove_feed(&added, "https://kyivindependent.com/news-archive/rss/").expect("remove");
        let config = crate::config::parse(&removed, path).expect("after remove");
        assert_eq!(config.feeds.len(), before.feeds.len());
        assert_eq!(config.topics.len(), before.topics.len());
    }

    /// The example watch-list shipped in config/ survives a disable/enable cycle byte for byte.
    #[test]
    fn example_watchlist_round_trips() {
        let text = include_str!("../config/watchlist.toml");
        let feeds = list_feeds(text).expect("list");
        let Some(first) = feeds.first() else {
            return;
        };
        let off = set_feed_enabled(text, &first.url, false).expect("disable");
        assert_eq!(off.len(), text.len() + "enabled = false\n".len());
        assert_eq!(
            set_feed_enabled(&off, &first.url, true).expect("enable"),
            text
        );
        let banners = |t: &str| t.lines().filter(|l| l.starts_with("# ---")).count();
        let removed = remove_feed(text, &first.url).expect("remove");
        assert_eq!(banners(&removed), banners(text));
        assert_eq!(list_feeds(&removed).expect("list").len(), feeds.len() - 1);
        let added = add_feed(text, "https://example.com/new.xml", None).expect("add");
        assert_eq!(
            remove_feed(&added, "https://example.com/new.xml").expect("remove"),
            text
        );
    }

    #[test]
    fn removing_the_first_feed_keeps_the_section_banner() {
        let text = "[settings]\ninterval = \"1h\"\n\n# --- Feeds ---\n# all of them\n\n# first\n[[feed]]\nurl = \"https://a.example/\"\n\n[[feed]]\nurl = \"https://b.example/\"\n";
        let out = remove_feed(text, "https://a.example/").expect("remove");
        assert_eq!(
            out,
            "[settings]\ninterval = \"1h\"\n\n# --- Feeds ---\n# all of them\n\n[[feed]]\nurl = \"https://b.example/\"\n"
        );
        // The last feed before another section: the banner goes to that section.
        let text = "# --- Feeds ---\n\n[[feed]]\nurl = \"https://a.example/\"\n\n# --- Topics ---\n\n[[topic]]\nname = \"t\"\nquery = \"x\"\n";
        let out = remove_feed(text, "https://a.example/").expect("remove");
        assert_eq!(
            out,
            "# --- Feeds ---\n\n# --- Topics ---\n\n[[topic]]\nname = \"t\"\nquery = \"x\"\n"
        );
        // The very last table: the banner stays at the end.
        let text = "# --- Feeds ---\n\n[[feed]]\nurl = \"https://a.example/\"\n";
        let out = remove_feed(text, "https://a.example/").expect("remove");
        assert_eq!(out, "# --- Feeds ---\n");
    }
}
