//! Secrets encrypted at rest in local definitions: every `fn::secret` that
//! escsh saves is written in ESC's ciphertext form, its payload an age file
//! for the definition's recipients (see [`sealed`]). Evaluation decrypts
//! through [`Keyring`], the evaluator's [`crate::lang::Decrypter`].

pub mod identity;
pub mod recipients;
pub mod rewrite;
pub mod sealed;

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
}

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
/// for byte. `None` when there is nothing to encrypt, else the new text
/// and how many secrets were encrypted.
pub fn encrypt(
    keyring: &Keyring,
    place: &Place,
    text: &str,
    revealed: &Revealed,
) -> Result<Option<(String, usize)>, SecretsError> {
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
    for f in plain {
        let Form::Plain(Some(value)) = &f.form else {
            continue;
        };
        let ciphertext = match revealed.kept.get(&(f.path.clone(), value.clone())) {
            Some(c) => c.clone(),
            None => keyring.seal_text(value, &recipients)?,
        };
        edits.push((f.span.clone(), rewrite::ciphertext_node(&ciphertext)));
    }
    let count = edits.len();
    finish(place, text, edits).map(|t| Some((t, count)))
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
