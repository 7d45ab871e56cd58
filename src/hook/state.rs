//! `ESCSH_STATE`: what escsh loaded into this shell, in one exported,
//! versioned variable. It holds names, the previous values of variables
//! that were not secret, and keyed fingerprints of what escsh set: never a
//! value escsh set, never a secret.

use std::path::{Path, PathBuf};

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub const VAR: &str = "ESCSH_STATE";
const VERSION: &str = "1";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The environment loaded (as the `.escrc` names it); empty when none.
    #[serde(rename = "e", default, skip_serializing_if = "String::is_empty")]
    pub env: String,
    /// The `.escrc` that applied at the last export.
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub rc: Option<PathBuf>,
    #[serde(rename = "k", default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<Managed>,
    /// When the loaded credentials expire (Unix seconds).
    #[serde(rename = "x", default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Content id of the `.escrc` last reported as not allowed, so the
    /// notice is given once per content.
    #[serde(rename = "b", default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
    /// Id of the last refresh failure warned about (once per failure).
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
    #[serde(rename = "v")]
    Value(String),
    /// Kept out of the exported state (it was secret or large): the shell
    /// holds it in a non-exported variable and hands it back on the next call.
    #[serde(rename = "s")]
    InShell,
}

impl State {
    pub fn is_loaded(&self) -> bool {
        !self.env.is_empty()
    }

    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!("{VERSION}.{}", B64.encode(json))
    }

    /// `None` for an absent, foreign or damaged value.
    pub fn decode(text: &str) -> Option<State> {
        let payload = text.strip_prefix(VERSION)?.strip_prefix('.')?;
        let json = B64.decode(payload).ok()?;
        serde_json::from_slice(&json).ok()
    }
}

/// Fingerprints values with a per-user key, so that a leaked environment
/// does not let anyone test guesses of low-entropy values.
pub struct Fingerprinter {
    key: Vec<u8>,
}

impl Fingerprinter {
    /// Reads the key from `<data>/fingerprint.key`, creating it on first use.
    pub fn load(data_dir: &Path) -> std::io::Result<Fingerprinter> {
        let path = data_dir.join("fingerprint.key");
        match std::fs::read(&path) {
            Ok(key) if key.len() >= 16 => Ok(Fingerprinter { key }),
            _ => {
                let mut key = vec![0u8; 32];
                use std::io::Read;
                std::fs::File::open("/dev/urandom")?.read_exact(&mut key)?;
                crate::fsutil::write_atomic(&path, &key)?;
                Ok(Fingerprinter { key })
            }
        }
    }

    pub fn of(&self, name: &str, value: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(name.as_bytes());
        mac.update(&[0]);
        mac.update(value);
        super::trust::hex(&mac.finalize().into_bytes()[..12])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let s = State {
            env: "acme/app/dev".into(),
            rc: Some("/p/.escrc".into()),
            keys: vec![Managed {
                name: "A".into(),
                prev: Prev::Value("old".into()),
                fingerprint: "ab".into(),
            }],
            expires_at: Some(1),
            ..State::default()
        };
        let text = s.encode();
        assert!(text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)));
        assert_eq!(State::decode(&text), Some(s));
        assert_eq!(State::decode("2.abc"), None);
        assert_eq!(State::decode("1.!!"), None);
    }

    #[test]
    fn fingerprints_depend_on_the_key() {
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
    }
}
