//! The review's I/O: the database (a read-only connection for reading, a read-write one
//! opened on the first mark or mute), the watch-list, background jobs, and the opener. It
//! carries out the [`Action`]s of [`App::handle_key`] and loads what the state asks for.

use std::path::PathBuf;
use std::sync::mpsc::Sender;

use chrono::{DateTime, Utc};

use super::app::{Action, App, FeedLine, Loading, MarkTarget, QueueItem, TopicFigures};
use crate::config::Config;
use crate::store::{Store, StoreError};

/// Alerts read per page.
pub const PAGE: usize = 200;
/// After a commit elsewhere, the listed rows this far on either side of the selection are
/// read again (their marks and delivery): more than a screen, never the whole list.
const REREAD_AROUND: usize = 250;

/// What reaches the event loop: a terminal event, a change of the database, a job's result.
#[derive(Debug)]
pub enum Msg {
    Input(crossterm::event::Event),
    DbChanged,
    Queue(Result<Vec<QueueItem>, String>),
    Figures {
        after: bool,
        result: Result<Vec<TopicFigures>, String>,
    },
}

pub struct Session {
    reader: Store,
    writer: Option<Store>,
    db: PathBuf,
    config: Option<Config>,
    tx: Sender<Msg>,
    /// `PRAGMA data_version` when the list was last brought up to date.
    version: i64,
    /// What the queue's background scoring takes for now (tests set a fixed time).
    clock: fn() -> DateTime<Utc>,
}

impl Session {
    /// `reader` is the existing database opened read-only; `config` the watch-list, if it
    /// could be read (without it there is no queue and no feed switching).
    pub fn new(reader: Store, config: Option<Config>, tx: Sender<Msg>) -> Session {
        let db = reader.path().to_path_buf();
        let version = reader.data_version().unwrap_or_default();
        Session {
            reader,
            writer: None,
            db,
            config,
            tx,
            version,
            clock: Utc::now,
        }
    }

    /// The first screen: a page of alerts, the feeds; the topics' "before" figures start in
    /// the background.
    pub fn start(&mut self, app: &mut App, now: DateTime<Utc>) {
        self.sync(app);
        self.load_feeds(app, now);
        if self.config.is_some() {
            app.figures_before = Loading::Running;
            self.spawn_figures(false);
        } else {
            app.figures_before = Loading::Failed("no watch-list: no figures".into());
        }
    }

    /// Loads what the state asks for: another page, the detail shown, the queue.
    pub fn sync(&mut self, app: &mut App) {
        if app.needs_more() {
            match self
                .reader
                .alert_page(&app.filter, app.cursor.as_ref(), PAGE)
            {
                Ok(page) => app.append_page(page),
                Err(e) => {
                    app.alerts_end = true;
                    app.status = format!("cannot read the alerts: {e}");
                }
            }
        }
        if let Some(id) = app.wants_detail() {
            match self.reader.alert_detail(id) {
                Ok(d) => {
                    app.detail = d;
                    app.detail_scroll = 0;
                }
                Err(e) => app.status = format!("cannot read alert #{id}: {e}"),
            }
        }
        if app.wants_queue() {
            match &self.config {
                Some(_) => {
                    app.queue = Loading::Running;
                    self.spawn_queue();
                }
                None => app.queue = Loading::Failed("no watch-list: nothing to score with".into()),
            }
        }
    }

    /// Scores the queue on another thread, with the marks in the database now (this
    /// session's too); the result comes back as a [`Msg`].
    fn spawn_queue(&self) {
        let Some(config) = self.config.clone() else {
            return;
        };
        let (db, tx, now) = (self.db.clone(), self.tx.clone(), (self.clock)());
        std::thread::spawn(move || {
            let result = Store::open_read_only(&db)
                .map_err(anyhow::Error::from)
                .and_then(|store| {
                    let cache = crate::model_cache::DirCache::read_only(&db);
                    super::queue::build(&store, &config, &cache, now)
                })
                .map_err(|e| format!("{e:#}"));
            let _ = tx.send(Msg::Queue(result));
        });
    }

    /// Computes the topics' figures on another thread; the result comes back as a [`Msg`].
    fn spawn_figures(&self, after: bool) {
        let Some(config) = self.config.clone() else {
            return;
        };
        let (db, tx) = (self.db.clone(), self.tx.clone());
        std::thread::spawn(move || {
            let result = Store::open_read_only(&db)
                .map_err(anyhow::Error::from)
                .and_then(|store| super::queue::figures(&store, &config))
                .map_err(|e| format!("{e:#}"));
            let _ = tx.send(Msg::Figures { after, result });
        });
    }

