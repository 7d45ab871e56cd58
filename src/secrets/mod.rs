//! Secrets encrypted at rest in local definitions: every `fn::secret` that
//! escsh saves is written in ESC's ciphertext form, its payload an age file
//! for the definition's recipients (see [`sealed`]). Evaluation decrypts
//! through [`Keyring`], the evaluator's [`crate::lang::Decrypter`].

pub mod identity;
pub mod recipients;
pub mod rewrite;
pub mod sealed;
mod unwrap;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use identity::{IdentityError, Key};
pub use recipients::{Recipients, RecipientsError};

use crate::lang::envelope;
use rewrite::{Form, Found};

/// A secret could not be decrypted: escsh exits 2 (as for an evaluation
/// with errors) and rewrites nothing.
#[derive(Debug, thiserror::Error)]
#[error("cannot decrypt the secret at {path} in {location}: {problem}")]
pub struct CannotDecrypt {
    pub location: String,
    pub path: String,
    pub problem: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Recipients(#[from] RecipientsError),
    #[error(transparent)]
    CannotDecrypt(#[from] CannotDecrypt),
    #[error("{location}: cannot rewrite the secrets in place ({problem}); nothing was changed")]
    Rewrite { location: String, problem: String },
    #[error("{0}")]
    Encrypt(String),
}

/// The user's age identity, read (or created) the first time a secret is
/// encrypted or decrypted: commands that meet none never touch it.
pub struct Keyring {
    file: PathBuf,
    key: OnceLock<Result<Key, String>>,
}

impl Keyring {
    pub fn new(config_dir: &Path) -> Keyring {
        Keyring {
            file: identity::location(config_dir),
            key: OnceLock::new(),
        }
    }

    /// The identity file (`ESCSH_AGE_IDENTITY_FILE` or the config dir's).
    pub fn file(&self) -> &Path {
        &self.file
    }

    pub fn key(&self) -> Result<&Key, SecretsError> {
        let loaded = self
            .key
            .get_or_init(|| identity::load_or_create(&self.file).map_err(|e| e.to_string()));
        loaded
            .as_ref()
            .map_err(|e| SecretsError::Encrypt(e.clone()))
    }

    /// The plaintext of an envelope's text.
    fn open_text(&self, ciphertext: &str) -> Result<String, String> {
        let payload = envelope::open(ciphertext)?;
        let plain = crate::lang::Decrypter::decrypt(self, &payload)?;
        String::from_utf8(plain).map_err(|_| "the decrypted value is not UTF-8 text".to_string())
    }

    /// The envelope text of `plain` sealed for `recipients`.
    fn seal_text(&self, plain: &str, recipients: &Recipients) -> Result<String, SecretsError> {
        let payload =
            sealed::seal(plain.as_bytes(), &recipients.keys).map_err(SecretsError::Encrypt)?;
        Ok(envelope::seal(&payload))
    }
}

impl crate::lang::Decrypter for Keyring {
    fn decrypt(&self, payload: &[u8]) -> Result<Vec<u8>, String> {
        let key = self.key().map_err(|e| e.to_string())?;
        sealed::open(payload, &key.identity, &key.public)
    }

    /// Every value costs an X25519 agreement (~60 µs), and the values are
    /// independent: a definition's are split over the cores.
    fn decrypt_all(&self, payloads: &[&[u8]]) -> Vec<Result<Vec<u8>, String>> {
        let key = match self.key() {
            Ok(key) => key,
            Err(e) => return payloads.iter().map(|_| Err(e.to_string())).collect(),
        };
        let open_all = |chunk: &[&[u8]]| -> Vec<Result<Vec<u8>, String>> {
            chunk
                .iter()
                .map(|p| sealed::open(p, &key.identity, &key.public))
                .collect()
        };
        // A thread costs about what one value does: each takes a few.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = cores.min(payloads.len() / VALUES_PER_THREAD).max(1);
        if threads == 1 {
            return open_all(payloads);
        }
        let chunk = payloads.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let rest: Vec<_> = payloads
                .chunks(chunk)
                .skip(1)
                .map(|c| (c.len(), scope.spawn(move || open_all(c))))
                .collect();
            let mut out = open_all(&payloads[..chunk]);
            for (len, handle) in rest {
                out.extend(handle.join().unwrap_or_else(|_| {
                    vec![Err("decryption stopped unexpectedly".to_string()); len]
                }));
            }
            out
        })
    }
}

/// The fewest values worth a thread of their own.
const VALUES_PER_THREAD: usize = 4;

/// Where a definition lives, for its recipients and messages.
pub struct Place<'a> {
    /// Its directory (none for a store that is not files).
    pub dir: Option<&'a Path>,
    /// Where the search for a `recipients` file stops going up.
    pub stop: Option<&'a Path>,
    /// The definition's path or name, for messages.
    pub location: &'a str,
}

impl Place<'_> {
    pub fn recipients(&self, keyring: &Keyring) -> Result<Recipients, SecretsError> {
        let own = &keyring.key()?.recipient;
        Ok(recipients::for_dir(self.dir, self.stop, own)?)
    }
}

/// A definition with its secrets shown in plaintext (for `env edit`), and
/// the ciphertexts they were shown from, to keep those that stay the same.
pub struct Revealed {
    pub text: String,
    /// (path, plaintext) → the ciphertext it came from.
    kept: HashMap<(String, String), String>,
}

