//! Files escsh writes and reads. Writes are private (0700 directories, 0600
//! files) and atomic (temp file in the same directory, fsync, rename) so a
//! reader never sees half. Reads are checked ([`read_checked`]): regular
//! files only, size limit before reading, opening never blocks.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// An I/O error that says what was being done to which path (the bare
/// `io::Error` names neither), keeping the kind for callers that branch on it.
fn failed(op: &str, path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("cannot {op} {}: {e}", path.display()))
}

/// Creates `dir` and its missing parents with mode 0700, and tightens `dir`
/// itself to 0700 if it already existed wider. An existing `dir` that is
/// not ours (another owner, or a symbolic link someone else planted) is
/// refused, never tightened or used: in a shared directory such as
/// `/dev/shm` another user may have created it first.
pub fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| failed("create directory", dir, e))?;
    let link = fs::symlink_metadata(dir).map_err(|e| failed("read", dir, e))?;
    let meta = if link.file_type().is_symlink() {
        // A link of ours (a dotfiles setup) to a directory of ours is fine;
        // the target is checked below, and never chmod-ed through the link.
        check_owner(dir, &link).map_err(io::Error::other)?;
        fs::metadata(dir).map_err(|e| failed("read", dir, e))?
    } else {
        link.clone()
    };
    if !meta.is_dir() {
        return Err(failed(
            "use directory",
            dir,
            io::Error::from(io::ErrorKind::NotADirectory),
        ));
    }
    check_owner(dir, &meta).map_err(io::Error::other)?;
    if meta.permissions().mode() & 0o077 != 0 {
        if link.file_type().is_symlink() {
            check_private_meta(dir, &meta).map_err(io::Error::other)?;
        } else {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| failed("change the mode of", dir, e))?;
        }
    }
    Ok(())
}

/// Atomically replaces `path` with `bytes`, mode 0600, parents 0700.
/// Errors name the path and what could not be done to it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir_all(dir)?;
    let tmp = dir.join(temp_name(path, std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| failed("write", path, e))
}

/// The name of `write_atomic`'s temporary file for `path` written by
/// process `pid`: `.<name>.<pid>.tmp` beside it (see [`temp_file_pid`]).
pub fn temp_name(path: &Path, pid: u32) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    format!(".{name}.{pid}.tmp")
}

/// The writer's pid when `name` is one of `write_atomic`'s temporary files.
pub fn temp_file_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (base, pid) = rest.rsplit_once('.')?;
    if base.is_empty() || pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path} is not a regular file (a {kind}): only regular files are read")]
    NotRegular { path: String, kind: &'static str },
    #[error("{path} is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { path: String, size: u64, limit: u64 },
    #[error("{path} is owned by uid {owner}, not by you (uid {euid}): it is not used")]
    NotOwned { path: String, owner: u32, euid: u32 },
    #[error("{path} is writable by other users (mode {mode:o}): it is not used")]
    Writable { path: String, mode: u32 },
}

impl ReadError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

/// What a file may be for [`read_checked`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trusting {
    /// Any regular file the user can read (a project's files): follows
    /// symlinks, as editors and git leave them.
    Any,
    /// escsh's own private files: not a symlink, owned by the effective
    /// user, not writable by group or others.
    Private,
}

