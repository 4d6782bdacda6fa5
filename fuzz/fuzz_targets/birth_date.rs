//! Birth date: the three typed fields either give a real date 15 to 120 years before "today"
//! whose ISO form reads back to the same date, or are refused; the strict ISO reader (CSV
//! import, stored rows) accepts exactly what it writes.
//!
//! Input: lines `year`, `month`, `day` and optionally today's date (ISO; default 2026-11-30).
#![no_main]

use jiff::civil::{Date, date};
use libfuzzer_sys::fuzz_target;
use mypage_domain::birth_date::{BirthDate, MAX_AGE, MIN_AGE};

fuzz_target!(|input: &str| {
    let mut lines = input.split('\n');
    let (year, month, day) = (lines.next().unwrap_or(""), lines.next().unwrap_or(""), lines.next().unwrap_or(""));
    let today = lines.next().and_then(|t| t.parse::<Date>().ok()).unwrap_or(date(2026, 11, 30));
    if let Ok(born) = BirthDate::parse(year, month, day, today) {
        assert!(born.date() <= today);
        assert!((MIN_AGE..=MAX_AGE).contains(&born.age_on(today)), "{born} on {today}");
        let iso = born.to_iso();
        assert_eq!(BirthDate::from_iso(&iso), Ok(born), "{iso}");
        assert_eq!(born.to_string(), iso);
        // The same date typed as plain numbers parses to the same date.
        let again =
            BirthDate::parse(&format!("{:04}", born.year()), &born.month().to_string(), &born.day().to_string(), today);
        assert_eq!(again, Ok(born));
        let fragments = born.password_fragments();
        assert!(fragments.iter().all(|f| f.bytes().all(|b| b.is_ascii_digit())), "{fragments:?}");
    }
    for raw in input.split('\n') {
        if let Ok(date) = BirthDate::from_iso(raw) {
            assert_eq!(date.to_iso(), raw, "the strict form reads only what it writes");
        }
    }
});
