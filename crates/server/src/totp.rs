//! Time-based one-time passwords for staff (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps),
//! and the encryption of TOTP secrets at rest under the server secret.
//!
//! A TOTP secret must be readable to verify codes, so it cannot be hashed like the other
//! secrets. It is sealed ([`crate::seal`]) with the staff member's login ID as associated data,
//! so a sealed secret copied onto another staff row does not open. The store knows which row a
//! value belongs to, so it finishes the seal ([`Sealing::for_login`]) and hands a row's secret
//! back with its login ID attached ([`SealedTotp`]): no caller can bind it to the wrong member.
//! Values written before sealing (`nonce:ciphertext`, an HMAC-SHA-256 keystream) still open.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::seal::Sealer;
use crate::tokens::{Keys, RandomnessUnavailable};

/// The sealing purpose of TOTP secrets.
const SEAL_LABEL: &str = "totp secret v1";

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

    /// The secret, ready to be sealed for the staff row the store writes it to.
    pub fn seal(&self, keys: &Keys) -> Result<Sealing, RandomnessUnavailable> {
        Ok(Sealing { secret: self.clone(), sealer: keys.sealer(SEAL_LABEL) })
    }

    /// The secret of a staff row, or `None` when it does not open (another row's secret, another
    /// server secret, or altered).
    pub fn open(stored: &SealedTotp, keys: &Keys) -> Option<Self> {
        if Sealer::is_sealed(&stored.text) {
            let bytes = keys.sealer(SEAL_LABEL).open(stored.login_id.as_bytes(), &stored.text)?;
            return Some(Self(bytes.try_into().ok()?));
        }
        Self::open_unbound(&stored.text, keys)
    }

    /// The format before sealing: the secret XOR an HMAC-SHA-256 keystream, not bound to a row.
    fn open_unbound(stored: &str, keys: &Keys) -> Option<Self> {
        let (nonce, sealed) = stored.split_once(':')?;
        let nonce = URL_SAFE_NO_PAD.decode(nonce).ok()?;
        let sealed = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        let stream = keys.derive(b"totp-secret", &nonce);
        let bytes: Vec<u8> = sealed.iter().zip(stream).map(|(a, b)| a ^ b).collect();
        Some(Self(bytes.try_into().ok()?))
    }
}

/// A TOTP secret on its way into a staff row; the store seals it for that row's login ID.
#[derive(Debug)]
pub struct Sealing {
    secret: TotpSecret,
    sealer: Sealer,
}

impl Sealing {
    /// The stored text for the staff member `login_id` (a fresh nonce each call).
    pub fn for_login(&self, login_id: &str) -> Result<String, RandomnessUnavailable> {
        self.sealer.seal(login_id.as_bytes(), &self.secret.0)
    }
}

/// A staff row's stored TOTP secret together with the login ID it is bound to.
#[derive(Debug, Clone)]
pub struct SealedTotp {
    pub text: String,
    pub login_id: String,
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

    fn stored(text: String, login_id: &str) -> SealedTotp {
        SealedTotp { text, login_id: login_id.to_owned() }
    }

    #[test]
    fn a_sealed_secret_opens_for_its_staff_member_with_the_same_server_secret() {
        let keys = Keys::from_secret("server-secret-that-is-long-enough-0001");
        let secret = TotpSecret::generate().unwrap();
        let text = secret.seal(&keys).unwrap().for_login("tanaka").unwrap();
        assert!(!text.contains(&secret.base32()));
        assert_eq!(TotpSecret::open(&stored(text, "tanaka"), &keys).unwrap().base32(), secret.base32());
        assert!(secret.otpauth_url("求職者マイページ", "admin").starts_with("otpauth://totp/%E6%B1%82"));
    }

    #[test]
    fn a_sealed_secret_does_not_open_for_another_member_server_secret_or_after_tampering() {
        let keys = Keys::from_secret("server-secret-that-is-long-enough-0001");
        let other = Keys::from_secret("server-secret-that-is-long-enough-0002");
        let text = TotpSecret::generate().unwrap().seal(&keys).unwrap().for_login("tanaka").unwrap();
        assert!(TotpSecret::open(&stored(text.clone(), "suzuki"), &keys).is_none(), "copied to another row");
        assert!(TotpSecret::open(&stored(text.clone(), "tanaka"), &other).is_none());
        let mid = text.len() / 2;
        let flipped = if &text[mid..=mid] == "A" { "B" } else { "A" };
        let tampered = format!("{}{flipped}{}", &text[..mid], &text[mid + 1..]);
        assert!(TotpSecret::open(&stored(tampered, "tanaka"), &keys).is_none());
    }

    #[test]
    fn a_secret_stored_before_sealing_still_opens() {
        let keys = Keys::from_secret("server-secret-that-is-long-enough-0001");
        let secret = TotpSecret::generate().unwrap();
        let nonce = [7u8; 16];
        let stream = keys.derive(b"totp-secret", &nonce);
        let old: Vec<u8> = secret.0.iter().zip(stream).map(|(a, b)| a ^ b).collect();
        let text = format!("{}:{}", URL_SAFE_NO_PAD.encode(nonce), URL_SAFE_NO_PAD.encode(old));
        assert_eq!(TotpSecret::open(&stored(text, "tanaka"), &keys).unwrap().base32(), secret.base32());
    }
}
