//! The password policy (SPEC §3.4 and the flyer: 数字、英字、記号の3種類を組み合わせ8～32桁).
//!
//! A new password must be 8 to 32 characters of half-width printable ASCII without spaces, with
//! at least one digit, one letter and one symbol (ASCII punctuation); it must not contain the
//! email's local part, the job-seeker number or the birth date, must not be on the shipped
//! common-password list, and must equal its confirmation. [`NewPassword::parse`] names every unmet
//! rule at once, so the form can list them all.
//!
//! Passwords are not NFKC-normalized: they are kept byte for byte. A full-width character breaks
//! [`PasswordRule::NotHalfWidth`] only; it still counts for the digit, letter or symbol rule it
//! stands for, so typing `ｐａｓｓ１！` yields one clear message instead of four.

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::birth_date::BirthDate;
use crate::email::Email;
use crate::job_seeker_number::JobSeekerNumber;
use crate::secret::Secret;

/// Fewest characters in a password.
pub const MIN_LEN: usize = 8;
/// Most characters in a password.
pub const MAX_LEN: usize = 32;
/// A local part shorter than this is too short to be a meaningful thing to forbid.
const MIN_LOCAL_PART_CHECKED: usize = 3;
/// A part of the job-seeker number shorter than this is not checked on its own.
const MIN_NUMBER_PART_CHECKED: usize = 4;

/// The shipped common-password list: one lowercase entry a line, `# ` starts a comment.
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// One rule of the password policy. The declaration order is the order rules are reported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PasswordRule {
    /// Fewer than 8 characters.
    TooShort,
    /// More than 32 characters.
    TooLong,
    /// A character outside half-width printable ASCII (full-width, kana, kanji, control).
    NotHalfWidth,
    /// A space (half-width, full-width or any other white space).
    ContainsSpace,
    /// No digit.
    NoDigit,
    /// No ASCII letter.
    NoLetter,
    /// No symbol (ASCII punctuation such as `!`, `#`, `@`) — the one people forget.
    NoSymbol,
    /// Contains the local part of the email address (3 characters or more), in any case.
    ContainsEmail,
    /// Contains the job-seeker number's digits or a part of it of 4 digits or more.
    ContainsJobSeekerNumber,
    /// Contains the birth date as digits (see [`BirthDate::password_fragments`]).
    ContainsBirthDate,
    /// On the common-password list (case-insensitive).
    TooCommon,
    /// The confirmation differs from the password.
    ConfirmationMismatch,
}

impl PasswordRule {
    /// Every rule, in reporting order.
    pub const ALL: [PasswordRule; 12] = [
        PasswordRule::TooShort,
        PasswordRule::TooLong,
        PasswordRule::NotHalfWidth,
        PasswordRule::ContainsSpace,
        PasswordRule::NoDigit,
        PasswordRule::NoLetter,
        PasswordRule::NoSymbol,
        PasswordRule::ContainsEmail,
        PasswordRule::ContainsJobSeekerNumber,
        PasswordRule::ContainsBirthDate,
        PasswordRule::TooCommon,
        PasswordRule::ConfirmationMismatch,
    ];

    /// A stable snake_case id for message catalog keys and HTML ids, e.g. `no_symbol`.
    pub fn key(&self) -> &'static str {
        match self {
            PasswordRule::TooShort => "too_short",
            PasswordRule::TooLong => "too_long",
            PasswordRule::NotHalfWidth => "not_half_width",
            PasswordRule::ContainsSpace => "contains_space",
            PasswordRule::NoDigit => "no_digit",
            PasswordRule::NoLetter => "no_letter",
            PasswordRule::NoSymbol => "no_symbol",
            PasswordRule::ContainsEmail => "contains_email",
            PasswordRule::ContainsJobSeekerNumber => "contains_job_seeker_number",
            PasswordRule::ContainsBirthDate => "contains_birth_date",
            PasswordRule::TooCommon => "too_common",
            PasswordRule::ConfirmationMismatch => "confirmation_mismatch",
        }
    }
}

/// What is known about the account holder, to refuse passwords built from it.
#[derive(Debug, Clone, Copy, Default)]
pub struct PasswordContext<'a> {
    /// The login email, whose local part must not appear in the password.
    pub email: Option<&'a Email>,
    /// The job-seeker number, whose digits must not appear in the password.
    pub number: Option<&'a JobSeekerNumber>,
    /// The birth date, whose digit forms must not appear in the password.
    pub birth_date: Option<&'a BirthDate>,
}

/// A password that meets every rule of the policy; ready to be hashed.
#[derive(Debug, Clone)]
pub struct NewPassword {
    secret: Secret,
}

