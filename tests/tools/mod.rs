//! The one place tests decide what to do when an external tool they drive
//! (a shell, `script`, `strace`, `faketime`, moto, the aws CLI) is missing:
//! outside CI a loud `SKIPPED` banner and the test returns; under CI (any
//! truthy `CI`) a failure, since CI installs every tool (.ci/run).
//!
//! Every test crate reaches this file the same way: a helper module
//! (`common`, `shellkit`, `moto`) includes it with `#[path]`, or a crate
//! root with `mod tools;`.
#![allow(dead_code)] // each test binary uses a different part

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Whether we run under CI: `CI` set to anything but empty, `0`, `false`,
/// `no` or `off` (any case). CI services set `true`, some set `1`.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| ci_value_is_truthy(&v))
}

pub fn ci_value_is_truthy(v: &str) -> bool {
    let v = v.trim().to_ascii_lowercase();
    !matches!(v.as_str(), "" | "0" | "false" | "no" | "off")
}

/// Reports that `what` is missing: panics under CI, otherwise prints a
/// banner straight to stderr (libtest captures `eprintln!` of passing
/// tests, and a skip must be seen). `hint` says how to get it.
pub fn skip(what: &str, hint: &str) {
    let message = if hint.is_empty() {
        format!("{what} not found")
    } else {
        format!("{what} not found ({hint})")
    };
    if in_ci() {
        panic!("{message}, and CI is set: CI must install it (.ci/run does)");
    }
    let _ = writeln!(std::io::stderr(), "\n\n    SKIPPED: {message}\n\n");
}

/// `name` on PATH (an executable file), if any.
pub fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Whether `program ARGS` runs and succeeds (a check that the tool really
/// works, not only that a file of that name exists).
pub fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `true` when `program --version` runs; otherwise [`skip`]s (or panics
/// under CI) and returns `false`.
pub fn require(program: &str) -> bool {
    require_with(program, &["--version"], "")
}

/// The same with the arguments that prove the tool works and a hint.
pub fn require_with(program: &str, args: &[&str], hint: &str) -> bool {
    if runs(program, args) {
        return true;
    }
    skip(program, hint);
    false
}

/// A tool found through the variable `variable` (a path) or else as `name`
/// on PATH; [`skip`]s when neither exists.
pub fn find(variable: &str, name: &str, hint: &str) -> Option<PathBuf> {
    let found = std::env::var_os(variable)
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or_else(|| on_path(name));
    if found.is_none() {
        skip(
            name,
            &format!("set {variable} or put {name} on PATH; {hint}"),
        );
    }
    found
}

#[cfg(test)]
mod tests {
    #[test]
    fn ci_values() {
        for v in ["1", "true", "TRUE", "yes", "on", "github", " true "] {
            assert!(super::ci_value_is_truthy(v), "{v:?}");
        }
        for v in ["", "0", "false", "False", "no", "NO", "off", " "] {
            assert!(!super::ci_value_is_truthy(v), "{v:?}");
        }
    }
}
