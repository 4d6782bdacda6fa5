//! The account creation code and the six-digit codes (認証キー, one-time password): what parses
//! has the code's exact shape, and its canonical (and grouped) text parses back to the same code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mypage_domain::account_code::{ALPHABET, AccountCode, LEN};
use mypage_domain::six_digits::SixDigitCode;

fuzz_target!(|input: &str| {
    if let Ok(code) = AccountCode::parse(input) {
        let text = code.as_str();
        assert_eq!(text.len(), LEN, "{text:?}");
        assert!(text.bytes().all(|b| ALPHABET.contains(&b)), "{text:?}");
        assert_eq!(AccountCode::parse(text).as_ref(), Ok(&code));
        assert_eq!(AccountCode::parse(&code.grouped()).as_ref(), Ok(&code));
        assert_eq!(AccountCode::parse(&text.to_ascii_lowercase()).as_ref(), Ok(&code), "case does not matter");
        assert!(!format!("{code:?}").contains(text), "Debug never shows the code");
    }
    if let Ok(code) = SixDigitCode::parse(input) {
        let text = code.as_str();
        assert!(text.len() == 6 && text.bytes().all(|b| b.is_ascii_digit()), "{text:?}");
        assert_eq!(SixDigitCode::parse(text).as_ref(), Ok(&code));
        let n: u32 = text.parse().expect("six digits are a number");
        assert_eq!(SixDigitCode::from_number(n).as_ref(), Some(&code));
        assert!(!format!("{code:?}").contains(text), "Debug never shows the code");
    }
});
