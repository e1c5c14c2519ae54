//! Fuzz targets for tidings, engine-independent: each takes raw bytes and panics on a finding.
//!
//! - [`feed`]: feed bytes → articles (`tidings::parse::parse`, the whole ingest path: sniffing,
//!   UTF-16 transcoding, feed-rs under `catch_unwind`, HTML → text, links, dedup keys), then the
//!   articles through the matcher. Must never panic, and every article must satisfy the
//!   invariants the store relies on.
//! - [`query`]: the query language (`Matcher::new` with one topic): never panics; a query
//!   that compiles can run over an article built from the same text.
//! - [`config`]: the watch-list loader (`tidings::config::parse`): never panics; an error
//!   names the file.
//! - [`markup`]: `escape_markup` and `render`: the notification body, wrapped in a root
//!   element, is always well-formed XML for quick-xml, and only `<b>` tags appear in it.
//! - [`terminal_text`]: `sanitize::strip_controls` (feed text at parse) and
//!   `sanitize::escape_controls` (text printed on a terminal): no control character (C0 but
//!   none, DEL, C1) or bidi control survives either, both are idempotent, clean text is kept.
//!
//! Engines: AFL++ via afl.rs (`src/bin/afl_*.rs`), libFuzzer via cargo-fuzz
//! (`fuzz_targets/*.rs`, nightly) and a seeded mutation driver (`src/bin/drive.rs`) that runs
//! on any stable toolchain. See ../FUZZING.md.

use std::path::Path;
use std::sync::OnceLock;

use tidings::model::{Article, ArticleKey, Snippet, Topic, Urgency};

/// The named targets, for the drivers.
/// A fuzz target: panics on a finding.
pub type Target = fn(&[u8]);

pub const TARGETS: [(&str, Target); 5] = [
    ("feed", feed),
    ("query", query),
    ("config", config),
    ("markup", markup),
    ("terminal_text", terminal_text),
];

pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

fn base() -> &'static url::Url {
    static BASE: OnceLock<url::Url> = OnceLock::new();
    BASE.get_or_init(|| url::Url::parse("https://example.com/feeds/news.xml").unwrap())
}

fn matcher() -> &'static tidings::matcher::Matcher {
    static M: OnceLock<tidings::matcher::Matcher> = OnceLock::new();
    M.get_or_init(|| {
        let topics = [
            topic("nato", "NATO NEAR/8 (join* OR membership OR accession)"),
            topic("talks", "(@putin OR kremlin) NEAR/12 (talks OR meet*)"),
            topic(
                "title",
                "title:(ceasefire OR truce) AND NOT category:opinion",
            ),
            topic("regex", r"/[0-9]{4}-[0-9]{2}/ OR link:example"),
        ];
        let mut aliases = tidings::model::Aliases::new();
        aliases.insert("putin".into(), vec!["Putin".into(), "Путин".into()]);
        tidings::matcher::Matcher::new(&topics, &aliases).expect("fixed topics compile")
    })
}

fn topic(name: &str, query: &str) -> Topic {
    Topic {
        name: name.into(),
        query: query.into(),
        urgency: Urgency::Normal,
        enabled: true,
        learn: None,
    }
}

/// Feed bytes → articles → matches.
pub fn feed(data: &[u8]) {
    let Ok(parsed) = tidings::parse::parse(data, base()) else {
        return;
    };
    for a in &parsed.articles {
        let ArticleKey(key) = &a.key;
        assert!(
            key.starts_with("guid:") || key.starts_with("link:") || key.starts_with("hash:"),
            "dedup key without a known prefix: {key:?}"
        );
        let texts = [&a.title, &a.summary, &a.content, &a.source];
        for text in texts.into_iter().chain(&a.authors).chain(&a.categories) {
            assert!(
                !text.chars().any(obeyed_by_terminals),
                "control character stored in {text:?}"
            );
        }
        if let Some(link) = &a.link {
            let u = url::Url::parse(link).unwrap_or_else(|e| panic!("link {link:?}: {e}"));
            assert!(
                matches!(u.scheme(), "http" | "https"),
                "non-http(s) article link {link:?}"
            );
        }
        for m in matcher().matches(a) {
            for h in &m.hits {
                assert!(h.start <= h.end, "hit range reversed: {h:?}");
            }
            // Every snippet must be cuttable into segments (byte ranges on char boundaries).
            let _ = m.snippet.segments().count();
        }
    }
}

/// The alias names of the shipped watch-list (so its queries are valid seeds) and `@a`.
fn query_aliases() -> &'static tidings::model::Aliases {
    static A: OnceLock<tidings::model::Aliases> = OnceLock::new();
    A.get_or_init(|| {
        let mut aliases = tidings::model::Aliases::new();
        for name in [
            "a",
            "nato",
            "zelensky",
            "putin",
            "kremlin",
            "russia",
            "ukraine",
            "kyiv",
            "finland",
            "sweden",
            "turkey",
            "erdogan",
            "russia_side",
            "ukraine_side",
            "third_parties",
        ] {
            aliases.insert(
                name.into(),
                vec![
                    name.to_string(),
                    format!("{name}'s"),
                    "Зеленський".into(),
                    "alpha beta".into(),
                ],
            );
        }
        aliases
    })
}

