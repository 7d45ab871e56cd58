//! `escsh deny [DIR]`: never load the `.escrc` that applies there, edits included.

use std::path::Path;

use anyhow::{Context as _, Result};

use super::App;
use crate::hook::project::ProjectError;
use crate::hook::trust::TrustStore;
use crate::printable;

pub fn deny(app: &App, dir: Option<&Path>) -> Result<()> {
    // Even an `.escrc` that cannot be parsed or read can be denied.
    let path = match super::project_for(dir) {
        Ok(p) => p.rc.path,
        Err(e) => e.downcast::<ProjectError>()?.path(),
    };
    TrustStore::new(&app.paths.trust_dir())
        .deny(&path)
        .context("recording the deny")?;
    // Shells watch the deny record too: it takes effect without this.
    super::bump_generation_or_warn(app);
    eprintln!(
        "escsh: denied {}",
        printable::line(&path.display().to_string())
    );
    Ok(())
}
