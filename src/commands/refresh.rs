//! `escsh refresh RC`, started by the hook, detached: re-opens what the
//! `.escrc` at RC names unless another refresh holds the lock, and records
//! a failure with a backoff so the hook warns once and retries later.

use std::path::Path;

use anyhow::Result;

use super::opener::HookOpener;
use super::App;
use crate::hook::cache::{Cache, Entry, Failure};
use crate::hook::decide::Opener;
use crate::hook::project::{Project, Standing};
use crate::hook::trust::TrustStore;

/// The first retry after a failure; each further failure doubles it.
const FIRST_BACKOFF: i64 = 30;
const MAX_BACKOFF: i64 = 600;

pub fn refresh(app: &App, rc_path: &Path) -> Result<()> {
    // Exactly this `.escrc`, checked for trust again: it may have been
    // edited or denied since the hook started this refresh.
    let project = Project::at(rc_path)?;
    let Standing::Allowed { definition } =
        project.standing(&TrustStore::new(&app.paths.trust_dir()))?
    else {
        return Ok(());
    };
    refresh_project(app, &project, definition.as_deref())
}

/// Re-opens `project` (allowed, its own `definition` as checked) unless a
/// refresh holds the lock; a failure is recorded with a backoff. The agent
/// refreshes what it serves through this too.
pub fn refresh_project(app: &App, project: &Project, definition: Option<&[u8]>) -> Result<()> {
    let cache = Cache::new(&app.paths.opened_dir());
    let key = project.cache_key();
    let Some(_lock) = cache.try_lock(&key)? else {
        return Ok(());
    };
    let now = crate::time::now();
    match (HookOpener { app }).open(project, definition, now) {
        Ok(entry) => cache.write(&key, &entry)?,
        Err(failed) => {
            // A first open (the hook's, in the background) has no entry
            // to mark: the failure gets one, so every shell says it.
            let mut entry = match cache.read(&key) {
                Some(old) if old.is_current(&project.held(definition)) => old,
                _ => Entry::unopened(project.target_name(), failed.sources, now),
            };
            let count = entry.failure.as_ref().map_or(1, |f| f.count + 1);
            entry.failure = Some(Failure {
                message: failed.message,
                at: now,
                retry_at: now + backoff(count),
                count,
            });
            cache.write(&key, &entry)?;
        }
    }
    // Every shell's next prompt looks at the new entry.
    super::bump_generation_or_warn(app);
    Ok(())
}

/// 60 s after the first failure, doubling up to ten minutes.
fn backoff(failures: u32) -> i64 {
    (FIRST_BACKOFF << failures.min(5)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_grows_and_is_bounded() {
        let b: Vec<i64> = (1..=7).map(super::backoff).collect();
        assert_eq!(b, [60, 120, 240, 480, 600, 600, 600]);
    }
}
