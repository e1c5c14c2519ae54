//! Trained models kept between runs: training the shipped topics costs about 0.4 s of CPU and
//! 16 MB at its peak, more than a whole cold poll, so a model is trained once per set of
//! examples and read back after that. This module only names a model (PURE); where models are
//! kept is the caller's ([`crate::model_cache`] keeps them beside the database).

use sha2::{Digest, Sha256};

use crate::model::Aliases;

use super::{Example, TopicModel};

/// Bump when the features, the solver or the model's layout change: older cached models are
/// then never read again.
const MODEL_FORMAT: u32 = 2;

/// Where trained models are kept, by [`model_key`].
pub trait ModelCache {
    /// The model stored under `key`, if there is a whole one.
    fn load(&self, key: &str) -> Option<TopicModel>;
    /// Keep `model` under `key` (best effort: a cache that cannot write just trains again).
    fn save(&self, key: &str, model: &TopicModel);
}

/// No cache: every model is trained.
pub struct NoCache;

impl ModelCache for NoCache {
    fn load(&self, _key: &str) -> Option<TopicModel> {
        None
    }

    fn save(&self, _key: &str, _model: &TopicModel) {}
}

/// The name of the model that training on `examples` for a topic with `query` (and the
/// watch-list's `aliases`, which the query's terms use) gives: a SHA-256 over everything the
/// model depends on — the examples' text, labels and weights in order, the query, the aliases,
/// the solver's settings, this build's version — but not the topic's threshold, which is
/// applied when scoring.
pub fn model_key(examples: &[Example], query: &str, aliases: &Aliases, c: f64) -> String {
    let mut h = Sha256::new();
    h.update(format!(
        "tidings model {MODEL_FORMAT} {} C={c}\n",
        env!("CARGO_PKG_VERSION")
    ));
    h.update(query.as_bytes());
    h.update(b"\n");
    for (name, spellings) in aliases {
        h.update(name.as_bytes());
        for s in spellings {
            h.update(b"\t");
            h.update(s.as_bytes());
        }
        h.update(b"\n");
    }
    for e in examples {
        h.update([u8::from(e.label)]);
        h.update(e.weight.to_bits().to_le_bytes());
        h.update(e.title.as_bytes());
        h.update(b"\t");
        h.update(e.summary.as_bytes());
        h.update(b"\n");
    }
    let digest = h.finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(title: &str, label: bool) -> Example {
        Example {
            title: title.into(),
            summary: "s".into(),
            label,
            weight: 1.0,
            origin: "f:2".into(),
        }
    }

    #[test]
    fn the_key_follows_what_the_model_depends_on() {
        let examples = vec![ex("Finland joins NATO", true), ex("NATO jets land", false)];
        let aliases = Aliases::new();
        let key = |e: &[Example], q: &str, a: &Aliases| model_key(e, q, a, 10.0);
        let base = key(&examples, "nato", &aliases);
        assert_eq!(base.len(), 64);
        assert_eq!(base, key(&examples, "nato", &aliases), "stable");
        let mut origin = examples.clone();
        origin[0].origin = "mark of today".into();
        assert_eq!(
            base,
            key(&origin, "nato", &aliases),
            "not where it came from"
        );

        let mut relabelled = examples.clone();
        relabelled[1].label = true;
        let mut reweighted = examples.clone();
        reweighted[1].weight = 2.0;
        let mut aliased = Aliases::new();
        aliased.insert("n".into(), vec!["NATO".into()]);
        for other in [
            key(&relabelled, "nato", &aliases),
            key(&reweighted, "nato", &aliases),
            key(&examples[..1], "nato", &aliases),
            key(&examples, "nato OR otan", &aliases),
            key(&examples, "nato", &aliased),
            model_key(&examples, "nato", &aliases, 3.0),
        ] {
            assert_ne!(base, other);
        }
    }
}
