//! `tidings review`: a full-screen terminal UI over the stored alerts, the review queue and
//! the feeds' health.
//!
//! | file | role |
//! |---|---|
//! | `mod.rs` | terminal set-up and teardown (also on panic), the event loop, the database watch |
//! | `app.rs` | PURE: the state and its key handling, returning [`app::Action`]s |
//! | `filter.rs` | PURE: the `/` prompt's text → an [`crate::store::AlertFilter`] |
//! | `session.rs` | the I/O: pages, detail, marks, mutes, feed switching, the opener, jobs |
//! | `queue.rs` | the review queue's scoring and the topics' cross-validated F1 (off the UI thread) |
//! | `view/` | one file per pane (`alerts`, `detail`, `queue`, `feeds`, `help`) |
//!
//! New alerts appear without a key press: a watch on the database's `-wal` file (and a slow
//! tick, for filesystems without inotify) wakes the loop, which asks SQLite's
//! `PRAGMA data_version` whether another connection committed.

pub mod app;
pub mod filter;
pub mod queue;
pub mod session;
pub mod view;

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::Duration;

use crossterm::event::{Event, KeyEventKind};

use crate::config::Config;
use crate::store::Store;
use app::{Action, App};
use session::{Msg, Session};

/// Without a word from the `-wal` watch, the database is looked at this often.
const FALLBACK_TICK: Duration = Duration::from_secs(5);

/// Runs the review on the terminal until `q`. `reader` is the database opened read-only;
/// `config` the watch-list when it could be read (`note` says why not otherwise).
pub fn run(reader: Store, config: Option<Config>, note: Option<String>) -> anyhow::Result<()> {
    let (tx, rx) = mpsc::channel();
    let _watch = watch_wal(reader.path(), tx.clone())
        .map_err(|e| tracing::debug!(error = %e, "no watch on the database; polling it"))
        .ok();
    let tz = *chrono::Local::now().offset();
    let mut app = App::new(tz);
    let mut session = Session::new(reader, config, tx.clone());
    session.start(&mut app, chrono::Utc::now());
    if let Some(note) = note {
        app.status = note;
    }
    // Raw mode, the alternate screen, and a panic hook that restores the terminal first.
    let mut terminal = ratatui::try_init().inspect_err(|_| ratatui::restore())?;
    std::thread::spawn(move || {
        while let Ok(ev) = crossterm::event::read() {
            if tx.send(Msg::Input(ev)).is_err() {
                break;
            }
        }
    });
    let result = event_loop(&mut terminal, &mut app, &mut session, &rx);
    ratatui::restore();
    result
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    session: &mut Session,
    rx: &mpsc::Receiver<Msg>,
) -> anyhow::Result<()> {
    loop {
        terminal.draw(|f| view::draw(f, app))?;
        let now = chrono::Utc::now();
        // While a filter is still searching older alerts (a window at a time), keys are
        // read between windows and the search goes on without one.
        let wait = if app.needs_more() {
            Duration::ZERO
        } else {
            FALLBACK_TICK
        };
        match rx.recv_timeout(wait) {
            Ok(Msg::Input(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                let action = app.handle_key(key, now);
                if action == Action::Quit {
                    return Ok(());
                }
                if action != Action::None {
                    // The last message gives way to what this action says.
                    app.status.clear();
                }
                session.perform(action, app, now);
            }
            Ok(Msg::Input(_)) => {}
            Err(RecvTimeoutError::Timeout) if !wait.is_zero() => {
                session.refresh_if_changed(app, now);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Ok(Msg::DbChanged) => {
                session.refresh_if_changed(app, now);
            }
            Ok(msg) => session.on_message(msg, app),
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
        session.sync(app);
    }
}

/// Watches the database's folder for changes to its `-wal` file (where every commit lands):
/// each one wakes the loop. The folder, not the file: the `-wal` may not exist yet, and is
/// recreated after a checkpoint. inotify only: no descriptor of the database is opened.
fn watch_wal(db: &Path, tx: Sender<Msg>) -> notify::Result<notify::RecommendedWatcher> {
    use notify::{RecursiveMode, Watcher};
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    let wal = std::path::PathBuf::from(wal);
    let wal_name = wal.file_name().map(|n| n.to_owned());
    let dir = match db.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res
            && ev.kind.is_modify() | ev.kind.is_create()
            && ev
                .paths
                .iter()
                .any(|p| p.file_name() == wal_name.as_deref())
        {
            let _ = tx.send(Msg::DbChanged);
        }
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    Ok(watcher)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{now, poll_with};

    /// A commit by another connection (the daemon's) wakes the loop through the `-wal` watch;
    /// the wait is for the message itself, not a sleep.
    #[test]
    fn a_commit_elsewhere_wakes_the_loop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut daemon = Store::open(&path).unwrap();
        let (tx, rx) = mpsc::channel();
        let _watch = watch_wal(&path, tx).unwrap();
        poll_with(
            &mut daemon,
            "https://a.example/rss",
            &[("1", "Finland applies to join NATO", "https://a.example/1")],
            "NATO",
            now(),
        );
        let msg = rx.recv_timeout(Duration::from_secs(30)).expect("woken");
        assert!(matches!(msg, Msg::DbChanged), "{msg:?}");
    }
}