impl Revealed {
    /// Nothing shown: plaintext saved from it is all newly encrypted.
    pub fn none() -> Revealed {
        Revealed {
            text: String::new(),
            kept: HashMap::new(),
        }
    }
}

/// Shows every secret this user can decrypt in plaintext; those it cannot
/// stay as they are (and are saved back unchanged).
pub fn reveal(keyring: &Keyring, text: &str) -> Result<Revealed, String> {
    let mut kept = HashMap::new();
    let mut edits = Vec::new();
    for f in rewrite::find(text)? {
        let Form::Ciphertext(c) = &f.form else {
            continue;
        };
        if let Ok(plain) = keyring.open_text(c) {
            edits.push((f.span.clone(), rewrite::plaintext_node(&plain)));
            kept.insert((f.path, plain), c.clone());
        }
    }
    let shown = rewrite::apply(text, edits);
    rewrite::same_but_secrets(text, &shown)?;
    Ok(Revealed { text: shown, kept })
}

/// `text` with every plaintext secret encrypted for `place`'s recipients;
/// one shown by `revealed` and unchanged gets its old ciphertext back, byte
/// for byte. `None` when there is nothing to encrypt, else the new text,
/// how many secrets were newly encrypted, and for whom.
pub fn encrypt(
    keyring: &Keyring,
    place: &Place,
    text: &str,
    revealed: &Revealed,
) -> Result<Option<(String, usize, Recipients)>, SecretsError> {
    let found = find(place, text)?;
    let plain: Vec<&Found> = found
        .iter()
        .filter(|f| matches!(f.form, Form::Plain(Some(_))))
        .collect();
    if plain.is_empty() {
        return Ok(None);
    }
    let recipients = place.recipients(keyring)?;
    let mut edits = Vec::new();
    let mut fresh = 0;
    for f in plain {
        let Form::Plain(Some(value)) = &f.form else {
            continue;
        };
        let ciphertext = match revealed.kept.get(&(f.path.clone(), value.clone())) {
            Some(c) => c.clone(),
            None => {
                fresh += 1;
                keyring.seal_text(value, &recipients)?
            }
        };
        edits.push((f.span.clone(), rewrite::ciphertext_node(&ciphertext)));
    }
    finish(place, text, edits).map(|t| Some((t, fresh, recipients)))
}

/// `text` with every secret (plaintext or ciphertext) encrypted afresh for
/// `place`'s recipients. Fails, changing nothing, if any ciphertext cannot
/// be decrypted by this user. Returns the new text, how many secrets were
/// encrypted, and for whom.
pub fn rekey(
    keyring: &Keyring,
    place: &Place,
    text: &str,
) -> Result<(String, usize, Recipients), SecretsError> {
    let found = find(place, text)?;
    let recipients = place.recipients(keyring)?;
    let mut edits = Vec::new();
    for f in &found {
        let plain = match &f.form {
            Form::Plain(Some(v)) => v.clone(),
            Form::Plain(None) => continue,
            Form::Ciphertext(c) => keyring.open_text(c).map_err(|problem| CannotDecrypt {
                location: place.location.to_string(),
                path: format!("values.{}", f.path),
                problem,
            })?,
        };
        let ciphertext = keyring.seal_text(&plain, &recipients)?;
        edits.push((f.span.clone(), rewrite::ciphertext_node(&ciphertext)));
    }
    let count = edits.len();
    finish(place, text, edits).map(|t| (t, count, recipients))
}

fn find(place: &Place, text: &str) -> Result<Vec<Found>, SecretsError> {
    rewrite::find(text).map_err(|problem| SecretsError::Rewrite {
        location: place.location.to_string(),
        problem,
    })
}

fn finish(
    place: &Place,
    text: &str,
    edits: Vec<(std::ops::Range<usize>, String)>,
) -> Result<String, SecretsError> {
    let out = rewrite::apply(text, edits);
    rewrite::same_but_secrets(text, &out).map_err(|problem| SecretsError::Rewrite {
        location: place.location.to_string(),
        problem,
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::Decrypter;

    #[test]
    fn decrypting_together_keeps_order_and_each_values_error() {
        let dir = tempfile::tempdir().unwrap();
        let keyring = Keyring::new(dir.path());
        let me = keyring.key().unwrap().recipient.clone();
        let stranger = age::x25519::Identity::generate().to_public();
        let payloads: Vec<Vec<u8>> = (0..23)
            .map(|i| match i {
                7 => sealed::seal(b"not mine", std::slice::from_ref(&stranger)).unwrap(),
                15 => b"escsh-age v1\ndamaged".to_vec(),
                i => sealed::seal(format!("value-{i}").as_bytes(), std::slice::from_ref(&me))
                    .unwrap(),
            })
            .collect();
        let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
        let together = keyring.decrypt_all(&refs);
        assert_eq!(together.len(), refs.len());
        for (i, (got, p)) in together.iter().zip(&refs).enumerate() {
            assert_eq!(got, &keyring.decrypt(p), "value {i}");
            match i {
                7 => assert!(got.as_ref().unwrap_err().contains("not encrypted for your")),
                15 => assert!(got.is_err()),
                i => assert_eq!(got.as_deref().unwrap(), format!("value-{i}").as_bytes()),
            }
        }
    }
}
