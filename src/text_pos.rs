//! Where a byte offset falls in a text, as people count it: line and column from 1.

/// 1-based line and column (in characters) of a byte offset. An offset past the end counts as
/// the end; one inside a character, as the start of that character.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset);
    let start = line_start(text, offset);
    let line = text[..start].matches('\n').count() + 1;
    (line, text[start..offset].chars().count() + 1)
}

/// The whole line that holds a byte offset (rounded as in [`line_col`]), without its `\n`.
pub fn line_at(text: &str, offset: usize) -> &str {
    let offset = floor_char_boundary(text, offset);
    let end = text[offset..].find('\n').map_or(text.len(), |k| offset + k);
    &text[line_start(text, offset)..end]
}

fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |i| i + 1)
}

fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut i = offset.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ä = \"x\"", 3), (1, 3));
    }

    #[test]
    fn offsets_inside_a_character_or_past_the_end_are_rounded_down() {
        // "ä" is two bytes: offset 1 is inside it.
        assert_eq!(line_col("ä", 1), (1, 1));
        assert_eq!(line_col("ab\ncd", 99), (2, 3));
        assert_eq!(line_col("", 0), (1, 1));
        assert_eq!(line_col("ab\n", 3), (2, 1));
    }

    #[test]
    fn line_at_is_the_line_without_its_newline() {
        let text = "one\r\ntwo three\nfour";
        assert_eq!(line_at(text, 0), "one\r");
        assert_eq!(line_at(text, 9), "two three");
        assert_eq!(line_at(text, 5), "two three");
        assert_eq!(line_at(text, 99), "four");
        assert_eq!(line_at("", 0), "");
    }
}
