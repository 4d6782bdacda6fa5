//! Staff login: staff ID + password + TOTP; at first login the authenticator is enrolled from a
//! QR code and the one-time password replaced.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mypage_domain::password::PasswordRule;
use mypage_domain::secret::Secret;
use serde::Deserialize;

use crate::flows::staff::{self, LoginOutcome};
use crate::flows::staff_password::{self, ChangeRequest, PasswordChange};
use crate::i18n::{Catalog, catalog, request_lang};
use crate::state::AppState;
use crate::web::client::ClientAddr;
use crate::web::error::AppError;
use crate::web::form::{CsrfForm, Form};
use crate::web::page::{self, Errors, echo};
use crate::web::session::{self, FlowData, Realm, Session};

#[derive(Template)]
#[template(path = "staff/login.html")]
struct LoginPage<'a> {
    t: &'a Catalog,
    csrf: String,
    login_id: String,
    /// Whether the staff ID + passkey login is offered (the base URL makes a relying party).
    passkeys_offered: bool,
    /// The member's office requires the passkey login (after a right password, or a session
    /// ended for it).
    passkey_required: bool,
    errors: Errors,
}

impl<'a> LoginPage<'a> {
    /// The login form as a visitor first sees it, with `login_id` kept.
    fn new(state: &AppState, t: &'a Catalog, csrf: String, login_id: String, errors: Errors) -> Self {
        Self { t, csrf, login_id, passkeys_offered: state.webauthn.is_some(), passkey_required: false, errors }
    }
}

#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    passkey: Option<String>,
}

pub async fn show_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Result<Response, AppError> {
    let (session, cookie) = session::load_or_pre_in(&state, Realm::Staff, &headers).await?;
    if session.staff_id.is_some() {
        return Ok(page::see_other("/staff"));
    }
    let mut page = LoginPage::new(&state, catalog(request_lang()), session.csrf, String::new(), Errors::default());
    page.passkey_required = page.passkeys_offered && query.passkey.as_deref() == Some("required");
    Ok(page::with_cookie(page::html(page.render()?, false), cookie))
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login_id: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    totp: String,
}

/// A new staff session (the pre-login one is discarded), with `data`.
async fn rotate(
    state: &AppState,
    old: Session,
    staff_id: Option<i64>,
    data: FlowData,
    to: &str,
) -> Result<Response, AppError> {
    old.destroy(state).await?;
    let (_, cookie) = session::start_in(state, Realm::Staff, None, staff_id, data).await?;
    Ok(page::with_cookie(page::see_other(to), Some(cookie)))
}

pub async fn submit_login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let t = catalog(request_lang());
    let session = match session::for_pre_session_post_in(&state, Realm::Staff, &headers, &form.csrf).await? {
        Ok(session) => session,
        Err(refused) => {
            let mut errors = Errors::default();
            errors.add("login_id", t.get("form.refused"));
            let page = LoginPage::new(&state, t, refused.session.csrf, echo(&form.login_id), errors);
            return Ok(page::with_cookie(page::with_status(page.render()?, StatusCode::FORBIDDEN), refused.cookie));
        }
    };
    let password = Secret::new(form.password.chars().take(256).collect());
    let (task_state, login_id, totp) = (state.clone(), form.login_id.clone(), form.totp.clone());
    let outcome =
        page::to_completion(async move { staff::login(&task_state, &login_id, &password, &totp, &client).await })
            .await??;
    match outcome {
        LoginOutcome::LoggedIn { staff_id, must_change_password } => {
            let to = if must_change_password { "/staff/password" } else { "/staff" };
            rotate(&state, session, Some(staff_id), FlowData::default(), to).await
        }
        LoginOutcome::NeedsEnrolment { staff_id, tag } => {
            let data = FlowData { staff_pending: Some(staff_id), staff_pending_tag: Some(tag), ..Default::default() };
            rotate(&state, session, None, data, "/staff/enroll").await
        }
        LoginOutcome::PasskeyRequired => {
            let mut page = LoginPage::new(&state, t, session.csrf, echo(&form.login_id), Errors::default());
            page.passkey_required = true;
            Ok(page::html(page.render()?, true))
        }
        outcome @ (LoginOutcome::Rejected | LoginOutcome::ClientLimited) => {
            let mut errors = Errors::default();
            let key =
                if outcome == LoginOutcome::Rejected { "staff.login.rejected" } else { "login.notice.client_limited" };
            errors.add("login_id", t.get(key));
            let page = LoginPage::new(&state, t, session.csrf, echo(&form.login_id), errors);
            Ok(page::html(page.render()?, true))
        }
    }
}

#[derive(Template)]
#[template(path = "staff/enroll.html")]
struct EnrollPage<'a> {
    t: &'a Catalog,
    csrf: String,
    qr_svg: String,
    otpauth_url: String,
    errors: Errors,
}

/// The QR code of an otpauth URL as inline SVG (generated here, not from user input).
pub fn qr_svg(data: &str) -> String {
    qrcode::QrCode::new(data.as_bytes())
        .map(|code| code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).quiet_zone(true).build())
        .unwrap_or_default()
}

/// The pending enrolment of this browser: its session, the staff member and the credentials tag.
async fn enrolment(state: &AppState, headers: &HeaderMap) -> Result<Option<(Session, i64, String)>, AppError> {
    let session = session::load_in(state, Realm::Staff, headers).await?;
    Ok(session.and_then(|s| match (s.data.staff_pending, s.data.staff_pending_tag.clone()) {
        (Some(id), Some(tag)) => Some((s, id, tag)),
        _ => None,
    }))
}