    /// A background job's result.
    pub fn on_message(&mut self, msg: Msg, app: &mut App) {
        match msg {
            Msg::Queue(r) => {
                app.queue = r.map_or_else(Loading::Failed, Loading::Ready);
                if let Loading::Ready(items) = &app.queue {
                    app.queue_selected = app.queue_selected.min(items.len().saturating_sub(1));
                    app.queue_offset = app.queue_offset.min(app.queue_selected);
                }
            }
            Msg::Figures { after, result } => {
                let l = result.map_or_else(Loading::Failed, Loading::Ready);
                if after {
                    app.figures_after = l;
                } else {
                    app.figures_before = l;
                }
            }
            Msg::Input(_) | Msg::DbChanged => {}
        }
    }

    /// Has anyone committed since we last looked (`PRAGMA data_version`)? Then the rows listed
    /// are read again (marks, delivery), the alerts committed since join the top of the list,
    /// and the feeds are read again. Returns whether anything changed.
    pub fn refresh_if_changed(&mut self, app: &mut App, now: DateTime<Utc>) -> bool {
        let Ok(v) = self.reader.data_version() else {
            return false;
        };
        if v == self.version {
            return false;
        }
        self.version = v;
        // The rows around the selection: what can be on screen before the next check.
        let from = app.selected.saturating_sub(REREAD_AROUND);
        let listed: Vec<i64> = app
            .alerts
            .iter()
            .skip(from)
            .take(REREAD_AROUND.saturating_mul(2))
            .map(|r| r.id)
            .collect();
        match self.reader.alerts_by_id(&listed) {
            Ok(rows) => app.update_rows(rows),
            Err(e) => app.status = format!("cannot read the alerts again: {e}"),
        }
        match app.alerts.first().cloned() {
            Some(top) => match self.reader.alerts_newer(&app.filter, &top, PAGE) {
                Ok(rows) => app.prepend_new(rows),
                Err(e) => app.status = format!("cannot read new alerts: {e}"),
            },
            None => {
                app.cursor = None;
                app.alerts_end = false;
                self.sync(app);
            }
        }
        self.load_feeds(app, now);
        true
    }

    /// The read-write connection, opened on first use (the file exists: it is never created).
    fn writer(&mut self) -> Result<&mut Store, StoreError> {
        if self.writer.is_none() {
            self.writer = Some(Store::open(&self.db)?);
        }
        Ok(self.writer.as_mut().expect("just opened"))
    }

    /// Carries out what a key asked for; what happened (or went wrong) goes to the status line.
    pub fn perform(&mut self, action: Action, app: &mut App, now: DateTime<Utc>) {
        let result: anyhow::Result<String> = match action {
            Action::None | Action::Quit => return,
            Action::Reload => {
                // `topic:nato` finds the watch-list's "NATO" (the store compares exactly).
                if let (Some(t), Some(config)) = (&mut app.filter.topic, &self.config)
                    && let Some(known) = config
                        .topics
                        .iter()
                        .find(|k| k.name.to_lowercase() == t.to_lowercase())
                {
                    *t = known.name.clone();
                }
                self.sync(app);
                return;
            }
            Action::Mark { target, label } => self
                .mark(&target, label, now)
                .inspect(|_| app.apply_mark(&target, label)),
            Action::MuteTopic(topic) => {
                // As long as the notification's "Mute topic for 1 h".
                let until = crate::checked_time::later(now, crate::daemon::MUTE_FOR);
                self.writer()
                    .and_then(|w| w.mute_topic(&topic, until))
                    .map(|()| {
                        format!(
                            "topic {} muted until {}",
                            super::view::esc(&topic),
                            until.with_timezone(&app.tz).format("%H:%M")
                        )
                    })
                    .map_err(Into::into)
            }
            Action::MuteFeed { id, name } => {
                // As long as the notification's "Mute topic for 1 h".
                let until = crate::checked_time::later(now, crate::daemon::MUTE_FOR);
                let r = self.writer().and_then(|w| w.mute_feed(id, until));
                self.load_feeds(app, now);
                r.map(|()| {
                    format!(
                        "feed {} muted until {}",
                        super::view::esc(&name),
                        until.with_timezone(&app.tz).format("%H:%M")
                    )
                })
                .map_err(Into::into)
            }
            Action::Open(link) => self.open(&link),
            Action::SetFeedEnabled { url, enabled } => {
                let r = self.set_feed_enabled(&url, enabled);
                self.load_feeds(app, now);
                r
            }
            Action::Refigure => {
                if self.config.is_none() {
                    app.figures_after = Loading::Failed("no watch-list".into());
                } else {
                    // The figures and the queue, both as the topics learn with the marks made
                    // so far; the queue shown stays until the new one comes.
                    self.spawn_figures(true);
                    if matches!(app.queue, Loading::Ready(_)) {
                        self.spawn_queue();
                    }
                }
                return;
            }
        };
        app.status = match result {
            Ok(s) => s,
            Err(e) => format!("{e:#}"),
        };
    }

