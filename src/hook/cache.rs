//! The opened-environment cache: what the hook exports, per environment,
//! in escsh's private runtime directory (0700, files 0600, atomic writes),
//! so that N shells entering the same project open it once per credential
//! lifetime. Concurrent openers serialize on a file lock.
//!
//! An entry records the hash of every definition its values came from, as
//! the evaluation read them (not as a second read found them), and is used
//! only while each still has that content. An environment that could not be
//! opened is cached too (no values, the error and what it read), so every
//! shell shows the same error and retries when a definition changes.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::trust::sha256_hex;
use crate::fsutil::{self, Trusting};
pub use crate::lang::CredentialPart;
pub use crate::store::Source;

/// Cache entries hold at most a few thousand variables.
const MAX_ENTRY: u64 = 64 << 20;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// What was opened, as the user named it.
    pub target: String,
    pub vars: Vec<CachedVar>,
    #[serde(default)]
    pub expires_at: Option<i64>,
    pub opened_at: i64,
    /// Every definition file read, with the hash of what was read: the
    /// entry is only used while they are unchanged.
    pub sources: Vec<Source>,
    /// The last failed open or refresh, so one warning is shown and
    /// retries back off.
    #[serde(default)]
    pub failure: Option<Failure>,
    /// The environment could not be opened at all: no values, `failure`
    /// says why, `sources` what to watch for a fix.
    #[serde(default)]
    pub unopened: bool,
}

/// `Debug` shows a secret's name, never its value.
#[derive(Clone, Serialize, Deserialize)]
pub struct CachedVar {
    pub name: String,
    pub value: String,
    pub secret: bool,
    /// The part of an aws-login output's keys this variable carries: the
    /// credential endpoint serves these (and the hook's endpoint mode
    /// exports the endpoint instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<CredentialPart>,
}

impl std::fmt::Debug for CachedVar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = if self.secret || self.aws.is_some() {
            "[secret]"
        } else {
            self.value.as_str()
        };
        f.debug_struct("CachedVar")
            .field("name", &self.name)
            .field("value", &value)
            .field("aws", &self.aws)
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failure {
    pub message: String,
    pub at: i64,
    pub retry_at: i64,
    /// How many refreshes in a row failed (for the backoff).
    pub count: u32,
}

impl Entry {
    /// An entry for an environment that could not be opened (the caller
    /// sets `failure`): no values, and `sources` to watch for a fix.
    pub fn unopened(target: String, sources: Vec<Source>, now: i64) -> Entry {
        Entry {
            target,
            vars: Vec::new(),
            expires_at: None,
            opened_at: now,
            sources,
            failure: None,
            unopened: true,
        }
    }

    /// True while every definition still has the content the entry was
    /// opened from. `held` are sources the caller has read already (and
    /// will evaluate if the entry is stale): they are compared as held,
    /// not read again, so the answer is about the very bytes in hand.
    /// An entry that records no source is never valid.
    pub fn is_current(&self, held: &[Source]) -> bool {
        !self.sources.is_empty()
            && self
                .sources
                .iter()
                .all(|s| match held.iter().find(|h| h.path == s.path) {
                    Some(h) => h.sha256 == s.sha256,
                    None => Source::current(&s.path).sha256 == s.sha256,
                })
    }

    pub fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|x| x <= now)
    }

    /// When to re-open: `margin` before expiry, by default 10 minutes or a
    /// fifth of the lifetime, whichever is smaller. A margin as long as the
    /// lifetime would make every fresh open due at once, so it falls back to
    /// the default ([`Entry::margin_too_long`] says so).
    pub fn refresh_at(&self, margin: Option<i64>) -> Option<i64> {
        let expires = self.expires_at?;
        let lifetime = self.lifetime()?;
        let margin = margin
            .filter(|m| *m < lifetime)
            .unwrap_or_else(|| (lifetime / 5).min(600));
        Some(expires - margin)
    }

    /// The lifetime, when `margin` is not shorter than it. Credentials that
    /// came already expired (lifetime 0) are reported as expired instead.
    pub fn margin_too_long(&self, margin: Option<i64>) -> Option<i64> {
        let lifetime = self.lifetime().filter(|l| *l > 0)?;
        margin.is_some_and(|m| m >= lifetime).then_some(lifetime)
    }

    fn lifetime(&self) -> Option<i64> {
        Some((self.expires_at? - self.opened_at).max(0))
    }
}

pub struct Cache {
    dir: PathBuf,
}

