//! Command-line interface: clap definitions and each subcommand's glue.

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
    /// Show the latest alerts, newest first.
    History {
        /// How many alerts to show.
        #[arg(long, short = 'n', default_value_t = 20)]
        limit: usize,
    },
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
        None => default_config_path().ok_or_else(|| usage(anyhow::anyhow!("cannot find the home directory; pass --config")))?,
    };
    config::load(&path).map_err(|e| match &e {
        ConfigError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound && global.config.is_none() => {
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
        None => default_db_path().ok_or_else(|| usage(anyhow::anyhow!("cannot find the home directory; pass --db")))?,
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
                let mut engine = Engine::new(config, store, DesktopNotifier)?;
                info!(
                    feeds = engine.config.feeds.len(),
                    topics = engine.config.topics.len(),
                    db = %engine.store.path().display(),
                    "tidings started"
                );
                engine.run(shutdown_signal()).await?;
                Ok(ExitCode::SUCCESS)
            })
        }
        Command::History { limit } => {
            let store = open_store(&cli.global)?;
            history(&store, limit)
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
    let mut engine = Engine::new(config, store, DesktopNotifier)?;
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

fn history(store: &Store, limit: usize) -> Result<ExitCode, Failure> {
    let rows = store.history(limit)?;
    if rows.is_empty() {
        println!("no alerts yet");
    }
    for r in rows {
        let when = r.created_at.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M");
        let state = match (&r.delivered_at, &r.delivery_error, r.notify) {
            (Some(_), _, _) => "delivered",
            (None, _, false) => "backlog",
            (None, Some(_), true) => "failed",
            (None, None, true) => "pending",
        };
        println!("{when}  {}  {}  {}  [{state}]", r.topic, r.source, r.title);
        if let Some(link) = &r.link {
            println!("    {link}");
        }
    }
    Ok(ExitCode::SUCCESS)
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
