//! PURE. The review's state and its key handling: a key changes the state and may ask for an
//! [`Action`] (a write, a link to open); what to load next is read off the state
//! ([`App::needs_more`], [`App::wants_detail`], [`App::wants_queue`]). No terminal, no database.

use chrono::{DateTime, FixedOffset, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::model::FeedId;
use crate::store::{AlertDetail, AlertFilter, AlertPage, AlertRow, PageKey};

/// The panes, in `Tab` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Alerts,
    Detail,
    Queue,
    Feeds,
}

impl Pane {
    pub const ALL: [Pane; 4] = [Pane::Alerts, Pane::Detail, Pane::Queue, Pane::Feeds];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Alerts => "Alerts",
            Pane::Detail => "Detail",
            Pane::Queue => "Queue",
            Pane::Feeds => "Feeds",
        }
    }

    fn step(self, by: isize) -> Pane {
        let i = Pane::ALL.iter().position(|p| *p == self).unwrap_or(0) as isize;
        Pane::ALL[(i + by).rem_euclid(Pane::ALL.len() as isize) as usize]
    }
}

/// One feed's line in the Feeds pane (the health table of `tidings status`).
#[derive(Debug, Clone, PartialEq)]
pub struct FeedLine {
    pub id: FeedId,
    pub url: String,
    pub name: String,
    pub last_polled_at: Option<DateTime<Utc>>,
    pub last_status: Option<u16>,
    pub next_poll_at: Option<DateTime<Utc>>,
    pub failures: u32,
    /// `enabled = false` in the watch-list.
    pub switched_off: bool,
    /// What `status` says in its STATE column (backoff, deferral, error, ...).
    pub state: String,
    pub muted_until: Option<DateTime<Utc>>,
}

/// One article or alert the model is least sure about.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueItem {
    pub topic: String,
    pub article_id: i64,
    /// The alert, when the article alerted for the topic.
    pub alert_id: Option<i64>,
    pub title: String,
    pub source: String,
    pub link: Option<String>,
    pub score: f64,
    pub threshold: f64,
    pub mark: Option<bool>,
}

/// A topic's marks and cross-validated F1, before and after this session's marks.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicFigures {
    pub topic: String,
    pub right: u32,
    pub wrong: u32,
    /// `None`: the topic does not learn, or has too few examples for the folds.
    pub f1: Option<f64>,
}

/// Something being computed off the UI thread, or its result.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Loading<T> {
    #[default]
    NotStarted,
    Running,
    Ready(T),
    Failed(String),
}

/// What a mark applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkTarget {
    Alert(i64),
    Article { id: i64, topic: String },
}

/// What a key asks the session to do (besides changing the state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    Quit,
    /// The filter changed: load the first page again.
    Reload,
    Mark {
        target: MarkTarget,
        label: bool,
    },
    MuteTopic(String),
    MuteFeed {
        id: FeedId,
        name: String,
    },
    Open(String),
    SetFeedEnabled {
        url: String,
        enabled: bool,
    },
    /// Compute the topics' F1 again with the marks made so far.
    Refigure,
}

/// The review's whole state.
#[derive(Debug)]
pub struct App {
    pub pane: Pane,
    pub help: bool,
    /// The `/` prompt's text while it is open.
    pub prompt: Option<String>,
    pub filter: AlertFilter,
    /// The filter as typed (shown in the Alerts pane's title).
    pub filter_text: String,
    pub alerts: Vec<AlertRow>,
    /// Where the next page starts.
    pub cursor: Option<PageKey>,
    /// No older alerts are left: no further page.
    pub alerts_end: bool,
    pub selected: usize,
    pub detail: Option<AlertDetail>,
    pub detail_scroll: u16,
    pub queue: Loading<Vec<QueueItem>>,
    pub queue_selected: usize,
    pub figures_before: Loading<Vec<TopicFigures>>,
    pub figures_after: Loading<Vec<TopicFigures>>,
    /// Marks made since the "after" figures were last asked for.
    pub marks_since_figures: u32,
    pub feeds: Vec<FeedLine>,
    pub feeds_selected: usize,
    /// The status line: what the last action did, or went wrong.
    pub status: String,
    /// Times are shown at this offset (the local one; UTC in tests).
    pub tz: FixedOffset,
    /// Rows the list panes showed at the last draw (a page for PgUp/PgDn).
    pub page_rows: usize,
    /// The first line each list showed at the last draw (the view keeps the cursor in sight).
    pub alerts_offset: usize,
    pub queue_offset: usize,
    pub feeds_offset: usize,
}

/// Load another page when the selection comes this close to the end of what is loaded.
const PREFETCH: usize = 50;

