//! The help screen: every key, as the README's keys table lists them.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Row, Table};

use super::bold;

/// Every key of `tidings review` and what it does (the README's table is this list).
pub const KEYS: &[(&str, &str)] = &[
    ("j, Down / k, Up", "move down / up (Detail: scroll)"),
    ("PgDn / PgUp", "a page down / up"),
    (
        "g, Home / G, End",
        "to the first / last line read (G again reads on)",
    ),
    (
        "Tab / Shift-Tab",
        "next / previous pane: Alerts, Detail, Queue, Feeds",
    ),
    ("/", "filter alerts: text, topic:NAME, feed:TEXT, since:7d"),
    ("Enter (in /)", "apply the filter; Esc cancels"),
    ("Esc", "clear the filter (Alerts)"),
    ("y / n", "mark right / wrong (alerts and queue items)"),
    ("m", "mute the topic for 1 h (Feeds: the feed)"),
    ("Enter, o", "open the link with the opener (http/https)"),
    ("e", "enable / disable the feed in the watch-list (Feeds)"),
    (
        "r",
        "F1 and the queue again, with this session's marks (Queue)",
    ),
    ("?", "this help (any key closes it)"),
    ("q, Ctrl-C", "quit"),
];

pub(super) fn draw(frame: &mut Frame<'_>, area: Rect) {
    let rows = KEYS.iter().map(|(k, what)| Row::new([*k, *what]));
    let table = Table::new(rows, [Constraint::Length(18), Constraint::Fill(1)])
        .header(Row::new(["KEY", "WHAT IT DOES"]).style(bold()));
    frame.render_widget(table, area);
}
