//! The compiled engine: every term of every topic in one Aho-Corasick automaton, evaluation of
//! the topics that got a hit, and explanations (hits + snippet).

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::Regex;

use crate::model::{Article, Field, Hit, Match, Snippet, TopicId};

use super::normalize::{Normalized, analyze, words};
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
    term: String,
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
pub(crate) struct Engine {
    ac: Option<AhoCorasick>,
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
pub(crate) struct EngineBuilder {
    patterns: Vec<String>,
    pat_index: HashMap<String, u32>,
    pat_words: Vec<u32>,
    pat_topics: Vec<Vec<u32>>,
    leaves: Vec<Leaf>,
    topics: Vec<CompiledTopic>,
    always: Vec<u32>,
}

impl EngineBuilder {
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
            term: e.to_string(),
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

    pub fn build(self) -> Result<Engine, String> {
        let ac = if self.patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    // Every pattern starts with a space, so a start-byte prefilter would stop
                    // at every word: the plain DFA is faster.
                    .prefilter(false)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(&self.patterns)
                    .or_else(|_| {
                        AhoCorasick::builder()
                            .match_kind(MatchKind::Standard)
                            .build(&self.patterns)
                    })
                    .map_err(|e| format!("cannot build the term automaton: {e}"))?,
            )
        };
        let fields = self.leaves.iter().fold(0, |m, l| m | l.scope);
        Ok(Engine {
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

/// One searchable value of an article (the title, one author, ...).
struct Seg<'a> {
    field: Field,
    text: &'a str,
    norm: Normalized,
    /// Global index of the segment's first token.
    first_tok: u32,
}

/// An article analysed once for all topics.
struct Doc<'a> {
    segs: Vec<Seg<'a>>,
    /// Segment of each global token.
    tok_seg: Vec<u32>,
    /// `(pattern, global token index of its first word)` for every pattern occurrence, sorted.
    hits: Vec<(u32, u32)>,
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

impl Engine {
    pub fn matches(&self, article: &Article) -> Vec<Match> {
        if self.topics.is_empty() {
            return Vec::new();
        }
        let doc = self.analyze(article);
        let mut slots: Vec<u32> = self.always.clone();
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
        let mut arena = Vec::new();
        let mut spans = Vec::new();
        for slot in slots {
            let topic = &self.topics[slot as usize];
            if !self.may_match(&topic.root, &doc) {
                continue;
            }
            arena.clear();
            spans.clear();
            if self.eval(&topic.root, &doc, &mut arena, &mut spans) {
                out.push(self.explain(topic.id, &spans, &arena, &doc));
            }
        }
        out.sort_by_key(|m| m.topic);
        out
    }

    fn analyze<'a>(&self, a: &'a Article) -> Doc<'a> {
        let want_map = !self.always.is_empty();
        let mut values: Vec<(Field, &str)> = vec![
            (Field::Title, &a.title),
            (Field::Summary, &a.summary),
            (Field::Content, &a.content),
        ];
        values.extend(a.authors.iter().map(|s| (Field::Author, s.as_str())));
        values.extend(a.categories.iter().map(|s| (Field::Category, s.as_str())));
        if let Some(link) = &a.link {
            values.push((Field::Link, link));
        }
        values.push((Field::Feed, &a.source));

        let mut segs = Vec::with_capacity(values.len());
        let mut stream =
            String::with_capacity(a.title.len() + a.summary.len() + a.content.len() + 64);
        let mut tok_stream: Vec<u32> = Vec::new();
        let mut tok_seg = Vec::new();
        for (field, text) in values {
            if text.is_empty() || self.fields & bit(field) == 0 {
                continue;
            }
            let norm = analyze(text, want_map);
            let first_tok = tok_seg.len() as u32;
            stream.push_str("\n ");
            for t in &norm.tokens {
                tok_stream.push(stream.len() as u32);
                tok_seg.push(segs.len() as u32);
                stream.push_str(&norm.text[t.start as usize..t.end as usize]);
                stream.push(' ');
            }
            segs.push(Seg {
                field,
                text,
                norm,
                first_tok,
            });
        }
        let mut hits: Vec<(u32, u32)> = Vec::new();
        if let Some(ac) = &self.ac {
            // Token starts are increasing and matches come in order of their end: a cursor
            // usually finds the token without a search.
            let mut cursor = 0usize;
            for m in ac.find_overlapping_iter(&stream) {
                let at = m.start() as u32 + 1;
                let g = if tok_stream.get(cursor) == Some(&at) {
                    cursor
                } else if tok_stream.get(cursor + 1) == Some(&at) {
                    cursor + 1
                } else {
                    match tok_stream.binary_search(&at) {
                        Ok(g) => g,
                        Err(_) => continue,
                    }
                };
                cursor = g;
                hits.push((m.pattern().as_u32(), g as u32));
            }
            hits.sort_unstable();
        }
        Doc {
            segs,
            tok_seg,
            hits,
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
                    LeafKind::Patterns(pats) => pats.iter().any(|&pat| {
                        let from = doc.hits.partition_point(|h| h.0 < pat);
                        doc.hits[from..].iter().take_while(|h| h.0 == pat).any(|h| {
                            let seg = doc.tok_seg[h.1 as usize];
                            leaf.scope & bit(doc.segs[seg as usize].field) != 0
                        })
                    }),
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
                        let start = g - seg.first_tok;
                        let end = start + n;
                        let (Some(first), Some(last)) = (
                            seg.norm.tokens.get(start as usize),
                            seg.norm.tokens.get(end as usize - 1),
                        ) else {
                            continue;
                        };
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
                    let toks = &seg.norm.tokens;
                    for m in re
                        .find_iter(&seg.norm.text)
                        .filter(|m| !m.is_empty())
                        .take(HIT_CAP)
                    {
                        let (s, e) = (m.start() as u32, m.end() as u32);
                        let start = toks.partition_point(|t| t.end <= s) as u32;
                        let end = (toks.partition_point(|t| t.start < e) as u32).max(start);
                        let ostart = seg.norm.orig_start(m.start()) as u32;
                        let oend = (seg.norm.orig_end(m.end()) as u32).max(ostart);
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

    fn explain(&self, topic: TopicId, spans: &[Span], arena: &[HitRef], doc: &Doc) -> Match {
        let mut refs: Vec<HitRef> = spans
            .iter()
            .flat_map(|s| &arena[s.hits.0 as usize..s.hits.1 as usize])
            .copied()
            .collect();
        refs.sort_unstable();
        refs.dedup_by(|a, b| {
            (a.seg, a.ostart, a.oend) == (b.seg, b.ostart, b.oend)
                && self.leaves[a.leaf as usize].term == self.leaves[b.leaf as usize].term
        });
        let snippet = snippet(&refs, doc);
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
                        .to_owned(),
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
        let mut terms: Vec<u32> = Vec::new();
        let mut e = hs[i].oend as usize;
        for h in &hs[i..] {
            let he = h.oend as usize;
            if he > e
                && text
                    .get(s..he)
                    .is_none_or(|t| t.chars().count() > SNIPPET_CHARS)
            {
                break;
            }
            e = e.max(he);
            if !terms.contains(&h.leaf) {
                terms.push(h.leaf);
            }
        }
        if terms.len() > best {
            (ws, we, best) = (s, e, terms.len());
        }
    }
    let (start, end) = widen(text, ws, we);
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    // Mark boundaries (original offsets inside start..end), sorted and unique.
    let mut bounds: Vec<usize> = Vec::with_capacity(hs.len() * 2);
    for h in hs {
        let (s, e) = ((h.ostart as usize).max(start), (h.oend as usize).min(end));
        if s < e {
            bounds.push(s);
            bounds.push(e);
        }
    }
    bounds.sort_unstable();
    bounds.dedup();
    // Copy, collapsing whitespace runs to one space; note where each boundary went.
    let mut out = String::with_capacity(end - start + 8);
    if start > 0 {
        out.push('…');
    }
    let mut moved = vec![0usize; bounds.len()];
    let mut next = 0;
    let mut prev_ws = false;
    let bytes = text.as_bytes();
    let mut k = start;
    while k < end {
        while next < bounds.len() && bounds[next] <= k {
            moved[next] = out.len();
            next += 1;
        }
        // ASCII bytes directly, other characters decoded (k stays on char boundaries).
        let (c, len) = match bytes[k] {
            b if b < 0x80 => (b as char, 1),
            _ => match text[k..].chars().next() {
                Some(c) => (c, c.len_utf8()),
                None => break,
            },
        };
        k += len;
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

/// Widen the byte range `ws..we` of `text` to about [`SNIPPET_CHARS`] characters, cutting at
/// whitespace where possible. Returns char-boundary offsets.
fn widen(text: &str, ws: usize, we: usize) -> (usize, usize) {
    let inner = text.get(ws..we).map_or(0, |t| t.chars().count());
    if inner >= SNIPPET_CHARS {
        // A single long hit: keep its start and cut after the target length.
        let end = text[ws..]
            .char_indices()
            .nth(SNIPPET_CHARS)
            .map_or(text.len(), |(k, _)| ws + k);
        return (ws, end);
    }
    let room = SNIPPET_CHARS - inner;
    let before_avail = text[..ws].chars().rev().take(room).count();
    let after_avail = text[we..].chars().take(room).count();
    let mut left = (room / 2).min(before_avail);
    let right = (room - left).min(after_avail);
    left = (room - right).min(before_avail);
    let mut start = text[..ws]
        .char_indices()
        .rev()
        .nth(left.saturating_sub(1))
        .map_or(ws, |(k, _)| k);
    if left == 0 {
        start = ws;
    }
    let mut end = text[we..]
        .char_indices()
        .nth(right)
        .map_or(text.len(), |(k, _)| we + k);
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
