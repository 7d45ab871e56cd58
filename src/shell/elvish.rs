//! elvish syntax. In single quotes only `'` is special (written `''`), so
//! printable ASCII goes there; every other byte goes in a double-quoted
//! `"\xHH"`, which elvish reads as that raw byte (its strings are bytes, not
//! text). Adjacent quoted pieces form one word. The result is pure ASCII, so
//! the parser's view of UTF-8 never matters.

use std::fmt::Write;

pub fn quote(value: &[u8]) -> String {
    if value.is_empty() {
        return "''".into();
    }
    let mut out = String::with_capacity(value.len() + 2);
    // Which quote is open: none, `'` or `"`.
    let mut open: Option<char> = None;
    for &b in value {
        let want = if (0x20..0x7f).contains(&b) { '\'' } else { '"' };
        if open != Some(want) {
            if let Some(q) = open {
                out.push(q);
            }
            out.push(want);
            open = Some(want);
        }
        match (want, b) {
            ('\'', b'\'') => out.push_str("''"),
            ('\'', _) => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    if let Some(q) = open {
        out.push(q);
    }
    out
}

pub fn export(name: &str, value: &[u8]) -> String {
    format!("set-env {name} {}", quote(value))
}

pub fn unset(name: &str) -> String {
    format!("unset-env {name}")
}

/// The hook's own variables are declared by `shells/escsh.elv`: `set`, not
/// `var`, so the hook's closures see the new values.
pub fn assign(name: &str, value: &[u8]) -> String {
    format!("set {name} = {}", quote(value))
}

pub fn assign_list(name: &str, values: &[Vec<u8>]) -> String {
    let words: Vec<String> = values.iter().map(|v| quote(v)).collect();
    format!("set {name} = [{}]", words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(quote(b""), "''");
        assert_eq!(quote(b"it's $x"), "'it''s $x'");
        assert_eq!(quote(b"a\nb"), "'a'\"\\x0a\"'b'");
        assert_eq!(quote("é".as_bytes()), "\"\\xc3\\xa9\"");
        assert_eq!(quote(b"\\\""), "'\\\"'");
        assert!(quote(&(0u8..=255).collect::<Vec<_>>()).is_ascii());
        assert_eq!(
            assign_list("w", &[b"a".to_vec(), vec![]]),
            "set w = ['a' '']"
        );
    }
}
