//! Property tests of the round trips the parsers promise: canonical text parses back to the same
//! value, and the forms people type (full-width, look-alike hyphens, spaces, case) give the same
//! value as plain ASCII.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jiff::civil::{Date, date};
use mypage_domain::account_code::{ALPHABET, AccountCode, LEN};
use mypage_domain::birth_date::BirthDate;
use mypage_domain::duration::{MAX_DURATION, format_duration, parse_duration};
use mypage_domain::email::Email;
use mypage_domain::job_seeker_number::JobSeekerNumber;
use mypage_domain::six_digits::SixDigitCode;
use proptest::prelude::*;
use std::time::Duration;

const TODAY: Date = date(2026, 11, 30);
const HYPHENS: &[char] = &['-', '－', 'ー', 'ｰ', '\u{2010}', '\u{2212}', '\u{2013}'];

/// Full-width form of ASCII letters and digits (what a Japanese keyboard types).
fn wide(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { char::from_u32(c as u32 + 0xFEE0).unwrap() } else { c }).collect()
}

proptest! {
    #[test]
    fn job_seeker_numbers_round_trip_in_every_typed_form(
        office in "[0-9]{5}",
        serial in "[0-9]{1,8}",
        hyphen in prop::sample::select(HYPHENS),
        pad in prop::sample::select(&[" ", "\u{3000}", ""][..]),
    ) {
        let canonical = format!("{office}-{serial}");
        let number = JobSeekerNumber::parse(&canonical).unwrap();
        prop_assert_eq!(number.as_str(), canonical.as_str());
        prop_assert_eq!(JobSeekerNumber::parse(&number.to_string()).unwrap(), number.clone());
        prop_assert_eq!(JobSeekerNumber::parse(&number.digits()).unwrap(), number.clone());
        let typed = format!("{pad}{}{hyphen}{}{pad}", wide(&office), wide(&serial));
        prop_assert_eq!(JobSeekerNumber::parse(&typed).unwrap(), number);
    }

    #[test]
    // Born 1906–2010: aged 15 to 120 on TODAY whatever the month and day.
    fn birth_dates_round_trip_through_iso_and_typed_fields(
        year in 1906i16..=2010,
        month in 1i8..=12,
        day in 1i8..=28,
    ) {
        let born = BirthDate::parse(&year.to_string(), &month.to_string(), &day.to_string(), TODAY).unwrap();
        prop_assert_eq!(born.date(), date(year, month, day));
        prop_assert_eq!(BirthDate::from_iso(&born.to_iso()).unwrap(), born);
        prop_assert_eq!(born.to_string(), born.to_iso());
        let (y, m, d) = (wide(&format!("{year}")), format!("{month:02}月"), format!("{}日", wide(&day.to_string())));
        prop_assert_eq!(BirthDate::parse(&format!("{y}年"), &m, &d, TODAY).unwrap(), born);
    }

    #[test]
    fn durations_round_trip_through_their_shortest_text(secs in 1..=MAX_DURATION.as_secs()) {
        let d = Duration::from_secs(secs);
        prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
    }

    #[test]
    fn durations_as_written_read_back_the_same(n in 1u64..=3650, unit in prop::sample::select(&["s", "m", "h", "d"][..])) {
        let d = parse_duration(&format!("{n}{unit}")).unwrap();
        prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
    }

    #[test]
    fn account_codes_round_trip_in_every_typed_form(picks in prop::collection::vec(0..ALPHABET.len(), LEN)) {
        let text: String = picks.iter().map(|&i| char::from(ALPHABET[i])).collect();
        let code = AccountCode::parse(&text).unwrap();
        prop_assert_eq!(code.as_str(), text.as_str());
        prop_assert_eq!(AccountCode::parse(&code.grouped()).unwrap(), code.clone());
        prop_assert_eq!(AccountCode::parse(&text.to_ascii_lowercase()).unwrap(), code.clone());
        prop_assert_eq!(AccountCode::parse(&wide(&code.grouped()).replace('-', "　")).unwrap(), code);
    }

    #[test]
    fn random_bytes_make_codes_that_parse(bytes in prop::array::uniform10(any::<u8>())) {
        let code = AccountCode::from_random_bytes(&bytes);
        prop_assert_eq!(AccountCode::parse(code.as_str()).unwrap(), code);
    }

    #[test]
    fn six_digit_codes_round_trip(n in 0u32..1_000_000, hyphen in prop::sample::select(HYPHENS)) {
        let code = SixDigitCode::from_number(n).unwrap();
        prop_assert_eq!(SixDigitCode::parse(code.as_str()).unwrap(), code.clone());
        let (a, b) = code.as_str().split_at(3);
        prop_assert_eq!(SixDigitCode::parse(&format!(" {}{hyphen}{} ", wide(a), wide(b))).unwrap(), code);
    }

    #[test]
    fn emails_round_trip_whatever_the_case_or_width(
        local in "[a-z0-9][a-z0-9._+-]{0,20}[a-z0-9]",
        domain in "[a-z0-9]{1,12}\\.(jp|co\\.jp|com)",
    ) {
        prop_assume!(!local.contains(".."));
        let address = format!("{local}@{domain}");
        let email = Email::parse(&address).unwrap();
        prop_assert_eq!(email.as_str(), address.as_str());
        prop_assert_eq!(Email::parse(&email.to_string()).unwrap(), email.clone());
        prop_assert_eq!(Email::parse(&address.to_ascii_uppercase()).unwrap(), email.clone());
        prop_assert_eq!(Email::parse(&wide(&address).replace('@', "＠")).unwrap(), email);
    }
}
