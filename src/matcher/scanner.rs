//! The compiled scanner: every term of every topic in one Aho-Corasick automaton
//! ([`super::terms`]), evaluation of the topics that got a hit, and explanations (hits, and a
//! snippet from [`super::snippet`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use aho_corasick::automaton::Automaton;
use regex::Regex;

use crate::model::{Article, Field, Hit, Match, TopicId};

use super::normalize::{Normalized, Token, analyze, analyze_stream, words};
use super::parse::{Expr, build_regex, find_alias};
use super::snippet::snippet;
use super::terms::Terms;

/// Most occurrences kept per pattern (or regex) per article: a 1 MB field of `nato nato …`
/// stays bounded in memory and evaluation time.
const HIT_CAP: usize = 4096;
/// Most hits listed in one `Match`.
pub(super) const MAX_MATCH_HITS: usize = 64;

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

/// One searchable value of an article (the title, one author, ...).
pub(super) struct Seg<'a> {
    pub(super) field: Field,
    pub(super) text: &'a str,
    /// Global indexes of the segment's tokens.
    first_tok: u32,
    end_tok: u32,
    /// The normalised text with its offset map, for regexes (only when a topic has one).
    norm: Option<Normalized>,
}

/// An article analysed once for all topics. The buffers live in a per-thread [`Scratch`].
pub(super) struct Doc<'a> {
    pub(super) segs: Vec<Seg<'a>>,
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
pub(super) struct HitRef {
    rank: u8,
    pub(super) seg: u32,
    pub(super) ostart: u32,
    pub(super) oend: u32,
    pub(super) leaf: u32,
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
