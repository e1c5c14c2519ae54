//! The snippet of a match: about [`SNIPPET_CHARS`] characters of the strongest hit's field,
//! around the window holding the most distinct terms, whitespace collapsed.

use crate::model::Snippet;

use super::scanner::{Doc, HitRef, MAX_MATCH_HITS};

/// Target snippet length, in characters (without the `…`).
const SNIPPET_CHARS: usize = 160;

/// About [`SNIPPET_CHARS`] characters of the field of the strongest hit, around the window
/// holding the most distinct terms. `refs` is sorted strongest first.
pub(super) fn snippet(refs: &[HitRef], doc: &Doc) -> Snippet {
    let Some(first) = refs.first() else {
        return Snippet::default();
    };
    let seg = &doc.segs[first.seg as usize];
    let text = seg.text;
    // `refs` is sorted by (field rank, segment, offsets): the first segment's hits lead.
    let n = refs.iter().take_while(|r| r.seg == first.seg).count();
    let hs = &refs[..n.min(MAX_MATCH_HITS)];

    // The window of hits [i, j] within the target length holding the most distinct terms.
    let (mut ws, mut we, mut best) = (hs[0].ostart as usize, hs[0].oend as usize, 0usize);
    for i in 0..hs.len() {
        let s = hs[i].ostart as usize;
        // Distinct terms of the window (at most MAX_MATCH_HITS hits: no allocation).
        let mut terms = [0u32; MAX_MATCH_HITS];
        let mut n_terms = 0;
        let mut e = hs[i].oend as usize;
        for h in &hs[i..] {
            let he = h.oend as usize;
            // Characters from `s` to `he`, counted only when the byte length cannot decide.
            let too_long = he > e
                && (he - s > SNIPPET_CHARS)
                && (he - s > 4 * SNIPPET_CHARS
                    || text
                        .get(s..he)
                        .is_none_or(|t| t.chars().count() > SNIPPET_CHARS));
            if too_long {
                break;
            }
            e = e.max(he);
            if !terms[..n_terms].contains(&h.leaf) {
                terms[n_terms] = h.leaf;
                n_terms += 1;
            }
        }
        if n_terms > best {
            (ws, we, best) = (s, e, n_terms);
        }
    }
    let (start, end) = widen(text, ws, we);
    let body = &text[start..end];
    let lead = if start > 0 { "…" } else { "" };
    let mut out = String::with_capacity(body.len() + 2 * '…'.len_utf8());
    out.push_str(lead);
    // Mark boundaries (original offsets inside start..end), sorted and unique, and where
    // each one lands in `out` (at most two per hit: no allocation).
    let mut bounds = [0usize; 2 * MAX_MATCH_HITS];
    let mut n_bounds = 0;
    for h in hs {
        let (s, e) = ((h.ostart as usize).max(start), (h.oend as usize).min(end));
        if s < e {
            bounds[n_bounds] = s;
            bounds[n_bounds + 1] = e;
            n_bounds += 2;
        }
    }
    let bounds = &mut bounds[..n_bounds];
    bounds.sort_unstable();
    let n_bounds = {
        let mut n = 0;
        for k in 0..bounds.len() {
            if n == 0 || bounds[k] != bounds[n - 1] {
                bounds[n] = bounds[k];
                n += 1;
            }
        }
        n
    };
    let bounds = &bounds[..n_bounds];
    let mut moved = [0usize; 2 * MAX_MATCH_HITS];
    collapse_ws_into(&mut out, text, start, end, bounds, &mut moved[..n_bounds]);
    if end < text.len() {
        out.push('…');
    }
    let at = |o: usize| bounds.binary_search(&o).map_or(0, |k| moved[k]);
    let mut marks: Vec<(usize, usize)> = Vec::new();
    for h in hs {
        let (s, e) = ((h.ostart as usize).max(start), (h.oend as usize).min(end));
        if s >= e {
            continue;
        }
        let (s, e) = (at(s), at(e));
        if s >= e {
            continue;
        }
        match marks.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => marks.push((s, e)),
        }
    }
    Snippet {
        field: Some(seg.field),
        text: out,
        marks,
    }
}

