//! Errors that end a request, rendered as a page in the user's language. Internal details are
//! logged with a request id and never shown; the page shows the id so staff can find the log.

use std::any::Any;

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::flows::FlowError;
use crate::i18n::{Catalog, catalog, request_lang};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("the request could not be read")]
    BadRequest,
    #[error("cross-site or unauthenticated form post")]
    Forbidden,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("the session expired")]
    SessionExpired,
    #[error("password hashing queue full")]
    Busy,
    /// The client address has started as many sessions as its budget allows for now.
    #[error("too many new sessions from one client address")]
    TooManySessions,
    /// The database cannot serve (down, full, read-only); nothing of the request was written.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<FlowError> for AppError {
    fn from(e: FlowError) -> Self {
        match e {
            FlowError::Busy => Self::Busy,
            FlowError::Store(e) if e.is_unavailable() => Self::Unavailable(e.to_string()),
            FlowError::Store(_) | FlowError::Hash(_) | FlowError::Randomness(_) | FlowError::Webauthn(_) => {
                Self::Internal(e.to_string())
            }
        }
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        if e.is_unavailable() { Self::Unavailable(e.to_string()) } else { Self::Internal(e.to_string()) }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        Self::Internal(format!("template: {e}"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    t: &'a Catalog,
    title: String,
    message: String,
    next_href: &'a str,
    next_label: String,
    request_id: Option<String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let t = catalog(request_lang());
        let (status, key, next_href) = match &self {
            Self::NotFound => (StatusCode::NOT_FOUND, "error.not_found", "/"),
            Self::BadRequest => (StatusCode::BAD_REQUEST, "error.bad_request", "/"),
            Self::Forbidden => (StatusCode::FORBIDDEN, "error.forbidden", "/"),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "error.too_large", "/"),
            Self::SessionExpired => (StatusCode::BAD_REQUEST, "error.session_expired", "/opening/consent"),
            Self::Busy => (StatusCode::SERVICE_UNAVAILABLE, "error.busy", "/"),
            Self::TooManySessions => (StatusCode::TOO_MANY_REQUESTS, "error.too_many_sessions", "/"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "error.unavailable", "/"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "error.internal", "/"),
        };
        let request_id = match &self {
            Self::Internal(detail) => {
                let id = crate::tokens::random_token().map(|t| t[..12].to_owned()).unwrap_or_default();
                tracing::error!(request_id = %id, error = %detail, "request failed");
                Some(id)
            }
            Self::Unavailable(detail) if !detail.is_empty() => {
                tracing::warn!(error = %detail, "request refused: database unavailable");
                None
            }
            _ => None,
        };
        let page = ErrorPage {
            t,
            title: t.get(&format!("{key}.title")),
            message: t.get(&format!("{key}.message")),
            next_href,
            next_label: t.get(&format!("{key}.next")),
            request_id,
        };
        let body = page.render().unwrap_or_else(|_| t.get("error.internal.message"));
        let mut response = (status, Html(body)).into_response();
        if matches!(self, Self::Busy | Self::Unavailable(_)) {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        if matches!(self, Self::TooManySessions) {
            // A place frees as the oldest of the hour's sessions leaves the window.
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("600"));
        }
        if matches!(self, Self::Unavailable(_) | Self::Internal(_)) {
            // The database gate asks for a health probe when it sees this.
            response.extensions_mut().insert(ProbeDatabase);
        }
        response
    }
}

/// Marks a response whose failure may mean the database is gone (see `web::outage`).
#[derive(Debug, Clone, Copy)]
pub struct ProbeDatabase;

pub async fn not_found() -> AppError {
    AppError::NotFound
}

/// A panic in a handler becomes the internal-error page; the panic text goes to the log only.
pub fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response {
    let detail = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default();
    AppError::Internal(format!("panic: {detail}")).into_response()
}
