//! The user's age identity: `ESCSH_AGE_IDENTITY_FILE`, else
//! `<config>/age-identity.txt`, created on first need. The file is in
//! age's own format (`age -d -i FILE` reads it) and must stay private:
//! a regular file of the user's, not a symbolic link, mode 0600.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use age::x25519;

use crate::fsutil::{self, Trusting};

/// The variable naming an identity file of the user's choice.
pub const IDENTITY_VAR: &str = "ESCSH_AGE_IDENTITY_FILE";
const FILE_NAME: &str = "age-identity.txt";
/// An identity file is a few lines; anything larger is not one.
const MAX_SIZE: u64 = 64 * 1024;

/// Why the identity could not be had.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("age identity {path}: {problem}")]
    Unusable { path: String, problem: String },
    #[error(transparent)]
    Read(#[from] fsutil::ReadError),
    #[error("creating the age identity {path}: {source}")]
    Create {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A loaded identity and its public recipient.
pub struct Key {
    pub identity: super::unwrap::Unwrapper,
    pub recipient: x25519::Recipient,
    /// `age1...`, as recipients files and payloads write it.
    pub public: String,
}

/// Where the identity is: the variable's file, else the config directory's.
pub fn location(config_dir: &Path) -> PathBuf {
    match std::env::var_os(IDENTITY_VAR) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => config_dir.join(FILE_NAME),
    }
}

/// Reads the identity at `path`, creating it first when there is none.
pub fn load_or_create(path: &Path) -> Result<Key, IdentityError> {
    match read(path) {
        Err(IdentityError::Read(e)) if e.is_not_found() => {
            create(path)?;
            read(path)
        }
        other => other,
    }
}

fn read(path: &Path) -> Result<Key, IdentityError> {
    let unusable = |problem: String| IdentityError::Unusable {
        path: crate::printable::line(&path.display().to_string()).into_owned(),
        problem,
    };
    let bytes = fsutil::read_checked(path, MAX_SIZE, Trusting::Private)?;
    let mode = fs::symlink_metadata(path)
        .map_err(|e| unusable(e.to_string()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(unusable(format!(
            "other users may read it (mode {:o}): run `chmod 600` on it",
            mode & 0o777
        )));
    }
    let text = String::from_utf8(bytes).map_err(|_| unusable("it is not text".into()))?;
    // Never quote the line: it is the secret key.
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or_else(|| unusable("it holds no key (an AGE-SECRET-KEY-1... line)".into()))?;
    let identity: x25519::Identity = line.parse().map_err(|_| {
        unusable("its first key line is not an age X25519 identity (AGE-SECRET-KEY-1...)".into())
    })?;
    let recipient = identity.to_public();
    Ok(Key {
        identity: super::unwrap::Unwrapper::new(&identity),
        public: recipient.to_string(),
        recipient,
    })
}

/// Writes a new identity to `path` unless one appears there meanwhile
/// (another escsh creating it at the same time wins; both then read it).
fn create(path: &Path) -> Result<(), IdentityError> {
    let failed = |source| IdentityError::Create {
        path: crate::printable::line(&path.display().to_string()).into_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    fsutil::create_private_dir_all(dir).map_err(failed)?;
    let identity = x25519::Identity::generate();
    let text = format!(
        "# escsh age identity: keep it private; back it up to keep access to your secrets\n\
         # public key: {}\n{}\n",
        identity.to_public(),
        identity.to_string().expose_secret()
    );
    let mut tmp = tempfile::Builder::new()
        .prefix(".age-identity-")
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(failed)?;
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(failed)?;
    match tmp.persist_noclobber(path) {
        Ok(_) => Ok(()),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(failed(e.error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_private_and_checked() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("cfg").join(FILE_NAME);
        let first = load_or_create(&path).unwrap();
        let again = load_or_create(&path).unwrap();
        assert_eq!(first.public, again.public);
        assert!(first.public.starts_with("age1"));
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = load_or_create(&path).err().unwrap().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert!(load_or_create(&link).is_err());
        fs::write(&path, "# nothing\nAGE-SECRET-KEY-1NOTAKEY\n").unwrap();
        let err = load_or_create(&path).err().unwrap().to_string();
        assert!(err.contains("not an age X25519 identity") && !err.contains("NOTAKEY"));
    }
}
