//! The endpoints `static/passkey.js` calls: the options of a ceremony (JSON for
//! `navigator.credentials.create/get`) and its finish, for logging in and for adding a passkey in
//! アカウント設定; and the removal of a passkey (a plain form). Every post carries the page's
//! CSRF token, and the Origin check of every state-changing request applies.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use mypage_domain::secret::Secret;
use serde::Deserialize;

use super::login::user_agent;
use super::mypage::CurrentAccount;
use super::mypage::settings;
use crate::flows::login::Origin;
use crate::flows::passkeys::{self as flow, LoginOutcome, NAME_MAX_CHARS, Registered};
use crate::flows::settings::{self as settings_flow, CurrentPassword};
use crate::i18n::{catalog, request_lang};
use crate::state::AppState;
use crate::store::accounts;
use crate::web::client::ClientAddr;
use crate::web::error::AppError;
use crate::web::form::{self, CsrfForm, Form};
use crate::web::page::{self, Errors};
use crate::web::session::{self, FlowData};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login/passkey/options", post(login_options))
        .route("/login/passkey", post(login_finish))
        .route("/mypage/settings/passkeys/options", post(register_options))
        .route("/mypage/settings/passkeys", post(register_finish))
        .route("/mypage/settings/passkeys/{id}/remove", post(remove))
}

pub(crate) fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], value.to_string()).into_response()
}

pub(crate) fn error(status: StatusCode, message: String) -> Response {
    json(status, &serde_json::json!({ "error": message }))
}

/// An error that belongs to the current password field (the script shows it there).
fn password_error(status: StatusCode, message: String) -> Response {
    json(status, &serde_json::json!({ "error": message, "field": "current_password" }))
}

fn begun(begun: flow::Begun) -> Response {
    json(StatusCode::OK, &serde_json::json!({ "ceremony": begun.ceremony, "options": begun.options }))
}

/// Passkeys are offered only where the base URL makes a relying party.
fn available(state: &AppState) -> Result<(), AppError> {
    if state.webauthn.is_some() { Ok(()) } else { Err(AppError::NotFound) }
}

pub async fn login_options(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    available(&state)?;
    let t = catalog(request_lang());
    let Ok(session) = session::for_pre_session_post(&state, &headers, &form.csrf).await? else {
        return Ok(error(StatusCode::FORBIDDEN, t.get("form.refused")));
    };
    match flow::begin_login(&state, &session.ceremony_binding(&state), &client).await? {
        Some(begun_login) => Ok(begun(begun_login)),
        None => Ok(error(StatusCode::TOO_MANY_REQUESTS, t.get("login.notice.client_limited"))),
    }
}

#[derive(Deserialize)]
pub struct FinishForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: String,
    /// Only on the no-script post of the add form.
    #[serde(default)]
    name: String,
}

pub async fn login_finish(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<FinishForm>,
) -> Result<Response, AppError> {
    available(&state)?;
    let t = catalog(request_lang());
    let Ok(session) = session::for_pre_session_post(&state, &headers, &form.csrf).await? else {
        return Ok(error(StatusCode::FORBIDDEN, t.get("form.refused")));
    };
    let binding = session.ceremony_binding(&state);
    let ua = user_agent(&headers);
    let task_state = state.clone();
    // Runs to the end even if the client disconnects: a failure is always counted.
    let outcome = page::to_completion(async move {
        let origin = Origin { client: &client, user_agent: &ua };
        flow::finish_login(&task_state, &binding, &form.ceremony, &form.credential, &origin).await
    })
    .await??;
    match outcome {
        LoginOutcome::LoggedIn { account_id } => {
            // A new session ID at login, as after a password; the pre-login session is discarded.
            session.destroy(&state).await?;
            let (_, cookie) = session::start_for(&state, Some(account_id), FlowData::default()).await?;
            let response = json(StatusCode::OK, &serde_json::json!({ "redirect": "/mypage" }));
            Ok(page::with_cookie(response, Some(cookie)))
        }
        LoginOutcome::Rejected => Ok(error(StatusCode::UNPROCESSABLE_ENTITY, t.get("login.passkey.rejected"))),
        LoginOutcome::ClientLimited => Ok(error(StatusCode::TOO_MANY_REQUESTS, t.get("login.notice.client_limited"))),
    }
}

