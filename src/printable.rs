//! Text from outside (an `.escrc`, a path, `ESCSH_STATE`, an error from a
//! provider) on its way to a terminal: control characters would let it
//! move the cursor, rewrite earlier lines or set the window title, so they
//! are shown escaped instead.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every control character (C0, DEL, C1) and every bidi or
/// invisible formatting character written as `\xHH` / `\u{HHHH}`; `\t`
/// stays readable as `\t`, and a newline is kept only where `keep_newlines`.
pub fn escape(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    if !text.chars().any(|c| needs_escape(c, keep_newlines)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !needs_escape(c, keep_newlines) {
            out.push(c);
        } else if c == '\t' {
            out.push_str("\\t");
        } else if c == '\n' {
            out.push_str("\\n");
        } else if c == '\r' {
            out.push_str("\\r");
        } else if (c as u32) < 0x100 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

/// One line for a terminal: no control character survives, newlines included.
pub fn line(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

fn needs_escape(c: char, keep_newlines: bool) -> bool {
    if c == '\n' {
        return !keep_newlines;
    }
    c.is_control()
        || matches!(c,
            // Bidi embeddings, overrides and isolates (the "Trojan Source"
            // set), zero-width and other invisible formatting characters.
            '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            | '\u{061c}' | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped() {
        assert_eq!(line("plain /p/é"), "plain /p/é");
        assert!(matches!(line("plain"), Cow::Borrowed(_)));
        assert_eq!(line("a\x1b]0;pwned\x07b"), "a\\x1b]0;pwned\\x07b");
        assert_eq!(line("x\ny\r\tz\x7f"), "x\\ny\\r\\tz\\x7f");
        assert_eq!(line("\u{9b}31m"), "\\x9b31m");
        assert_eq!(line("evil\u{202e}txt"), "evil\\u{202e}txt");
        assert_eq!(escape("a\nb\x1b", true), "a\nb\\x1b");
    }
}
