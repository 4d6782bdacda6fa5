//! Authenticated encryption at rest for values the service must read back in clear: outbox mail
//! bodies (they carry auth keys and one-time passwords) and staff TOTP secrets.
//!
//! XChaCha20-Poly1305 under a key derived from the server secret for one purpose
//! ([`crate::tokens::Keys::sealer`]), a random 192-bit nonce per value (large enough that random
//! nonces never repeat), and associated data naming the row the value belongs to, so a sealed
//! value copied to another row does not open. Stored as text: `s1.` + base64url(nonce ‖ ciphertext).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::tokens::RandomnessUnavailable;

/// Marks the format, so a reader can tell sealed values from older ones.
const PREFIX: &str = "s1.";
const NONCE_LEN: usize = 24;

/// Seals and opens values for one purpose. Debug never shows the key.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

impl Sealer {
    pub fn new(key: &[u8; 32]) -> Self {
        Self { cipher: XChaCha20Poly1305::new(key.into()) }
    }

    /// `plaintext` sealed, bound to `aad` (which is not stored: the reader supplies it again).
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<String, RandomnessUnavailable> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| RandomnessUnavailable)?;
        let sealed = self
            .cipher
            .encrypt(&XNonce::from(nonce), Payload { msg: plaintext, aad })
            // Encryption only fails for messages beyond 256 GiB.
            .unwrap_or_else(|_| unreachable!());
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The plaintext, or `None` when `stored` is not a sealed value, was altered, was sealed
    /// under another key, or belongs to other associated data.
    pub fn open(&self, aad: &[u8], stored: &str) -> Option<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD.decode(stored.strip_prefix(PREFIX)?).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).ok()?;
        self.cipher.decrypt(&nonce, Payload { msg: sealed, aad }).ok()
    }

    /// Whether `stored` is in the sealed format (whether or not it opens).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(byte: u8) -> Sealer {
        Sealer::new(&[byte; 32])
    }

    #[test]
    fn a_sealed_value_opens_with_the_same_key_and_associated_data() {
        let sealed = sealer(1).seal(b"row 7", "認証キー 123456".as_bytes()).unwrap();
        assert!(Sealer::is_sealed(&sealed));
        assert!(!sealed.contains("123456"));
        assert_eq!(sealer(1).open(b"row 7", &sealed).unwrap(), "認証キー 123456".as_bytes());
        assert_ne!(sealed, sealer(1).seal(b"row 7", "認証キー 123456".as_bytes()).unwrap(), "fresh nonce each time");
    }

    #[test]
    fn other_associated_data_another_key_or_a_changed_byte_do_not_open() {
        let sealed = sealer(1).seal(b"row 7", b"123456").unwrap();
        assert_eq!(sealer(1).open(b"row 8", &sealed), None);
        assert_eq!(sealer(2).open(b"row 7", &sealed), None);
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed[PREFIX.len()..]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(sealer(1).open(b"row 7", &tampered), None);
        assert_eq!(sealer(1).open(b"row 7", "123456"), None);
        assert_eq!(sealer(1).open(b"row 7", "s1.AAAA"), None);
    }
}
