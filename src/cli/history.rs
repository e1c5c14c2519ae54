//! `tidings history` and `tidings stats`: the stored alerts as lines, JSON, CSV or a chart.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;

use super::paths::open_store_read_only;
use super::{Failure, Global, usage};
use crate::sanitize::escape_controls as esc;
use crate::store::Store;

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only this topic.
    #[arg(long, value_name = "NAME")]
    pub topic: Option<String>,
    /// Only feeds whose name, title or URL contains this.
    #[arg(long, value_name = "TEXT")]
    pub feed: Option<String>,
    /// Only alerts since then: "24h", "7d", "2022-03-01" or an RFC 3339 time.
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only alerts before then (same forms as --since).
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// Only alerts whose headline, summary or snippet contains every one of these words.
    #[arg(long, value_name = "WORDS")]
    pub search: Option<String>,
    /// How many alerts to show.
    #[arg(long, short = 'n', default_value_t = 20)]
    pub limit: usize,
    /// One JSON object per line.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// CSV with a header row.
    #[arg(long)]
    pub csv: bool,
    /// Also show the matched terms and the snippet.
    #[arg(long)]
    pub explain: bool,
}

/// `tidings history`.
pub(super) fn history_command(global: &Global, args: HistoryArgs) -> Result<ExitCode, Failure> {
    let store = open_store_read_only(global)?;
    history(&store, &args)
}

/// `tidings stats`.
pub(super) fn stats_command(global: &Global, days: u32) -> Result<ExitCode, Failure> {
    let store = open_store_read_only(global)?;
    stats(&store, days)
}

