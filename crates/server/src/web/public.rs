//! Pages and endpoints outside any flow: the top page, self-hosted assets, health and metrics.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::error::AppError;
use super::page;
use crate::i18n::{Catalog, catalog, request_lang};
use crate::state::AppState;
use crate::store::outbox;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(top))
        .route("/static/{file}", get(asset))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/mail-status", get(super::delivery::status))
}

#[derive(Template)]
#[template(path = "top.html")]
struct TopPage<'a> {
    t: &'a Catalog,
}

async fn top() -> Result<Response, AppError> {
    Ok(page::html(TopPage { t: catalog(request_lang()) }.render()?, false))
}

/// Assets are compiled in: the binary is the whole deployment.
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.css", "text/css; charset=utf-8", include_str!("../../static/app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../../static/app.js")),
    ("consent.js", "text/javascript; charset=utf-8", include_str!("../../static/consent.js")),
    ("slip.css", "text/css; charset=utf-8", include_str!("../../static/slip.css")),
    ("slip.js", "text/javascript; charset=utf-8", include_str!("../../static/slip.js")),
    ("password.js", "text/javascript; charset=utf-8", include_str!("../../static/password.js")),
    ("mail-status.js", "text/javascript; charset=utf-8", include_str!("../../static/mail-status.js")),
    ("passkey.js", "text/javascript; charset=utf-8", include_str!("../../static/passkey.js")),
];

async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
            ],
            *body,
        )
            .into_response(),
        None => AppError::NotFound.into_response(),
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when the database is not known to be down and answers within the acquire timeout; a
/// failed check asks for a probe, so the next call fails at once.
async fn readyz(State(state): State<AppState>) -> Response {
    let health = state.store.health();
    if !health.is_down() && state.store.ping().await {
        return (StatusCode::OK, "ready\n").into_response();
    }
    health.suspect();
    (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "5")], "database unreachable\n").into_response()
}

async fn metrics(State(state): State<AppState>) -> Result<Response, AppError> {
    let backlog = outbox::backlog(state.store.pool()).await?;
    let failed = outbox::failed(state.store.pool()).await?;
    let depth = i64::try_from(state.hasher.depth()).unwrap_or(i64::MAX);
    let body = state.metrics.render(&[
        ("mypage_outbox_backlog", "Mails waiting to be delivered.", backlog),
        ("mypage_outbox_failed", "Mails given up on.", failed),
        ("mypage_hash_queue_depth", "Password hashes running or waiting.", depth),
        (
            "mypage_hash_refused",
            "Requests refused (503) since start because the password hashing queue was full.",
            i64::try_from(state.hasher.refused()).unwrap_or(i64::MAX),
        ),
    ]);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response())
}
