//! The database gate: while the database is known to be down, every page is answered at once
//! with 503, Retry-After and the "temporarily unavailable" page, instead of each request waiting
//! for a connection. A failed or slow request asks for a probe (both in [`super::edge`]); the
//! state itself is decided by probes (`store::health`).

use crate::state::AppState;

/// Paths that never touch the database, or answer for it themselves (`/readyz`).
fn bypasses(path: &str) -> bool {
    path == "/healthz" || path == "/readyz" || path.starts_with("/static/")
}

/// Whether a request for `path` is answered 503 at once: the database is down and the page needs it.
pub fn closed(state: &AppState, path: &str) -> bool {
    state.store.health().is_down() && !bypasses(path)
}
