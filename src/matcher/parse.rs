//! Lexer and recursive-descent parser: query text -> [`Expr`], with positioned errors.

use std::fmt;

use crate::model::{Aliases, Field};

use super::normalize::words;

/// Longest accepted query, in bytes.
pub const MAX_QUERY_BYTES: usize = 10 * 1024;
/// Deepest accepted nesting of parentheses, `NOT`s and field scopes.
pub const MAX_DEPTH: usize = 64;
/// Largest accepted `NEAR/n`.
pub const MAX_NEAR: u32 = 1000;
/// Distance of a bare `NEAR`.
pub const DEFAULT_NEAR: u32 = 10;
/// Compiled-size limit of one `/regex/` (bytes), so a hostile pattern cannot eat memory.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A parsed query. Leaves keep the text exactly as written in the query; `Display` prints a
/// query that parses back to the same `Expr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// A bare word, as written (`Ukraine's` is one `Word` that matches as a phrase).
    Word(String),
    /// `negotiat*`: the word as written, without the `*`.
    Prefix(String),
    /// `"peace talks"` (text between the quotes); `prefix` when written `"peace talk*"`.
    Phrase {
        text: String,
        prefix: bool,
    },
    /// `@name`: the name as written, without the `@`.
    Alias(String),
    /// `/pattern/`: the pattern with `\/` already turned into `/`.
    Regex(String),
    /// `title:term` or `title:( ... )`.
    Field(Field, Box<Expr>),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    /// `a NEAR/n b NEAR/m c`: `distances[i]` links `operands[i]` and `operands[i + 1]`.
    Near {
        operands: Vec<Expr>,
        distances: Vec<u32>,
    },
}

impl Expr {
    fn prec(&self) -> u8 {
        match self {
            Expr::Or(_) => 1,
            Expr::And(_) => 2,
            Expr::Near { .. } => 3,
            Expr::Not(_) => 4,
            _ => 5,
        }
    }

    fn is_leaf(&self) -> bool {
        matches!(
            self,
            Expr::Word(_) | Expr::Prefix(_) | Expr::Phrase { .. } | Expr::Alias(_) | Expr::Regex(_)
        )
    }

    /// Every match needs at least one positive term (so a topic without hits never matches).
    pub(crate) fn requires_hit(&self) -> bool {
        match self {
            Expr::Not(_) => false,
            Expr::And(xs) => xs.iter().any(Expr::requires_hit),
            Expr::Or(xs) => xs.iter().all(Expr::requires_hit),
            Expr::Field(_, e) => e.requires_hit(),
            _ => true,
        }
    }

    fn contains_not(&self) -> bool {
        match self {
            Expr::Not(_) => true,
            Expr::And(xs) | Expr::Or(xs) => xs.iter().any(Expr::contains_not),
            Expr::Near { operands, .. } => operands.iter().any(Expr::contains_not),
            Expr::Field(_, e) => e.contains_not(),
            _ => false,
        }
    }

    fn contains_field(&self) -> bool {
        match self {
            Expr::Field(..) => true,
            Expr::Not(e) => e.contains_field(),
            Expr::And(xs) | Expr::Or(xs) => xs.iter().any(Expr::contains_field),
            Expr::Near { operands, .. } => operands.iter().any(Expr::contains_field),
            _ => false,
        }
    }

    fn fmt_child(&self, f: &mut fmt::Formatter<'_>, min_prec: u8) -> fmt::Result {
        if self.prec() < min_prec {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Word(w) => f.write_str(w),
            Expr::Prefix(w) => write!(f, "{w}*"),
            Expr::Phrase { text, prefix } => {
                write!(f, "\"{text}{}\"", if *prefix { "*" } else { "" })
            }
            Expr::Alias(a) => write!(f, "@{a}"),
            Expr::Regex(re) => {
                f.write_str("/")?;
                let mut chars = re.chars();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            f.write_str("\\")?;
                            if let Some(d) = chars.next() {
                                write!(f, "{d}")?;
                            }
                        }
                        '/' => f.write_str("\\/")?,
                        c => write!(f, "{c}")?,
                    }
                }
                f.write_str("/")
            }
            Expr::Field(field, e) => {
                if e.is_leaf() {
                    write!(f, "{field}:{e}")
                } else {
                    write!(f, "{field}:({e})")
                }
            }
            Expr::Not(e) => {
                f.write_str("NOT ")?;
                e.fmt_child(f, 4)
            }
            Expr::And(xs) | Expr::Or(xs) => {
                let (sep, min) = match self {
                    Expr::And(_) => (" AND ", 3),
                    _ => (" OR ", 2),
                };
                for (i, x) in xs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    x.fmt_child(f, min)?;
                }
                Ok(())
            }
            Expr::Near {
                operands,
                distances,
            } => {
                for (i, x) in operands.iter().enumerate() {
                    if i > 0 {
                        let n = distances.get(i - 1).copied().unwrap_or(DEFAULT_NEAR);
                        write!(f, " NEAR/{n} ")?;
                    }
                    x.fmt_child(f, 4)?;
                }
                Ok(())
            }
        }
    }
}

