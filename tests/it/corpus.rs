//! The shared feed corpus through `tidings::parse::parse`: thousands of real and test feed
//! documents. Runs only when `TIDINGS_CORPUS` names the corpus directory (CI sets it to
//! `../shared/corpus`, relative to the crate root).

use std::collections::BTreeMap;

use url::Url;

/// Documents that must yield articles. Measured on 2026-11-28: 1,699 of the 3,187 `feed` rows
/// (1,196 are Ok but empty: most feedparser cases test channel-level elements and have no
/// items; 292 are errors: unsupported encodings, HTML pages, documents that are not feeds).
/// The floor sits a little under the measured figure: small parser changes pass, a real
/// regression does not. Raise it when the parser learns more.
const MIN_WITH_ARTICLES: usize = 1_650;

#[test]
fn every_corpus_feed_parses_or_fails_cleanly() {
    let Some(dir) = crate::support::corpus_or_skip("corpus tests") else {
        return;
    };
    let index_path = dir.join("INDEX.tsv");
    let index = std::fs::read_to_string(&index_path)
        .unwrap_or_else(|e| panic!("TIDINGS_CORPUS is set but {}: {e}", index_path.display()));

    let mut documents = 0usize;
    let mut with_articles = 0usize;
    let mut empty = 0usize;
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    // TIDINGS_CORPUS_VERBOSE=1 lists every document that yields no articles, with why.
    let verbose = std::env::var_os("TIDINGS_CORPUS_VERBOSE").is_some();
    for (n, row) in index.lines().enumerate().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        assert!(cols.len() >= 3, "INDEX.tsv line {}: {row:?}", n + 1);
        if cols[2] != "feed" {
            continue;
        }
        let rel = cols[0];
        let path = dir.join(rel);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let base = Url::parse(&format!("https://corpus.example/{rel}"))
            .unwrap_or_else(|e| panic!("base URL for {rel}: {e}"));
        documents += 1;
        match tidings::parse::parse(&bytes, &base) {
            Ok(feed) if feed.articles.is_empty() => {
                empty += 1;
                if verbose {
                    println!("EMPTY\t{rel}");
                }
            }
            Ok(feed) => {
                with_articles += 1;
                if feed.articles.iter().any(|a| a.key.0.is_empty()) {
                    problems.push(format!("{rel}: an article has an empty dedup key"));
                }
            }
            Err(e) => {
                let message = e.to_string();
                if message.trim().is_empty() {
                    problems.push(format!("{rel}: error with an empty message ({e:?})"));
                }
                let debug = format!("{e:?}");
                let kind = debug
                    .split(|c: char| !c.is_alphanumeric() && c != '_')
                    .next()
                    .unwrap_or("?")
                    .to_owned();
                if verbose {
                    println!("ERROR\t{rel}\t{kind}\t{message}");
                }
                *errors.entry(kind).or_default() += 1;
            }
        }
    }

    println!("corpus: {documents} feed documents from {}", dir.display());
    println!("  ok with articles: {with_articles}");
    println!("  ok but empty:     {empty}");
    for (kind, count) in &errors {
        println!("  error {kind:<12} {count}");
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        documents >= 3_000,
        "INDEX.tsv lists only {documents} feed documents"
    );
    assert!(
        with_articles >= MIN_WITH_ARTICLES,
        "only {with_articles} of {documents} documents yield articles (floor {MIN_WITH_ARTICLES})"
    );
}
