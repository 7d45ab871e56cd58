//! xonsh syntax: the export is Python, run by the hook with `exec` in the
//! hook's own namespace. Values are Python string literals in pure ASCII:
//! printable ASCII as is (`'` and `\` escaped), every other character as
//! `\xHH`, `\uHHHH` or `\UHHHHHHHH`, and each byte that is not part of
//! valid UTF-8 as the lone surrogate `\udcHH`, which is how Python itself
//! (`os.environ`, `subprocess`: surrogateescape) holds such a byte and
//! turns it back into the same byte in a child's environment.

use std::fmt::Write;

pub fn quote(value: &[u8]) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for chunk in value.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\'' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                ' '..='~' => out.push(c),
                c if (c as u32) < 0x100 => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c if (c as u32) < 0x10000 => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => {
                    let _ = write!(out, "\\U{:08x}", c as u32);
                }
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\udc{b:02x}");
        }
    }
    out.push('\'');
    out
}

/// Sets and exports `name` (xonsh passes every `$VAR` to children).
pub fn export(name: &str, value: &[u8]) -> String {
    format!(
        "__xonsh__.env[{}] = {}",
        quote(name.as_bytes()),
        quote(value)
    )
}

pub fn unset(name: &str) -> String {
    format!("__xonsh__.env.pop({}, None)", quote(name.as_bytes()))
}

/// The hook's bookkeeping: a global of the namespace the export runs in.
pub fn assign(name: &str, value: &[u8]) -> String {
    format!("{name} = {}", quote(value))
}

pub fn assign_list(name: &str, values: &[Vec<u8>]) -> String {
    let words: Vec<String> = values.iter().map(|v| quote(v)).collect();
    format!("{name} = [{}]", words.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        assert_eq!(quote(b""), "''");
        assert_eq!(quote(b"a'b\\"), r"'a\'b\\'");
        assert_eq!(quote(b"x\ny"), r"'x\x0ay'");
        assert_eq!(quote("é€😀".as_bytes()), r"'\xe9\u20ac\U0001f600'");
        assert_eq!(quote(b"a\xffb"), r"'a\udcffb'");
        assert!(quote(&(0u8..=255).collect::<Vec<_>>()).is_ascii());
        assert_eq!(export("X", b"v"), "__xonsh__.env['X'] = 'v'");
        assert_eq!(assign_list("L", &[b"a".to_vec()]), "L = ['a']");
    }
}
