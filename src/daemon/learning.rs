//! Topics learn from the user's marks: join them to the examples, train (or read the cache),
//! log what each topic learns from.

use tracing::{info, warn};

use crate::config::Config;
use crate::learn::ModelCache;
use crate::matcher::LearnError;
use crate::store::{Mark, Store};

/// The user's marks in `store`, to join to the topics' examples. Marks that cannot be read
/// are logged and left out: the topics still learn from their example files.
pub fn read_marks(store: &Store) -> Vec<Mark> {
    store.marks().unwrap_or_else(|e| {
        warn!(error = %e, "cannot read the marks; topics learn from their example files only");
        Vec::new()
    })
}

/// `config` with `marks` joined to its topics' examples ([`Config::with_marks`]), trained
/// (models for unchanged examples come from `cache`); logs, once, what each topic that learns
/// learns from; then lets go of the examples ([`Config::drop_examples`]). Trains models (a
/// fraction of a second for thousands of examples): call it off the runtime's workers. A
/// topic that cannot learn is an error, like a config error: the caller keeps the running
/// configuration.
pub fn learn_from_marks(
    config: Config,
    marks: &[Mark],
    cache: &dyn ModelCache,
) -> Result<Config, LearnError> {
    let mut config = config.with_marks(marks);
    config.train_with(cache)?;
    log_learning(&config);
    config.drop_examples();
    Ok(config)
}

/// Logs, once per load, what each topic that learns learns from ([`learning_lines`]).
pub fn log_learning(config: &Config) {
    for line in learning_lines(config) {
        info!("{line}");
    }
}

/// `topic "NAME" learns from N examples (R right, W wrong), M of them marks; model trained` (or
/// `read from the cache`), for each enabled topic that learns. Call it on a trained `config`.
pub fn learning_lines(config: &Config) -> Vec<String> {
    let matcher = config.matcher();
    config
        .topics
        .iter()
        .enumerate()
        .filter(|(_, t)| t.enabled)
        .filter_map(|(i, t)| {
            let (right, wrong, marks) = t.learn.as_ref()?.counts();
            let how = if matcher.model_from_cache(crate::model::TopicId(i)) {
                "read from the cache"
            } else {
                "trained"
            };
            Some(format!(
                "topic {:?} learns from {} examples ({right} right, {wrong} wrong), {marks} of them marks; model {how}",
                t.name,
                right.saturating_add(wrong)
            ))
        })
        .collect()
}
