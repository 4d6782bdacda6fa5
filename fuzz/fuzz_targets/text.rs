//! Text normalization (NFKC + trim) that every typed field goes through: it is idempotent,
//! leaves no surrounding space, and after unifying hyphens no look-alike is left.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mypage_domain::text::{is_hyphen_like, normalize, unify_hyphens};

fuzz_target!(|input: &str| {
    let once = normalize(input);
    assert_eq!(normalize(&once), once, "normalizing twice changes nothing");
    assert_eq!(once.trim(), once, "no surrounding space");
    let unified = unify_hyphens(&once);
    assert!(!unified.chars().any(is_hyphen_like), "{unified:?}");
    assert_eq!(unified.chars().count(), once.chars().count(), "one character for one");
});
