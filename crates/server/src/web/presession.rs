//! What a visitor without a session carries instead of one: a random value in a cookie and, in
//! each form, an HMAC of it under the server secret (signed double-submit). Showing a form to a
//! new visitor therefore writes nothing; the server-side session starts at the first POST that
//! has state to keep. The documents opened on the consent step travel the same way, signed and
//! bound to the same random value, so opening them writes nothing either.

use axum::http::{HeaderMap, HeaderValue};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use super::error::AppError;
use super::session::{Realm, cookie_value};
use crate::flows::opening::DocumentKind;
use crate::state::AppState;
use crate::tokens;

/// The random value of this browser's pre-session cookie.
#[derive(Debug, Clone)]
pub struct Nonce(String);

impl Nonce {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

fn pre_name(state: &AppState) -> &'static str {
    if state.settings.base_url.secure_cookies() { "__Host-mypage-pre" } else { "mypage-pre" }
}

fn docs_name(state: &AppState) -> &'static str {
    if state.settings.base_url.secure_cookies() { "__Host-mypage-docs" } else { "mypage-docs" }
}

fn cookie(state: &AppState, name: &str, value: &str) -> Result<HeaderValue, AppError> {
    let secure = if state.settings.base_url.secure_cookies() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}"))
        .map_err(|e| AppError::Internal(e.to_string()))
}

/// The browser's pre-session value, if it sent a well-formed one.
pub fn nonce(state: &AppState, headers: &HeaderMap) -> Option<Nonce> {
    cookie_value(headers, pre_name(state)).filter(|v| v.len() == 43).map(Nonce)
}

/// The browser's pre-session value, or a new one with the cookie that sets it.
pub fn nonce_or_new(state: &AppState, headers: &HeaderMap) -> Result<(Nonce, Option<HeaderValue>), AppError> {
    if let Some(nonce) = nonce(state, headers) {
        return Ok((nonce, None));
    }
    let value = tokens::random_token().map_err(|e| AppError::Internal(e.to_string()))?;
    let set = cookie(state, pre_name(state), &value)?;
    Ok((Nonce(value), Some(set)))
}

fn mac(state: &AppState, label: &[u8], realm: Realm, nonce: &Nonce, extra: &str) -> String {
    let context = format!("{}\0{}\0{extra}", realm.as_str(), nonce.0);
    URL_SAFE_NO_PAD.encode(state.keys.derive(label, context.as_bytes()))
}

/// The CSRF token a form of `realm` carries for this pre-session.
pub fn csrf(state: &AppState, realm: Realm, nonce: &Nonce) -> String {
    mac(state, b"pre-session csrf", realm, nonce, "")
}

/// Whether `submitted` is this pre-session's token for `realm`, in constant time.
pub fn csrf_matches(state: &AppState, realm: Realm, nonce: &Nonce, submitted: &str) -> bool {
    csrf(state, realm, nonce).as_bytes().ct_eq(submitted.as_bytes()).into()
}

/// `privacy-3_terms-1`: the documents (and versions) opened, in a cookie-safe form.
fn encode_opened(opened: &[(DocumentKind, i64)]) -> String {
    opened.iter().map(|(kind, version)| format!("{}-{version}", kind.as_str())).collect::<Vec<_>>().join("_")
}

fn decode_opened(list: &str) -> Option<Vec<(DocumentKind, i64)>> {
    list.split('_')
        .filter(|item| !item.is_empty())
        .map(|item| {
            let (kind, version) = item.split_once('-')?;
            Some((DocumentKind::parse(kind)?, version.parse().ok()?))
        })
        .collect()
}

/// The documents this pre-session has opened; nothing when the cookie is missing, was made for
/// another pre-session or was altered.
pub fn opened(state: &AppState, headers: &HeaderMap, nonce: &Nonce) -> Vec<(DocumentKind, i64)> {
    let Some(value) = cookie_value(headers, docs_name(state)) else { return Vec::new() };
    let Some((list, tag)) = value.rsplit_once('.') else { return Vec::new() };
    let expected = mac(state, b"pre-session documents", Realm::Public, nonce, list);
    if !bool::from(expected.as_bytes().ct_eq(tag.as_bytes())) {
        return Vec::new();
    }
    decode_opened(list).unwrap_or_default()
}

/// The cookie that remembers `opened` for this pre-session.
pub fn opened_cookie(state: &AppState, nonce: &Nonce, opened: &[(DocumentKind, i64)]) -> Result<HeaderValue, AppError> {
    let list = encode_opened(opened);
    let tag = mac(state, b"pre-session documents", Realm::Public, nonce, &list);
    cookie(state, docs_name(state), &format!("{list}.{tag}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opened_documents_survive_the_cookie_encoding() {
        let opened = vec![(DocumentKind::Privacy, 3), (DocumentKind::Terms, 12)];
        assert_eq!(decode_opened(&encode_opened(&opened)), Some(opened));
        assert_eq!(decode_opened(""), Some(Vec::new()));
        assert_eq!(decode_opened("privacy-x"), None);
        assert_eq!(decode_opened("other-1"), None);
    }
}
