//! Topics that learn: what training and scoring cost, and how quality grows with the user's
//! marks. `cargo bench --bench learn` prints the learning curve and the model sizes, then runs
//! criterion on training (5,000 examples) and on matching with and without learned topics.
//! Figures and how to read them: BENCHMARKS.md, "Topics that learn".

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, criterion_group};

use tidings::config;
use tidings::learn::eval::{self, Counts};
use tidings::learn::{Example, LearnSpec, read_examples};
use tidings::matcher::Matcher;
use tidings::model::{Aliases, Topic, TopicId, Urgency};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shared_news(column: &str) -> Vec<(String, Example)> {
    let text = std::fs::read_to_string(root().join("config/examples/news-2022-23.tsv")).unwrap();
    let examples = read_examples(&text, column, "news-2022-23.tsv").unwrap();
    // The file is in date order; keep each item's date beside it.
    let dates: Vec<String> = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').nth(1).unwrap_or("").to_owned())
        .collect();
    dates.into_iter().zip(examples).collect()
}

fn topic(name: &str, query: &str, learn: Option<Vec<Example>>) -> Topic {
    Topic {
        name: name.into(),
        query: query.into(),
        urgency: Urgency::Normal,
        enabled: true,
        learn: learn.map(|examples| {
            Arc::new(LearnSpec {
                examples,
                threshold: tidings::learn::DEFAULT_THRESHOLD,
            })
        }),
    }
}

/// A topic that starts from a one-line query and learns from its user's marks on its alerts:
/// by date (the first 70 % of the stream marked as it comes, quality on the last 30 %) and at
/// random (a random 80 %, its alerts marked in random order, quality on the rest; 5 draws).
fn learning_curve() {
    let curves = [
        (
            "NATO membership",
            "nato_membership",
            // Broad on purpose: the narrow one-liner (NATO NEAR join/membership/...) raises only
            // 6-15 alerts in this sample, too few to learn from.
            "NATO OR neutral*",
        ),
        (
            "Putin–Zelensky talks",
            "putin_zelensky_talks",
            "(Russia OR Ukraine OR Putin OR Zelensky OR Kremlin OR Kyiv OR Moscow) AND (talks OR negotiat* OR peace OR ceasefire)",
        ),
    ];
    println!(
        "learning curve: marks of the first 70 % of the stream's alerts, F1 on the last 30 % (weighted)"
    );
    for (name, column, query) in curves {
        let mut items = shared_news(column);
        items.sort_by(|a, b| a.0.cmp(&b.0));
        let items: Vec<Example> = items.into_iter().map(|x| x.1).collect();
        let cut = items.len() * 7 / 10;
        let (stream, test) = items.split_at(cut);
        let curve = curve_of(name, query, stream, test);
        println!(
            "  {name}: {} alerts to mark; {}",
            curve.0,
            curve.1.join(" ")
        );
    }
    println!(
        "learning curve: marks drawn at random from the alerts of a random 80 % of the stream, F1 on the other 20 % (weighted; mean of 5 draws, min-max)"
    );
    for (name, column, query) in curves {
        let items: Vec<Example> = shared_news(column).into_iter().map(|x| x.1).collect();
        let mut per_n: Vec<(usize, Vec<f64>)> = Vec::new();
        let mut alerts = Vec::new();
        for seed in 0..5u64 {
            let mut shuffled = items.clone();
            shuffled.sort_by_key(|e| draw(seed, e));
            let cut = shuffled.len() * 8 / 10;
            let (stream, test) = shuffled.split_at(cut);
            let (n_alerts, figures) = curve_figures(name, query, stream, test);
            alerts.push(n_alerts);
            for (n, f1) in figures {
                match per_n.iter_mut().find(|p| p.0 == n) {
                    Some(p) => p.1.push(f1),
                    None => per_n.push((n, vec![f1])),
                }
            }
        }
        let line: Vec<String> = per_n
            .iter()
            .filter(|(_, fs)| fs.len() == 5)
            .map(|(n, fs)| {
                let mean = fs.iter().sum::<f64>() / fs.len() as f64;
                let lo = fs.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = fs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                format!("{n}: {mean:.3} ({lo:.2}-{hi:.2})")
            })
            .collect();
        println!("  {name}: {alerts:?} alerts to mark; {}", line.join(" "));
    }
}

/// A deterministic pseudo-random rank for `e` in draw `seed` (SipHash with fixed keys).
fn draw(seed: u64, e: &Example) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (seed, &e.title, &e.summary).hash(&mut h);
    h.finish()
}

