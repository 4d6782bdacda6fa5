//! Six-digit codes: the auth key (認証キー) and the one-time password (ワンタイムパスワード).
//!
//! Both are secrets: `Debug` is redacted and there is no `Display`; mail rendering reads
//! [`SixDigitCode::as_str`] explicitly.

use crate::text::{is_hyphen_like, normalize};

/// Digits in a code.
pub const LEN: usize = 6;
/// Raw input longer than this is refused before normalization, to bound the work done.
const MAX_INPUT_CHARS: usize = 64;

/// Why an entered six-digit code was refused (before any lookup).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SixDigitCodeError {
    /// Nothing (or only spaces) was entered.
    #[error("code is empty")]
    Empty,
    /// Not exactly six digits.
    #[error("code must be 6 digits")]
    Malformed,
}

/// Exactly six ASCII digits, leading zeros kept (`012345`).
#[derive(Clone, PartialEq, Eq)]
pub struct SixDigitCode {
    digits: String,
}

impl SixDigitCode {
    /// Parses a typed code: normalized (full-width digits are fine), spaces and hyphens
    /// (and look-alikes) dropped, then exactly six ASCII digits.
    pub fn parse(input: &str) -> Result<Self, SixDigitCodeError> {
        if input.chars().count() > MAX_INPUT_CHARS {
            return Err(SixDigitCodeError::Malformed);
        }
        let digits: String =
            normalize(input).chars().filter(|c| !(c.is_whitespace() || *c == '-' || is_hyphen_like(*c))).collect();
        if digits.is_empty() {
            return Err(SixDigitCodeError::Empty);
        }
        if digits.len() != LEN || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SixDigitCodeError::Malformed);
        }
        Ok(Self { digits })
    }

    /// Makes a code from a number below 1 000 000 (from a CSPRNG, supplied by the caller),
    /// zero-padded to six digits; `None` for larger numbers.
    pub fn from_number(n: u32) -> Option<Self> {
        (n < 1_000_000).then(|| Self { digits: format!("{n:06}") })
    }

    /// The six digits, e.g. `012345`.
    pub fn as_str(&self) -> &str {
        &self.digits
    }
}

impl std::fmt::Debug for SixDigitCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SixDigitCode([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_six_digits_typed_in_any_width_or_grouping() {
        let cases = [
            ("012345", "012345"),
            ("０１２３４５", "012345"),
            (" 012 345 ", "012345"),
            ("012-345", "012345"),
            ("012ー345", "012345"),
            ("012\u{3000}345", "012345"),
            ("000000", "000000"),
        ];
        for (input, expected) in cases {
            let code = SixDigitCode::parse(input);
            assert_eq!(code.as_ref().map(SixDigitCode::as_str), Ok(expected), "input {input:?}");
        }
    }

    #[test]
    fn refuses_empty_and_malformed_codes() {
        use SixDigitCodeError::*;
        let cases = [
            ("", Empty),
            ("\u{3000}", Empty),
            ("- -", Empty),
            ("12345", Malformed),
            ("1234567", Malformed),
            ("12345a", Malformed),
            ("12_345", Malformed),
            ("١٢٣٤٥٦", Malformed),
        ];
        for (input, expected) in cases {
            assert_eq!(SixDigitCode::parse(input), Err(expected), "input {input:?}");
        }
        assert_eq!(SixDigitCode::parse(&"1".repeat(65)), Err(Malformed));
    }

    #[test]
    fn makes_zero_padded_codes_from_numbers_below_a_million() {
        let as_str = |n| SixDigitCode::from_number(n).map(|c| c.as_str().to_owned());
        assert_eq!(as_str(0).as_deref(), Some("000000"));
        assert_eq!(as_str(42).as_deref(), Some("000042"));
        assert_eq!(as_str(999_999).as_deref(), Some("999999"));
        assert_eq!(as_str(1_000_000), None);
        assert_eq!(as_str(u32::MAX), None);
    }

    #[test]
    fn debug_output_never_shows_the_code() {
        let code = SixDigitCode::parse("123456").unwrap();
        let debug = format!("{code:?}");
        assert!(!debug.contains("123456"));
        assert!(debug.contains("redacted"));
    }
}