fn history(store: &Store, args: &HistoryArgs) -> Result<ExitCode, Failure> {
    let now = chrono::Utc::now();
    let when = |s: &Option<String>| {
        s.as_deref()
            .map(|s| parse_since(s, now).map_err(usage))
            .transpose()
    };
    let filter = crate::store::HistoryFilter {
        topic: args.topic.clone(),
        feed: args.feed.clone(),
        since: when(&args.since)?,
        until: when(&args.until)?,
        search: args
            .search
            .as_deref()
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
        limit: args.limit,
    };
    let rows = store.history(&filter)?;
    let mut out = std::io::stdout().lock();
    let state = |r: &crate::store::HistoryRow| match (&r.delivered_at, &r.delivery_error, r.notify)
    {
        (Some(_), _, _) => r
            .delivered_via
            .clone()
            .unwrap_or_else(|| "delivered".into()),
        (None, _, false) => "backlog".into(),
        (None, Some(_), true) => "failed".into(),
        (None, None, true) => "pending".into(),
    };
    if args.json {
        for r in &rows {
            let mut v = serde_json::to_value(r).map_err(anyhow::Error::from)?;
            v["state"] = serde_json::Value::String(state(r));
            if writeln!(out, "{v}").is_err() {
                break;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.csv {
        // Cells are quoted by `csv_cell` (which also neutralises formulas), not by the writer.
        let mut w = csv::WriterBuilder::new()
            .quote_style(csv::QuoteStyle::Never)
            .from_writer(out);
        write_csv_record(
            &mut w,
            [
                "time",
                "topic",
                "source",
                "headline",
                "link",
                "delivered",
                "also_reported_by",
                "terms",
                "snippet",
                "id",
                "mark",
                "score",
            ],
        )?;
        for r in &rows {
            write_csv_record(
                &mut w,
                [
                    crate::store::ts(r.created_at),
                    r.topic.clone(),
                    r.source.clone(),
                    r.title.clone(),
                    r.link.clone().unwrap_or_default(),
                    state(r),
                    r.also_reported_by.join("; "),
                    r.terms.join("; "),
                    r.snippet.clone(),
                    r.id.to_string(),
                    r.mark.clone().unwrap_or_default(),
                    r.score.map(|s| format!("{s:.4}")).unwrap_or_default(),
                ],
            )?;
        }
        w.flush().map_err(anyhow::Error::from)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        let _ = writeln!(out, "no alerts");
    }
    // Every piece of stored text is escaped: rows stored before feed text was stripped at
    // parse may still hold escape sequences, and topic names and states are cheap to include.
    for r in rows {
        let when = r
            .created_at
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M");
        let mut text = format!(
            "{when}  {}  {}  {}  [{}]  #{}",
            esc(&r.topic),
            esc(&r.source),
            esc(&r.title),
            esc(&state(&r)),
            r.id
        );
        match r.mark.as_deref() {
            Some("right") => text.push_str("  ✓ right"),
            Some("wrong") => text.push_str("  ✗ wrong"),
            _ => {}
        }
        if let Some(link) = &r.link {
            text.push_str(&format!("\n    {}", esc(link)));
        }
        if !r.also_reported_by.is_empty() {
            text.push_str(&format!(
                "\n    also reported by: {}",
                esc(&r.also_reported_by.join(", "))
            ));
        }
        if args.explain {
            text.push_str(&format!("\n    terms: {}", esc(&r.terms.join(", "))));
            if let (Some(score), Some(threshold), Some(reasons)) =
                (r.score, r.threshold, &r.reasons)
            {
                text.push_str(&format!(
                    "\n    {}",
                    esc(&model_line(&crate::model::Learned {
                        score,
                        threshold,
                        reasons: reasons.clone(),
                    }))
                ));
            }
            if !r.snippet.is_empty() {
                text.push_str(&format!("\n    {}", esc(&r.snippet)));
            }
        }
        if writeln!(out, "{text}").is_err() {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One row of `history --csv`, each cell through [`csv_cell`].
fn write_csv_record<W: Write, S: AsRef<str>>(
    w: &mut csv::Writer<W>,
    cells: impl IntoIterator<Item = S>,
) -> Result<(), Failure> {
    let cells: Vec<S> = cells.into_iter().collect();
    let cells: Vec<std::borrow::Cow<'_, str>> =
        cells.iter().map(|c| csv_cell(c.as_ref())).collect();
    w.write_record(cells.iter().map(|c| c.as_bytes()))
        .map_err(anyhow::Error::from)?;
    Ok(())
}

/// One CSV cell as written: quoted where CSV needs it (a comma, a quote, a line break), and a
/// cell a spreadsheet would read as a formula — starting with `=`, `+`, `-`, `@`, tab or
/// carriage return — neutralised as OWASP advises ("CSV Injection"): a `'` in front, in quotes.
/// Feed text is the server's: `=HYPERLINK(...)` in a headline must stay text.
pub fn csv_cell(s: &str) -> std::borrow::Cow<'_, str> {
    let formula = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if !formula && !s.contains([',', '"', '\n', '\r']) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 4);
    out.push('"');
    if formula {
        out.push('\'');
    }
    out.push_str(&s.replace('"', "\"\""));
    out.push('"');
    std::borrow::Cow::Owned(out)
}

/// `model: score 0.93 ≥ 0.50 — t:talks +0.81, q:@side +0.62`: a learned topic's verdict on one
/// line (the reasons are the features that pushed the score up most).
pub fn model_line(l: &crate::model::Learned) -> String {
    let cmp = if l.accepted() { '≥' } else { '<' };
    let mut s = format!("model: score {:.2} {cmp} {:.2}", l.score, l.threshold);
    if !l.reasons.is_empty() {
        let reasons: Vec<String> = l
            .reasons
            .iter()
            .map(|(f, c)| format!("{f} {c:+.2}"))
            .collect();
        s.push_str(" — ");
        s.push_str(&reasons.join(", "));
    }
    s
}

/// `tidings stats`: one line per topic, a bar per day (▁ to █ scaled to the busiest day).
fn stats(store: &Store, days: u32) -> Result<ExitCode, Failure> {
    let today = chrono::Local::now().date_naive();
    let first = today
        .checked_sub_days(chrono::Days::new(u64::from(days.saturating_sub(1))))
        .unwrap_or(chrono::NaiveDate::MIN);
    let since = crate::local_time::day_start(first, &chrono::Local);
    let rows = store.alerts_per_day(since)?;
    print!("{}", render_stats(&rows, first, today));
    Ok(ExitCode::SUCCESS)
}

/// The stats chart as text (pure, for tests).
pub fn render_stats(
    rows: &[(chrono::NaiveDate, String, u64)],
    first: chrono::NaiveDate,
    last: chrono::NaiveDate,
) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let days = ((last - first).num_days() + 1).max(1) as usize;
    let mut topics: Vec<&str> = rows.iter().map(|(_, t, _)| t.as_str()).collect();
    topics.sort_unstable();
    topics.dedup();
    let mut out = format!("alerts per day, {first} … {last}\n");
    if topics.is_empty() {
        out.push_str("no alerts in this period\n");
        return out;
    }
    let max = rows.iter().map(|r| r.2).max().unwrap_or(1).max(1);
    let width = topics.iter().map(|t| t.chars().count()).max().unwrap_or(0);
    for topic in topics {
        let mut counts = vec![0u64; days];
        for (d, t, n) in rows {
            let i = (*d - first).num_days();
            if t == topic && (0..days as i64).contains(&i) {
                counts[i as usize] += n;
            }
        }
        let bars: String = counts
            .iter()
            .map(|&n| {
                if n == 0 {
                    '·'
                } else {
                    BARS[((n * 8 - 1) / max).min(7) as usize]
                }
            })
            .collect();
        let total: u64 = counts.iter().sum();
        let pad = width - topic.chars().count();
        out.push_str(&format!("{topic}{}  {bars}  {total}\n", " ".repeat(pad)));
    }
    out.push_str(&format!("(· none, █ = {max} a day)\n"));
    out
}

/// "7d", "36h", "90m" (that long ago), "2022-03-01" (midnight UTC) or an RFC 3339 time.
pub fn parse_since(
    s: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    let s = s.trim();
    if let Ok(d) = humantime::parse_duration(s) {
        // Further back than the calendar goes is "since the beginning".
        return Ok(crate::checked_time::earlier(now, d));
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(crate::local_time::day_start(d, &chrono::Utc));
    }
    anyhow::bail!(
        "cannot read {s:?} as a time: use a duration (\"7d\", \"36h\"), a date (2022-03-01) or an RFC 3339 time"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn stats_chart_scales_bars_per_topic() {
        let d = |day: u32| NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
        let rows = vec![
            (d(25), "NATO membership".to_string(), 8),
            (d(27), "NATO membership".to_string(), 1),
            (d(26), "Talks".to_string(), 4),
        ];
        assert_eq!(
            render_stats(&rows, d(25), d(27)),
            "alerts per day, 2026-11-25 … 2026-11-27\n\
             NATO membership  █·▁  9\n\
             Talks            ·▄·  4\n\
             (· none, █ = 8 a day)\n"
        );
        assert!(render_stats(&[], d(25), d(27)).contains("no alerts"));
    }

    #[test]
    fn csv_cells_are_quoted_where_needed_and_formulas_neutralised() {
        for (cell, want) in [
            ("NATO talks", "NATO talks"),
            ("", ""),
            ("0.9349", "0.9349"),
            ("a, b", "\"a, b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("line\nbreak", "\"line\nbreak\""),
            (
                "=HYPERLINK(\"https://evil.example\",\"x\")",
                "\"'=HYPERLINK(\"\"https://evil.example\"\",\"\"x\"\")\"",
            ),
            ("+1", "\"'+1\""),
            ("-2+3", "\"'-2+3\""),
            ("@SUM(A1)", "\"'@SUM(A1)\""),
            ("\t=1", "\"'\t=1\""),
            ("\r=1", "\"'\r=1\""),
            ("a=1", "a=1"),
        ] {
            assert_eq!(csv_cell(cell), want, "{cell:?}");
        }
        // What a CSV reader gets back: the text, with the quote mark in front of formulas.
        let mut w = csv::WriterBuilder::new()
            .quote_style(csv::QuoteStyle::Never)
            .from_writer(Vec::new());
        write_csv_record(&mut w, ["=1+1", "a,\"b\"", "-x", "plain"]).unwrap();
        let bytes = w.into_inner().unwrap();
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(bytes.as_slice());
        let row = r.records().next().unwrap().unwrap();
        assert_eq!(
            row.iter().collect::<Vec<_>>(),
            ["'=1+1", "a,\"b\"", "'-x", "plain"]
        );
    }

    #[test]
    fn model_line_shows_score_threshold_and_reasons() {
        let l = crate::model::Learned {
            score: 0.9349,
            threshold: 0.5,
            reasons: vec![("t:talks".into(), 0.814), ("q:@side".into(), 0.6161)],
        };
        assert_eq!(
            model_line(&l),
            "model: score 0.93 ≥ 0.50 — t:talks +0.81, q:@side +0.62"
        );
        let l = crate::model::Learned {
            score: 0.2,
            threshold: 0.35,
            reasons: vec![],
        };
        assert_eq!(model_line(&l), "model: score 0.20 < 0.35");
    }

    #[test]
    fn since_accepts_durations_dates_and_times() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            parse_since("24h", now).unwrap(),
            now - chrono::Duration::hours(24)
        );
        assert_eq!(
            parse_since("2022-03-01", now).unwrap().to_rfc3339(),
            "2022-03-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_since("2022-03-01T10:00:00Z", now)
                .unwrap()
                .to_rfc3339(),
            "2022-03-01T10:00:00+00:00"
        );
        assert!(parse_since("yesterday-ish", now).is_err());
        // Further back than the calendar reaches (it panicked): since the beginning.
        assert_eq!(
            parse_since("300000y", now).unwrap(),
            chrono::DateTime::<chrono::Utc>::MIN_UTC
        );
    }
}
