//! Normalising links (`parse::normalize_link`, the dedup and story key) and text
//! (`matcher::normalize`, what the matcher scans), over the titles, summaries and links of the
//! corpus's news-feed snapshots (generated text when the corpus is absent). Also the matcher
//! with the example watch-list's topics per article, since that is what a poll runs per new
//! article (issue 3's `benches/matcher.rs` measures the matcher at scale).
//!
//! `cargo bench --bench normalize -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tidings::model::Article;
use url::Url;

fn corpus_dir() -> PathBuf {
    std::env::var_os("TIDINGS_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"))
        .join("news-feed-snapshots")
}

fn collect(dir: &Path, out: &mut Vec<Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "xml")
            && let Ok(b) = std::fs::read(&p)
        {
            out.push(b);
        }
    }
}

fn articles() -> Vec<Article> {
    let base = Url::parse("https://example.com/feed.xml").unwrap();
    let mut docs = Vec::new();
    collect(&corpus_dir(), &mut docs);
    let arts: Vec<Article> = docs
        .iter()
        .filter_map(|d| tidings::parse::parse(d, &base).ok())
        .flat_map(|f| f.articles)
        .collect();
    if !arts.is_empty() {
        return arts;
    }
    eprintln!(
        "corpus not found at {}: generated articles",
        corpus_dir().display()
    );
    (0..2000)
        .map(|i| Article {
            title: format!("Zelensky says Ukraine's NATO bid is «not negotiable» – update {i}"),
            summary: "Finland's President Niinistö and Sweden's Andersson met Erdoğan in Ankara on Tuesday; \
                      the Kremlin's spokesman Peskov said Russia would respond."
                .into(),
            link: Some(format!(
                "https://www.Example.com/world/2022/05/{i}/amp?utm_source=rss&utm_medium=feed&id={i}#top"
            )),
            ..Default::default()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let arts = articles();
    let links: Vec<Url> = arts
        .iter()
        .filter_map(|a| a.link.as_deref())
        .filter_map(|l| Url::parse(l).ok())
        .collect();
    let texts: Vec<&str> = arts
        .iter()
        .flat_map(|a| [a.title.as_str(), a.summary.as_str()])
        .filter(|t| !t.is_empty())
        .collect();
    eprintln!(
        "{} articles, {} links, {} texts",
        arts.len(),
        links.len(),
        texts.len()
    );

    let mut g = c.benchmark_group("normalize");
    g.throughput(Throughput::Elements(links.len() as u64));
    g.bench_function("parse::normalize_link (per element = per link)", |b| {
        b.iter(|| {
            for l in &links {
                black_box(tidings::parse::normalize_link(black_box(l)));
            }
        })
    });
    let link_strs: Vec<&str> = arts.iter().filter_map(|a| a.link.as_deref()).collect();
    g.bench_function(
        "Url::parse + normalize_link (as insert_new does; per link)",
        |b| {
            b.iter(|| {
                for l in &link_strs {
                    if let Ok(u) = Url::parse(black_box(l)) {
                        black_box(tidings::parse::normalize_link(&u));
                    }
                }
            })
        },
    );
    g.throughput(Throughput::Bytes(
        texts.iter().map(|t| t.len()).sum::<usize>() as u64,
    ));
    g.bench_function("matcher::normalize (titles and summaries)", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(tidings::matcher::normalize(black_box(t)));
            }
        })
    });
    g.finish();

    let config =
        tidings::config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/watchlist.toml"))
            .expect("example watch-list");
    let matcher = config.matcher();
    let mut g = c.benchmark_group("match");
    g.throughput(Throughput::Elements(arts.len() as u64));
    g.bench_function(
        "example watch-list topics (per element = per article)",
        |b| {
            b.iter(|| {
                for a in &arts {
                    black_box(matcher.matches(black_box(a)));
                }
            })
        },
    );
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