    fn mark(
        &mut self,
        target: &MarkTarget,
        label: bool,
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let word = crate::store::label_word(label);
        let w = self.writer()?;
        let what = match target {
            MarkTarget::Alert(id) => {
                let m = w.mark_alert(*id, label, "review", now)?;
                format!("alert #{} ({})", m.alert_id, super::view::esc(&m.topic))
            }
            MarkTarget::Article { id, topic } => {
                w.mark_article(*id, topic, label, "review", now)?;
                format!("article {id} ({})", super::view::esc(topic))
            }
        };
        Ok(format!(
            "{what} marked {word}: the daemon learns it at its next reload"
        ))
    }

    /// Opens an http(s) link with `settings.opener` (default `xdg-open`), detached.
    fn open(&self, link: &str) -> anyhow::Result<String> {
        let default = crate::config::Settings::default().opener;
        let opener = self
            .config
            .as_ref()
            .map_or(&default, |c| &c.settings.opener);
        crate::opener::open(opener, link)?;
        Ok(format!("opened {}", super::view::esc(link)))
    }

    /// `enabled = false` in the watch-list, or removed, as `tidings feeds enable|disable`
    /// does (enabling also lifts a 410 Gone); a running daemon reloads the watch-list.
    fn set_feed_enabled(&mut self, url: &str, enabled: bool) -> anyhow::Result<String> {
        let path = self
            .config
            .as_ref()
            .map(|c| c.path.clone())
            .ok_or_else(|| anyhow::anyhow!("no watch-list to edit"))?;
        crate::cli::switch_feed(&path, url, enabled).map_err(|f| f.error)?;
        if enabled {
            self.writer()?.enable_feed(url)?;
        }
        self.config = Some(crate::config::load(&path)?);
        let word = if enabled {
            "enabled"
        } else {
            "disabled (enabled = false)"
        };
        Ok(format!("{}: {word}", super::view::esc(url)))
    }

