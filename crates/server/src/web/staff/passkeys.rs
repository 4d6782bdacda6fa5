//! 「パスキー」 of the staff console: a member's own passkeys (list, add, remove), and the staff
//! ID + passkey login beside the password form of `/staff/login`. The ceremonies' options and
//! finishes are JSON for `static/passkey.js`, as for job seekers; every post carries the page's
//! CSRF token.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use mypage_domain::secret::Secret;
use serde::Deserialize;

use super::{CurrentStaff, Nav, PasskeyEnrolment};
use crate::flows::passkeys::{NAME_MAX_CHARS, Registered};
use crate::flows::settings::CurrentPassword;
use crate::flows::staff::LoginOutcome;
use crate::flows::staff_passkeys as flow;
use crate::flows::staff_password;
use crate::i18n::{Catalog, catalog, request_lang};
use crate::state::AppState;
use crate::store::staff_passkeys as store_passkeys;
use crate::web::client::ClientAddr;
use crate::web::error::AppError;
use crate::web::form::{CsrfForm, Form};
use crate::web::page::{self, Errors, echo};
use crate::web::passkeys::{device_name, error, json};
use crate::web::session::{self, FlowData, Realm, Session};

#[derive(Template)]
#[template(path = "staff/passkeys.html")]
struct PasskeysPage<'a> {
    t: &'a Catalog,
    nav: Nav,
    /// Whether passkeys can be added here (the base URL makes a relying party).
    offered: bool,
    /// id, name, added, last used, label of its remove button
    passkeys: Vec<(i64, String, String, String, String)>,
    passkey_name: String,
    name_max: usize,
    errors: Errors,
    notice: Option<String>,
    /// The office requires passkeys and only one is left (it cannot be removed).
    last_required: bool,
}

async fn render(
    state: &AppState,
    current: &CurrentStaff,
    passkey_name: &str,
    errors: Errors,
    notice: Option<String>,
) -> Result<Response, AppError> {
    let t = catalog(request_lang());
    let listed = store_passkeys::for_staff(state.store.pool(), current.member.id).await?;
    let last_required = flow::required(state, current.member.passkeys_required) && listed.len() == 1;
    let passkeys = listed
        .into_iter()
        .map(|p| {
            let last =
                p.last_used_at.map_or_else(|| t.get("mypage.settings.passkeys.never_used"), crate::i18n::datetime_ms);
            let remove = t.fmt("mypage.settings.passkeys.remove_named", &[("name", &p.name)]);
            (p.id, p.name, crate::i18n::datetime_ms(p.created_at), last, remove)
        })
        .collect();
    let has_errors = !errors.is_empty();
    let page = PasskeysPage {
        t,
        nav: Nav::of(current),
        offered: state.webauthn.is_some(),
        passkeys,
        passkey_name: echo(passkey_name),
        name_max: NAME_MAX_CHARS,
        errors,
        notice,
        last_required,
    };
    Ok(page::html(page.render()?, has_errors))
}

#[derive(Deserialize)]
pub struct PasskeysQuery {
    #[serde(default)]
    done: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    PasskeyEnrolment(current): PasskeyEnrolment,
    Query(query): Query<PasskeysQuery>,
) -> Result<Response, AppError> {
    let t = catalog(request_lang());
    let notice = match query.done.as_deref() {
        Some("added") => Some(t.get("staff.passkeys.added_notice")),
        Some("removed") => Some(t.get("mypage.settings.passkeys.removed_notice")),
        _ => None,
    };
    render(&state, &current, "", Errors::default(), notice).await
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

fn available(state: &AppState) -> Result<(), AppError> {
    if state.webauthn.is_some() { Ok(()) } else { Err(AppError::NotFound) }
}

pub async fn options(
    State(state): State<AppState>,
    PasskeyEnrolment(current): PasskeyEnrolment,
    headers: HeaderMap,
    Form(form): Form<OptionsForm>,
) -> Result<Response, AppError> {
    available(&state)?;
    let session = session::for_post_in(&state, Realm::Staff, &headers, &form.csrf).await?;
    let t = catalog(request_lang());
    let name = match device_name(&form.name) {
        Ok(name) => name,
        Err(key) => return Ok(error(StatusCode::UNPROCESSABLE_ENTITY, t.get(key))),
    };
    // As for a job seeker: a borrowed session cannot add a lasting way in without the password.
    let password_error = |status: StatusCode, key: &str| {
        json(status, &serde_json::json!({ "error": t.get(key), "field": "current_password" }))
    };
    if form.current_password.is_empty() {
        return Ok(password_error(StatusCode::UNPROCESSABLE_ENTITY, "mypage.settings.passkeys.password_empty"));
    }
    let password = Secret::new(form.current_password.chars().take(256).collect());
    match staff_password::verify_current(&state, current.member.id, &password).await? {
        CurrentPassword::Right => {}
        CurrentPassword::Wrong => {
            return Ok(password_error(StatusCode::UNPROCESSABLE_ENTITY, "mypage.settings.password_wrong_current"));
        }
        CurrentPassword::Limited => {
            return Ok(password_error(StatusCode::TOO_MANY_REQUESTS, "mypage.settings.password_limited"));
        }
    }
    let binding = session.ceremony_binding(&state);
    let member = &current.member;
    let begun = flow::begin_registration(&state, member.id, &member.login_id, &binding, &name).await?;
    Ok(json(StatusCode::OK, &serde_json::json!({ "ceremony": begun.ceremony, "options": begun.options })))
}

#[derive(Deserialize)]
pub struct FinishForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: String,
    /// Only on the no-script post of the form.
    #[serde(default)]
    name: String,
}

