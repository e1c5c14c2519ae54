//! Command-line interface: clap definitions and each subcommand's glue.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use tracing::info;

use crate::config::{self, Config, ConfigError};
use crate::daemon::Engine;
use crate::notify::DesktopNotifier;
use crate::store::Store;

/// Exit codes: 0 ok, 1 runtime failure, 2 usage or config error.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

/// tidings watches news feeds and tells you on the desktop when an article about one of your
/// tracked topics appears.
#[derive(Debug, Parser)]
#[command(name = "tidings", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Watch-list file [default: $XDG_CONFIG_HOME/tidings/watchlist.toml]
    #[arg(long, global = true, value_name = "PATH", env = "TIDINGS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database file [default: $XDG_DATA_HOME/tidings/tidings.db]
    #[arg(long, global = true, value_name = "PATH", env = "TIDINGS_DB")]
    pub db: Option<PathBuf>,
    /// Log format on stderr (level from TIDINGS_LOG or RUST_LOG, default info)
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: poll every feed at its interval until SIGINT or SIGTERM.
    Run,
    /// Poll every feed now and print one summary line per feed.
    Poll {
        /// One pass over all feeds, then exit (the only mode for now).
        #[arg(long, required = true)]
        once: bool,
    },
    /// Validate the watch-list; exit 0 if it is valid, 2 with the error if not.
    Check,
    /// Test topics on a feed document (file, URL or -) or on the stored articles: which
    /// entries match, and why.
    Match(MatchArgs),
    /// Show every feed's health: last poll, status, next poll, failures, errors.
    Status {
        /// One JSON object with every feed.
        #[arg(long)]
        json: bool,
    },
    /// Manage feeds.
    #[command(subcommand)]
    Feeds(FeedsCommand),
    /// Show the latest alerts, newest first.
    History(HistoryArgs),
    /// Alerts per day per topic, as a small chart.
    Stats {
        /// How many days back.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3660))]
        days: u32,
    },
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only this topic.
    #[arg(long, value_name = "NAME")]
    pub topic: Option<String>,
    /// Only feeds whose name, title or URL contains this.
    #[arg(long, value_name = "TEXT")]
    pub feed: Option<String>,
    /// Only alerts since then: "24h", "7d", "2022-03-01" or an RFC 3339 time.
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only alerts before then (same forms as --since).
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// Only alerts whose headline, summary or snippet contains every one of these words.
    #[arg(long, value_name = "WORDS")]
    pub search: Option<String>,
    /// How many alerts to show.
    #[arg(long, short = 'n', default_value_t = 20)]
    pub limit: usize,
    /// One JSON object per line.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// CSV with a header row.
    #[arg(long)]
    pub csv: bool,
    /// Also show the matched terms and the snippet.
    #[arg(long)]
    pub explain: bool,
}

#[derive(Debug, Subcommand)]
pub enum FeedsCommand {
    /// Poll a feed that was disabled (e.g. after 410 Gone) again.
    Enable {
        /// The feed's URL as in the watch-list.
        url: String,
    },
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

/// Where the watch-list is read from when `--config` is not given.
pub fn default_config_path() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.config_dir().join("tidings").join("watchlist.toml"))
}

/// Where the database lives when `--db` is not given.
pub fn default_db_path() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.data_dir().join("tidings").join("tidings.db"))
}

/// An error with the exit code it deserves.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            code: EXIT_FAILURE,
            error: e.into(),
        }
    }
}

fn usage(error: impl Into<anyhow::Error>) -> Failure {
    Failure {
        code: EXIT_USAGE,
        error: error.into(),
    }
}

fn load_config(global: &Global) -> Result<Config, Failure> {
    let path = match &global.config {
        Some(p) => p.clone(),
        None => default_config_path().ok_or_else(|| {
            usage(anyhow::anyhow!(
                "cannot find the home directory; pass --config"
            ))
        })?,
    };
    config::load(&path).map_err(|e| match &e {
        ConfigError::Read { source, .. }
            if source.kind() == std::io::ErrorKind::NotFound && global.config.is_none() =>
        {
            usage(anyhow::Error::new(e).context(format!(
                "no watch-list at {}: copy config/watchlist.toml there, or pass --config PATH",
                path.display()
            )))
        }
        _ => usage(e),
    })
}

