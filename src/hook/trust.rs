//! Trust: nothing from an `.escrc` is evaluated until the user allows it.
//!
//! An allow record is named by sha256(canonical path, NUL, content [, NUL,
//! content of the project definition file it names]), so any edit needs a
//! new allow. A deny record is named by sha256(path) alone, so a denial
//! survives edits and pulls. Both hold the path, for `status` and pruning.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::rc::RcFile;
use crate::fsutil;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trust {
    Allowed,
    NotAllowed,
    Denied,
}

pub struct TrustStore {
    dir: PathBuf,
}

impl TrustStore {
    /// `dir` is escsh's data directory; records live below `trust/`.
    pub fn new(data_dir: &Path) -> TrustStore {
        TrustStore {
            dir: data_dir.join("trust"),
        }
    }

    pub fn status(&self, rc: &RcFile, local_definition: Option<&[u8]>) -> Trust {
        if self.deny_record(&rc.path).exists() {
            Trust::Denied
        } else if self.allow_record(rc, local_definition).exists() {
            Trust::Allowed
        } else {
            Trust::NotAllowed
        }
    }

    pub fn allow(&self, rc: &RcFile, local_definition: Option<&[u8]>) -> std::io::Result<()> {
        remove_if_exists(&self.deny_record(&rc.path))?;
        fsutil::write_atomic(
            &self.allow_record(rc, local_definition),
            path_bytes(&rc.path),
        )
    }

    pub fn deny(&self, rc_path: &Path) -> std::io::Result<()> {
        self.forget_allows(rc_path)?;
        fsutil::write_atomic(&self.deny_record(rc_path), path_bytes(rc_path))
    }

    /// A short fingerprint of the content the allow record would cover, so
    /// "not allowed" is said once per content.
    pub fn content_id(rc: &RcFile, local_definition: Option<&[u8]>) -> String {
        allow_hash(rc, local_definition)[..16].to_string()
    }

    fn allow_record(&self, rc: &RcFile, local_definition: Option<&[u8]>) -> PathBuf {
        self.dir
            .join("allow")
            .join(allow_hash(rc, local_definition))
    }

    fn deny_record(&self, path: &Path) -> PathBuf {
        self.dir
            .join("deny")
            .join(hex(&Sha256::digest(path_bytes(path))))
    }

    /// Old allow records of this path are dead weight once it is denied.
    fn forget_allows(&self, rc_path: &Path) -> std::io::Result<()> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("allow")) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            if std::fs::read(entry.path()).is_ok_and(|p| p == path_bytes(rc_path)) {
                remove_if_exists(&entry.path())?;
            }
        }
        Ok(())
    }
}

fn allow_hash(rc: &RcFile, local_definition: Option<&[u8]>) -> String {
    let mut h = Sha256::new();
    h.update(path_bytes(&rc.path));
    h.update([0]);
    h.update(&rc.content);
    if let Some(def) = local_definition {
        h.update([0]);
        h.update(def);
    }
    hex(&h.finalize())
}

fn path_bytes(p: &Path) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    p.as_os_str().as_bytes()
}

fn remove_if_exists(p: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_follows_content_and_deny_survives_edits() {
        let home = tempfile::tempdir().unwrap();
        let store = TrustStore::new(home.path());
        let mut rc = RcFile {
            path: PathBuf::from("/p/.escrc"),
            content: b"a/b".to_vec(),
        };
        assert_eq!(store.status(&rc, None), Trust::NotAllowed);
        store.allow(&rc, None).unwrap();
        assert_eq!(store.status(&rc, None), Trust::Allowed);
        assert_eq!(store.status(&rc, Some(b"values: {}")), Trust::NotAllowed);
        rc.content = b"a/c".to_vec();
        assert_eq!(store.status(&rc, None), Trust::NotAllowed);
        store.deny(&rc.path).unwrap();
        rc.content = b"a/d".to_vec();
        assert_eq!(store.status(&rc, None), Trust::Denied);
        store.allow(&rc, None).unwrap();
        assert_eq!(store.status(&rc, None), Trust::Allowed);
    }
}