/// A parse error: byte offset into the query and message. Turned into a `QueryError` by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub pos: usize,
    pub message: String,
}

fn err<T>(pos: usize, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        pos,
        message: message.into(),
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Minus,
    Near(u32),
    Field(Field),
    Word(String),
    Prefix(String),
    Alias(String),
    Phrase(String, bool),
    Regex(String),
}

impl Tok {
    fn starts_term(&self) -> bool {
        !matches!(self, Tok::RParen | Tok::And | Tok::Or | Tok::Near(_))
    }

    fn is_operator(&self) -> bool {
        matches!(
            self,
            Tok::And | Tok::Or | Tok::Near(_) | Tok::Not | Tok::Minus | Tok::LParen | Tok::Field(_)
        )
    }
}

#[derive(Debug)]
struct Lexeme {
    tok: Tok,
    start: usize,
    end: usize,
}

fn is_delim(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '"')
}

fn lex(q: &str) -> Result<Vec<Lexeme>, ParseError> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(c) = q[i..].chars().next() {
        let start = i;
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        let simple = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            _ => None,
        };
        if let Some(tok) = simple {
            i += 1;
            out.push(Lexeme { tok, start, end: i });
            continue;
        }
        if c == '"' {
            let Some(len) = q[i + 1..].find('"') else {
                return err(start, "unterminated phrase: missing closing '\"'");
            };
            let inner = &q[i + 1..i + 1 + len];
            i += len + 2;
            let tok = match inner.strip_suffix('*') {
                Some(text) => Tok::Phrase(text.to_owned(), true),
                None => Tok::Phrase(inner.to_owned(), false),
            };
            out.push(Lexeme { tok, start, end: i });
            continue;
        }
        if c == '/' {
            let mut pat = String::new();
            let mut chars = q[i + 1..].char_indices();
            let mut end = None;
            while let Some((k, d)) = chars.next() {
                match d {
                    '\\' => match chars.next() {
                        Some((_, '/')) => pat.push('/'),
                        Some((_, e)) => {
                            pat.push('\\');
                            pat.push(e);
                        }
                        None => pat.push('\\'),
                    },
                    '/' => {
                        end = Some(i + 1 + k + 1);
                        break;
                    }
                    d => pat.push(d),
                }
            }
            let Some(end) = end else {
                return err(start, "unterminated regex: missing closing '/'");
            };
            i = end;
            out.push(Lexeme {
                tok: Tok::Regex(pat),
                start,
                end,
            });
            continue;
        }
        if c == '-'
            && let Some(d) = q[i + 1..].chars().next()
            && !d.is_whitespace()
            && d != ')'
            && d != '-'
        {
            i += 1;
            out.push(Lexeme {
                tok: Tok::Minus,
                start,
                end: i,
            });
            continue;
        }
        // A bare word: up to whitespace, a parenthesis or a quote.
        let len = q[i..].find(is_delim).unwrap_or(q.len() - i);
        let word = &q[i..i + len];
        if let Some(colon) = word.find(':') {
            let name = &word[..colon];
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphabetic()) {
                let Some(field) = Field::parse(name) else {
                    let names: Vec<&str> = Field::ALL.iter().map(|f| f.as_str()).collect();
                    return err(
                        start,
                        format!(
                            "unknown field '{name}', expected one of {}",
                            names.join(", ")
                        ),
                    );
                };
                i += colon + 1;
                match q[i..].chars().next() {
                    Some(d) if !d.is_whitespace() && d != ')' => {}
                    _ => return err(i, format!("expected a term after '{name}:'")),
                }
                out.push(Lexeme {
                    tok: Tok::Field(field),
                    start,
                    end: i,
                });
                continue;
            }
        }
        i += len;
        let tok = match word {
            "AND" => Tok::And,
            "OR" => Tok::Or,
            "NOT" => Tok::Not,
            "NEAR" => Tok::Near(DEFAULT_NEAR),
            w if w.starts_with("NEAR/") => {
                let n = &w[5..];
                match n.parse::<u32>() {
                    Ok(k) if k <= MAX_NEAR && n.bytes().all(|b| b.is_ascii_digit()) => Tok::Near(k),
                    _ => {
                        return err(
                            start,
                            format!(
                                "bad NEAR distance '{n}': expected a number from 0 to {MAX_NEAR}"
                            ),
                        );
                    }
                }
            }
            w if w.starts_with('@') => Tok::Alias(w[1..].to_owned()),
            w => match w.strip_suffix('*') {
                Some(p) => Tok::Prefix(p.to_owned()),
                None => Tok::Word(w.to_owned()),
            },
        };
        out.push(Lexeme { tok, start, end: i });
    }
    Ok(out)
}

