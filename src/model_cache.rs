//! EDGE. Trained models kept on disk beside the database, in `models/`: one JSON file per
//! [`learn::model_key`] (the hash of the examples, query and aliases it was trained on), so a
//! start-up or reload with unchanged examples reads its models instead of training them.
//!
//! Best effort throughout: a file that is missing, unreadable or not a whole model is a miss
//! (the topic trains); a cache that cannot be written is logged at debug level. Files are
//! written to a temporary name and renamed, so a reader never sees half a model, and are
//! private (0600). After each save only the [`KEEP`] newest models stay.

use std::path::{Path, PathBuf};

use crate::learn::{self, TopicModel};

/// How many models the folder keeps (a few watch-lists' worth of topics, each retrained a few
/// times by marks).
pub const KEEP: usize = 16;

/// The `models/` folder beside a database.
#[derive(Debug, Clone)]
pub struct DirCache {
    dir: PathBuf,
    /// `false`: read models, never write (commands that only read, such as `eval`).
    writes: bool,
}

impl DirCache {
    /// The cache beside the database at `db`, read and written (the daemon, `poll`).
    pub fn beside(db: &Path) -> DirCache {
        DirCache {
            dir: db.parent().unwrap_or(Path::new(".")).join("models"),
            writes: true,
        }
    }

    /// The same folder, only read (`match`, `eval`: they create nothing).
    pub fn read_only(db: &Path) -> DirCache {
        DirCache {
            writes: false,
            ..DirCache::beside(db)
        }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    fn write(&self, key: &str, model: &TopicModel) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let json = serde_json::to_vec(model).map_err(std::io::Error::other)?;
        crate::atomic_write::replace(&self.path(key), &json, 0o600)?;
        self.prune()
    }

    /// Removes all but the [`KEEP`] newest model files.
    fn prune(&self) -> std::io::Result<()> {
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&self.dir)?
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        files.sort_by_key(|f| std::cmp::Reverse(f.0));
        for (_, old) in files.into_iter().skip(KEEP) {
            std::fs::remove_file(old)?;
        }
        Ok(())
    }
}

impl learn::ModelCache for DirCache {
    fn load(&self, key: &str) -> Option<TopicModel> {
        let bytes = std::fs::read(self.path(key)).ok()?;
        let model: TopicModel = serde_json::from_slice(&bytes)
            .map_err(|e| tracing::debug!(key, error = %e, "a cached model is unreadable"))
            .ok()?;
        model.is_consistent().then_some(model)
    }

