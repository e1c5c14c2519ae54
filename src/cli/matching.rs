//! `tidings match` and `tidings mark`: which entries the topics match and why, and the user's
//! verdicts.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::feeds::fetch_once;
use super::history::{model_line, parse_since};
use super::paths::{db_path, default_config_path, existing_store, load_config, open_store};
use super::{Failure, Global, usage};
use crate::config::Config;
use crate::sanitize::escape_controls as esc;
use crate::store::Store;

/// What the user says about an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MarkLabel {
    /// Relevant to the topic.
    Right,
    /// Not relevant to the topic.
    Wrong,
}

#[derive(Debug, Args)]
pub struct MatchArgs {
    /// Feed document (RSS, Atom or JSON Feed): a file, an http(s) URL, or - for stdin.
    #[arg(required_unless_present = "history", conflicts_with = "history")]
    pub source: Option<String>,
    /// Run over the articles already stored: what would these topics have alerted on?
    #[arg(long)]
    pub history: bool,
    /// With --history: only articles first seen since then ("7d", "36h", "2022-03-01").
    #[arg(long, requires = "history", value_name = "WHEN")]
    pub since: Option<String>,
    /// Only this topic.
    #[arg(long, value_name = "NAME")]
    pub topic: Option<String>,
    /// An ad-hoc query instead of the watch-list's topics (its aliases still apply).
    #[arg(long, value_name = "QUERY", conflicts_with = "topic")]
    pub query: Option<String>,
    /// Also list entries that match nothing.
    #[arg(long)]
    pub all: bool,
    /// One JSON object per line for every entry (non-matching ones with "topics": []).
    #[arg(long)]
    pub json: bool,
}

/// `tidings mark`.
pub(super) fn mark_command(
    global: &Global,
    id: String,
    label: Option<MarkLabel>,
    article: Option<i64>,
    topic: Option<String>,
) -> Result<ExitCode, Failure> {
    let target = mark_target(id, label, article, topic)?;
    if let MarkTarget::Article { topic, .. } = &target {
        // A mark for a name not in the watch-list would never reach a model.
        find_topic(&load_config(global)?, topic)?;
    }
    let mut store = open_store(global)?;
    mark(&mut store, target)
}

/// What `tidings mark` marks, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
enum MarkTarget {
    Alert { id: i64, label: bool },
    Article { id: i64, topic: String, label: bool },
}

/// The two forms of `tidings mark`: `ID right|wrong` and `--article ID --topic NAME right|wrong`
/// (clap fills the first positional with the label in the second form).
fn mark_target(
    first: String,
    second: Option<MarkLabel>,
    article: Option<i64>,
    topic: Option<String>,
) -> Result<MarkTarget, Failure> {
    let word = |l: MarkLabel| l == MarkLabel::Right;
    match (article, topic) {
        (Some(id), Some(topic)) => {
            if second.is_some() {
                return Err(usage(anyhow::anyhow!(
                    "with --article, give only the label: tidings mark --article ID --topic NAME right|wrong"
                )));
            }
            let label = <MarkLabel as clap::ValueEnum>::from_str(&first, false)
                .map_err(|_| usage(anyhow::anyhow!("expected right or wrong, found {first:?}")))?;
            Ok(MarkTarget::Article {
                id,
                topic,
                label: word(label),
            })
        }
        _ => {
            let id = first.parse::<i64>().map_err(|_| {
                usage(anyhow::anyhow!(
                    "expected an alert id (a number, #ID in `tidings history`), found {first:?}"
                ))
            })?;
            let label = second.ok_or_else(|| {
                usage(anyhow::anyhow!(
                    "missing the label: tidings mark {id} right|wrong"
                ))
            })?;
            Ok(MarkTarget::Alert {
                id,
                label: word(label),
            })
        }
    }
}

/// The watch-list's topic `name`, else a usage error listing the topics.
fn find_topic<'c>(config: &'c Config, name: &str) -> Result<&'c crate::model::Topic, Failure> {
    if let Some(t) = config.topics.iter().find(|t| t.name == name) {
        return Ok(t);
    }
    let names: Vec<_> = config
        .topics
        .iter()
        .map(|t| format!("{:?}", t.name))
        .collect();
    Err(usage(anyhow::anyhow!(
        "no topic named {name:?} (topics: {})",
        names.join(", ")
    )))
}

