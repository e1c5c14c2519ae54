//! The compiled scanner: every term of every topic in one Aho-Corasick automaton, evaluation of
//! the topics that got a hit, and explanations (hits + snippet).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use aho_corasick::automaton::Automaton;
use aho_corasick::{Anchored, MatchKind, dfa, nfa};
use regex::Regex;

use crate::model::{Article, Field, Hit, Match, Snippet, TopicId};

use super::normalize::{Normalized, Token, analyze, analyze_stream, words};
use super::parse::{Expr, build_regex, find_alias};

/// Most occurrences kept per pattern (or regex) per article: a 1 MB field of `nato nato …`
/// stays bounded in memory and evaluation time.
const HIT_CAP: usize = 4096;
/// Most hits listed in one `Match`.
const MAX_MATCH_HITS: usize = 64;
/// Target snippet length, in characters (without the `…`).
const SNIPPET_CHARS: usize = 160;

const DEFAULT_SCOPE: u8 = bit(Field::Title) | bit(Field::Summary) | bit(Field::Content);

const fn bit(f: Field) -> u8 {
    1 << (f as u8)
}

fn field_rank(f: Field) -> u8 {
    f as u8
}

#[derive(Debug)]
enum LeafKind {
    /// Aho-Corasick pattern ids (several for an alias).
    Patterns(Vec<u32>),
    Regex(Regex),
}

#[derive(Debug)]
struct Leaf {
    /// The term as written in the query.
    term: Arc<str>,
    /// Fields searched (bit set of `Field`).
    scope: u8,
    kind: LeafKind,
}

#[derive(Debug)]
enum Node {
    Leaf(u32),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Near(Vec<Node>, Vec<u32>),
}

#[derive(Debug)]
struct CompiledTopic {
    id: TopicId,
    root: Node,
}

/// Every compiled topic.
#[derive(Debug)]
pub(crate) struct Scanner {
    ac: Option<Terms>,
    /// Words in each pattern.
    pat_words: Vec<u32>,
    /// Topic slots using each pattern.
    pat_topics: Vec<Vec<u32>>,
    leaves: Vec<Leaf>,
    topics: Vec<CompiledTopic>,
    /// Topic slots with a regex: evaluated on every article.
    always: Vec<u32>,
    /// Fields some term searches (bit set): the others are not even normalised.
    fields: u8,
}

#[derive(Default)]
pub(crate) struct ScannerBuilder {
    patterns: Vec<String>,
    pat_index: HashMap<String, u32>,
    pat_words: Vec<u32>,
    pat_topics: Vec<Vec<u32>>,
    leaves: Vec<Leaf>,
    topics: Vec<CompiledTopic>,
    always: Vec<u32>,
}

impl ScannerBuilder {
    /// Add a parsed (and so validated) topic.
    pub fn add(&mut self, id: TopicId, expr: &Expr, aliases: &crate::model::Aliases) {
        let slot = self.topics.len() as u32;
        let mut has_regex = false;
        let root = self.node(expr, None, slot, aliases, &mut has_regex);
        if has_regex {
            self.always.push(slot);
        }
        self.topics.push(CompiledTopic { id, root });
    }

