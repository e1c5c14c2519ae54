//! `[[topic]]` entries and `[aliases]`: names (no topic twice), example files read and checked,
//! query errors placed at the topic's `query` (or the alias).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use toml::Spanned;

use super::ConfigError;
use super::error::Ctx;
use super::raw::{RawConfig, RawExamples, RawTopic};
use crate::learn::{self, LearnSpec};
use crate::matcher::QueryError;
use crate::model::{Aliases, Topic};

/// `[aliases]`: every alias with at least one spelling, none empty.
pub(super) fn validate_aliases(
    ctx: &Ctx<'_>,
    raw: &BTreeMap<String, Spanned<Vec<Spanned<String>>>>,
) -> Result<Aliases, ConfigError> {
    let mut aliases = Aliases::new();
    for (name, spellings) in raw {
        let key = format!("aliases.{name}");
        if spellings.get_ref().is_empty() {
            return Err(ctx.at(
                spellings.span(),
                key,
                "an alias needs at least one spelling",
            ));
        }
        if let Some((i, s)) = spellings
            .get_ref()
            .iter()
            .enumerate()
            .find(|(_, s)| s.get_ref().trim().is_empty())
        {
            return Err(ctx.at(s.span(), format!("{key}[{}]", i + 1), "empty spelling"));
        }
        aliases.insert(
            name.clone(),
            spellings
                .get_ref()
                .iter()
                .map(|s| s.get_ref().clone())
                .collect(),
        );
    }
    Ok(aliases)
}

/// The topics, in the file's order, with their examples read.
pub(super) fn validate(
    ctx: &Ctx<'_>,
    path: &Path,
    raw: &[RawTopic],
) -> Result<Vec<Topic>, ConfigError> {
    let mut topics = Vec::with_capacity(raw.len());
    let mut seen_names = HashSet::new();
    for (i, t) in raw.iter().enumerate() {
        let name = t.name.get_ref().trim().to_string();
        if name.is_empty() {
            return Err(ctx.at(
                t.name.span(),
                format!("topic[{}].name", i + 1),
                "empty topic name",
            ));
        }
        if !seen_names.insert(name.clone()) {
            return Err(ctx.at(
                t.name.span(),
                format!("topic[{}].name", i + 1),
                format!("duplicate topic {name:?}"),
            ));
        }
        let learn = learn_spec(ctx, path, i, t)?;
        topics.push(Topic {
            name,
            query: t.query.get_ref().clone(),
            urgency: t.urgency.unwrap_or_default(),
            enabled: t.enabled.unwrap_or(true),
            learn,
        });
    }
    Ok(topics)
}

