//! The job-seeker number (求職番号): 5 digits, a hyphen, then 1 to 8 digits.
//!
//! It is printed on the ハローワーク受付票 and on the 雇用保険受給資格者証. The latter also carries
//! the employment insurance number (雇用保険被保険者番号, shaped 4-6-1 digits such as
//! `1234-567890-1`), and people type that one by mistake, so such input gets its own error.

use crate::text::{normalize, unify_hyphens};

/// Longest raw input accepted before parsing, in characters.
const MAX_INPUT_CHARS: usize = 64;
/// Digits before the hyphen (the office part).
const OFFICE_DIGITS: usize = 5;
/// Most digits after the hyphen.
const MAX_SERIAL_DIGITS: usize = 8;
/// Digits of an employment insurance number (4 + 6 + 1).
const INSURANCE_DIGITS: usize = 11;

/// Why a job-seeker number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobSeekerNumberError {
    /// Nothing (or only spaces) was entered.
    #[error("job-seeker number is empty")]
    Empty,
    /// The input has the shape of an employment insurance number (4-6-1 digits, or 11 digits in
    /// groups that do not fit a job-seeker number).
    #[error("this looks like an employment insurance number, not a job-seeker number")]
    LooksLikeInsuranceNumber,
    /// Anything else that is not 5 digits, a hyphen and 1 to 8 digits.
    #[error("job-seeker number must be 5 digits, a hyphen and 1 to 8 digits")]
    Malformed,
}

/// A job-seeker number (求職番号) in canonical form `NNNNN-N…` (5 digits, `-`, 1 to 8 digits).
///
/// Invariant: `as_str()` is ASCII, exactly 5 digits, one `-`, then 1 to 8 digits.
/// Leading zeros of either part are significant and kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobSeekerNumber {
    canonical: String,
}

impl JobSeekerNumber {
    /// Parses what a job seeker or clerk typed; the only way to make a `JobSeekerNumber`.
    ///
    /// Accepts full-width digits, hyphen look-alikes, surrounding and inner spaces, and the
    /// number without its hyphen (6 to 13 digits, the first 5 being the office part).
    pub fn parse(input: &str) -> Result<Self, JobSeekerNumberError> {
        if input.chars().count() > MAX_INPUT_CHARS {
            return Err(JobSeekerNumberError::Malformed);
        }
        let text = unify_hyphens(&normalize(input));
        if text.is_empty() {
            return Err(JobSeekerNumberError::Empty);
        }
        if !text.chars().all(|c| c.is_ascii_digit() || c == '-' || c.is_whitespace()) {
            return Err(JobSeekerNumberError::Malformed);
        }
        if has_insurance_shape(&text) {
            return Err(JobSeekerNumberError::LooksLikeInsuranceNumber);
        }
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let groups: Vec<&str> = compact.split('-').collect();
        let parsed = match groups.as_slice() {
            [digits] => Self::from_parts_checked(
                digits.get(..OFFICE_DIGITS).unwrap_or(""),
                digits.get(OFFICE_DIGITS..).unwrap_or(""),
            ),
            [office, serial] => Self::from_parts_checked(office, serial),
            _ => Err(JobSeekerNumberError::Malformed),
        };
        parsed.map_err(|err| {
            // Hyphenated groups holding 11 digits that do not fit (e.g. `1234-5678901`) are most
            // likely the insurance number typed with its grouping slightly off.
            let digit_count = compact.bytes().filter(u8::is_ascii_digit).count();
            if groups.len() >= 2 && groups.iter().all(|g| !g.is_empty()) && digit_count == INSURANCE_DIGITS {
                JobSeekerNumberError::LooksLikeInsuranceNumber
            } else {
                err
            }
        })
    }

    fn from_parts_checked(office: &str, serial: &str) -> Result<Self, JobSeekerNumberError> {
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let office_ok = office.len() == OFFICE_DIGITS && all_digits(office);
        let serial_ok = (1..=MAX_SERIAL_DIGITS).contains(&serial.len()) && all_digits(serial);
        if office_ok && serial_ok {
            Ok(Self { canonical: format!("{office}-{serial}") })
        } else {
            Err(JobSeekerNumberError::Malformed)
        }
    }

    /// The canonical form, e.g. `60049-58004503`.
    pub fn as_str(&self) -> &str {
        &self.canonical
    }

