//! Sweeping what killed or finished processes leave in escsh's private
//! directories, so it does not accumulate:
//!
//! - `write_atomic`'s temporary files (`.<name>.<pid>.tmp`, which may hold
//!   plaintext values) of a writer that is gone, beside cache entries, trust
//!   records and materialized files;
//! - `run`'s per-run files directories (`run-files/escsh-run-<pid>-*`) of an
//!   `escsh run` that is gone (SIGKILL skips its cleanup), and unnamed ones
//!   of older versions a day old;
//! - per-shell stamps (`stamps/<pid>-<time>`) not touched for a day;
//! - cache entries (`opened/<key>.json`, plaintext values) whose
//!   credentials expired a day ago, and then `hook-files/<key>` of an
//!   environment no longer loaded: its cache entry is gone or expired;
//! - records of large states and of previous values kept for child shells
//!   (`states/`, `kept/`) not used for a week.
//!
//! Sweeping is best effort: errors are ignored, and nothing a live process
//! uses is removed (a temp file or run directory whose pid runs, a recent
//! stamp). [`maybe_sweep`] sweeps at most once an hour and costs one stat
//! otherwise.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::fsutil;
use crate::paths::Paths;

/// How often [`maybe_sweep`] sweeps.
pub const INTERVAL: i64 = 3600;

/// A temporary file of a dead writer is kept this long (seconds) first: a
/// pid is only a hint when pids are reused.
const TEMP_GRACE: i64 = 60;

/// A stamp untouched this long belongs to a shell that is gone or idle; an
/// idle shell whose stamp is removed only runs one export to make it again.
const STAMP_AGE: i64 = 24 * 3600;

/// `hook-files/<key>` is removed when its cache entry expired this long ago
/// (or is gone and the directory was not written for [`ORPHAN_GRACE`]).
const EXPIRED_AGE: i64 = 24 * 3600;

/// Records of states and kept values, touched when used, go after a week
/// unused (a child shell of an older one then unsets instead of restoring).
const RECORD_AGE: i64 = 7 * 24 * 3600;

/// An opener writes the files before the cache entry: give it time.
const ORPHAN_GRACE: i64 = 600;

/// The largest cache entry read to learn its expiry.
const ENTRY_LIMIT: u64 = 64 << 20;

/// A run directory without a pid in its name (older escsh) is removed
/// when it was not written for this long.
const LEGACY_RUN_AGE: i64 = 24 * 3600;

const RUN_DIR_PREFIX: &str = "escsh-run-";

/// The name of the marker whose mtime says when the last sweep ran.
const MARKER: &str = ".swept";

/// The name prefix of `escsh run`'s per-run files directory for process
/// `pid`: the pid says whether its owner still runs.
pub fn run_dir_prefix(pid: u32) -> String {
    format!("{RUN_DIR_PREFIX}{pid}-")
}

/// Sweeps the runtime directory unless that was done less than an hour
/// before `now` (Unix seconds): one stat of a marker file when it was. Runs
/// in the caller's process, never fails, prints nothing.
pub fn maybe_sweep(paths: &Paths, now: i64) {
    let runtime = paths.runtime_dir();
    let marker = runtime.join(MARKER);
    if let Ok(meta) = fs::symlink_metadata(&marker) {
        // A marker in the future (a clock set back) does not stop sweeping.
        if meta.mtime() > now - INTERVAL && meta.mtime() <= now + 60 {
            return;
        }
    }
    // Nothing was ever written: nothing to sweep, and nothing to create.
    if !runtime.is_dir() {
        return;
    }
    // Claimed before sweeping, so concurrent callers mostly skip.
    if stamp(&marker, now).is_err() {
        return;
    }
    sweep(paths, now);
}

/// Sweeps now (see the module).
pub fn sweep(paths: &Paths, now: i64) {
    for dir in [
        paths.runtime_dir().to_path_buf(),
        paths.opened_dir(),
        paths.data_dir().to_path_buf(),
        paths.trust_dir(),
        paths.cache_dir().to_path_buf(),
    ] {
        sweep_temp_files(&dir, now);
    }
    // Materialized `files` entries are written atomically too: by the hook
    // (`hook-files/<key>/`) and by `open` (`files/<org>/<project>/<env>/`).
    sweep_temp_files_below(&paths.hook_files_dir(), 1, now);
    sweep_temp_files_below(&paths.open_files_dir(), 3, now);
    sweep_run_dirs(&paths.run_files_dir(), now);
    sweep_stamps(&paths.stamps_dir(), now);
    sweep_expired_entries(paths, now);
    sweep_hook_files(paths, now);
    for dir in [paths.states_dir(), paths.kept_dir()] {
        sweep_unused(&dir, RECORD_AGE, now);
    }
}

/// Entries whose credentials expired long ago hold dead plaintext values.
fn sweep_expired_entries(paths: &Paths, now: i64) {
    for (name, path, meta) in entries(&paths.opened_dir()) {
        if !meta.is_file() || !name.ends_with(".json") {
            continue;
        }
        if let Entry::Expires(Some(at)) = expiry(&path) {
            if now - at > EXPIRED_AGE {
                let _ = fs::remove_file(path);
            }
        }
    }
}

/// Files of `dir` not written (or touched on use) for `age` seconds.
fn sweep_unused(dir: &Path, age: i64, now: i64) {
    for (_, path, meta) in entries(dir) {
        if meta.is_file() && now - meta.mtime() > age {
            let _ = fs::remove_file(path);
        }
    }
}

