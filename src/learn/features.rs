//! What a classifier sees of an article: named, binary features.
//!
//! - `w:word` and `b:word word`: the normalised words of the title and the body (summary, then
//!   the start of the content) and the pairs of neighbouring words, never across fields;
//! - `t:word`: a title word again, since a headline says what an item is about;
//! - `q` when the topic's query matched, and `q:term` for each query term that fired
//!   (`q:@nato`, `q:"peace talks"`), so the model learns which parts of the query to trust.
//!
//! Words of one character and pure numbers of more than four digits carry nothing and are
//! skipped. Features are sorted and distinct.

use crate::matcher::words;

/// At most this many body words are read (summaries are shorter; content can be a whole article).
const MAX_BODY_WORDS: usize = 300;

/// The features of one article. `query_terms` is `None` when the query did not match.
pub fn features(
    title: &str,
    summary: &str,
    content: &str,
    query_terms: Option<&[&str]>,
) -> Vec<String> {
    let mut out = Vec::with_capacity(64);
    let title_words = kept(words(title));
    for w in &title_words {
        out.push(format!("t:{w}"));
    }
    grams(&title_words, &mut out);
    let mut body = kept(words(summary));
    if body.len() < MAX_BODY_WORDS && !content.is_empty() {
        let mut more = kept(words(content));
        more.truncate(MAX_BODY_WORDS - body.len());
        // The content often repeats the summary: only its own words count then.
        if !body.is_empty() && more.starts_with(&body) {
            more.drain(..body.len());
        }
        grams(&body, &mut out);
        body = more;
    }
    grams(&body, &mut out);
    if let Some(terms) = query_terms {
        out.push("q".to_owned());
        for t in terms {
            out.push(format!("q:{t}"));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn kept(ws: Vec<String>) -> Vec<String> {
    ws.into_iter()
        .filter(|w| {
            let n = w.chars().count();
            n > 1 && !(n > 4 && w.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect()
}

fn grams(ws: &[String], out: &mut Vec<String>) {
    for (i, w) in ws.iter().enumerate() {
        out.push(format!("w:{w}"));
        if let Some(next) = ws.get(i + 1) {
            out.push(format!("b:{w} {next}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_pairs_title_and_query() {
        let f = features(
            "Finland applies to join NATO",
            "Helsinki's bid",
            "",
            Some(&["@nato", "join"]),
        );
        for want in [
            "t:finland",
            "w:finland",
            "b:finland applies",
            "b:join nato",
            "w:helsinki",
            "b:helsinki bid",
            "q",
            "q:@nato",
            "q:join",
        ] {
            assert!(f.iter().any(|x| x == want), "{want} missing from {f:?}");
        }
        // No pair across fields, no one-letter word.
        assert!(!f.iter().any(|x| x == "b:nato helsinki"));
        assert!(!f.iter().any(|x| x == "w:s"));
        let mut sorted = f.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(f, sorted);
    }

    #[test]
    fn content_that_repeats_the_summary_is_read_once() {
        let a = features("", "peace talks", "peace talks resume", None);
        assert!(a.iter().any(|x| x == "w:resume"));
        assert!(!a.iter().any(|x| x == "b:talks peace"));
        assert!(!a.iter().any(|x| x == "q"));
    }
}
