//! Text normalisation and tokenisation, keeping the way back to the original bytes.
//!
//! Queries and article text go through the same [`analyze`] function, so whatever it does
//! to a character (fold, strip, unify) it does on both sides.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::{canonical_combining_class, decompose_canonical};

/// Longest prefix of one field that is analysed (larger fields are cut at a char boundary).
/// Keeps every offset inside `u32` and the work per article bounded.
pub(crate) const MAX_FIELD_BYTES: usize = 8 << 20;

/// One word of a normalised text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    /// Byte range in the normalised text.
    pub start: u32,
    pub end: u32,
    /// Byte range in the original text.
    pub ostart: u32,
    pub oend: u32,
}

/// A field after normalisation.
#[derive(Debug, Default)]
pub(crate) struct Normalized {
    /// The normalised text (punctuation and spacing kept, see [`normalize`]).
    pub text: String,
    pub tokens: Vec<Token>,
    /// Original byte offset of the character cluster each normalised byte came from.
    /// `None` when the text was ASCII (offsets are then identical) or no map was asked for.
    map: Option<Vec<u32>>,
    /// Length of the analysed part of the original text.
    orig_len: u32,
}

impl Normalized {
    /// Original byte offset for a start offset in the normalised text.
    pub fn orig_start(&self, norm: usize) -> usize {
        match &self.map {
            None => norm.min(self.orig_len as usize),
            Some(map) => map
                .get(norm)
                .map_or(self.orig_len as usize, |&o| o as usize),
        }
    }

    /// Original byte offset for an end offset in the normalised text: the end of the
    /// cluster that produced the byte before `norm`.
    pub fn orig_end(&self, norm: usize) -> usize {
        match &self.map {
            None => norm.min(self.orig_len as usize),
            Some(map) => {
                if norm == 0 {
                    return 0;
                }
                let Some(&last) = map.get(norm - 1) else {
                    return self.orig_len as usize;
                };
                map[norm..]
                    .iter()
                    .find(|&&o| o != last)
                    .map_or(self.orig_len as usize, |&o| o as usize)
            }
        }
    }
}

/// The text normalisation used on both queries and articles.
///
/// NFKC, then case folding, then canonical decomposition with diacritics (combining marks of
/// Latin, Greek, Cyrillic, Hebrew and Arabic) dropped, typographic apostrophes unified to `'`,
/// hyphens and dashes unified to `-`, and invisible format characters (soft hyphen, zero-width
/// joiners, variation selectors) dropped. Punctuation and spaces are kept, so the result is
/// also what a `/regex/` in a query is matched against.
///
/// Case folding is Unicode lowercasing plus the full-folding cases that survive NFKC and
/// diacritic stripping (`ß`/`ẞ` → `ss`, final `ς` → `σ`); the other full folds either are
/// already done by NFKC (`ﬁ`, `ſ`, `µ`, Greek symbol variants) or only add a combining mark
/// that is dropped anyway (`İ`), so the result equals full case folding for search purposes.
///
/// ```
/// use tidings::matcher::normalize;
/// assert_eq!(normalize("Zelenskyy’s ＮＡＴＯ—Straße"), "zelenskyy's nato-strasse");
/// assert_eq!(normalize("Зеленський"), normalize("ЗЕЛЕНСЬКИЙ"));
/// ```
pub fn normalize(text: &str) -> String {
    analyze(text, false).text
}

/// The normalised words of `text` (what the query language matches word by word).
///
/// ```
/// use tidings::matcher::words;
/// assert_eq!(words("Ukraine's Putin–Zelensky talks, 2022"), ["ukraine", "s", "putin", "zelensky", "talks", "2022"]);
/// ```
pub fn words(text: &str) -> Vec<String> {
    let n = analyze(text, false);
    n.tokens
        .iter()
        .map(|t| n.text[t.start as usize..t.end as usize].to_owned())
        .collect()
}

