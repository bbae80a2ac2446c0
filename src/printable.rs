//! Text as it may be shown: a value from a directory export or a live account can carry
//! ANSI escapes, newlines or U+202E, which would rewrite a terminal or hide an action from
//! a reviewer. Renderers and diagnostics print such values through `escape`.

use std::borrow::Cow;

/// A character that could rewrite a terminal or hide text from a reviewer: a control
/// character (ANSI escapes start with one, a newline starts a fake line) or a
/// bidirectional formatting or invisible character (U+202E shows text backwards).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
        )
}

/// `s` as printable text on one line: every unsafe character shown as an escape
/// (`\n`, `\u{1b}`, `\u{202e}`).
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn controls_and_bidi_overrides_are_shown_escaped() {
        assert_eq!(super::escape("a\u{1b}[2J\n\u{202e}b"), "a\\u{1b}[2J\\n\\u{202e}b");
        assert_eq!(super::escape("Chloé Martin"), "Chloé Martin");
    }
}
