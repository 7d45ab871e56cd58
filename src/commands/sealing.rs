//! Saving definitions with their secrets encrypted: where a definition's
//! recipients come from (the store, or a project file's directory), and
//! replacing a project file in place.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context as _, Result};

use super::App;
use crate::fsutil::{self, Trusting};
use crate::printable;
use crate::reference::EnvRef;
use crate::secrets::{self, Place, Revealed};
use crate::store::MAX_DEFINITION;

/// `definition` of `env` with its plaintext secrets encrypted; as it is
/// when it cannot be read as YAML (a save forced over errors), with a
/// warning.
pub(super) fn seal_in_store(
    app: &App,
    env: &EnvRef,
    definition: &[u8],
    revealed: &Revealed,
) -> Result<Vec<u8>> {
    let Ok(text) = std::str::from_utf8(definition) else {
        return Ok(definition.to_vec());
    };
    let sealed = in_store(app, env, |place| {
        secrets::encrypt(&app.keyring, place, text, revealed)
    });
    match sealed {
        Ok(Some((sealed, fresh, recipients))) => {
            if fresh > 0 {
                say_shared(app, &recipients);
            }
            Ok(sealed.into_bytes())
        }
        Ok(None) => Ok(definition.to_vec()),
        Err(secrets::SecretsError::Rewrite { .. })
            if crate::lang::syntax::parse(definition).is_err() =>
        {
            eprintln!(
                "escsh: warning: {env} is not valid YAML, so its secrets are saved as written; \
                 run `escsh env encrypt {env}` once it is fixed"
            );
            Ok(definition.to_vec())
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs `f` on the place of `env` in the store: its directory, the
/// store's root to stop the search for `recipients` at, and its location.
fn in_store<T>(app: &App, env: &EnvRef, f: impl FnOnce(&Place) -> T) -> T {
    let location = app.store.location(env);
    let path = app.store.watch_path(env);
    let stop = app.paths.store_dir();
    f(&Place {
        dir: path.as_deref().and_then(Path::parent),
        stop: Some(&stop),
        location: &location,
    })
}

/// Lists the keys besides the user's that can read what was encrypted.
pub(super) fn say_shared(app: &App, recipients: &secrets::Recipients) {
    if let Some(note) = app
        .keyring
        .key()
        .ok()
        .and_then(|k| recipients.shared_with(&k.recipient))
    {
        eprintln!("{note}");
    }
}

/// What `env encrypt` and `env rekey` work on: a stored environment or a
/// definition file.
pub enum Target {
    Env(EnvRef),
    File(std::path::PathBuf),
}

impl Target {
    pub fn from_args(app: &App, env: Option<&str>, file: Option<&Path>) -> Result<Target> {
        match (env, file) {
            (_, Some(f)) => Ok(Target::File(f.to_path_buf())),
            (Some(e), None) => Ok(Target::Env(app.reference(e)?)),
            (None, None) => anyhow::bail!("name an environment, or a definition file with --file"),
        }
    }

    /// Reads the definition, lets `change` rewrite it, and saves the result
    /// when there is one; nothing is written when `change` fails.
    pub fn rewrite(
        &self,
        app: &App,
        change: impl FnOnce(&Place, &str) -> Result<Option<String>>,
    ) -> Result<()> {
        match self {
            Target::Env(env) => {
                let bytes = app.store.read(env)?;
                let new = in_store(app, env, |place| {
                    let text = utf8(&bytes, place.location)?;
                    change(place, text)
                })?;
                if let Some(new) = new {
                    app.store.write(env, new.as_bytes())?;
                }
            }
            Target::File(path) => {
                let shown = printable::line(&path.display().to_string()).into_owned();
                let bytes = fsutil::read_checked(path, MAX_DEFINITION, Trusting::Any)?;
                let text = utf8(&bytes, &shown)?;
                let absolute =
                    std::path::absolute(path).with_context(|| format!("resolving {shown}"))?;
                let place = Place {
                    dir: absolute.parent(),
                    stop: None,
                    location: &shown,
                };
                if let Some(new) = change(&place, text)? {
                    replace_file(path, new.as_bytes())
                        .with_context(|| format!("writing {shown}"))?;
                    // An allow covers the file's exact content: escsh does
                    // not renew trust on its own.
                    eprintln!(
                        "escsh: note: if an .escrc names {shown} as its `file:`, run `escsh allow` there again"
                    );
                }
            }
        }
        Ok(())
    }
}

fn utf8<'a>(bytes: &'a [u8], location: &str) -> Result<&'a str> {
    std::str::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{location} is not UTF-8 text; nothing was changed"))
}

/// Replaces a project's file atomically, keeping its mode (it is the
/// user's file, maybe in git: not escsh's private one).
fn replace_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // Through a symbolic link, the file it names is replaced, not the link.
    let path = &std::fs::canonicalize(path)?;
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o7777;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let mut tmp = tempfile::Builder::new()
        .prefix(".escsh-")
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir.unwrap_or(Path::new(".")))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
