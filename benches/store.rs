//! Storing: articles per second through `Store::begin_poll` / `insert_new` / `finish` into a
//! temp-dir SQLite database, one transaction per feed poll of 40 articles — new articles, and
//! the same articles again (already seen: what a warm 200 pass costs the store). Also
//! `record_alerts` with a busy 48 h window (story grouping compares with earlier alerts).
//!
//! `cargo bench --bench store -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use tidings::model::{Article, ArticleKey, Field, Hit, Match, Snippet, TopicId};
use tidings::store::{NewAlert, PollRecord, Store};

const PER_POLL: usize = 40;

fn article(feed: usize, seq: usize) -> Article {
    Article {
        key: ArticleKey(format!("guid:news{feed}.example-{seq}")),
        guid: Some(format!("news{feed}.example-{seq}")),
        link: Some(format!(
            "https://www.news{feed}.example/world/2026/officials-announce-new-measures-{seq}?utm_source=rss"
        )),
        title: format!("Officials announce new measures to curb inflation amid growing concern ({seq})"),
        summary: "The government announced new measures to curb inflation on Tuesday. Investors welcomed \
                  higher interest rates in a statement. Union representatives criticised cuts to the \
                  education budget across the region."
            .into(),
        content: "<p>Long body text is not stored.</p>".repeat(40),
        authors: vec!["Staff and agencies".into()],
        categories: vec!["World".into(), "Europe".into()],
        published: Some(Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap()),
        updated: None,
        source: "News".into(),
    }
}

fn record() -> PollRecord {
    PollRecord {
        status: Some(200),
        validators: Some((Some("\"v1\"".into()), None)),
        new_articles: PER_POLL as u32,
        ..Default::default()
    }
}

fn bench(c: &mut Criterion) {
    let now = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("bench.db")).unwrap();
    let feed = store
        .sync_feed("https://news1.example/rss", Some("News"), now)
        .unwrap()
        .id;

    let mut g = c.benchmark_group("store");
    g.throughput(Throughput::Elements(PER_POLL as u64));
    let mut seq = 0;
    g.bench_function("insert_new: 40 new articles per poll transaction", |b| {
        b.iter_batched(
            || {
                (0..PER_POLL)
                    .map(|_| {
                        seq += 1;
                        article(1, seq)
                    })
                    .collect::<Vec<_>>()
            },
            |articles| {
                let mut tx = store.begin_poll(feed).unwrap();
                let new = tx.insert_new(articles, now).unwrap();
                assert_eq!(new.len(), PER_POLL);
                tx.finish(&record(), now).unwrap();
            },
            BatchSize::SmallInput,
        )
    });
    let seen: Vec<Article> = (1..=PER_POLL).map(|s| article(1, s)).collect();
    g.bench_function(
        "insert_new: 40 already-seen articles per poll transaction",
        |b| {
            b.iter_batched(
                || seen.clone(),
                |articles| {
                    let mut tx = store.begin_poll(feed).unwrap();
                    let new = tx.insert_new(articles, now).unwrap();
                    assert!(new.is_empty());
                    tx.finish(&record(), now).unwrap();
                },
                BatchSize::SmallInput,
            )
        },
    );
    g.finish();

    // Alerts: one poll's 4 alerts when the topic already has `window` alerts in the last 48 h
    // (a cold pass over many feeds produces thousands).
    let mut g = c.benchmark_group("store/record_alerts");
    for window in [0usize, 1_000, 10_000] {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("alerts.db")).unwrap();
        let feed = store
            .sync_feed("https://news2.example/rss", Some("News"), now)
            .unwrap()
            .id;
        let m = |title: &str| Match {
            learned: None,
            topic: TopicId(0),
            hits: vec![Hit {
                term: "nato".into(),
                text: "NATO".into(),
                field: Field::Title,
                start: 0,
                end: 4,
            }],
            snippet: Snippet {
                field: Some(Field::Title),
                text: title.into(),
                marks: vec![(0, 4)],
            },
        };
        let mut seq = 0;
        let mut add = |store: &mut Store, n: usize| {
            let articles: Vec<Article> = (0..n)
                .map(|_| {
                    seq += 1;
                    let mut a = article(2, seq);
                    a.title = format!("NATO story number {seq} with distinct words w{seq}");
                    a
                })
                .collect();
            let mut tx = store.begin_poll(feed).unwrap();
            let new = tx.insert_new(articles, now).unwrap();
            let ms: Vec<Match> = new.iter().map(|a| m(&a.article.title)).collect();
            let alerts: Vec<NewAlert<'_>> = new
                .iter()
                .zip(&ms)
                .map(|(a, m)| NewAlert {
                    article_id: a.id,
                    topic: "NATO membership",
                    matched: m,
                    notify: false,
                })
                .collect();
            black_box(tx.record_alerts(&alerts, now).unwrap());
            tx.finish(&record(), now).unwrap();
        };
        for _ in 0..window / 100 {
            add(&mut store, 100);
        }
        g.throughput(Throughput::Elements(4));
        g.bench_function(
            format!("4 new alerts, {window} alerts of the topic in the window"),
            |b| b.iter(|| add(&mut store, 4)),
        );
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