/// Parse and validate `query` (aliases are looked up, regexes compiled once to check them).
pub(crate) fn parse(query: &str, aliases: &Aliases) -> Result<Expr, ParseError> {
    if query.len() > MAX_QUERY_BYTES {
        return err(
            0,
            format!(
                "query is too long ({} bytes, at most {MAX_QUERY_BYTES})",
                query.len()
            ),
        );
    }
    let toks = lex(query)?;
    if toks.is_empty() {
        return err(0, "empty query");
    }
    let mut p = Parser {
        q: query,
        toks,
        at: 0,
        aliases,
    };
    let (e, _) = p.or(0)?;
    if let Some(l) = p.toks.get(p.at) {
        // The term loops consume every term start, so only a ')' can be left.
        return err(l.start, "unexpected ')' without a matching '('");
    }
    if !e.requires_hit() {
        return err(
            0,
            "query can never match on its own: it needs a term that is not under NOT",
        );
    }
    Ok(e)
}

struct Parser<'a> {
    q: &'a str,
    toks: Vec<Lexeme>,
    at: usize,
    aliases: &'a Aliases,
}

type PResult = Result<(Expr, usize), ParseError>;

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|l| &l.tok)
    }

    fn prev_text(&self) -> &str {
        match self.at.checked_sub(1).and_then(|k| self.toks.get(k)) {
            Some(l) => &self.q[l.start..l.end],
            None => "",
        }
    }

    fn or(&mut self, depth: usize) -> PResult {
        let (first, pos) = self.and(depth)?;
        let mut xs = vec![first];
        while self.peek() == Some(&Tok::Or) {
            self.at += 1;
            xs.push(self.and(depth)?.0);
        }
        Ok((one_or(xs, Expr::Or), pos))
    }

    fn and(&mut self, depth: usize) -> PResult {
        let (first, pos) = self.near(depth)?;
        let mut xs = vec![(first, pos)];
        loop {
            match self.peek() {
                Some(Tok::And) => self.at += 1,
                Some(t) if t.starts_term() => {}
                _ => break,
            }
            xs.push(self.near(depth)?);
        }
        // Cheap contradiction check: `x AND NOT x`.
        for (x, at) in &xs {
            if let Expr::Not(inner) = x
                && xs.iter().any(|(y, _)| y == inner.as_ref())
            {
                return err(
                    *at,
                    format!("query can never match: '{inner}' is both required and excluded"),
                );
            }
        }
        Ok((
            one_or(xs.into_iter().map(|x| x.0).collect(), Expr::And),
            pos,
        ))
    }

    fn near(&mut self, depth: usize) -> PResult {
        let (first, pos) = self.unary(depth)?;
        let mut operands = vec![(first, pos)];
        let mut distances = Vec::new();
        while let Some(&Tok::Near(n)) = self.peek() {
            self.at += 1;
            distances.push(n);
            operands.push(self.unary(depth)?);
        }
        if operands.len() == 1 {
            return Ok(operands.remove(0));
        }
        for (x, at) in &operands {
            if x.contains_not() {
                return err(*at, "NEAR operands cannot contain NOT");
            }
        }
        Ok((
            Expr::Near {
                operands: operands.into_iter().map(|x| x.0).collect(),
                distances,
            },
            pos,
        ))
    }

    fn unary(&mut self, depth: usize) -> PResult {
        if let Some(l) = self.toks.get(self.at)
            && matches!(l.tok, Tok::Not | Tok::Minus)
        {
            let pos = l.start;
            self.deeper(depth, pos)?;
            self.at += 1;
            let (e, _) = self.unary(depth + 1)?;
            return Ok((Expr::Not(Box::new(e)), pos));
        }
        self.primary(depth)
    }

    fn deeper(&self, depth: usize, pos: usize) -> Result<(), ParseError> {
        if depth >= MAX_DEPTH {
            return err(
                pos,
                format!("query nests too deeply (more than {MAX_DEPTH} levels)"),
            );
        }
        Ok(())
    }

    fn primary(&mut self, depth: usize) -> PResult {
        let Some(l) = self.toks.get(self.at) else {
            let prev = self.prev_text();
            return err(self.q.len(), format!("expected a term after '{prev}'"));
        };
        let (start, end) = (l.start, l.end);
        let tok = l.tok.clone();
        let prev_is_op = self
            .at
            .checked_sub(1)
            .and_then(|k| self.toks.get(k))
            .is_some_and(|p| p.tok.is_operator());
        self.at += 1;
        let text = &self.q[start..end];
        let e = match tok {
            Tok::LParen => {
                self.deeper(depth, start)?;
                let (e, _) = self.or(depth + 1)?;
                if self.peek() != Some(&Tok::RParen) {
                    let pos = self.toks.get(self.at).map_or(self.q.len(), |l| l.start);
                    let prev = self.prev_text();
                    return err(pos, format!("expected ')' after \"{prev}\""));
                }
                self.at += 1;
                e
            }
            Tok::Field(field) => {
                self.deeper(depth, start)?;
                if let Some(Tok::Field(_)) = self.peek() {
                    let pos = self.toks[self.at].start;
                    return err(pos, "a field scope cannot contain another field scope");
                }
                if matches!(self.peek(), Some(Tok::Not | Tok::Minus)) {
                    let pos = self.toks[self.at].start;
                    return err(
                        pos,
                        format!(
                            "expected a term after '{field}:' (write {field}:(NOT ...) to negate)"
                        ),
                    );
                }
                let pos = self.toks.get(self.at).map_or(self.q.len(), |l| l.start);
                let (e, _) = self.primary(depth + 1)?;
                if e.contains_field() {
                    return err(pos, "a field scope cannot contain another field scope");
                }
                Expr::Field(field, Box::new(e))
            }
            Tok::RParen => return err(start, "unexpected ')' without a matching '('"),
            Tok::And | Tok::Or | Tok::Near(_) => {
                let msg = if prev_is_op || self.at == 1 {
                    match self.at.checked_sub(2).and_then(|k| self.toks.get(k)) {
                        Some(p) => format!(
                            "expected a term after '{}', found '{text}'",
                            &self.q[p.start..p.end]
                        ),
                        None => format!("expected a term before '{text}'"),
                    }
                } else {
                    format!("expected a term before '{text}'")
                };
                return err(start, msg);
            }
            Tok::Not | Tok::Minus => {
                // Only reached through a field scope; `unary` handles the rest.
                return err(start, format!("unexpected '{text}'"));
            }
            Tok::Word(w) => {
                if w.contains('*') {
                    return err(start, "'*' is only allowed at the end of a word");
                }
                if words(&w).is_empty() {
                    return err(start, format!("'{w}' has no letters or digits"));
                }
                Expr::Word(w)
            }
            Tok::Prefix(w) => {
                check_prefix(&w, start, text)?;
                Expr::Prefix(w)
            }
            Tok::Phrase(t, prefix) => {
                if t.contains('*') {
                    return err(
                        start,
                        "'*' is only allowed at the end of the last word of a phrase",
                    );
                }
                if words(&t).is_empty() {
                    return err(start, "empty phrase");
                }
                if prefix {
                    check_prefix(&t, start, text)?;
                }
                Expr::Phrase { text: t, prefix }
            }
            Tok::Alias(name) => {
                if name.is_empty() {
                    return err(start, "expected an alias name after '@'");
                }
                if find_alias(self.aliases, &name).is_none() {
                    return err(start, format!("undefined alias '@{name}'"));
                }
                Expr::Alias(name)
            }
            Tok::Regex(re) => {
                if re.is_empty() {
                    return err(start, "empty regex");
                }
                if let Err(e) = build_regex(&re) {
                    return err(start, format!("invalid regex: {e}"));
                }
                Expr::Regex(re)
            }
        };
        Ok((e, start))
    }
}

