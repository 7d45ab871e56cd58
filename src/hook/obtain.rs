//! What the cache or an open gives for a project: the cached entry while
//! its sources are unchanged, else an open under the cache lock, so that
//! any number of shells open once. At a prompt a remote environment is
//! opened in the background instead, so the network never holds it.

use std::process::Child;
use std::time::{Duration, SystemTime};

use super::cache::{Cache, Entry, Failure};
use super::decide::{Failed, Opener};
use super::project::Project;
use crate::paths::Paths;

/// How soon an environment that failed to open is tried again, when none
/// of the files it read changes first.
pub const RETRY_OPEN: i64 = 60;
/// How long a prompt waits for the first open of an environment on a
/// server (Pulumi Cloud) before it goes on without it: long enough for an
/// answer from a working service, far shorter than a slow one's timeout.
pub const FIRST_OPEN_WAIT: Duration = Duration::from_secs(2);

/// Why [`obtain`] has no entry to give.
#[derive(Debug)]
pub enum Unavailable {
    /// The open failed; retry at the time given unless a source changes.
    Failed(Failed, i64),
    /// A server is still answering the first open; it goes on in the
    /// background and the shells look again when it is written.
    Opening,
}

/// How long [`obtain`] may wait for an open.
#[derive(Debug, Clone, Copy)]
pub enum Wait {
    /// Until it is done (the agent and commands, which a client waits on).
    Done,
    /// A prompt: a remote environment's first open is waited for this long
    /// at most; local ones are opened in place, as their opens are local.
    Prompt(Duration),
}

/// The cached entry while every definition it came from is unchanged;
/// otherwise opens now, under the lock, so concurrent shells open once. A
/// failure is cached too (every shell shows it; it is retried when a file
/// it read changes, or after [`RETRY_OPEN`]). At a prompt, a remote
/// environment is opened by a detached `escsh refresh` instead, waited for
/// [`FIRST_OPEN_WAIT`] at most.
pub fn obtain(
    paths: &Paths,
    project: &Project,
    definition: Option<&[u8]>,
    now: i64,
    opener: &dyn Opener,
    wait: Wait,
) -> Result<Entry, Unavailable> {
    let cache = Cache::new(&paths.opened_dir());
    let key = project.cache_key();
    let held = project.held(definition);
    let usable = |e: Entry| -> Option<Result<Entry, Unavailable>> {
        if !e.is_current(&held) {
            return None;
        }
        match (&e.failure, e.unopened) {
            (Some(f), true) if now < f.retry_at => Some(Err(Unavailable::Failed(
                Failed {
                    message: f.message.clone(),
                    sources: e.sources.clone(),
                },
                f.retry_at,
            ))),
            (_, true) => None,
            _ => Some(Ok(e)),
        }
    };
    let found = || cache.read(&key).and_then(usable);
    if let Some(found) = found() {
        return found;
    }
    let fail = |message: String| {
        Unavailable::Failed(
            Failed {
                message,
                sources: held.clone(),
            },
            now + RETRY_OPEN,
        )
    };
    if let Wait::Prompt(limit) = wait {
        if opener.opens_remotely(project) {
            // `None`: no process could be started; open in place instead.
            if let Some(result) = open_detached(&cache, &key, project, opener, limit, found)
                .map_err(|e| fail(e.to_string()))?
            {
                return result;
            }
        }
    }
    let _lock = cache.lock(&key).map_err(|e| fail(e.to_string()))?;
    if let Some(found) = found() {
        return found;
    }
    match opener.open(project, definition, now) {
        Ok(entry) => {
            cache.write(&key, &entry).map_err(|e| fail(e.to_string()))?;
            Ok(entry)
        }
        Err(failed) => {
            let mut entry = Entry::unopened(project.target_name(), failed.sources.clone(), now);
            entry.failure = Some(Failure {
                message: failed.message.clone(),
                at: now,
                retry_at: now + RETRY_OPEN,
                count: 1,
            });
            // Best effort: without it, each shell finds the error itself.
            let _ = cache.write(&key, &entry);
            Err(Unavailable::Failed(failed, now + RETRY_OPEN))
        }
    }
}

/// Starts the open in the background unless one is under way, and waits
/// for what it writes until `limit` after that open started (when its
/// opener took the lock: a loaded machine's slow process start does not
/// count against the server). A prompt that starts it, or another shell's
/// arriving just after, gets its answer from a working server; a prompt
/// while a slow one is still answering does not wait again.
fn open_detached(
    cache: &Cache,
    key: &str,
    project: &Project,
    opener: &dyn Opener,
    limit: Duration,
    found: impl Fn() -> Option<Result<Entry, Unavailable>>,
) -> std::io::Result<Option<Result<Entry, Unavailable>>> {
    let ours = match cache.try_lock(key)? {
        Some(lock) => {
            // The opener takes the lock itself; should another shell take
            // it first, one of the two openers finds it held and leaves.
            drop(lock);
            match opener.open_detached(&project.rc.path) {
                Some(child) => Some(child),
                None => return Ok(None),
            }
        }
        None => None,
    };
    wait_for(cache, key, ours, limit, found).map(Some)
}

/// Waits for an open under way: see [`open_detached`]. `ours` is the
/// opener this prompt started, if it did.
fn wait_for(
    cache: &Cache,
    key: &str,
    mut ours: Option<Child>,
    limit: Duration,
    found: impl Fn() -> Option<Result<Entry, Unavailable>>,
) -> std::io::Result<Result<Entry, Unavailable>> {
    let started = SystemTime::now();
    loop {
        if let Some(found) = found() {
            return Ok(found);
        }
        let opening_since = match (&ours, cache.locked_at(key)) {
            (Some(_), Some(at)) => at.max(started),
            (Some(_), None) => started,
            (None, Some(at)) => at,
            (None, None) => return Ok(Err(Unavailable::Opening)),
        };
        if SystemTime::now() >= opening_since + limit {
            return Ok(Err(Unavailable::Opening));
        }
        // Over when no one holds the lock any more (and the opener this
        // prompt started has ended: it may not have taken it yet).
        let ours_ended = ours
            .as_mut()
            .is_none_or(|c| !matches!(c.try_wait(), Ok(None)));
        if ours_ended && cache.try_lock(key)?.is_some() {
            return Ok(found().unwrap_or(Err(Unavailable::Opening)));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
