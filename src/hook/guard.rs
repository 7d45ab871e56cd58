//! Which variables the hook will not export from an environment.
//!
//! Environments are shared by teams: write access to one must not become
//! code execution in every member's shell. Two kinds of names are refused:
//!
//! - escsh's own (`ESCSH_*`, `__escsh_*`, any case): they steer the hook
//!   itself (which program it runs, where trust lives, what it restores),
//!   so no `.escrc` can opt in to them;
//! - names that make a shell, or the dynamic loader, run code or reveal
//!   what runs (below): refused unless the `.escrc` lists them under
//!   `unsafe-vars:`, which `escsh allow` then covers like the rest of it.
//!
//! `escsh run` is not guarded: there the user names the command and asked
//! for exactly these variables.

/// Names a shell or the loader turns into code (or into a trace of it).
/// Prefixes end in `_` and match any name that starts with them.
pub const CODE_VARS: &[&str] = &[
    // bash: run at each prompt, before each command, or by every
    // non-interactive bash; options and the trace descriptor.
    "PROMPT_COMMAND",
    "PS0",
    "PS1",
    "PS2",
    "PS3",
    "PS4",
    "BASH_ENV",
    "ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "BASH_XTRACEFD",
    "BASH_LOADABLES_PATH",
    "INPUTRC",
    "IFS",
    // zsh: prompts (expanded under PROMPT_SUBST), startup files,
    // autoloaded functions and modules.
    "PROMPT",
    "PROMPT2",
    "PROMPT3",
    "PROMPT4",
    "RPROMPT",
    "RPROMPT2",
    "RPS1",
    "RPS2",
    "ZDOTDIR",
    "FPATH",
    "MODULE_PATH",
    // fish: where functions, completions and configuration are loaded
    // from, and its tracer.
    "fish_function_path",
    "fish_complete_path",
    "fish_trace",
    "XDG_CONFIG_HOME",
    "XDG_DATA_DIRS",
    // xonsh: its environment is its live configuration: startup files,
    // and switches that trace or debug what it runs.
    "XONSHRC",
    "XONSHRC_DIR",
    "XONSH_",
    // The dynamic loader (glibc, musl) and macOS's.
    "LD_",
    "DYLD_",
];

/// Why a variable is not exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// One of escsh's own names: never.
    Owned,
    /// Runs code; exported only when the `.escrc` opts in.
    Code,
}

/// `None` when `name` may be exported by an environment whose `.escrc`
/// lists `opted_in` under `unsafe-vars`.
pub fn check(name: &str, opted_in: &[String]) -> Option<Refusal> {
    let upper = name.to_ascii_uppercase();
    if upper.starts_with("ESCSH_") || upper.starts_with("__ESCSH_") {
        return Some(Refusal::Owned);
    }
    let listed = CODE_VARS.iter().any(|v| match v.strip_suffix('_') {
        Some(_) => name.starts_with(v),
        None => name == *v,
    });
    (listed && !opted_in.iter().any(|o| o == name)).then_some(Refusal::Code)
}

/// The message for a refused variable of environment `env`, found through
/// the `.escrc` at `rc`.
pub fn message(name: &str, refusal: &Refusal, env: &str, rc: &str) -> String {
    match refusal {
        Refusal::Owned => format!(
            "{env} sets {name}, a name escsh keeps for itself: not exported (rename it in the environment)"
        ),
        Refusal::Code => format!(
            "{env} sets {name}, which makes the shell or the loader run code: not exported; \
             to export it, add `unsafe-vars: {name}` to {rc} and run 'escsh allow'"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_names_are_always_refused_code_names_unless_opted_in() {
        let none: Vec<String> = Vec::new();
        for owned in [
            "ESCSH_HOME",
            "ESCSH_STATE",
            "__escsh_bin",
            "__ESCSH_PREV",
            "escsh_x",
        ] {
            assert_eq!(
                check(owned, &[owned.to_string()]),
                Some(Refusal::Owned),
                "{owned}"
            );
        }
        for code in [
            "PROMPT_COMMAND",
            "PS1",
            "BASH_ENV",
            "ENV",
            "ZDOTDIR",
            "XONSH_TRACE_SUBPROC",
            "XONSHRC",
            "LD_PRELOAD",
            "DYLD_INSERT_LIBRARIES",
            "fish_function_path",
        ] {
            assert_eq!(check(code, &none), Some(Refusal::Code), "{code}");
            assert_eq!(check(code, &[code.to_string()]), None, "{code}");
        }
        for fine in [
            "PATH",
            "AWS_REGION",
            "PS5",
            "ENVIRONMENT",
            "OLD_LD_PATH",
            "HOME",
        ] {
            assert_eq!(check(fine, &none), None, "{fine}");
        }
    }
}