fn check_prefix(w: &str, start: usize, text: &str) -> Result<(), ParseError> {
    if w.contains('*') {
        return err(start, "'*' is only allowed at the end of a word");
    }
    if !w.chars().last().is_some_and(char::is_alphanumeric) {
        return err(
            start,
            format!("'*' must directly follow a letter or digit in '{text}'"),
        );
    }
    let ws = words(w);
    if ws.len() == 1 && ws[0].chars().count() < 2 {
        return err(
            start,
            format!("prefix '{text}' is too short: write at least 2 letters before '*'"),
        );
    }
    Ok(())
}

fn one_or(mut xs: Vec<Expr>, f: fn(Vec<Expr>) -> Expr) -> Expr {
    if xs.len() == 1 { xs.remove(0) } else { f(xs) }
}

/// Alias names are matched case-insensitively.
pub(crate) fn find_alias<'a>(aliases: &'a Aliases, name: &str) -> Option<&'a Vec<String>> {
    aliases.get(name).or_else(|| {
        let lower = name.to_lowercase();
        aliases
            .iter()
            .find(|(k, _)| k.to_lowercase() == lower)
            .map(|(_, v)| v)
    })
}

/// Compile a query regex with the size limits; the error is a one-line message.
pub(crate) fn build_regex(re: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(re)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::Syntax(s) => s
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("syntax error")
                .trim()
                .trim_start_matches("error: ")
                .to_owned(),
            regex::Error::CompiledTooBig(n) => {
                format!("pattern too large (compiled size over {n} bytes)")
            }
            other => other.to_string(),
        })
}
