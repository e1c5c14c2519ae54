//! Command-line interface: clap definitions and each subcommand's glue.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tracing::info;

use crate::config::{self, Config, ConfigError};
use crate::daemon::Daemon;
use crate::desktop::DesktopNotifier;
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

pub use crate::logging::LogFormat;

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
    /// Measure topics on labelled items: precision, recall, F1, and what they got wrong.
    Eval(crate::eval_command::EvalArgs),
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
    /// Mark an alert right or wrong for its topic: it becomes an example for the topic's
    /// classifier (marking again replaces the earlier mark). With --article and --topic, mark
    /// a stored article that did not alert (its id from `tidings match --history --json`).
    #[command(override_usage = "tidings mark ID right|wrong\n       \
                                tidings mark --article ID --topic NAME right|wrong")]
    Mark {
        /// The alert's id, as `tidings history` shows it (#ID); with --article, the label.
        #[arg(value_name = "ID")]
        id: String,
        /// right: relevant to the topic; wrong: not relevant.
        #[arg(value_enum, value_name = "right|wrong")]
        label: Option<MarkLabel>,
        /// Mark this stored article (`article_id` in `tidings match --history --json`) instead
        /// of an alert.
        #[arg(long, value_name = "ID", requires = "topic")]
        article: Option<i64>,
        /// With --article: the topic the article is right or wrong for.
        #[arg(long, value_name = "NAME", requires = "article")]
        topic: Option<String>,
    },
    /// Install or remove the systemd user service.
    #[command(subcommand)]
    Service(ServiceCommand),
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    Man,
    /// Alerts per day per topic, as a small chart.
    Stats {
        /// How many days back.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3660))]
        days: u32,
    },
}

