//! The Alerts pane: newest first, one line each (time, mark, topic, source, headline).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Row, Table, TableState};

use super::{bold, esc, mark_word, selected, when};
use crate::review::app::App;

pub(super) fn draw(frame: &mut Frame<'_>, area: Rect, app: &mut App) {
    let [info, list] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let count = if app.alerts_end {
        format!("{}", app.alerts.len())
    } else {
        format!("{}+", app.alerts.len())
    };
    let filter = if app.filter_text.is_empty() {
        "all (/ to filter)".to_string()
    } else {
        format!("filter: {} (Esc clears)", esc(&app.filter_text))
    };
    frame.render_widget(
        Paragraph::new(Line::styled(
            format!("Alerts, newest first: {count} · {filter}"),
            bold(),
        )),
        info,
    );
    if app.alerts.is_empty() {
        let text = if app.alerts_end {
            if app.filter_text.is_empty() {
                "no alerts yet"
            } else {
                "no alerts match the filter"
            }
        } else {
            "searching older alerts…"
        };
        frame.render_widget(Paragraph::new(text), list);
        return;
    }
    // The header takes a line.
    app.page_rows = list.height.saturating_sub(1).max(1) as usize;
    let rows = app.alerts.iter().map(|a| {
        Row::new(vec![
            when(a.created_at, &app.tz),
            mark_word(a.mark).to_string(),
            esc(&a.topic),
            esc(&a.source),
            esc(&a.title),
        ])
    });
    // Wider names where there is room for them.
    let name = if area.width >= 120 { 24 } else { 14 };
    let table = Table::new(
        rows,
        [
            Constraint::Length(11),
            Constraint::Length(5),
            Constraint::Length(name),
            Constraint::Length(name),
            Constraint::Fill(1),
        ],
    )
    .header(Row::new(["TIME", "MARK", "TOPIC", "SOURCE", "HEADLINE"]).style(bold()))
    .row_highlight_style(selected());
    let mut state = TableState::new()
        .with_offset(app.alerts_offset)
        .with_selected(Some(app.selected));
    frame.render_stateful_widget(table, list, &mut state);
    app.alerts_offset = state.offset();
}
