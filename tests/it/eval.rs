//! `tidings eval`: a topic's figures on a labelled file (weighted), its misses with what the
//! query and the model said, cross-validation, and its usage and input errors — through the real
//! binary.

use crate::support::cli::Sandbox;
use crate::support::watchlist::WatchList;

/// The topic learns from 6 examples; `nato` alone proposes.
const EXAMPLES: &str = "label\ttitle\tsummary\n\
    1\tSweden applies to join NATO\tStockholm sends its membership application.\n\
    1\tUkraine asks to join NATO\tKyiv sends a membership application.\n\
    1\tGeorgia hopes to join NATO\tTbilisi wants membership.\n\
    0\tNATO summit dinner menu revealed\tChefs prepare the meal.\n\
    0\tNATO headquarters car park closes\tStaff take the bus.\n\
    0\tNATO staff football team loses\tThe headquarters team lost.\n";

/// A file of the shared kind: one column per topic, and weights. The weighted false positive
/// (weight 40) outweighs everything else.
const HELD: &str = "id\tweight\tnato_membership\ttitle\tsummary\n\
    a\t1\t1\tFinland applies to join NATO\tHelsinki sends its membership application.\n\
    b\t1\t1\tMoldova weighs NATO bid\tChisinau debates neutrality.\n\
    c\t40\t0\tNATO jets join air patrol\tThe membership of the patrol grows.\n\
    d\t1\t0\tRain in Brussels\tAll week.\n";

fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    std::fs::write(sb.path().join("examples.tsv"), EXAMPLES).unwrap();
    std::fs::write(sb.path().join("held.tsv"), HELD).unwrap();
    sb.write_config(
        &WatchList::empty()
            .topic_learning("NATO membership", "nato", &["examples.tsv"])
            .to_toml(),
    );
    sb
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eval_prints_weighted_figures_and_explained_misses() {
    let sb = sandbox();
    let held = sb.path().join("held.tsv");
    let held = held.to_str().unwrap();

    let out = sb.tidings(&["eval", held]).await;
    out.assert_code(0);
    let line = out.line_with("NATO membership: precision");
    assert!(line.contains("(weighted;"), "{}", out.dump());
    // The column is found by the topic's name; all four items are scored: the model (trained
    // on six examples, deterministic) keeps the heavy false positive out and misses Moldova.
    let counts = out.line_with("tp ");
    assert!(
        counts.contains("tp 1  fp 0  fn 1  tn 2  [as configured]"),
        "{}",
        out.dump()
    );
    let miss = out.line_with("Moldova weighs NATO bid");
    assert!(miss.contains("held.tsv:3] weight 1.0"), "{}", out.dump());
    assert!(
        out.stdout.contains("query: nato; model: score 0.28 < 0.50"),
        "a miss says what the query and the model said\n{}",
        out.dump()
    );
    assert!(!sb.db.exists(), "eval creates no database");

    let cv = sb.tidings(&["eval", held, "--cv", "2"]).await;
    cv.assert_code(0);
    assert!(
        cv.line_with("tp ").contains("[2-fold cross-validation]"),
        "{}",
        cv.dump()
    );
    let own = sb.tidings(&["eval", "--cv", "3"]).await;
    own.assert_code(0);
    let counts = own.line_with("tp ");
    assert!(
        counts.contains("[3-fold cross-validation]"),
        "{}",
        own.dump()
    );

    // The same file as training data: eval says the figures are optimistic.
    let examples = sb.path().join("examples.tsv");
    let seen = sb
        .tidings(&["eval", examples.to_str().unwrap(), "--column", "label"])
        .await;
    seen.assert_code(0);
    assert!(
        seen.stdout
            .contains("trained on 6 of these items: optimistic"),
        "{}",
        seen.dump()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eval_refuses_what_it_cannot_measure() {
    let sb = sandbox();
    // Neither a file nor --cv: a usage error.
    let out = sb.tidings(&["eval"]).await;
    out.assert_code(2);
    assert!(out.stderr.contains("--cv K"), "{}", out.dump());
    // A file without the topic's column, for that topic: the file's header is named.
    let bad = sb.path().join("bad.tsv");
    std::fs::write(&bad, "title\tsummary\nx\ty\n").unwrap();
    let out = sb
        .tidings(&["eval", bad.to_str().unwrap(), "--topic", "NATO membership"])
        .await;
    out.assert_code(1);
    assert!(
        out.stderr.contains("bad.tsv:1: no label column \"label\""),
        "{}",
        out.dump()
    );
    // A label that is not 0/1: its line.
    std::fs::write(&bad, "label\ttitle\n1\tx\nmaybe\ty\n").unwrap();
    let out = sb.tidings(&["eval", bad.to_str().unwrap()]).await;
    out.assert_code(1);
    assert!(
        out.stderr.contains("bad.tsv:3: label: expected 0 or 1"),
        "{}",
        out.dump()
    );
    // An unknown topic.
    let out = sb.tidings(&["eval", "--cv", "2", "--topic", "Nope"]).await;
    out.assert_code(2);
}
