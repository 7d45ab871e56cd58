//! The credential agent's files in escsh's private runtime directory: the
//! token clients present (0600, read by file so it is in no environment),
//! the port it listens on, the lock the running agent holds (whose holder
//! the kernel names, so `stop` and `status` need no pid file), and the
//! shells that use it.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use crate::fsutil::{self, Trusting};
use crate::paths::Paths;

/// 32 random bytes, hex: 256 bits.
const TOKEN_BYTES: usize = 32;

/// Why a file of the agent's cannot be used; says which and what escsh does.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path} is not an escsh agent token (64 hex digits)")]
    BadToken { path: String },
    #[error("{path} does not hold a port number")]
    BadPort { path: String },
    #[error(transparent)]
    Read(#[from] fsutil::ReadError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub struct AgentFiles {
    pub dir: PathBuf,
}

impl AgentFiles {
    pub fn new(paths: &Paths) -> AgentFiles {
        AgentFiles {
            dir: paths.agent_dir(),
        }
    }

    pub fn token(&self) -> PathBuf {
        self.dir.join("token")
    }

    pub fn port(&self) -> PathBuf {
        self.dir.join("port")
    }

    pub fn lock(&self) -> PathBuf {
        self.dir.join("lock")
    }

    pub fn shells(&self) -> PathBuf {
        self.dir.join("shells")
    }

    /// The token, checked: a private file of 64 hex digits.
    pub fn read_token(&self) -> Result<String, FileError> {
        let path = self.token();
        let bytes = fsutil::read_checked(&path, 256, Trusting::Private)?;
        let text = String::from_utf8_lossy(&bytes).trim().to_string();
        if text.len() == 2 * TOKEN_BYTES && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(text)
        } else {
            Err(FileError::BadToken {
                path: path.display().to_string(),
            })
        }
    }

    /// Writes a new random token (0600, atomically) and returns it.
    pub fn new_token(&self) -> std::io::Result<String> {
        let mut raw = [0u8; TOKEN_BYTES];
        File::open("/dev/urandom")?.read_exact(&mut raw)?;
        let token: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        fsutil::write_atomic(&self.token(), token.as_bytes())?;
        Ok(token)
    }

    /// The port and the pid of the agent that wrote it (`PORT PID`).
    pub fn read_port(&self) -> Result<(u16, u32), FileError> {
        let path = self.port();
        let bytes = fsutil::read_checked(&path, 64, Trusting::Private)?;
        let text = String::from_utf8_lossy(&bytes);
        let mut words = text.split_whitespace();
        let port = words.next().and_then(|w| w.parse::<u16>().ok());
        let pid = words.next().and_then(|w| w.parse::<u32>().ok());
        match (port, pid, words.next()) {
            (Some(port), Some(pid), None) if port != 0 => Ok((port, pid)),
            _ => Err(FileError::BadPort {
                path: path.display().to_string(),
            }),
        }
    }

    pub fn write_port(&self, port: u16) -> std::io::Result<()> {
        let text = format!("{port} {}\n", std::process::id());
        fsutil::write_atomic(&self.port(), text.as_bytes())
    }

    fn open_lock(&self) -> std::io::Result<File> {
        fsutil::create_private_dir_all(&self.dir)?;
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(self.lock())
    }

    /// Takes the agent's lock for the life of this process, if no other
    /// agent holds it. A POSIX record lock: the kernel drops it when the
    /// agent dies, however it dies, and [`AgentFiles::holder`] can name it.
    pub fn take_lock(&self) -> std::io::Result<Option<File>> {
        let file = self.open_lock()?;
        let mut lk = whole_file(libc::F_WRLCK);
        // SAFETY: fcntl on a descriptor we own with a valid flock struct.
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &mut lk) } == 0 {
            return Ok(Some(file));
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EAGAIN) | Some(libc::EACCES) => Ok(None),
            _ => Err(err),
        }
    }

    /// The pid of the running agent (the holder of the lock), if any.
    pub fn holder(&self) -> std::io::Result<Option<u32>> {
        let file = match self.open_lock() {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut lk = whole_file(libc::F_WRLCK);
        // SAFETY: as above; F_GETLK fills `lk` in.
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLK, &mut lk) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok((i32::from(lk.l_type) != libc::F_UNLCK && lk.l_pid > 0).then_some(lk.l_pid as u32))
    }

    /// Records that the shell `pid` uses the agent (the agent stays while
    /// it lives). The record holds the process's start time, so a reused
    /// pid does not count.
    pub fn add_shell(&self, pid: u32) -> std::io::Result<()> {
        let Some(start) = start_time(pid) else {
            return Ok(());
        };
        let path = self.shells().join(pid.to_string());
        if std::fs::read_to_string(&path).is_ok_and(|s| s == start) {
            return Ok(());
        }
        fsutil::write_atomic(&path, start.as_bytes())
    }

    pub fn remove_shell(&self, pid: u32) {
        let _ = std::fs::remove_file(self.shells().join(pid.to_string()));
    }

    /// How many recorded shells are alive; forgets the others.
    pub fn live_shells(&self) -> usize {
        let Ok(entries) = std::fs::read_dir(self.shells()) else {
            return 0;
        };
        let mut live = 0;
        for e in entries.flatten() {
            let path = e.path();
            let alive = e
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
                .and_then(start_time)
                .is_some_and(|start| std::fs::read_to_string(&path).is_ok_and(|s| s == start));
            if alive {
                live += 1;
            } else {
                let _ = std::fs::remove_file(&path);
            }
        }
        live
    }
}

