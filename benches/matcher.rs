//! Matcher throughput: 10, 100 and 1,000 generated topics over the titles and descriptions of
//! the RSS/Atom snapshots in `$TIDINGS_CORPUS/news-feed-snapshots` (else
//! `../shared/corpus/news-feed-snapshots` beside the crate; else generated text, said on stderr).
//!
//! Run: `cargo bench --bench matcher -- --warm-up-time 1 --measurement-time 3`

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use regex::Regex;
use tidings::matcher::Matcher;
use tidings::model::{Aliases, Article, Topic, Urgency};

fn corpus_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("TIDINGS_CORPUS") {
        let p = PathBuf::from(dir).join("news-feed-snapshots");
        if p.is_dir() {
            return Some(p);
        }
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/news-feed-snapshots");
    p.is_dir().then_some(p)
}

fn xml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            xml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "xml") {
            out.push(p);
        }
    }
}

/// Strip CDATA, tags and the common entities: good enough for a benchmark's text.
fn plain(raw: &str, tags: &Regex) -> String {
    let s = raw.replace("<![CDATA[", "").replace("]]>", "");
    let s = s
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&nbsp;", " ");
    let s = tags.replace_all(&s, " ");
    s.replace("&amp;", "&").trim().to_owned()
}

fn load_articles() -> Vec<Article> {
    let Some(dir) = corpus_dir() else {
        eprintln!("matcher bench: no corpus found, using generated text");
        return generated_articles();
    };
    let item = Regex::new(r"(?s)<(?:item|entry)\b.*?</(?:item|entry)>").expect("regex");
    let title = Regex::new(r"(?s)<title[^>]*>(.*?)</title>").expect("regex");
    let desc =
        Regex::new(r"(?s)<(description|summary|media:description)[^>]*>(.*?)</(?:description|summary|media:description)>")
            .expect("regex");
    let tags = Regex::new(r"<[^>]*>").expect("regex");
    let mut files = Vec::new();
    xml_files(&dir, &mut files);
    let mut out = Vec::new();
    for f in files {
        let Ok(bytes) = std::fs::read(&f) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        for m in item.find_iter(&text) {
            let it = m.as_str();
            let t = title
                .captures(it)
                .and_then(|c| c.get(1))
                .map_or(String::new(), |m| plain(m.as_str(), &tags));
            let d = desc
                .captures(it)
                .and_then(|c| c.get(2))
                .map_or(String::new(), |m| plain(m.as_str(), &tags));
            if t.is_empty() && d.is_empty() {
                continue;
            }
            out.push(Article {
                title: t,
                summary: d,
                ..Article::default()
            });
        }
    }
    eprintln!(
        "matcher bench: corpus {} ({} articles)",
        dir.display(),
        out.len()
    );
    if out.is_empty() {
        return generated_articles();
    }
    out
}

/// Deterministic pseudo-random numbers (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next() % xs.len() as u64) as usize]
    }
}

const VOCAB: &[&str] = &[
    "nato",
    "ukraine",
    "russia",
    "putin",
    "zelensky",
    "kyiv",
    "talks",
    "summit",
    "election",
    "covid",
    "vaccine",
    "police",
    "court",
    "minister",
    "government",
    "market",
    "storm",
    "climate",
    "budget",
    "strike",
    "health",
    "school",
    "china",
    "trump",
    "biden",
    "sport",
    "rugby",
    "football",
    "cricket",
    "fire",
    "flood",
    "murder",
    "crash",
    "economy",
    "bank",
    "price",
    "housing",
    "labour",
    "national",
    "prime",
    "president",
    "war",
    "peace",
    "border",
];

