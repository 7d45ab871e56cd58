//! `escsh env edit NAME`: edit a copy of the definition with the user's
//! editor, check it, and only then save it.

use std::io::{self, IsTerminal};
use std::path::Path;
use std::process::Command;

use anyhow::{anyhow, bail, Context as _, Result};

use super::App;
use crate::cli::EnvEditArgs;
use crate::reference::EnvRef;

pub fn edit(app: &App, args: &EnvEditArgs) -> Result<()> {
    let env = app.reference(&args.env)?;
    app.local_only(&env, "edit")?;
    let original = app.store.read(&env)?;
    let editor = editor_command()?;

    // The copy lives in a private directory: it may hold secrets.
    let dir = tempfile::Builder::new()
        .prefix("escsh-edit-")
        .tempdir()
        .context("creating a private directory for the edit")?;
    let file = dir.path().join(format!("{}.yaml", env.env));
    crate::fsutil::write_atomic(&file, &original)
        .with_context(|| format!("writing {}", file.display()))?;

    loop {
        run_editor(&editor, &file)?;
        let edited = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        if edited == original {
            eprintln!("no changes; {env} unchanged");
            return Ok(());
        }
        // Someone (another edit, `env set`) saved meanwhile: do not lose
        // their change silently.
        if app.store.read(&env)? != original && !args.force {
            let kept = dir.keep();
            bail!(
                "{env} changed while you were editing; not saved. Your edit is kept at {}: \
                 merge it with `escsh env edit {env}`, or save it over the change with --force",
                kept.join(file_name(&file)).display()
            );
        }
        let evaluated = app.evaluate(&env, &edited);
        let result = app.check(&env, &evaluated);
        let Err(failed) = result else {
            return save(app, &env, &edited);
        };
        if args.force {
            eprintln!("escsh: warning: saving {env} with errors (--force)");
            return save(app, &env, &edited);
        }
        if !(io::stdin().is_terminal() && io::stderr().is_terminal()) {
            let kept = dir.keep();
            return Err(failed.context(format!(
                "the edit is not saved; it is kept at {} (fix it, or save it with --force)",
                kept.join(file_name(&file)).display()
            )));
        }
        match ask()? {
            Choice::Edit => continue,
            Choice::Save => return save(app, &env, &edited),
            Choice::Discard => {
                eprintln!("discarded; {env} unchanged");
                return Ok(());
            }
        }
    }
}

fn save(app: &App, env: &EnvRef, definition: &[u8]) -> Result<()> {
    app.store.write(env, definition)?;
    eprintln!("saved {env}");
    Ok(())
}

fn file_name(p: &Path) -> &std::ffi::OsStr {
    p.file_name().unwrap_or_default()
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

fn run_editor(editor: &[String], file: &Path) -> Result<()> {
    let (program, args) = editor
        .split_first()
        .ok_or_else(|| anyhow!("no editor command"))?;
    let status = Command::new(program)
        .args(args)
        .arg(file)
        .status()
        .with_context(|| format!("starting the editor {program:?} (set VISUAL or EDITOR)"))?;
    if !status.success() {
        bail!("the editor {program:?} failed ({status}); nothing was saved");
    }
    Ok(())
}
