//! A string that must never be printed: passwords as typed.
//!
//! `Debug` and `Display` both print `[redacted]`, so a secret that slips into a log line or an
//! error message reveals nothing. Reading the value takes an explicit [`Secret::expose`].

/// A secret string. No `From<String>`: wrapping is explicit with [`Secret::new`].
#[derive(Clone, Default)]
pub struct Secret {
    value: String,
}

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: String) -> Self {
        Self { value }
    }

    /// The secret value itself; call only where it is needed (hashing, checking a policy).
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_print_redacted() {
        let secret = Secret::new("p@ssw0rd-secret".to_owned());
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(&secret)), "Some([redacted])");
    }

    #[test]
    fn expose_returns_the_value() {
        let secret = Secret::new("p@ssw0rd-secret".to_owned());
        assert_eq!(secret.expose(), "p@ssw0rd-secret");
        assert!(!secret.is_empty());
        assert!(Secret::default().is_empty());
    }
}
