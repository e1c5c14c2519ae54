//! PURE: is this the same story? One alert per story and topic, however many feeds carry it.
//!
//! Two articles are the same story when their normalised links are equal (see
//! [`crate::parse::normalize_link`]: scheme, host case, `www.`, trailing slash, fragments,
//! tracking parameters and AMP variants do not count), or when their titles are near-identical:
//! the Jaccard similarity of their sets of normalised words is at least
//! [`TITLE_SIMILARITY`] and, when both titles carry numbers, the numbers are the same. Titles of
//! fewer than [`MIN_TITLE_WORDS`] words are compared by link only ("Live updates" is not a
//! story).
//!
//! Tuned on `../shared/corpus/news-feed-snapshots` (3,609 distinct titles from 40 feeds,
//! cross-feed pairs): at similarity ≥ 0.8 the true pairs are syndicated copies ("Only Fools and
//! Horses star/actor John Challis dies aged 79"), and every false pair was a templated title
//! whose numbers differ ("Covid-19 update: 51 / 65 new community cases in NZ today", "updates
//! for 16 / 4 September") — hence the numbers rule. Below 0.8 the pairs were mostly different
//! stories.

use std::collections::HashSet;
use std::time::Duration;

/// How far back an alert can absorb a new article of the same story.
pub const WINDOW: Duration = Duration::from_secs(48 * 3600);
/// Word-set similarity from which two titles are one story.
pub const TITLE_SIMILARITY: f64 = 0.8;
/// A new alert's title is compared with at most this many of the topic's most recent alerts
/// in the window. A topic rarely has more than a few dozen alerts in two days; without a bound,
/// one document of 10,000 matching items cost 50 million comparisons (about five minutes).
pub const TITLE_CANDIDATES: usize = 200;
/// Shorter titles are too generic to compare.
pub const MIN_TITLE_WORDS: usize = 4;

/// The normalised words of a title, as a set.
pub fn title_words(title: &str) -> HashSet<String> {
    crate::matcher::words(title).into_iter().collect()
}

/// Jaccard similarity of two word sets (0 when either is empty).
pub fn similarity(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let common = a.intersection(b).count();
    common as f64 / (a.len() + b.len() - common) as f64
}

/// One article's identity for story comparison.
#[derive(Debug, Clone, Copy)]
pub struct StoryKey<'a> {
    pub title: &'a str,
    /// The normalised link, if the article has one.
    pub link: Option<&'a str>,
}

pub fn same_story(a: StoryKey<'_>, b: StoryKey<'_>) -> bool {
    Story::new(a).same_as(b)
}

/// The normalised link that identifies an article's story (see
/// [`crate::parse::normalize_link`]); `None` when the link is not a URL.
pub fn story_link(link: &str) -> Option<String> {
    url::Url::parse(link)
        .ok()
        .map(|u| crate::parse::normalize_link(&u))
}

/// A new article, to be compared with earlier ones: its title's words are computed once.
#[derive(Debug, Clone)]
pub struct Story<'a> {
    link: Option<&'a str>,
    words: HashSet<String>,
}

impl<'a> Story<'a> {
    pub fn new(key: StoryKey<'a>) -> Story<'a> {
        Story {
            link: key.link,
            words: title_words(key.title),
        }
    }

    /// The normalised link: earlier articles with the same one are the same story.
    pub fn link(&self) -> Option<&'a str> {
        self.link
    }

    /// Whether an earlier article with another link can still be the same story: only when
    /// this title has at least [`MIN_TITLE_WORDS`] words.
    pub fn compares_titles(&self) -> bool {
        self.words.len() >= MIN_TITLE_WORDS
    }

    /// Is `earlier` the same story? The same normalised link, or near-identical titles.
    pub fn same_as(&self, earlier: StoryKey<'_>) -> bool {
        if let (Some(x), Some(y)) = (self.link, earlier.link)
            && x == y
        {
            return true;
        }
        self.compares_titles() && similar_titles(&self.words, &title_words(earlier.title))
    }

