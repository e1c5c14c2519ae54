//! The Detail pane: the selected alert's headline, feed, link, summary with the hits marked,
//! the terms that fired, the model's score and reasons, and who else reported it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{bold, esc, mark_word, when};
use crate::model::{Field, Hit};
use crate::review::app::App;

pub(super) fn draw(frame: &mut Frame<'_>, area: Rect, app: &mut App) {
    let Some(d) = &app.detail else {
        let text = if app.alerts.is_empty() {
            "no alert selected"
        } else {
            "loading…"
        };
        frame.render_widget(Paragraph::new(text), area);
        return;
    };
    let label = |s: &str| Span::styled(format!("{s:<10}"), bold());
    let mut lines = vec![
        Line::from(marked(&d.title, &hits_in(&d.hits, Field::Title), true)),
        Line::from(""),
        Line::from(vec![
            label("Feed"),
            Span::raw(format!("{}  <{}>", esc(&d.source), esc(&d.feed_url))),
        ]),
        Line::from(vec![
            label("Link"),
            Span::raw(d.link.as_deref().map_or("-".into(), esc)),
        ]),
        Line::from(vec![
            label("Topic"),
            Span::raw(format!(
                "{}  · alert #{} at {}{}",
                esc(&d.topic),
                d.id,
                when(d.created_at, &app.tz),
                match d.mark {
                    Some(_) => format!("  · marked {}", mark_word(d.mark)),
                    None => String::new(),
                }
            )),
        ]),
        Line::from(vec![label("Terms"), Span::raw(esc(&d.terms.join(", ")))]),
    ];
    if let Some(l) = &d.learned {
        lines.push(Line::from(vec![
            label("Model"),
            Span::raw(esc(crate::cli::model_line(l).trim_start_matches("model: "))),
        ]));
    }
    if !d.also_reported_by.is_empty() {
        lines.push(Line::from(vec![
            label("Also by"),
            Span::raw(esc(&d.also_reported_by.join(", "))),
        ]));
    }
    lines.push(Line::from(""));
    if d.summary.trim().is_empty() {
        if !d.snippet.text.is_empty() {
            let spans: Vec<Span<'static>> = d
                .snippet
                .segments()
                .map(|(s, hit)| styled(s, hit))
                .collect();
            lines.push(Line::from(spans));
        }
    } else {
        lines.push(Line::from(marked(
            &d.summary,
            &hits_in(&d.hits, Field::Summary),
            false,
        )));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((app.detail_scroll, 0)),
        area,
    );
}

/// The byte ranges of `field`'s hits, sorted, merged.
fn hits_in(hits: &[Hit], field: Field) -> Vec<(usize, usize)> {
    let mut r: Vec<(usize, usize)> = hits
        .iter()
        .filter(|h| h.field == field && h.start < h.end)
        .map(|h| (h.start, h.end))
        .collect();
    r.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (s, e) in r {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// `text` as spans, the `ranges` (hits) reversed; ranges that do not fit the text (a stored
/// explanation from another version of the article) are left out.
fn marked(text: &str, ranges: &[(usize, usize)], all_bold: bool) -> Vec<Span<'static>> {
    let base = if all_bold { bold() } else { Style::new() };
    let mut spans = Vec::new();
    let mut at = 0;
    for &(s, e) in ranges {
        if s < at || e > text.len() || !text.is_char_boundary(s) || !text.is_char_boundary(e) {
            continue;
        }
        if s > at {
            spans.push(Span::styled(esc(&text[at..s]), base));
        }
        spans.push(Span::styled(
            esc(&text[s..e]),
            base.add_modifier(Modifier::REVERSED),
        ));
        at = e;
    }
    if at < text.len() {
        spans.push(Span::styled(esc(&text[at..]), base));
    }
    spans
}

fn styled(s: &str, hit: bool) -> Span<'static> {
    if hit {
        Span::styled(esc(s), Style::new().add_modifier(Modifier::REVERSED))
    } else {
        Span::raw(esc(s))
    }
}