    fn save(&self, key: &str, model: &TopicModel) {
        if !self.writes {
            return;
        }
        if let Err(e) = self.write(key, model) {
            tracing::debug!(dir = %self.dir.display(), error = %e, "cannot keep a trained model");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::learn::{Example, LearnSpec, ModelCache};
    use crate::matcher::Matcher;
    use crate::model::{Aliases, Article, Topic, TopicId, Urgency};

    fn topic() -> Topic {
        let ex = |t: &str, label| Example {
            title: t.into(),
            summary: String::new(),
            label,
            weight: 1.0,
            origin: "f".into(),
        };
        Topic {
            name: "T".into(),
            query: "nato".into(),
            urgency: Urgency::Normal,
            enabled: true,
            learn: Some(Arc::new(LearnSpec {
                examples: vec![
                    ex("Finland joins NATO", true),
                    ex("Sweden joins NATO", true),
                    ex("NATO jets land", false),
                    ex("NATO canteen closes", false),
                ],
                threshold: 0.5,
            })),
        }
    }

    fn score(m: &Matcher) -> u64 {
        let a = Article {
            title: "Norway joins NATO".into(),
            ..Article::default()
        };
        m.assess(&a)[0].verdict.as_ref().unwrap().score.to_bits()
    }

    #[test]
    fn a_model_is_trained_once_then_read_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DirCache::beside(&dir.path().join("tidings.db"));
        let topics = [topic()];
        let aliases = Aliases::new();
        let first = Matcher::learned_with(&topics, &aliases, &cache).unwrap();
        assert!(!first.model_from_cache(TopicId(0)));
        let files: Vec<_> = std::fs::read_dir(dir.path().join("models"))
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        assert_eq!(files.len(), 1, "one model, no temporary file left");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = files[0].metadata().unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let second = Matcher::learned_with(&topics, &aliases, &cache).unwrap();
        assert!(second.model_from_cache(TopicId(0)));
        assert_eq!(score(&first), score(&second), "bit for bit");

        // A changed threshold reuses the model; a changed example does not.
        let mut t = topic();
        let mut spec = (**t.learn.as_ref().unwrap()).clone();
        spec.threshold = 0.9;
        t.learn = Some(Arc::new(spec.clone()));
        let m = Matcher::learned_with(&[t.clone()], &aliases, &cache).unwrap();
        assert!(m.model_from_cache(TopicId(0)));
        assert_eq!(m.model(TopicId(0)).map(|m| m.is_consistent()), Some(true));
        spec.examples[0].label = false;
        spec.examples[2].label = true;
        t.learn = Some(Arc::new(spec));
        let m = Matcher::learned_with(&[t], &aliases, &cache).unwrap();
        assert!(!m.model_from_cache(TopicId(0)));
    }

    #[test]
    fn damaged_files_are_misses_and_a_read_only_cache_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("tidings.db");
        let topics = [topic()];
        let aliases = Aliases::new();
        let read_only = DirCache::read_only(&db);
        Matcher::learned_with(&topics, &aliases, &read_only).unwrap();
        assert!(!dir.path().join("models").exists(), "nothing created");

        let cache = DirCache::beside(&db);
        Matcher::learned_with(&topics, &aliases, &cache).unwrap();
        let file = std::fs::read_dir(dir.path().join("models"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let key = file.file_stem().unwrap().to_str().unwrap().to_owned();
        assert!(read_only.load(&key).is_some(), "a read-only cache reads");
        for damage in ["", "{", "{\"keys\":[2,1]}", "null"] {
            std::fs::write(&file, damage).unwrap();
            assert!(cache.load(&key).is_none(), "{damage:?}");
        }
        // A model whose columns disagree is not whole.
        let good = Matcher::learned(&topics, &aliases).unwrap();
        let mut json: serde_json::Value =
            serde_json::to_value(good.model(TopicId(0)).unwrap()).unwrap();
        let whole = json.clone();
        json["weights"].as_array_mut().unwrap().pop();
        std::fs::write(&file, json.to_string()).unwrap();
        assert!(cache.load(&key).is_none());
        // So is one whose name ends run past their text or out of order.
        for end in [1_000_000, 1] {
            let mut cut = whole.clone();
            cut["names"] = "é".repeat(1000).into();
            let ends = cut["ends"].as_array_mut().unwrap();
            let last = ends.len() - 1;
            ends[last] = end.into();
            std::fs::write(&file, cut.to_string()).unwrap();
            assert!(cache.load(&key).is_none(), "{end}");
        }
        let m = Matcher::learned_with(&topics, &aliases, &cache).unwrap();
        assert!(!m.model_from_cache(TopicId(0)), "trained again");
        assert!(cache.load(&key).is_some(), "and kept again");
    }

    #[test]
    fn only_the_newest_models_stay() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DirCache::beside(&dir.path().join("tidings.db"));
        let model = Matcher::learned(&[topic()], &Aliases::new())
            .unwrap()
            .model(TopicId(0))
            .unwrap()
            .clone();
        for i in 0..KEEP + 3 {
            cache.save(&format!("{i:064x}"), &model);
        }
        let n = std::fs::read_dir(dir.path().join("models"))
            .unwrap()
            .count();
        assert_eq!(n, KEEP);
    }
}
