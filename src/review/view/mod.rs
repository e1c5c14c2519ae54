//! The review's screen: a tab line, the pane shown (one file each), a status or prompt line.
//! No colours anywhere (bold and reverse only): it reads the same with `NO_COLOR`, over SSH
//! and on a monochrome terminal. Feed text is escaped ([`esc`]) before it is drawn.

mod alerts;
mod detail;
mod feeds;
pub mod help;
mod queue;
#[cfg(test)]
mod tests;

use chrono::{DateTime, FixedOffset, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::{App, Pane};

/// Draws the whole screen.
pub fn draw(frame: &mut Frame<'_>, app: &mut App) {
    let [top, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(tab_line(app, top.width), top);
    if app.help {
        help::draw(frame, body);
    } else {
        match app.pane {
            Pane::Alerts => alerts::draw(frame, body, app),
            Pane::Detail => detail::draw(frame, body, app),
            Pane::Queue => queue::draw(frame, body, app),
            Pane::Feeds => feeds::draw(frame, body, app),
        }
    }
    draw_bottom(frame, bottom, app);
}

fn tab_line(app: &App, width: u16) -> Paragraph<'static> {
    let mut spans = Vec::new();
    for p in Pane::ALL {
        let style = if p == app.pane && !app.help {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::new()
        };
        spans.push(Span::styled(format!(" {} ", p.title()), style));
        spans.push(Span::raw(" "));
    }
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let right = "tidings review · ? help";
    let pad = (width as usize).saturating_sub(used + right.len());
    if pad > 0 {
        spans.push(Span::raw(" ".repeat(pad)));
        spans.push(Span::raw(right));
    }
    Paragraph::new(Line::from(spans))
}

fn draw_bottom(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let line = if let Some(text) = &app.prompt {
        Line::from(vec![
            Span::styled("/", Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(esc(text)),
            Span::styled(" ", Style::new().add_modifier(Modifier::REVERSED)),
            Span::raw("  Enter apply · Esc cancel"),
        ])
    } else if !app.status.is_empty() {
        Line::from(Span::styled(
            esc(&app.status),
            Style::new().add_modifier(Modifier::BOLD),
        ))
    } else {
        Line::from(hints(app.pane))
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// The keys worth knowing in a pane, on one line.
fn hints(pane: Pane) -> &'static str {
    match pane {
        Pane::Alerts => "j/k move · / filter · y/n right/wrong · m mute topic · o open · Tab · q",
        Pane::Detail => "j/k scroll · y/n right/wrong · m mute topic · o open · Tab · q quit",
        Pane::Queue => "j/k move · y/n right/wrong · r re-score · o open · Tab · q quit",
        Pane::Feeds => "j/k move · e enable/disable · m mute feed 1 h · Tab · q quit",
    }
}

/// Feed-derived text as it may be drawn: control characters and bidi controls made visible.
pub(super) fn esc(s: &str) -> String {
    crate::sanitize::escape_controls(s).into_owned()
}

/// `MM-DD HH:MM` at the review's offset.
pub(super) fn when(t: DateTime<Utc>, tz: &FixedOffset) -> String {
    t.with_timezone(tz).format("%m-%d %H:%M").to_string()
}

pub(super) fn bold() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

pub(super) fn selected() -> Style {
    Style::new().add_modifier(Modifier::REVERSED)
}

/// A mark as a word.
pub(super) fn mark_word(mark: Option<bool>) -> &'static str {
    match mark {
        Some(true) => "right",
        Some(false) => "wrong",
        None => "",
    }
}