/// The enrolment page, or the login when the enrolment is void (reissued, disabled, done).
async fn render_enroll(
    state: &AppState,
    session: &Session,
    (staff_id, tag): (i64, &str),
    errors: Errors,
) -> Result<Response, AppError> {
    let Some(url) = staff::pending_enrolment_url(state, staff_id, tag).await? else {
        return Ok(page::see_other("/staff/login"));
    };
    let has_errors = !errors.is_empty();
    let page = EnrollPage {
        t: catalog(request_lang()),
        csrf: session.csrf.clone(),
        qr_svg: qr_svg(&url),
        otpauth_url: url,
        errors,
    };
    Ok(page::html(page.render()?, has_errors))
}

pub async fn show_enroll(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    match enrolment(&state, &headers).await? {
        Some((session, staff_id, tag)) => render_enroll(&state, &session, (staff_id, &tag), Errors::default()).await,
        None => Ok(page::see_other("/staff/login")),
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    totp: String,
}

pub async fn submit_enroll(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    let session = session::for_post_in(&state, Realm::Staff, &headers, &form.csrf).await?;
    let (Some(staff_id), Some(tag)) = (session.data.staff_pending, session.data.staff_pending_tag.clone()) else {
        return Ok(page::see_other("/staff/login"));
    };
    match staff::confirm_enrolment(&state, staff_id, &tag, &form.totp, &client).await? {
        Some(must_change) => {
            let to = if must_change { "/staff/password" } else { "/staff" };
            rotate(&state, session, Some(staff_id), FlowData::default(), to).await
        }
        None => {
            let mut errors = Errors::default();
            errors.add("totp", catalog(request_lang()).get("staff.enroll.wrong_code"));
            render_enroll(&state, &session, (staff_id, &tag), errors).await
        }
    }
}

#[derive(Template)]
#[template(path = "staff/password.html")]
struct PasswordPage<'a> {
    t: &'a Catalog,
    csrf: String,
    /// The first login's forced change (the current password is the one-time password).
    forced: bool,
    errors: Errors,
}

/// The logged-in staff session and whether the password change is the forced one.
async fn password_session(state: &AppState, session: Option<Session>) -> Result<Option<(Session, bool)>, AppError> {
    let Some(session) = session else { return Ok(None) };
    let Some(staff_id) = session.staff_id else { return Ok(None) };
    let row = crate::store::staff::find(state.store.pool(), staff_id).await?;
    Ok(row.filter(|r| r.disabled_at.is_none()).map(|r| (session, r.must_change_password == 1)))
}

pub async fn show_password(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let session = session::load_in(&state, Realm::Staff, &headers).await?;
    match password_session(&state, session).await? {
        Some((session, forced)) => {
            let page =
                PasswordPage { t: catalog(request_lang()), csrf: session.csrf, forced, errors: Errors::default() };
            Ok(page::html(page.render()?, false))
        }
        None => Ok(page::see_other("/staff/login")),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
}

pub async fn submit_password(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let session = session::for_post_in(&state, Realm::Staff, &headers, &form.csrf).await?;
    let Some((session, forced)) = password_session(&state, Some(session)).await? else {
        return Ok(page::see_other("/staff/login"));
    };
    let Some(staff_id) = session.staff_id else { return Ok(page::see_other("/staff/login")) };
    let t = catalog(request_lang());
    let secret = |raw: &str| Secret::new(raw.chars().take(256).collect());
    let (current, confirmation) = (secret(&form.current_password), secret(&form.password_confirmation));
    let request = ChangeRequest { current: &current, password: secret(&form.password), confirmation: &confirmation };
    match staff_password::change_password(&state, staff_id, session.id_hash(), request, &client).await? {
        // A new session ID for what is now a full console session (SPEC §6: rotate at
        // privilege change); the member's other sessions were ended by the flow.
        // A session that logged in by passkey stays one (its office may require passkeys).
        PasswordChange::Changed => {
            let data = FlowData { staff_passkey: session.data.staff_passkey, ..FlowData::default() };
            rotate(&state, session, Some(staff_id), data, "/staff").await
        }
        PasswordChange::Refused { wrong_current, unmet } => {
            let mut errors = Errors::default();
            if wrong_current {
                errors.add("current_password", t.get("staff.password.wrong_current"));
            }
            for rule in unmet {
                let field =
                    if rule == PasswordRule::ConfirmationMismatch { "password_confirmation" } else { "password" };
                errors.add(field, t.get(&format!("password.error.{}", rule.key())));
            }
            Ok(page::html(PasswordPage { t, csrf: session.csrf, forced, errors }.render()?, true))
        }
        PasswordChange::Limited => {
            let mut errors = Errors::default();
            errors.add("current_password", t.get("staff.password.limited"));
            Ok(page::html(PasswordPage { t, csrf: session.csrf, forced, errors }.render()?, true))
        }
    }
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let session = session::for_post_in(&state, Realm::Staff, &headers, &form.csrf).await?;
    session.destroy(&state).await?;
    Ok(page::with_cookie(page::see_other("/staff/login"), Some(session::clear_cookie(&state, Realm::Staff)?)))
}
