//! Topics that learn: a classifier per topic, trained on labelled examples (PURE: no I/O).
//!
//! A topic with examples gets a [`TopicModel`]: logistic regression over the article's words,
//! word pairs and the query's hits (see [`features`]), weighted by TF-IDF, trained with
//! [`solver::fit`]. The matcher asks it about the articles the query matched: the query proposes,
//! the model decides (the measurements behind that choice are in ARCHITECTURE.md).

mod cache;
pub mod eval;
pub mod examples;
mod features;
mod solver;

use std::collections::BTreeMap;

use crate::model::Learned;

pub use cache::{ModelCache, NoCache, model_key};
pub use examples::{Example, ExampleError, read_examples};
pub use features::{feature_keys, features};

/// Inverse regularisation strength of the solver (scikit-learn's `C`), chosen by
/// cross-validation on the shipped examples (ARCHITECTURE.md).
pub const DEFAULT_C: f64 = 10.0;
/// The score an article needs unless the topic sets `threshold`.
pub const DEFAULT_THRESHOLD: f64 = 0.5;
/// A feature must occur in this many training examples to be kept (rarer ones are noise and
/// cost memory). Query features (`q`, `q:…`) are always kept.
const MIN_DF: u32 = 2;
/// How many features an explanation lists.
pub const EXPLAIN_TOP: usize = 5;

/// How a topic learns: its examples and the score an article needs.
#[derive(Debug, Clone, PartialEq)]
pub struct LearnSpec {
    pub examples: Vec<Example>,
    /// An article whose score (0–1) reaches this is an alert.
    pub threshold: f64,
}

impl Eq for LearnSpec {}

/// How an example that came from a user's mark names its origin: `mark of 2026-12-05 10:31`.
pub const MARK_ORIGIN: &str = "mark of ";

/// Why `examples` cannot train a model, if they cannot: a topic learns from both classes.
pub fn unlearnable(examples: &[Example]) -> Option<String> {
    let pos = examples.iter().filter(|e| e.label).count();
    let neg = examples.len() - pos;
    (pos == 0 || neg == 0).then(|| {
        format!(
            "the examples hold {pos} positive and {neg} negative items: a topic learns from both"
        )
    })
}

impl LearnSpec {
    /// `(right, wrong, marks)`: positive and negative examples, and how many came from marks.
    pub fn counts(&self) -> (usize, usize, usize) {
        let right = self.examples.iter().filter(|e| e.label).count();
        let marks = self
            .examples
            .iter()
            .filter(|e| e.origin.starts_with(MARK_ORIGIN))
            .count();
        (right, self.examples.len() - right, marks)
    }
}

/// One topic's trained classifier (serialised by a [`ModelCache`]).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TopicModel {
    /// Feature keys ([`features::key`] of the names), sorted; the names, IDFs and learned
    /// weights are in the same order.
    keys: Vec<u64>,
    /// Every feature's name, one after another (for explanations): name `i` ends at `ends[i]`
    /// and starts where name `i - 1` ends. One string, not thousands of small allocations.
    names: String,
    ends: Vec<u32>,
    idf: Vec<f32>,
    weights: Vec<f32>,
    bias: f64,
    threshold: f64,
}

