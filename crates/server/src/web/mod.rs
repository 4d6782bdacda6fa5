//! The web layer: routers by area, the extractors every handler shares (session, CSRF, client
//! address, forms), security headers, and the mapping of errors to pages. Handlers are thin:
//! extract, parse into domain types, call one flow, map the outcome to a page or a redirect.

pub mod client;
#[doc(hidden)]
pub mod decoding;
pub mod delivery;
pub mod error;
pub mod form;
pub mod headers;
pub mod lang;
pub mod login;
pub mod mypage;
pub mod opening;
pub mod outage;
pub mod page;
pub mod passkeys;
pub mod password_step;
pub mod presession;
pub mod public;
pub mod session;
pub mod staff;

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;

use crate::state::AppState;

/// The largest request body accepted. Every form here is far smaller.
pub const MAX_BODY: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(public::routes())
        .merge(opening::routes())
        .merge(login::routes())
        .merge(mypage::routes())
        .merge(passkeys::routes())
        .merge(staff::routes())
        .route("/lang/{code}", axum::routing::get(lang::switch))
        .fallback(error::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(state.clone(), outage::gate))
        .layer(middleware::from_fn_with_state(state.clone(), edge))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .with_state(state)
}

/// Everything each request passes through, in one layer (each layer is a boxed future and a
/// hop): the request is counted by route template (never the raw path, which may hold personal
/// data and would let clients add series without end) and by method from a closed set; a
/// cross-site state-changing request is refused; the language is chosen for the rest of the
/// request; the security headers are added to whatever comes back.
async fn edge(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = crate::metrics::Method::of(request.method());
    // An `Arc<str>` clone, not a copy of the path.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let lang = lang::of_request(request.headers());
    let is_asset = request.uri().path().starts_with("/static/");
    let mut response = if headers::cross_site(&state, request.method(), request.headers()) {
        tracing::warn!(method = %request.method(), "cross-site request refused");
        crate::i18n::with_lang(lang, async { error::AppError::Forbidden.into_response() }).await
    } else {
        crate::i18n::with_lang(lang, next.run(request)).await
    };
    lang::mark(&mut response, lang, is_asset);
    headers::add_security_headers(&state, &mut response);
    state.metrics.observe_request(
        route.as_ref().map(MatchedPath::as_str),
        method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
