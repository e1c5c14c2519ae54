//! Issue 7, corpus (second test, beside `corpus.rs`): UTF-16 documents are transcoded and
//! parsed, and titles and links agree with the feed-rs 3.0.0 goldens (`*.serde.json`).
//! Runs when `TIDINGS_CORPUS` names the corpus; prints `SKIPPED` otherwise.

use std::path::{Path, PathBuf};

use url::Url;

fn base(rel: &str) -> Url {
    Url::parse(&format!("https://corpus.example/{rel}")).unwrap()
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Whitespace collapsed, as both sides render titles as one line of text.
fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The corpus's UTF-16 documents parse (they made feed-rs panic before tidings transcoded
/// them): each is a feedparser case that expects a well-formed feed ("not bozo").
#[test]
fn utf16_corpus_documents_parse() {
    let Some(dir) = crate::support::corpus_or_skip("corpus tests") else {
        return;
    };
    let enc = dir.join("feedparser-6.0.14-tests/encoding");
    let mut utf16: Vec<PathBuf> = std::fs::read_dir(&enc)
        .unwrap_or_else(|e| panic!("{}: {e}", enc.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_lowercase();
            name.contains("utf-16") || name.contains("utf16")
        })
        .collect();
    utf16.sort();
    assert!(
        utf16.len() >= 5,
        "expected the UTF-16 files in {}",
        enc.display()
    );
    let mut failures = Vec::new();
    for p in &utf16 {
        let rel = p.strip_prefix(&dir).unwrap().display().to_string();
        let bytes = std::fs::read(p).unwrap();
        match tidings::parse::parse(&bytes, &base(&rel)) {
            Ok(f) => println!("UTF-16 ok: {rel} ({} articles)", f.articles.len()),
            Err(e) => failures.push(format!("{rel}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "UTF-16 documents not parsed:\n{}",
        failures.join("\n")
    );
}

/// Transcoding is faithful: every UTF-16 corpus file gives the same result as its UTF-8
/// re-encoding, and UTF-8 feeds with articles re-encoded as UTF-16 LE / BE (with a BOM and the
/// declaration changed) yield exactly the same articles.
#[test]
fn utf16_transcoding_preserves_articles() {
    let Some(dir) = crate::support::corpus_or_skip("corpus tests") else {
        return;
    };
    let enc = dir.join("feedparser-6.0.14-tests/encoding");
    let mut same = 0;
    for e in std::fs::read_dir(&enc).unwrap().flatten() {
        let p = e.path();
        let name = p.file_name().unwrap().to_string_lossy().to_lowercase();
        if !(name.contains("utf-16") || name.contains("utf16")) {
            continue;
        }
        let bytes = std::fs::read(&p).unwrap();
        let big_endian = bytes.starts_with(&[0xfe, 0xff]) || bytes.first() == Some(&0);
        let (text, _, bad) = if big_endian {
            encoding_rs::UTF_16BE.decode(&bytes)
        } else {
            encoding_rs::UTF_16LE.decode(&bytes)
        };
        assert!(!bad, "{} is not UTF-16", p.display());
        let utf8 = regex_free_swap_encoding(text.trim_start_matches('\u{feff}'))
            .replace("encoding=\"UTF-16\"", "encoding=\"UTF-8\"");
        let rel = p.strip_prefix(&dir).unwrap().display().to_string();
        let a = tidings::parse::parse(&bytes, &base(&rel));
        let b = tidings::parse::parse(utf8.as_bytes(), &base(&rel));
        assert_eq!(
            a, b,
            "{rel}: UTF-16 and its UTF-8 re-encoding parse differently"
        );
        same += 1;
    }
    println!("UTF-16 corpus files equal to their UTF-8 re-encoding: {same}");
    assert!(same >= 5);

    // Transcoding round trip over UTF-8 feeds with articles.
    let mut all = Vec::new();
    files(&dir.join("feed-rs-3.0.0-fixtures"), &mut all);
    files(&dir.join("rss-parser-test"), &mut all);
    all.sort();
    let mut compared = 0;
    let mut mismatches = Vec::new();
    for p in all
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "xml" || e == "rss"))
    {
        let rel = p.strip_prefix(&dir).unwrap().display().to_string();
        let Ok(text) = String::from_utf8(std::fs::read(p).unwrap()) else {
            continue;
        };
        let Ok(utf8) = tidings::parse::parse(text.as_bytes(), &base(&rel)) else {
            continue;
        };
        if utf8.articles.is_empty() {
            continue;
        }
        let text = text.trim_start_matches('\u{feff}');
        let declared = regex_free_swap_encoding(text);
        for (label, bom, be) in [
            ("UTF-16LE", [0xff, 0xfe], false),
            ("UTF-16BE", [0xfe, 0xff], true),
        ] {
            let mut bytes = bom.to_vec();
            for u in declared.encode_utf16() {
                bytes.extend_from_slice(&if be { u.to_be_bytes() } else { u.to_le_bytes() });
            }
            match tidings::parse::parse(&bytes, &base(&rel)) {
                Ok(f) if f.articles == utf8.articles => {}
                Ok(f) => mismatches.push(format!(
                    "{rel} as {label}: {} articles, {} in UTF-8",
                    f.articles.len(),
                    utf8.articles.len()
                )),
                Err(e) => mismatches.push(format!("{rel} as {label}: {e}")),
            }
        }
        compared += 1;
    }
    println!(
        "UTF-16 round trip: {compared} documents with articles, {} mismatches",
        mismatches.len()
    );
    assert!(compared >= 20, "too few documents compared: {compared}");
    assert!(
        mismatches.is_empty(),
        "UTF-16 transcoding changed articles:\n{}",
        mismatches.join("\n")
    );
}

/// `encoding="utf-8"` (any case, either quote) in the XML declaration becomes `UTF-16`.
fn regex_free_swap_encoding(text: &str) -> String {
    let Some(end) = text.find("?>").filter(|_| text.starts_with("<?xml")) else {
        return text.to_string();
    };
    let decl = &text[..end];
    let lower = decl.to_lowercase();
    let Some(at) = lower.find("encoding=") else {
        return text.to_string();
    };
    let q = decl.as_bytes()[at + 9];
    let close = decl[at + 10..]
        .find(q as char)
        .map(|i| at + 10 + i)
        .unwrap_or(end);
    format!("{}encoding=\"UTF-16\"{}", &decl[..at], &text[close + 1..])
}

/// Titles and links of every entry agree with feed-rs 3.0.0's own output for the documents
/// that have a golden `X.serde.json`.
#[test]
fn titles_and_links_agree_with_feed_rs_goldens() {
    let Some(dir) = crate::support::corpus_or_skip("corpus tests") else {
        return;
    };
    let mut all = Vec::new();
    files(&dir.join("feed-rs-3.0.0-fixtures"), &mut all);
    all.sort();
    let (mut docs, mut entries, mut titles_ok, mut links_ok, mut links_cmp) = (0, 0, 0, 0, 0);
    let mut problems = Vec::new();
    for golden in all
        .iter()
        .filter(|p| p.to_string_lossy().ends_with(".serde.json"))
    {
        let stem = golden
            .to_string_lossy()
            .trim_end_matches(".serde.json")
            .to_string();
        let Some(doc) = [".xml", ".json"]
            .iter()
            .map(|e| PathBuf::from(format!("{stem}{e}")))
            .find(|p| p.is_file())
        else {
            continue;
        };
        let rel = doc.strip_prefix(&dir).unwrap().display().to_string();
        let want: serde_json::Value =
            serde_json::from_slice(&std::fs::read(golden).unwrap()).unwrap();
        let got = match tidings::parse::parse(&std::fs::read(&doc).unwrap(), &base(&rel)) {
            Ok(f) => f,
            Err(e) => {
                problems.push(format!("{rel}: {e}"));
                continue;
            }
        };
        docs += 1;
        let want_entries = want["entries"].as_array().cloned().unwrap_or_default();
        if want_entries.len() != got.articles.len() {
            problems.push(format!(
                "{rel}: {} entries, golden has {}",
                got.articles.len(),
                want_entries.len()
            ));
            continue;
        }
        for (w, a) in want_entries.iter().zip(&got.articles) {
            entries += 1;
            let want_title = w["title"]["content"].as_str().unwrap_or("");
            // Goldens hold titles as written (HTML titles keep their markup); tidings keeps
            // plain text. Compare plain titles exactly, HTML ones by their text.
            let want_plain = if w["title"]["content_type"].as_str() == Some("text/html") {
                tidings::parse::html_to_text(want_title)
            } else {
                want_title.to_string()
            };
            if norm(&want_plain) == norm(&a.title) {
                titles_ok += 1;
            } else {
                problems.push(format!(
                    "{rel}: title {:?} != golden {:?}",
                    a.title, want_plain
                ));
            }
            // The golden's link by tidings' rule: the first alternate (or rel-less) link,
            // else the first; only absolute http(s) links are comparable.
            let links = w["links"].as_array().cloned().unwrap_or_default();
            let pick = links
                .iter()
                .find(|l| l["rel"].as_str().is_none_or(|r| r == "alternate"))
                .or(links.first())
                .and_then(|l| l["href"].as_str())
                .and_then(|h| Url::parse(h).ok())
                .filter(|u| matches!(u.scheme(), "http" | "https"));
            if let Some(want_link) = pick {
                links_cmp += 1;
                if a.link.as_deref() == Some(want_link.as_str()) {
                    links_ok += 1;
                } else {
                    problems.push(format!(
                        "{rel}: link {:?} != golden {:?}",
                        a.link,
                        want_link.as_str()
                    ));
                }
            }
        }
    }
    println!(
        "feed-rs goldens: {docs} documents, {entries} entries, titles agree {titles_ok}/{entries}, \
         links agree {links_ok}/{links_cmp}"
    );
    for p in &problems {
        println!("  {p}");
    }
    assert!(docs >= 60, "too few goldens compared: {docs}");
    assert!(
        problems.is_empty(),
        "{} disagreements with the goldens",
        problems.len()
    );
}
