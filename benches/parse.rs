//! Parsing per document: `tidings::parse::parse` over the news-feed snapshots of the shared
//! corpus (`$TIDINGS_CORPUS/news-feed-snapshots`, else `../shared/corpus` next to the crate),
//! and, to see what tidings adds, feed-rs alone over the same bytes and `html_to_text` over
//! the entries' HTML.
//!
//! `cargo bench --bench parse -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use url::Url;

fn corpus_dir() -> PathBuf {
    std::env::var_os("TIDINGS_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"))
        .join("news-feed-snapshots")
}

fn collect(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if p
            .extension()
            .is_some_and(|e| e == "xml" || e == "rss" || e == "atom" || e == "json")
            && let Ok(bytes) = std::fs::read(&p)
        {
            out.push((p, bytes));
        }
    }
}

/// Documents that parse (error pages and empty downloads are left out), or generated RSS
/// documents when the corpus is absent.
fn documents() -> (Vec<Vec<u8>>, &'static str) {
    let base = Url::parse("https://example.com/feed.xml").unwrap();
    let mut files = Vec::new();
    collect(&corpus_dir(), &mut files);
    let docs: Vec<Vec<u8>> = files
        .into_iter()
        .map(|(_, b)| b)
        .filter(|b| tidings::parse::parse(b, &base).is_ok_and(|f| !f.articles.is_empty()))
        .collect();
    if !docs.is_empty() {
        return (docs, "news-feed-snapshots");
    }
    eprintln!(
        "corpus not found at {}: benchmarking 50 generated RSS documents instead",
        corpus_dir().display()
    );
    let docs = (0..50)
        .map(|d| {
            let mut s = String::from(
                r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Generated</title><link>https://example.com/</link>"#,
            );
            for i in 0..30 {
                s.push_str(&format!(
                    "<item><title>Officials announce measure {d}-{i} amid growing concern</title>\
                     <link>https://example.com/news/{d}/{i}?utm_source=rss</link><guid>g-{d}-{i}</guid>\
                     <pubDate>Tue, 22 Mar 2022 10:00:00 GMT</pubDate>\
                     <description>&lt;p&gt;The government announced new measures to curb inflation on Tuesday. \
                     Investors welcomed &lt;b&gt;higher interest rates&lt;/b&gt; &amp;amp; lower taxes.&lt;/p&gt;</description></item>"
                ));
            }
            s.push_str("</channel></rss>");
            s.into_bytes()
        })
        .collect();
    (docs, "generated")
}

/// `parse::html_to_text` as it was before (html2text), for before/after and a diff count.
fn html_to_text_html2text(html: &str) -> String {
    let collapse = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    if !html.contains(['<', '&']) {
        return collapse(html);
    }
    match html2text::config::plain_no_decorate()
        .no_link_wrapping()
        .allow_width_overflow()
        .string_from_read(html.as_bytes(), 100_000)
    {
        Ok(text) => collapse(&text),
        Err(_) => collapse(html),
    }
}

fn bench(c: &mut Criterion) {
    let base = Url::parse("https://example.com/feed.xml").unwrap();
    let (docs, source) = documents();
    let bytes: usize = docs.iter().map(Vec::len).sum();
    let entries: usize = docs
        .iter()
        .map(|d| tidings::parse::parse(d, &base).map_or(0, |f| f.articles.len()))
        .sum();
    eprintln!(
        "{source}: {} documents, {:.1} MB, {entries} entries (mean {:.1} KB, {:.0} entries per document)",
        docs.len(),
        bytes as f64 / 1e6,
        bytes as f64 / 1e3 / docs.len() as f64,
        entries as f64 / docs.len() as f64
    );

    let mut g = c.benchmark_group(format!("parse/{source}"));
    g.throughput(Throughput::Elements(docs.len() as u64));
    g.bench_function(
        "tidings::parse (all documents; per element = per document)",
        |b| {
            b.iter(|| {
                for d in &docs {
                    black_box(tidings::parse::parse(black_box(d), &base).ok());
                }
            })
        },
    );
    g.bench_function("feed-rs alone (same builder)", |b| {
        b.iter(|| {
            for d in &docs {
                let parser = feed_rs::parser::Builder::new()
                    .base_uri(Some(base.as_str()))
                    .id_generator(|_, _, _| String::new())
                    .build();
                black_box(parser.parse(black_box(d.as_slice())).ok());
            }
        })
    });
    g.finish();

    // The HTML of every entry (titles, summaries, content) through html_to_text.
    let mut html = Vec::new();
    for d in &docs {
        if let Ok(feed) = feed_rs::parser::parse(d.as_slice()) {
            for e in feed.entries {
                html.extend(e.title.map(|t| t.content));
                html.extend(e.summary.map(|t| t.content));
                html.extend(e.content.and_then(|c| c.body));
            }
        }
    }
    let differ: Vec<(String, String)> = html
        .iter()
        .map(|h| (html_to_text_html2text(h), tidings::parse::html_to_text(h)))
        .filter(|(a, b)| a != b)
        .collect();
    eprintln!(
        "html_to_text: {} of {} entry texts differ from html2text's output",
        differ.len(),
        html.len()
    );
    let show = std::env::var("SHOW_DIFF").map_or(0, |v| v.parse().unwrap_or(0));
    for (a, b) in differ.iter().take(show) {
        eprintln!("  html2text: {a:?}\n  tidings:   {b:?}");
    }
    let mut g = c.benchmark_group(format!("parse/{source}"));
    g.throughput(Throughput::Bytes(
        html.iter().map(String::len).sum::<usize>() as u64,
    ));
    g.bench_function(
        "html2text, as html_to_text was before (all entry texts)",
        |b| {
            b.iter(|| {
                for h in &html {
                    black_box(html_to_text_html2text(black_box(h)));
                }
            })
        },
    );
    g.bench_function("html_to_text (all entry texts)", |b| {
        b.iter(|| {
            for h in &html {
                black_box(tidings::parse::html_to_text(black_box(h)));
            }
        })
    });
    g.finish();

    let largest = docs.iter().max_by_key(|d| d.len()).unwrap();
    let mut g = c.benchmark_group(format!("parse/{source}"));
    g.throughput(Throughput::Bytes(largest.len() as u64));
    g.bench_function(
        format!(
            "tidings::parse (largest document, {} KB)",
            largest.len() / 1000
        ),
        |b| b.iter(|| black_box(tidings::parse::parse(black_box(largest), &base).ok())),
    );
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