/// Reads a regular file of at most `limit` bytes. Opening never blocks
/// (`O_NONBLOCK`: a FIFO or a device is refused after `fstat`, before any
/// read), and the size is checked before reading, so `/dev/zero` or a huge
/// file costs nothing. The bytes returned are the bytes that were checked:
/// callers hash and evaluate this one buffer.
pub fn read_checked(path: &Path, limit: u64, trusting: Trusting) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let shown = || path.display().to_string();
    let io_err = |source| ReadError::Io {
        path: shown(),
        source,
    };
    let mut flags = libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    if trusting == Trusting::Private {
        flags |= libc::O_NOFOLLOW;
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) && trusting == Trusting::Private {
                ReadError::NotRegular {
                    path: shown(),
                    kind: "symbolic link",
                }
            } else {
                io_err(e)
            }
        })?;
    let meta = file.metadata().map_err(io_err)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            path: shown(),
            kind: file_kind(&meta),
        });
    }
    if trusting == Trusting::Private {
        check_private_meta(path, &meta)?;
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            path: shown(),
            size: meta.len(),
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // A file that grows after the fstat is still cut at the limit.
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            path: shown(),
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

/// Owned by the effective user and not writable by group or others.
pub fn check_private_meta(path: &Path, meta: &fs::Metadata) -> Result<(), ReadError> {
    use std::os::unix::fs::MetadataExt;
    check_owner(path, meta)?;
    if meta.mode() & 0o022 != 0 {
        return Err(ReadError::Writable {
            path: path.display().to_string(),
            mode: meta.mode() & 0o7777,
        });
    }
    Ok(())
}

/// Owned by the effective user.
fn check_owner(path: &Path, meta: &fs::Metadata) -> Result<(), ReadError> {
    use std::os::unix::fs::MetadataExt;
    let euid = euid();
    if meta.uid() != euid {
        return Err(ReadError::NotOwned {
            path: path.display().to_string(),
            owner: meta.uid(),
            euid,
        });
    }
    Ok(())
}

/// The effective user id, whose files escsh's private files must be.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

fn file_kind(meta: &fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "directory"
    } else if t.is_fifo() {
        "FIFO"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_socket() {
        "socket"
    } else if t.is_symlink() {
        "symbolic link"
    } else {
        "special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_reads_refuse_fifos_devices_and_large_files() {
        let root = tempfile::tempdir().unwrap();
        let fifo = root.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_checked(&fifo, 10, Trusting::Any).unwrap_err();
        assert!(
            matches!(e, ReadError::NotRegular { kind: "FIFO", .. }),
            "{e}"
        );
        let e = read_checked(Path::new("/dev/zero"), 10, Trusting::Any).unwrap_err();
        assert!(matches!(e, ReadError::NotRegular { .. }), "{e}");
        let big = root.path().join("big");
        fs::write(&big, [b'x'; 11]).unwrap();
        let e = read_checked(&big, 10, Trusting::Any).unwrap_err();
        assert!(matches!(e, ReadError::TooLarge { size: 11, .. }), "{e}");
        assert_eq!(read_checked(&big, 11, Trusting::Any).unwrap().len(), 11);
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&big, &link).unwrap();
        assert!(read_checked(&link, 20, Trusting::Any).is_ok());
        let e = read_checked(&link, 20, Trusting::Private).unwrap_err();
        assert!(matches!(e, ReadError::NotRegular { .. }), "{e}");
        fs::set_permissions(&big, fs::Permissions::from_mode(0o622)).unwrap();
        let e = read_checked(&big, 20, Trusting::Private).unwrap_err();
        assert!(matches!(e, ReadError::Writable { .. }), "{e}");
        assert!(read_checked(&root.path().join("nope"), 1, Trusting::Any)
            .unwrap_err()
            .is_not_found());
    }

    #[test]
    fn files_and_dirs_are_private() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("a/b/c");
        write_atomic(&file, b"x").unwrap();
        write_atomic(&file, b"y").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"y");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&root.path().join("a/b")), 0o700);
        assert_eq!(fs::read_dir(root.path().join("a/b")).unwrap().count(), 1);
    }

    #[test]
    fn write_errors_name_the_path_and_what_failed() {
        let root = tempfile::tempdir().unwrap();
        // A directory where the file should be: the rename fails.
        let target = root.path().join("x.json");
        fs::create_dir(&target).unwrap();
        let e = write_atomic(&target, b"v").unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("cannot write {}: ", target.display())),
            "{e}"
        );
        assert_eq!(
            fs::read_dir(root.path()).unwrap().count(),
            1,
            "temp file removed"
        );
        // A file where a parent directory should be.
        let blocker = root.path().join("file");
        fs::write(&blocker, "").unwrap();
        let e = write_atomic(&blocker.join("sub/y"), b"v")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!(
                "cannot create directory {}",
                blocker.join("sub").display()
            )),
            "{e}"
        );
    }

    #[test]
    fn directories_of_others_are_refused_not_tightened() {
        let root = tempfile::tempdir().unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let wide = root.path().join("wide");
        fs::create_dir(&wide).unwrap();
        fs::set_permissions(&wide, fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir_all(&wide).unwrap();
        assert_eq!(mode(&wide), 0o700, "ours: tightened");
        // A link of ours to a directory of ours is followed, not chmod-ed through.
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&wide, &link).unwrap();
        create_private_dir_all(&link).unwrap();
        if euid() != 0 {
            eprintln!("SKIPPED: directories of another uid need root to make");
            return;
        }
        let chown = |p: &Path| {
            let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
            // SAFETY: a valid NUL-terminated path.
            assert_eq!(unsafe { libc::lchown(c.as_ptr(), 65534, 65534) }, 0);
        };
        let theirs = root.path().join("theirs");
        fs::create_dir(&theirs).unwrap();
        fs::set_permissions(&theirs, fs::Permissions::from_mode(0o777)).unwrap();
        chown(&theirs);
        let e = create_private_dir_all(&theirs).unwrap_err().to_string();
        assert!(e.contains("owned by uid 65534"), "{e}");
        assert_eq!(mode(&theirs), 0o777, "not tightened");
        assert!(write_atomic(&theirs.join("f"), b"x").is_err());
        assert!(!theirs.join("f").exists());
        // A link planted by another user, even to a directory of ours.
        let planted = root.path().join("planted");
        std::os::unix::fs::symlink(&wide, &planted).unwrap();
        chown(&planted);
        let e = create_private_dir_all(&planted).unwrap_err().to_string();
        assert!(e.contains("owned by uid 65534"), "{e}");
    }
}
