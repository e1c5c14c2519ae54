//! EDGE: what asks the daemon to read its watch-list again — SIGHUP, and changes to the file.
//!
//! The file watcher reacts to create / modify / remove / rename of the watch-list only (never
//! to access events: reading the file raises those, which would loop), and debounces: an editor
//! save is often two or three events, an atomic rename several.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tracing::warn;

use crate::daemon::ReloadCause;

/// Quiet time after the last file event before reloading.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// Keeps the file watcher alive; dropping it stops watching.
pub struct ReloadSources {
    _watcher: Option<notify::RecommendedWatcher>,
}

/// Starts listening for SIGHUP and for changes to `config_path`. Reload requests arrive on the
/// returned channel. A watcher that cannot start is logged, and SIGHUP still works.
pub fn start(config_path: &Path) -> (ReloadSources, mpsc::Receiver<ReloadCause>) {
    let (tx, rx) = mpsc::channel(8);

    // Installed now, before READY=1: a SIGHUP right after it must not kill the daemon.
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut hup) => {
            let hup_tx = tx.clone();
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    if hup_tx.send(ReloadCause::Signal).await.is_err() {
                        break;
                    }
                }
            });
        }
        Err(e) => warn!(error = %e, "cannot listen for SIGHUP"),
    }

    let watcher = match watch_file(config_path, tx) {
        Ok(w) => Some(w),
        Err(e) => {
            warn!(path = %config_path.display(), error = %e, "cannot watch the watch-list for changes; reload with SIGHUP");
            None
        }
    };
    (ReloadSources { _watcher: watcher }, rx)
}

fn watch_file(
    path: &Path,
    tx: mpsc::Sender<ReloadCause>,
) -> notify::Result<notify::RecommendedWatcher> {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let name = path.file_name().map(|n| n.to_os_string());
    let (raw_tx, mut raw_rx) = mpsc::unbounded_channel::<()>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        let relevant_kind = matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
        );
        let ours = event
            .paths
            .iter()
            .any(|p| p.file_name().map(|n| n.to_os_string()) == name);
        if relevant_kind && ours {
            let _ = raw_tx.send(());
        }
    })?;
    // Watch the directory: editors replace the file by renaming a new one over it.
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    tokio::spawn(async move {
        while raw_rx.recv().await.is_some() {
            // Debounce: wait until the events stop for DEBOUNCE.
            while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, raw_rx.recv()).await {}
            if tx.send(ReloadCause::FileChanged).await.is_err() {
                break;
            }
        }
    });
    Ok(watcher)
}
