//! Topics that learn: [`Config::train`] once (shared by clones), the matcher, dropping the
//! examples after training, and joining the user's marks ([`Config::with_marks`]).

use std::sync::Arc;

use super::Config;
use crate::learn::{self, LearnSpec};
use crate::matcher::{LearnError, Matcher, MatcherError};

impl Config {
    /// Whether any enabled topic learns (has examples).
    pub fn learns(&self) -> bool {
        self.topics.iter().any(|t| t.enabled && t.learn.is_some())
    }

    /// Train every topic that learns, now (once: later calls and clones share the result).
    /// The daemon calls it off the runtime's workers, before it adopts a configuration; a
    /// failure is reported like a config error.
    pub fn train(&self) -> Result<Arc<Matcher>, LearnError> {
        self.train_with(&learn::NoCache)
    }

    /// [`Config::train`], reading models from `cache` where it has them and keeping there
    /// what it trains.
    pub fn train_with(&self, cache: &dyn learn::ModelCache) -> Result<Arc<Matcher>, LearnError> {
        if let Some(m) = self.learned.get() {
            return Ok(m.clone());
        }
        let m = match Matcher::learned_with(&self.topics, &self.aliases, cache) {
            Ok(m) => Arc::new(m),
            Err(MatcherError::Learn(e)) => return Err(e),
            // The queries compiled when the watch-list was read, so this does not happen.
            Err(MatcherError::Query(e)) => {
                return Err(LearnError {
                    topic_index: e.topic_index.unwrap_or_default(),
                    topic: e.topic.clone(),
                    message: e.to_string(),
                });
            }
        };
        Ok(self.learned.get_or_init(|| m).clone())
    }

    /// Lets go of the topics' examples once their models are trained (a reload reads the files
    /// again): the daemon keeps thousands of headlines out of its resident memory. Nothing
    /// happens before training.
    pub fn drop_examples(&mut self) {
        if self.learned.get().is_none() {
            return;
        }
        for t in &mut self.topics {
            if let Some(spec) = &t.learn {
                t.learn = Some(Arc::new(LearnSpec {
                    examples: Vec::new(),
                    threshold: spec.threshold,
                }));
            }
        }
    }

    /// The matcher: every enabled topic's query and, for topics that learn, their model.
    /// Trains on first use when [`Config::train`] has not run; if training fails (which
    /// `train` reports), the queries alone decide, and the failure is logged.
    pub fn matcher(&self) -> Arc<Matcher> {
        self.train().unwrap_or_else(|e| {
            tracing::error!(error = %e, "topics cannot learn; their queries alone decide");
            self.queries.clone()
        })
    }

    /// This configuration with the user's marks joined to their topics' examples (trained on
    /// first use, like any other).
    ///
    /// A mark for a topic that has no examples makes it learn from the marks alone once they
    /// hold both a right and a wrong one; until then the topic keeps to its query. A mark for a
    /// topic that is not in the watch-list is ignored. A mark replaces an example with the same
    /// text from the files (the user has the last word), unless that would leave the topic's
    /// examples without a positive or a negative: then that topic's marks are left out (logged).
    pub fn with_marks(&self, marks: &[crate::store::Mark]) -> Config {
        let mut topics = self.topics.clone();
        let mut changed = false;
        for t in &mut topics {
            let mine: Vec<learn::Example> = marks
                .iter()
                .filter(|m| m.topic == t.name)
                .map(|m| learn::Example {
                    title: m.title.clone(),
                    summary: m.summary.clone(),
                    label: m.label,
                    weight: 1.0,
                    origin: format!(
                        "{}{}",
                        learn::MARK_ORIGIN,
                        m.marked_at.format("%Y-%m-%d %H:%M")
                    ),
                })
                .collect();
            if mine.is_empty() {
                continue;
            }
            let mut spec = t.learn.as_deref().cloned().unwrap_or(LearnSpec {
                examples: Vec::new(),
                threshold: learn::DEFAULT_THRESHOLD,
            });
            spec.examples
                .retain(|e| !mine.iter().any(|m| m.same_text(e)));
            spec.examples.extend(mine);
            if let Some(why) = learn::unlearnable(&spec.examples) {
                if t.learn.is_some() {
                    tracing::warn!(topic = %t.name, "its marks are left out: {why}");
                }
                continue;
            }
            t.learn = Some(Arc::new(spec));
            changed = true;
        }
        if !changed {
            return self.clone();
        }
        Config {
            topics,
            learned: Arc::default(),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::config::{Config, parse};

    /// Marks join their topic's examples: a mark replaces the file's example with the same
    /// text; a topic without examples learns once its marks hold both labels; marks that would
    /// leave a topic's examples one-sided are left out; nothing is trained until it is used.
    #[test]
    fn marks_join_their_topics_examples() {
        let dir = tempfile::tempdir().unwrap();
        let wl = dir.path().join("watchlist.toml");
        std::fs::write(
            dir.path().join("ex.tsv"),
            "label\ttitle\n1\tFinland joins NATO\n0\tNATO jets land\n",
        )
        .unwrap();
        let text = "[[topic]]\nname = \"A\"\nquery = \"nato\"\nexamples = [\"ex.tsv\"]\n\
                    [[topic]]\nname = \"B\"\nquery = \"nato\"\n";
        let c = parse(text, &wl).unwrap();
        let mark = |topic: &str, label: bool, title: &str| crate::store::Mark {
            topic: topic.into(),
            label,
            title: title.into(),
            summary: String::new(),
            marked_at: chrono::DateTime::UNIX_EPOCH,
        };
        let counts = |c: &Config, i: usize| c.topics[i].learn.as_ref().map(|l| l.counts());

        let m = c.with_marks(&[mark("A", false, "Finland joins NATO"), mark("B", true, "x")]);
        assert_eq!(
            counts(&m, 0),
            Some((1, 1, 0)),
            "A's mark would leave it without a positive: left out"
        );
        assert_eq!(
            counts(&m, 1),
            None,
            "B has one label only: it keeps to its query"
        );

        let m = c.with_marks(&[
            mark("A", true, "Sweden joins NATO"),
            mark("B", true, "x"),
            mark("B", false, "y"),
            mark("C", true, "not a topic"),
        ]);
        assert_eq!(counts(&m, 0), Some((2, 1, 1)));
        assert_eq!(counts(&m, 1), Some((1, 1, 2)));
        assert!(m.learned.get().is_none(), "not trained before use");
        let matcher = m.train().unwrap();
        assert!(matcher.model(crate::model::TopicId(1)).is_some());
        assert!(
            Arc::ptr_eq(&matcher, &m.clone().matcher()),
            "trained once, shared by clones"
        );

        // Once trained, the examples can go; the models stay.
        let mut untrained = c.with_marks(&[mark("B", true, "x"), mark("B", false, "y")]);
        untrained.drop_examples();
        assert_eq!(
            counts(&untrained, 1),
            Some((1, 1, 2)),
            "not before training"
        );
        let mut dropped = m.clone();
        dropped.drop_examples();
        assert_eq!(counts(&dropped, 0), Some((0, 0, 0)));
        assert!(Arc::ptr_eq(&matcher, &dropped.matcher()), "the same models");
    }
}
