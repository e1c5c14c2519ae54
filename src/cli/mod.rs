//! Command-line interface: the clap definitions, exit codes, and the dispatch to one file per
//! command group.

mod check;
mod daemon;
mod docs;
pub mod eval;
mod feeds;
mod history;
mod lock;
mod matching;
mod paths;
mod review;
mod service;
pub(crate) mod status;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

pub use daemon::shutdown_signal;
pub use feeds::FeedsCommand;
pub(crate) use feeds::switch_feed;
pub use history::{HistoryArgs, model_line, parse_since, render_stats};
pub use matching::{MarkLabel, MatchArgs};
pub use paths::{default_config_path, default_db_path};
pub use service::ServiceCommand;

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
    Eval(eval::EvalArgs),
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
    /// Review alerts full-screen: filter, read, mark right/wrong, work through what the
    /// topics' models are least sure about, mute, and see the feeds' health.
    Review,
    /// Alerts per day per topic, as a small chart.
    Stats {
        /// How many days back.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3660))]
        days: u32,
    },
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

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let global = &cli.global;
    match cli.command {
        Command::Check => check::check_command(global),
        Command::Poll { once: _ } => daemon::poll_command(global),
        Command::Run => daemon::run_command(global),
        Command::Match(args) => matching::match_command(global, args),
        Command::Eval(args) => eval::eval_command(global, args),
        Command::Status { json } => status::status_command(global, json),
        Command::Feeds(cmd) => feeds::feeds_command(global, cmd),
        Command::Service(cmd) => service::service_command(cmd),
        Command::Completions { shell } => docs::completions_command(shell),
        Command::Man => docs::man_command(),
        Command::History(args) => history::history_command(global, args),
        Command::Stats { days } => history::stats_command(global, days),
        Command::Review => review::review_command(global),
        Command::Mark {
            id,
            label,
            article,
            topic,
        } => matching::mark_command(global, id, label, article, topic),
    }
}