/// `tidings mark`: one line saying what was marked. Works while the daemon runs (WAL; a write
/// waits for the daemon's transaction like any other).
fn mark(store: &mut Store, target: MarkTarget) -> Result<ExitCode, Failure> {
    let now = chrono::Utc::now();
    let (what, topic, label, previous) = match target {
        MarkTarget::Alert { id, label } => {
            let m = store.mark_alert(id, label, "cli", now)?;
            (
                format!("alert {}", m.alert_id),
                m.topic,
                m.label,
                m.previous,
            )
        }
        MarkTarget::Article { id, topic, label } => {
            let previous = store.mark_article(id, &topic, label, "cli", now)?;
            (format!("article {id}"), topic, label, previous)
        }
    };
    let word = crate::store::label_word(label);
    let was = match previous {
        Some(p) if p != label => format!(" (was {})", crate::store::label_word(p)),
        Some(_) => " (again)".to_string(),
        None => String::new(),
    };
    println!(
        "{what} ({topic}): marked {word}{was} — it joins the topic's examples at the next reload"
    );
    Ok(ExitCode::SUCCESS)
}

/// `tidings match`: topics (or one ad-hoc query) over a document or the stored articles.
pub(super) fn match_command(global: &Global, args: MatchArgs) -> Result<ExitCode, Failure> {
    use crate::matcher::Matcher;
    use crate::model::{Topic, Urgency};

    let config = match load_config(global) {
        Ok(c) => Some(c),
        // An ad-hoc query needs no watch-list when none was named and none exists.
        Err(_)
            if args.query.is_some()
                && global.config.is_none()
                && default_config_path().is_none_or(|p| !p.exists()) =>
        {
            None
        }
        Err(e) => return Err(e),
    };
    // The database, if there is one (never created here): its marks join the topics'
    // examples, as in the daemon, and --history reads its articles.
    let db = db_path(global)?;
    let store = if args.history {
        Some(Store::open_read_only(&db)?)
    } else {
        existing_store(&db)
    };
    // Joined, not trained yet: only the topics this command matches with are trained.
    let config = match (config, &store) {
        (Some(c), Some(store)) => Some(c.with_marks(&crate::daemon::read_marks(store))),
        (c, _) => c,
    };
    let aliases = config
        .as_ref()
        .map(|c| c.aliases.clone())
        .unwrap_or_default();
    let (topics, matcher) = if let Some(q) = &args.query {
        let topics = vec![Topic {
            name: "query".into(),
            query: q.clone(),
            urgency: Urgency::Normal,
            enabled: true,
            learn: None,
        }];
        let m = Matcher::new(&topics, &aliases).map_err(usage)?;
        (topics, std::sync::Arc::new(m))
    } else {
        let config = config
            .as_ref()
            .ok_or_else(|| usage(anyhow::anyhow!("no watch-list")))?;
        match &args.topic {
            Some(name) => {
                let topic = find_topic(config, name)?;
                let topics = vec![Topic {
                    enabled: true,
                    ..topic.clone()
                }];
                // Learned like the whole watch-list (it trained on the same examples).
                let m = Matcher::learned(&topics, &aliases).map_err(usage)?;
                (topics, std::sync::Arc::new(m))
            }
            None => {
                let cache = crate::model_cache::DirCache::read_only(&db);
                let matcher = config.train_with(&cache).map_err(usage)?;
                crate::daemon::log_learning(config);
                (config.topics.clone(), matcher)
            }
        }
    };

    // Stored articles carry their id: what `tidings mark --article ID` takes.
    let articles: Vec<(Option<i64>, crate::model::Article)> = match (&store, args.history) {
        (Some(store), true) => {
            let since = args
                .since
                .as_deref()
                .map(|s| parse_since(s, chrono::Utc::now()).map_err(usage))
                .transpose()?;
            store
                .articles_since_with_ids(since)?
                .into_iter()
                .map(|(id, a)| (Some(id), a))
                .collect()
        }
        _ => {
            let source = args.source.as_deref().unwrap_or("-");
            read_document(source)?
                .into_iter()
                .map(|a| (None, a))
                .collect()
        }
    };

    let mut matched_entries = 0;
    let mut out = std::io::stdout().lock();
    for (id, article) in &articles {
        let matches = matcher.matches(article);
        if !matches.is_empty() {
            matched_entries += 1;
        } else if !args.all && !args.json {
            // JSON lists every entry (with `"topics": []`), so a consumer never has to
            // infer a non-match from an absence.
            continue;
        }
        let line = if args.json {
            match_json(*id, article, &matches, &topics)
        } else {
            match_human(*id, article, &matches, &topics)
        };
        if writeln!(out, "{line}").is_err() {
            break; // stdout closed (e.g. piped into head)
        }
    }
    if !args.json {
        eprintln!("{} of {} entries matched", matched_entries, articles.len());
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads and parses a feed document from a file, an http(s) URL or stdin.
fn read_document(source: &str) -> Result<Vec<crate::model::Article>, Failure> {
    use std::io::Read;
    let (bytes, base) = if source.starts_with("http://") || source.starts_with("https://") {
        let url = url::Url::parse(source).map_err(usage)?;
        fetch_once(&url)?
    } else if source == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("cannot read standard input")?;
        (
            buf,
            url::Url::parse("file:///dev/stdin").expect("static URL"),
        )
    } else {
        let path = std::path::Path::new(source);
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {source}"))?;
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let base = url::Url::from_file_path(&abs)
            .unwrap_or_else(|_| url::Url::parse("file:///").expect("static URL"));
        (bytes, base)
    };
    // The parser's message can quote the document.
    let parsed = crate::parse::parse(&bytes, &base)
        .map_err(|e| anyhow::anyhow!("{source}: cannot parse: {}", esc(&e.to_string())))?;
    Ok(parsed.articles)
}

/// One entry of `tidings match --json`. `article_id` is the stored article's id (with
/// `--history`; absent for a document); each topic has `score` and `reasons` (null when the
/// topic does not learn).
fn match_json(
    id: Option<i64>,
    article: &crate::model::Article,
    matches: &[crate::model::Match],
    topics: &[crate::model::Topic],
) -> String {
    let topics: Vec<_> = matches
        .iter()
        .map(|m| {
            serde_json::json!({
                "name": topics[m.topic.0].name,
                "terms": m.terms(),
                "snippet": m.snippet.text,
                "hits": m.hits,
                "score": m.learned.as_ref().map(|l| l.score),
                "reasons": m.learned.as_ref().map(|l| &l.reasons),
            })
        })
        .collect();
    let mut v = serde_json::json!({
        "guid": article.guid.as_deref().or(article.link.as_deref()),
        "title": article.title,
        "link": article.link,
        "topics": topics,
    });
    if let Some(id) = id {
        v["article_id"] = id.into();
    }
    v.to_string()
}

/// One entry of `tidings match`, for a terminal: stored articles may predate the strip at parse,
/// so their text is escaped ([`esc`]).
fn match_human(
    id: Option<i64>,
    article: &crate::model::Article,
    matches: &[crate::model::Match],
    topics: &[crate::model::Topic],
) -> String {
    let mut s = String::new();
    let mark = if matches.is_empty() { "  " } else { "✓ " };
    s.push_str(mark);
    let title = esc(&article.title);
    s.push_str(if title.is_empty() {
        "(untitled)"
    } else {
        &title
    });
    if let Some(id) = id {
        s.push_str(&format!("  (article {id})"));
    }
    if let Some(link) = &article.link {
        s.push_str("\n    ");
        s.push_str(&esc(link));
    }
    for m in matches {
        s.push_str(&format!(
            "\n    [{}] {}",
            esc(&topics[m.topic.0].name),
            esc(&m.terms().join(", "))
        ));
        if let Some(l) = &m.learned {
            s.push_str(&format!("\n        {}", esc(&model_line(l))));
        }
        if !m.snippet.text.is_empty() {
            let field = m
                .snippet
                .field
                .map(|f| format!("{f}: "))
                .unwrap_or_default();
            s.push_str(&format!(
                "\n        {field}{}",
                esc(&m.snippet.to_plain_marked())
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[test]
    fn mark_takes_an_alert_or_an_article_with_its_topic() {
        let parse = |args: &[&str]| {
            let cli = Cli::try_parse_from([&["tidings", "mark"], args].concat())
                .map_err(|e| e.to_string())?;
            let Command::Mark {
                id,
                label,
                article,
                topic,
            } = cli.command
            else {
                unreachable!()
            };
            mark_target(id, label, article, topic).map_err(|f| f.error.to_string())
        };
        assert_eq!(
            parse(&["12", "wrong"]),
            Ok(MarkTarget::Alert {
                id: 12,
                label: false
            })
        );
        assert_eq!(
            parse(&["--article", "7", "--topic", "Talks", "right"]),
            Ok(MarkTarget::Article {
                id: 7,
                topic: "Talks".into(),
                label: true
            })
        );
        assert_eq!(
            parse(&["right", "--topic", "Talks", "--article", "7"]),
            parse(&["--article", "7", "--topic", "Talks", "right"])
        );
        for bad in [
            &["12"][..],
            &["twelve", "wrong"],
            &["12", "maybe"],
            &["--article", "7", "right"],
            &["--topic", "Talks", "12", "right"],
            &["--article", "7", "--topic", "Talks", "maybe"],
            &["--article", "7", "--topic", "Talks", "12", "right"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
