//! Labelled example files (PURE: parses text; the caller reads the file).
//!
//! Tab-separated UTF-8 with one header line. Columns, by name, in any order:
//! `title` (required), `summary` (optional), the label column (default `label`; a file with one
//! column per topic names it, e.g. `nato_membership`) holding `0` or `1`, and `weight`
//! (optional, a positive number: how many items of a stream this one stands for). Other
//! columns (`id`, `provenance`, ...) are ignored. No quoting: a field runs to the next tab.

use thiserror::Error;

/// One labelled article.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub title: String,
    pub summary: String,
    pub label: bool,
    pub weight: f64,
    /// Where it came from, for messages: `file:line` or `mark 12`.
    pub origin: String,
}

impl Example {
    /// Whether `other` is the same item (same title and summary), whatever its label.
    pub fn same_text(&self, other: &Example) -> bool {
        self.title == other.title && self.summary == other.summary
    }
}

/// A problem in an example file, at a line (1 = the header).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{line}: {message}")]
pub struct ExampleError {
    pub line: usize,
    pub message: String,
}

/// Parse an example file's text. `column` names the label column; `origin` names the file in
/// each example's `origin`.
pub fn read_examples(text: &str, column: &str, origin: &str) -> Result<Vec<Example>, ExampleError> {
    let err = |line: usize, message: String| ExampleError { line, message };
    let mut lines = text.lines().enumerate();
    let header: Vec<&str> = match lines.next() {
        Some((_, h)) => h
            .trim_start_matches('\u{feff}')
            .split('\t')
            .map(str::trim)
            .collect(),
        None => return Err(err(1, "empty file: expected a header line".into())),
    };
    let find = |name: &str| header.iter().position(|h| *h == name);
    let label_at = find(column).ok_or_else(|| {
        err(
            1,
            format!(
                "no label column {column:?} (columns: {})",
                header.join(", ")
            ),
        )
    })?;
    let title_at = find("title").ok_or_else(|| err(1, "no \"title\" column".into()))?;
    let summary_at = find("summary");
    let weight_at = find("weight");
    let mut out = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split('\t').collect();
        let cell = |at: usize| cells.get(at).map_or("", |c| c.trim());
        let label = match cell(label_at) {
            "1" => true,
            "0" => false,
            other => {
                return Err(err(
                    n,
                    format!("{column}: expected 0 or 1, found {other:?}"),
                ));
            }
        };
        let title = cell(title_at).to_owned();
        let summary = summary_at.map_or("", cell).to_owned();
        if title.is_empty() && summary.is_empty() {
            return Err(err(
                n,
                "empty text: title and summary are both empty".into(),
            ));
        }
        let weight = match weight_at.map(cell) {
            None | Some("") => 1.0,
            Some(w) => match w.parse::<f64>() {
                Ok(v) if v.is_finite() && v > 0.0 => v,
                _ => {
                    return Err(err(
                        n,
                        format!("weight: expected a positive number, found {w:?}"),
                    ));
                }
            },
        };
        out.push(Example {
            title,
            summary,
            label,
            weight,
            origin: format!("{origin}:{n}"),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats() {
        let probes = "label\ttitle\tsummary\tprovenance\n1\tFinland to join NATO\tIt applies.\tprobe\n0\tRain\t\tprobe\n";
        let e = read_examples(probes, "label", "p.tsv").unwrap();
        assert_eq!(e.len(), 2);
        assert!(e[0].label && !e[1].label);
        assert_eq!(e[1].summary, "");
        assert_eq!(e[0].origin, "p.tsv:2");
        let shared =
            "id\tweight\ttalks\ttitle\tsummary\na\t46.9\t0\tShelling\tx\nb\t1\t1\tTalks\ty\n";
        let e = read_examples(shared, "talks", "s.tsv").unwrap();
        assert_eq!((e[0].weight, e[1].label), (46.9, true));
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("", "label", "1: empty file"),
            (
                "title\tsummary\nx\ty\n",
                "label",
                "1: no label column \"label\"",
            ),
            ("label\tsummary\n1\ty\n", "label", "1: no \"title\" column"),
            (
                "label\ttitle\n1\tx\nyes\ty\n",
                "label",
                "3: label: expected 0 or 1, found \"yes\"",
            ),
            ("label\ttitle\tsummary\n1\t\t\n", "label", "2: empty text"),
            (
                "label\ttitle\tweight\n1\tx\t-2\n",
                "label",
                "2: weight: expected a positive number",
            ),
        ];
        for (text, col, want) in cases {
            let e = read_examples(text, col, "f").unwrap_err().to_string();
            assert!(e.starts_with(want), "{e:?} should start with {want:?}");
        }
    }
}
