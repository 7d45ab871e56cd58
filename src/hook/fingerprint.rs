//! The per-user fingerprint key: `ESCSH_STATE` keeps keyed fingerprints of
//! the values escsh set, so that a leaked environment does not let anyone
//! test guesses of low-entropy values.
//!
//! Every shell must use the same key (a shell on another key cannot tell its
//! own values and cannot unload), and several shells may start at once on a
//! fresh machine: the key is created with `O_EXCL`, so exactly one process
//! creates it and every other one reads that one. A reader that finds it
//! still being written waits and reads again; nothing ever replaces it.

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::fsutil::{self, ReadError, Trusting};

/// The file name of the key in the data directory.
pub const KEY_FILE: &str = "fingerprint.key";

/// Bytes of a key escsh writes; a shorter file is still being written.
const KEY_LEN: usize = 32;

/// Far more than a key; a larger file is not one.
const READ_LIMIT: u64 = 4096;

/// How long a reader waits for a creator to finish writing the key.
const WAIT: Duration = Duration::from_secs(2);

pub struct Fingerprinter {
    key: Vec<u8>,
}

impl Fingerprinter {
    /// Reads the key from `<data_dir>/fingerprint.key`, creating it on first
    /// use. The key file must be escsh's own (a regular file owned by the
    /// effective user, not writable by others, not a link).
    pub fn load(data_dir: &Path) -> io::Result<Fingerprinter> {
        let path = data_dir.join(KEY_FILE);
        let deadline = SystemTime::now() + WAIT;
        loop {
            match fsutil::read_checked(&path, READ_LIMIT, Trusting::Private) {
                Ok(key) if key.len() >= KEY_LEN => return Ok(Fingerprinter { key }),
                Ok(short) => {
                    // Another process created it and is writing it now, or
                    // one was killed while writing: wait for the first,
                    // name the file for the second.
                    if SystemTime::now() >= deadline {
                        return Err(io::Error::other(format!(
                            "the fingerprint key {} is {} bytes, not {KEY_LEN} (its creation was \
                             interrupted?): remove it and escsh makes a new one",
                            path.display(),
                            short.len()
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) if e.is_not_found() => {
                    if let Some(key) = create(&path)? {
                        return Ok(Fingerprinter { key });
                    }
                    // Another process created it first: read theirs.
                }
                Err(e) => return Err(into_io(e)),
            }
        }
    }

    /// The fingerprint of `value` set as variable `name`.
    pub fn of(&self, name: &str, value: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(name.as_bytes());
        mac.update(&[0]);
        mac.update(value);
        super::trust::hex(&mac.finalize().into_bytes()[..12])
    }
}

/// Creates the key file with a new random key; `None` when it already
/// exists (someone else won the race).
fn create(path: &Path) -> io::Result<Option<Vec<u8>>> {
    let mut key = vec![0u8; KEY_LEN];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .map_err(|e| io::Error::new(e.kind(), format!("cannot read /dev/urandom: {e}")))?;
    if let Some(dir) = path.parent() {
        fsutil::create_private_dir_all(dir)?;
    }
    let failed =
        |e: io::Error| io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()));
    let mut file = match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(None),
        Err(e) => return Err(failed(e)),
    };
    // One write of 32 bytes; readers that see fewer wait for the rest.
    let written = file.write_all(&key).and_then(|()| file.sync_all());
    if let Err(e) = written {
        // Never leave a short key behind for others to wait on.
        let _ = std::fs::remove_file(path);
        return Err(failed(e));
    }
    Ok(Some(key))
}

fn into_io(e: ReadError) -> io::Error {
    match e {
        ReadError::Io { ref source, .. } => io::Error::new(source.kind(), e.to_string()),
        other => io::Error::other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn fingerprints_depend_on_the_key_and_the_name() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let fa = Fingerprinter::load(a.path()).unwrap();
        let fb = Fingerprinter::load(b.path()).unwrap();
        assert_eq!(
            fa.of("X", b"v"),
            Fingerprinter::load(a.path()).unwrap().of("X", b"v")
        );
        assert_ne!(fa.of("X", b"v"), fb.of("X", b"v"));
        assert_ne!(fa.of("X", b"v"), fa.of("Y", b"v"));
        let key = a.path().join(KEY_FILE);
        assert_eq!(std::fs::read(&key).unwrap().len(), KEY_LEN);
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_key_being_written_is_waited_for_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join(KEY_FILE);
        std::fs::write(&key, b"").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let writer = {
            let key = key.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(100));
                std::fs::write(&key, [7u8; KEY_LEN]).unwrap();
            })
        };
        let loaded = Fingerprinter::load(dir.path()).unwrap();
        writer.join().unwrap();
        assert_eq!(loaded.key, vec![7u8; KEY_LEN]);
    }

    #[test]
    fn a_short_key_that_stays_short_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join(KEY_FILE);
        std::fs::write(&key, b"short").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = Fingerprinter::load(dir.path()).err().unwrap();
        assert!(e.to_string().contains(&key.display().to_string()), "{e}");
        assert_eq!(std::fs::read(&key).unwrap(), b"short", "never replaced");
    }

    #[test]
    fn a_key_others_can_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join(KEY_FILE);
        std::fs::write(&key, [1u8; KEY_LEN]).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = Fingerprinter::load(dir.path()).err().unwrap();
        assert!(e.to_string().contains("writable"), "{e}");
        let link_dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(&key, link_dir.path().join(KEY_FILE)).unwrap();
        assert!(Fingerprinter::load(link_dir.path()).is_err());
    }
}
