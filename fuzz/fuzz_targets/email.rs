//! Email (the login ID): what parses is ASCII, lowercase, one `@`, within the length limits,
//! and its text parses back to the same address; upper case or full-width forms are the same ID.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mypage_domain::email::{Email, MAX_LEN, MAX_LOCAL_LEN};

fuzz_target!(|input: &str| {
    let Ok(email) = Email::parse(input) else { return };
    let text = email.as_str();
    assert!(text.chars().all(|c| c.is_ascii_graphic() && !c.is_ascii_uppercase()), "{text:?}");
    assert_eq!(text.matches('@').count(), 1, "{text:?}");
    assert!(text.len() <= MAX_LEN && !email.local_part().is_empty() && email.local_part().len() <= MAX_LOCAL_LEN);
    assert_eq!(format!("{}@{}", email.local_part(), email.domain()), text);
    assert!(email.domain().contains('.'), "{text:?}");
    assert_eq!(email.to_string(), text);
    assert_eq!(Email::parse(text).as_ref(), Ok(&email), "the address re-parses to itself");
    assert_eq!(Email::parse(&text.to_ascii_uppercase()).as_ref(), Ok(&email), "case does not matter");
});
