//! The Feeds pane: the health table of `tidings status`, with enable/disable and mutes.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Row, Table, TableState};

use super::{bold, esc, selected, when};
use crate::review::app::App;

pub(super) fn draw(frame: &mut Frame<'_>, area: Rect, app: &mut App) {
    let [info, list] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    frame.render_widget(
        Paragraph::new(Line::styled(
            format!(
                "Feeds: {} · e enable/disable in the watch-list · m mute 1 h",
                app.feeds.len()
            ),
            bold(),
        )),
        info,
    );
    if app.feeds.is_empty() {
        frame.render_widget(Paragraph::new("no feeds polled yet"), list);
        return;
    }
    app.page_rows = list.height.saturating_sub(1).max(1) as usize;
    let tz = app.tz;
    let time =
        |t: Option<chrono::DateTime<chrono::Utc>>| t.map_or("-".to_string(), |t| when(t, &tz));
    let rows = app.feeds.iter().map(|f| {
        let mut state = Vec::new();
        if let Some(until) = f.muted_until {
            state.push(format!("muted until {}", when(until, &tz)));
        }
        if !f.state.is_empty() {
            state.push(f.state.clone());
        }
        Row::new(vec![
            esc(&f.name),
            time(f.last_polled_at),
            f.last_status.map_or("-".into(), |s| s.to_string()),
            f.failures.to_string(),
            if f.switched_off {
                "-".into()
            } else {
                time(f.next_poll_at)
            },
            esc(&state.join("; ")),
        ])
    });
    let name = if area.width >= 120 { 32 } else { 20 };
    let table = Table::new(
        rows,
        [
            Constraint::Length(name),
            Constraint::Length(11),
            Constraint::Length(4),
            Constraint::Length(5),
            Constraint::Length(11),
            Constraint::Fill(1),
        ],
    )
    .header(Row::new(["FEED", "LAST POLL", "HTTP", "FAILS", "NEXT POLL", "STATE"]).style(bold()))
    .row_highlight_style(selected());
    let mut state = TableState::new()
        .with_offset(app.feeds_offset)
        .with_selected(Some(app.feeds_selected));
    frame.render_stateful_widget(table, list, &mut state);
    app.feeds_offset = state.offset();
}
