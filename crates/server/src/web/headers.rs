//! Security headers on every response, and the Origin check on every state-changing request.

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::response::Response;

use crate::state::AppState;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Every response's security headers, as values made once (a static value is a pointer copy).
const SECURITY: [(HeaderName, HeaderValue); 6] = [
    (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
    (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (header::REFERRER_POLICY, HeaderValue::from_static("same-origin")),
    (
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    ),
    (HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin")),
];
const HSTS: HeaderValue = HeaderValue::from_static("max-age=63072000; includeSubDomains");
const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

pub fn add_security_headers(state: &AppState, response: &mut Response) {
    let h = response.headers_mut();
    h.reserve(SECURITY.len() + 4);
    for (name, value) in SECURITY {
        h.insert(name, value);
    }
    if state.settings.base_url.is_https() {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    // Pages may show personal data: nothing is cached unless a handler said otherwise (assets).
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, NO_STORE);
    }
}

/// Whether a state-changing request is one a browser marks as coming from another site (to be
/// refused). Requests with neither header (old browsers, scripts) still need the form's CSRF token.
pub fn cross_site(state: &AppState, method: &Method, headers: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let origin_ok = headers
        .get(header::ORIGIN)
        .map(|o| o.as_bytes() == state.settings.base_url.origin().as_bytes())
        .unwrap_or(true);
    let site_ok =
        headers.get("sec-fetch-site").map(|s| matches!(s.as_bytes(), b"same-origin" | b"none")).unwrap_or(true);
    !(origin_ok && site_ok)
}
