//! PURE. Feed text and terminals, in one place.
//!
//! A server writes what it likes into a title: `ESC ] 0 ; … BEL` retitles the user's window,
//! `ESC [ 2 J` clears the screen, OSC 8 makes a hyperlink, bidi controls reorder what is shown.
//! Two functions keep that out of the user's terminal:
//!
//! - [`strip_controls`], applied by `parse` to every text field before anything is stored:
//!   whole escape sequences, C0 and C1 control characters, DEL and bidi controls are removed;
//!   whitespace controls (tab, line feed, carriage return, VT, FF, NEL) become a space (feed
//!   text is kept as one line).
//! - [`escape_controls`], applied by the commands that print feed-derived text (rows stored
//!   before the strip existed, feed names, errors that quote a server): the same characters
//!   are shown, never obeyed: `\n`, `\t`, `\r`, `\xNN` for the other C0 and C1 characters and
//!   DEL (`ESC` is `\x1b`), `\u{NNNN}` for bidi controls.
//!
//! Both leave text without such characters untouched (and borrowed), and both are idempotent.

use std::borrow::Cow;
use std::fmt::Write;

/// The bidirectional formatting characters: LRE, RLE, PDF, LRO, RLO (U+202A–U+202E), LRI, RLI,
/// FSI, PDI (U+2066–U+2069), LRM, RLM (U+200E, U+200F) and ALM (U+061C).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// A character a terminal may obey rather than show: C0 and C1 controls, DEL, bidi controls.
pub fn is_terminal_control(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// Whether `s` holds no character a terminal may obey ([`is_terminal_control`]).
pub fn is_terminal_safe(s: &str) -> bool {
    // Control characters are below 0x20, 0x7f, or start with 0xC2 (C1), 0xD8 (ALM) or 0xE2
    // (the other bidi controls): most text is ruled out without decoding it.
    !s.bytes()
        .any(|b| b < 0x20 || matches!(b, 0x7f | 0xC2 | 0xD8 | 0xE2))
        || !s.chars().any(is_terminal_control)
}

/// Where [`strip_controls`] is in an escape sequence (ECMA-48).
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    /// After ESC.
    Esc,
    /// After ESC and intermediate bytes (`ESC ( B`, `ESC SP F`).
    EscIntermediate,
    /// Control Sequence: `ESC [`, parameters, intermediates, one final byte.
    Csi,
    /// Control string (OSC `ESC ]`, DCS `ESC P`, SOS `ESC X`, PM `ESC ^`, APC `ESC _`), ended
    /// by BEL, ST (`ESC \` or U+009C) or the end of the text.
    Str,
    /// ESC inside a control string: `\` ends it, anything else starts a new sequence.
    StrEsc,
}

/// `s` without escape sequences, control characters (C0, C1, DEL) or bidi controls;
/// whitespace controls become a space. Borrowed when there was nothing to remove.
///
/// Escape sequences go whole where they are recognisable (so no `]0;evil` is left behind):
/// CSI `ESC [ params final`, the control strings `ESC ] … BEL` / `ESC ] … ESC \` (and DCS, SOS,
/// PM, APC), two-byte escapes (`ESC c`, `ESC ( B`). An unterminated control string runs to
/// the end of the text, as it would in a terminal. The 8-bit C1 forms (U+009B, U+009D, …) are
/// removed alone: the same characters appear in mojibake (a `”` read as windows-1252 holds
/// U+009D), where swallowing the text after them would lose real words.
pub fn strip_controls(s: &str) -> Cow<'_, str> {
    if is_terminal_safe(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut state = State::Text;
    for c in s.chars() {
        state = step(state, c, &mut out);
    }
    Cow::Owned(out)
}

/// One character of [`strip_controls`]'s state machine. A character that ends a malformed
/// sequence is read again as text (at most twice: `StrEsc` → `Esc` → `Text`).
fn step(state: State, c: char, out: &mut String) -> State {
    use State::*;
    match state {
        Text => match c {
            '\u{1b}' => Esc,
            c if c.is_control() && c.is_whitespace() => {
                out.push(' ');
                Text
            }
            c if is_terminal_control(c) => Text,
            c => {
                out.push(c);
                Text
            }
        },
        Esc => match c {
            '[' => Csi,
            ']' | 'P' | 'X' | '^' | '_' => Str,
            ' '..='/' => EscIntermediate,
            '0'..='~' => Text,
            c => step(Text, c, out),
        },
        EscIntermediate => match c {
            ' '..='/' => EscIntermediate,
            '0'..='~' => Text,
            c => step(Text, c, out),
        },
        Csi => match c {
            ' '..='?' => Csi,
            '@'..='~' => Text,
            c => step(Text, c, out),
        },
        Str => match c {
            '\u{7}' | '\u{9c}' => Text,
            '\u{1b}' => StrEsc,
            _ => Str,
        },
        StrEsc => match c {
            '\\' => Text,
            c => step(Esc, c, out),
        },
    }
}

