//! `tidings run` and `tidings poll --once`: the daemon on a tokio runtime, until a signal or
//! for one pass.

use std::process::ExitCode;

use anyhow::Context;
use tracing::info;

use super::paths::{db_path, load_config, open_store};
use super::{EXIT_FAILURE, Failure, Global, usage};
use crate::config::Config;
use crate::daemon::Daemon;
use crate::desktop::DesktopNotifier;
use crate::sanitize::escape_controls;
use crate::store::Store;

/// `tidings run`.
pub(super) fn run_command(global: &Global) -> Result<ExitCode, Failure> {
    let config = load_config(global)?;
    // One daemon per database, held until this returns (or the process ends); taken before
    // the database is opened, so a second `run` touches nothing. `poll --once` takes no lock.
    let _lock = super::lock::lock_database(&db_path(global)?)?;
    let store = open_store(global)?;
    // Trained here, before the runtime starts (reloads train on its blocking pool).
    let config = learn_from_store(config, &store)?;
    on_a_worker(daemon(config, store))
}

/// `tidings poll --once`.
pub(super) fn poll_command(global: &Global) -> Result<ExitCode, Failure> {
    let config = load_config(global)?;
    let store = open_store(global)?;
    let config = learn_from_store(config, &store)?;
    on_a_worker(poll_once(config, store))
}

/// `config` with the marks in `store` joined to its topics' examples, trained (see
/// [`crate::daemon::learn_from_marks`]); a topic that cannot learn is a config error.
fn learn_from_store(config: Config, store: &Store) -> Result<Config, Failure> {
    let cache = crate::model_cache::DirCache::beside(store.path());
    crate::daemon::learn_from_marks(config, &crate::daemon::read_marks(store), &cache)
        .map_err(usage)
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

pub(super) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
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
        // Feed names and errors can quote a server: shown, never obeyed by the terminal.
        println!("{}", escape_controls(&r.summary_line()));
    }
    if reports.iter().any(|r| r.ok()) {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(EXIT_FAILURE))
    }
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