    fn node(
        &mut self,
        e: &Expr,
        scope: Option<u8>,
        slot: u32,
        aliases: &crate::model::Aliases,
        has_regex: &mut bool,
    ) -> Node {
        let kids = |b: &mut Self, xs: &[Expr], has_regex: &mut bool| -> Vec<Node> {
            xs.iter()
                .map(|x| b.node(x, scope, slot, aliases, has_regex))
                .collect()
        };
        let leaf_kind = match e {
            Expr::Field(f, inner) => {
                return self.node(inner, Some(bit(*f)), slot, aliases, has_regex);
            }
            Expr::Not(inner) => {
                return Node::Not(Box::new(self.node(inner, scope, slot, aliases, has_regex)));
            }
            Expr::And(xs) => return Node::And(kids(self, xs, has_regex)),
            Expr::Or(xs) => return Node::Or(kids(self, xs, has_regex)),
            Expr::Near {
                operands,
                distances,
            } => return Node::Near(kids(self, operands, has_regex), distances.clone()),
            Expr::Word(w) => LeafKind::Patterns(self.pattern(w, false, slot).into_iter().collect()),
            Expr::Prefix(w) => {
                LeafKind::Patterns(self.pattern(w, true, slot).into_iter().collect())
            }
            Expr::Phrase { text, prefix } => {
                LeafKind::Patterns(self.pattern(text, *prefix, slot).into_iter().collect())
            }
            Expr::Alias(name) => {
                let spellings = find_alias(aliases, name).cloned().unwrap_or_default();
                let mut pats = Vec::new();
                for s in &spellings {
                    let s = s.trim();
                    let pat = match s.strip_suffix('*') {
                        Some(p) => self.pattern(p, true, slot),
                        None => self.pattern(s, false, slot),
                    };
                    pats.extend(pat);
                }
                pats.sort_unstable();
                pats.dedup();
                LeafKind::Patterns(pats)
            }
            Expr::Regex(re) => match build_regex(re) {
                Ok(re) => {
                    *has_regex = true;
                    LeafKind::Regex(re)
                }
                // Validated by the parser; an invalid one could only never match.
                Err(_) => LeafKind::Patterns(Vec::new()),
            },
        };
        let id = self.leaves.len() as u32;
        self.leaves.push(Leaf {
            term: e.to_string().into(),
            scope: scope.unwrap_or(DEFAULT_SCOPE),
            kind: leaf_kind,
        });
        Node::Leaf(id)
    }

    /// The pattern for a word / phrase / prefix over the token stream (` w1 w2 ` with the
    /// spaces acting as word boundaries; a prefix has no trailing space).
    fn pattern(&mut self, text: &str, prefix: bool, slot: u32) -> Option<u32> {
        let ws = words(text);
        if ws.is_empty() {
            return None;
        }
        let mut p = String::with_capacity(text.len() + 2);
        for w in &ws {
            p.push(' ');
            p.push_str(w);
        }
        if !prefix {
            p.push(' ');
        }
        let next = self.patterns.len() as u32;
        let id = *self.pat_index.entry(p.clone()).or_insert(next);
        if id == next {
            self.patterns.push(p);
            self.pat_words.push(ws.len() as u32);
            self.pat_topics.push(Vec::new());
        }
        let users = &mut self.pat_topics[id as usize];
        if users.last() != Some(&slot) {
            users.push(slot);
        }
        Some(id)
    }

    pub fn build(self) -> Result<Scanner, String> {
        let ac = if self.patterns.is_empty() {
            None
        } else {
            Some(Terms::build(&self.patterns)?)
        };
        let fields = self.leaves.iter().fold(0, |m, l| m | l.scope);
        Ok(Scanner {
            fields,
            ac,
            pat_words: self.pat_words,
            pat_topics: self.pat_topics,
            leaves: self.leaves,
            topics: self.topics,
            always: self.always,
        })
    }
}

/// The automaton of every term pattern.
#[derive(Debug)]
enum Terms {
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
    fn build(patterns: &[String]) -> Result<Terms, String> {
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
    fn scan(&self, hay: &[u8], out: &mut Vec<(u32, u32)>) {
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

/// One searchable value of an article (the title, one author, ...).
struct Seg<'a> {
    field: Field,
    text: &'a str,
    /// Global indexes of the segment's tokens.
    first_tok: u32,
    end_tok: u32,
    /// The normalised text with its offset map, for regexes (only when a topic has one).
    norm: Option<Normalized>,
}

/// An article analysed once for all topics. The buffers live in a per-thread [`Scratch`].
struct Doc<'a> {
    segs: Vec<Seg<'a>>,
    /// Every token of every segment; `start..end` are offsets in the word stream.
    toks: Vec<Token>,
    /// Segment of each global token.
    tok_seg: Vec<u32>,
    /// `(pattern, global token index of its first word)` for every pattern occurrence, sorted.
    hits: Vec<(u32, u32)>,
    /// Per pattern, the fields (bit set) it occurs in; zero for the patterns not found.
    pat_fields: Vec<u8>,
}

impl Doc<'_> {
    /// Returns the buffers to `scratch` (the field mask all zero again).
    fn give_back(mut self, scratch: &mut Scratch) {
        for &(pat, _) in &self.hits {
            self.pat_fields[pat as usize] = 0;
        }
        scratch.toks = self.toks;
        scratch.tok_seg = self.tok_seg;
        scratch.hits = self.hits;
        scratch.pat_fields = self.pat_fields;
    }
}