    /// All digits without the hyphen, e.g. `6004958004503`.
    pub fn digits(&self) -> String {
        self.canonical.replace('-', "")
    }

    /// The 5-digit part before the hyphen, e.g. `60049`.
    pub fn office_part(&self) -> &str {
        self.canonical.get(..OFFICE_DIGITS).unwrap_or("")
    }

    /// The 1 to 8 digits after the hyphen, e.g. `58004503`.
    pub fn serial_part(&self) -> &str {
        self.canonical.get(OFFICE_DIGITS + 1..).unwrap_or("")
    }
}

impl std::fmt::Display for JobSeekerNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.canonical)
    }
}

/// Whether the text, split at hyphens and spaces, is groups of exactly 4, 6 and 1 digits.
fn has_insurance_shape(text: &str) -> bool {
    let lengths: Vec<usize> =
        text.split(|c: char| c == '-' || c.is_whitespace()).filter(|g| !g.is_empty()).map(str::len).collect();
    lengths == [4, 6, 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_forms_people_type_and_makes_them_canonical() {
        let cases = [
            ("60049-58004503", "60049-58004503"),
            ("27520-1391873", "27520-1391873"),
            ("6004958004503", "60049-58004503"),
            ("2752013", "27520-13"),
            ("600491", "60049-1"),
            ("60049-1", "60049-1"),
            ("６００４９－５８００４５０３", "60049-58004503"),
            ("６００４９５８００４５０３", "60049-58004503"),
            ("  60049-58004503\u{3000}", "60049-58004503"),
            ("60049 58004503", "60049-58004503"),
            ("60049 - 5800 4503", "60049-58004503"),
            ("60049ー58004503", "60049-58004503"),
            ("60049ｰ58004503", "60049-58004503"),
            ("60049\u{2212}58004503", "60049-58004503"),
            ("60049\u{2010}58004503", "60049-58004503"),
            ("00001-00000001", "00001-00000001"),
            ("12345678901", "12345-678901"),
        ];
        for (input, expected) in cases {
            let number = JobSeekerNumber::parse(input);
            assert_eq!(number.as_ref().map(JobSeekerNumber::as_str), Ok(expected), "input {input:?}");
        }
    }

    #[test]
    fn exposes_digits_office_part_and_serial_part() {
        let number = JobSeekerNumber::parse("60049-58004503").unwrap();
        assert_eq!(number.digits(), "6004958004503");
        assert_eq!(number.office_part(), "60049");
        assert_eq!(number.serial_part(), "58004503");
        assert_eq!(number.to_string(), "60049-58004503");
    }

    #[test]
    fn refuses_empty_input() {
        for input in ["", "   ", "\u{3000}", "\t"] {
            assert_eq!(JobSeekerNumber::parse(input), Err(JobSeekerNumberError::Empty), "input {input:?}");
        }
    }

    #[test]
    fn names_the_insurance_number_confusion() {
        for input in [
            "1234-567890-1",
            "１２３４－５６７８９０－１",
            "1234 567890 1",
            "1234ー567890ー1",
            "12-345678901",
            "1234-5678901",
            "1234567890-1",
            "123-4567-8901",
        ] {
            assert_eq!(
                JobSeekerNumber::parse(input),
                Err(JobSeekerNumberError::LooksLikeInsuranceNumber),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn refuses_anything_else_as_malformed() {
        for input in [
            "60049",
            "60049-",
            "-58004503",
            "6004-58004503",
            "600490-5800450",
            "60049-580045031",
            "60049--58004503",
            "60049-5800-4503",
            "60049958004503",
            "60049-5800450a",
            "求職番号",
            "60049_58004503",
            "12345",
            "١٢٣٤٥-٦",
        ] {
            assert_eq!(JobSeekerNumber::parse(input), Err(JobSeekerNumberError::Malformed), "input {input:?}");
        }
    }

    #[test]
    fn refuses_input_longer_than_64_characters() {
        let long = format!("60049-1{}", " ".repeat(58));
        assert_eq!(long.chars().count(), 65);
        assert_eq!(JobSeekerNumber::parse(&long), Err(JobSeekerNumberError::Malformed));
        let just_fits = format!("60049-1{}", " ".repeat(57));
        assert!(JobSeekerNumber::parse(&just_fits).is_ok());
    }
}