/// Held while an environment is being opened; released on drop.
pub struct Lock(#[allow(dead_code)] File);

impl Cache {
    /// `dir` is the cache, [`crate::paths::Paths::opened_dir`] (private).
    pub fn new(dir: &Path) -> Cache {
        Cache {
            dir: dir.to_path_buf(),
        }
    }

    pub fn key(target: &str) -> String {
        sha256_hex(target.as_bytes())[..32].to_string()
    }

    pub fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// The entry of `key`, if there is one escsh wrote: a file that is a
    /// symlink, not ours, or writable by others is ignored.
    pub fn read(&self, key: &str) -> Option<Entry> {
        let bytes = fsutil::read_checked(&self.path(key), MAX_ENTRY, Trusting::Private).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    pub fn write(&self, key: &str, entry: &Entry) -> std::io::Result<()> {
        let json = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        fsutil::write_atomic(&self.path(key), &json)
    }

    /// Waits for the lock of `key`.
    pub fn lock(&self, key: &str) -> std::io::Result<Lock> {
        self.take_lock(key, true).map(|l| l.expect("blocking lock"))
    }

    /// The lock of `key` if nobody holds it.
    pub fn try_lock(&self, key: &str) -> std::io::Result<Option<Lock>> {
        self.take_lock(key, false)
    }

    /// When the lock of `key` was last taken: while it is held, since when
    /// its holder has been opening.
    pub fn locked_at(&self, key: &str) -> Option<std::time::SystemTime> {
        let path = self.dir.join(format!("{key}.lock"));
        std::fs::symlink_metadata(path).ok()?.modified().ok()
    }

    fn take_lock(&self, key: &str, wait: bool) -> std::io::Result<Option<Lock>> {
        fsutil::create_private_dir_all(&self.dir)?;
        let path = self.dir.join(format!("{key}.lock"));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let op = if wait {
            libc::LOCK_EX
        } else {
            libc::LOCK_EX | libc::LOCK_NB
        };
        // SAFETY: flock on a descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            // Says since when it is held (see `locked_at`).
            let _ = file.set_modified(std::time::SystemTime::now());
            return Ok(Some(Lock(file)));
        }
        let err = std::io::Error::last_os_error();
        if err.kind() == std::io::ErrorKind::WouldBlock {
            Ok(None)
        } else {
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_privately_and_track_their_sources() {
        let dir = tempfile::tempdir().unwrap();
        let def = dir.path().join("def.yaml");
        std::fs::write(&def, "values: {}").unwrap();
        let cache = Cache::new(dir.path());
        let key = Cache::key("acme/app/dev");
        let entry = Entry {
            target: "acme/app/dev".into(),
            vars: vec![CachedVar {
                name: "A".into(),
                value: "1".into(),
                secret: true,
                aws: None,
            }],
            expires_at: Some(3600),
            opened_at: 0,
            sources: vec![Source::current(&def)],
            failure: None,
            unopened: false,
        };
        cache.write(&key, &entry).unwrap();
        assert!(!format!("{entry:?}").contains("\"1\""), "{entry:?}");
        let back = cache.read(&key).unwrap();
        assert!(back.is_current(&[]));
        assert_eq!(back.refresh_at(None), Some(3600 - 600));
        // What the caller holds counts, not what a second read finds.
        let held = Source::read_as(&def, Some(b"values: {a: 1}"));
        assert!(!back.is_current(std::slice::from_ref(&held)));
        std::fs::write(&def, "values: {a: 1}").unwrap();
        assert!(!back.is_current(&[]));
        assert!(back.is_current(&[Source::read_as(&def, Some(b"values: {}"))]));
        // An entry that names no source proves nothing.
        let mut empty = back.clone();
        empty.sources.clear();
        assert!(!empty.is_current(&[]));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(cache.path(&key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_margin_as_long_as_the_lifetime_falls_back_to_the_default() {
        let entry = Entry {
            target: "app/aws".into(),
            vars: Vec::new(),
            expires_at: Some(1000 + 900),
            opened_at: 1000,
            sources: Vec::new(),
            failure: None,
            unopened: false,
        };
        // Just shorter: honoured, and nothing to say.
        assert_eq!(entry.refresh_at(Some(899)), Some(1001));
        assert_eq!(entry.margin_too_long(Some(899)), None);
        // As long or longer: every fresh open would be due at once.
        for margin in [900, 3600] {
            assert_eq!(entry.refresh_at(Some(margin)), Some(1900 - 180));
            assert_eq!(entry.margin_too_long(Some(margin)), Some(900));
        }
        assert_eq!(entry.margin_too_long(None), None);
        let expired = Entry {
            expires_at: Some(1000),
            ..entry
        };
        assert_eq!(expired.margin_too_long(Some(899)), None);
    }

    #[test]
    fn a_held_lock_is_not_taken_twice() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let held = cache.lock("k").unwrap();
        assert!(cache.try_lock("k").unwrap().is_none());
        drop(held);
        assert!(cache.try_lock("k").unwrap().is_some());
    }
}
