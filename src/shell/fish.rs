//! fish syntax. Inside single quotes fish still treats `\\` and `\'` as
//! escapes (POSIX quoting is wrong here, and exploitable: a value ending in
//! a backslash would swallow the closing quote). Printable ASCII goes in
//! single quotes with those two escaped; every other byte goes outside the
//! quotes as `\xHH` (ASCII) or `\XHH` (a raw byte), which fish joins with
//! the neighbouring quoted runs into one word. The result is pure ASCII.

use std::fmt::Write;

pub fn quote(value: &[u8]) -> String {
    if value.is_empty() {
        return "''".into();
    }
    let mut out = String::with_capacity(value.len() + 2);
    let mut quoted = false;
    for &b in value {
        if (0x20..0x7f).contains(&b) {
            if !quoted {
                out.push('\'');
                quoted = true;
            }
            if b == b'\\' || b == b'\'' {
                out.push('\\');
            }
            out.push(b as char);
        } else {
            if quoted {
                out.push('\'');
                quoted = false;
            }
            let marker = if b < 0x80 { 'x' } else { 'X' };
            let _ = write!(out, "\\{marker}{b:02x}");
        }
    }
    if quoted {
        out.push('\'');
    }
    out
}

/// `set -gx NAME value`: global and exported.
pub fn export(name: &str, value: &[u8]) -> String {
    format!("set -gx {name} {}", quote(value))
}

pub fn unset(name: &str) -> String {
    format!("set -e -g {name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_backslashes_quotes_and_bytes() {
        assert_eq!(quote(b""), "''");
        assert_eq!(quote(b"a'b\\"), r"'a\'b\\'");
        assert_eq!(quote(b"x\ny"), r"'x'\x0a'y'");
        assert_eq!(quote("é".as_bytes()), r"\Xc3\Xa9");
        assert!(quote(&(0u8..=255).collect::<Vec<_>>()).is_ascii());
    }
}
