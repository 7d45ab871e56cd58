//! ESC's ciphertext envelope, the text of `fn::secret: {ciphertext: ...}`:
//! base64 of "escx", u32be version 1, the decrypter's payload, and a u32be
//! CRC-32 of everything before it. The evaluator opens it; escsh's own
//! encryption writes it.

use base64::Engine;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const MAGIC: &[u8; 4] = b"escx";
const VERSION: u32 = 1;

/// The payload of `ciphertext`, or ESC's wording of what is wrong with it
/// (`invalid ciphertext: ...`).
pub fn open(ciphertext: &str) -> Result<Vec<u8>, String> {
    let bytes = B64
        .decode(ciphertext.as_bytes())
        .map_err(|e| format!("invalid ciphertext: {}", base64_error(&e)))?;
    if bytes.len() < 16 {
        return Err("invalid ciphertext: EOF".into());
    }
    if &bytes[..4] != MAGIC {
        return Err("invalid ciphertext: invalid header".into());
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    if crc32fast::hash(body).to_be_bytes() != crc {
        return Err("invalid ciphertext: invalid checksum".into());
    }
    if body[4..8] != VERSION.to_be_bytes() {
        return Err("invalid ciphertext: unsupported version".into());
    }
    Ok(body[8..].to_vec())
}

/// The envelope text around `payload`.
pub fn seal(payload: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(payload.len() + 12);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&VERSION.to_be_bytes());
    bytes.extend_from_slice(payload);
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_be_bytes());
    B64.encode(bytes)
}

/// Go's wording for base64 errors.
pub(super) fn base64_error(e: &base64::DecodeError) -> String {
    match e {
        base64::DecodeError::InvalidByte(at, _) | base64::DecodeError::InvalidLastSymbol(at, _) => {
            format!("illegal base64 data at input byte {at}")
        }
        _ => "illegal base64 data at end of input".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let text = seal(b"payload bytes");
        assert_eq!(open(&text).unwrap(), b"payload bytes");
        let mut bytes = B64.decode(&text).unwrap();
        bytes[9] ^= 1;
        assert_eq!(
            open(&B64.encode(&bytes)).unwrap_err(),
            "invalid ciphertext: invalid checksum"
        );
        assert!(open("!!").unwrap_err().contains("illegal base64"));
    }
}