fn generated_articles() -> Vec<Article> {
    let mut rng = Rng(42);
    (0..2000)
        .map(|_| {
            let mut words = |n: usize| {
                (0..n)
                    .map(|_| *rng.pick(VOCAB))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            Article {
                title: words(10),
                summary: words(60),
                ..Article::default()
            }
        })
        .collect()
}

/// `n` topics mixing words, phrases, prefixes, aliases and NEAR, with words taken from the
/// corpus (so some hit, most do not).
fn topics(n: usize, vocab: &[String], aliases: &Aliases) -> Vec<Topic> {
    let mut rng = Rng(7 + n as u64);
    let names: Vec<&String> = aliases.keys().collect();
    let term = |rng: &mut Rng| -> String {
        let w = rng.pick(vocab).clone();
        match rng.next() % 6 {
            0 => format!("\"{w} {}\"", rng.pick(vocab)),
            // A stem, as people write them: `negotiat*`, `sanction*`.
            1 if w.chars().count() > 6 => {
                let n = w.chars().count() - 2;
                format!("{}*", w.chars().take(n).collect::<String>())
            }
            // The five aliases are shared by all topics: keep them to a few topics, as in
            // a real watch-list, or they alone make most topics match most articles.
            2 if rng.next().is_multiple_of(8) => format!("@{}", rng.pick(&names)),
            _ => w,
        }
    };
    (0..n)
        .map(|i| {
            let (a, b, c) = (term(&mut rng), term(&mut rng), term(&mut rng));
            let query = match i % 5 {
                0 => format!("{a} NEAR/8 ({b} OR {c})"),
                1 => format!("{a} AND {b}"),
                2 => format!("{a} OR {b} OR {c}"),
                3 => format!("title:{a} AND NOT {b}"),
                _ => format!("{a} NEAR/12 {b} NEAR/12 {c}"),
            };
            Topic {
                name: format!("topic {i}"),
                query,
                urgency: Urgency::Normal,
                enabled: true,
                learn: None,
            }
        })
        .collect()
}

/// Title words by frequency, the `skip` most frequent left out (`skip` 50: broad topics that
/// match many articles; `skip` 500: more specific ones).
fn vocabulary(articles: &[Article], skip: usize) -> Vec<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for a in articles.iter().take(5000) {
        for w in tidings::matcher::words(&a.title) {
            if w.chars().count() >= 4 && w.chars().all(char::is_alphabetic) {
                *counts.entry(w).or_default() += 1;
            }
        }
    }
    let mut v: Vec<(String, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    // Skip the most frequent words (stop words), keep a wide tail.
    v.into_iter().skip(skip).take(5000).map(|x| x.0).collect()
}

fn aliases() -> Aliases {
    let mut a = Aliases::new();
    a.insert(
        "putin".into(),
        vec!["Putin".into(), "Путин".into(), "Kremlin".into()],
    );
    a.insert(
        "zelensky".into(),
        vec!["Zelensky".into(), "Zelenskyy".into(), "Зеленський".into()],
    );
    a.insert(
        "covid".into(),
        vec!["covid*".into(), "coronavirus".into(), "sars-cov-2".into()],
    );
    a.insert(
        "talks".into(),
        vec!["negotiat*".into(), "peace talks".into(), "summit".into()],
    );
    a.insert(
        "police".into(),
        vec!["police".into(), "cops".into(), "law enforcement".into()],
    );
    a
}

fn bench(c: &mut Criterion) {
    let articles = load_articles();
    let bytes: usize = articles
        .iter()
        .map(|a| a.title.len() + a.summary.len())
        .sum();
    let fallback = || VOCAB.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut broad = vocabulary(&articles, 50);
    let mut specific = vocabulary(&articles, 500);
    if broad.len() < 100 || specific.len() < 100 {
        (broad, specific) = (fallback(), fallback());
    }
    let aliases = aliases();
    let mut group = c.benchmark_group("matcher");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(10);
    let runs = [
        ("", 10, &broad),
        ("", 100, &broad),
        ("", 1000, &broad),
        ("_specific", 1000, &specific),
    ];
    for (suffix, n, vocab) in runs {
        let topics = topics(n, vocab, &aliases);
        let matcher = Matcher::new(&topics, &aliases).expect("generated topics compile");
        let matched: usize = articles.iter().map(|a| matcher.matches(a).len()).sum();
        let (automaton, automaton_bytes) = matcher.automaton();
        eprintln!(
            "matcher bench: {n}{suffix} topics, {} articles, {bytes} bytes, {matched} matches; term automaton: {automaton}, {:.0} KB",
            articles.len(),
            automaton_bytes as f64 / 1024.0
        );
        if std::env::var("TIDINGS_BENCH_CPU").is_ok_and(|v| v == "1" || v == format!("{n}{suffix}"))
        {
            cpu_time_per_pass(&format!("{n}_topics{suffix}"), &matcher, &articles, bytes);
        }
        group.bench_function(format!("{n}_topics{suffix}"), |b| {
            b.iter(|| {
                let mut total = 0;
                for a in &articles {
                    total += matcher.matches(black_box(a)).len();
                }
                total
            })
        });
    }
    group.finish();
}

/// Process CPU time (user + system) from `/proc/self/stat`, in clock ticks (Linux only).
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// On a shared, loaded machine wall-clock numbers understate the speed: with
/// `TIDINGS_BENCH_CPU=1`, also print CPU time per pass over the corpus (ticks are 10 ms,
/// so this runs enough passes for about 2 s of CPU).
fn cpu_time_per_pass(name: &str, matcher: &Matcher, articles: &[Article], bytes: usize) {
    let Some(t0) = cpu_ticks() else {
        return;
    };
    let mut passes = 0u64;
    let mut t1 = t0;
    while t1 - t0 < 200 {
        for a in articles {
            black_box(matcher.matches(black_box(a)));
        }
        passes += 1;
        t1 = cpu_ticks().unwrap_or(t0 + 200);
    }
    let ms = (t1 - t0) as f64 * 10.0 / passes as f64;
    eprintln!(
        "matcher bench: {name}: {ms:.1} ms CPU per pass, {:.1} MB/s per core",
        bytes as f64 / 1e6 / (ms / 1e3)
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
