//! Durations in config (`30s`, `10m`, `12h`, `5d`): what parses is above zero and at most the
//! maximum, and its formatted form parses back to the same duration; every whole number of
//! seconds in range formats to text that parses back to it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mypage_domain::duration::{MAX_DURATION, format_duration, parse_duration};
use std::time::Duration;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(text) = std::str::from_utf8(bytes) {
        if let Ok(d) = parse_duration(text) {
            assert!(d > Duration::ZERO && d <= MAX_DURATION, "{d:?}");
            assert_eq!(parse_duration(&format_duration(d)), Ok(d), "{}", format_duration(d));
        }
    }
    let mut word = [0u8; 8];
    for (w, b) in word.iter_mut().zip(bytes) {
        *w = *b;
    }
    let d = Duration::from_secs(1 + u64::from_le_bytes(word) % MAX_DURATION.as_secs());
    assert_eq!(parse_duration(&format_duration(d)), Ok(d), "{}", format_duration(d));
});