impl App {
    pub fn new(tz: FixedOffset) -> App {
        App {
            pane: Pane::Alerts,
            help: false,
            prompt: None,
            filter: AlertFilter::default(),
            filter_text: String::new(),
            alerts: Vec::new(),
            cursor: None,
            alerts_end: false,
            selected: 0,
            detail: None,
            detail_scroll: 0,
            queue: Loading::NotStarted,
            queue_selected: 0,
            figures_before: Loading::NotStarted,
            figures_after: Loading::NotStarted,
            marks_since_figures: 0,
            feeds: Vec::new(),
            feeds_selected: 0,
            status: String::new(),
            tz,
            page_rows: 20,
            alerts_offset: 0,
            queue_offset: 0,
            feeds_offset: 0,
        }
    }

    /// The alert under the cursor.
    pub fn selected_alert(&self) -> Option<&AlertRow> {
        self.alerts.get(self.selected)
    }

    /// The list should grow by a page: the cursor is near the end and there is more.
    pub fn needs_more(&self) -> bool {
        !self.alerts_end && self.selected + PREFETCH >= self.alerts.len()
    }

    /// The alert whose detail should be loaded: the Detail pane is shown and holds another.
    pub fn wants_detail(&self) -> Option<i64> {
        let id = self.selected_alert()?.id;
        (self.pane == Pane::Detail && self.detail.as_ref().is_none_or(|d| d.id != id)).then_some(id)
    }

    /// The Queue pane is shown for the first time: its scoring should start.
    pub fn wants_queue(&self) -> bool {
        self.pane == Pane::Queue && self.queue == Loading::NotStarted
    }

    /// A page of older alerts arrived (perhaps empty: the filter kept nothing of the alerts
    /// it looked at, and the next page goes on from there).
    pub fn append_page(&mut self, page: AlertPage) {
        self.alerts_end = page.next.is_none();
        self.cursor = page.next;
        self.alerts.extend(page.rows);
    }

    /// Alerts committed since the top one, newest first: added above, the cursor staying on
    /// the alert it was on.
    pub fn prepend_new(&mut self, rows: Vec<AlertRow>) {
        if rows.is_empty() {
            return;
        }
        if !self.alerts.is_empty() {
            self.selected += rows.len();
        }
        let mut all = rows;
        all.append(&mut self.alerts);
        self.alerts = all;
    }

    /// A new filter: the list starts again from the top.
    fn reset_list(&mut self) {
        self.alerts.clear();
        self.cursor = None;
        self.alerts_end = false;
        self.selected = 0;
        self.alerts_offset = 0;
        self.detail = None;
    }

    /// A mark was recorded: every row showing the article or alert shows it.
    pub fn apply_mark(&mut self, target: &MarkTarget, label: bool) {
        self.marks_since_figures += 1;
        match target {
            MarkTarget::Alert(id) => {
                for r in self.alerts.iter_mut().filter(|r| r.id == *id) {
                    r.mark = Some(label);
                }
                if let Some(d) = self.detail.as_mut().filter(|d| d.id == *id) {
                    d.mark = Some(label);
                }
                if let Loading::Ready(items) = &mut self.queue {
                    for i in items.iter_mut().filter(|i| i.alert_id == Some(*id)) {
                        i.mark = Some(label);
                    }
                }
            }
            MarkTarget::Article { id, topic } => {
                if let Loading::Ready(items) = &mut self.queue {
                    for i in items
                        .iter_mut()
                        .filter(|i| i.article_id == *id && i.topic == *topic)
                    {
                        i.mark = Some(label);
                    }
                }
            }
        }
    }

