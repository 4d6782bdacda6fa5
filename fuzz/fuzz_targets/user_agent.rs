//! The User-Agent and client address descriptions: any header value gives a family from the
//! closed set; an address is shown only approximately and never in full.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mypage_domain::user_agent::{approximate_address, describe};

fuzz_target!(|input: &str| {
    let (browser, os) = describe(input);
    assert!(!browser.key().is_empty() && !os.key().is_empty());
    assert_eq!(describe(input), (browser, os));
    let shown = approximate_address(input);
    match input.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => assert!(shown.ends_with(".x"), "{shown}"),
        Ok(std::net::IpAddr::V6(_)) => assert!(shown.ends_with("::/48"), "{shown}"),
        Err(_) => assert!(shown.is_empty(), "{shown}"),
    }
    if input.parse::<std::net::IpAddr>().is_ok() {
        assert_ne!(shown, input, "never the full address");
    }
});
