//! Security headers on every response, and the Origin check on every state-changing request.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::AppError;
use crate::state::AppState;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=()"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    if state.settings.base_url.is_https() {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=63072000; includeSubDomains"));
    }
    // Pages may show personal data: nothing is cached unless a handler said otherwise (assets).
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Refuses a state-changing request that a browser marks as coming from another site. Requests
/// with neither header (old browsers, scripts) still need the form's CSRF token.
pub async fn origin_check(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        let headers = request.headers();
        let origin_ok = headers
            .get(header::ORIGIN)
            .map(|o| o.as_bytes() == state.settings.base_url.origin().as_bytes())
            .unwrap_or(true);
        let site_ok =
            headers.get("sec-fetch-site").map(|s| matches!(s.as_bytes(), b"same-origin" | b"none")).unwrap_or(true);
        if !(origin_ok && site_ok) {
            tracing::warn!(method = %request.method(), "cross-site request refused");
            return AppError::Forbidden.into_response();
        }
    }
    next.run(request).await
}
