//! The account creation code (アカウント作成コード) printed on the slip the counter hands out.
//!
//! Ten characters from a 32-character alphabet without look-alikes (no `0`, `O`, `1`, `I`):
//! 50 bits, above the 40 bits the spec requires. Entry is case-insensitive, and spaces and
//! separators are ignored, so `abcde-fghjk`, `ＡＢＣＤＥ ＦＧＨＪＫ` and `ABCDEFGHJK` are one code.
//! The code is a secret: its `Debug` is redacted and it has no `Display`.

use crate::text::{is_hyphen_like, normalize};

/// The characters a code is made of: digits 2–9 and letters A–Z without `I` and `O`.
pub const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
/// Characters in a code (5 bits each: 50 bits).
pub const LEN: usize = 10;
/// Raw input longer than this is refused before normalization, to bound the work done.
const MAX_INPUT_CHARS: usize = 64;

/// Why an entered account creation code was refused (before any lookup).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountCodeError {
    /// Nothing (or only spaces and separators) was entered.
    #[error("account creation code is empty")]
    Empty,
    /// Not 10 characters once spaces and separators are removed.
    #[error("account creation code must be 10 characters")]
    WrongLength,
    /// A character that never appears in a code (e.g. `0`, `O`, `1`, `I`, a kana).
    #[error("account creation code contains a character that codes never use")]
    InvalidCharacter,
}

/// An account creation code: exactly [`LEN`] characters from [`ALPHABET`].
#[derive(Clone, PartialEq, Eq)]
pub struct AccountCode {
    code: String,
}

impl AccountCode {
    /// Makes a code from 10 random bytes (from a CSPRNG, supplied by the caller).
    ///
    /// Each byte picks `ALPHABET[byte % 32]`; since 32 divides 256 there is no modulo bias.
    pub fn from_random_bytes(bytes: &[u8; LEN]) -> Self {
        let code = bytes.iter().map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])).collect();
        Self { code }
    }

    /// Parses a typed code: normalized (full-width is fine), uppercased, spaces and separators
    /// (`-` and its look-alikes, `_`, `.`, `/`, `・`) dropped; then exactly 10 characters of
    /// [`ALPHABET`] must remain.
    pub fn parse(input: &str) -> Result<Self, AccountCodeError> {
        if input.chars().count() > MAX_INPUT_CHARS {
            return Err(AccountCodeError::WrongLength);
        }
        let code: String = normalize(input).to_uppercase().chars().filter(|c| !is_separator(*c)).collect();
        if code.is_empty() {
            return Err(AccountCodeError::Empty);
        }
        if !code.bytes().all(|b| ALPHABET.contains(&b)) {
            return Err(AccountCodeError::InvalidCharacter);
        }
        if code.len() != LEN {
            return Err(AccountCodeError::WrongLength);
        }
        Ok(Self { code })
    }

    /// The 10 characters, e.g. `ABCDEFGHJK` (what gets hashed and stored).
    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// The code in two groups of five for the slip and for reading aloud, e.g. `ABCDE-FGHJK`.
    pub fn grouped(&self) -> String {
        let (first, second) = self.code.split_at(LEN / 2);
        format!("{first}-{second}")
    }
}

impl std::fmt::Debug for AccountCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccountCode([redacted])")
    }
}

/// Whether `c` is ignored inside an entered code.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || is_hyphen_like(c) || matches!(c, '-' | '_' | '.' | '/' | '・')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabet_has_32_distinct_characters_without_look_alikes() {
        let mut sorted = ALPHABET.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 32);
        for look_alike in b"01IO" {
            assert!(!ALPHABET.contains(look_alike));
        }
        const { assert!(LEN * 5 >= 40, "at least 40 bits") };
    }

    #[test]
    fn maps_random_bytes_onto_the_alphabet_without_bias() {
        let code = AccountCode::from_random_bytes(&[0, 1, 31, 32, 33, 63, 64, 255, 128, 8]);
        assert_eq!(code.as_str(), "23Z23Z2Z2A");
        // Every byte value lands on exactly 8 = 256 / 32 positions of each character.
        let mut counts = [0u32; 32];
        for b in 0..=255u8 {
            let code = AccountCode::from_random_bytes(&[b; LEN]);
            let first = code.as_str().as_bytes()[0];
            let index = ALPHABET.iter().position(|c| *c == first).unwrap();
            counts[index] += 1;
        }
        assert!(counts.iter().all(|n| *n == 8));
    }

    #[test]
    fn accepts_codes_in_any_case_width_and_grouping() {
        for input in [
            "ABCDEFGHJK",
            "abcdefghjk",
            "ABCDE-FGHJK",
            "abcde fghjk",
            " ABCDE\u{3000}FGHJK ",
            "ＡＢＣＤＥ－ＦＧＨＪＫ",
            "ａｂｃｄｅｆｇｈｊｋ",
            "ABCDEーFGHJK",
            "ABCDE_FGHJK",
            "AB.CD.EF.GH.JK",
            "ABCDE/FGHJK",
            "ABCDE・FGHJK",
            "A-B-C-D-E-F-G-H-J-K",
        ] {
            let code = AccountCode::parse(input);
            assert_eq!(code.as_ref().map(AccountCode::as_str), Ok("ABCDEFGHJK"), "input {input:?}");
        }
    }

    #[test]
    fn groups_the_code_in_two_halves() {
        let code = AccountCode::parse("abcdefghjk").unwrap();
        assert_eq!(code.grouped(), "ABCDE-FGHJK");
    }

    #[test]
    fn refuses_empty_wrong_length_and_foreign_characters() {
        use AccountCodeError::*;
        let cases = [
            ("", Empty),
            ("  ", Empty),
            ("-- _", Empty),
            ("ABCDEFGHJ", WrongLength),
            ("ABCDEFGHJKL", WrongLength),
            ("ABCDE-FGHJK-2", WrongLength),
            ("ABCDEFGHJ0", InvalidCharacter),
            ("ABCDEFGHJO", InvalidCharacter),
            ("ABCDEFGHJ1", InvalidCharacter),
            ("ABCDEFGHJI", InvalidCharacter),
            ("ABCDEFGHJ!", InvalidCharacter),
            ("あいうえおかきくけこ", InvalidCharacter),
        ];
        for (input, expected) in cases {
            assert_eq!(AccountCode::parse(input), Err(expected), "input {input:?}");
        }
        let long = "A".repeat(65);
        assert_eq!(AccountCode::parse(&long), Err(WrongLength));
    }

    #[test]
    fn debug_output_never_shows_the_code() {
        let code = AccountCode::parse("ABCDEFGHJK").unwrap();
        let debug = format!("{code:?}");
        assert!(!debug.contains("ABCDE"));
        assert!(debug.contains("redacted"));
    }
}
