//! Files under `tests/fixtures/` (see its README.md for provenance and licences).

use std::path::PathBuf;

pub fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn bytes(name: &str) -> Vec<u8> {
    let p = path(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", p.display()))
}

pub fn text(name: &str) -> String {
    String::from_utf8(bytes(name)).unwrap_or_else(|e| panic!("fixture {name} is not UTF-8: {e}"))
}

/// The headline of the seed article in `seed-feed.xml` (and the Atom / JSON variants).
pub const SEED_HEADLINE: &str =
    "NATO should say openly if it is not accepting Ukraine, Zelensky says";
/// The channel title of `seed-feed.xml`.
pub const SEED_CHANNEL: &str = "World News Wire";
/// Headlines of the items in `seed-feed.xml` that must never alert.
pub const SEED_UNRELATED: [&str; 3] = [
    "Late penalty gives United a 2-1 derby win over City",
    "Heat warning as temperatures climb to 38C across the south",
    "Local bakery wins national sourdough prize",
];

/// `seed-feed.xml` with extra RSS `<item>` elements appended to the channel.
pub fn seed_feed_with(extra_items: &[String]) -> Vec<u8> {
    let feed = text("seed-feed.xml");
    let at = feed
        .rfind("</channel>")
        .expect("seed-feed.xml has </channel>");
    let mut out = String::with_capacity(feed.len() + 512);
    out.push_str(&feed[..at]);
    for item in extra_items {
        out.push_str(item);
        out.push('\n');
    }
    out.push_str(&feed[at..]);
    out.into_bytes()
}
