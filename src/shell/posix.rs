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

    /// The real test: what bash and zsh make of it (skipped where missing).
    #[test]
    fn round_trips_in_real_shells() {
        let mut samples: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"plain".to_vec(),
            b"it's a \"test\" \\ $HOME `id` $(id) ${x} !! * ? [a] ~ # ;&|<>".to_vec(),
            b"line1\nline2\r\n\ttab\x1b[31mred\x7f".to_vec(),
            "ünïcødé ✓ 🚀".as_bytes().to_vec(),
            b"\xff\xfe\x80 not utf8".to_vec(),
            b"'''".to_vec(),
            b"\\'\\x41".to_vec(),
        ];
        samples.push((1u8..=255).collect());
        for shell in ["bash", "zsh"] {
            if std::process::Command::new(shell)
                .arg("-c")
                .arg("true")
                .output()
                .is_err()
            {
                eprintln!("{shell} not installed; skipping");
                continue;
            }
            // The locale changes how shells read multibyte text; the
            // output must not depend on it.
            for locale in ["C", "C.UTF-8"] {
                for s in &samples {
                    let script = format!("{}; printf %s \"$X\"", export("X", s));
                    let out = std::process::Command::new(shell)
                        .arg("-c")
                        .arg(&script)
                        .env("LC_ALL", locale)
                        .output()
                        .unwrap();
                    assert!(out.status.success(), "{shell} {locale}: {script}");
                    assert_eq!(&out.stdout, s, "{shell} {locale}: {script}");
                }
            }
        }
    }
}
