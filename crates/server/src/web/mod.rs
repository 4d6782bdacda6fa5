//! The web layer: routers by area, the extractors every handler shares (session, CSRF, client
//! address, forms), security headers, and the mapping of errors to pages. Handlers are thin:
//! extract, parse into domain types, call one flow, map the outcome to a page or a redirect.

pub mod client;
#[doc(hidden)]
pub mod decoding;
pub mod error;
pub mod flood;
pub mod form;
pub mod headers;
pub mod lang;
pub mod login;
pub mod mypage;
pub mod opening;
pub mod page;
pub mod password_step;
pub mod public;
pub mod session;
pub mod staff;

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
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
        .merge(staff::routes())
        .route("/lang/{code}", axum::routing::get(lang::switch))
        .fallback(error::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(state.clone(), flood::limit_new_sessions))
        .layer(middleware::from_fn_with_state(state.clone(), headers::origin_check))
        .layer(middleware::from_fn_with_state(state.clone(), headers::security_headers))
        .layer(middleware::from_fn(lang::negotiate))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .with_state(state)
}

/// Counts each request by route template (never the raw path, which may hold personal data and
/// would let clients add series without end) and by method from a closed set.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let method = crate::metrics::Method::of(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.observe_request(route.as_deref(), method, response.status().as_u16(), started.elapsed());
    response
}