/// Normalise and tokenise `orig`. With `want_map`, non-ASCII text also records, for every
/// normalised byte, the original offset it came from (needed to map regex hits back).
pub(crate) fn analyze(orig: &str, want_map: bool) -> Normalized {
    let orig = truncate(orig, MAX_FIELD_BYTES);
    let mut b = Builder::new(
        Vec::with_capacity(orig.len() + 8),
        Vec::new(),
        want_map,
        false,
    );
    b.run(orig);
    Normalized {
        // Only whole characters are ever written: the conversion cannot fail (and would
        // not panic if it did).
        text: String::from_utf8(b.text)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        tokens: b.tokens,
        map: b.map,
        orig_len: orig.len() as u32,
    }
}

/// The word stream of `orig`, appended to `stream`: each normalised word followed by one
/// space, nothing else (the same words, split the same way, as [`analyze`] finds). Tokens are
/// appended to `tokens`, their `start..end` being offsets in `stream`. This is what the term
/// automaton runs over: one pass over the text, no intermediate copy.
pub(crate) fn analyze_stream(orig: &str, stream: &mut Vec<u8>, tokens: &mut Vec<Token>) {
    let orig = truncate(orig, MAX_FIELD_BYTES);
    let mut b = Builder::new(std::mem::take(stream), std::mem::take(tokens), false, true);
    b.run(orig);
    *stream = b.text;
    *tokens = b.tokens;
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

struct Builder {
    /// Normalised text (UTF-8: whole characters only); in stream mode only the words, each
    /// followed by one space.
    text: Vec<u8>,
    tokens: Vec<Token>,
    /// See [`Normalized`]; never kept in stream mode.
    map: Option<Vec<u32>>,
    want_map: bool,
    stream: bool,
    in_token: bool,
    tok_start: u32,
    tok_ostart: u32,
    tok_oend: u32,
}

impl Builder {
    fn new(text: Vec<u8>, tokens: Vec<Token>, want_map: bool, stream: bool) -> Self {
        Builder {
            text,
            tokens,
            map: None,
            want_map: want_map && !stream,
            stream,
            in_token: false,
            tok_start: 0,
            tok_ostart: 0,
            tok_oend: 0,
        }
    }

    fn run(&mut self, orig: &str) {
        let bytes = orig.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let byte = bytes[i];
            if byte < 0x80 {
                i = if self.stream {
                    self.ascii_words(orig, i)
                } else {
                    self.ascii_run(orig, i)
                };
                continue;
            }
            let Some(c) = orig[i..].chars().next() else {
                break;
            };
            // Fast path for the typographic punctuation common in news text, whose NFKC, case
            // fold and decomposition are the character itself (or a plain space / dots).
            let quick = match c {
                '\u{A0}' => Some(' '),
                '\u{2010}'
                | '\u{2012}'..='\u{2015}'
                | '\u{2018}'..='\u{2023}'
                | '\u{AB}'
                | '\u{BB}'
                | '\u{B7}' => Some(c),
                _ => None,
            };
            let next_is_mark = orig[i + c.len_utf8()..]
                .chars()
                .next()
                .is_some_and(|d| (d as u32) >= 0x300 && canonical_combining_class(d) != 0);
            if let (Some(q), false) = (quick, next_is_mark) {
                self.start_map(i);
                self.emit(q, i, i + c.len_utf8());
                i += c.len_utf8();
                continue;
            }
            // A cluster: this character and the combining characters after it.
            let mut j = i + c.len_utf8();
            while let Some(d) = orig[j..].chars().next() {
                if (d as u32) < 0x300 || canonical_combining_class(d) == 0 {
                    break;
                }
                j += d.len_utf8();
            }
            self.start_map(i);
            let before = self.text.len();
            for k in orig[i..j].nfkc() {
                fold(k, &mut |f| {
                    if ('\u{AC00}'..='\u{D7A3}').contains(&f) {
                        self.emit(f, i, j);
                    } else {
                        decompose_canonical(f, |d| self.emit(d, i, j));
                    }
                });
            }
            if self.text.len() == before && self.in_token {
                // Everything in the cluster was dropped: it still belongs to the word.
                self.tok_oend = j as u32;
            }
            i = j;
        }
        self.end_token();
        if let Some(map) = &mut self.map {
            map.push(orig.len() as u32);
        }
    }

    /// Switch to an explicit offset map at the first non-ASCII character.
    fn start_map(&mut self, _at: usize) {
        if self.want_map && self.map.is_none() {
            self.map = Some((0..self.text.len() as u32).collect());
        }
    }

    /// Fast path: copy the run of ASCII starting at `i` (lowercased), find its words, and
    /// return where the run ends. Same result as `emit` on each byte.
    fn ascii_run(&mut self, orig: &str, i: usize) -> usize {
        let bytes = orig.as_bytes();
        let end = bytes[i..]
            .iter()
            .position(|&c| c >= 0x80)
            .map_or(bytes.len(), |k| i + k);
        let base = self.text.len();
        let run = &orig[i..end];
        self.text.extend_from_slice(run.as_bytes());
        for b in &mut self.text[base..] {
            *b = match *b {
                b'`' => b'\'',
                b => b.to_ascii_lowercase(),
            };
        }
        if let Some(map) = &mut self.map {
            map.extend(i as u32..end as u32);
        }
        for (k, &c) in bytes[i..end].iter().enumerate() {
            if c.is_ascii_alphanumeric() {
                if !self.in_token {
                    self.in_token = true;
                    self.tok_start = (base + k) as u32;
                    self.tok_ostart = (i + k) as u32;
                }
                self.tok_oend = (i + k + 1) as u32;
            } else if self.in_token {
                self.in_token = false;
                self.tokens.push(Token {
                    start: self.tok_start,
                    end: (base + k) as u32,
                    ostart: self.tok_ostart,
                    oend: self.tok_oend,
                });
            }
        }
        end
    }

    /// Stream mode's [`Self::ascii_run`] (only used in stream mode): append the lowercased
    /// words of the ASCII run at `i`, each followed by a space; return where the run ends.
    fn ascii_words(&mut self, orig: &str, i: usize) -> usize {
        let bytes = orig.as_bytes();
        // Words and their spaces are never longer than the run plus one space (the eight-byte
        // copies below may write up to seven bytes past a word before cutting back).
        self.text.reserve(bytes.len() - i + 8);
        let mut k = i;
        while let Some(&c) = bytes.get(k) {
            if c >= 0x80 {
                break;
            }
            if WORD_BYTE[c as usize] == 0 {
                self.end_token();
                k += 1;
                continue;
            }
            // A run of ASCII letters and digits, lowercased as it is copied.
            let base = self.text.len();
            let from = k;
            // Eight bytes at a time: all eight looked up and written, the text then cut
            // back to where the word ends (most words end inside the first eight).
            while let Some(chunk) = bytes.get(k..k + 8) {
                let low: [u8; 8] = std::array::from_fn(|j| WORD_BYTE[chunk[j] as usize]);
                let v = u64::from_le_bytes(low);
                // The lowest zero byte (a byte that ends the word), exactly.
                let zero = v.wrapping_sub(0x0101_0101_0101_0101) & !v & 0x8080_8080_8080_8080;
                let n = (zero.trailing_zeros() / 8) as usize;
                let len = self.text.len();
                self.text.extend_from_slice(&low);
                self.text.truncate(len + n);
                k += n;
                if n < 8 {
                    break;
                }
            }
            while let Some(&low) = bytes.get(k).map(|&b| &WORD_BYTE[b as usize]) {
                if low == 0 {
                    break;
                }
                self.text.push(low);
                k += 1;
            }
            // Most words lie whole inside one ASCII run: push them straight from locals.
            // (Going through the `tok_*` fields just written costs a store-forwarding
            // stall per word.)
            let may_continue = bytes.get(k).is_none_or(|&b| b >= 0x80);
            if !self.in_token && !may_continue {
                self.tokens.push(Token {
                    start: base as u32,
                    end: self.text.len() as u32,
                    ostart: from as u32,
                    oend: k as u32,
                });
                self.text.push(b' ');
            } else {
                if !self.in_token {
                    self.in_token = true;
                    self.tok_start = base as u32;
                    self.tok_ostart = from as u32;
                }
                self.tok_oend = k as u32;
            }
        }
        k
    }

    /// Emit one normalised character that came from original bytes `ostart..oend`.
    fn emit(&mut self, c: char, ostart: usize, oend: usize) {
        let c = match c {
            '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{02BC}' | '\u{02BB}' | '\u{2032}' | '`'
            | '\u{FF07}' => '\'',
            '\u{2010}'..='\u{2015}'
            | '\u{2212}'
            | '\u{2E3A}'
            | '\u{2E3B}'
            | '\u{FE58}'
            | '\u{FE63}'
            | '\u{FF0D}'
            | '\u{058A}'
            | '\u{05BE}'
            | '\u{1400}'
            | '\u{1806}'
            | '\u{2E17}'
            | '\u{301C}'
            | '\u{3030}'
            | '\u{30A0}' => '-',
            // Invisible format characters: soft hyphen, zero-width (non-)joiners, word
            // joiner, BOM, variation selectors.
            '\u{00AD}'
            | '\u{200C}'
            | '\u{200D}'
            | '\u{2060}'
            | '\u{FEFF}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{E0100}'..='\u{E01EF}' => return,
            c if is_stripped_mark(c) => return,
            c => c,
        };
        let at = self.text.len() as u32;
        if c.is_alphanumeric() || (self.in_token && is_mark(c)) {
            if !self.in_token {
                self.in_token = true;
                self.tok_start = at;
                self.tok_ostart = ostart as u32;
            }
            self.tok_oend = oend as u32;
        } else {
            self.end_token();
            if self.stream {
                return;
            }
        }
        let mut utf8 = [0u8; 4];
        self.text
            .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        if let Some(map) = &mut self.map {
            map.extend(std::iter::repeat_n(ostart as u32, c.len_utf8()));
        }
    }

    fn end_token(&mut self) {
        if self.in_token {
            self.in_token = false;
            self.tokens.push(Token {
                start: self.tok_start,
                end: self.text.len() as u32,
                ostart: self.tok_ostart,
                oend: self.tok_oend,
            });
            if self.stream {
                self.text.push(b' ');
            }
        }
    }
}