/// [`curve_figures`] as printable `n: F1` pieces.
fn curve_of(name: &str, query: &str, stream: &[Example], test: &[Example]) -> (usize, Vec<String>) {
    let (n, figures) = curve_figures(name, query, stream, test);
    (
        n,
        figures
            .into_iter()
            .map(|(k, f1)| format!("{k}: {f1:.3}"))
            .collect(),
    )
}

/// The user marks the query's alerts in `stream` in their order: F1 on `test` after 0 (the
/// query alone), 25, 50, 100, 200 and 400 marks (as many as there are alerts).
fn curve_figures(
    name: &str,
    query: &str,
    stream: &[Example],
    test: &[Example],
) -> (usize, Vec<(usize, f64)>) {
    let aliases = Aliases::new();
    let plain = Matcher::new(&[topic(name, query, None)], &aliases).unwrap();
    let marks: Vec<Example> = stream
        .iter()
        .filter(|e| !plain.matches(&eval::article(e)).is_empty())
        .cloned()
        .collect();
    let mut figures = Vec::new();
    for n in [0usize, 25, 50, 100, 200, 400] {
        if n > marks.len() {
            break;
        }
        let seen = &marks[..n];
        let both = seen.iter().any(|e| e.label) && seen.iter().any(|e| !e.label);
        let t = topic(name, query, both.then(|| seen.to_vec()));
        let m = Matcher::learned(&[t], &aliases).unwrap();
        let mut r = eval::Report::default();
        let refs: Vec<&Example> = test.iter().collect();
        eval::score_into(&m, TopicId(0), &refs, &mut r);
        let c: &Counts = &r.counts;
        figures.push((n, c.f1()));
    }
    (marks.len(), figures)
}

fn shipped() -> config::Config {
    config::load(&root().join("config/watchlist.toml")).unwrap()
}

fn sizes() {
    let c = shipped();
    let matcher = c.matcher();
    for (i, t) in c.topics.iter().enumerate() {
        if let Some(m) = matcher.model(TopicId(i)) {
            let (features, bytes) = m.size();
            println!(
                "model size: {}: {features} features, about {} KB",
                t.name,
                bytes / 1024
            );
        }
    }
}

/// 5,000 examples: the talks topic's shipped examples, repeated with a marker word so they are
/// not identical.
fn five_thousand() -> (Vec<Topic>, Aliases) {
    let c = shipped();
    let i = c
        .topics
        .iter()
        .position(|t| t.name == "Putin–Zelensky talks")
        .unwrap();
    let base = c.topics[i].learn.as_ref().unwrap().examples.clone();
    let mut ex = Vec::with_capacity(5000);
    let mut k = 0;
    while ex.len() < 5000 {
        for e in &base {
            if ex.len() == 5000 {
                break;
            }
            let mut e = e.clone();
            e.title = format!("{} v{k}", e.title);
            ex.push(e);
        }
        k += 1;
    }
    let mut t = c.topics[i].clone();
    t.learn = Some(Arc::new(LearnSpec {
        examples: ex,
        threshold: 0.5,
    }));
    (vec![t], c.aliases.clone())
}

fn bench(c: &mut Criterion) {
    let (topics, aliases) = five_thousand();
    let mut g = c.benchmark_group("learn");
    g.sample_size(10);
    g.bench_function("train 5000 examples", |b| {
        b.iter(|| Matcher::learned(black_box(&topics), &aliases).unwrap())
    });
    // Matching the 1,569 real items with the shipped topics, learned and query-only.
    let cfg = shipped();
    let articles: Vec<_> = shared_news("nato_membership")
        .into_iter()
        .map(|(_, e)| eval::article(&e))
        .collect();
    let plain: Vec<Topic> = cfg
        .topics
        .iter()
        .map(|t| Topic {
            learn: None,
            ..t.clone()
        })
        .collect();
    let query_only = Matcher::new(&plain, &cfg.aliases).unwrap();
    g.sample_size(20);
    g.bench_function("match 1569 items, query only", |b| {
        b.iter(|| {
            articles
                .iter()
                .map(|a| query_only.matches(a).len())
                .sum::<usize>()
        })
    });
    let learned = cfg.matcher();
    g.bench_function("match 1569 items, learned", |b| {
        b.iter(|| {
            articles
                .iter()
                .map(|a| learned.matches(a).len())
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    learning_curve();
    sizes();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
