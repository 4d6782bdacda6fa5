//! Flood control for cookieless requests: every page that starts a session writes a row, so one
//! address may start at most [`NEW_SESSIONS_PER_MINUTE`] per minute on each node. This is a
//! per-node, in-memory guard against filling the database, not a security limit: those live in
//! the database (`flows::limits`) and hold across nodes.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::client::{LimitKey, client_key};
use super::error::AppError;
use crate::state::AppState;

/// Generous: an office's job seekers may share one address.
pub const NEW_SESSIONS_PER_MINUTE: u32 = 300;

/// Counts per address within the current minute.
#[derive(Debug, Default)]
pub struct SessionStarts {
    counts: Mutex<(i64, HashMap<LimitKey, u32>)>,
}

impl SessionStarts {
    /// Counts one start for `client` in `minute`; false once the client is over the budget.
    pub fn admit(&self, client: LimitKey, minute: i64) -> bool {
        let Ok(mut guard) = self.counts.lock() else { return true };
        let (current, counts) = &mut *guard;
        if *current != minute {
            // A new minute forgets the last one, so memory stays bounded by one minute's addresses.
            *current = minute;
            counts.clear();
        }
        let n = counts.entry(client).or_default();
        *n = n.saturating_add(1);
        *n <= NEW_SESSIONS_PER_MINUTE
    }
}

/// Paths whose GET starts a session when the browser has none.
fn starts_session(path: &str) -> bool {
    path.starts_with("/opening/") || path.starts_with("/login") || path.starts_with("/staff/login")
}

pub async fn limit_new_sessions(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let cookieless = !request.headers().contains_key(header::COOKIE);
    if cookieless && starts_session(request.uri().path()) {
        // Keyed like the per-client limits, so an IPv6 host cannot spread over its /64.
        let client = client_key(request.headers(), request.extensions(), &state);
        let minute = state.now().as_second().div_euclid(60);
        if !state.session_starts.admit(client, minute) {
            return AppError::TooManyRequests.into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_budget_per_minute_and_others_are_unaffected() {
        let starts = SessionStarts::default();
        let a = LimitKey::of("203.0.113.1".parse().unwrap(), 64);
        let b = LimitKey::of("203.0.113.2".parse().unwrap(), 64);
        for _ in 0..NEW_SESSIONS_PER_MINUTE {
            assert!(starts.admit(a, 1));
        }
        assert!(!starts.admit(a, 1));
        assert!(starts.admit(b, 1));
        assert!(starts.admit(a, 2), "a new minute starts a new budget");
    }
}