/// Append `text[start..end]` to `out` with every run of whitespace and control characters
/// collapsed to one space. `bounds` (sorted offsets in `start..=end`) get, in `moved`, the
/// offset in `out` where each lands. Stretches of plain text (single spaces between other
/// characters) are copied whole.
fn collapse_ws_into(
    out: &mut String,
    text: &str,
    start: usize,
    end: usize,
    bounds: &[usize],
    moved: &mut [usize],
) {
    let bytes = text.as_bytes();
    let blank = |c: char| c.is_whitespace() || c.is_control();
    let mut next = 0;
    let mut prev_ws = false;
    let mut k = start;
    while k < end {
        // A stretch copied as it is: printable characters and single ASCII spaces between
        // them.
        let from = k;
        // Sixteen bytes at a time while they are all plain (a test without branches, which
        // the compiler vectorises): most snippet text goes through here.
        let printable = |b: u8| b.wrapping_sub(b'!') < 0x7F - b'!';
        while k + 17 <= end && (k > from || bytes[k] != b' ') {
            let Ok(c) = <&[u8; 17]>::try_from(&bytes[k..k + 17]) else {
                break;
            };
            let plain = (0..16).fold(true, |ok, i| {
                ok & (printable(c[i]) | ((c[i] == b' ') & printable(c[i + 1])))
            });
            if !plain {
                break;
            }
            k += 16;
        }
        while k < end {
            let b = bytes[k];
            if b > b' ' && b < 0x7F {
                k += 1;
            } else if b == b' '
                && k > from
                && bytes.get(k + 1).is_some_and(|&n| n > b' ' && n < 0x7F)
                && k + 1 < end
            {
                k += 2;
            } else if b >= 0x80 {
                match text[k..].chars().next() {
                    Some(c) if !blank(c) => k += c.len_utf8(),
                    _ => break,
                }
            } else {
                break;
            }
        }
        if k > from {
            let base = out.len();
            while next < bounds.len() && bounds[next] < k {
                moved[next] = base + bounds[next].saturating_sub(from);
                next += 1;
            }
            out.push_str(&text[from..k]);
            prev_ws = false;
        }
        // Whitespace and control characters: one space for the run.
        while k < end {
            let Some(c) = text[k..].chars().next() else {
                break;
            };
            if !blank(c) {
                break;
            }
            while next < bounds.len() && bounds[next] <= k {
                moved[next] = out.len();
                next += 1;
            }
            if !prev_ws {
                out.push(' ');
            }
            prev_ws = true;
            k += c.len_utf8();
        }
    }
    for m in &mut moved[next..] {
        *m = out.len();
    }
}

/// Widen the byte range `ws..we` of `text` to about [`SNIPPET_CHARS`] characters, cutting at
/// whitespace where possible. Returns char-boundary offsets.
fn widen(text: &str, ws: usize, we: usize) -> (usize, usize) {
    // Around the hits, text that is ASCII (most news text) is counted in bytes, not walked
    // character by character.
    let near = text.as_bytes()
        [ws.saturating_sub(4 * SNIPPET_CHARS)..(we + 4 * SNIPPET_CHARS).min(text.len())]
        .is_ascii();
    widen_counted(text, ws, we, near)
}

