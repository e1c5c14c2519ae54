//! Measuring a topic on labelled examples: precision, recall and F1 (weighted by each
//! example's `weight`), and K-fold cross-validation (PURE).

use std::sync::Arc;

use crate::matcher::{Assessment, Matcher, MatcherError};
use crate::model::{Aliases, Article, Topic, TopicId};

use super::{Example, LearnSpec};

/// Counts of one topic on one set of examples, weighted and as plain counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    pub tp: f64,
    pub fp: f64,
    pub fn_: f64,
    pub tn: f64,
    /// Unweighted `[tp, fp, fn, tn]`.
    pub n: [usize; 4],
}

impl Counts {
    pub fn add(&mut self, label: bool, predicted: bool, weight: f64) {
        let k = match (label, predicted) {
            (true, true) => {
                self.tp += weight;
                0
            }
            (false, true) => {
                self.fp += weight;
                1
            }
            (true, false) => {
                self.fn_ += weight;
                2
            }
            (false, false) => {
                self.tn += weight;
                3
            }
        };
        self.n[k] += 1;
    }

    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    pub fn f1(&self) -> f64 {
        ratio(2.0 * self.tp, 2.0 * self.tp + self.fp + self.fn_)
    }

    /// F1 with every example counted once.
    pub fn f1_unweighted(&self) -> f64 {
        let [tp, fp, fn_, _] = self.n.map(|x| x as f64);
        ratio(2.0 * tp, 2.0 * tp + fp + fn_)
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// One example the topic got wrong, with what the query and the model said.
#[derive(Debug, Clone)]
pub struct Miss {
    pub example: Example,
    pub assessment: Assessment,
}

/// A topic's figures on a set of examples.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub counts: Counts,
    /// False positives then false negatives, heaviest first.
    pub misses: Vec<Miss>,
}

/// The article an example stands for (title and summary; nothing else).
pub fn article(e: &Example) -> Article {
    Article {
        title: e.title.clone(),
        summary: e.summary.clone(),
        ..Article::default()
    }
}

/// Score `examples` with `matcher`'s topic `topic`, adding to `report`.
pub fn score_into(matcher: &Matcher, topic: TopicId, examples: &[&Example], report: &mut Report) {
    for e in examples {
        let Some(a) = matcher
            .assess(&article(e))
            .into_iter()
            .find(|a| a.topic == topic)
        else {
            continue;
        };
        let predicted = a.alerts();
        report.counts.add(e.label, predicted, e.weight);
        if predicted != e.label {
            report.misses.push(Miss {
                example: (*e).clone(),
                assessment: a,
            });
        }
    }
    report.misses.sort_by(|a, b| {
        a.example
            .label
            .cmp(&b.example.label)
            .then(b.example.weight.total_cmp(&a.example.weight))
    });
}

/// The fold (of `k`) of each example: stratified — each label's examples are dealt round the
/// folds in the order of a hash of their text — so every fold holds its share of positives and
/// negatives even in a small set; identical items share a fold (never straddle training and
/// test); the same on every run and in any order.
pub fn folds(examples: &[Example], k: usize) -> Vec<usize> {
    let k = k.max(1);
    let mut out = vec![0; examples.len()];
    for label in [true, false] {
        let mut order: Vec<(u64, usize)> = examples
            .iter()
            .enumerate()
            .filter(|(_, e)| e.label == label)
            .map(|(i, e)| (super::features::key_of(&[&e.title, "\0", &e.summary]), i))
            .collect();
        order.sort_unstable();
        let mut fold = 0;
        let mut previous = None;
        for (hash, i) in order {
            if previous.is_some_and(|p| p != hash) {
                fold = (fold + 1) % k;
            }
            previous = Some(hash);
            out[i] = fold;
        }
    }
    out
}

/// K-fold cross-validation of topic `index` of `topics`.
///
/// With `held` empty, the topic's own examples are split into `k` folds; each fold is scored by
/// a model trained on the others. With `held` given (an evaluation file), `held` is split
/// instead: each fold is scored by a model trained on the topic's own examples (less any with
/// the same text as an item of `held`) plus the other folds of `held`.
pub fn cross_validate(
    topics: &[Topic],
    aliases: &Aliases,
    index: usize,
    held: &[Example],
    k: usize,
) -> Result<Report, MatcherError> {
    let own: Vec<Example> = topics[index]
        .learn
        .as_ref()
        .map(|s| s.examples.clone())
        .unwrap_or_default();
    let threshold = topics[index]
        .learn
        .as_ref()
        .map_or(super::DEFAULT_THRESHOLD, |s| s.threshold);
    let (base, pool): (Vec<Example>, Vec<Example>) = if held.is_empty() {
        (Vec::new(), own)
    } else {
        let same = |a: &Example| held.iter().any(|h| h.same_text(a));
        (
            own.into_iter().filter(|e| !same(e)).collect(),
            held.to_vec(),
        )
    };
    let fold = folds(&pool, k);
    let mut report = Report::default();
    for f in 0..k {
        let mut train = base.clone();
        let mut test: Vec<&Example> = Vec::new();
        for (e, &g) in pool.iter().zip(&fold) {
            if g == f {
                test.push(e);
            } else {
                train.push(e.clone());
            }
        }
        let mut ts = topics.to_vec();
        ts[index].learn = Some(Arc::new(LearnSpec {
            examples: train,
            threshold,
        }));
        // Only the topic under test is compiled and trained.
        for (i, t) in ts.iter_mut().enumerate() {
            t.enabled = i == index;
        }
        let matcher = Matcher::learned(&ts, aliases)?;
        score_into(&matcher, TopicId(index), &test, &mut report);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_figures() {
        let mut c = Counts::default();
        c.add(true, true, 1.0);
        c.add(true, false, 1.0);
        c.add(false, true, 2.0);
        c.add(false, false, 50.0);
        assert!((c.precision() - 1.0 / 3.0).abs() < 1e-12);
        assert!((c.recall() - 0.5).abs() < 1e-12);
        assert!((c.f1() - 2.0 / 5.0).abs() < 1e-12);
        assert!((c.f1_unweighted() - 0.5).abs() < 1e-12);
        assert_eq!(c.n, [1, 1, 1, 1]);
    }

    #[test]
    fn folds_are_stratified_stable_and_keep_duplicates_together() {
        let e = |t: &str, label: bool| Example {
            title: t.into(),
            summary: String::new(),
            label,
            weight: 1.0,
            origin: String::new(),
        };
        let mut xs: Vec<Example> = (0..500)
            .map(|i| e(&format!("headline {i}"), i % 10 == 0))
            .collect();
        xs.push(e("headline 7", false));
        let f = folds(&xs, 5);
        for fold in 0..5 {
            let pos = xs
                .iter()
                .zip(&f)
                .filter(|(x, g)| x.label && **g == fold)
                .count();
            let all = f.iter().filter(|g| **g == fold).count();
            assert_eq!(
                pos, 10,
                "fold {fold}: each gets a fifth of the 50 positives"
            );
            assert!((90..=112).contains(&all), "fold {fold}: {all}");
        }
        assert_eq!(f[7], f[500], "duplicates share a fold");
        let mut reversed = xs.clone();
        reversed.reverse();
        let mut g = folds(&reversed, 5);
        g.reverse();
        assert_eq!(f, g, "the order of the examples does not matter");
    }
}
