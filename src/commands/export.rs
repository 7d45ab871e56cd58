//! `escsh export SHELL`: what the hook evals when something may have changed.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use super::opener::HookOpener;
use super::App;
use crate::hook::diff::Change;
use crate::hook::export::{self, Inputs, Loaded};
use crate::hook::state::Fingerprinter;
use crate::shell::{protocol, Shell};

/// Prints nothing on stdout when it fails, so a shell never gets half a change.
pub fn export(app: &App, shell: Shell) -> Result<()> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let pwd = std::env::var("PWD")
        .ok()
        .filter(|p| same_dir(Path::new(p), &cwd))
        .unwrap_or_else(|| cwd.display().to_string());
    let snapshot: HashMap<String, Vec<u8>> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_encoded_bytes())))
        .collect();
    let env = |name: &str| snapshot.get(name).cloned();
    let shell_prev = std::env::var(protocol::PREV_ENV).ok();
    let fingerprinter = Fingerprinter::load(app.paths.data_dir())?;
    let loaded = Loaded::read(&app.paths, &env, shell_prev.as_deref(), &fingerprinter);
    use_pristine_environment(&env, &loaded, &fingerprinter);
    let inputs = Inputs {
        paths: &app.paths,
        shell,
        now: crate::time::now(),
        cwd,
        pwd,
        env: &env,
        loaded: &loaded,
        fingerprinter: &fingerprinter,
        stamp: std::env::var_os(protocol::STAMP_ENV)
            .filter(|s| !s.is_empty())
            .map(PathBuf::from),
    };
    let out = export::export(&inputs, &HookOpener { app })?;
    let mut err = std::io::stderr().lock();
    for m in &out.messages {
        let _ = writeln!(err, "escsh: {}", crate::printable::line(m));
    }
    std::io::stdout().write_all(out.script.as_bytes())?;
    std::io::stdout().flush()?;
    // One stat unless an hour has passed; after the output, so the shell
    // does not wait on it (it waits for the process to end all the same).
    crate::sweep::maybe_sweep(&app.paths, inputs.now);
    Ok(())
}

/// Providers run by this process (and the refreshes it starts) must see
/// the shell's environment as it was before escsh loaded anything: an
/// `assumeRole` takes its source credentials from there, not from the
/// credentials escsh exported for another project.
fn use_pristine_environment(
    env: &dyn Fn(&str) -> Option<Vec<u8>>,
    loaded: &Loaded,
    fp: &Fingerprinter,
) {
    let undo = crate::hook::diff::apply(env, &loaded.state, &loaded.prev, None, fp);
    for change in undo.changes {
        match change {
            Change::Set(name, value) => {
                use std::os::unix::ffi::OsStringExt;
                std::env::set_var(name, std::ffi::OsString::from_vec(value));
            }
            Change::Unset(name) => std::env::remove_var(name),
        }
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    std::fs::canonicalize(a).is_ok_and(|a| a == b || std::fs::canonicalize(b).is_ok_and(|b| a == b))
}
