//! The TOML config file and the values in it (database URL, base URL, mail transport,
//! durations, numbers): any file is read or refused with a message, never a panic, and what
//! is accepted holds the settings' invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mypage::config::{BaseUrl, Layers, MailTransport};
use mypage_domain::duration::{MAX_DURATION, format_duration, parse_duration};

fuzz_target!(|text: &str| {
    // Each value parser on its own, with the raw text.
    if let Ok(url) = BaseUrl::parse(text) {
        assert!(url.as_str().starts_with(url.origin()), "{url:?}");
        assert!(url.origin().starts_with("http://") || url.origin().starts_with("https://"));
    }
    if let Ok(MailTransport::Smtp(smtp)) = MailTransport::parse(text) {
        assert!(!smtp.host.is_empty());
    }
    let Ok(layers) = Layers::with_toml(text) else { return };
    let Ok(settings) = layers.settings() else { return };
    for d in [settings.code_ttl, settings.auth_key_ttl, settings.otp_ttl, settings.remember_ttl, settings.login_lock] {
        assert!(d > std::time::Duration::ZERO && d <= MAX_DURATION, "{d:?}");
        assert_eq!(parse_duration(&format_duration(d)), Ok(d));
    }
    assert!(settings.code_max_failures > 0 && settings.hash_workers > 0 && settings.hash_queue > 0);
    assert!((32..=128).contains(&settings.client_ipv6_prefix));
    if let Some(secret) = &settings.secret {
        assert!(secret.0.len() >= 32);
    }
});
