//! The Queue pane: per topic, its marks and cross-validated F1 (before and after this
//! session's marks), then what the model is least sure about, closest to the threshold first.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Row, Table, TableState};

use super::{bold, esc, mark_word, selected};
use crate::review::app::{App, Loading, QueueItem, TopicFigures};

pub(super) fn draw(frame: &mut Frame<'_>, area: Rect, app: &mut App) {
    let topics = figures_rows(app);
    let fig_height = (topics.len() as u16 + 1).min(area.height / 3).max(2);
    let [figs, info, list] = Layout::vertical([
        Constraint::Length(fig_height),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(area);
    let table = Table::new(
        topics,
        [
            Constraint::Length(28),
            Constraint::Length(12),
            Constraint::Length(10),
            Constraint::Fill(1),
        ],
    )
    .header(Row::new(["TOPIC", "MARKS +/-", "F1 BEFORE", "F1 AFTER (r)"]).style(bold()));
    frame.render_widget(table, figs);
    let items = match &app.queue {
        Loading::NotStarted | Loading::Running => {
            frame.render_widget(Paragraph::new("scoring the last 7 days' articles…"), info);
            return;
        }
        Loading::Failed(e) => {
            frame.render_widget(Paragraph::new(esc(e)), info);
            return;
        }
        Loading::Ready(items) => items,
    };
    frame.render_widget(
        Paragraph::new(Line::styled(
            format!(
                "Review queue: {} least sure, last 7 days · y right · n wrong",
                items.len()
            ),
            bold(),
        )),
        info,
    );
    if items.is_empty() {
        frame.render_widget(
            Paragraph::new("nothing to review: no recent article of a topic that learns"),
            list,
        );
        return;
    }
    let rows: Vec<Row<'static>> = items
        .iter()
        .map(|i| {
            let cmp = if i.score >= i.threshold { '≥' } else { '<' };
            Row::new(vec![
                format!("{:.2}{cmp}{:.2}", i.score, i.threshold),
                kind(i).to_string(),
                mark_word(i.mark).to_string(),
                esc(&i.topic),
                esc(&i.title),
            ])
        })
        .collect();
    app.page_rows = list.height.saturating_sub(1).max(1) as usize;
    let name = if area.width >= 120 { 24 } else { 14 };
    let table = Table::new(
        rows,
        [
            Constraint::Length(9),
            Constraint::Length(5),
            Constraint::Length(5),
            Constraint::Length(name),
            Constraint::Fill(1),
        ],
    )
    .header(Row::new(["SCORE", "KIND", "MARK", "TOPIC", "HEADLINE"]).style(bold()))
    .row_highlight_style(selected());
    let mut state = TableState::new()
        .with_offset(app.queue_offset)
        .with_selected(Some(app.queue_selected));
    frame.render_stateful_widget(table, list, &mut state);
    app.queue_offset = state.offset();
}

/// `alert`: it alerted; `below`: it did not, and the model still says no; `new`: it did not
/// alert, but the model trained with the marks would let it through now.
fn kind(i: &QueueItem) -> &'static str {
    match i.alert_id {
        Some(_) => "alert",
        None if i.score < i.threshold => "below",
        None => "new",
    }
}

/// One row per topic: marks, F1 before, F1 after.
fn figures_rows(app: &App) -> Vec<Row<'static>> {
    let before: &[TopicFigures] = match &app.figures_before {
        Loading::Ready(f) => f,
        _ => &[],
    };
    let after: &[TopicFigures] = match &app.figures_after {
        Loading::Ready(f) => f,
        _ => &[],
    };
    let f1 = |f: Option<f64>| f.map_or("-".to_string(), |v| format!("{v:.3}"));
    let pending = |l: &Loading<Vec<TopicFigures>>| match l {
        Loading::Running => "computing…".to_string(),
        Loading::Failed(e) => esc(e),
        _ => String::new(),
    };
    if before.is_empty() {
        let note = match &app.figures_before {
            Loading::Ready(_) => "no topic learns".to_string(),
            other => pending(other),
        };
        return vec![Row::new(vec![note])];
    }
    before
        .iter()
        .map(|b| {
            let a = after.iter().find(|a| a.topic == b.topic);
            let (right, wrong) = a.map_or((b.right, b.wrong), |a| (a.right, a.wrong));
            Row::new(vec![
                esc(&b.topic),
                format!("+{right}/-{wrong}"),
                f1(b.f1),
                match a {
                    Some(a) => f1(a.f1),
                    None => pending(&app.figures_after),
                },
            ])
        })
        .collect()
}
