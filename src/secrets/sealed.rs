//! One secret value sealed with age, as the payload of ESC's ciphertext
//! envelope. The payload names its recipients in the clear before the age
//! file, so that a user who cannot decrypt it can be told who can:
//!
//! ```text
//! escsh-age v1\n
//! age1...\n          one line per recipient, in the order of the age stanzas
//! \n
//! <binary age file>
//! ```

use std::io::{Read, Write};

use age::x25519;

use super::unwrap::Unwrapper;

const MAGIC: &str = "escsh-age v1\n";
/// A payload does not name more recipients than this (a corrupt one may
/// claim any number).
const MAX_RECIPIENTS: usize = 1000;

/// A payload taken apart.
pub struct Payload<'a> {
    /// The recipients' public keys as written, in stanza order.
    pub recipients: Vec<&'a str>,
    pub age: &'a [u8],
}

impl<'a> Payload<'a> {
    pub fn parse(payload: &'a [u8]) -> Result<Payload<'a>, String> {
        let rest = payload
            .strip_prefix(MAGIC.as_bytes())
            .ok_or("the payload is not escsh's (it does not start with \"escsh-age v1\")")?;
        let mut recipients = Vec::new();
        let mut at = 0;
        loop {
            let end = rest[at..]
                .iter()
                .position(|&b| b == b'\n')
                .ok_or("the payload is cut short in its list of recipients")?;
            let line = std::str::from_utf8(&rest[at..at + end])
                .map_err(|_| "the payload's list of recipients is not text")?;
            at += end + 1;
            if line.is_empty() {
                break;
            }
            if !line.starts_with("age1") || recipients.len() == MAX_RECIPIENTS {
                return Err("the payload's list of recipients is damaged".into());
            }
            recipients.push(line);
        }
        Ok(Payload {
            recipients,
            age: &rest[at..],
        })
    }
}

/// Encrypts `plain` to `recipients` (at least one).
pub fn seal(plain: &[u8], recipients: &[x25519::Recipient]) -> Result<Vec<u8>, String> {
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| format!("encrypting: {e}"))?;
    let mut out = MAGIC.as_bytes().to_vec();
    for r in recipients {
        out.extend_from_slice(format!("{r}\n").as_bytes());
    }
    out.push(b'\n');
    let mut writer = encryptor
        .wrap_output(&mut out)
        .map_err(|e| format!("encrypting: {e}"))?;
    writer
        .write_all(plain)
        .and_then(|()| writer.finish().map(drop))
        .map_err(|e| format!("encrypting: {e}"))?;
    Ok(out)
}

/// Decrypts a payload with `identity`, whose public key is `me`.
pub fn open(payload: &[u8], identity: &Unwrapper, me: &str) -> Result<Vec<u8>, String> {
    let parsed = Payload::parse(payload)?;
    let Some(mine) = parsed.recipients.iter().position(|r| *r == me) else {
        return Err(not_for_you(&parsed.recipients, me));
    };
    let decryptor = age::Decryptor::new_buffered(parsed.age)
        .map_err(|e| format!("the encrypted value is damaged ({e})"))?;
    let stanza_first = StanzaFirst {
        inner: identity,
        index: mine,
    };
    let mut reader = decryptor
        .decrypt(std::iter::once(&stanza_first as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => not_for_you(&parsed.recipients, me),
            e => format!("the encrypted value is damaged ({e})"),
        })?;
    let mut plain = Vec::new();
    reader
        .read_to_end(&mut plain)
        .map_err(|e| format!("the encrypted value is damaged ({e})"))?;
    Ok(plain)
}

fn not_for_you(recipients: &[&str], me: &str) -> String {
    format!(
        "this secret is not encrypted for your age key {me}; it can be decrypted by {}. \
         Ask one of them to add your key to the `recipients` file and run `escsh env rekey`",
        if recipients.is_empty() {
            "no one".to_string()
        } else {
            recipients.join(", ")
        }
    )
}

/// An identity that tries the stanza its public key was written for first:
/// escsh writes one stanza per recipient in the payload's order, so a value
/// costs one X25519 operation whatever the number of recipients.
struct StanzaFirst<'a> {
    inner: &'a Unwrapper,
    index: usize,
}

impl age::Identity for StanzaFirst<'_> {
    fn unwrap_stanza(
        &self,
        stanza: &age_core::format::Stanza,
    ) -> Option<Result<age_core::format::FileKey, age::DecryptError>> {
        self.inner.unwrap(stanza)
    }

    fn unwrap_stanzas(
        &self,
        stanzas: &[age_core::format::Stanza],
    ) -> Option<Result<age_core::format::FileKey, age::DecryptError>> {
        stanzas
            .get(self.index)
            .and_then(|s| self.inner.unwrap(s))
            .or_else(|| stanzas.iter().find_map(|s| self.inner.unwrap(s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_for_each_recipient_and_names_them() {
        let a = x25519::Identity::generate();
        let b = x25519::Identity::generate();
        let c = x25519::Identity::generate();
        let payload = seal(b"hunter2", &[a.to_public(), b.to_public()]).unwrap();
        for id in [&a, &b] {
            let me = id.to_public().to_string();
            assert_eq!(
                open(&payload, &Unwrapper::new(id), &me).unwrap(),
                b"hunter2"
            );
        }
        let me = c.to_public().to_string();
        let c = Unwrapper::new(&c);
        let err = open(&payload, &c, &me).unwrap_err();
        assert!(err.contains(&a.to_public().to_string()), "{err}");
        assert!(err.contains(&b.to_public().to_string()), "{err}");
        // Claiming to be a listed recipient does not help.
        let claimed = a.to_public().to_string();
        assert!(open(&payload, &c, &claimed).is_err());
    }

    #[test]
    fn damage_is_an_error() {
        let a = x25519::Identity::generate();
        let me = a.to_public().to_string();
        let payload = seal(b"x", &[a.to_public()]).unwrap();
        let a = Unwrapper::new(&a);
        for cut in [0, 5, MAGIC.len() + 10, payload.len() - 1] {
            assert!(open(&payload[..cut], &a, &me).is_err(), "cut at {cut}");
        }
        let mut flipped = payload.clone();
        let last = flipped.len() - 3;
        flipped[last] ^= 0x40;
        assert!(open(&flipped, &a, &me).unwrap_err().contains("damaged"));
    }
}