impl TopicModel {
    /// Train on `examples`; `hits[i]` are the query terms that fired on example `i` (`None`
    /// when the query did not match it). Errors when the examples hold no positive or no
    /// negative.
    pub fn train(
        examples: &[Example],
        hits: &[Option<Vec<&str>>],
        threshold: f64,
        c: f64,
    ) -> Result<TopicModel, String> {
        if let Some(why) = unlearnable(examples) {
            return Err(why);
        }
        let feats: Vec<Vec<String>> = examples
            .iter()
            .zip(hits)
            .map(|(e, h)| features(&e.title, &e.summary, "", h.as_deref()))
            .collect();
        let mut df: BTreeMap<&str, u32> = BTreeMap::new();
        for f in &feats {
            for name in f {
                *df.entry(name.as_str()).or_default() += 1;
            }
        }
        let n = examples.len() as f64;
        let mut vocab: Vec<(u64, &str, f32)> = df
            .iter()
            .filter(|(name, d)| **d >= MIN_DF || name.starts_with('q'))
            .map(|(name, &d)| {
                let idf = ((1.0 + n) / (1.0 + d as f64)).ln() as f32 + 1.0;
                (features::key(name), *name, idf)
            })
            .collect();
        vocab.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
        // Two names with one key (never seen in practice): the first in name order stays.
        vocab.dedup_by_key(|v| v.0);
        let mut names = String::with_capacity(vocab.iter().map(|v| v.1.len()).sum());
        let mut ends = Vec::with_capacity(vocab.len());
        for v in &vocab {
            names.push_str(v.1);
            ends.push(u32::try_from(names.len()).map_err(|_| "too many features")?);
        }
        let mut model = TopicModel {
            weights: vec![0.0; vocab.len()],
            keys: vocab.iter().map(|v| v.0).collect(),
            names,
            ends,
            idf: vocab.iter().map(|v| v.2).collect(),
            bias: 0.0,
            threshold,
        };
        // Classes balanced by weight, each example also counting its own weight.
        let wpos: f64 = examples.iter().filter(|e| e.label).map(|e| e.weight).sum();
        let wneg: f64 = examples.iter().filter(|e| !e.label).map(|e| e.weight).sum();
        let total = wpos + wneg;
        let rows: Vec<solver::Row> = examples
            .iter()
            .zip(&feats)
            .map(|(e, f)| solver::Row {
                x: model.vector(&f.iter().map(|n| features::key(n)).collect::<Vec<_>>()),
                y: e.label,
                s: e.weight * total / (2.0 * if e.label { wpos } else { wneg }),
            })
            .collect();
        let fit = solver::fit(&rows, model.keys.len(), c)?;
        model.weights = fit.w.iter().map(|&w| w as f32).collect();
        model.bias = fit.b;
        Ok(model)
    }

    /// The sparse TF-IDF vector (L2-normalised) of an article's feature keys.
    fn vector(&self, keys: &[u64]) -> Vec<(u32, f64)> {
        let mut x: Vec<(u32, f64)> = keys
            .iter()
            .filter_map(|k| {
                let i = self.keys.binary_search(k).ok()?;
                Some((i as u32, self.idf[i] as f64))
            })
            .collect();
        x.sort_unstable_by_key(|p| p.0);
        x.dedup_by_key(|p| p.0);
        let norm = x.iter().map(|(_, v)| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            for (_, v) in &mut x {
                *v /= norm;
            }
        }
        x
    }

    /// Score an article from its feature keys (see [`feature_keys`]).
    pub fn judge(&self, keys: &[u64]) -> Learned {
        let x = self.vector(keys);
        let mut z = self.bias;
        let mut parts: Vec<(usize, f64)> = Vec::with_capacity(x.len());
        for &(i, v) in &x {
            let c = self.weights[i as usize] as f64 * v;
            z += c;
            parts.push((i as usize, c));
        }
        parts.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let reasons = parts
            .iter()
            .filter(|p| p.1 > 0.0)
            .take(EXPLAIN_TOP)
            .map(|&(i, c)| (self.name(i).to_owned(), c))
            .collect();
        Learned {
            score: 1.0 / (1.0 + (-z).exp()),
            threshold: self.threshold,
            reasons,
        }
    }

    /// Feature `i`'s name (`w:nato`, `q:@side`, ...).
    fn name(&self, i: usize) -> &str {
        let start = i.checked_sub(1).map_or(0, |p| self.ends[p] as usize);
        &self.names[start..self.ends[i] as usize]
    }

    /// This model with the topic's threshold (which is not part of what was learned).
    pub fn with_threshold(mut self, threshold: f64) -> TopicModel {
        self.threshold = threshold;
        self
    }

    /// Whether a model read back from a cache is whole: its columns of one length, its keys
    /// sorted and distinct, its names cut at character boundaries, its numbers finite.
    pub fn is_consistent(&self) -> bool {
        let n = self.keys.len();
        self.ends.len() == n
            && self.ends.windows(2).all(|w| w[0] <= w[1])
            && self
                .ends
                .last()
                .map_or(self.names.is_empty(), |&e| e as usize == self.names.len())
            && self
                .ends
                .iter()
                .all(|&e| self.names.is_char_boundary(e as usize))
            && self.idf.len() == n
            && self.weights.len() == n
            && self.keys.windows(2).all(|w| w[0] < w[1])
            && self.bias.is_finite()
            && self.idf.iter().chain(&self.weights).all(|x| x.is_finite())
    }

    /// Features kept, and the heap the model holds (bytes).
    pub fn size(&self) -> (usize, usize) {
        let n = self.keys.len();
        (n, self.names.len() + n * (8 + 4 + 4 + 4))
    }
}