/// `s` with every [`is_terminal_control`] character made visible: `\n`, `\t`, `\r`, `\xNN`
/// for the other C0 and C1 characters and DEL, `\u{NNNN}` for bidi controls. For anything
/// printed on a terminal that came from a feed or its server. Borrowed when there was nothing
/// to escape. (A backslash is not escaped: the result is for reading, not for parsing back.)
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    if is_terminal_safe(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if is_bidi_control(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_go_whole() {
        let cases = [
            ("\u{1b}]0;evil\u{7}NATO talks", "NATO talks"),
            ("\u{1b}]0;evil\u{1b}\\NATO talks", "NATO talks"),
            ("a\u{1b}[2Jb", "ab"),
            ("a\u{1b}[1;31mred\u{1b}[0m b", "ared b"),
            ("\u{1b}[?25l hidden cursor", " hidden cursor"),
            (
                "\u{1b}]8;;https://evil.example/\u{1b}\\click\u{1b}]8;;\u{1b}\\ here",
                "click here",
            ),
            ("reset\u{1b}c now", "reset now"),
            ("charset\u{1b}(B ok", "charset ok"),
            ("dcs\u{1b}Pq#0;2;0;0;0\u{1b}\\ done", "dcs done"),
            // ESC inside a control string starts a new sequence.
            ("\u{1b}]0;x\u{1b}[2Jy", "y"),
            // Unterminated: to the end, as in a terminal.
            ("before\u{1b}]0;evil title", "before"),
            ("end\u{1b}", "end"),
            ("end\u{1b}[12", "end"),
            // ESC before something that cannot continue a sequence: only ESC goes.
            ("\u{1b}é", "é"),
            ("\u{1b}\u{1b}[2Jx", "x"),
        ];
        for (input, want) in cases {
            assert_eq!(strip_controls(input), want, "{input:?}");
        }
    }

    #[test]
    fn controls_del_c1_and_bidi_go_whitespace_becomes_space() {
        assert_eq!(
            strip_controls("a\u{7}b\u{0}c\u{7f}d\u{85}e\u{9b}2Jf"),
            "abcd e2Jf"
        );
        assert_eq!(strip_controls("a\tb\nc\rd\u{b}e\u{c}f"), "a b c d e f");
        assert_eq!(
            strip_controls("user\u{202E}gnp.exe \u{2066}x\u{2069} \u{200F}\u{200E}\u{61C}y"),
            "usergnp.exe x y"
        );
        // The 8-bit control-string introducers go alone: mojibake keeps its words.
        assert_eq!(strip_controls("â€\u{9d}quoted â€\u{98}x"), "â€quoted â€x");
    }

    #[test]
    fn clean_text_is_borrowed() {
        for s in [
            "",
            "NATO talks",
            "Путин — «мир» 𝄞 — ’quotes’ \u{a0}",
            "a\u{200B}b",
        ] {
            assert!(matches!(strip_controls(s), Cow::Borrowed(_)), "{s:?}");
            assert!(matches!(escape_controls(s), Cow::Borrowed(_)), "{s:?}");
        }
    }

    #[test]
    fn escaping_shows_what_was_there() {
        assert_eq!(
            escape_controls("\u{1b}]0;evil\u{7}x\ny\tz\r\u{7f}\u{9b}\u{202E}"),
            "\\x1b]0;evil\\x07x\\ny\\tz\\r\\x7f\\x9b\\u{202e}"
        );
    }

    /// A small deterministic generator (xorshift64*), so the property test needs no new
    /// dependency and fails the same way every time.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        /// Bytes biased towards what escape sequences and bidi controls are made of.
        fn text(&mut self) -> String {
            const PIECES: [&[u8]; 16] = [
                b"\x1b",
                b"[",
                b"]",
                b"\x07",
                b"\\",
                b"0;",
                b"2J",
                b"\xc2\x9b",
                b"\xc2\x9c",
                b"\xc2\x9d",
                b"\xe2\x80\xae",
                b"\xe2\x81\xa6",
                b"\xd8\x9c",
                b"\t\n\r",
                "é𝄞".as_bytes(),
                b" ab",
            ];
            let len = (self.next() % 40) as usize;
            let mut bytes = Vec::new();
            for _ in 0..len {
                let r = self.next();
                if r.is_multiple_of(3) {
                    bytes.push((r >> 8) as u8);
                } else {
                    bytes.extend_from_slice(PIECES[(r >> 8) as usize % PIECES.len()]);
                }
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }

    /// The invariants the fuzz target (`fuzz/`, `terminal_text`) checks, over a few thousand
    /// inputs from a fixed seed: nothing a terminal obeys survives either function, both are
    /// idempotent, clean text comes back unchanged.
    #[test]
    fn both_functions_leave_nothing_a_terminal_obeys() {
        let mut rng = Rng(0x7469_6469_6e67_7321);
        for _ in 0..5000 {
            let input = rng.text();
            let stripped = strip_controls(&input);
            let escaped = escape_controls(&input);
            for out in [&stripped, &escaped] {
                assert!(is_terminal_safe(out), "{input:?} -> {out:?}");
                assert!(
                    out.bytes().all(|b| b >= 0x20 && b != 0x7f),
                    "{input:?} -> {out:?}"
                );
            }
            assert_eq!(strip_controls(&stripped), stripped, "{input:?}");
            assert_eq!(escape_controls(&escaped), escaped, "{input:?}");
            assert_eq!(escape_controls(&stripped), stripped, "{input:?}");
            if is_terminal_safe(&input) {
                assert_eq!(stripped, input);
                assert_eq!(escaped, input);
            }
        }
    }
}
