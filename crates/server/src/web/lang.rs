//! The language of each request: the switch's cookie when set, else `Accept-Language`, else
//! Japanese; and `/lang/{code}`, the switch every page links to.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

use super::page;
use crate::i18n::Lang;
use crate::state::AppState;

const COOKIE: &str = "mypage-lang";

fn from_cookie(headers: &HeaderMap) -> Option<Lang> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .and_then(|(_, v)| Lang::parse(v))
}

/// The request's language: the switch's cookie, else `Accept-Language`, else Japanese.
pub fn of_request(headers: &HeaderMap) -> Lang {
    from_cookie(headers).unwrap_or_else(|| {
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map(Lang::from_accept_language)
            .unwrap_or_default()
    })
}

/// Says which language the response is in and, except for assets (the same in every language:
/// no Vary, so a new cookie does not refetch them), what it varies by.
pub fn mark(response: &mut Response, lang: Lang, is_asset: bool) {
    response.headers_mut().insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(lang.code()));
    if !is_asset {
        response.headers_mut().insert(header::VARY, HeaderValue::from_static("Accept-Language, Cookie"));
    }
}

/// Where to go back to after switching: the page the switch was clicked on, if it is ours.
fn back_to(state: &AppState, headers: &HeaderMap) -> String {
    let origin = state.settings.base_url.origin();
    headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.strip_prefix(origin))
        // Only a path of ours: never `//host` or `/\host`, which browsers read as another site.
        .filter(|path| path.starts_with('/') && !path.starts_with("//") && !path.contains('\\'))
        .map_or_else(|| "/".to_owned(), str::to_owned)
}

/// Sets the language for a year (and for the logged-in account's mail) and goes back.
pub async fn switch(State(state): State<AppState>, Path(code): Path<String>, headers: HeaderMap) -> Response {
    let Some(lang) = Lang::parse(&code) else { return page::see_other("/") };
    if let Ok(Some(session)) = super::session::load(&state, &headers).await
        && let Some(account_id) = session.account_id
        && let Err(e) = crate::flows::settings::set_lang(&state, account_id, lang).await
    {
        tracing::warn!(error = %e, "could not record the account's language");
    }
    let secure = if state.settings.base_url.secure_cookies() { "; Secure" } else { "" };
    let cookie =
        HeaderValue::from_str(&format!("{COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax{secure}", lang.code()));
    page::with_cookie(page::see_other(&back_to(&state, &headers)), cookie.ok())
}
