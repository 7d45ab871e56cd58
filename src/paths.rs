//! Every per-user location escsh reads or writes, and the checks that they
//! are private.
//!
//! `ESCSH_HOME` puts everything under one directory (tests, portable setups);
//! otherwise the platform directories apply (`~/.config/escsh`,
//! `~/.local/share/escsh`, `~/.cache/escsh`, `$XDG_RUNTIME_DIR/escsh` on Linux).
//!
//! The runtime directory holds opened credentials and the cache the hook
//! loads and runs, so a directory another user can write would let that user
//! run code in our shells (`su` without `-` keeps the first user's
//! `XDG_RUNTIME_DIR`). The data, cache and runtime directories must be owned
//! by the effective user and not writable by group or others; one that is
//! not is refused with a message and a private one used instead. Without a
//! usable `XDG_RUNTIME_DIR`, a per-user tmpfs (`/run/user/<uid>`, then
//! `/dev/shm/escsh-<uid>`) is preferred to the persistent `~/.cache/escsh/run`.
//!
//! [`Paths::from_env`] runs at every `escsh export`: it only stats (a few
//! calls) and never creates anything; [`crate::fsutil::create_private_dir_all`]
//! checks again, without following a planted link, when a directory is made.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::fsutil;

/// The variable that relocates every per-user path.
pub const HOME_VAR: &str = "ESCSH_HOME";

/// The variable naming the per-user runtime directory (XDG base directories).
pub const RUNTIME_VAR: &str = "XDG_RUNTIME_DIR";

/// Why no usable set of paths was found.
#[derive(Debug, thiserror::Error)]
pub enum PathsError {
    #[error(
        "{HOME_VAR} is a relative path ({value}): set it to an absolute path \
         (a relative one would follow the current directory, where a repository could ship its own trust store)"
    )]
    RelativeHome { value: String },
    #[error("{HOME_VAR} cannot be used: {path} {reason}; point {HOME_VAR} at a directory of yours that only you can write")]
    HomeNotPrivate { path: String, reason: String },
    #[error("cannot find your home directory; set {HOME_VAR} to an absolute path escsh may use")]
    NoHome,
    #[error("no private directory for escsh's runtime files: {reasons}; set {RUNTIME_VAR} to a directory of yours (mode 0700)")]
    NoRuntime { reasons: String },
}

/// Where the runtime directory is and what kind of place it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuntimeKind {
    /// Below `ESCSH_HOME`.
    Home,
    /// `$XDG_RUNTIME_DIR/escsh`.
    Xdg,
    /// `/run/user/<euid>/escsh`, a per-user tmpfs.
    RunUser,
    /// `/dev/shm/escsh-<euid>`, in memory.
    DevShm,
    /// `<cache>/run`, on persistent disk.
    Cache,
}

#[derive(Debug, Clone)]
pub struct Paths {
    config: PathBuf,
    data: PathBuf,
    cache: PathBuf,
    runtime: PathBuf,
    runtime_kind: RuntimeKind,
    /// Why the runtime directory is not the usual one (set with the kind).
    runtime_why: Option<String>,
    /// One message per directory refused as not private.
    refused: Vec<String>,
}

impl Paths {
    /// Paths from `ESCSH_HOME` when it is set and not empty, else the
    /// platform's, each checked to be private (see the module). A refused
    /// directory is reported on stderr once here (and kept in
    /// [`Paths::refusals`]) and a private fallback used. Only stats: no
    /// directory is created.
    pub fn from_env() -> Result<Paths, PathsError> {
        let paths = match std::env::var_os(HOME_VAR) {
            Some(home) if !home.is_empty() => Paths::home(Path::new(&home))?,
            _ => Paths::platform(std::env::var_os(RUNTIME_VAR).as_deref().map(Path::new))?,
        };
        for message in &paths.refused {
            eprintln!("escsh: {message}");
        }
        Ok(paths)
    }

    /// Everything below one directory, unchecked (tests, and callers that
    /// already checked).
    pub fn under(home: &Path) -> Paths {
        Paths {
            config: home.to_path_buf(),
            data: home.to_path_buf(),
            cache: home.join("cache"),
            runtime: home.join("run"),
            runtime_kind: RuntimeKind::Home,
            runtime_why: None,
            refused: Vec::new(),
        }
    }

