//! Logging in (SPEC §3.6–3.7) and recovering a forgotten password (SPEC §3.8–3.9).

pub(crate) mod forgot;
pub(crate) mod otp;
pub(crate) mod password;

use axum::Router;
use axum::http::{HeaderMap, header};
use axum::routing::{get, post};

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(password::show).post(password::submit))
        .route("/login/otp", get(otp::show).post(otp::submit))
        .route("/login/otp/cancel", post(otp::cancel))
        .route("/login/otp/resend", post(otp::resend))
        .route("/login/forgot", get(forgot::show).post(forgot::submit))
        .route("/login/forgot/password", get(forgot::show_password).post(forgot::submit_password))
        .route("/login/forgot/done", get(forgot::done))
}

/// The browser's User-Agent, shortened, for the login record.
pub fn user_agent(headers: &HeaderMap) -> String {
    headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").chars().take(300).collect()
}
