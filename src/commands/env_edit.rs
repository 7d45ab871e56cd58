//! `escsh env edit NAME`: edit a copy of the definition with the user's
//! editor, check it, and only then save it.
//!
//! The copy shows secrets in plaintext, so it lives in a private directory
//! of the runtime directory and is removed on every way out: saved,
//! discarded, the editor failing or killed, escsh interrupted or
//! terminated (the editor is then stopped first). Even after a SIGKILL the
//! sweeper removes it, its directory naming this escsh's pid. An edit kept
//! for the user (it has errors) is kept with its secrets encrypted again.

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context as _, Result};

use super::App;
use crate::cli::EnvEditArgs;
use crate::reference::EnvRef;
use crate::secrets::{self, Revealed};

pub fn edit(app: &App, args: &EnvEditArgs) -> Result<()> {
    let env = app.reference(&args.env)?;
    app.local_only(&env, "edit")?;
    let original = app.store.read(&env)?;
    let editor = editor_command()?;
    let revealed = match std::str::from_utf8(&original) {
        Ok(text) => secrets::reveal(&app.keyring, text).unwrap_or_else(|_| Revealed::none()),
        Err(_) => Revealed::none(),
    };
    let shown = if revealed.text.is_empty() {
        original.clone()
    } else {
        revealed.text.clone().into_bytes()
    };

    let dir = crate::run::private_temp_dir(&app.paths.run_files_dir())?;
    let file = dir.path().join(format!("{}.yaml", env.env));
    crate::fsutil::write_atomic(&file, &shown)
        .with_context(|| format!("writing {}", file.display()))?;

    loop {
        run_editor(&editor, &file)?;
        let edited = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        if edited == shown {
            eprintln!("no changes; {env} unchanged");
            return Ok(());
        }
        // Someone (another edit, `env set`) saved meanwhile: do not lose
        // their change silently.
        if app.store.read(&env)? != original && !args.force {
            let kept = keep(app, &env, &edited, &revealed)?;
            bail!(
                "{env} changed while you were editing; not saved. Your edit is kept at {}: \
                 merge it with `escsh env edit {env}`, or save it over the change with --force",
                kept.display()
            );
        }
        let evaluated = app.evaluate(&env, &edited);
        let result = app.check(&env, &evaluated);
        let Err(failed) = result else {
            return save(app, &env, &edited, &revealed);
        };
        if args.force {
            eprintln!("escsh: warning: saving {env} with errors (--force)");
            return save(app, &env, &edited, &revealed);
        }
        if !(io::stdin().is_terminal() && io::stderr().is_terminal()) {
            let kept = keep(app, &env, &edited, &revealed)?;
            return Err(failed.context(format!(
                "the edit is not saved; it is kept at {} (fix it, or save it with --force)",
                kept.display()
            )));
        }
        match ask()? {
            Choice::Edit => continue,
            Choice::Save => return save(app, &env, &edited, &revealed),
            Choice::Discard => {
                eprintln!("discarded; {env} unchanged");
                return Ok(());
            }
        }
    }
}

fn save(app: &App, env: &EnvRef, definition: &[u8], revealed: &Revealed) -> Result<()> {
    let sealed = app.seal(env, definition, revealed)?;
    app.store.write(env, &sealed)?;
    eprintln!("saved {env}");
    Ok(())
}

/// Keeps an edit that was not saved, its secrets encrypted again (when it
/// can be read as YAML), beside the runtime directory's other private
/// files, where the sweeper does not remove it.
fn keep(app: &App, env: &EnvRef, edited: &[u8], revealed: &Revealed) -> Result<PathBuf> {
    let sealed = app.seal(env, edited, revealed).unwrap_or_else(|e| {
        eprintln!("escsh: warning: the kept edit holds its secrets in plaintext ({e:#})");
        edited.to_vec()
    });
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let path = app.paths.runtime_dir().join("edits").join(format!(
        "{}-{}-{}-{stamp}.yaml",
        env.org, env.project, env.env
    ));
    crate::fsutil::write_atomic(&path, &sealed)
        .with_context(|| format!("keeping the edit at {}", path.display()))?;
    Ok(path)
}

enum Choice {
    Edit,
    Discard,
    Save,
}

fn ask() -> Result<Choice> {
    loop {
        let answer =
            super::prompt("The edit has errors. [e]dit again, [d]iscard, or [s]ave anyway? ")?;
        // End of input counts as "discard": never save by accident.
        if answer.is_empty() {
            return Ok(Choice::Discard);
        }
        match answer.trim() {
            "e" | "E" | "edit" => return Ok(Choice::Edit),
            "s" | "S" | "save" => return Ok(Choice::Save),
            "d" | "D" | "discard" => return Ok(Choice::Discard),
            _ => continue,
        }
    }
}

/// `$VISUAL`, else `$EDITOR`, else `vi`, split as a shell would split it
/// (`code --wait`, `"/path with spaces/ed"`).
fn editor_command() -> Result<Vec<String>> {
    let raw = ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "vi".to_string());
    let words =
        shell_words::split(&raw).with_context(|| format!("parsing the editor command {raw:?}"))?;
    if words.is_empty() {
        bail!("the editor command {raw:?} is empty; set VISUAL or EDITOR");
    }
    Ok(words)
}

/// Runs the editor on `file`. While it runs, ^C, ^\\, SIGTERM and SIGHUP
/// do not end escsh at once: they are passed to the editor, and once it has
/// exited the edit is abandoned, so that the caller removes the copy.
fn run_editor(editor: &[String], file: &Path) -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    let (program, args) = editor
        .split_first()
        .ok_or_else(|| anyhow!("no editor command"))?;
    let caught = Arc::new(AtomicUsize::new(0));
    let mut handlers = Vec::new();
    for signal in [SIGINT, SIGQUIT, SIGTERM, SIGHUP] {
        let id = signal_hook::flag::register_usize(signal, Arc::clone(&caught), signal as usize)
            .context("installing signal handlers for the edit")?;
        handlers.push(id);
    }
    let waited = wait_editor(program, args, file, &caught);
    for id in handlers {
        signal_hook::low_level::unregister(id);
    }
    let status = waited?;
    let signal = caught.load(Ordering::SeqCst);
    if signal != 0 {
        bail!("interrupted by signal {signal}; nothing was saved and the copy was removed");
    }
    if !status.success() {
        bail!("the editor {program:?} failed ({status}); nothing was saved");
    }
    Ok(())
}

fn wait_editor(
    program: &str,
    args: &[String],
    file: &Path,
    caught: &AtomicUsize,
) -> Result<std::process::ExitStatus> {
    let mut child = Command::new(program)
        .args(args)
        .arg(file)
        .spawn()
        .with_context(|| format!("starting the editor {program:?} (set VISUAL or EDITOR)"))?;
    let mut passed = 0;
    loop {
        if let Some(status) = child.try_wait().context("waiting for the editor")? {
            return Ok(status);
        }
        let signal = caught.load(Ordering::SeqCst);
        if signal != passed {
            passed = signal;
            // SAFETY: kill(2) on our own child's pid, which is not reaped yet.
            unsafe { libc::kill(child.id() as libc::pid_t, signal as libc::c_int) };
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