    /// `ESCSH_HOME`: must be absolute, and it and the directories escsh
    /// keeps below it must be private. There is no fallback: the user asked
    /// for everything to be there, so a refusal is an error.
    fn home(home: &Path) -> Result<Paths, PathsError> {
        // A relative home would move with the working directory: a cloned
        // repository could ship `h/trust/...` allowing itself.
        if !home.is_absolute() {
            return Err(PathsError::RelativeHome { value: shown(home) });
        }
        let paths = Paths::under(home);
        for dir in [home, paths.cache.as_path(), paths.runtime.as_path()] {
            if let Some(reason) = not_private(dir, dir == home) {
                return Err(PathsError::HomeNotPrivate {
                    path: shown(dir),
                    reason,
                });
            }
        }
        Ok(paths)
    }

    /// The platform's directories; `xdg_runtime` is `XDG_RUNTIME_DIR`.
    fn platform(xdg_runtime: Option<&Path>) -> Result<Paths, PathsError> {
        let dirs = directories::ProjectDirs::from("", "", "escsh").ok_or(PathsError::NoHome)?;
        let mut refused = Vec::new();
        let cache_refusal = not_private(dirs.cache_dir(), true);
        let (runtime, runtime_kind, runtime_why) = choose_runtime(
            xdg_runtime.filter(|p| !p.as_os_str().is_empty()),
            dirs.cache_dir(),
            cache_refusal.as_deref(),
            &mut refused,
        )?;
        let mut private_or = |dir: &Path, refusal: Option<String>, fallback: PathBuf| match refusal
        {
            None => dir.to_path_buf(),
            Some(reason) => {
                refused.push(format!(
                    "not using {}: it {reason}; using {} instead",
                    shown(dir),
                    shown(&fallback)
                ));
                fallback
            }
        };
        let cache = private_or(dirs.cache_dir(), cache_refusal, runtime.join("cache"));
        let data_refusal = not_private(dirs.data_dir(), true);
        let data = private_or(dirs.data_dir(), data_refusal, runtime.join("data"));
        Ok(Paths {
            config: dirs.config_dir().to_path_buf(),
            data,
            cache,
            runtime,
            runtime_kind,
            runtime_why,
            refused,
        })
    }

    pub fn config_dir(&self) -> &Path {
        &self.config
    }

    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    pub fn cache_dir(&self) -> &Path {
        &self.cache
    }

    /// Short-lived private files (materialized `files` entries).
    pub fn runtime_dir(&self) -> &Path {
        &self.runtime
    }

    /// The user's settings (`defaultOrg`, ...).
    pub fn config_file(&self) -> PathBuf {
        self.config.join("config.yaml")
    }

    /// The root of the local store: `<config>/environments/<org>/<project>/<env>.yaml`.
    pub fn store_dir(&self) -> PathBuf {
        self.config.join("environments")
    }

    /// Where `open --format dotenv|shell` materializes `files` entries.
    pub fn open_files_dir(&self) -> PathBuf {
        self.runtime.join("files")
    }

    /// Where `run` creates its per-run directory of `files` entries.
    pub fn run_files_dir(&self) -> PathBuf {
        self.runtime.join("run-files")
    }

    /// The opened-environment cache (`<key>.json`, `<key>.lock`).
    pub fn opened_dir(&self) -> PathBuf {
        self.runtime.join("opened")
    }

    /// Where the hook materializes `files` entries, one directory per cache key.
    pub fn hook_files_dir(&self) -> PathBuf {
        self.runtime.join("hook-files")
    }

    /// Per-shell stamps (`<pid>-<time>`) the hook compares mtimes with.
    pub fn stamps_dir(&self) -> PathBuf {
        self.runtime.join("stamps")
    }

    /// The credential agent's files: `token` (0600), `port`, `lock` (held
    /// by the running agent), `shells/<pid>` (shells that use it).
    pub fn agent_dir(&self) -> PathBuf {
        self.runtime.join("agent")
    }

    /// Touched by `allow`, `deny` and `reload`: every shell watches it.
    pub fn generation_file(&self) -> PathBuf {
        self.data.join("generation")
    }

    /// The trust store (allow and deny records).
    pub fn trust_dir(&self) -> PathBuf {
        self.data.join("trust")
    }

    /// Records of large `ESCSH_STATE`s, named by their hash.
    pub fn states_dir(&self) -> PathBuf {
        self.runtime.join("states")
    }

    /// Previous values kept for child shells, named by a keyed hash.
    pub fn kept_dir(&self) -> PathBuf {
        self.runtime.join("kept")
    }