/// What the user says about an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MarkLabel {
    /// Relevant to the topic.
    Right,
    /// Not relevant to the topic.
    Wrong,
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
    /// Add a feed to the watch-list. An HTML page's advertised feeds are found and offered.
    Add {
        /// The feed's URL, or a web page that links to its feeds.
        url: String,
        /// A name for the feed (default: the feed's own title).
        #[arg(long)]
        name: Option<String>,
        /// When the page offers several feeds, add the Nth (from 1).
        #[arg(long, value_name = "N")]
        pick: Option<usize>,
    },
    /// List the watch-list's feeds with their health.
    List,
    /// Remove a feed from the watch-list (its history stays in the database).
    Remove { url: String },
    /// Poll a feed again: removes `enabled = false`, and lifts a 410 Gone.
    Enable { url: String },
    /// Stop polling a feed without removing it (`enabled = false`).
    Disable { url: String },
    /// Add the feeds of an OPML file (duplicates skipped).
    Import { file: PathBuf },
    /// Print the watch-list's feeds as OPML 2.0.
    Export,
}

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Write the user unit for this binary to ~/.config/systemd/user/ and print (or, with
    /// --now, run) the systemctl commands.
    Install {
        #[arg(long)]
        now: bool,
    },
    /// Remove the user unit (with --now, also stop and disable it).
    Uninstall {
        #[arg(long)]
        now: bool,
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

impl Command {
    /// Commands that only read local state and print it (so a closed pipe may end them).
    pub fn prints_a_report(&self) -> bool {
        matches!(
            self,
            Command::Status { .. }
                | Command::History(_)
                | Command::Stats { .. }
                | Command::Check
                | Command::Completions { .. }
                | Command::Man
                | Command::Feeds(FeedsCommand::List | FeedsCommand::Export)
        )
    }
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

/// The database path in force (`--db` or the default).
fn db_path(global: &Global) -> Result<PathBuf, Failure> {
    match &global.db {
        Some(p) => Ok(p.clone()),
        None => default_db_path()
            .ok_or_else(|| usage(anyhow::anyhow!("cannot find the home directory; pass --db"))),
    }
}

fn open_store(global: &Global) -> Result<Store, Failure> {
    Ok(Store::open(&db_path(global)?)?)
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
            let config = learn_from_store(config, &store)?;
            on_a_worker(poll_once(config, store))
        }
        Command::Run => {
            let config = load_config(&cli.global)?;
            let store = open_store(&cli.global)?;
            // Trained here, before the runtime starts (reloads train on its blocking pool).
            let config = learn_from_store(config, &store)?;
            on_a_worker(daemon(config, store))
        }
        Command::Match(args) => match_command(&cli.global, args),
        Command::Eval(args) => {
            // Measured as the daemon runs it: with the user's marks.
            let config = load_config(&cli.global)?;
            let db = db_path(&cli.global)?;
            let config = match existing_store(&db) {
                Some(store) => config.with_marks(&crate::daemon::read_marks(&store)),
                None => config,
            };
            let cache = crate::model_cache::DirCache::read_only(&db);
            crate::eval_command::eval(&config, &args, &cache)
        }
        Command::Status { json } => {
            let store = open_store(&cli.global)?;
            // The watch-list, when readable, tells feeds switched off from feeds removed.
            let switched_off: Vec<String> = load_config(&cli.global)
                .map(|c| c.disabled_feeds.iter().map(|f| f.url.to_string()).collect())
                .unwrap_or_default();
            status(&store, json, &switched_off)
        }
        Command::Feeds(cmd) => feeds_command(&cli.global, cmd),
        Command::Service(cmd) => {
            let (cmds, ran) = match cmd {
                ServiceCommand::Install { now } => {
                    let binary =
                        std::env::current_exe().context("cannot find this program's path")?;
                    let binary = binary.canonicalize().unwrap_or(binary);
                    let cmds = crate::service::install(&binary, now)?;
                    println!("installed the user unit for {}", binary.display());
                    (cmds, now)
                }
                ServiceCommand::Uninstall { now } => (crate::service::uninstall(now)?, now),
            };
            if !cmds.is_empty() {
                println!("{}", if ran { "ran:" } else { "now run:" });
                for c in cmds {
                    println!("  {c}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "tidings", &mut buf);
            print_bytes(&buf)
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut buf)
                .context("cannot render the manual")?;
            print_bytes(&buf)
        }
        Command::History(args) => {
            let store = open_store(&cli.global)?;
            history(&store, &args)
        }
        Command::Stats { days } => {
            let store = open_store(&cli.global)?;
            stats(&store, days)
        }
        Command::Mark {
            id,
            label,
            article,
            topic,
        } => {
            let target = mark_target(id, label, article, topic)?;
            if let MarkTarget::Article { topic, .. } = &target {
                // A mark for a name not in the watch-list would never reach a model.
                find_topic(&load_config(&cli.global)?, topic)?;
            }
            let mut store = open_store(&cli.global)?;
            mark(&mut store, target)
        }
    }
}

/// `config` with the marks in `store` joined to its topics' examples, trained (see
/// [`crate::daemon::learn_from_marks`]); a topic that cannot learn is a config error.
fn learn_from_store(config: Config, store: &Store) -> Result<Config, Failure> {
    let cache = crate::model_cache::DirCache::beside(store.path());
    crate::daemon::learn_from_marks(config, &crate::daemon::read_marks(store), &cache)
        .map_err(usage)
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

/// The database at `db` if it exists (never created), for its marks: one that cannot be
/// opened is logged and does without.
fn existing_store(db: &std::path::Path) -> Option<Store> {
    if !db.exists() {
        return None;
    }
    Store::open(db)
        .map_err(|e| tracing::warn!("{:#}; going on without the marks", anyhow::Error::new(e)))
        .ok()
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

/// Runs `task` to completion on a runtime worker, not on this (the `block_on`) thread: a
/// task woken by a finished fetch or parse then resumes on a thread that is already running
/// instead of handing off to a parked one (a fifth fewer context switches per cold poll).
fn on_a_worker<F>(task: F) -> Result<ExitCode, Failure>
where
    F: Future<Output = Result<ExitCode, Failure>> + Send + 'static,
{
    runtime()?.block_on(async move {
        tokio::spawn(task)
            .await
            .map_err(|e| anyhow::anyhow!("the main task failed: {e}"))?
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?)
}

/// `tidings run`: the daemon until a shutdown signal.
async fn daemon(config: Config, store: Store) -> Result<ExitCode, Failure> {
    let (notifier, feedback) = DesktopNotifier::new();
    let mut daemon = Daemon::new(config, store, notifier)?;
    daemon.set_feedback(feedback);
    daemon.set_service_notify(crate::service::SdNotify::from_env());
    info!(
        feeds = daemon.config.feeds.len(),
        topics = daemon.config.topics.len(),
        db = %daemon.store.path().display(),
        "tidings started"
    );
    let (_sources, reloads) = crate::reload::start(&daemon.config.path);
    daemon.run(shutdown_signal(), reloads).await?;
    Ok(ExitCode::SUCCESS)
}

async fn poll_once(config: Config, store: Store) -> Result<ExitCode, Failure> {
    let feeds = config.feeds.clone();
    if feeds.is_empty() {
        eprintln!("{}: no feeds to poll", config.path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let (notifier, _feedback) = DesktopNotifier::new();
    let mut daemon = Daemon::new(config, store, notifier)?;
    let reports = daemon.poll(&feeds).await?;
    for r in &reports {
        println!("{}", r.summary_line());
    }
    if reports.iter().any(|r| r.ok()) {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(EXIT_FAILURE))
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn print_bytes(buf: &[u8]) -> Result<ExitCode, Failure> {
    match std::io::stdout().lock().write_all(buf) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(anyhow::Error::new(e)
            .context("cannot write to standard output")
            .into()),
    }
}

/// The watch-list path in force (`--config` or the default).
fn config_path(global: &Global) -> Result<PathBuf, Failure> {
    match &global.config {
        Some(p) => Ok(p.clone()),
        None => default_config_path().ok_or_else(|| {
            usage(anyhow::anyhow!(
                "cannot find the home directory; pass --config"
            ))
        }),
    }
}

/// Reads the watch-list text for editing (an absent file is an empty watch-list).
fn read_watchlist(path: &std::path::Path) -> Result<String, Failure> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(anyhow::Error::new(e)
            .context(format!("cannot read {}", path.display()))
            .into()),
    }
}

/// Validates and writes an edited watch-list atomically (temp file + rename), keeping its mode.
/// A running daemon notices the change and reloads.
fn write_watchlist(path: &std::path::Path, text: &str) -> Result<(), Failure> {
    config::parse(text, path).map_err(usage)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o7777)
    };
    crate::atomic_write::replace(path, text.as_bytes(), mode)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

/// `tidings feeds ...`: edits the watch-list, keeping its comments and layout.
fn feeds_command(global: &Global, cmd: FeedsCommand) -> Result<ExitCode, Failure> {
    use crate::watchlist_edit as edit;
    let path = config_path(global)?;
    match cmd {
        FeedsCommand::List => {
            let text = read_watchlist(&path)?;
            let entries = edit::list_feeds(&text).map_err(usage)?;
            let store = open_store(global).ok();
            for e in entries {
                let state = store
                    .as_ref()
                    .and_then(|s| s.feed_by_url(&e.url).ok().flatten());
                let health = match &state {
                    _ if !e.enabled => "disabled".to_string(),
                    Some(s) if s.disabled_reason.is_some() => {
                        format!("stopped: {}", s.disabled_reason.clone().unwrap_or_default())
                    }
                    Some(s) if s.consecutive_failures > 0 => {
                        format!("failing: {}", s.last_error.clone().unwrap_or_default())
                    }
                    Some(s) if s.last_polled_at.is_some() => {
                        format!(
                            "ok, HTTP {}",
                            s.last_status.map(|c| c.to_string()).unwrap_or_default()
                        )
                    }
                    _ => "not polled yet".to_string(),
                };
                let name = e
                    .name
                    .clone()
                    .or_else(|| state.as_ref().and_then(|s| s.title.clone()))
                    .unwrap_or_default();
                println!("{}  {}  [{health}]", e.url, name);
            }
            Ok(ExitCode::SUCCESS)
        }
        FeedsCommand::Export => {
            let text = read_watchlist(&path)?;
            let entries = edit::list_feeds(&text).map_err(usage)?;
            let pairs: Vec<(String, Option<String>)> =
                entries.into_iter().map(|e| (e.url, e.name)).collect();
            print!("{}", crate::opml::to_opml(&pairs));
            Ok(ExitCode::SUCCESS)
        }
        FeedsCommand::Import { file } => {
            let opml = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let doc = crate::opml::parse_opml_document(&opml)
                .map_err(|e| usage(anyhow::anyhow!("{}: {e}", file.display())))?;
            let (feeds, dup_in_file) = crate::opml::dedup(doc.feeds);
            let mut text = read_watchlist(&path)?;
            let (mut added, mut already) = (0, 0);
            for f in feeds {
                match edit::add_feed(&text, &f.url, f.name.as_deref()) {
                    Ok(t) => {
                        text = t;
                        added += 1;
                    }
                    Err(edit::EditError::Duplicate { .. }) => already += 1,
                    Err(e) => return Err(usage(e)),
                }
            }
            if added > 0 {
                write_watchlist(&path, &text)?;
            }
            let invalid = if doc.invalid.is_empty() {
                String::new()
            } else {
                format!(
                    ", {} invalid URLs ({})",
                    doc.invalid.len(),
                    doc.invalid.join(", ")
                )
            };
            println!(
                "{}: added {added} feeds; skipped {already} already in the watch-list, {dup_in_file} duplicated in the file, {} outlines that are not feeds{invalid}",
                file.display(),
                doc.skipped,
            );
            Ok(ExitCode::SUCCESS)
        }
        FeedsCommand::Remove { url } => {
            let text = read_watchlist(&path)?;
            write_watchlist(&path, &edit::remove_feed(&text, &url).map_err(usage)?)?;
            println!("removed {url} (its history stays in the database)");
            Ok(ExitCode::SUCCESS)
        }
        FeedsCommand::Enable { url } => {
            let text = read_watchlist(&path)?;
            let new = edit::set_feed_enabled(&text, &url, true).map_err(usage)?;
            if new != text {
                write_watchlist(&path, &new)?;
            }
            if let Ok(mut store) = open_store(global)
                && store.enable_feed(&url)?
            {
                println!("{url}: was stopped after 410 Gone; polling it again");
            }
            println!("{url}: enabled");
            Ok(ExitCode::SUCCESS)
        }
        FeedsCommand::Disable { url } => {
            let text = read_watchlist(&path)?;
            write_watchlist(
                &path,
                &edit::set_feed_enabled(&text, &url, false).map_err(usage)?,
            )?;
            println!("{url}: disabled (enabled = false)");
            Ok(ExitCode::SUCCESS)
        }
        FeedsCommand::Add { url, name, pick } => {
            let candidate =
                url::Url::parse(&url).map_err(|e| usage(anyhow::anyhow!("{url}: {e}")))?;
            let (bytes, final_url) = fetch_once(&candidate)?;
            let chosen = match crate::parse::parse(&bytes, &final_url) {
                Ok(feed) => {
                    let title = feed.title.map(|t| format!(" ({t})")).unwrap_or_default();
                    println!("{url}: a feed{title} with {} entries", feed.articles.len());
                    url.clone()
                }
                Err(parse_err) => {
                    let html = String::from_utf8_lossy(&bytes);
                    let found = crate::discover::feed_links(&html, &final_url);
                    match (found.len(), pick) {
                        (0, _) => {
                            return Err(anyhow::anyhow!(
                                "{url} is not a feed ({parse_err}) and the page links to no feeds"
                            )
                            .into());
                        }
                        (1, _) => {
                            println!("{url} is a web page; it offers one feed: {}", found[0].0);
                            found[0].0.to_string()
                        }
                        (n, Some(k)) if (1..=n).contains(&k) => found[k - 1].0.to_string(),
                        (n, _) => {
                            println!("{url} is a web page offering {n} feeds:");
                            for (i, (u, title, ty)) in found.iter().enumerate() {
                                println!(
                                    "  {}. {u}  {}  ({ty})",
                                    i + 1,
                                    title.clone().unwrap_or_default()
                                );
                            }
                            println!("add one with: tidings feeds add {url} --pick N");
                            return Ok(ExitCode::from(EXIT_USAGE));
                        }
                    }
                }
            };
            let text = read_watchlist(&path)?;
            write_watchlist(
                &path,
                &edit::add_feed(&text, &chosen, name.as_deref()).map_err(usage)?,
            )?;
            println!("added {chosen} to {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// One GET with the daemon's fetcher (limits, redirects, user agent).
fn fetch_once(url: &url::Url) -> Result<(Vec<u8>, url::Url), Failure> {
    let outcome = runtime()?.block_on(async {
        let fetcher = crate::fetch::Fetcher::new(crate::fetch::Limits::default())?;
        Ok::<_, anyhow::Error>(
            fetcher
                .fetch(url, &Default::default(), chrono::Utc::now())
                .await,
        )
    })?;
    match outcome {
        crate::fetch::FetchOutcome::Fetched {
            body, final_url, ..
        } => Ok((body, final_url)),
        crate::fetch::FetchOutcome::Failed { error, .. } => {
            Err(anyhow::anyhow!("{}: {error}", config::redact_url(url)).into())
        }
        crate::fetch::FetchOutcome::NotModified { .. } => {
            Err(anyhow::anyhow!("{}: unexpected 304 Not Modified", config::redact_url(url)).into())
        }
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
    // The database, if there is one (never created here): its marks join the topics'
    // examples, as in the daemon, and --history reads its articles.
    let db = db_path(global)?;
    let store = if args.history {
        Some(Store::open(&db)?)
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
    let parsed =
        crate::parse::parse(&bytes, &base).with_context(|| format!("{source}: cannot parse"))?;
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

fn match_human(
    id: Option<i64>,
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
    if let Some(id) = id {
        s.push_str(&format!("  (article {id})"));
    }
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
        if let Some(l) = &m.learned {
            s.push_str(&format!("\n        {}", model_line(l)));
        }
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
fn status(store: &Store, json: bool, switched_off: &[String]) -> Result<ExitCode, Failure> {
    let now = chrono::Utc::now();
    let feeds = store.feeds()?;
    let deferrals = store.host_deferrals(now)?;
    let config_error = store.state("config_error")?;
    let deferred_for = |f: &crate::store::FeedState| {
        let url = f.fetch_url.as_deref().unwrap_or(&f.url);
        let host = url::Url::parse(url)
            .map(|u| crate::links::host_key(&u))
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
                    "in_config": f.in_config || switched_off.contains(&f.url),
                    "enabled": !switched_off.contains(&f.url),
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
        if switched_off.contains(&f.url) {
            state.push("disabled in the watch-list".to_string());
        } else if !f.in_config {
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
            let fine = if f.last_polled_at.is_some() {
                "ok"
            } else {
                "not polled yet"
            };
            state.push(fine.into());
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
            "id",
            "mark",
            "score",
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
                r.id.to_string(),
                r.mark.clone().unwrap_or_default(),
                r.score.map(|s| format!("{s:.4}")).unwrap_or_default(),
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
            "{when}  {}  {}  {}  [{}]  #{}",
            r.topic,
            r.source,
            r.title,
            state(&r),
            r.id
        );
        match r.mark.as_deref() {
            Some("right") => text.push_str("  ✓ right"),
            Some("wrong") => text.push_str("  ✗ wrong"),
            _ => {}
        }
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
            if let (Some(score), Some(threshold), Some(reasons)) =
                (r.score, r.threshold, &r.reasons)
            {
                text.push_str(&format!(
                    "\n    {}",
                    model_line(&crate::model::Learned {
                        score,
                        threshold,
                        reasons: reasons.clone(),
                    })
                ));
            }
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

/// `model: score 0.93 ≥ 0.50 — t:talks +0.81, q:@side +0.62`: a learned topic's verdict on one
/// line (the reasons are the features that pushed the score up most).
pub fn model_line(l: &crate::model::Learned) -> String {
    let cmp = if l.accepted() { '≥' } else { '<' };
    let mut s = format!("model: score {:.2} {cmp} {:.2}", l.score, l.threshold);
    if !l.reasons.is_empty() {
        let reasons: Vec<String> = l
            .reasons
            .iter()
            .map(|(f, c)| format!("{f} {c:+.2}"))
            .collect();
        s.push_str(" — ");
        s.push_str(&reasons.join(", "));
    }
    s
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

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is called (not when
/// the future is first polled), so a signal that arrives right after READY=1 is not fatal.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
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
    fn model_line_shows_score_threshold_and_reasons() {
        let l = crate::model::Learned {
            score: 0.9349,
            threshold: 0.5,
            reasons: vec![("t:talks".into(), 0.814), ("q:@side".into(), 0.6161)],
        };
        assert_eq!(
            model_line(&l),
            "model: score 0.93 ≥ 0.50 — t:talks +0.81, q:@side +0.62"
        );
        let l = crate::model::Learned {
            score: 0.2,
            threshold: 0.35,
            reasons: vec![],
        };
        assert_eq!(model_line(&l), "model: score 0.20 < 0.35");
    }

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
