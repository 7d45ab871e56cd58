//! `ESCSH_STATE`: what escsh loaded into this shell, in one exported,
//! versioned variable, so child shells know it too. It holds names and
//! keyed fingerprints of what escsh set: never a value escsh set, never a
//! value a variable had before (those stay in the shell's own, unexported
//! `__escsh_prev`). It stays small whatever the environment: past
//! [`MAX_INLINE`] bytes the record goes to a private file named by its
//! hash, and the variable holds the hash.

use std::path::Path;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::fsutil::{self, Trusting};

pub const VAR: &str = "ESCSH_STATE";
const VERSION: &str = "2";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
/// The most `ESCSH_STATE` holds inline: every process the shell starts
/// carries it, and the kernel's limits count it.
pub const MAX_INLINE: usize = 3 * 1024;
/// A spilled record: names and fingerprints of at most a few thousand variables.
const MAX_SPILLED: u64 = 4 << 20;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The environment loaded (as the `.escrc` names it); empty when none.
    #[serde(rename = "e", default, skip_serializing_if = "String::is_empty")]
    pub env: String,
    /// Short id of the `.escrc` that applied at the last export, so that
    /// entering a project (again) shows its notices again.
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    #[serde(rename = "k", default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<Managed>,
    /// When the loaded credentials expire (Unix seconds).
    #[serde(rename = "x", default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Content id of the `.escrc` last reported as not allowed, so the
    /// notice is given once per content.
    #[serde(rename = "b", default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
    /// Id of the record of previous values in escsh's private runtime
    /// directory, for child shells, which do not inherit `__escsh_prev`.
    #[serde(rename = "v", default, skip_serializing_if = "Option::is_none")]
    pub kept: Option<String>,
    /// Id of the last message said once (an error, a refresh failure).
    #[serde(rename = "w", default, skip_serializing_if = "Option::is_none")]
    pub warned: Option<String>,
}

/// A variable escsh set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Managed {
    #[serde(rename = "n")]
    pub name: String,
    #[serde(rename = "p")]
    pub prev: Prev,
    /// Keyed fingerprint of the value escsh set.
    #[serde(rename = "f")]
    pub fingerprint: String,
}

/// What the variable held before escsh set it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Prev {
    #[serde(rename = "u")]
    Unset,
    /// A value, kept by the shell that loaded the environment in its
    /// unexported `__escsh_prev` and handed back on the next call.
    #[serde(rename = "s")]
    Kept,
}

impl State {
    pub fn is_loaded(&self) -> bool {
        !self.env.is_empty()
    }

    /// The text of `ESCSH_STATE`; a large record is written to `spill_dir`.
    pub fn encode(&self, spill_dir: &Path) -> std::io::Result<String> {
        let json = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        let inline = format!("{VERSION}.{}", B64.encode(&json));
        if inline.len() <= MAX_INLINE {
            return Ok(inline);
        }
        let hash = super::trust::sha256_hex(&json);
        let file = spill_dir.join(&hash);
        if !file.exists() {
            fsutil::write_atomic(&file, &json)?;
        }
        Ok(format!("{VERSION}@{hash}"))
    }

    /// `None` for an absent, foreign or damaged value, or a spilled record
    /// that is gone or does not match its hash.
    pub fn decode(text: &str, spill_dir: &Path) -> Option<State> {
        let rest = text.strip_prefix(VERSION)?;
        let json = if let Some(payload) = rest.strip_prefix('.') {
            B64.decode(payload).ok()?
        } else {
            let hash = rest.strip_prefix('@')?;
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let json =
                fsutil::read_checked(&spill_dir.join(hash), MAX_SPILLED, Trusting::Private).ok()?;
            (super::trust::sha256_hex(&json) == hash).then_some(json)?
        };
        serde_json::from_slice(&json).ok()
    }
}

pub use super::fingerprint::Fingerprinter;

#[cfg(test)]
mod tests {
    use super::*;

    fn managed(i: usize) -> Managed {
        Managed {
            name: format!("VARIABLE_NUMBER_{i}"),
            prev: Prev::Kept,
            fingerprint: "0123456789abcdef01234567".into(),
        }
    }

    #[test]
    fn round_trips_and_rejects_garbage() {
        let spill = tempfile::tempdir().unwrap();
        let s = State {
            env: "acme/app/dev".into(),
            keys: vec![managed(1)],
            expires_at: Some(1),
            ..State::default()
        };
        let text = s.encode(spill.path()).unwrap();
        assert!(text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)));
        assert_eq!(State::decode(&text, spill.path()), Some(s));
        assert_eq!(State::decode("1.abc", spill.path()), None);
        assert_eq!(State::decode("2.!!", spill.path()), None);
        assert_eq!(State::decode("2@../../x", spill.path()), None);
    }

    #[test]
    fn a_large_state_is_spilled_and_stays_small() {
        let spill = tempfile::tempdir().unwrap();
        let s = State {
            env: "acme/app/dev".into(),
            keys: (0..1800).map(managed).collect(),
            ..State::default()
        };
        let text = s.encode(spill.path()).unwrap();
        assert!(text.len() < 100, "{}", text.len());
        assert_eq!(State::decode(&text, spill.path()), Some(s));
        // Tampered or missing: not trusted.
        let file = std::fs::read_dir(spill.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        std::fs::write(&file, b"{}").unwrap();
        assert_eq!(State::decode(&text, spill.path()), None);
        std::fs::remove_file(&file).unwrap();
        assert_eq!(State::decode(&text, spill.path()), None);
    }
}