    /// The feeds' health, as `tidings status` shows it.
    fn load_feeds(&mut self, app: &mut App, now: DateTime<Utc>) {
        let read = || -> Result<Vec<FeedLine>, StoreError> {
            let feeds = self.reader.feeds()?;
            let deferrals = self.reader.host_deferrals(now)?;
            let muted = self.reader.muted_feeds(now)?;
            let switched_off: Vec<&str> = self
                .config
                .iter()
                .flat_map(|c| c.disabled_feeds.iter().map(|f| f.url.as_str()))
                .collect();
            Ok(feeds
                .into_iter()
                .map(|f| {
                    let off = switched_off.contains(&f.url.as_str());
                    let deferral = crate::cli::status::deferral_of(&f, &deferrals);
                    let state = crate::cli::status::feed_health(&f, off, deferral, |t| {
                        super::view::when(t, &app.tz)
                    });
                    FeedLine {
                        id: f.id,
                        name: f
                            .name
                            .clone()
                            .or_else(|| f.title.clone())
                            .unwrap_or_else(|| f.url.clone()),
                        url: f.url,
                        last_polled_at: f.last_polled_at,
                        last_status: f.last_status,
                        next_poll_at: f.next_poll_at,
                        failures: f.consecutive_failures,
                        switched_off: off,
                        state: state.join("; "),
                        muted_until: muted.iter().find(|m| m.0 == f.id).map(|m| m.1),
                    }
                })
                .collect())
        };
        match read() {
            Ok(feeds) => {
                app.feeds_selected = app.feeds_selected.min(feeds.len().saturating_sub(1));
                app.feeds = feeds;
            }
            Err(e) => app.status = format!("cannot read the feeds: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{now, poll_with};

    /// An alert committed through another connection (the daemon's) joins the top of the
    /// list at the next `data_version` check; nothing changes when nobody committed.
    #[test]
    fn alerts_committed_elsewhere_appear_on_top() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut daemon = Store::open(&path).unwrap();
        poll_with(
            &mut daemon,
            "https://a.example/rss",
            &[("1", "First story", "https://a.example/1")],
            "NATO",
            now(),
        );
        let (tx, _rx) = std::sync::mpsc::channel();
        let mut session = Session::new(Store::open_read_only(&path).unwrap(), None, tx);
        let mut app = App::new(chrono::FixedOffset::east_opt(0).unwrap());
        session.start(&mut app, now());
        assert_eq!(app.alerts.len(), 1);
        assert_eq!(app.feeds.len(), 1);
        assert!(!session.refresh_if_changed(&mut app, now()), "nothing new");

        poll_with(
            &mut daemon,
            "https://b.example/rss",
            &[("2", "Second story", "https://b.example/2")],
            "NATO",
            now() + chrono::Duration::minutes(5),
        );
        assert!(session.refresh_if_changed(&mut app, now()));
        let titles: Vec<&str> = app.alerts.iter().map(|a| a.title.as_str()).collect();
        assert_eq!(titles, ["Second story", "First story"]);
        assert_eq!(app.feeds.len(), 2, "the feeds are read again");

        // A mark made elsewhere (`tidings mark`, a notification's button) on a row already
        // listed shows at the next check.
        let first = app.alerts[1].id;
        daemon.mark_alert(first, true, "cli", now()).unwrap();
        assert!(session.refresh_if_changed(&mut app, now()));
        assert_eq!(
            app.alerts[1].mark,
            Some(true),
            "the listed row follows the mark"
        );

        // A mark from the review goes through its own read-write connection.
        let id = app.alerts[0].id;
        session.perform(
            Action::Mark {
                target: MarkTarget::Alert(id),
                label: false,
            },
            &mut app,
            now(),
        );
        assert_eq!(app.alerts[0].mark, Some(false), "{}", app.status);
        let marks = daemon.marks().unwrap();
        let labels: Vec<bool> = marks.iter().map(|m| m.label).collect();
        assert_eq!(
            labels,
            [true, false],
            "the mark from elsewhere, then the review's"
        );
        session.perform(
            Action::MuteFeed {
                id: app.feeds[0].id,
                name: "A".into(),
            },
            &mut app,
            now(),
        );
        assert!(app.feeds[0].muted_until.is_some(), "{}", app.status);
        assert_eq!(daemon.muted_feeds(now()).unwrap().len(), 1);
    }
    /// `r` in the Queue pane scores the queue again with the marks made since: the item marked
    /// right is scored by a model that has learned it.
    #[test]
    fn r_scores_the_queue_again_with_the_marks_made() {
        let dir = tempfile::tempdir().unwrap();
        let (config, store, ids) = crate::review::queue::tests::setup(dir.path());
        drop(store);
        let path = dir.path().join("t.db");
        let (tx, rx) = std::sync::mpsc::channel();
        let mut session = Session::new(Store::open_read_only(&path).unwrap(), Some(config), tx);
        session.clock = now;
        let mut app = App::new(chrono::FixedOffset::east_opt(0).unwrap());
        session.start(&mut app, now());
        app.pane = super::super::app::Pane::Queue;
        session.sync(&mut app);
        let next_queue = || loop {
            let msg = rx
                .recv_timeout(std::time::Duration::from_secs(60))
                .expect("a background result");
            if let Msg::Queue(r) = msg {
                return r.expect("the queue is scored");
            }
        };
        let first = next_queue();
        let score_of = |items: &[QueueItem], id: i64| {
            items
                .iter()
                .find(|i| i.article_id == id)
                .map(|i| i.score)
                .unwrap()
        };
        let before = score_of(&first, ids[2]);
        session.on_message(Msg::Queue(Ok(first)), &mut app);
        session.perform(
            Action::Mark {
                target: MarkTarget::Article {
                    id: ids[2],
                    topic: "NATO".into(),
                },
                label: true,
            },
            &mut app,
            now(),
        );
        session.perform(Action::Refigure, &mut app, now());
        let again = next_queue();
        assert!(
            score_of(&again, ids[2]) > before,
            "marked right, it scores higher: {before} then {}",
            score_of(&again, ids[2])
        );
    }
}