/// One topic compiled from the input; if it compiles, run it over an article whose fields
/// hold the same text.
pub fn query(data: &[u8]) {
    let Ok(q) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(m) = tidings::matcher::Matcher::new(&[topic("fuzz", q)], query_aliases()) else {
        return;
    };
    let article = Article {
        title: q.to_string(),
        summary: q.chars().rev().collect(),
        content: format!("{q} alpha Zelensky {q}"),
        categories: vec![q.to_string()],
        authors: vec![q.to_string()],
        source: q.to_string(),
        link: Some("https://example.com/a".into()),
        ..Article::default()
    };
    for m in m.matches(&article) {
        let _ = m.snippet.segments().count();
    }
}

/// The watch-list loader.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz/watchlist.toml");
    if let Err(e) = tidings::config::parse(text, path) {
        let msg = e.to_string();
        assert!(
            msg.contains("watchlist.toml"),
            "config error does not name the file: {msg}"
        );
    }
}

/// Written here, not taken from `tidings::sanitize`, so a bug there cannot hide itself: C0 and
/// C1 controls, DEL, and the bidi controls.
fn obeyed_by_terminals(c: char) -> bool {
    c < ' '
        || ('\u{7f}'..='\u{9f}').contains(&c)
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Feed text on a terminal: what `strip_controls` (at parse) and `escape_controls` (at print)
/// return holds nothing a terminal obeys; both are idempotent; text without such characters
/// comes back unchanged.
pub fn terminal_text(data: &[u8]) {
    use tidings::sanitize::{escape_controls, strip_controls};
    let text = String::from_utf8_lossy(data);
    let stripped = strip_controls(&text);
    let escaped = escape_controls(&text);
    for (what, out) in [("strip", &stripped), ("escape", &escaped)] {
        assert!(
            !out.chars().any(obeyed_by_terminals),
            "{what}: {text:?} -> {out:?}"
        );
    }
    assert_eq!(strip_controls(&stripped), stripped, "strip twice: {text:?}");
    assert_eq!(escape_controls(&escaped), escaped, "escape twice: {text:?}");
    assert_eq!(
        escape_controls(&stripped),
        stripped,
        "stripped, escaped: {text:?}"
    );
    if !text.chars().any(obeyed_by_terminals) {
        assert_eq!(stripped, text, "clean text changed by strip");
        assert_eq!(escaped, text, "clean text changed by escape");
    }
}

/// Escaped feed text is always valid markup.
pub fn markup(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let escaped = tidings::desktop::escape_markup(&text);
    check_markup(&escaped, &text);
    // The rendered body, with the input as every feed-controlled field and hits marked on
    // char boundaries chosen by the input's first byte.
    let t = text.as_ref();
    let bounds: Vec<usize> = t.char_indices().map(|(i, _)| i).chain([t.len()]).collect();
    let step = data.first().map_or(3, |b| (*b as usize % 7) + 1);
    let mut marks = Vec::new();
    let mut i = 0;
    while i + step < bounds.len() {
        marks.push((bounds[i], bounds[i + step]));
        i += step * 2;
    }
    let snippet = Snippet {
        field: None,
        text: t.to_string(),
        marks,
    };
    let content = tidings::desktop::AlertContent {
        topic: t,
        headline: t,
        source: t,
        published: None,
        snippet: &snippet,
        link: Some(t),
        score: None,
    };
    let now = chrono::DateTime::<chrono::Utc>::from_timestamp(1_800_000_000, 0).unwrap();
    let n = tidings::desktop::render(&content, Urgency::Normal, now, None);
    check_markup(&n.body_markup, &text);
}

/// `body` wrapped in `<r>…</r>` parses with quick-xml, every element is `<b>`, and the markup
/// has no control characters the notification server would reject.
pub fn check_markup(body: &str, input: &str) {
    use quick_xml::events::Event;
    let doc = format!("<r>{body}</r>");
    let mut reader = quick_xml::Reader::from_str(&doc);
    let mut depth = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) => {
                depth += 1;
                let qname = e.name();
                let name: &str = qname.as_ref();
                assert!(
                    depth == 1 || name == "b",
                    "element <{name}> in markup for input {input:?}: {body:?}"
                );
            }
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::Empty(e)) => {
                let qname = e.name();
                let name: &str = qname.as_ref();
                panic!("empty element <{name}/> in markup for input {input:?}: {body:?}")
            }
            Ok(Event::Text(_)) => {}
            Ok(Event::GeneralRef(r)) => {
                if r.is_char_ref() {
                    r.resolve_char_ref().unwrap_or_else(|e| {
                        panic!("bad character reference ({e}) for input {input:?}: {body:?}")
                    });
                }
                let name = r.to_string();
                assert!(
                    ["amp", "lt", "gt", "quot", "apos"].contains(&name.as_str())
                        || name.starts_with('#'),
                    "unknown entity &{name}; for input {input:?}: {body:?}"
                );
            }
            Ok(
                Event::CData(_)
                | Event::Comment(_)
                | Event::PI(_)
                | Event::DocType(_)
                | Event::Decl(_),
            ) => {
                panic!("markup construct other than text and <b> for input {input:?}: {body:?}")
            }
            Err(e) => panic!("invalid markup ({e}) for input {input:?}: {body:?}"),
        }
    }
    assert_eq!(depth, 0, "unbalanced markup for input {input:?}: {body:?}");
    for c in body.chars() {
        assert!(
            !c.is_control() || c == '\n' || c == '\t',
            "control character {c:?} in markup for input {input:?}"
        );
    }
}
