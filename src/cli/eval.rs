//! `tidings eval`: how good is each topic on labelled news? Precision, recall and F1 (weighted
//! when the file has a `weight` column), with the false positives and negatives and why.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::paths::{db_path, existing_store, load_config};
use super::{Failure, Global};
use crate::config::Config;
use crate::learn::eval::{self, Report};
use crate::learn::{Example, read_examples};
use crate::model::TopicId;

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Labelled items (tab-separated: title, summary, a 0/1 label column, optional weight).
    /// Without it, --cv cross-validates each topic's own examples.
    pub file: Option<PathBuf>,
    /// Only this topic.
    #[arg(long, value_name = "NAME")]
    pub topic: Option<String>,
    /// FILE's label column (default: a column named after the topic, lower case with `_` for
    /// spaces and dashes, e.g. `nato_membership`, else `label`).
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,
    /// Cross-validate with K folds: each fold is scored by a model that never saw it.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(2..=50))]
    pub cv: Option<u32>,
    /// How many false positives and false negatives to list per topic.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub show: usize,
}

/// `topic` as a column name: `Putin–Zelensky talks` → `putin_zelensky_talks`.
pub fn column_name(topic: &str) -> String {
    let mut out = String::new();
    for c in topic.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_owned()
}

/// `tidings eval`.
pub(super) fn eval_command(global: &Global, args: EvalArgs) -> Result<ExitCode, Failure> {
    // Measured as the daemon runs it: with the user's marks.
    let config = load_config(global)?;
    let db = db_path(global)?;
    let config = match existing_store(&db) {
        Some(store) => config.with_marks(&crate::daemon::read_marks(&store)),
        None => config,
    };
    let cache = crate::model_cache::DirCache::read_only(&db);
    eval(&config, &args, &cache)
}

/// `cache` serves the topics' trained models when FILE is scored without `--cv`.
pub fn eval(
    config: &Config,
    args: &EvalArgs,
    cache: &dyn crate::learn::ModelCache,
) -> Result<ExitCode, Failure> {
    let text = match &args.file {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))?,
        ),
        None if args.cv.is_none() => {
            return Err(Failure {
                code: 2,
                error: anyhow::anyhow!(
                    "name a labelled FILE, or --cv K to cross-validate the topics' own examples"
                ),
            });
        }
        None => None,
    };
    let header: Vec<&str> = text
        .as_deref()
        .and_then(|t| t.lines().next())
        .map(|h| h.split('\t').map(str::trim).collect())
        .unwrap_or_default();
    let mut out = String::new();
    let mut any = false;
    for (i, topic) in config.topics.iter().enumerate() {
        if args.topic.as_deref().is_some_and(|t| t != topic.name) || !topic.enabled {
            continue;
        }
        let held: Vec<Example> = match &text {
            None => Vec::new(),
            Some(text) => {
                let col = args.column.clone().unwrap_or_else(|| {
                    let c = column_name(&topic.name);
                    if header.contains(&c.as_str()) {
                        c
                    } else {
                        "label".to_owned()
                    }
                });
                let file = args.file.as_ref().map(|p| p.display().to_string());
                let file = file.unwrap_or_default();
                match read_examples(text, &col, &file) {
                    Ok(e) => e,
                    Err(e) if e.line == 1 && args.topic.is_none() => {
                        let _ = writeln!(out, "{}: skipped ({file}:{e})\n", topic.name);
                        continue;
                    }
                    Err(e) => {
                        return Err(Failure {
                            code: 1,
                            error: anyhow::anyhow!("{file}:{e}"),
                        });
                    }
                }
            }
        };
        let (report, how) = match args.cv {
            Some(k) => {
                if held.is_empty() && topic.learn.is_none() {
                    let _ = writeln!(
                        out,
                        "{}: no examples to cross-validate (the query alone decides)\n",
                        topic.name
                    );
                    continue;
                }
                let r = eval::cross_validate(&config.topics, &config.aliases, i, &held, k as usize)
                    .map_err(|e| anyhow::anyhow!("cannot cross-validate with {k} folds: {e}"))?;
                (r, format!("{k}-fold cross-validation"))
            }
            None => {
                let mut r = Report::default();
                let refs: Vec<&Example> = held.iter().collect();
                let matcher = config
                    .train_with(cache)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                eval::score_into(&matcher, TopicId(i), &refs, &mut r);
                let seen = topic.learn.as_ref().map_or(0, |s| {
                    held.iter()
                        .filter(|h| s.examples.iter().any(|e| e.same_text(h)))
                        .count()
                });
                let how = if seen > 0 {
                    format!(
                        "trained on {seen} of these items: optimistic, use --cv K for an honest figure"
                    )
                } else {
                    "as configured".to_owned()
                };
                (r, how)
            }
        };
        any = true;
        render(&mut out, &topic.name, &report, &how, args.show);
    }
    if !any && args.topic.is_some() {
        return Err(Failure {
            code: 2,
            error: anyhow::anyhow!("no enabled topic {:?}", args.topic.as_deref().unwrap_or("")),
        });
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

fn render(out: &mut String, name: &str, r: &Report, how: &str, show: usize) {
    let c = &r.counts;
    let [tp, fp, fn_, tn] = c.n;
    let _ = writeln!(
        out,
        "{name}: precision {:.3}  recall {:.3}  F1 {:.3}  (weighted; F1 unweighted {:.3})\n  tp {tp}  fp {fp}  fn {fn_}  tn {tn}  [{how}]",
        c.precision(),
        c.recall(),
        c.f1(),
        c.f1_unweighted(),
    );
    for (label, title) in [(false, "false positives"), (true, "false negatives")] {
        let misses: Vec<_> = r
            .misses
            .iter()
            .filter(|m| m.example.label == label)
            .collect();
        if misses.is_empty() || show == 0 {
            continue;
        }
        let _ = writeln!(out, "  {title} ({}, heaviest first):", misses.len());
        for m in misses.iter().take(show) {
            let e = &m.example;
            let _ = writeln!(
                out,
                "    [{}] weight {:.1}  {}",
                e.origin, e.weight, e.title
            );
            let _ = writeln!(out, "        {}", why(m));
        }
    }
    out.push('\n');
}

/// What the query and the model said, in one line: `query: nato; model: score 0.28 < 0.50 — …`.
fn why(m: &eval::Miss) -> String {
    let a = &m.assessment;
    let query = match &a.query {
        None => "query: no match".to_owned(),
        Some(q) => format!("query: {}", q.terms().join(", ")),
    };
    match &a.verdict {
        None => query,
        Some(v) => format!("{query}; {}", super::model_line(v)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn column_names() {
        assert_eq!(super::column_name("NATO membership"), "nato_membership");
        assert_eq!(
            super::column_name("Putin–Zelensky talks"),
            "putin_zelensky_talks"
        );
    }
}
