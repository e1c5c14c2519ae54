//! HTML (or text with entities) -> one line of plain text, for titles, summaries and bodies,
//! without escape sequences or control characters ([`crate::sanitize::strip_controls`]).

use std::cell::{Cell, RefCell};

use html5ever::TokenizerResult;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

/// Plain text of a feed-rs `Text`, converting HTML when the type says so or it looks like HTML.
pub(super) fn text_of(t: &feed_rs::model::Text) -> String {
    let is_plain = t.content_type.essence().to_string() == "text/plain";
    if is_plain && !t.content.contains(['<', '&']) {
        plain_line(&t.content)
    } else {
        html_to_text(&t.content)
    }
}

/// HTML (or text with entities) to one line of plain text, without control characters.
///
/// The fragment is read by html5ever's tokenizer (character references, comments, CDATA,
/// raw-text elements as a browser reads them) and its text kept: elements that break a line
/// in a browser (`<p>`, `<br>`, `<li>`, `<td>`, ...) become a space, inline ones (`<b>`, `<a>`,
/// ...) nothing, `<script>` / `<style>` contents are dropped. (html2text did this before; it
/// builds a DOM and lays the text out, which cost a third of a cold poll's CPU.)
pub fn html_to_text(html: &str) -> String {
    if !html.contains(['<', '&']) {
        return plain_line(html);
    }
    let tokenizer = Tokenizer::new(TextSink::default(), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    while let TokenizerResult::Script(()) = tokenizer.feed(&input) {}
    tokenizer.end();
    plain_line(&tokenizer.sink.text.take())
}

/// Whitespace collapsed ([`collapse_ws`]), then escape sequences and control characters
/// stripped ([`crate::sanitize::strip_controls`]; after the HTML is decoded, so `&#27;` goes
/// too). Text without them costs one scan more and no copy; text with them is collapsed again
/// (a removed sequence between two spaces leaves two).
fn plain_line(s: &str) -> String {
    let line = collapse_ws(s);
    match crate::sanitize::strip_controls(&line) {
        std::borrow::Cow::Borrowed(_) => line,
        std::borrow::Cow::Owned(clean) => collapse_ws(&clean),
    }
}

/// Collects the text of an HTML fragment for [`html_to_text`].
#[derive(Default)]
struct TextSink {
    text: RefCell<String>,
    /// Inside `<script>` / `<style>`: their text is not text.
    skipping: Cell<bool>,
}

impl TokenSink for TextSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            Token::CharacterTokens(t) => {
                if !self.skipping.get() {
                    self.text.borrow_mut().push_str(&t);
                }
                TokenSinkResult::Continue
            }
            Token::TagToken(tag) => {
                let name: &str = &tag.name;
                if !is_inline(name) {
                    self.text.borrow_mut().push(' ');
                }
                if tag.kind == TagKind::EndTag {
                    if matches!(name, "script" | "style") {
                        self.skipping.set(false);
                    }
                    return TokenSinkResult::Continue;
                }
                if tag.self_closing {
                    return TokenSinkResult::Continue;
                }
                match name {
                    "script" => {
                        self.skipping.set(true);
                        TokenSinkResult::RawData(RawKind::ScriptData)
                    }
                    "style" => {
                        self.skipping.set(true);
                        TokenSinkResult::RawData(RawKind::Rawtext)
                    }
                    "xmp" | "iframe" | "noembed" | "noframes" => {
                        TokenSinkResult::RawData(RawKind::Rawtext)
                    }
                    "title" | "textarea" => TokenSinkResult::RawData(RawKind::Rcdata),
                    "plaintext" => TokenSinkResult::Plaintext,
                    _ => TokenSinkResult::Continue,
                }
            }
            _ => TokenSinkResult::Continue,
        }
    }
}

/// Elements that do not break the line of text they are in.
fn is_inline(name: &str) -> bool {
    matches!(
        name,
        "a" | "abbr"
            | "acronym"
            | "b"
            | "bdi"
            | "bdo"
            | "big"
            | "cite"
            | "code"
            | "data"
            | "del"
            | "dfn"
            | "em"
            | "font"
            | "i"
            | "ins"
            | "kbd"
            | "label"
            | "mark"
            | "nobr"
            | "q"
            | "s"
            | "samp"
            | "small"
            | "span"
            | "strike"
            | "strong"
            | "sub"
            | "sup"
            | "time"
            | "tt"
            | "u"
            | "var"
            | "wbr"
    )
}

/// Whitespace runs to one space, none at either end: `split_whitespace()` joined with single
/// spaces. ASCII text (most of it; this runs over every title, summary and body) is copied a
/// stretch at a time: words with single spaces between them go out in one copy, so text that
/// is already tidy costs one pass and one copy. (The byte set is std's ASCII whitespace, which
/// lacks only the vertical tab: text holding one takes the general path.)
fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    if !s.is_ascii() || s.contains('\x0B') {
        for word in s.split_whitespace() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
        return out;
    }
    let b = s.as_bytes();
    let n = b.len();
    let mut k = 0;
    while k < n && b[k].is_ascii_whitespace() {
        k += 1;
    }
    while k < n {
        let from = k;
        loop {
            while k < n && !b[k].is_ascii_whitespace() {
                k += 1;
            }
            // One plain space between two words stays inside the stretch.
            if k + 1 < n && b[k] == b' ' && !b[k + 1].is_ascii_whitespace() {
                k += 1;
                continue;
            }
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&s[from..k]);
        while k < n && b[k].is_ascii_whitespace() {
            k += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn collapse_ws_is_split_whitespace_joined(s in "[ a\t\n\r\u{0B}\u{0C}\u{85}\u{A0}\u{2003}\u{3000}é€𝄞]{0,40}") {
            let want = s.split_whitespace().collect::<Vec<_>>().join(" ");
            proptest::prop_assert_eq!(collapse_ws(&s), want);
        }

        #[test]
        fn collapse_ws_on_ascii_is_split_whitespace_joined(s in "([a-c]{1,9} ?|[ \t\n\r\u{0B}\u{0C}\u{1F}]){0,20}") {
            let want = s.split_whitespace().collect::<Vec<_>>().join(" ");
            proptest::prop_assert_eq!(collapse_ws(&s), want);
        }
    }
}