/// [`widen`], counting characters as bytes when `ascii` (the text around the hits is ASCII).
fn widen_counted(text: &str, ws: usize, we: usize, near: bool) -> (usize, usize) {
    let inner = if near {
        we - ws
    } else {
        text.get(ws..we).map_or(0, |t| t.chars().count())
    };
    if inner >= SNIPPET_CHARS {
        // A single long hit: keep its start and cut after the target length.
        let end = if near {
            ws + SNIPPET_CHARS
        } else {
            text[ws..]
                .char_indices()
                .nth(SNIPPET_CHARS)
                .map_or(text.len(), |(k, _)| ws + k)
        };
        return (ws, end);
    }
    let room = SNIPPET_CHARS - inner;
    let (before_avail, after_avail) = if near {
        (ws.min(room), (text.len() - we).min(room))
    } else {
        (
            text[..ws].chars().rev().take(room).count(),
            text[we..].chars().take(room).count(),
        )
    };
    let mut left = (room / 2).min(before_avail);
    let right = (room - left).min(after_avail);
    left = (room - right).min(before_avail);
    let (mut start, mut end) = if near {
        (ws - left, we + right)
    } else {
        let start = if left == 0 {
            ws
        } else {
            text[..ws]
                .char_indices()
                .rev()
                .nth(left - 1)
                .map_or(ws, |(k, _)| k)
        };
        let end = text[we..]
            .char_indices()
            .nth(right)
            .map_or(text.len(), |(k, _)| we + k);
        (start, end)
    };
    if near {
        // ASCII: the same cuts, byte by byte.
        let bytes = text.as_bytes();
        let space = |b: &u8| matches!(b, b' ' | b'\t'..=b'\r');
        if start > 0
            && !space(&bytes[start - 1])
            && let Some(k) = bytes[start..ws].iter().position(space)
        {
            start += k;
        }
        if end < text.len()
            && !space(&bytes[end])
            && let Some(k) = bytes[we..end].iter().rposition(space)
        {
            end = we + k;
        }
        while start < end && space(&bytes[start]) {
            start += 1;
        }
        while end > start && space(&bytes[end - 1]) {
            end -= 1;
        }
        return (start, end);
    }
    // Cut at whitespace: drop the partial word at each cut end.
    if start > 0
        && !text[..start].ends_with(char::is_whitespace)
        && let Some(k) = text[start..ws].find(char::is_whitespace)
    {
        start += k;
    }
    if end < text.len()
        && !text[end..].starts_with(char::is_whitespace)
        && let Some(k) = text[we..end].rfind(char::is_whitespace)
    {
        end = we + k;
    }
    // Trim whitespace at both ends.
    let trimmed = text[start..end].trim_start();
    start = end - trimmed.len();
    let trimmed = text[start..end].trim_end();
    end = start + trimmed.len();
    (start, end.max(start))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What `collapse_ws_into` must do, character by character.
    fn collapse_reference(
        text: &str,
        start: usize,
        end: usize,
        bounds: &[usize],
    ) -> (String, Vec<usize>) {
        let mut out = String::new();
        let mut moved = vec![0; bounds.len()];
        let (mut next, mut prev_ws) = (0, false);
        for (k, c) in text[start..end].char_indices().map(|(k, c)| (start + k, c)) {
            while next < bounds.len() && bounds[next] <= k {
                moved[next] = out.len();
                next += 1;
            }
            if c.is_whitespace() || c.is_control() {
                if !prev_ws {
                    out.push(' ');
                }
                prev_ws = true;
            } else {
                out.push(c);
                prev_ws = false;
            }
        }
        for m in &mut moved[next..] {
            *m = out.len();
        }
        (out, moved)
    }

    proptest! {
        #[test]
        fn collapsing_copy_agrees_with_char_by_char(
            text in "([a-z.]{1,30} ?|[ \t\n\u{7}\u{a0}\u{2003}é’]){0,12}",
            cuts in proptest::collection::vec(0usize..400, 0..8),
        ) {
            let on_char = |k: usize| {
                let mut k = k.min(text.len());
                while !text.is_char_boundary(k) {
                    k -= 1;
                }
                k
            };
            let mut cuts: Vec<usize> = cuts.into_iter().map(on_char).collect();
            cuts.sort_unstable();
            cuts.dedup();
            let (start, end) = match (cuts.first(), cuts.last()) {
                (Some(&a), Some(&b)) if cuts.len() >= 2 => (a, b),
                _ => (0, text.len()),
            };
            let bounds: Vec<usize> = cuts.iter().copied().filter(|&b| b >= start && b <= end).collect();
            let mut out = String::from("…");
            let mut moved = vec![0; bounds.len()];
            collapse_ws_into(&mut out, &text, start, end, &bounds, &mut moved);
            let (want, want_moved) = collapse_reference(&text, start, end, &bounds);
            prop_assert_eq!(&out["…".len()..], want.as_str());
            let shifted: Vec<usize> = want_moved.iter().map(|m| m + "…".len()).collect();
            prop_assert_eq!(moved, shifted);
        }

        #[test]
        fn snippet_window_same_counted_in_bytes_or_chars(
            text in "[a-z \t\n\r]{0,400}",
            a in 0usize..400,
            len in 0usize..200,
        ) {
            let ws = a.min(text.len());
            let we = (ws + len).min(text.len());
            prop_assert_eq!(widen_counted(&text, ws, we, true), widen_counted(&text, ws, we, false));
        }
    }
}