fn open_store(global: &Global) -> Result<Store, Failure> {
    let path = match &global.db {
        Some(p) => p.clone(),
        None => default_db_path()
            .ok_or_else(|| usage(anyhow::anyhow!("cannot find the home directory; pass --db")))?,
    };
    Ok(Store::open(&path)?)
}

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Check => {
            let config = load_config(&cli.global)?;
            println!(
                "{}: ok ({} feeds, {} topics, {} aliases)",
                config.path.display(),
                config.feeds.len(),
                config.topics.len(),
                config.aliases.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Poll { once: _ } => {
            let config = load_config(&cli.global)?;
            let store = open_store(&cli.global)?;
            runtime()?.block_on(poll_once(config, store))
        }
        Command::Run => {
            let config = load_config(&cli.global)?;
            let store = open_store(&cli.global)?;
            runtime()?.block_on(async move {
                let (notifier, feedback) = DesktopNotifier::new();
                let mut engine = Engine::new(config, store, notifier)?;
                engine.set_feedback(feedback);
                info!(
                    feeds = engine.config.feeds.len(),
                    topics = engine.config.topics.len(),
                    db = %engine.store.path().display(),
                    "tidings started"
                );
                let (_sources, reloads) = crate::reload::start(&engine.config.path);
                engine.run(shutdown_signal(), reloads).await?;
                Ok(ExitCode::SUCCESS)
            })
        }
        Command::Match(args) => match_command(&cli.global, args),
        Command::Status { json } => {
            let store = open_store(&cli.global)?;
            status(&store, json)
        }
        Command::Feeds(FeedsCommand::Enable { url }) => {
            let mut store = open_store(&cli.global)?;
            if store.enable_feed(&url)? {
                println!("{url}: enabled; it is polled at the next opportunity");
                Ok(ExitCode::SUCCESS)
            } else if store.feed_by_url(&url)?.is_some() {
                println!("{url}: was not disabled");
                Ok(ExitCode::SUCCESS)
            } else {
                Err(usage(anyhow::anyhow!(
                    "no feed with URL {url} in the database"
                )))
            }
        }
        Command::History(args) => {
            let store = open_store(&cli.global)?;
            history(&store, &args)
        }
        Command::Stats { days } => {
            let store = open_store(&cli.global)?;
            stats(&store, days)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?)
}

async fn poll_once(config: Config, store: Store) -> Result<ExitCode, Failure> {
    let feeds = config.feeds.clone();
    if feeds.is_empty() {
        eprintln!("{}: no feeds to poll", config.path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let (notifier, _feedback) = DesktopNotifier::new();
    let mut engine = Engine::new(config, store, notifier)?;
    let reports = engine.poll(&feeds).await?;
    for r in &reports {
        println!("{}", r.summary_line());
    }
    if reports.iter().any(|r| r.ok()) {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(EXIT_FAILURE))
    }
}

/// `tidings match`: topics (or one ad-hoc query) over a document or the stored articles.
fn match_command(global: &Global, args: MatchArgs) -> Result<ExitCode, Failure> {
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
        }];
        let m = Matcher::new(&topics, &aliases).map_err(usage)?;
        (topics, std::sync::Arc::new(m))
    } else {
        let config = config
            .as_ref()
            .ok_or_else(|| usage(anyhow::anyhow!("no watch-list")))?;
        match &args.topic {
            Some(name) => {
                let topic = config
                    .topics
                    .iter()
                    .find(|t| &t.name == name)
                    .ok_or_else(|| {
                        let names: Vec<_> = config
                            .topics
                            .iter()
                            .map(|t| format!("{:?}", t.name))
                            .collect();
                        usage(anyhow::anyhow!(
                            "no topic named {name:?} (topics: {})",
                            names.join(", ")
                        ))
                    })?;
                let topics = vec![Topic {
                    enabled: true,
                    ..topic.clone()
                }];
                let m = Matcher::new(&topics, &aliases).map_err(usage)?;
                (topics, std::sync::Arc::new(m))
            }
            None => (config.topics.clone(), config.matcher.clone()),
        }
    };

    let articles = if args.history {
        let store = open_store(global)?;
        let since = args
            .since
            .as_deref()
            .map(|s| parse_since(s, chrono::Utc::now()).map_err(usage))
            .transpose()?;
        store.articles_since(since)?
    } else {
        let source = args.source.as_deref().unwrap_or("-");
        read_document(source)?
    };

    let mut matched_entries = 0;
    let mut out = std::io::stdout().lock();
    for article in &articles {
        let matches = matcher.matches(article);
        if !matches.is_empty() {
            matched_entries += 1;
        } else if !args.all && !args.json {
            // JSON lists every entry (with `"topics": []`), so a consumer never has to
            // infer a non-match from an absence.
            continue;
        }
        let line = if args.json {
            match_json(article, &matches, &topics)
        } else {
            match_human(article, &matches, &topics)
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
        let fetched = runtime()?.block_on(async {
            let fetcher = crate::fetch::Fetcher::new(crate::fetch::Limits::default())?;
            Ok::<_, anyhow::Error>(
                fetcher
                    .fetch(&url, &Default::default(), chrono::Utc::now())
                    .await,
            )
        })?;
        match fetched {
            crate::fetch::FetchOutcome::Fetched {
                body, final_url, ..
            } => (body, final_url),
            crate::fetch::FetchOutcome::Failed { error, .. } => {
                return Err(anyhow::anyhow!("{}: {error}", config::redact_url(&url)).into());
            }
            crate::fetch::FetchOutcome::NotModified { .. } => {
                return Err(anyhow::anyhow!("{source}: unexpected 304 Not Modified").into());
            }
        }
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
    let parsed =
        crate::parse::parse(&bytes, &base).with_context(|| format!("{source}: cannot parse"))?;
    Ok(parsed.articles)
}

fn match_json(
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
            })
        })
        .collect();
    serde_json::json!({
        "guid": article.guid.as_deref().or(article.link.as_deref()),
        "title": article.title,
        "link": article.link,
        "topics": topics,
    })
    .to_string()
}

