//! Secrets the service makes: random tokens, codes and keys from the operating system's CSPRNG,
//! and keyed hashes (HMAC-SHA-256 with the server secret) that are all the database ever stores
//! of them. Comparison is constant-time.

use std::io::Write as _;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use mypage_domain::account_code::AccountCode;
use mypage_domain::six_digits::SixDigitCode;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Fills `buf` from the OS CSPRNG. Failing to get randomness is not recoverable for a security
/// service, so callers get an error to turn into a 500 rather than weaker randomness.
pub(crate) fn fill(buf: &mut [u8]) -> Result<(), RandomnessUnavailable> {
    getrandom::fill(buf).map_err(|_| RandomnessUnavailable)
}

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator is unavailable")]
pub struct RandomnessUnavailable;

/// 32 random bytes, base64url: session IDs, remembered-browser tokens, CSRF tokens.
pub fn random_token() -> Result<String, RandomnessUnavailable> {
    let mut bytes = [0u8; 32];
    fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A fresh account creation code (50 bits).
pub fn random_account_code() -> Result<AccountCode, RandomnessUnavailable> {
    let mut bytes = [0u8; 10];
    fill(&mut bytes)?;
    Ok(AccountCode::from_random_bytes(&bytes))
}

/// A fresh six-digit auth key or one-time password, uniform over 000000..=999999.
pub fn random_six_digits() -> Result<SixDigitCode, RandomnessUnavailable> {
    // Rejection sampling keeps the distribution uniform: 4_294_000_000 is a multiple of 10^6.
    loop {
        let mut bytes = [0u8; 4];
        fill(&mut bytes)?;
        let n = u32::from_le_bytes(bytes);
        if n < 4_294_000_000
            && let Some(code) = SixDigitCode::from_number(n % 1_000_000)
        {
            return Ok(code);
        }
    }
}

/// What a keyed hash is for; part of the MAC input so a hash of one kind never matches another.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    AccountCode,
    AuthKey,
    Session,
    OneTimePassword,
    RememberedBrowser,
    /// A WebAuthn ceremony's ID, and the session or pre-session it is bound to.
    Ceremony,
    CeremonyBinding,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Self::AccountCode => b"account-code",
            Self::AuthKey => b"auth-key",
            Self::Session => b"session",
            Self::OneTimePassword => b"otp",
            Self::RememberedBrowser => b"remembered-browser",
            Self::Ceremony => b"webauthn-ceremony",
            Self::CeremonyBinding => b"webauthn-binding",
        }
    }
}

/// The server secret. Debug never shows it.
#[derive(Clone)]
pub struct Keys {
    mac_key: Vec<u8>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys([redacted])")
    }
}

impl Keys {
    pub fn from_secret(secret: &str) -> Self {
        Self { mac_key: secret.as_bytes().to_vec() }
    }

    /// Reads `DIR/secret.key`, creating it (mode 0600, 32 random bytes) on first start.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join("secret.key");
        match std::fs::read_to_string(&path) {
            Ok(text) if text.trim().len() >= 32 => {
                if crate::private_fs::readable_by_others(&path) {
                    tracing::warn!(file = %path.display(), "the server secret is readable by other users; run chmod 600 on it");
                }
                return Ok(Self::from_secret(text.trim()));
            }
            Ok(_) => anyhow::bail!("{} is too short; delete it to generate a new one", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
        }
        crate::private_fs::create_dir(data_dir)?;
        let secret = random_token()?;
        let mut file = crate::private_fs::file_options().write(true).create_new(true).open(&path)?;
        file.write_all(secret.as_bytes())?;
        file.sync_all()?;
        Ok(Self::from_secret(&secret))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.mac_key).unwrap_or_else(|_| unreachable!())
    }

    /// The keyed hash stored in place of a secret value, hex-encoded.
    pub fn hash(&self, purpose: Purpose, value: &str) -> String {
        let mut mac = self.mac();
        mac.update(purpose.label());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A key derived for `label` and `context` (HMAC-SHA-256 under the server secret).
    pub fn derive(&self, label: &[u8], context: &[u8]) -> Vec<u8> {
        let mut mac = self.mac();
        mac.update(label);
        mac.update(&[0]);
        mac.update(context);
        mac.finalize().into_bytes().to_vec()
    }

    /// The sealer for one purpose (`label`), under a key of its own derived from the secret, so
    /// keys for mail bodies, TOTP secrets and keyed hashes never coincide.
    pub fn sealer(&self, label: &str) -> crate::seal::Sealer {
        let mut key = [0u8; 32];
        key.copy_from_slice(&self.derive(b"sealing key", label.as_bytes()));
        crate::seal::Sealer::new(&key)
    }

    /// Identifies the secret without revealing it: HMAC(secret, label), hex. Nodes compare it
    /// through the database to find out that they were given different secrets.
    pub fn fingerprint(&self) -> String {
        let mut mac = self.mac();
        mac.update(b"mypage secret fingerprint v1");
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether `value` hashes to `stored`, in constant time.
    pub fn verify(&self, purpose: Purpose, value: &str, stored: &str) -> bool {
        self.hash(purpose, value).as_bytes().ct_eq(stored.as_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_differ_by_purpose_and_key() {
        let a = Keys::from_secret("a-secret-that-is-long-enough-000000");
        let b = Keys::from_secret("b-secret-that-is-long-enough-000000");
        assert_ne!(a.hash(Purpose::AuthKey, "123456"), a.hash(Purpose::OneTimePassword, "123456"));
        assert_ne!(a.hash(Purpose::AuthKey, "123456"), b.hash(Purpose::AuthKey, "123456"));
        assert!(a.verify(Purpose::AuthKey, "123456", &a.hash(Purpose::AuthKey, "123456")));
        assert!(!a.verify(Purpose::AuthKey, "123457", &a.hash(Purpose::AuthKey, "123456")));
    }

    #[test]
    fn the_fingerprint_tells_secrets_apart_without_showing_them() {
        let secret = "a-secret-that-is-long-enough-000000";
        let a = Keys::from_secret(secret);
        assert_eq!(a.fingerprint(), Keys::from_secret(secret).fingerprint());
        assert_ne!(a.fingerprint(), Keys::from_secret("b-secret-that-is-long-enough-000000").fingerprint());
        assert_eq!(a.fingerprint().len(), 64);
        assert!(!a.fingerprint().contains(&URL_SAFE_NO_PAD.encode(secret)));
    }

    #[test]
    fn random_values_have_the_promised_shape() {
        let token = random_token().unwrap();
        assert_eq!(token.len(), 43);
        assert_ne!(token, random_token().unwrap());
        assert_eq!(random_six_digits().unwrap().as_str().len(), 6);
        assert_eq!(random_account_code().unwrap().as_str().len(), 10);
    }

    #[test]
    fn the_secret_file_is_created_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("mypage-keys-{}", random_token().unwrap()));
        let first = Keys::load_or_create(&dir).unwrap();
        let second = Keys::load_or_create(&dir).unwrap();
        assert_eq!(first.hash(Purpose::Session, "x"), second.hash(Purpose::Session, "x"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("secret.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