/// A topic's `examples` and `threshold`, with every example file read and checked.
fn learn_spec(
    ctx: &Ctx<'_>,
    path: &Path,
    i: usize,
    t: &RawTopic,
) -> Result<Option<Arc<LearnSpec>>, ConfigError> {
    let key = |k: &str| format!("topic[{}].{k}", i + 1);
    let threshold = match &t.threshold {
        None => learn::DEFAULT_THRESHOLD,
        Some(v) if (0.0..=1.0).contains(v.get_ref()) && t.examples.is_some() => *v.get_ref(),
        Some(v) if t.examples.is_none() => {
            return Err(ctx.at(
                v.span(),
                key("threshold"),
                "a threshold needs `examples` to learn from",
            ));
        }
        Some(v) => {
            return Err(ctx.at(
                v.span(),
                key("threshold"),
                "expected a score between 0 and 1",
            ));
        }
    };
    let Some(files) = &t.examples else {
        return Ok(None);
    };
    if files.get_ref().is_empty() {
        return Err(ctx.at(
            files.span(),
            key("examples"),
            "empty list: name at least one example file, or leave `examples` out",
        ));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut examples = Vec::new();
    for (k, f) in files.get_ref().iter().enumerate() {
        let key = key(&format!("examples[{}]", k + 1));
        let (file, column) = match f.get_ref() {
            RawExamples::Path(p) => (p.as_str(), "label"),
            RawExamples::Table { file, label } => {
                (file.as_str(), label.as_deref().unwrap_or("label"))
            }
        };
        let full = dir.join(file);
        let text = std::fs::read_to_string(&full).map_err(|e| {
            ctx.at(
                f.span(),
                key.clone(),
                format!("cannot read {}: {e}", full.display()),
            )
        })?;
        let got = learn::read_examples(&text, column, file)
            .map_err(|e| ctx.at(f.span(), key.clone(), format!("{file}:{e}")))?;
        examples.extend(got);
    }
    if let Some(why) = learn::unlearnable(&examples) {
        return Err(ctx.at(files.span(), key("examples"), why));
    }
    Ok(Some(Arc::new(LearnSpec {
        examples,
        threshold,
    })))
}

/// Places a query error at its topic's `query` value, keeping the matcher's own position and caret.
pub(super) fn query_error(ctx: &Ctx<'_>, raw: &RawConfig, e: QueryError) -> ConfigError {
    match e
        .topic_index
        .and_then(|i| raw.topics.get(i).map(|t| (i, t)))
    {
        Some((i, t)) => ctx.at(
            t.query.span(),
            format!("topic[{}].query", i + 1),
            e.to_string(),
        ),
        None => {
            // An alias error: `topic` is `@name`.
            let name = e.topic.trim_start_matches('@');
            let span = raw
                .aliases
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map_or(0..0, |(_, v)| v.span());
            ctx.at(span, format!("aliases.{name}"), e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::parse;

    /// Bad examples are config errors at the topic's `examples` entry, with the example
    /// file's own `file:line`; good ones make the topic learn.
    #[test]
    fn example_files_are_checked_and_learned_from() {
        let dir = tempfile::tempdir().unwrap();
        let wl = dir.path().join("watchlist.toml");
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write(
            "good.tsv",
            "label\ttitle\n1\tFinland joins NATO\n0\tNATO jets land\n",
        );
        write(
            "bad.tsv",
            "label\ttitle\n1\tFinland joins NATO\n2\tNATO jets land\n",
        );
        write("nolabel.tsv", "title\nNATO\n");
        write(
            "allpos.tsv",
            "label\ttitle\n1\tFinland joins NATO\n1\tSweden joins NATO\n",
        );
        let topic = |examples: &str| {
            format!("[[topic]]\nname = \"T\"\nquery = \"nato\"\nexamples = {examples}\n")
        };
        let err = |examples: &str| parse(&topic(examples), &wl).unwrap_err().to_string();
        let e = err("[\"missing.tsv\"]");
        assert!(
            e.contains(":4:13: topic[1].examples[1]: cannot read"),
            "{e}"
        );
        let e = err("[\"good.tsv\", \"bad.tsv\"]");
        assert!(
            e.contains("topic[1].examples[2]: bad.tsv:3: label: expected 0 or 1, found \"2\""),
            "{e}"
        );
        let e = err("[{ file = \"nolabel.tsv\" }]");
        assert!(
            e.contains("nolabel.tsv:1: no label column \"label\""),
            "{e}"
        );
        let e = err("[\"allpos.tsv\"]");
        assert!(
            e.contains("topic[1].examples: the examples hold 2 positive and 0 negative"),
            "{e}"
        );
        let e = err("[]");
        assert!(e.contains("topic[1].examples: empty list"), "{e}");
        let c = parse(&topic("[\"good.tsv\"]"), &wl).unwrap();
        assert_eq!(c.topics[0].learn.as_ref().unwrap().examples.len(), 2);
        assert!(c.matcher().model(crate::model::TopicId(0)).is_some());
        let e = parse(
            "[[topic]]\nname = \"T\"\nquery = \"nato\"\nthreshold = 0.5\n",
            &wl,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("threshold needs `examples`"), "{e}");
    }
}