fn match_human(
    article: &crate::model::Article,
    matches: &[crate::model::Match],
    topics: &[crate::model::Topic],
) -> String {
    let mut s = String::new();
    let mark = if matches.is_empty() { "  " } else { "✓ " };
    s.push_str(mark);
    s.push_str(if article.title.is_empty() {
        "(untitled)"
    } else {
        &article.title
    });
    if let Some(link) = &article.link {
        s.push_str("\n    ");
        s.push_str(link);
    }
    for m in matches {
        s.push_str(&format!(
            "\n    [{}] {}",
            topics[m.topic.0].name,
            m.terms().join(", ")
        ));
        if !m.snippet.text.is_empty() {
            let field = m
                .snippet
                .field
                .map(|f| format!("{f}: "))
                .unwrap_or_default();
            s.push_str(&format!("\n        {field}{}", m.snippet.to_plain_marked()));
        }
    }
    s
}

/// "7d", "36h", "90m" (that long ago), "2022-03-01" (midnight UTC) or an RFC 3339 time.
pub fn parse_since(
    s: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    let s = s.trim();
    if let Ok(d) = humantime::parse_duration(s) {
        let d = chrono::Duration::from_std(d).context("duration too long")?;
        return Ok(now - d);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    anyhow::bail!(
        "cannot read {s:?} as a time: use a duration (\"7d\", \"36h\"), a date (2022-03-01) or an RFC 3339 time"
    )
}

/// `tidings status`: every feed's health, read from the database (works while the daemon runs).
fn status(store: &Store, json: bool) -> Result<ExitCode, Failure> {
    let now = chrono::Utc::now();
    let feeds = store.feeds()?;
    let deferrals = store.host_deferrals(now)?;
    let config_error = store.state("config_error")?;
    let deferred_for = |f: &crate::store::FeedState| {
        let url = f.fetch_url.as_deref().unwrap_or(&f.url);
        let host = url::Url::parse(url)
            .map(|u| crate::daemon::host_key(&u))
            .unwrap_or_default();
        deferrals.iter().find(|d| d.host == host)
    };
    let shown_url = |u: &str| {
        url::Url::parse(u)
            .map(|u| config::redact_url(&u))
            .unwrap_or_else(|_| u.to_string())
    };
    if json {
        let feeds: Vec<_> = feeds
            .iter()
            .map(|f| {
                serde_json::json!({
                    "name": f.name.clone().or_else(|| f.title.clone()),
                    "url": shown_url(&f.url),
                    "fetch_url": f.fetch_url.as_deref().map(shown_url),
                    "in_config": f.in_config,
                    "last_polled_at": f.last_polled_at,
                    "last_status": f.last_status,
                    "last_new_articles": f.last_new_articles,
                    "next_poll_at": f.next_poll_at,
                    "consecutive_failures": f.consecutive_failures,
                    "disabled": f.disabled_reason,
                    "deferred": deferred_for(f),
                    "last_error": f.last_error,
                })
            })
            .collect();
        let doc = serde_json::json!({ "config_error": config_error, "feeds": feeds });
        println!("{doc}");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(e) = &config_error {
        println!("watch-list NOT reloaded (the previous one is in force): {e}\n");
    }
    if feeds.is_empty() {
        println!("no feeds polled yet");
        return Ok(ExitCode::SUCCESS);
    }
    let local = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| "-".into())
    };
    println!(
        "{:<28} {:<11} {:>4} {:>4} {:<11} {:>5}  STATE",
        "FEED", "LAST POLL", "HTTP", "NEW", "NEXT POLL", "FAILS"
    );
    for f in &feeds {
        let name = f
            .name
            .clone()
            .or_else(|| f.title.clone())
            .unwrap_or_else(|| shown_url(&f.url));
        let name: String = if name.chars().count() > 28 {
            name.chars().take(27).chain(['…']).collect()
        } else {
            name
        };
        let mut state = Vec::new();
        if !f.in_config {
            state.push("removed from watch-list".to_string());
        }
        if let Some(r) = &f.disabled_reason {
            state.push(format!("disabled: {r}"));
        }
        if let Some(d) = deferred_for(f) {
            state.push(format!(
                "host deferred until {} ({})",
                local(Some(d.until)),
                d.reason
            ));
        }
        if f.consecutive_failures > 0 {
            state.push("backing off".into());
        }
        if let Some(u) = &f.fetch_url {
            state.push(format!("moved to {}", shown_url(u)));
        }
        if let Some(e) = &f.last_error {
            state.push(format!("error: {e}"));
        }
        if state.is_empty() {
            state.push("ok".into());
        }
        println!(
            "{:<28} {:<11} {:>4} {:>4} {:<11} {:>5}  {}",
            name,
            local(f.last_polled_at),
            f.last_status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into()),
            f.last_new_articles,
            if f.disabled_reason.is_some() || !f.in_config {
                "-".into()
            } else {
                local(f.next_poll_at)
            },
            f.consecutive_failures,
            state.join("; ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn history(store: &Store, args: &HistoryArgs) -> Result<ExitCode, Failure> {
    let now = chrono::Utc::now();
    let when = |s: &Option<String>| {
        s.as_deref()
            .map(|s| parse_since(s, now).map_err(usage))
            .transpose()
    };
    let filter = crate::store::HistoryFilter {
        topic: args.topic.clone(),
        feed: args.feed.clone(),
        since: when(&args.since)?,
        until: when(&args.until)?,
        search: args
            .search
            .as_deref()
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
        limit: args.limit,
    };
    let rows = store.history(&filter)?;
    let mut out = std::io::stdout().lock();
    let state = |r: &crate::store::HistoryRow| match (&r.delivered_at, &r.delivery_error, r.notify)
    {
        (Some(_), _, _) => r
            .delivered_via
            .clone()
            .unwrap_or_else(|| "delivered".into()),
        (None, _, false) => "backlog".into(),
        (None, Some(_), true) => "failed".into(),
        (None, None, true) => "pending".into(),
    };
    if args.json {
        for r in &rows {
            let mut v = serde_json::to_value(r).map_err(anyhow::Error::from)?;
            v["state"] = serde_json::Value::String(state(r));
            if writeln!(out, "{v}").is_err() {
                break;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.csv {
        let mut w = csv::Writer::from_writer(out);
        w.write_record([
            "time",
            "topic",
            "source",
            "headline",
            "link",
            "delivered",
            "also_reported_by",
            "terms",
            "snippet",
        ])
        .map_err(anyhow::Error::from)?;
        for r in &rows {
            w.write_record([
                crate::store::ts(r.created_at),
                r.topic.clone(),
                r.source.clone(),
                r.title.clone(),
                r.link.clone().unwrap_or_default(),
                state(r),
                r.also_reported_by.join("; "),
                r.terms.join("; "),
                r.snippet.clone(),
            ])
            .map_err(anyhow::Error::from)?;
        }
        w.flush().map_err(anyhow::Error::from)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        let _ = writeln!(out, "no alerts");
    }
    for r in rows {
        let when = r
            .created_at
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M");
        let mut text = format!(
            "{when}  {}  {}  {}  [{}]",
            r.topic,
            r.source,
            r.title,
            state(&r)
        );
        if let Some(link) = &r.link {
            text.push_str(&format!("\n    {link}"));
        }
        if !r.also_reported_by.is_empty() {
            text.push_str(&format!(
                "\n    also reported by: {}",
                r.also_reported_by.join(", ")
            ));
        }
        if args.explain {
            text.push_str(&format!("\n    terms: {}", r.terms.join(", ")));
            if !r.snippet.is_empty() {
                text.push_str(&format!("\n    {}", r.snippet));
            }
        }
        if writeln!(out, "{text}").is_err() {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `tidings stats`: one line per topic, a bar per day (▁ to █ scaled to the busiest day).
fn stats(store: &Store, days: u32) -> Result<ExitCode, Failure> {
    let today = chrono::Local::now().date_naive();
    let first = today - chrono::Duration::days(i64::from(days) - 1);
    let since = first
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(chrono::Local).earliest())
        .map_or_else(chrono::Utc::now, |t| t.with_timezone(&chrono::Utc));
    let rows = store.alerts_per_day(since)?;
    print!("{}", render_stats(&rows, first, today));
    Ok(ExitCode::SUCCESS)
}

/// The stats chart as text (pure, for tests).
pub fn render_stats(
    rows: &[(chrono::NaiveDate, String, u64)],
    first: chrono::NaiveDate,
    last: chrono::NaiveDate,
) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let days = ((last - first).num_days() + 1).max(1) as usize;
    let mut topics: Vec<&str> = rows.iter().map(|(_, t, _)| t.as_str()).collect();
    topics.sort_unstable();
    topics.dedup();
    let mut out = format!("alerts per day, {first} … {last}\n");
    if topics.is_empty() {
        out.push_str("no alerts in this period\n");
        return out;
    }
    let max = rows.iter().map(|r| r.2).max().unwrap_or(1).max(1);
    let width = topics.iter().map(|t| t.chars().count()).max().unwrap_or(0);
    for topic in topics {
        let mut counts = vec![0u64; days];
        for (d, t, n) in rows {
            let i = (*d - first).num_days();
            if t == topic && (0..days as i64).contains(&i) {
                counts[i as usize] += n;
            }
        }
        let bars: String = counts
            .iter()
            .map(|&n| {
                if n == 0 {
                    '·'
                } else {
                    BARS[((n * 8 - 1) / max).min(7) as usize]
                }
            })
            .collect();
        let total: u64 = counts.iter().sum();
        let pad = width - topic.chars().count();
        out.push_str(&format!("{topic}{}  {bars}  {total}\n", " ".repeat(pad)));
    }
    out.push_str(&format!("(· none, █ = {max} a day)\n"));
    out
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// Sets up logging on stderr: level from `TIDINGS_LOG` or `RUST_LOG` (default `info`).
pub fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("TIDINGS_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .and_then(|s| EnvFilter::try_new(s).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none());
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn stats_chart_scales_bars_per_topic() {
        let d = |day: u32| NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
        let rows = vec![
            (d(25), "NATO membership".to_string(), 8),
            (d(27), "NATO membership".to_string(), 1),
            (d(26), "Talks".to_string(), 4),
        ];
        assert_eq!(
            render_stats(&rows, d(25), d(27)),
            "alerts per day, 2026-11-25 … 2026-11-27\n\
             NATO membership  █·▁  9\n\
             Talks            ·▄·  4\n\
             (· none, █ = 8 a day)\n"
        );
        assert!(render_stats(&[], d(25), d(27)).contains("no alerts"));
    }

    #[test]
    fn since_accepts_durations_dates_and_times() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            parse_since("24h", now).unwrap(),
            now - chrono::Duration::hours(24)
        );
        assert_eq!(
            parse_since("2022-03-01", now).unwrap().to_rfc3339(),
            "2022-03-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_since("2022-03-01T10:00:00Z", now)
                .unwrap()
                .to_rfc3339(),
            "2022-03-01T10:00:00+00:00"
        );
        assert!(parse_since("yesterday-ish", now).is_err());
    }
}