#[derive(Deserialize)]
pub struct OptionsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    current_password: String,
}

/// The device name as typed, or the message that says what is wrong with it.
pub(crate) fn device_name(raw: &str) -> Result<String, &'static str> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("mypage.settings.passkeys.name_empty");
    }
    if name.chars().count() > NAME_MAX_CHARS || !form::acceptable(name) {
        return Err("mypage.settings.passkeys.name_too_long");
    }
    Ok(name.to_owned())
}

pub async fn register_options(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    current: CurrentAccount,
    headers: HeaderMap,
    Form(form): Form<OptionsForm>,
) -> Result<Response, AppError> {
    available(&state)?;
    let session = session::for_post(&state, &headers, &form.csrf).await?;
    let t = catalog(request_lang());
    let name = match device_name(&form.name) {
        Ok(name) => name,
        Err(key) => return Ok(error(StatusCode::UNPROCESSABLE_ENTITY, t.get(key))),
    };
    // A passkey is a way in that outlives the session: a borrowed session cannot add one
    // without the password, as it cannot change the login ID.
    if form.current_password.is_empty() {
        return Ok(password_error(StatusCode::UNPROCESSABLE_ENTITY, t.get("mypage.settings.passkeys.password_empty")));
    }
    let password = Secret::new(form.current_password.chars().take(256).collect());
    match settings_flow::verify_current(&state, current.account_id, &password, &client).await? {
        CurrentPassword::Right => {}
        CurrentPassword::Wrong => {
            return Ok(password_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                t.get("mypage.settings.password_wrong_current"),
            ));
        }
        CurrentPassword::Limited => {
            return Ok(password_error(StatusCode::TOO_MANY_REQUESTS, t.get("mypage.settings.password_limited")));
        }
    }
    let account = accounts::find(state.store.pool(), current.account_id).await?.ok_or(AppError::NotFound)?;
    let binding = session.ceremony_binding(&state);
    Ok(begun(flow::begin_registration(&state, account.id, &account.email, &binding, &name).await?))
}

pub async fn register_finish(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    current: CurrentAccount,
    headers: HeaderMap,
    Form(form): Form<FinishForm>,
) -> Result<Response, AppError> {
    available(&state)?;
    let session = session::for_post(&state, &headers, &form.csrf).await?;
    let t = catalog(request_lang());
    if form.ceremony.is_empty() {
        // The form was posted without the script: the page again, with the name as typed.
        let mut errors = Errors::default();
        errors.add("passkey_name", t.get("mypage.settings.passkeys.needs_script"));
        return settings::render_with(&state, &current, "", &form.name, errors, None).await;
    }
    let binding = session.ceremony_binding(&state);
    let ua = user_agent(&headers);
    let origin = Origin { client: &client, user_agent: &ua };
    let outcome =
        flow::finish_registration(&state, current.account_id, &binding, &form.ceremony, &form.credential, &origin)
            .await?;
    Ok(match outcome {
        Registered::Added { .. } => {
            json(StatusCode::OK, &serde_json::json!({ "redirect": "/mypage/settings?done=passkey_added" }))
        }
        Registered::Duplicate => error(StatusCode::UNPROCESSABLE_ENTITY, t.get("mypage.settings.passkeys.duplicate")),
        Registered::Refused => error(StatusCode::UNPROCESSABLE_ENTITY, t.get("mypage.settings.passkeys.refused")),
    })
}

pub async fn remove(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    current: CurrentAccount,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    session::for_post(&state, &headers, &form.csrf).await?;
    let account = accounts::find(state.store.pool(), current.account_id).await?.ok_or(AppError::NotFound)?;
    let actor = format!("job_seeker:{}", account.job_seeker_id);
    flow::remove(&state, account.id, account.job_seeker_id, id, &actor, &client).await?;
    Ok(page::see_other("/mypage/settings?done=passkey_removed"))
}