/// ASCII letters and digits, lowercased; 0 for every other byte (ASCII punctuation, spaces
/// and controls, and every byte of a non-ASCII character).
static WORD_BYTE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        if (b as u8).is_ascii_alphanumeric() {
            t[b] = (b as u8).to_ascii_lowercase();
        }
        b += 1;
    }
    t
};

fn is_mark(c: char) -> bool {
    unicode_normalization::char::is_combining_mark(c)
}

/// Diacritics dropped after canonical decomposition.
fn is_stripped_mark(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'   // combining diacritical marks (Latin, Greek, Cyrillic)
        | '\u{0483}'..='\u{0489}' // Cyrillic combining marks
        | '\u{0591}'..='\u{05BD}' | '\u{05BF}' | '\u{05C1}' | '\u{05C2}' | '\u{05C4}' | '\u{05C5}' | '\u{05C7}' // Hebrew points
        | '\u{0610}'..='\u{061A}' | '\u{064B}'..='\u{065F}' | '\u{0670}' // Arabic harakat
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}')
}

/// Case folding (see [`normalize`]).
fn fold(c: char, emit: &mut impl FnMut(char)) {
    match c {
        'A'..='Z' => emit(c.to_ascii_lowercase()),
        '\0'..='\u{7F}' => emit(c),
        'ß' | 'ẞ' => {
            emit('s');
            emit('s');
        }
        'ς' => emit('σ'),
        c => c.to_lowercase().for_each(emit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<(String, &str)> {
        let n = analyze(s, true);
        n.tokens
            .iter()
            .map(|t| {
                (
                    n.text[t.start as usize..t.end as usize].to_owned(),
                    &s[t.ostart as usize..t.oend as usize],
                )
            })
            .collect()
    }

    #[test]
    fn tokens_map_back_to_original() {
        assert_eq!(
            toks("Zelénskyy’s ＮＡＴＯ—talks, Straße 2022"),
            [
                ("zelenskyy".to_owned(), "Zelénskyy"),
                ("s".to_owned(), "s"),
                ("nato".to_owned(), "ＮＡＴＯ"),
                ("talks".to_owned(), "talks"),
                ("strasse".to_owned(), "Straße"),
                ("2022".to_owned(), "2022"),
            ]
        );
        // Decomposed é: the combining mark stays inside the original range of the word.
        assert_eq!(
            toks("Zele\u{301}nsky!"),
            [("zelensky".to_owned(), "Zele\u{301}nsky")]
        );
        assert_eq!(
            words("Зеленський Зеленский їжак"),
            ["зеленськии", "зеленскии", "іжак"]
        );
        assert_eq!(words("nego\u{AD}tiate"), ["negotiate"]);
        // The punctuation fast path agrees with the full path.
        for c in [
            '\u{A0}', '\u{2010}', '\u{2013}', '\u{2018}', '\u{201C}', '\u{2022}', '\u{AB}',
            '\u{B7}',
        ] {
            let s = format!("a{c}b");
            let full: String = s.nfkc().flat_map(char::to_lowercase).collect();
            let full = full
                .replace(['\u{2010}', '\u{2013}'], "-")
                .replace('\u{2018}', "'");
            assert_eq!(normalize(&s), full, "{c:?}");
        }
        assert_eq!(words("👩\u{200D}💻 ❤\u{FE0F} rock"), ["rock"]);
    }

    /// Stream mode (what the scanner matches over) splits and maps words exactly as
    /// `analyze` does, and writes nothing but the words.
    fn assert_stream_agrees(s: &str) {
        let n = analyze(s, true);
        let mut stream = b"\n ".to_vec();
        let mut toks = vec![Token {
            start: 0,
            end: 0,
            ostart: 0,
            oend: 0,
        }];
        analyze_stream(s, &mut stream, &mut toks);
        assert_eq!(toks.len() - 1, n.tokens.len(), "{s:?}");
        let mut expect = String::from("\n ");
        for (a, b) in toks[1..].iter().zip(&n.tokens) {
            let word = &n.text[b.start as usize..b.end as usize];
            assert_eq!(
                &stream[a.start as usize..a.end as usize],
                word.as_bytes(),
                "{s:?}"
            );
            assert_eq!((a.ostart, a.oend), (b.ostart, b.oend), "{s:?}");
            expect.push_str(word);
            expect.push(' ');
        }
        assert_eq!(stream, expect.as_bytes(), "{s:?}");
    }

    #[test]
    fn stream_mode_agrees_with_analyze() {
        for s in [
            "",
            "   ",
            "Zelénskyy’s ＮＡＴＯ—talks, Straße 2022",
            "Zele\u{301}nsky! naïve café",
            "Зеленський\u{AD}Путін: «переговори»",
            "a`b c’d e-f",
            "x\u{301}\u{302}y z",
            "👩\u{200D}💻 ❤\u{FE0F} rock",
            "ends in é",
            "é",
            "ab\u{A0}cd\u{2013}ef",
            "ﬁnance ＡＢＣ ½ ²",
        ] {
            assert_stream_agrees(s);
        }
    }

    proptest::proptest! {
        #[test]
        fn stream_mode_agrees_on_any_text(s in "\\PC{0,40}") {
            assert_stream_agrees(&s);
        }

        #[test]
        fn stream_mode_agrees_on_mixed_scripts(s in "[a-zA-Z0-9 ,.'’éÉßçЗзїΣς\u{301}\u{AD}\u{2013}-]{0,40}") {
            assert_stream_agrees(&s);
        }
    }

    #[test]
    fn regex_offsets_map_back() {
        let s = "Die Straße — gesperrt";
        let n = analyze(s, true);
        assert_eq!(n.text, "die strasse - gesperrt");
        let at = n.text.find("strasse").unwrap_or(0);
        assert_eq!(&s[n.orig_start(at)..n.orig_end(at + 7)], "Straße");
        let at = n.text.find('-').unwrap_or(0);
        assert_eq!(&s[n.orig_start(at)..n.orig_end(at + 1)], "—");
    }
}
