//! Quoting for bash and zsh.
//!
//! Printable ASCII goes in single quotes (where nothing is special), a `'`
//! is written `\'` between quoted runs, and every other byte (controls,
//! DEL, and each byte of non-ASCII text) as `$'\xHH'`. The output is pure
//! ASCII, so it survives any locale and terminal, and `eval` gives back
//! exactly the original bytes in both shells.

use std::fmt::Write;

enum Run {
    None,
    Quoted,
    Escaped,
}

pub fn quote(value: &[u8]) -> String {
    if value.is_empty() {
        return "''".to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    let mut run = Run::None;
    for &b in value {
        let printable = (0x20..0x7f).contains(&b);
        if b == b'\'' {
            close(&mut out, &run);
            out.push_str("\\'");
            run = Run::None;
        } else if printable {
            if !matches!(run, Run::Quoted) {
                close(&mut out, &run);
                out.push('\'');
                run = Run::Quoted;
            }
            out.push(b as char);
        } else {
            if !matches!(run, Run::Escaped) {
                close(&mut out, &run);
                out.push_str("$'");
                run = Run::Escaped;
            }
            // Always two hex digits: `\xHH` stops after two, so a following
            // escape cannot be swallowed.
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    close(&mut out, &run);
    out
}

fn close(out: &mut String, run: &Run) {
    if !matches!(run, Run::None) {
        out.push('\'');
    }
}

pub fn assign(name: &str, value: &[u8]) -> String {
    format!("{name}={}", quote(value))
}

pub fn export(name: &str, value: &[u8]) -> String {
    format!("export {}", assign(name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(quote(b""), "''");
        assert_eq!(quote(b"abc"), "'abc'");
        assert_eq!(quote(b"it's"), "'it'\\''s'");
        assert_eq!(quote(b"'"), "\\'");
        assert_eq!(quote(b"a\nb"), "'a'$'\\x0a''b'");
        assert_eq!(quote(b"\x01\x02"), "$'\\x01\\x02'");
        assert_eq!(quote("é".as_bytes()), "$'\\xc3\\xa9'");
        assert_eq!(quote(b"$(x) `y` \\"), "'$(x) `y` \\'");
        assert!(quote(&(0u8..=255).collect::<Vec<_>>()).is_ascii());
    }

    // What real shells make of these forms is tested in tests/escaping.rs,
    // where a missing shell is a loud skip (a failure under CI).
}
