//! Time-based one-time passwords for staff (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps),
//! and the encryption of TOTP secrets at rest under the server secret.
//!
//! A TOTP secret must be readable to verify codes, so it cannot be hashed like the other
//! secrets. It is stored as `nonce:ciphertext`, the ciphertext being the secret XOR an
//! HMAC-SHA-256 keystream derived from the server secret and a random per-secret nonce.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::tokens::{Keys, RandomnessUnavailable};

pub const STEP_SECONDS: i64 = 30;
/// Codes of the previous and next step are accepted too (clock drift of phones).
pub const SKEW: i64 = 1;
const SECRET_LEN: usize = 20;

/// A TOTP secret in clear (only in memory). Debug never shows it.
#[derive(Clone)]
pub struct TotpSecret([u8; SECRET_LEN]);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret([redacted])")
    }
}

impl TotpSecret {
    pub fn generate() -> Result<Self, RandomnessUnavailable> {
        let mut bytes = [0u8; SECRET_LEN];
        getrandom::fill(&mut bytes).map_err(|_| RandomnessUnavailable)?;
        Ok(Self(bytes))
    }

    /// Reads the base32 secret of an otpauth URL (what an authenticator app does).
    pub fn from_base32(text: &str) -> Option<Self> {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let (mut buffer, mut bits, mut out) = (0u32, 0u32, Vec::new());
        for c in text.bytes().filter(|b| *b != b'=') {
            let value = ALPHABET.iter().position(|a| *a == c.to_ascii_uppercase())?;
            buffer = (buffer << 5) | u32::try_from(value).ok()?;
            bits += 5;
            if bits >= 8 {
                out.push(u8::try_from((buffer >> (bits - 8)) & 0xff).ok()?);
                bits -= 8;
            }
        }
        Some(Self(out.try_into().ok()?))
    }

    /// RFC 4648 base32 without padding, as authenticator apps expect.
    pub fn base32(&self) -> String {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut out = String::new();
        let (mut buffer, mut bits) = (0u32, 0u32);
        for byte in self.0 {
            buffer = (buffer << 8) | u32::from(byte);
            bits += 8;
            while bits >= 5 {
                out.push(char::from(ALPHABET[((buffer >> (bits - 5)) & 31) as usize]));
                bits -= 5;
            }
        }
        if bits > 0 {
            out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
        }
        out
    }

    /// The `otpauth://` URL an authenticator app enrolls from.
    pub fn otpauth_url(&self, issuer: &str, account: &str) -> String {
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
            percent(issuer),
            percent(account),
            self.base32(),
            percent(issuer)
        )
    }

    /// The code for time-step `step`.
    pub fn code_at(&self, step: i64) -> String {
        let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        mac.update(&step.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let offset = usize::from(digest[digest.len() - 1] & 0x0f);
        let slice = [digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]];
        format!("{:06}", u32::from_be_bytes(slice) % 1_000_000)
    }

    /// The step at which `code` is valid around `now`, if any, newer than `last_used_step`
    /// (a used step cannot be replayed).
    pub fn verify(&self, code: &str, now: jiff::Timestamp, last_used_step: i64) -> Option<i64> {
        let current = now.as_second().div_euclid(STEP_SECONDS);
        (current - SKEW..=current + SKEW)
            .filter(|step| *step > last_used_step)
            .find(|step| bool::from(self.code_at(*step).as_bytes().ct_eq(code.as_bytes())))
    }

    fn keystream(keys: &Keys, nonce: &[u8]) -> [u8; 32] {
        let digest = keys.derive(b"totp-secret", nonce);
        let mut out = [0u8; 32];
        out.copy_from_slice(&digest[..32]);
        out
    }

    /// `nonce:ciphertext`, base64url.
    pub fn seal(&self, keys: &Keys) -> Result<String, RandomnessUnavailable> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|_| RandomnessUnavailable)?;
        let stream = Self::keystream(keys, &nonce);
        let sealed: Vec<u8> = self.0.iter().zip(stream).map(|(a, b)| a ^ b).collect();
        Ok(format!("{}:{}", URL_SAFE_NO_PAD.encode(nonce), URL_SAFE_NO_PAD.encode(sealed)))
    }

    pub fn open(stored: &str, keys: &Keys) -> Option<Self> {
        let (nonce, sealed) = stored.split_once(':')?;
        let nonce = URL_SAFE_NO_PAD.decode(nonce).ok()?;
        let sealed = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        let stream = Self::keystream(keys, &nonce);
        let bytes: Vec<u8> = sealed.iter().zip(stream).map(|(a, b)| a ^ b).collect();
        Some(Self(bytes.try_into().ok()?))
    }
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_rfc_6238_sha1_test_vector() {
        // RFC 6238 appendix B: secret "12345678901234567890", T = 59 s → 94287082 (8 digits).
        let secret = TotpSecret(*b"12345678901234567890");
        assert_eq!(secret.code_at(1), "287082");
        assert_eq!(secret.code_at(37_037_036), "081804");
        assert_eq!(secret.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(TotpSecret::from_base32(&secret.base32()).unwrap().code_at(1), "287082");
    }

    #[test]
    fn a_used_step_cannot_be_replayed_and_drift_of_one_step_is_accepted() {
        let secret = TotpSecret::generate().unwrap();
        let now: jiff::Timestamp = "2026-11-25T01:00:10Z".parse().unwrap();
        let step = now.as_second() / 30;
        let code = secret.code_at(step);
        assert_eq!(secret.verify(&code, now, 0), Some(step));
        assert_eq!(secret.verify(&code, now, step), None, "replay refused");
        assert_eq!(secret.verify(&secret.code_at(step - 1), now, 0), Some(step - 1));
        assert_eq!(secret.verify(&secret.code_at(step - 2), now, 0), None);
    }

    #[test]
    fn sealed_secrets_open_only_with_the_same_server_secret() {
        let keys = Keys::from_secret("server-secret-that-is-long-enough-0001");
        let other = Keys::from_secret("server-secret-that-is-long-enough-0002");
        let secret = TotpSecret::generate().unwrap();
        let sealed = secret.seal(&keys).unwrap();
        assert!(!sealed.contains(&secret.base32()));
        assert_eq!(TotpSecret::open(&sealed, &keys).unwrap().base32(), secret.base32());
        assert_ne!(TotpSecret::open(&sealed, &other).unwrap().base32(), secret.base32());
        assert!(secret.otpauth_url("求職者マイページ", "admin").starts_with("otpauth://totp/%E6%B1%82"));
    }
}