/// Entries of `dir` with their names and metadata (not following links).
fn entries(dir: &Path) -> impl Iterator<Item = (String, std::path::PathBuf, fs::Metadata)> {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let meta = e.metadata().ok()?;
            Some((name, e.path(), meta))
        })
}

fn sweep_temp_files(dir: &Path, now: i64) {
    for (name, path, meta) in entries(dir) {
        let Some(pid) = fsutil::temp_file_pid(&name) else {
            continue;
        };
        if meta.is_file() && now - meta.mtime() > TEMP_GRACE && !alive(pid) {
            let _ = fs::remove_file(path);
        }
    }
}

/// [`sweep_temp_files`] in the directories `depth` levels below `dir`.
fn sweep_temp_files_below(dir: &Path, depth: u32, now: i64) {
    for (_, path, meta) in entries(dir) {
        if !meta.is_dir() {
            continue;
        }
        if depth <= 1 {
            sweep_temp_files(&path, now);
        } else {
            sweep_temp_files_below(&path, depth - 1, now);
        }
    }
}

fn sweep_run_dirs(dir: &Path, now: i64) {
    for (name, path, meta) in entries(dir) {
        if !meta.is_dir() {
            continue;
        }
        let unused = match run_dir_pid(&name) {
            Some(pid) => !alive(pid),
            // Named before the pid was in the name: its owner cannot be
            // known, so only its age tells.
            None => name.starts_with(RUN_DIR_PREFIX) && now - meta.mtime() > LEGACY_RUN_AGE,
        };
        if unused {
            let _ = fs::remove_dir_all(path);
        }
    }
}

fn sweep_stamps(dir: &Path, now: i64) {
    for (_, path, meta) in entries(dir) {
        if meta.is_file() && now - meta.mtime() > STAMP_AGE {
            let _ = fs::remove_file(path);
        }
    }
}

fn sweep_hook_files(paths: &Paths, now: i64) {
    let opened = paths.opened_dir();
    for (key, path, meta) in entries(&paths.hook_files_dir()) {
        if !meta.is_dir() {
            continue;
        }
        let unused = match expiry(&opened.join(format!("{key}.json"))) {
            Entry::Missing => now - meta.mtime() > ORPHAN_GRACE,
            Entry::Expires(Some(at)) => now - at > EXPIRED_AGE,
            Entry::Expires(None) | Entry::Unreadable => false,
        };
        if unused {
            let _ = fs::remove_dir_all(path);
        }
    }
}

enum Entry {
    Missing,
    Unreadable,
    Expires(Option<i64>),
}

/// The `expires_at` of a cache entry, read as plain JSON so the sweeper
/// does not depend on the rest of the entry's shape.
fn expiry(path: &Path) -> Entry {
    match fsutil::read_checked(path, ENTRY_LIMIT, fsutil::Trusting::Private) {
        Ok(bytes) => match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(v) => Entry::Expires(v.get("expires_at").and_then(serde_json::Value::as_i64)),
            Err(_) => Entry::Unreadable,
        },
        Err(e) if e.is_not_found() => Entry::Missing,
        Err(_) => Entry::Unreadable,
    }
}

fn run_dir_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(RUN_DIR_PREFIX)?;
    let (pid, _) = rest.split_once('-')?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Whether process `pid` exists (one of another user counts: `EPERM`).
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return true;
    }
    // SAFETY: signal 0 only checks that the process exists.
    if unsafe { libc::kill(pid, 0) } == 0 {
        return true;
    }
    std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Creates `path` if needed and sets its mtime to `now`.
fn stamp(path: &Path, now: i64) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    let file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    let t = libc::timespec {
        tv_sec: now as libc::time_t,
        tv_nsec: 0,
    };
    let times = [t, t];
    // SAFETY: a valid descriptor and two initialized timespecs.
    if unsafe { libc::futimens(file.as_raw_fd(), times.as_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_recognized() {
        assert_eq!(
            run_dir_pid(&format!("{}AbC123", run_dir_prefix(42))),
            Some(42)
        );
        assert_eq!(run_dir_pid("escsh-run-AbC123"), None);
        assert_eq!(run_dir_pid("escsh-run--x"), None);
        assert_eq!(fsutil::temp_file_pid(".k.json.123.tmp"), Some(123));
        assert_eq!(fsutil::temp_file_pid(".k.json.tmp"), None);
        assert_eq!(fsutil::temp_file_pid("k.json.1.tmp"), None);
        assert_eq!(fsutil::temp_file_pid("..1.tmp"), None);
    }

    #[test]
    fn liveness() {
        assert!(alive(std::process::id()));
        assert!(alive(1));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!alive(pid));
    }

    #[test]
    fn the_marker_limits_sweeps_to_one_an_hour() {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        let stamps = paths.stamps_dir();
        fs::create_dir_all(&stamps).unwrap();
        let now = 1_900_000_000;
        maybe_sweep(&paths, now);
        fs::write(stamps.join("1-1"), "").unwrap();
        let old = now - STAMP_AGE - 10;
        stamp(&stamps.join("1-1"), old).unwrap();
        maybe_sweep(&paths, now + 10);
        assert!(stamps.join("1-1").exists(), "swept within the hour");
        maybe_sweep(&paths, now + INTERVAL + 1);
        assert!(!stamps.join("1-1").exists(), "not swept after an hour");
    }
}
