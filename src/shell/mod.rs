//! Rendering variables for shells to `eval`. Each shell has its own file
//! with its quoting rules; this module picks one and checks what every shell
//! needs (valid names, no NUL bytes).

pub mod fish;
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
    Xonsh,
    /// `utf8`: whether tcsh runs in a UTF-8 locale, which decides how it
    /// reads bytes from 0x80 up (see `tcsh.rs`).
    Tcsh {
        utf8: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShellError {
    #[error(
        "\"{0}\" is not a valid shell variable name (use letters, digits and '_', not starting with a digit); rename it in the environment"
    )]
    BadName(String),
    #[error("the value of {0} contains a NUL byte, which no shell variable can hold")]
    Nul(String),
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
    /// `value` as one word of this shell's syntax.
    pub fn quote(self, value: &[u8]) -> String {
        match self {
            Shell::Bash | Shell::Zsh => posix::quote(value),
            Shell::Fish => fish::quote(value),
            Shell::Xonsh => xonsh::quote(value),
            Shell::Tcsh { utf8 } => tcsh::quote(value, utf8),
        }
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

    /// A statement that sets and exports `name` (no trailing newline).
    pub fn export(self, name: &str, value: &[u8]) -> Result<String, ShellError> {
        check(name, value)?;
        if !self.representable(value) {
            return Err(ShellError::Unrepresentable(name.to_string(), self.name()));
        }
        Ok(match self {
            Shell::Bash | Shell::Zsh => posix::export(name, value),
            Shell::Fish => fish::export(name, value),
            Shell::Xonsh => xonsh::export(name, value),
            Shell::Tcsh { utf8 } => tcsh::export(name, value, utf8),
        })
    }

    /// A statement that removes `name` from the environment.
    pub fn unset(self, name: &str) -> Result<String, ShellError> {
        check_name(name)?;
        Ok(match self {
            Shell::Bash | Shell::Zsh => format!("unset {name}"),
            Shell::Fish => fish::unset(name),
            Shell::Xonsh => xonsh::unset(name),
            Shell::Tcsh { .. } => tcsh::unset(name),
        })
    }

    /// Sets a global, not exported, shell variable (the hook's own
    /// bookkeeping; `name` is escsh's, not the user's).
    pub fn assign_local(self, name: &str, value: &[u8]) -> String {
        let q = self.quote(value);
        match self {
            Shell::Bash => format!("{name}={q}"),
            Shell::Zsh => format!("typeset -g {name}={q}"),
            Shell::Fish => format!("set -g {name} {q}"),
            Shell::Xonsh => xonsh::assign(name, value),
            Shell::Tcsh { utf8 } => tcsh::assign(name, value, utf8),
        }
    }

    /// The same for a list of words.
    pub fn assign_local_list(self, name: &str, values: &[Vec<u8>]) -> String {
        let words: Vec<String> = values.iter().map(|v| self.quote(v)).collect();
        let words = words.join(" ");
        match self {
            Shell::Bash => format!("{name}=({words})"),
            Shell::Zsh => format!("typeset -ga {name}; {name}=({words})"),
            Shell::Fish => format!("set -g {name} {words}"),
            Shell::Xonsh => xonsh::assign_list(name, values),
            Shell::Tcsh { utf8 } => tcsh::assign_list(name, values, utf8),
        }
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
