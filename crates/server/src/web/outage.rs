//! The database gate: while the database is known to be down, every page is answered at once
//! with 503, Retry-After and the "temporarily unavailable" page, instead of each request waiting
//! for a connection. A failed or slow request asks for a probe; the state itself is decided by
//! probes (`store::health`).

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{AppError, ProbeDatabase};
use crate::state::AppState;
use crate::store::health::SLOW_REQUEST;

/// Paths that never touch the database, or answer for it themselves (`/readyz`).
fn bypasses(path: &str) -> bool {
    path == "/healthz" || path == "/readyz" || path.starts_with("/static/")
}

pub async fn gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let health = state.store.health();
    if health.is_down() && !bypasses(request.uri().path()) {
        return AppError::Unavailable(String::new()).into_response();
    }
    let run = next.run(request);
    tokio::pin!(run);
    let response = tokio::select! {
        response = &mut run => response,
        () = tokio::time::sleep(SLOW_REQUEST) => {
            health.suspect();
            run.await
        }
    };
    if response.extensions().get::<ProbeDatabase>().is_some() {
        health.suspect();
    }
    response
}