/// Buffers reused from one article to the next (matching allocates little per article).
#[derive(Default)]
struct Scratch {
    stream: Vec<u8>,
    toks: Vec<Token>,
    tok_seg: Vec<u32>,
    hits: Vec<(u32, u32)>,
    /// All zero between articles (the entries an article set are reset after it).
    pat_fields: Vec<u8>,
    slots: Vec<u32>,
    arena: Vec<HitRef>,
    spans: Vec<Span>,
    refs: Vec<HitRef>,
}

impl Scratch {
    /// Buffers grown by an enormous article are not kept.
    const KEEP_BYTES: usize = 1 << 20;

    fn recycle(&mut self) {
        if self.stream.capacity() > Self::KEEP_BYTES
            || self.toks.capacity() * size_of::<Token>() > Self::KEEP_BYTES
        {
            *self = Scratch::default();
            return;
        }
        self.stream.clear();
        self.toks.clear();
        self.tok_seg.clear();
        self.hits.clear();
        self.slots.clear();
        self.arena.clear();
        self.spans.clear();
        self.refs.clear();
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

/// Occurrence of a term, or a window of a NEAR chain, in token positions of one segment.
/// `hits` is a range of the evaluation's hit arena (no allocation per occurrence).
#[derive(Debug, Clone, Copy)]
struct Span {
    seg: u32,
    start: u32,
    end: u32,
    hits: (u32, u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct HitRef {
    rank: u8,
    seg: u32,
    ostart: u32,
    oend: u32,
    leaf: u32,
}

impl Scanner {
    pub fn automaton(&self) -> (&'static str, usize) {
        match &self.ac {
            None => ("none", 0),
            Some(Terms::Dfa(a)) => ("DFA", a.memory_usage()),
            Some(Terms::Nfa(a)) => ("NFA", a.memory_usage()),
        }
    }

    /// The topics compiled in, in order.
    pub fn topic_ids(&self) -> Vec<TopicId> {
        self.topics.iter().map(|t| t.id).collect()
    }

    pub fn matches(&self, article: &Article) -> Vec<Match> {
        if self.topics.is_empty() {
            return Vec::new();
        }
        let mut scratch = SCRATCH.with(|c| c.take());
        let doc = self.analyze(article, &mut scratch);
        let mut slots = std::mem::take(&mut scratch.slots);
        slots.extend_from_slice(&self.always);
        let mut last = None;
        for &(pat, _) in &doc.hits {
            if last != Some(pat) {
                last = Some(pat);
                slots.extend_from_slice(&self.pat_topics[pat as usize]);
            }
        }
        slots.sort_unstable();
        slots.dedup();
        let mut out = Vec::new();
        let mut arena = std::mem::take(&mut scratch.arena);
        let mut spans = std::mem::take(&mut scratch.spans);
        let mut refs = std::mem::take(&mut scratch.refs);
        for &slot in &slots {
            let topic = &self.topics[slot as usize];
            if !self.may_match(&topic.root, &doc) {
                continue;
            }
            arena.clear();
            spans.clear();
            if self.eval(&topic.root, &doc, &mut arena, &mut spans) {
                out.push(self.explain(topic.id, &spans, &arena, &doc, &mut refs));
            }
        }
        out.sort_by_key(|m| m.topic);
        doc.give_back(&mut scratch);
        scratch.slots = slots;
        scratch.arena = arena;
        scratch.spans = spans;
        scratch.refs = refs;
        scratch.recycle();
        SCRATCH.with(|c| c.replace(scratch));
        out
    }

    fn analyze<'a>(&self, a: &'a Article, scratch: &mut Scratch) -> Doc<'a> {
        let with_regex = !self.always.is_empty();
        let values = [
            (Field::Title, a.title.as_str()),
            (Field::Summary, a.summary.as_str()),
            (Field::Content, a.content.as_str()),
        ]
        .into_iter()
        .chain(a.authors.iter().map(|s| (Field::Author, s.as_str())))
        .chain(a.categories.iter().map(|s| (Field::Category, s.as_str())))
        .chain(a.link.iter().map(|s| (Field::Link, s.as_str())))
        .chain(std::iter::once((Field::Feed, a.source.as_str())));

        let mut segs = Vec::new();
        let stream = &mut scratch.stream;
        let mut toks = std::mem::take(&mut scratch.toks);
        let mut tok_seg = std::mem::take(&mut scratch.tok_seg);
        for (field, text) in values {
            if text.is_empty() || self.fields & bit(field) == 0 {
                continue;
            }
            let first_tok = toks.len() as u32;
            // A segment starts on a line of its own: no pattern spans two values.
            stream.extend_from_slice(b"\n ");
            analyze_stream(text, stream, &mut toks);
            tok_seg.resize(toks.len(), segs.len() as u32);
            segs.push(Seg {
                field,
                text,
                first_tok,
                end_tok: toks.len() as u32,
                norm: with_regex.then(|| analyze(text, true)),
            });
        }
        let mut hits = std::mem::take(&mut scratch.hits);
        if let Some(ac) = &self.ac {
            ac.scan(stream, &mut hits);
            // Starts of matches are the space before a token: the token is the next one.
            for h in hits.iter_mut() {
                let at = h.1 + 1;
                h.1 = match toks.binary_search_by_key(&at, |t| t.start) {
                    Ok(g) => g as u32,
                    Err(_) => u32::MAX,
                };
            }
            hits.retain(|h| h.1 != u32::MAX);
            hits.sort_unstable();
        }
        let mut pat_fields = std::mem::take(&mut scratch.pat_fields);
        if pat_fields.len() < self.pat_words.len() {
            pat_fields.resize(self.pat_words.len(), 0);
        }
        for &(pat, g) in &hits {
            let seg = tok_seg[g as usize] as usize;
            pat_fields[pat as usize] |= bit(segs[seg].field);
        }
        Doc {
            segs,
            toks,
            tok_seg,
            hits,
            pat_fields,
        }
    }

    /// Evaluate `node`; when true, its occurrences are appended to `out` (none for `NOT`).
    fn eval(&self, node: &Node, doc: &Doc, arena: &mut Vec<HitRef>, out: &mut Vec<Span>) -> bool {
        let mark = out.len();
        match node {
            Node::Leaf(id) => {
                self.leaf(*id, doc, arena, out);
                out.len() > mark
            }
            Node::Not(inner) => {
                let t = self.eval(inner, doc, arena, out);
                out.truncate(mark);
                !t
            }
            Node::And(xs) => {
                for x in xs {
                    if !self.eval(x, doc, arena, out) {
                        out.truncate(mark);
                        return false;
                    }
                }
                true
            }
            Node::Or(xs) => {
                let mut any = false;
                for x in xs {
                    any |= self.eval(x, doc, arena, out);
                }
                any
            }
            Node::Near(ops, dists) => {
                let mut chain: Vec<Link> = Vec::new();
                let mut spans = Vec::new();
                for (i, op) in ops.iter().enumerate() {
                    spans.clear();
                    if !self.eval(op, doc, arena, &mut spans) {
                        return false;
                    }
                    chain = if i == 0 {
                        spans
                            .iter()
                            .map(|s| Link {
                                seg: s.seg,
                                start: s.start,
                                end: s.end,
                                wstart: s.start,
                                wend: s.end,
                                hits: s.hits,
                            })
                            .collect()
                    } else {
                        let n = dists.get(i - 1).copied().unwrap_or(0);
                        near_step(chain, &spans, n, arena)
                    };
                    if chain.is_empty() {
                        return false;
                    }
                }
                out.extend(chain.into_iter().map(|l| Span {
                    seg: l.seg,
                    start: l.wstart,
                    end: l.wend,
                    hits: l.hits,
                }));
                out.len() > mark
            }
        }
    }

    /// Cheap necessary condition for `eval` (no positions, no allocation): every term that
    /// must occur has an occurrence in its scope. `NOT` and regexes are assumed satisfiable.
    fn may_match(&self, node: &Node, doc: &Doc) -> bool {
        match node {
            Node::Leaf(id) => {
                let leaf = &self.leaves[*id as usize];
                match &leaf.kind {
                    LeafKind::Regex(_) => true,
                    LeafKind::Patterns(pats) => pats
                        .iter()
                        .any(|&pat| doc.pat_fields[pat as usize] & leaf.scope != 0),
                }
            }
            Node::Not(_) => true,
            Node::And(xs) | Node::Near(xs, _) => xs.iter().all(|x| self.may_match(x, doc)),
            Node::Or(xs) => xs.iter().any(|x| self.may_match(x, doc)),
        }
    }

    fn leaf(&self, id: u32, doc: &Doc, arena: &mut Vec<HitRef>, out: &mut Vec<Span>) {
        let leaf = &self.leaves[id as usize];
        match &leaf.kind {
            LeafKind::Patterns(pats) => {
                for &pat in pats {
                    let from = doc.hits.partition_point(|h| h.0 < pat);
                    let gs = doc.hits[from..]
                        .iter()
                        .take_while(|h| h.0 == pat)
                        .take(HIT_CAP)
                        .map(|h| h.1);
                    let n = self.pat_words[pat as usize];
                    for g in gs {
                        let seg_id = doc.tok_seg[g as usize];
                        let seg = &doc.segs[seg_id as usize];
                        if leaf.scope & bit(seg.field) == 0 {
                            continue;
                        }
                        if g + n > seg.end_tok {
                            continue;
                        }
                        let start = g - seg.first_tok;
                        let end = start + n;
                        let (first, last) =
                            (&doc.toks[g as usize], &doc.toks[(g + n - 1) as usize]);
                        let h = arena.len() as u32;
                        arena.push(HitRef {
                            rank: field_rank(seg.field),
                            seg: seg_id,
                            ostart: first.ostart,
                            oend: last.oend,
                            leaf: id,
                        });
                        out.push(Span {
                            seg: seg_id,
                            start,
                            end,
                            hits: (h, h + 1),
                        });
                    }
                }
            }
            LeafKind::Regex(re) => {
                for (seg_id, seg) in doc.segs.iter().enumerate() {
                    if leaf.scope & bit(seg.field) == 0 {
                        continue;
                    }
                    let Some(norm) = &seg.norm else {
                        continue;
                    };
                    let toks = &norm.tokens;
                    for m in re
                        .find_iter(&norm.text)
                        .filter(|m| !m.is_empty())
                        .take(HIT_CAP)
                    {
                        let (s, e) = (m.start() as u32, m.end() as u32);
                        let start = toks.partition_point(|t| t.end <= s) as u32;
                        let end = (toks.partition_point(|t| t.start < e) as u32).max(start);
                        let ostart = norm.orig_start(m.start()) as u32;
                        let oend = (norm.orig_end(m.end()) as u32).max(ostart);
                        let h = arena.len() as u32;
                        arena.push(HitRef {
                            rank: field_rank(seg.field),
                            seg: seg_id as u32,
                            ostart,
                            oend,
                            leaf: id,
                        });
                        out.push(Span {
                            seg: seg_id as u32,
                            start,
                            end,
                            hits: (h, h + 1),
                        });
                    }
                }
            }
        }
    }

    /// The `Match` of `topic` from the occurrences that made it true. `refs` is a scratch
    /// buffer.
    fn explain(
        &self,
        topic: TopicId,
        spans: &[Span],
        arena: &[HitRef],
        doc: &Doc,
        refs: &mut Vec<HitRef>,
    ) -> Match {
        refs.clear();
        refs.extend(
            spans
                .iter()
                .flat_map(|s| &arena[s.hits.0 as usize..s.hits.1 as usize])
                .copied(),
        );
        refs.sort_unstable();
        refs.dedup_by(|a, b| {
            (a.seg, a.ostart, a.oend) == (b.seg, b.ostart, b.oend)
                && self.leaves[a.leaf as usize].term == self.leaves[b.leaf as usize].term
        });
        let snippet = snippet(refs, doc);
        refs.truncate(MAX_MATCH_HITS);
        let hits = refs
            .iter()
            .map(|r| {
                let seg = &doc.segs[r.seg as usize];
                Hit {
                    term: self.leaves[r.leaf as usize].term.clone(),
                    text: seg
                        .text
                        .get(r.ostart as usize..r.oend as usize)
                        .unwrap_or_default()
                        .into(),
                    field: seg.field,
                    start: r.ostart as usize,
                    end: r.oend as usize,
                }
            })
            .collect();
        Match {
            topic,
            hits,
            snippet,
            learned: None,
        }
    }
}

/// A partial NEAR chain: the occurrence of the last operand matched so far, and the window.
struct Link {
    seg: u32,
    start: u32,
    end: u32,
    wstart: u32,
    wend: u32,
    hits: (u32, u32),
}

/// Extend every chain in `prev` by an occurrence in `next` at most `n` words away (either
/// side, not overlapping), keeping for each new occurrence the closest previous link.
fn near_step(mut prev: Vec<Link>, next: &[Span], n: u32, arena: &mut Vec<HitRef>) -> Vec<Link> {
    prev.sort_unstable_by_key(|l| (l.seg, l.start));
    let max_len = prev.iter().map(|l| l.end - l.start).max().unwrap_or(0);
    let mut out = Vec::new();
    for b in next {
        let lo_start = b.start.saturating_sub(n.saturating_add(max_len));
        let hi_start = b.end.saturating_add(n);
        let from = prev.partition_point(|l| (l.seg, l.start) < (b.seg, lo_start));
        let mut best: Option<(u32, usize)> = None;
        for (k, a) in prev[from..].iter().enumerate() {
            if a.seg != b.seg || a.start > hi_start {
                break;
            }
            let gap = if a.end <= b.start {
                b.start - a.end
            } else if b.end <= a.start {
                a.start - b.end
            } else {
                continue; // overlapping occurrences are not two different words
            };
            if gap <= n && best.is_none_or(|(g, _)| gap < g) {
                best = Some((gap, from + k));
            }
        }
        if let Some((_, k)) = best {
            let a = &prev[k];
            let h = arena.len() as u32;
            arena.extend_from_within(a.hits.0 as usize..a.hits.1 as usize);
            arena.extend_from_within(b.hits.0 as usize..b.hits.1 as usize);
            let hits = (h, arena.len() as u32);
            out.push(Link {
                seg: b.seg,
                start: b.start,
                end: b.end,
                wstart: a.wstart.min(b.start),
                wend: a.wend.max(b.end),
                hits,
            });
        }
    }
    out
}

/// About [`SNIPPET_CHARS`] characters of the field of the strongest hit, around the window
/// holding the most distinct terms. `refs` is sorted strongest first.
fn snippet(refs: &[HitRef], doc: &Doc) -> Snippet {
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

        #[test]
        fn interleaved_scan_agrees_with_aho_corasick(
            pats in proptest::collection::vec("[ ab]{1,6}", 1..12),
            hay in "[ abc]{0,200}",
        ) {
            assert_scan_agrees(&pats, &hay);
        }
    }
}
