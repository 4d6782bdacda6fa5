//! The web layer: routers by area, the extractors every handler shares (session, CSRF, client
//! address, forms), security headers, and the mapping of errors to pages. Handlers are thin:
//! extract, parse into domain types, call one flow, map the outcome to a page or a redirect.

pub mod client;
#[doc(hidden)]
pub mod decoding;
pub mod delivery;
pub mod edge;
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

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;

use crate::drain::Drain;
use crate::state::AppState;

/// The largest request body accepted. Every form here is far smaller.
pub const MAX_BODY: usize = 64 * 1024;

/// The routes of every area behind one layer ([`edge`]): each `Router::layer` call boxes every
/// route once more, so the edge and the body limit are applied together.
pub fn router(state: AppState, drain: Arc<Drain>) -> Router {
    let edge = tower::ServiceBuilder::new()
        .layer(edge::EdgeLayer::new(state.clone(), drain))
        .layer(DefaultBodyLimit::max(MAX_BODY));
    Router::new()
        .merge(public::routes())
        .merge(opening::routes())
        .merge(login::routes())
        .merge(mypage::routes())
        .merge(passkeys::routes())
        .merge(staff::routes())
        .route("/lang/{code}", axum::routing::get(lang::switch))
        .fallback(error::not_found)
        .layer(edge)
        .with_state(state)
}
