//! Form bodies and query strings, through the extractors the handlers use: arbitrary bytes never
//! panic, and any well-formed body (distinct names, any values) is accepted by every form, so a
//! typed value can never turn a page into the "could not be read" error.
//!
//! Input: a body, decoded as is; then its `name=value` parts (split at `&` and newlines, taken
//! literally) are written out properly encoded and must be accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mypage::web::decoding::{FORMS, QUERIES, decode_forms, decode_queries};
use std::sync::OnceLock;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().build().expect("a runtime"))
}

fuzz_target!(|bytes: &[u8]| {
    let rt = runtime();
    assert_eq!(rt.block_on(decode_forms(bytes)).len(), FORMS.len());
    assert_eq!(rt.block_on(decode_queries(bytes)).len(), QUERIES.len());

    let text = String::from_utf8_lossy(bytes);
    let mut seen = std::collections::HashSet::new();
    let mut body = form_urlencoded::Serializer::new(String::new());
    for part in text.split(['&', '\n']) {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        if seen.insert(name) {
            body.append_pair(name, value);
        }
    }
    let body = body.finish();
    for (form, ok) in FORMS.iter().zip(rt.block_on(decode_forms(body.as_bytes()))) {
        assert!(ok, "{form} refused the well-formed body {body:?}");
    }
    for (query, ok) in QUERIES.iter().zip(rt.block_on(decode_queries(body.as_bytes()))) {
        assert!(ok, "{query} refused the well-formed query {body:?}");
    }
});