    /// Messages for the directories refused as not private (already
    /// printed by [`Paths::from_env`]); `status` may show them again.
    pub fn refusals(&self) -> &[String] {
        &self.refused
    }

    /// True when opened credentials are kept on persistent disk
    /// (`~/.cache/escsh/run`) because no `XDG_RUNTIME_DIR` or per-user tmpfs
    /// was usable. Under `ESCSH_HOME` or `XDG_RUNTIME_DIR` the user chose
    /// the place: false.
    pub fn runtime_on_disk(&self) -> bool {
        self.runtime_kind == RuntimeKind::Cache
    }

    /// For `status`: where runtime files went and why, when it is not the
    /// usual place (`XDG_RUNTIME_DIR` or `ESCSH_HOME`); `None` otherwise.
    pub fn runtime_note(&self) -> Option<String> {
        let why = self.runtime_why.as_deref().unwrap_or("");
        let dir = shown(&self.runtime);
        match self.runtime_kind {
            RuntimeKind::Home | RuntimeKind::Xdg => None,
            RuntimeKind::RunUser => Some(format!(
                "{why}: opened credentials are kept in {dir}, a per-user tmpfs (in memory)"
            )),
            RuntimeKind::DevShm => Some(format!(
                "{why}: opened credentials are kept in {dir}, in /dev/shm (in memory)"
            )),
            RuntimeKind::Cache => Some(format!(
                "{why} and no per-user tmpfs is usable: opened credentials are kept in {dir}, \
                 on persistent disk"
            )),
        }
    }
}

/// A path for a message: quoted, control characters escaped.
fn shown(path: &Path) -> String {
    format!("{path:?}")
}

/// Why `dir`, which may not exist yet, is not private: it exists and is not
/// a directory of ours that no one else can write; or, when it does not
/// exist and `check_parent` is set, its parent is another user's (root's is
/// fine: `/run/user`, `/home`) or writable by others without the sticky bit.
fn not_private(dir: &Path, check_parent: bool) -> Option<String> {
    match fs::metadata(dir) {
        Ok(meta) => private_dir(&meta, 0o022).err(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = dir.parent().filter(|_| check_parent)?;
            let meta = fs::metadata(parent).ok()?;
            let foreign = meta.uid() != fsutil::euid() && meta.uid() != 0;
            let open = meta.mode() & 0o022 != 0 && meta.mode() & 0o1000 == 0;
            (foreign || open).then(|| {
                format!(
                    "would be created in {}, which {}",
                    shown(parent),
                    private_dir(&meta, 0o022)
                        .err()
                        .unwrap_or_else(|| "others can write".into())
                )
            })
        }
        Err(e) => Some(format!("cannot be checked ({e})")),
    }
}

