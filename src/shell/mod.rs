//! Rendering variables for shells. Each shell has its own file with its
//! quoting rules; this module picks one and checks what every shell needs
//! (valid names, no NUL bytes). A change is a list of [`Op`]s, serialized
//! once per shell: statements to `eval`, or one JSON document for nushell.

pub mod elvish;
pub mod fish;
pub mod nu;
pub mod posix;
pub mod protocol;
pub mod tcsh;
pub mod xonsh;

/// The shells escsh renders for. (fish comes with the hook; it gets its own
/// file beside `posix.rs` and a variant here.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Nu,
    Elvish,
    Xonsh,
    /// `utf8`: whether tcsh runs in a UTF-8 locale, which decides how it
    /// reads bytes from 0x80 up (see `tcsh.rs`).
    Tcsh {
        utf8: bool,
    },
}

/// One step of a change to a shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Set and export a variable of the user's.
    Set(String, Vec<u8>),
    /// Remove a variable from the environment.
    Unset(String),
    /// Set one of the hook's own variables (see [`protocol`]), not exported.
    Keep(&'static str, Vec<u8>),
    /// The same for a list of words.
    KeepList(&'static str, Vec<Vec<u8>>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShellError {
    #[error(
        "\"{0}\" is not a valid shell variable name (use letters, digits and '_', not starting with a digit); rename it in the environment"
    )]
    BadName(String),
    #[error("the value of {0} contains a NUL byte, which no shell variable can hold")]
    Nul(String),
    #[error(
        "the value of {name} is not UTF-8 text, which {shell} cannot hold exactly; make it text (e.g. base64-encode it) or use another shell"
    )]
    NotText { name: String, shell: &'static str },
    #[error("{name} is a variable {shell} keeps for itself; rename it in the environment")]
    Reserved { name: String, shell: &'static str },
    #[error("the value of {0} holds bytes that are not UTF-8, which {1} cannot be given exactly in a UTF-8 locale")]
    Unrepresentable(String, &'static str),
}

/// Names must be `[A-Za-z_][A-Za-z0-9_]*`: anything else would be executed
/// as code, or refused by the shell, once `eval`ed.
pub fn check_name(name: &str) -> Result<(), ShellError> {
    let mut bytes = name.bytes();
    let first_ok = matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_');
    if first_ok && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(())
    } else {
        Err(ShellError::BadName(name.to_string()))
    }
}

fn check(name: &str, value: &[u8]) -> Result<(), ShellError> {
    check_name(name)?;
    if value.contains(&0) {
        return Err(ShellError::Nul(name.to_string()));
    }
    Ok(())
}

impl Shell {
    /// `value` as one word of this shell's syntax (nushell: a string
    /// literal, refused when the value is not UTF-8 text).
    pub fn quote(self, value: &[u8]) -> Result<String, ShellError> {
        Ok(match self {
            Shell::Bash | Shell::Zsh => posix::quote(value),
            Shell::Fish => fish::quote(value),
            Shell::Elvish => elvish::quote(value),
            Shell::Nu => nu::quote(value)?,
            Shell::Xonsh => xonsh::quote(value),
            Shell::Tcsh { utf8 } => tcsh::quote(value, utf8),
        })
    }

    /// Whether this shell can be given `value` exactly; one it cannot is
    /// not exported at all rather than exported wrong.
    pub fn representable(self, value: &[u8]) -> bool {
        match self {
            Shell::Tcsh { utf8 } => tcsh::representable(value, utf8),
            _ => true,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
            Shell::Nu => "nushell",
            Shell::Elvish => "elvish",
            Shell::Xonsh => "xonsh",
            Shell::Tcsh { .. } => "tcsh",
        }
    }

    /// The tcsh of the locale in this process's environment (the shell's).
    pub fn tcsh_here() -> Shell {
        let env = |k: &str| std::env::var(k).ok();
        Shell::Tcsh {
            utf8: tcsh::utf8_locale(&env),
        }
    }

    /// What the shell's hook applies for `ops`, in one piece: statements,
    /// a line each, or (nushell) one JSON document.
    pub fn render(self, ops: &[Op]) -> Result<String, ShellError> {
        for op in ops {
            match op {
                Op::Set(name, value) => {
                    check(name, value)?;
                    if !self.representable(value) {
                        return Err(ShellError::Unrepresentable(name.clone(), self.name()));
                    }
                }
                Op::Unset(name) => check_name(name)?,
                Op::Keep(..) | Op::KeepList(..) => {}
            }
        }
        if self == Shell::Nu {
            return nu::render(ops);
        }
        let mut lines: Vec<String> = ops.iter().map(|op| self.line(op)).collect();
        lines.push(String::new());
        Ok(lines.join("\n"))
    }

    /// One statement of an eval shell (names checked by `render`).
    fn line(self, op: &Op) -> String {
        match (self, op) {
            (Shell::Bash | Shell::Zsh, Op::Set(n, v)) => posix::export(n, v),
            (Shell::Bash | Shell::Zsh, Op::Unset(n)) => format!("unset {n}"),
            (Shell::Fish, Op::Set(n, v)) => fish::export(n, v),
            (Shell::Fish, Op::Unset(n)) => fish::unset(n),
            (Shell::Elvish, Op::Set(n, v)) => elvish::export(n, v),
            (Shell::Elvish, Op::Unset(n)) => elvish::unset(n),
            (Shell::Elvish, Op::Keep(n, v)) => elvish::assign(n, v),
            (Shell::Elvish, Op::KeepList(n, v)) => elvish::assign_list(n, v),
            (Shell::Xonsh, Op::Set(n, v)) => xonsh::export(n, v),
            (Shell::Xonsh, Op::Unset(n)) => xonsh::unset(n),
            (Shell::Xonsh, Op::Keep(n, v)) => xonsh::assign(n, v),
            (Shell::Xonsh, Op::KeepList(n, v)) => xonsh::assign_list(n, v),
            (Shell::Tcsh { utf8 }, Op::Set(n, v)) => tcsh::export(n, v, utf8),
            (Shell::Tcsh { .. }, Op::Unset(n)) => tcsh::unset(n),
            (Shell::Tcsh { utf8 }, Op::Keep(n, v)) => tcsh::assign(n, v, utf8),
            (Shell::Tcsh { utf8 }, Op::KeepList(n, v)) => tcsh::assign_list(n, v, utf8),
            (_, Op::Keep(n, v)) => {
                let q = self.word(v);
                match self {
                    Shell::Zsh => format!("typeset -g {n}={q}"),
                    Shell::Fish => format!("set -g {n} {q}"),
                    _ => format!("{n}={q}"),
                }
            }
            (_, Op::KeepList(n, values)) => {
                let words: Vec<String> = values.iter().map(|v| self.word(v)).collect();
                let words = words.join(" ");
                match self {
                    Shell::Zsh => format!("typeset -ga {n}; {n}=({words})"),
                    Shell::Fish => format!("set -g {n} {words}"),
                    _ => format!("{n}=({words})"),
                }
            }
            // `render` serializes nushell's ops as JSON, never through here.
            (Shell::Nu, _) => String::new(),
        }
    }

    /// A word of an eval shell, whose quoting takes any bytes.
    fn word(self, value: &[u8]) -> String {
        self.quote(value).unwrap_or_default()
    }

    /// A statement that sets and exports `name` (no trailing newline).
    pub fn export(self, name: &str, value: &[u8]) -> Result<String, ShellError> {
        let text = self.render(&[Op::Set(name.to_string(), value.to_vec())])?;
        Ok(text.trim_end_matches('\n').to_string())
    }
}

/// The hook script for `shell`, with `@ESCSH@` standing for the quoted
/// path of the binary. The scripts are real files under `shells/`, so they
/// can be read and linted on their own.
pub fn hook_script(shell: Shell) -> &'static str {
    match shell {
        Shell::Bash => include_str!("../../shells/escsh.bash"),
        Shell::Zsh => include_str!("../../shells/escsh.zsh"),
        Shell::Fish => include_str!("../../shells/escsh.fish"),
        Shell::Nu => include_str!("../../shells/escsh.nu"),
        Shell::Elvish => include_str!("../../shells/escsh.elv"),
        Shell::Xonsh => include_str!("../../shells/escsh.xsh"),
        Shell::Tcsh { .. } => include_str!("../../shells/escsh.tcsh"),
    }
}

/// A `NAME=value` line in the same quoting as the POSIX shells, so a dotenv
/// file can also be sourced by bash and zsh.
pub fn dotenv_line(name: &str, value: &[u8]) -> Result<String, ShellError> {
    check(name, value)?;
    Ok(posix::assign(name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["A", "_x", "a1_B"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1A", "A-B", "A B", "A=B", "$(x)", "é"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nul_is_refused_without_the_value() {
        let err = Shell::Bash
            .export("X", b"sec\0ret")
            .unwrap_err()
            .to_string();
        assert!(err.contains('X') && !err.contains("sec"), "{err}");
    }

    /// csh joins the lines of `eval "`escsh hook tcsh`"` into one: every
    /// line must be a whole statement, and a comment would swallow the rest.
    #[test]
    fn tcsh_hook_reads_as_one_line() {
        for line in hook_script(Shell::Tcsh { utf8: true }).lines() {
            assert!(line.ends_with(';') && !line.contains('#'), "{line}");
        }
    }

    #[test]
    fn lines() {
        assert_eq!(Shell::Zsh.export("X", b"a b").unwrap(), "export X='a b'");
        assert_eq!(dotenv_line("X", b"it's").unwrap(), "X='it'\\''s'");
    }
}