    /// The id of the first of `earlier` — (id, title, normalised link) rows as the caller reads
    /// them, stopping at the first error — that is the same story, reading no further.
    ///
    /// Which earlier alert a new article joins is the first one here: the store passes the
    /// topic's alerts within [`WINDOW`] newest first, those with the same link before the
    /// others, so the newest alert with the same link wins, else the newest with a
    /// near-identical title.
    pub fn first_same<Id, E>(
        &self,
        earlier: impl IntoIterator<Item = Result<(Id, String, Option<String>), E>>,
    ) -> Result<Option<Id>, E> {
        for row in earlier {
            let (id, title, link) = row?;
            let key = StoryKey {
                title: &title,
                link: link.as_deref(),
            };
            if self.same_as(key) {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }
}

/// Near-identical titles, given their word sets.
pub fn similar_titles(a: &HashSet<String>, b: &HashSet<String>) -> bool {
    let numbers = |s: &HashSet<String>| -> Vec<String> {
        let mut n: Vec<String> = s
            .iter()
            .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
            .cloned()
            .collect();
        n.sort();
        n
    };
    let (na, nb) = (numbers(a), numbers(b));
    let numbers_agree = na.is_empty() || nb.is_empty() || na == nb;
    a.len() >= MIN_TITLE_WORDS
        && b.len() >= MIN_TITLE_WORDS
        && numbers_agree
        && similarity(a, b) >= TITLE_SIMILARITY
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key<'a>(title: &'a str, link: Option<&'a str>) -> StoryKey<'a> {
        StoryKey { title, link }
    }

    #[test]
    fn same_and_different_stories() {
        let cases = [
            (
                "Finland applies to join NATO",
                "Finland formally applies to join NATO",
                true,
            ),
            (
                "Finland applies to join NATO",
                "finland APPLIES to join Nato!",
                true,
            ),
            (
                "Zelensky says talks with Russia are stalling",
                "Zelensky says talks with Russia have stalled",
                false,
            ),
            (
                "Sweden applies to join NATO",
                "Finland applies to join NATO",
                false,
            ),
            ("Live updates", "Live updates", false),
            (
                "Only Fools and Horses star John Challis dies aged 79",
                "Only Fools and Horses actor John Challis dies aged 79",
                true,
            ),
            (
                "Covid-19 update: 51 new community cases in NZ today",
                "Covid-19 update: 65 new community cases in NZ today",
                false,
            ),
        ];
        for (a, b, want) in cases {
            assert_eq!(
                same_story(key(a, None), key(b, None)),
                want,
                "{a:?} vs {b:?}"
            );
        }
        assert!(same_story(
            key("A", Some("https://x.example/s")),
            key("B", Some("https://x.example/s"))
        ));
    }

    #[test]
    fn first_same_is_the_first_candidate_of_the_same_story() {
        let row = |id: i64, title: &str, link: Option<&str>| -> Result<_, ()> {
            Ok((id, title.to_string(), link.map(str::to_string)))
        };
        let story = Story::new(key(
            "Finland applies to join NATO",
            Some("https://news.example/finland-nato"),
        ));
        let earlier = [
            row(3, "Sweden applies to join NATO", None),
            row(2, "Finland formally applies to join NATO", None),
            row(1, "Live", Some("https://news.example/finland-nato")),
        ];
        assert_eq!(story.first_same(earlier.clone()), Ok(Some(2)));
        assert_eq!(story.first_same([earlier[2].clone()]), Ok(Some(1)));
        assert_eq!(story.first_same([earlier[0].clone()]), Ok(None));
        assert_eq!(story.first_same([row(4, "x", None), Err(())]), Err(()));

        // A short title is compared by link only.
        let short = Story::new(key("Live updates", Some("https://a.example/live")));
        assert!(!short.compares_titles());
        assert_eq!(
            short.first_same([row(5, "Live updates", None)]),
            Ok(None::<i64>)
        );
        assert_eq!(
            short.first_same([row(6, "Other", Some("https://a.example/live"))]),
            Ok(Some(6))
        );
    }

    #[test]
    fn story_links_are_normalised_links() {
        assert_eq!(
            story_link("https://www.news.example/finland-nato/?utm_source=rss"),
            story_link("https://news.example/finland-nato")
        );
        assert!(story_link("https://news.example/finland-nato").is_some());
        assert_eq!(story_link("not a url"), None);
    }
}