    /// Handles one key (presses only: a release or repeat report changes nothing).
    pub fn handle_key(&mut self, key: KeyEvent, now: DateTime<Utc>) -> Action {
        if key.kind == KeyEventKind::Release {
            return Action::None;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Action::Quit;
        }
        if let Some(text) = &mut self.prompt {
            return match key.code {
                KeyCode::Esc => {
                    self.prompt = None;
                    Action::None
                }
                KeyCode::Enter => {
                    let text = self.prompt.take().unwrap_or_default();
                    match super::filter::parse(&text, now) {
                        Ok(f) => {
                            self.filter = f;
                            self.filter_text = text.trim().to_string();
                            self.reset_list();
                            self.status.clear();
                            Action::Reload
                        }
                        Err(e) => {
                            self.status = e;
                            Action::None
                        }
                    }
                }
                KeyCode::Backspace => {
                    text.pop();
                    Action::None
                }
                KeyCode::Char(c) => {
                    text.push(c);
                    Action::None
                }
                _ => Action::None,
            };
        }
        if self.help {
            match key.code {
                KeyCode::Char('q') => return Action::Quit,
                _ => {
                    self.help = false;
                    return Action::None;
                }
            }
        }
        match key.code {
            KeyCode::Char('q') => return Action::Quit,
            KeyCode::Char('?') => self.help = true,
            KeyCode::Tab | KeyCode::BackTab => {
                let leaving = self.pane;
                self.pane = self
                    .pane
                    .step(if key.code == KeyCode::Tab { 1 } else { -1 });
                // Leaving the queue after marking there: the "after" figures follow.
                if leaving == Pane::Queue && self.marks_since_figures > 0 {
                    return self.refigure();
                }
            }
            KeyCode::Char('/') if matches!(self.pane, Pane::Alerts | Pane::Detail) => {
                self.pane = Pane::Alerts;
                self.prompt = Some(String::new());
            }
            KeyCode::Esc if self.pane == Pane::Alerts && !self.filter_text.is_empty() => {
                self.filter = AlertFilter::default();
                self.filter_text.clear();
                self.reset_list();
                return Action::Reload;
            }
            KeyCode::Char('j') | KeyCode::Down => self.move_by(1),
            KeyCode::Char('k') | KeyCode::Up => self.move_by(-1),
            KeyCode::PageDown => self.move_by(self.page_rows.max(1) as isize),
            KeyCode::PageUp => self.move_by(-(self.page_rows.max(1) as isize)),
            KeyCode::Char('g') | KeyCode::Home => self.move_by(isize::MIN / 2),
            KeyCode::Char('G') | KeyCode::End => self.move_by(isize::MAX / 2),
            KeyCode::Enter | KeyCode::Char('o') => {
                return match self.link() {
                    Some(link) if crate::desktop::is_openable(&link) => Action::Open(link),
                    Some(_) => {
                        self.status = "only http and https links are opened".into();
                        Action::None
                    }
                    None => Action::None,
                };
            }
            KeyCode::Char(c @ ('y' | 'n')) => {
                let label = c == 'y';
                return match self.mark_target() {
                    Some(target) => Action::Mark { target, label },
                    None => Action::None,
                };
            }
            KeyCode::Char('m') => return self.mute(),
            KeyCode::Char('e') if self.pane == Pane::Feeds => {
                if let Some(f) = self.feeds.get(self.feeds_selected) {
                    return Action::SetFeedEnabled {
                        url: f.url.clone(),
                        enabled: f.switched_off,
                    };
                }
            }
            KeyCode::Char('r') if self.pane == Pane::Queue => return self.refigure(),
            _ => {}
        }
        Action::None
    }

    fn refigure(&mut self) -> Action {
        self.figures_after = Loading::Running;
        self.marks_since_figures = 0;
        Action::Refigure
    }

    /// Moves the cursor of the pane shown (the Detail pane scrolls).
    fn move_by(&mut self, by: isize) {
        let step = |at: usize, len: usize| -> usize {
            if len == 0 {
                return 0;
            }
            (at as isize).saturating_add(by).clamp(0, len as isize - 1) as usize
        };
        match self.pane {
            Pane::Alerts => self.selected = step(self.selected, self.alerts.len()),
            Pane::Detail => {
                let to = i64::from(self.detail_scroll) + by.clamp(-1000, 1000) as i64;
                self.detail_scroll = to.clamp(0, 1000) as u16;
            }
            Pane::Queue => {
                let len = match &self.queue {
                    Loading::Ready(items) => items.len(),
                    _ => 0,
                };
                self.queue_selected = step(self.queue_selected, len);
            }
            Pane::Feeds => self.feeds_selected = step(self.feeds_selected, self.feeds.len()),
        }
    }

    fn queue_item(&self) -> Option<&QueueItem> {
        match &self.queue {
            Loading::Ready(items) => items.get(self.queue_selected),
            _ => None,
        }
    }

    /// The link of what is under the cursor.
    fn link(&self) -> Option<String> {
        match self.pane {
            Pane::Alerts => self.selected_alert()?.link.clone(),
            Pane::Detail => self.detail.as_ref()?.link.clone(),
            Pane::Queue => self.queue_item()?.link.clone(),
            Pane::Feeds => None,
        }
    }

    fn mark_target(&self) -> Option<MarkTarget> {
        match self.pane {
            Pane::Alerts | Pane::Detail => Some(MarkTarget::Alert(self.selected_alert()?.id)),
            Pane::Queue => {
                let i = self.queue_item()?;
                Some(match i.alert_id {
                    Some(id) => MarkTarget::Alert(id),
                    None => MarkTarget::Article {
                        id: i.article_id,
                        topic: i.topic.clone(),
                    },
                })
            }
            Pane::Feeds => None,
        }
    }

    fn mute(&self) -> Action {
        match self.pane {
            Pane::Alerts | Pane::Detail => self
                .selected_alert()
                .map_or(Action::None, |a| Action::MuteTopic(a.topic.clone())),
            Pane::Queue => self
                .queue_item()
                .map_or(Action::None, |i| Action::MuteTopic(i.topic.clone())),
            Pane::Feeds => self
                .feeds
                .get(self.feeds_selected)
                .map_or(Action::None, |f| Action::MuteFeed {
                    id: f.id,
                    name: f.name.clone(),
                }),
        }
    }
}

#[cfg(test)]
mod tests;
