//! The form extractor: a body that cannot be read as a form becomes the "could not be read"
//! page (never a raw rejection text), and an oversized one the "too large" page.

use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use super::error::AppError;

/// Longest value accepted in any single-line field before parsing.
pub const MAX_FIELD: usize = 512;

pub struct Form<T>(pub T);

impl<S, T> FromRequest<S> for Form<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(value)) => Ok(Self(value)),
            Err(FormRejection::BytesRejection(e)) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(AppError::PayloadTooLarge)
            }
            Err(e) => {
                tracing::info!(reason = %e.body_text(), "unreadable form");
                Err(AppError::BadRequest)
            }
        }
    }
}

/// Whether a raw field is short enough and free of control characters to be parsed at all.
pub fn acceptable(value: &str) -> bool {
    value.len() <= MAX_FIELD && !value.chars().any(char::is_control)
}

/// A form that carries nothing but its CSRF token (logout, resend, revoke, the staff actions).
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}