pub async fn finish(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    PasskeyEnrolment(current): PasskeyEnrolment,
    headers: HeaderMap,
    Form(form): Form<FinishForm>,
) -> Result<Response, AppError> {
    available(&state)?;
    let mut session = session::for_post_in(&state, Realm::Staff, &headers, &form.csrf).await?;
    let t = catalog(request_lang());
    if form.ceremony.is_empty() {
        // Posted without the script: the page again, with the name as typed.
        let mut errors = Errors::default();
        errors.add("passkey_name", t.get("mypage.settings.passkeys.needs_script"));
        return render(&state, &current, &form.name, errors, None).await;
    }
    let binding = session.ceremony_binding(&state);
    let actor = current.member.actor();
    let answer = (form.ceremony.as_str(), form.credential.as_str());
    let outcome = flow::finish_registration(&state, current.member.id, &actor, &binding, answer, &client).await?;
    Ok(match outcome {
        Registered::Added { .. } if current.passkey_due => {
            // The whole console opens to this session now: a new session ID for it (SPEC §6,
            // rotate at a change of privilege).
            let cookie = passkey_session(&state, session, current.member.id).await?;
            let answer = json(StatusCode::OK, &serde_json::json!({ "redirect": "/staff/passkeys?done=added" }));
            page::with_cookie(answer, Some(cookie))
        }
        Registered::Added { .. } => {
            session.update(&state, |d| d.staff_passkey = true).await?;
            json(StatusCode::OK, &serde_json::json!({ "redirect": "/staff/passkeys?done=added" }))
        }
        Registered::Duplicate => error(StatusCode::UNPROCESSABLE_ENTITY, t.get("mypage.settings.passkeys.duplicate")),
        Registered::Refused => error(StatusCode::UNPROCESSABLE_ENTITY, t.get("mypage.settings.passkeys.refused")),
    })
}

/// A new console session for member `staff_id`, marked as proven by a passkey, in place of `old`;
/// its cookie.
async fn passkey_session(state: &AppState, old: Session, staff_id: i64) -> Result<HeaderValue, AppError> {
    old.destroy(state).await?;
    let data = FlowData { staff_passkey: true, ..FlowData::default() };
    let (_, cookie) = session::start_in(state, Realm::Staff, None, Some(staff_id), data).await?;
    Ok(cookie)
}

pub async fn remove(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    PasskeyEnrolment(current): PasskeyEnrolment,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    session::for_post_in(&state, Realm::Staff, &headers, &form.csrf).await?;
    match flow::remove(&state, &current.member, id, &client).await? {
        flow::Removal::LastOneRequired => {
            let mut errors = Errors::default();
            errors.add("passkey-list", catalog(request_lang()).get("staff.passkeys.last_refused"));
            render(&state, &current, "", errors, None).await
        }
        flow::Removal::Removed | flow::Removal::NotFound => Ok(page::see_other("/staff/passkeys?done=removed")),
    }
}

#[derive(Deserialize)]
pub struct LoginOptionsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login_id: String,
}

pub async fn login_options(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginOptionsForm>,
) -> Result<Response, AppError> {
    available(&state)?;
    let t = catalog(request_lang());
    let Ok(session) = session::for_pre_session_post_in(&state, Realm::Staff, &headers, &form.csrf).await? else {
        return Ok(error(StatusCode::FORBIDDEN, t.get("form.refused")));
    };
    if form.login_id.trim().is_empty() {
        return Ok(error(StatusCode::UNPROCESSABLE_ENTITY, t.get("staff.login.passkey_needs_id")));
    }
    match flow::begin_login(&state, &session.ceremony_binding(&state), &form.login_id, &client).await? {
        Some(begun) => {
            Ok(json(StatusCode::OK, &serde_json::json!({ "ceremony": begun.ceremony, "options": begun.options })))
        }
        None => Ok(error(StatusCode::TOO_MANY_REQUESTS, t.get("login.notice.client_limited"))),
    }
}

pub async fn login_finish(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<FinishForm>,
) -> Result<Response, AppError> {
    available(&state)?;
    let t = catalog(request_lang());
    let Ok(session) = session::for_pre_session_post_in(&state, Realm::Staff, &headers, &form.csrf).await? else {
        return Ok(error(StatusCode::FORBIDDEN, t.get("form.refused")));
    };
    let binding = session.ceremony_binding(&state);
    let task_state = state.clone();
    // Runs to the end even if the client disconnects: a failure is always counted.
    let outcome = page::to_completion(async move {
        flow::finish_login(&task_state, &binding, (&form.ceremony, &form.credential), &client).await
    })
    .await??;
    match outcome {
        LoginOutcome::LoggedIn { staff_id, must_change_password } => {
            // A new session ID at login, as after a password; the pre-login session is discarded.
            let cookie = passkey_session(&state, session, staff_id).await?;
            let to = if must_change_password { "/staff/password" } else { "/staff" };
            Ok(page::with_cookie(json(StatusCode::OK, &serde_json::json!({ "redirect": to })), Some(cookie)))
        }
        LoginOutcome::ClientLimited => Ok(error(StatusCode::TOO_MANY_REQUESTS, t.get("login.notice.client_limited"))),
        LoginOutcome::Rejected | LoginOutcome::NeedsEnrolment { .. } | LoginOutcome::PasskeyRequired => {
            Ok(error(StatusCode::UNPROCESSABLE_ENTITY, t.get("staff.login.passkey_rejected")))
        }
    }
}
