//! The database gate: while the database is known to be down, every page is answered at once
//! with 503, Retry-After and the "temporarily unavailable" page, instead of each request waiting
//! for a connection. A failed request asks for a probe; the state itself is decided by probes
//! (`store::health`).

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{AppError, ProbeDatabase};
use crate::state::AppState;

/// Paths that never touch the database, or answer for it themselves (`/readyz`).
fn bypasses(path: &str) -> bool {
    path == "/healthz" || path == "/readyz" || path.starts_with("/static/")
}

pub async fn gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let health = state.store.health();
    if health.is_down() && !bypasses(request.uri().path()) {
        return AppError::Unavailable(String::new()).into_response();
    }
    let response = next.run(request).await;
    if response.extensions().get::<ProbeDatabase>().is_some() {
        health.suspect();
    }
    response
}
