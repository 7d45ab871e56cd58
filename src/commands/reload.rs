//! `escsh reload`: re-open this directory's environment now; every shell
//! picks it up at its next prompt.

use anyhow::{Context as _, Result};

use super::opener::HookOpener;
use super::App;
use crate::hook::cache::Cache;
use crate::hook::decide::Opener;

pub fn reload(app: &App) -> Result<()> {
    let project = super::project_for(None)?;
    let definition = super::allowed_definition(app, &project)?;
    let cache = Cache::new(&app.paths.opened_dir());
    let key = project.cache_key();
    let _lock = cache.lock(&key)?;
    let entry = HookOpener { app }
        .open(&project, definition.as_deref(), crate::time::now())
        .map_err(|f| anyhow::anyhow!("cannot load {}: {}", project.target_name(), f.message))?;
    cache
        .write(&key, &entry)
        .context("caching the opened environment")?;
    super::bump_generation_or_warn(app);
    eprintln!("escsh: reloaded {}", crate::printable::line(&entry.target));
    Ok(())
}