impl NewPassword {
    /// Checks `password` against every rule and its `confirmation`.
    ///
    /// On failure returns every unmet rule, each once, in [`PasswordRule`] declaration order.
    pub fn parse(
        password: Secret,
        confirmation: &Secret,
        ctx: &PasswordContext<'_>,
    ) -> Result<NewPassword, Vec<PasswordRule>> {
        let text = password.expose();
        let mut unmet: Vec<PasswordRule> =
            check_each(text).into_iter().filter(|(_, met)| !met).map(|(rule, _)| rule).collect();
        let lower = text.to_ascii_lowercase();
        if contains_email(&lower, ctx.email) {
            unmet.push(PasswordRule::ContainsEmail);
        }
        if contains_number(&lower, ctx.number) {
            unmet.push(PasswordRule::ContainsJobSeekerNumber);
        }
        if contains_birth_date(&lower, ctx.birth_date) {
            unmet.push(PasswordRule::ContainsBirthDate);
        }
        if is_common(text) {
            unmet.push(PasswordRule::TooCommon);
        }
        if text != confirmation.expose() {
            unmet.push(PasswordRule::ConfirmationMismatch);
        }
        if unmet.is_empty() { Ok(NewPassword { secret: password }) } else { Err(unmet) }
    }

    /// The accepted password.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The accepted password, by value.
    pub fn into_secret(self) -> Secret {
        self.secret
    }
}

/// The character rules alone, each with whether `password` meets it (`true` = met), in order:
/// `TooShort`, `TooLong`, `NotHalfWidth`, `ContainsSpace`, `NoDigit`, `NoLetter`, `NoSymbol`.
/// For listing the rules on screen with a tick next to each.
pub fn check_each(password: &str) -> Vec<(PasswordRule, bool)> {
    let len = password.chars().count();
    let mut half_width = true;
    let mut no_space = true;
    let (mut digit, mut letter, mut symbol) = (false, false, false);
    for c in password.chars() {
        if c.is_whitespace() {
            no_space = false;
            continue;
        }
        if !is_half_width_printable(c) {
            half_width = false;
        }
        let ascii = half_width_equivalent(c);
        digit |= ascii.is_ascii_digit();
        letter |= ascii.is_ascii_alphabetic();
        symbol |= ascii.is_ascii_punctuation();
    }
    vec![
        (PasswordRule::TooShort, len >= MIN_LEN),
        (PasswordRule::TooLong, len <= MAX_LEN),
        (PasswordRule::NotHalfWidth, half_width),
        (PasswordRule::ContainsSpace, no_space),
        (PasswordRule::NoDigit, digit),
        (PasswordRule::NoLetter, letter),
        (PasswordRule::NoSymbol, symbol),
    ]
}

/// Whether `password` is on the shipped common-password list (case-insensitive exact match).
pub fn is_common(password: &str) -> bool {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    let list = LIST.get_or_init(|| {
        COMMON_PASSWORDS.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with("# ")).collect()
    });
    list.contains(password.to_ascii_lowercase().as_str())
}

/// `!` (0x21) to `~` (0x7E): half-width printable ASCII other than the space.
fn is_half_width_printable(c: char) -> bool {
    ('\u{21}'..='\u{7E}').contains(&c)
}

