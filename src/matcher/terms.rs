//! The automaton of every term pattern (Aho-Corasick, DFA or NFA by size) and the
//! interleaved overlapping scan that feeds the scanner its occurrences.

use aho_corasick::automaton::Automaton;
use aho_corasick::{Anchored, MatchKind, dfa, nfa};

/// The automaton of every term pattern.
#[derive(Debug)]
pub(super) enum Terms {
    /// Large pattern sets (a thousand topics), and small ones whose DFA is small: a scan step
    /// is one table load.
    Dfa(dfa::DFA),
    /// Small pattern sets whose DFA would be large (the example watch-list), and any set
    /// whose DFA cannot be built.
    Nfa(nfa::contiguous::NFA),
}

/// A small pattern set (its NFA up to this size) whose DFA would be larger than
/// [`SMALL_SET_DFA_MAX`] keeps the contiguous NFA.
const SMALL_SET_NFA_MAX: usize = 128 * 1024;
/// The most memory a small pattern set's DFA may take.
///
/// The DFA scans 30-50 % faster than the NFA, but its size follows the number of byte classes:
/// the example watch-list's 581 patterns (Latin and Cyrillic spellings) make a 51 KB NFA and a
/// 1.4 MB DFA, resident for the daemon's whole life, for a matcher that is about a tenth of a
/// cold pass. Large sets (a thousand topics: 179 KB NFA, 3.3 MB DFA) always get the DFA, where
/// scan speed dominates. (BENCHMARKS.md, "The matcher's automaton".)
const SMALL_SET_DFA_MAX: usize = 512 * 1024;

impl Terms {
    pub(super) fn build(patterns: &[String]) -> Result<Terms, String> {
        // Every pattern starts with a space, so a start-byte prefilter would stop at every
        // word: none is used.
        let nfa = nfa::contiguous::Builder::new()
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(patterns)
            .map_err(|e| format!("cannot build the term automaton: {e}"))?;
        let small = nfa.memory_usage() <= SMALL_SET_NFA_MAX;
        match dfa::Builder::new()
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(patterns)
        {
            Ok(dfa) if !small || dfa.memory_usage() <= SMALL_SET_DFA_MAX => Ok(Terms::Dfa(dfa)),
            _ => Ok(Terms::Nfa(nfa)),
        }
    }

    /// Every occurrence of every pattern in `hay`, appended to `out` as `(pattern, start)`,
    /// in no particular order.
    pub(super) fn scan(&self, hay: &[u8], out: &mut Vec<(u32, u32)>) {
        match self {
            Terms::Dfa(a) => scan(a, hay, out),
            Terms::Nfa(a) => scan(a, hay, out),
        }
    }
}