/// `meta` is a directory owned by the effective user with none of `mask`'s
/// mode bits; the error says what is wrong, as "is ...".
fn private_dir(meta: &fs::Metadata, mask: u32) -> Result<(), String> {
    let euid = fsutil::euid();
    if !meta.is_dir() {
        return Err(if meta.file_type().is_symlink() {
            "is a symbolic link".into()
        } else {
            "is not a directory".into()
        });
    }
    if meta.uid() != euid {
        return Err(format!(
            "is owned by uid {}, not by you (uid {euid})",
            meta.uid()
        ));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & mask != 0 {
        return Err(format!("is writable by group or others (mode {mode:o})"));
    }
    Ok(())
}

type Runtime = (PathBuf, RuntimeKind, Option<String>);

/// The first private runtime directory of: `$XDG_RUNTIME_DIR/escsh`,
/// `/run/user/<euid>/escsh`, `/dev/shm/escsh-<euid>`, `<cache>/run`.
/// Refused candidates add a message to `refused`.
fn choose_runtime(
    xdg: Option<&Path>,
    cache_dir: &Path,
    cache_refusal: Option<&str>,
    refused: &mut Vec<String>,
) -> Result<Runtime, PathsError> {
    let euid = fsutil::euid();
    // (what was refused, its path, why)
    let mut rejected: Vec<(String, PathBuf, String)> = Vec::new();
    let mut why = format!("{RUNTIME_VAR} is not set");
    let chosen = 'found: {
        if let Some(base) = xdg {
            let label = format!("{RUNTIME_VAR}={}", shown(base));
            let dir = base.join("escsh");
            let check = if base.is_absolute() {
                fs::metadata(base)
                    .map_err(|e| format!("cannot be used ({e})"))
                    .and_then(|m| private_dir(&m, 0o022))
                    .map_err(|r| (base.to_path_buf(), r))
                    .and_then(|()| {
                        not_private(&dir, false).map_or(Ok(()), |r| Err((dir.clone(), r)))
                    })
            } else {
                Err((base.to_path_buf(), "is not an absolute path".into()))
            };
            match check {
                Ok(()) => break 'found (dir, RuntimeKind::Xdg),
                Err((path, reason)) => {
                    why = format!("{label} is not private ({} {reason})", shown(&path));
                    rejected.push((label, path, reason));
                }
            }
        }
        let run_user = PathBuf::from(format!("/run/user/{euid}"));
        if let Ok(meta) = fs::metadata(&run_user) {
            let dir = run_user.join("escsh");
            let check = private_dir(&meta, 0o077)
                .map_err(|r| (run_user.clone(), r))
                .and_then(|()| not_private(&dir, false).map_or(Ok(()), |r| Err((dir.clone(), r))));
            match check {
                Ok(()) => break 'found (dir, RuntimeKind::RunUser),
                Err((path, reason)) => rejected.push(("the per-user tmpfs".into(), path, reason)),
            }
        }
        if fs::metadata("/dev/shm").is_ok_and(|m| m.is_dir()) {
            // Anyone can create names in /dev/shm: a link or a directory
            // planted there is refused (lstat: never followed).
            let dir = PathBuf::from(format!("/dev/shm/escsh-{euid}"));
            match fs::symlink_metadata(&dir) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    break 'found (dir, RuntimeKind::DevShm)
                }
                Err(e) => {
                    rejected.push(("/dev/shm".into(), dir, format!("cannot be checked ({e})")))
                }
                Ok(meta) => match private_dir(&meta, 0o077) {
                    Ok(()) => break 'found (dir, RuntimeKind::DevShm),
                    Err(reason) => rejected.push(("/dev/shm".into(), dir, reason)),
                },
            }
        }
        match cache_refusal {
            None => break 'found (cache_dir.join("run"), RuntimeKind::Cache),
            Some(reason) => {
                rejected.push(("the cache".into(), cache_dir.to_path_buf(), reason.into()))
            }
        }
        let reasons: Vec<String> = rejected
            .iter()
            .map(|(label, path, reason)| format!("{label}: {} {reason}", shown(path)))
            .collect();
        return Err(PathsError::NoRuntime {
            reasons: reasons.join("; "),
        });
    };
    for (label, path, reason) in rejected {
        let what = match label.strip_prefix(RUNTIME_VAR) {
            Some(_) if xdg == Some(path.as_path()) => format!("{label}: it"),
            Some(_) => format!("{label}: {}", shown(&path)),
            None => format!("{}: it", shown(&path)),
        };
        // `su` without `-` is the usual way to get here: say how not to.
        let hint = if label.starts_with(RUNTIME_VAR) {
            format!(" (`su` without `-` keeps another user's {RUNTIME_VAR}: use `su -`, or set it to a directory of yours)")
        } else {
            String::new()
        };
        refused.push(format!(
            "not using {what} {reason}; using {} instead{hint}",
            shown(&chosen.0)
        ));
    }
    let why = (chosen.1 != RuntimeKind::Xdg).then_some(why);
    Ok((chosen.0, chosen.1, why))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with_mode(parent: &Path, name: &str, mode: u32) -> PathBuf {
        let dir = parent.join(name);
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).unwrap();
        dir
    }

    /// Root can give a directory away, as `su` leaves another user's
    /// `XDG_RUNTIME_DIR`; other users cannot test that.
    fn give_away(dir: &Path) -> bool {
        if fsutil::euid() != 0 {
            eprintln!("SKIPPED: giving a directory to another uid needs root");
            return false;
        }
        let c = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::chown(c.as_ptr(), 65534, 65534) }, 0);
        true
    }

    #[test]
    fn home_puts_everything_below_it() {
        let p = Paths::under(Path::new("/h"));
        assert_eq!(p.store_dir(), Path::new("/h/environments"));
        assert_eq!(p.config_file(), Path::new("/h/config.yaml"));
        assert!(p.runtime_dir().starts_with("/h"));
        assert!(p.cache_dir().starts_with("/h"));
        assert_eq!(p.runtime_note(), None);
        assert!(!p.runtime_on_disk());
    }

    #[test]
    fn a_relative_or_shared_home_is_an_error() {
        let e = Paths::home(Path::new("h/\x1b[2J")).unwrap_err().to_string();
        assert!(e.contains("ESCSH_HOME") && e.contains("absolute"), "{e}");
        assert!(e.contains("\"h/\\u{1b}[2J\""), "value shown escaped: {e}");
        assert!(!e.contains('\x1b'), "{e}");

        let root = tempfile::tempdir().unwrap();
        let open = dir_with_mode(root.path(), "open", 0o777);
        let e = Paths::home(&open).unwrap_err().to_string();
        assert!(e.contains("writable by group or others"), "{e}");
        let fine = dir_with_mode(root.path(), "fine", 0o700);
        assert!(Paths::home(&fine).is_ok());
        dir_with_mode(&fine, "run", 0o777);
        let e = Paths::home(&fine).unwrap_err().to_string();
        assert!(e.contains("/fine/run"), "{e}");
    }

    #[test]
    fn directories_must_be_ours_and_closed_to_others() {
        let root = tempfile::tempdir().unwrap();
        let mine = dir_with_mode(root.path(), "mine", 0o755);
        assert_eq!(not_private(&mine, true), None);
        let open = dir_with_mode(root.path(), "open", 0o775);
        assert!(not_private(&open, true).unwrap().contains("mode 775"));
        // Absent: judged by where it would be created.
        assert_eq!(not_private(&mine.join("new"), true), None);
        assert!(not_private(&open.join("new"), true).is_some());
        assert_eq!(not_private(&open.join("new"), false), None);
        let sticky = dir_with_mode(root.path(), "sticky", 0o1777);
        assert_eq!(not_private(&sticky.join("new"), true), None);
        let file = root.path().join("file");
        fs::write(&file, "").unwrap();
        assert!(not_private(&file, true)
            .unwrap()
            .contains("not a directory"));
        let theirs = dir_with_mode(root.path(), "theirs", 0o700);
        if give_away(&theirs) {
            let reason = not_private(&theirs, true).unwrap();
            assert!(reason.contains("owned by uid 65534"), "{reason}");
        }
    }

    #[test]
    fn a_runtime_dir_that_is_not_private_is_refused_for_a_fallback() {
        let root = tempfile::tempdir().unwrap();
        let cache = root.path().join("cache");
        let good = dir_with_mode(root.path(), "good", 0o700);
        let mut refused = Vec::new();
        let (dir, kind, why) = choose_runtime(Some(&good), &cache, None, &mut refused).unwrap();
        assert_eq!(
            (dir, kind, why),
            (good.join("escsh"), RuntimeKind::Xdg, None)
        );
        assert!(refused.is_empty());

        let open = dir_with_mode(root.path(), "open", 0o777);
        let theirs = dir_with_mode(root.path(), "theirs", 0o700);
        let mut bad = vec![open.clone(), PathBuf::from("relative")];
        if give_away(&theirs) {
            bad.push(theirs.clone());
        }
        // Ours, but with an escsh directory below it someone else made.
        let planted = dir_with_mode(root.path(), "planted", 0o700);
        dir_with_mode(&planted, "escsh", 0o777);
        bad.push(planted);
        for xdg in bad {
            let mut refused = Vec::new();
            let (dir, kind, why) = choose_runtime(Some(&xdg), &cache, None, &mut refused).unwrap();
            assert_ne!(kind, RuntimeKind::Xdg, "{xdg:?}");
            assert!(!dir.starts_with(&xdg), "{dir:?}");
            assert_eq!(refused.len(), 1, "{refused:?}");
            let message = &refused[0];
            assert!(
                message.starts_with(&format!("not using XDG_RUNTIME_DIR={xdg:?}")),
                "{message}"
            );
            assert!(
                message.contains(&format!("using {dir:?} instead")),
                "{message}"
            );
            assert!(why.unwrap().contains("XDG_RUNTIME_DIR"));
        }
    }

    #[test]
    fn the_note_says_when_credentials_are_on_disk() {
        let mut p = Paths::under(Path::new("/h"));
        p.runtime_kind = RuntimeKind::Cache;
        p.runtime_why = Some(format!("{RUNTIME_VAR} is not set"));
        assert!(p.runtime_on_disk());
        let note = p.runtime_note().unwrap();
        assert!(note.contains("persistent disk") && note.contains("XDG_RUNTIME_DIR"));
        p.runtime_kind = RuntimeKind::DevShm;
        assert!(!p.runtime_on_disk());
        assert!(p.runtime_note().unwrap().contains("in memory"));
    }
}
