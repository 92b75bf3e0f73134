//! Encryption at rest for secrets (camera passwords, access-key secrets): AES-256-GCM under the
//! server master key. Stored form: `v1:` + base64(nonce ‖ ciphertext‖tag).

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as URL_B64};
use base64::Engine;
use rand::RngCore;

/// What values sealed by [`SecretBox::seal_compact`] start with.
pub const COMPACT_PREFIX: &str = "s1.";

#[derive(Debug, thiserror::Error)]
pub enum SecretBoxError {
    #[error("master key must be 32 bytes (64 hex characters), got {0} bytes")]
    BadKeyLength(usize),
    #[error("master key is not valid hex")]
    BadKeyHex,
    #[error("stored secret is malformed or was encrypted with another master key")]
    Undecryptable,
}

#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    pub fn new(key: &[u8]) -> Result<Self, SecretBoxError> {
        if key.len() != 32 {
            return Err(SecretBoxError::BadKeyLength(key.len()));
        }
        let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| SecretBoxError::BadKeyLength(key.len()))?;
        Ok(Self { cipher })
    }

    /// Parses a key written as 64 hex characters (the master key file and `VIGIL_MASTER_KEY`).
    pub fn from_hex(hex_key: &str) -> Result<Self, SecretBoxError> {
        let s = hex_key.trim();
        if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SecretBoxError::BadKeyHex);
        }
        let bytes: Vec<u8> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| SecretBoxError::BadKeyHex))
            .collect::<Result<_, _>>()?;
        Self::new(&bytes)
    }

    /// A fresh random key as 64 hex characters.
    pub fn generate_hex_key() -> String {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        key.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn seal(&self, plaintext: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        // Encryption with a valid key and a 12-byte nonce cannot fail.
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("v1:{}", B64.encode(out))
    }

    /// Like [`SecretBox::seal`], in a form that may stand inside a URL's user-info, a header
    /// value or XML text unescaped: `s1.` + base64url without padding.
    pub fn seal_compact(&self, plaintext: &str) -> String {
        let sealed = self.seal(plaintext);
        // `seal` always yields `v1:` + standard base64; re-encode its bytes URL-safe.
        let raw = B64.decode(&sealed[3..]).unwrap_or_default();
        format!("{COMPACT_PREFIX}{}", URL_B64.encode(raw))
    }

    /// Opens a value made by [`SecretBox::seal_compact`]; `None` for anything else (a plain
    /// value that merely starts like one fails the authentication tag).
    pub fn open_compact(&self, sealed: &str) -> Option<String> {
        let raw = URL_B64.decode(sealed.strip_prefix(COMPACT_PREFIX)?).ok()?;
        self.open(&format!("v1:{}", B64.encode(raw))).ok()
    }

    pub fn open(&self, sealed: &str) -> Result<String, SecretBoxError> {
        let b = sealed.strip_prefix("v1:").ok_or(SecretBoxError::Undecryptable)?;
        let raw = B64.decode(b).map_err(|_| SecretBoxError::Undecryptable)?;
        if raw.len() < 12 + 16 {
            return Err(SecretBoxError::Undecryptable);
        }
        let (nonce, ct) = raw.split_at(12);
        let pt = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| SecretBoxError::Undecryptable)?;
        String::from_utf8(pt).map_err(|_| SecretBoxError::Undecryptable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_key() {
        let k = SecretBox::generate_hex_key();
        let b = SecretBox::from_hex(&k).unwrap();
        let sealed = b.seal("camera-pass");
        assert!(!sealed.contains("camera-pass"));
        assert_eq!(b.open(&sealed).unwrap(), "camera-pass");
        let other = SecretBox::from_hex(&SecretBox::generate_hex_key()).unwrap();
        assert!(other.open(&sealed).is_err());
        assert!(b.open("garbage").is_err());
        assert!(SecretBox::from_hex("abc").is_err());
        let compact = b.seal_compact("p@ss:word");
        assert!(compact.starts_with(COMPACT_PREFIX));
        assert!(compact[3..]
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_eq!(b.open_compact(&compact).as_deref(), Some("p@ss:word"));
        assert_eq!(other.open_compact(&compact), None);
        assert_eq!(b.open_compact("s1.notsealed"), None);
    }
}
