//! tcsh syntax, for what `eval "`escsh export tcsh`"` reads. csh has no
//! quoting that holds a newline or keeps `!` literal everywhere, so values
//! are built from adjacent pieces that tcsh joins into one word:
//!
//! - printable ASCII goes in single quotes, with `!` written `\!` (history
//!   substitution also happens inside single quotes);
//! - `'`, `\`, controls and DEL go in `$'...'` as three-digit octal
//!   escapes (octal stops after three digits; `\x` would run on);
//! - bytes from 0x80 up: tcsh turns `$'\351'` into the *character* U+00E9
//!   in a UTF-8 locale, so there they go raw in single quotes, and only
//!   valid UTF-8 is exact: tcsh splits command substitution output into
//!   4 KiB reads and mangles a byte that is not part of a whole UTF-8
//!   character where a read ends (see [`representable`]). In a byte
//!   locale (C, POSIX, Latin-1) octal gives the byte itself.
//!
//! Every statement ends in `;`: csh joins the lines of a command
//! substitution into one line before `eval` reads them.

use std::fmt::Write;

/// Whether tcsh, in a locale that is (`utf8`) or is not UTF-8, can be
/// given `value` exactly.
pub fn representable(value: &[u8], utf8: bool) -> bool {
    !utf8 || std::str::from_utf8(value).is_ok()
}

#[derive(PartialEq)]
enum Run {
    None,
    Plain,
    Escaped,
}

pub fn quote(value: &[u8], utf8: bool) -> String {
    if value.is_empty() {
        return "''".into();
    }
    // Raw bytes only come from valid UTF-8 (checked before by the caller);
    // a lossy conversion keeps this total anyway.
    let mut out = String::with_capacity(value.len() + 2);
    let mut run = Run::None;
    let switch = |out: &mut String, to: Run, run: &mut Run| {
        if *run != to {
            if *run != Run::None {
                out.push('\'');
            }
            out.push_str(if to == Run::Plain { "'" } else { "$'" });
            *run = to;
        }
    };
    let mut raw: Vec<u8> = Vec::new();
    let flush = |out: &mut String, raw: &mut Vec<u8>| {
        if !raw.is_empty() {
            out.push_str(&String::from_utf8_lossy(raw));
            raw.clear();
        }
    };
    for &b in value {
        let plain_ascii = (0x20..0x7f).contains(&b) && b != b'\'' && b != b'\\';
        if plain_ascii || (b >= 0x80 && utf8) {
            switch(&mut out, Run::Plain, &mut run);
            if b >= 0x80 {
                raw.push(b);
                continue;
            }
            flush(&mut out, &mut raw);
            if b == b'!' {
                out.push('\\');
            }
            out.push(b as char);
        } else {
            flush(&mut out, &mut raw);
            switch(&mut out, Run::Escaped, &mut run);
            let _ = write!(out, "\\{b:03o}");
        }
    }
    flush(&mut out, &mut raw);
    out.push('\'');
    out
}

pub fn export(name: &str, value: &[u8], utf8: bool) -> String {
    format!("setenv {name} {};", quote(value, utf8))
}

pub fn unset(name: &str) -> String {
    format!("unsetenv {name};")
}

pub fn assign(name: &str, value: &[u8], utf8: bool) -> String {
    format!("set {name} = {};", quote(value, utf8))
}

pub fn assign_list(name: &str, values: &[Vec<u8>], utf8: bool) -> String {
    let words: Vec<String> = values.iter().map(|v| quote(v, utf8)).collect();
    format!("set {name} = ( {} );", words.join(" "))
}

/// Whether the locale tcsh runs in (from its environment, as setlocale
/// reads it) is UTF-8.
pub fn utf8_locale(env: &dyn Fn(&str) -> Option<String>) -> bool {
    let codeset = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|k| env(k).filter(|v| !v.is_empty()))
        .unwrap_or_default()
        .to_ascii_lowercase();
    codeset.contains("utf-8") || codeset.contains("utf8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(quote(b"", true), "''");
        assert_eq!(quote(b"a b$`", true), "'a b$`'");
        assert_eq!(quote(b"hi!", true), r"'hi\!'");
        assert_eq!(quote(b"it's\n", true), r"'it'$'\047''s'$'\012'");
        assert_eq!(quote(b"\\1", true), r"$'\134''1'");
        assert_eq!(quote("é".as_bytes(), true), "'é'");
        assert_eq!(quote("é".as_bytes(), false), r"$'\303\251'");
        assert!(quote(&(1u8..=255).collect::<Vec<_>>(), false).is_ascii());
        assert_eq!(export("X", b"v", true), "setenv X 'v';");
        assert_eq!(
            assign_list("L", &[b"a".to_vec(), b"b c".to_vec()], true),
            "set L = ( 'a' 'b c' );"
        );
    }

    #[test]
    fn only_utf8_is_exact_in_a_utf8_locale() {
        assert!(representable(b"\xff", false));
        assert!(!representable(b"\xff", true));
        assert!(representable("é\n!".as_bytes(), true));
    }

    #[test]
    fn locale() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(utf8_locale(&env(&[("LANG", "en_US.UTF-8")])));
        assert!(utf8_locale(&env(&[("LC_ALL", "C.utf8"), ("LANG", "C")])));
        assert!(!utf8_locale(&env(&[("LC_ALL", "C"), ("LANG", "C.UTF-8")])));
        assert!(!utf8_locale(&env(&[])));
    }
}
