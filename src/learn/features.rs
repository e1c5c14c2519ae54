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

/// The features of one article, by name. `query_terms` is `None` when the query did not match.
pub fn features(
    title: &str,
    summary: &str,
    content: &str,
    query_terms: Option<&[&str]>,
) -> Vec<String> {
    let mut out = Vec::with_capacity(64);
    walk(title, summary, content, query_terms, &mut |parts| {
        out.push(parts.concat())
    });
    out.sort_unstable();
    out.dedup();
    out
}

/// The features of one article as [`key`]s (what scoring looks up: no string is built), sorted
/// and distinct.
pub fn feature_keys(
    title: &str,
    summary: &str,
    content: &str,
    query_terms: Option<&[&str]>,
) -> Vec<u64> {
    let mut out = Vec::with_capacity(64);
    walk(title, summary, content, query_terms, &mut |parts| {
        out.push(key_of(parts))
    });
    out.sort_unstable();
    out.dedup();
    out
}

/// A feature name's 64-bit key (FNV-1a with a final mix): `key("w:nato")`.
pub fn key(name: &str) -> u64 {
    key_of(&[name])
}

/// [`key`] of the concatenation of `parts`.
pub(super) fn key_of(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Every feature of an article, as the pieces of its name, in no particular order.
fn walk(
    title: &str,
    summary: &str,
    content: &str,
    query_terms: Option<&[&str]>,
    emit: &mut dyn FnMut(&[&str]),
) {
    let title_words = kept(words(title));
    for w in &title_words {
        emit(&["t:", w]);
    }
    grams(&title_words, emit);
    let mut body = kept(words(summary));
    if body.len() < MAX_BODY_WORDS && !content.is_empty() {
        let mut more = kept(words(content));
        more.truncate(MAX_BODY_WORDS - body.len());
        // The content often repeats the summary: only its own words count then.
        if !body.is_empty() && more.starts_with(&body) {
            more.drain(..body.len());
        }
        grams(&body, emit);
        body = more;
    }
    grams(&body, emit);
    if let Some(terms) = query_terms {
        emit(&["q"]);
        for t in terms {
            emit(&["q:", t]);
        }
    }
}

fn kept(ws: Vec<String>) -> Vec<String> {
    ws.into_iter()
        .filter(|w| {
            let n = w.chars().count();
            n > 1 && !(n > 4 && w.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect()
}

fn grams(ws: &[String], emit: &mut dyn FnMut(&[&str])) {
    for (i, w) in ws.iter().enumerate() {
        emit(&["w:", w]);
        if let Some(next) = ws.get(i + 1) {
            emit(&["b:", w, " ", next]);
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
    fn keys_are_the_names_keys() {
        let args = (
            "Peace talks resume",
            "Delegations meet",
            "More text",
            Some(&["talks"][..]),
        );
        let names = features(args.0, args.1, args.2, args.3);
        let mut want: Vec<u64> = names.iter().map(|n| key(n)).collect();
        want.sort_unstable();
        want.dedup();
        assert_eq!(feature_keys(args.0, args.1, args.2, args.3), want);
        assert_eq!(want.len(), names.len(), "no two names share a key here");
    }

    #[test]
    fn content_that_repeats_the_summary_is_read_once() {
        let a = features("", "peace talks", "peace talks resume", None);
        assert!(a.iter().any(|x| x == "w:resume"));
        assert!(!a.iter().any(|x| x == "b:talks peace"));
        assert!(!a.iter().any(|x| x == "q"));
    }
}