fn whole_file(kind: i32) -> libc::flock {
    // SAFETY: flock is plain data; all-zero is a valid value.
    let mut lk: libc::flock = unsafe { std::mem::zeroed() };
    lk.l_type = kind as libc::c_short;
    lk.l_whence = libc::SEEK_SET as libc::c_short;
    lk
}

/// A process's start time (field 22 of /proc/PID/stat), to tell it from a
/// later process with the same pid.
pub fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count after its ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19).map(str::to_string)
}

/// The shell that runs `escsh export`: our parent, or its parent when the
/// parent is a subshell forked for `$(...)` (the same program as its own
/// parent).
pub fn calling_shell() -> u32 {
    let parent = std::os::unix::process::parent_id();
    let exe = |pid: u32| std::fs::read_link(format!("/proc/{pid}/exe")).ok();
    let grand = parent_of(parent);
    match grand {
        Some(g) if g > 1 && exe(g).is_some() && exe(g) == exe(parent) => g,
        _ => parent,
    }
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Compares without stopping at the first difference, so the time taken
/// says nothing about how much of a guess was right.
pub fn same_token(given: &[u8], token: &[u8]) -> bool {
    if given.len() != token.len() {
        return false;
    }
    let diff = given
        .iter()
        .zip(token)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(diff) == 0
}

/// For messages.
pub fn shown(path: &Path) -> String {
    crate::printable::line(&path.display().to_string()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_private_random_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let files = AgentFiles {
            dir: dir.path().join("agent"),
        };
        let a = files.new_token().unwrap();
        assert_eq!(files.read_token().unwrap(), a);
        assert_ne!(files.new_token().unwrap(), a);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(files.token())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        fsutil::write_atomic(&files.token(), b"garbage").unwrap();
        assert!(matches!(
            files.read_token(),
            Err(FileError::BadToken { .. })
        ));
        fsutil::write_atomic(&files.port(), b"x").unwrap();
        assert!(matches!(files.read_port(), Err(FileError::BadPort { .. })));
    }

    #[test]
    fn the_lock_is_taken_by_one_process() {
        let dir = tempfile::tempdir().unwrap();
        let files = AgentFiles {
            dir: dir.path().join("agent"),
        };
        assert_eq!(files.holder().unwrap(), None);
        let held = files.take_lock().unwrap();
        assert!(held.is_some());
        // POSIX locks never conflict within one process: another process
        // sees the holder (tests/agent.rs checks that across processes).
        assert_eq!(files.holder().unwrap(), None);
    }

    #[test]
    fn token_comparison() {
        assert!(same_token(b"abc", b"abc"));
        assert!(!same_token(b"abd", b"abc"));
        assert!(!same_token(b"ab", b"abc"));
    }

    #[test]
    fn live_shells_forget_the_dead() {
        let dir = tempfile::tempdir().unwrap();
        let files = AgentFiles {
            dir: dir.path().join("agent"),
        };
        files.add_shell(std::process::id()).unwrap();
        fsutil::write_atomic(&files.shells().join("999999999"), b"1").unwrap();
        assert_eq!(files.live_shells(), 1);
        assert!(!files.shells().join("999999999").exists());
    }
}
