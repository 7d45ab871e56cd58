//! `escsh allow [DIR]`: trust the `.escrc` that applies there, as it is now.

use std::path::Path;

use anyhow::{Context as _, Result};

use super::App;
use crate::hook::trust::TrustStore;
use crate::printable;

pub fn allow(app: &App, dir: Option<&Path>) -> Result<()> {
    let project = super::project_for(dir)?;
    // The bytes allowed are the ones read here, once.
    let definition = project.read_definition().with_context(|| {
        format!(
            "{} names a definition that cannot be read",
            project.rc.path.display()
        )
    })?;
    TrustStore::new(&app.paths.trust_dir())
        .allow(&project.rc, definition.as_deref())
        .context("recording the allow")?;
    super::bump_generation_or_warn(app);
    eprintln!(
        "escsh: allowed {} ({})",
        printable::line(&project.rc.path.display().to_string()),
        printable::line(&project.target_name())
    );
    Ok(())
}
