//! Trust: nothing from an `.escrc` is evaluated until the user allows it.
//!
//! An allow record is named by sha256(path, NUL, content) of the `.escrc`
//! where it was found, so any edit, and any other place, needs a new allow.
//! The record holds the sha256 of the project definition (`file:`) it was
//! allowed with, so that file is opened only once the `.escrc` itself is
//! allowed, and then compared by the hash of the very bytes that will be
//! evaluated. A deny record is named by sha256(path) alone, so a denial
//! survives edits and pulls. Both hold the path, for pruning.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::rc::RcFile;
pub use crate::digest::{hex, sha256_hex};
use crate::fsutil::{self, Trusting};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trust {
    Allowed,
    NotAllowed,
    Denied,
}

/// What the records say of one `.escrc` (before its definition is read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RcTrust {
    Denied,
    NotAllowed,
    /// Allowed, together with the sha256 of the `file:` definition it was
    /// allowed with (`None` for a store reference).
    Allowed {
        definition: Option<String>,
    },
}

pub struct TrustStore {
    dir: PathBuf,
}

const RECORD_VERSION: &str = "escsh-allow-2";
/// Records are a line and a path.
const MAX_RECORD: u64 = 8 * 1024;

impl TrustStore {
    /// `dir` is the trust store, [`crate::paths::Paths::trust_dir`].
    pub fn new(dir: &Path) -> TrustStore {
        TrustStore {
            dir: dir.to_path_buf(),
        }
    }

    pub fn status(&self, rc: &RcFile) -> RcTrust {
        if self.deny_record(&rc.path).exists() {
            return RcTrust::Denied;
        }
        let Ok(record) =
            fsutil::read_checked(&self.allow_record(rc), MAX_RECORD, Trusting::Private)
        else {
            return RcTrust::NotAllowed;
        };
        match parse_record(&record) {
            Some((definition, path)) if path == path_bytes(&rc.path) => {
                RcTrust::Allowed { definition }
            }
            _ => RcTrust::NotAllowed,
        }
    }

    /// Allows `rc` as it is, with the `file:` definition bytes it names.
    pub fn allow(&self, rc: &RcFile, definition: Option<&[u8]>) -> std::io::Result<()> {
        remove_if_exists(&self.deny_record(&rc.path))?;
        let hash = definition.map_or_else(|| "-".to_string(), sha256_hex);
        let mut record = format!("{RECORD_VERSION} {hash}\n").into_bytes();
        record.extend_from_slice(path_bytes(&rc.path));
        fsutil::write_atomic(&self.allow_record(rc), &record)
    }

    pub fn deny(&self, rc_path: &Path) -> std::io::Result<()> {
        self.forget_allows(rc_path)?;
        fsutil::write_atomic(&self.deny_record(rc_path), path_bytes(rc_path))
    }

    /// The files whose appearance or change alters the answer for `rc`:
    /// shells watch them, so a decision takes effect at the next prompt
    /// even when the generation file cannot be written.
    pub fn records(&self, rc: &RcFile) -> [PathBuf; 2] {
        [self.allow_record(rc), self.deny_record(&rc.path)]
    }

    /// A short fingerprint of what an allow would cover, so "not allowed"
    /// is said once per content.
    pub fn content_id(rc: &RcFile, definition_hash: Option<&str>) -> String {
        let mut id = record_name(rc);
        if let Some(h) = definition_hash {
            id = sha256_hex(format!("{id}{h}").as_bytes());
        }
        id[..16].to_string()
    }

    fn allow_record(&self, rc: &RcFile) -> PathBuf {
        self.dir.join("allow").join(record_name(rc))
    }

    fn deny_record(&self, path: &Path) -> PathBuf {
        self.dir.join("deny").join(sha256_hex(path_bytes(path)))
    }

    /// Old allow records of this path are dead weight once it is denied.
    fn forget_allows(&self, rc_path: &Path) -> std::io::Result<()> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("allow")) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let record = fsutil::read_checked(&entry.path(), MAX_RECORD, Trusting::Private);
            let path = record.as_deref().ok().and_then(parse_record).map(|r| r.1);
            if path.as_deref() == Some(path_bytes(rc_path)) {
                remove_if_exists(&entry.path())?;
            }
        }
        Ok(())
    }
}

fn record_name(rc: &RcFile) -> String {
    let mut h = Sha256::new();
    h.update(path_bytes(&rc.path));
    h.update([0]);
    h.update(&rc.content);
    hex(&h.finalize())
}

/// `escsh-allow-2 <hash|->\n<path>` → (definition hash, path bytes).
fn parse_record(record: &[u8]) -> Option<(Option<String>, Vec<u8>)> {
    let nl = record.iter().position(|&b| b == b'\n')?;
    let head = std::str::from_utf8(&record[..nl]).ok()?;
    let hash = head.strip_prefix(RECORD_VERSION)?.strip_prefix(' ')?;
    let definition = (hash != "-").then(|| hash.to_string());
    Some((definition, record[nl + 1..].to_vec()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_follows_content_and_place_and_deny_survives_edits() {
        let home = tempfile::tempdir().unwrap();
        let store = TrustStore::new(home.path());
        let mut rc = RcFile {
            path: PathBuf::from("/p/.escrc"),
            content: b"a/b".to_vec(),
        };
        assert_eq!(store.status(&rc), RcTrust::NotAllowed);
        store.allow(&rc, None).unwrap();
        assert_eq!(store.status(&rc), RcTrust::Allowed { definition: None });
        let elsewhere = RcFile {
            path: PathBuf::from("/q/.escrc"),
            content: rc.content.clone(),
        };
        assert_eq!(store.status(&elsewhere), RcTrust::NotAllowed);
        store.allow(&rc, Some(b"values: {}")).unwrap();
        assert_eq!(
            store.status(&rc),
            RcTrust::Allowed {
                definition: Some(sha256_hex(b"values: {}"))
            }
        );
        rc.content = b"a/c".to_vec();
        assert_eq!(store.status(&rc), RcTrust::NotAllowed);
        store.deny(&rc.path).unwrap();
        rc.content = b"a/d".to_vec();
        assert_eq!(store.status(&rc), RcTrust::Denied);
        store.allow(&rc, None).unwrap();
        assert_eq!(store.status(&rc), RcTrust::Allowed { definition: None });
    }
}
