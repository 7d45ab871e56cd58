//! age's X25519 stanza unwrap (c2sp.org/age, "X25519 recipient stanza"),
//! with the identity's public key computed once instead of for every
//! stanza as the age crate does: a base-point multiplication is a fifth of
//! what decrypting one value costs, and escsh decrypts a value per secret.
//! Anything but a well-formed X25519 stanza goes to the age crate, and the
//! file key found here is checked by age against the header's MAC, so a
//! mistake here can only fail a decryption, never accept a forged one.

use age::x25519;
use age_core::format::{FileKey, Stanza};
use age_core::secrecy::ExposeSecret;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::ChaCha20Poly1305;
use x25519_dalek::{PublicKey, StaticSecret};

const TAG: &str = "X25519";
const LABEL: &[u8] = b"age-encryption.org/v1/X25519";
/// A wrapped file key: 16 bytes and a 16-byte tag.
const WRAPPED: usize = 32;

/// An age X25519 identity, ready to unwrap many stanzas.
#[derive(Clone)]
pub struct Unwrapper {
    age: x25519::Identity,
    secret: StaticSecret,
    public: [u8; 32],
}

impl Unwrapper {
    pub fn new(identity: &x25519::Identity) -> Unwrapper {
        let encoded = identity.to_string();
        let secret = bech32::decode(encoded.expose_secret())
            .ok()
            .and_then(|(_, data, _)| bech32::FromBase32::from_base32(&data).ok())
            .and_then(|bytes: Vec<u8>| <[u8; 32]>::try_from(bytes.as_slice()).ok())
            .map(StaticSecret::from)
            // age printed it: it decodes. Were it not to, the result could
            // unwrap nothing and every stanza would go to age.
            .unwrap_or_else(|| StaticSecret::from([0; 32]));
        let public = PublicKey::from(&secret).to_bytes();
        Unwrapper {
            age: identity.clone(),
            secret,
            public,
        }
    }

    /// The file key in `stanza` if it is for this identity (`None` if not);
    /// a malformed stanza gets age's own answer.
    pub fn unwrap(&self, stanza: &Stanza) -> Option<Result<FileKey, age::DecryptError>> {
        match self.fast(stanza) {
            Fast::Key(key) => Some(Ok(key)),
            Fast::NotMine => None,
            Fast::Unusual => age::Identity::unwrap_stanza(&self.age, stanza),
        }
    }

    fn fast(&self, stanza: &Stanza) -> Fast {
        const B64: base64::engine::GeneralPurpose =
            base64::engine::general_purpose::STANDARD_NO_PAD;
        let ([arg], TAG, WRAPPED) = (&stanza.args[..], stanza.tag.as_str(), stanza.body.len())
        else {
            return Fast::Unusual;
        };
        let Some(epk) = B64
            .decode(arg)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        else {
            return Fast::Unusual;
        };
        let shared = self.secret.diffie_hellman(&PublicKey::from(epk));
        if !shared.was_contributory() {
            return Fast::Unusual;
        }
        let mut salt = [0; 64];
        salt[..32].copy_from_slice(&epk);
        salt[32..].copy_from_slice(&self.public);
        let mut wrap_key = [0; 32];
        if hkdf::Hkdf::<sha2::Sha256>::new(Some(&salt), shared.as_bytes())
            .expand(LABEL, &mut wrap_key)
            .is_err()
        {
            return Fast::Unusual;
        }
        let aead = ChaCha20Poly1305::new(&wrap_key.into());
        match aead.decrypt(&[0; 12].into(), stanza.body.as_slice()) {
            Ok(plain) => match <[u8; 16]>::try_from(plain.as_slice()) {
                Ok(key) => Fast::Key(FileKey::new(Box::new(key))),
                Err(_) => Fast::Unusual,
            },
            Err(_) => Fast::NotMine,
        }
    }
}

enum Fast {
    Key(FileKey),
    NotMine,
    Unusual,
}

#[cfg(test)]
mod tests {
    use super::super::sealed::{seal, Payload};
    use super::*;

    fn stanzas(file: &[u8]) -> Vec<Stanza> {
        // The header lines between the version line and the MAC line.
        let text = String::from_utf8_lossy(file);
        let header = &text[..text.find("\n---").unwrap()];
        let mut out = Vec::new();
        let mut lines = header.lines().skip(1).peekable();
        while let Some(line) = lines.next() {
            let mut words = line.trim_start_matches("-> ").split(' ');
            let tag = words.next().unwrap().to_string();
            let args = words.map(str::to_string).collect();
            let mut body = String::new();
            while lines.peek().is_some_and(|l| !l.starts_with("-> ")) {
                let l = lines.next().unwrap();
                body.push_str(l);
                if l.len() < 64 {
                    break;
                }
            }
            let body = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(body)
                .unwrap_or_default();
            out.push(Stanza { tag, args, body });
        }
        out
    }

    #[test]
    fn unwraps_as_age_does() {
        use age::Identity;
        let mine = x25519::Identity::generate();
        let theirs = x25519::Identity::generate();
        let unwrapper = Unwrapper::new(&mine);
        for _ in 0..20 {
            let payload = seal(b"v", &[mine.to_public(), theirs.to_public()]).unwrap();
            let found = stanzas(Payload::parse(&payload).unwrap().age);
            assert_eq!(found.len(), 3, "two recipients and age's grease");
            let ours = unwrapper.unwrap(&found[0]).unwrap().unwrap();
            let age_s = mine.unwrap_stanza(&found[0]).unwrap().unwrap();
            assert_eq!(ours.expose_secret(), age_s.expose_secret());
            assert!(unwrapper.unwrap(&found[1]).is_none(), "their stanza");
            assert!(
                unwrapper.unwrap(&found[2]).is_none(),
                "grease goes to age, which ignores it"
            );
        }
        // A damaged epk is malformed to age too.
        let payload = seal(b"v", &[mine.to_public()]).unwrap();
        let mut bad = stanzas(Payload::parse(&payload).unwrap().age).remove(0);
        bad.args[0].push('A');
        assert!(matches!(unwrapper.unwrap(&bad), Some(Err(_))));
    }
}