/// The half-width ASCII character a full-width form (U+FF01..=U+FF5E) stands for; else `c`.
fn half_width_equivalent(c: char) -> char {
    match u32::from(c) {
        code @ 0xFF01..=0xFF5E => char::from_u32(code - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

fn contains_email(lower: &str, email: Option<&Email>) -> bool {
    email.is_some_and(|email| {
        let local = email.local_part().to_ascii_lowercase();
        local.chars().count() >= MIN_LOCAL_PART_CHECKED && lower.contains(&local)
    })
}

fn contains_number(lower: &str, number: Option<&JobSeekerNumber>) -> bool {
    number.is_some_and(|number| {
        let digits = number.digits();
        [number.office_part(), number.serial_part(), digits.as_str()]
            .iter()
            .any(|part| part.len() >= MIN_NUMBER_PART_CHECKED && lower.contains(part))
    })
}

fn contains_birth_date(lower: &str, birth_date: Option<&BirthDate>) -> bool {
    birth_date.is_some_and(|birth_date| {
        birth_date.password_fragments().iter().any(|fragment| lower.contains(fragment.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use PasswordRule::*;

    struct Fixture {
        email: Email,
        number: JobSeekerNumber,
        birth_date: BirthDate,
    }

    fn fixture() -> Fixture {
        Fixture {
            email: Email::parse("Taro.Yamada@example.jp").unwrap(),
            number: JobSeekerNumber::parse("60049-58004503").unwrap(),
            birth_date: BirthDate::from_iso("1990-04-12").unwrap(),
        }
    }

    fn check_with(password: &str, ctx: &PasswordContext<'_>) -> Result<(), Vec<PasswordRule>> {
        let secret = Secret::new(password.to_owned());
        let confirmation = secret.clone();
        NewPassword::parse(secret, &confirmation, ctx).map(|_| ())
    }

    fn check(password: &str) -> Result<(), Vec<PasswordRule>> {
        let f = fixture();
        let ctx = PasswordContext { email: Some(&f.email), number: Some(&f.number), birth_date: Some(&f.birth_date) };
        check_with(password, &ctx)
    }

    #[test]
    fn accepts_passwords_that_meet_every_rule() {
        for password in
            ["Ab3!efgh", "kushiro#86wifi", "Zq!1990xy", "Zq!5800x4503", "a1~bcdefg", "12345678a.", "Zq!6004xy"]
        {
            assert_eq!(check(password), Ok(()), "password {password:?}");
        }
    }

    #[test]
    fn accepts_32_characters_and_refuses_33() {
        let at_limit = format!("Ab3!{}", "x".repeat(28));
        assert_eq!(at_limit.len(), 32);
        assert_eq!(check(&at_limit), Ok(()));
        let over = format!("Ab3!{}", "x".repeat(29));
        assert_eq!(over.len(), 33);
        assert_eq!(check(&over), Err(vec![TooLong]));
    }

    #[test]
    fn accepts_8_characters_and_refuses_7() {
        assert_eq!(check("Ab3!efgh"), Ok(()));
        assert_eq!(check("Ab3!efg"), Err(vec![TooShort]));
    }

    #[test]
    fn names_each_unmet_character_rule() {
        let cases: &[(&str, &[PasswordRule])] = &[
            ("Ab3!efgあ", &[NotHalfWidth]),
            ("Ab3!efg\u{7F}", &[NotHalfWidth]),
            ("Ab3!ef gh", &[ContainsSpace]),
            ("Ab3!ef\u{3000}gh", &[ContainsSpace]),
            ("Ab3!ef\tgh", &[ContainsSpace]),
            ("Abc!efgh", &[NoDigit]),
            ("123!5678", &[NoLetter]),
            ("Abc3efgh", &[NoSymbol]),
            ("abcdefgh", &[NoDigit, NoSymbol]),
            ("", &[TooShort, NoDigit, NoLetter, NoSymbol]),
            ("ｐａｓｓ１！ｘｙ", &[NotHalfWidth]),
            ("ab cd", &[TooShort, ContainsSpace, NoDigit, NoSymbol]),
        ];
        for (password, expected) in cases {
            assert_eq!(check(password), Err(expected.to_vec()), "password {password:?}");
        }
    }

    #[test]
    fn refuses_the_email_local_part_in_any_case() {
        assert_eq!(check("Xtaro.yamada1!"), Err(vec![ContainsEmail]));
        assert_eq!(check("TARO.YAMADA1!x"), Err(vec![ContainsEmail]));
        assert_eq!(check("Xtaro.yamad1!"), Ok(()));
    }

    #[test]
    fn ignores_an_email_local_part_shorter_than_3_characters() {
        let short = Email::parse("ab@example.jp").unwrap();
        let three = Email::parse("abc@example.jp").unwrap();
        let with = |email| PasswordContext { email: Some(email), ..PasswordContext::default() };
        assert_eq!(check_with("ab3!efgh", &with(&short)), Ok(()));
        assert_eq!(check_with("abc3!efgh", &with(&three)), Err(vec![ContainsEmail]));
    }

    #[test]
    fn refuses_the_job_seeker_number_or_a_part_of_4_digits_or_more() {
        assert_eq!(check("Zq!60049xy"), Err(vec![ContainsJobSeekerNumber]));
        assert_eq!(check("Zq!58004503"), Err(vec![ContainsJobSeekerNumber]));
        assert_eq!(check("Zq!6004958004503"), Err(vec![ContainsJobSeekerNumber]));
        let short = JobSeekerNumber::parse("27520-13").unwrap();
        let ctx = PasswordContext { number: Some(&short), ..PasswordContext::default() };
        assert_eq!(check_with("Zq!13xyzw", &ctx), Ok(()));
        assert_eq!(check_with("Zq!27520xy", &ctx), Err(vec![ContainsJobSeekerNumber]));
        let four = JobSeekerNumber::parse("27520-1391").unwrap();
        let ctx = PasswordContext { number: Some(&four), ..PasswordContext::default() };
        assert_eq!(check_with("Zq!1391xy", &ctx), Err(vec![ContainsJobSeekerNumber]));
    }

    #[test]
    fn refuses_the_birth_date_in_its_digit_forms() {
        for password in ["Zq!19900412", "Zq!900412x", "Zq!0412xyz", "Zq!12041990"] {
            assert_eq!(check(password), Err(vec![ContainsBirthDate]), "password {password:?}");
        }
    }

    #[test]
    fn applies_no_personal_rule_without_context() {
        let ctx = PasswordContext::default();
        assert_eq!(check_with("Xtaro.yamada60049-0412!", &ctx), Ok(()));
    }

    #[test]
    fn refuses_common_passwords_in_any_case() {
        for password in ["p@ssw0rd", "P@ssw0rd", "PASSWORD1!", "Qwerty123!", "1qaz!QAZ"] {
            assert_eq!(check(password), Err(vec![TooCommon]), "password {password:?}");
        }
        assert!(is_common("Hellowork1!"));
        assert!(!is_common("kushiro#86wifi"));
        assert!(!is_common(""));
        assert!(!is_common("# Common passwords refused by MyPage's policy"));
    }

    #[test]
    fn refuses_a_confirmation_that_differs() {
        let f = fixture();
        let ctx = PasswordContext { email: Some(&f.email), ..PasswordContext::default() };
        let typed = Secret::new("Ab3!efgh".to_owned());
        let result = NewPassword::parse(typed, &Secret::new("Ab3!efgH".to_owned()), &ctx);
        assert_eq!(result.map(|_| ()), Err(vec![ConfirmationMismatch]));
    }

    #[test]
    fn reports_every_unmet_rule_once_in_declaration_order() {
        let ctx_fixture = fixture();
        let ctx = PasswordContext {
            email: Some(&ctx_fixture.email),
            number: Some(&ctx_fixture.number),
            birth_date: Some(&ctx_fixture.birth_date),
        };
        let typed = Secret::new("taro.yamada 60049 0412 全角".repeat(2));
        let unmet = NewPassword::parse(typed, &Secret::new(String::new()), &ctx).map(|_| ()).unwrap_err();
        assert_eq!(
            unmet,
            vec![
                TooLong,
                NotHalfWidth,
                ContainsSpace,
                ContainsEmail,
                ContainsJobSeekerNumber,
                ContainsBirthDate,
                ConfirmationMismatch,
            ]
        );
        let mut sorted = unmet.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, unmet);
    }

    #[test]
    fn keeps_the_accepted_password_exactly_as_typed() {
        let typed = Secret::new("Ab3!efgh".to_owned());
        let accepted = NewPassword::parse(typed.clone(), &typed, &PasswordContext::default()).unwrap();
        assert_eq!(accepted.secret().expose(), "Ab3!efgh");
        assert_eq!(format!("{accepted:?}"), "NewPassword { secret: [redacted] }");
        assert_eq!(accepted.into_secret().expose(), "Ab3!efgh");
    }

    #[test]
    fn check_each_ticks_the_character_rules_for_live_display() {
        assert_eq!(
            check_each("abc"),
            vec![
                (TooShort, false),
                (TooLong, true),
                (NotHalfWidth, true),
                (ContainsSpace, true),
                (NoDigit, false),
                (NoLetter, true),
                (NoSymbol, false),
            ]
        );
        assert!(check_each("Ab3!efgh").iter().all(|(_, met)| *met));
    }

    #[test]
    fn rule_keys_are_unique_snake_case_and_follow_declaration_order() {
        let keys: Vec<&str> = PasswordRule::ALL.iter().map(PasswordRule::key).collect();
        let unique: HashSet<&str> = keys.iter().copied().collect();
        assert_eq!(unique.len(), PasswordRule::ALL.len());
        for key in &keys {
            assert!(key.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{key}");
        }
        assert_eq!(PasswordRule::NoSymbol.key(), "no_symbol");
        let mut sorted = PasswordRule::ALL;
        sorted.sort();
        assert_eq!(sorted, PasswordRule::ALL);
    }

    #[test]
    fn common_list_holds_only_lowercase_entries_that_would_otherwise_pass() {
        let entries: Vec<&str> = COMMON_PASSWORDS.lines().filter(|line| !line.starts_with("# ")).collect();
        assert!((300..=3000).contains(&entries.len()), "{}", entries.len());
        let unique: HashSet<&str> = entries.iter().copied().collect();
        assert_eq!(unique.len(), entries.len(), "duplicates");
        for entry in &entries {
            assert_eq!(*entry, entry.to_ascii_lowercase(), "{entry}");
            assert!(
                check_each(entry).iter().all(|(_, met)| *met),
                "{entry:?} fails the character rules, so listing it is pointless"
            );
        }
        for known in [
            "p@ssw0rd",
            "passw0rd!",
            "password1!",
            "qwerty123!",
            "1qaz!qaz",
            "abc123!!",
            "admin@123",
            "p@ssword1",
            "welcome1!",
            "iloveyou1!",
            "doraemon1!",
            "sakura123!",
            "hellowork1!",
            "tokyo2026!",
        ] {
            assert!(is_common(known), "{known}");
        }
    }
}