/// Overlapping search of `hay` with the automaton `a`, in four (`LANES`) interleaved pieces.
///
/// With a thousand topics the DFA's transition table is megabytes: every step of one scan
/// waits for a load from the L2 cache before it can take the next. The haystack is cut into
/// pieces that are scanned in lockstep, so several independent loads are in flight at once.
/// A piece reports the matches that start inside it, reading on past its end until no match
/// that started inside it can still be under way (at most the longest pattern); a match
/// starting at `p` depends only on the bytes from `p`, so every occurrence is found exactly
/// once.
fn scan<A: Automaton>(a: &A, hay: &[u8], out: &mut Vec<(u32, u32)>) {
    const LANES: usize = 4;
    let Ok(start) = a.start_state(Anchored::No) else {
        return;
    };
    let n = hay.len();
    let over = a.max_pattern_len().saturating_sub(1);
    let piece = n.div_ceil(LANES).max(1);
    let mut from = [0usize; LANES];
    let mut own = [0usize; LANES];
    let mut stop = [0usize; LANES];
    for l in 0..LANES {
        from[l] = (l * piece).min(n);
        own[l] = ((l + 1) * piece).min(n);
        stop[l] = (own[l] + over).min(n);
    }
    let report = |out: &mut Vec<(u32, u32)>, sid, at: usize, own: usize| {
        if !a.is_match(sid) {
            return;
        }
        for i in 0..a.match_len(sid) {
            let pid = a.match_pattern(sid, i);
            let begin = at + 1 - a.pattern_len(pid);
            if begin < own {
                out.push((pid.as_u32(), begin as u32));
            }
        }
    };
    // Every pattern starts with a space: in the start state, or just after a space read in
    // it, no match under way began before the current byte.
    let fresh = a.next_state(Anchored::No, start, b' ');
    let common = (0..LANES).map(|l| own[l] - from[l]).min().unwrap_or(0);
    // Four named states (not an array indexed by lane) stay in registers; one branch per
    // step tests all four for a match.
    let lane = |l: usize| &hay[from[l]..from[l] + common];
    let (mut s0, mut s1, mut s2, mut s3) = (start, start, start, start);
    let steps = lane(0).iter().zip(lane(1)).zip(lane(2)).zip(lane(3));
    for (step, (((&b0, &b1), &b2), &b3)) in steps.enumerate() {
        s0 = a.next_state(Anchored::No, s0, b0);
        s1 = a.next_state(Anchored::No, s1, b1);
        s2 = a.next_state(Anchored::No, s2, b2);
        s3 = a.next_state(Anchored::No, s3, b3);
        if a.is_special(s0) | a.is_special(s1) | a.is_special(s2) | a.is_special(s3) {
            for (l, sid) in [s0, s1, s2, s3].into_iter().enumerate() {
                if a.is_special(sid) {
                    report(out, sid, from[l] + step, own[l]);
                }
            }
        }
    }
    // (Typed by `LANES`: changing the lane count without the named states does not compile.)
    let mut sid: [_; LANES] = [s0, s1, s2, s3];
    for l in 0..LANES {
        let rest = from[l] + common;
        for (at, &byte) in hay.iter().enumerate().take(stop[l]).skip(rest) {
            sid[l] = a.next_state(Anchored::No, sid[l], byte);
            if a.is_special(sid[l]) {
                report(out, sid[l], at, own[l]);
            }
            if at >= own[l] && (sid[l] == start || sid[l] == fresh) {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::AhoCorasick;
    use proptest::prelude::*;

    /// The interleaved scan finds what the library's overlapping search finds.
    /// (Both automata `Terms::build` may choose.)
    fn assert_scan_agrees(patterns: &[String], hay: &str) {
        let Ok(Terms::Dfa(dfa)) = Terms::build(patterns) else {
            panic!("a few plain patterns build a DFA: {patterns:?}");
        };
        let nfa = nfa::contiguous::Builder::new()
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(patterns)
            .expect("NFA");
        for terms in [Terms::Dfa(dfa), Terms::Nfa(nfa)] {
            assert_scan_finds_all(&terms, patterns, hay);
        }
    }

    fn assert_scan_finds_all(terms: &Terms, patterns: &[String], hay: &str) {
        let mut got = Vec::new();
        terms.scan(hay.as_bytes(), &mut got);
        got.sort_unstable();
        let reference = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(patterns)
            .expect("automaton");
        let mut want: Vec<(u32, u32)> = reference
            .find_overlapping_iter(hay)
            .map(|m| (m.pattern().as_u32(), m.start() as u32))
            .collect();
        want.sort_unstable();
        assert_eq!(got, want, "{patterns:?} in {hay:?} ({terms:?})");
    }

    #[test]
    fn interleaved_scan_finds_every_occurrence_once() {
        let pats: Vec<String> = [
            " nato ",
            " nato membership ",
            " negotiat",
            " a b c d e f g h ",
        ]
        .map(String::from)
        .to_vec();
        for hay in [
            "",
            " nato ",
            "\n nato membership talks nato negotiations ",
            " a b c d e f g h a b c d e f g h ",
            " x nato membership nato nato membership negotiators ",
        ] {
            assert_scan_agrees(&pats, hay);
        }
    }

    #[test]
    fn automaton_choice_follows_size() {
        // A few plain words: the DFA is small and fast.
        let few: Vec<String> = (0..20).map(|i| format!(" term{i} ")).collect();
        assert!(matches!(Terms::build(&few), Ok(Terms::Dfa(_))));
        // A small set over many byte classes (Cyrillic spellings, as in the example
        // watch-list): the DFA would be megabytes, the NFA stays.
        let cyrillic: Vec<String> = (0..600u32)
            .map(|i| {
                let c = |k: u32| char::from_u32(0x0430 + (i / k) % 32).unwrap_or('а');
                format!(" {}{}{}{}{} ", c(1), c(32), c(7), c(3), c(11))
            })
            .collect();
        let Ok(Terms::Nfa(nfa)) = Terms::build(&cyrillic) else {
            panic!("a small Cyrillic set keeps the NFA");
        };
        assert!(nfa.memory_usage() <= SMALL_SET_NFA_MAX);
        // A large set: the DFA, whatever its size.
        let large: Vec<String> = (0..20_000u32)
            .map(|i| format!(" w{:x}x{} ", i.wrapping_mul(2_654_435_761), i))
            .collect();
        let Ok(Terms::Dfa(dfa)) = Terms::build(&large) else {
            panic!("a large set builds the DFA");
        };
        let hay = format!("{} and{}", large[7], large[19_999]);
        assert_scan_finds_all(&Terms::Dfa(dfa), &large, &hay);
    }

    proptest! {
        #[test]
        fn interleaved_scan_agrees_with_aho_corasick(
            pats in proptest::collection::vec("[ ab]{1,6}", 1..12),
            hay in "[ abc]{0,200}",
        ) {
            assert_scan_agrees(&pats, &hay);
        }
    }
}
