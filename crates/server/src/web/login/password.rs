//! The login page: 「ID (メールアドレス)」 and 「パスワード」.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mypage_domain::secret::Secret;
use serde::Deserialize;

use super::user_agent;
use crate::flows::login::{self, Origin, PasswordOutcome};
use crate::i18n::{Catalog, catalog, request_lang};
use crate::state::AppState;
use crate::web::client::ClientAddr;
use crate::web::error::AppError;
use crate::web::form::Form;
use crate::web::page::{self, Errors, echo};
use crate::web::session::{self, FlowData};

#[derive(Template)]
#[template(path = "login/login.html")]
struct LoginPage<'a> {
    t: &'a Catalog,
    csrf: String,
    email: String,
    errors: Errors,
    notice: Option<String>,
    /// How long ten wrong passwords lock login, from `MYPAGE_LOGIN_LOCK`.
    lock_hint: String,
    /// Whether 「パスキーでログイン」 is offered (the script still shows it only where it works).
    passkeys_offered: bool,
}

fn lock_hint(state: &AppState, t: &Catalog) -> String {
    let minutes = (state.settings.login_lock.as_secs() / 60).max(1);
    t.fmt("login.lock_hint", &[("minutes", &minutes.to_string())])
}

#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    notice: Option<String>,
}

/// Notices another step can send the browser here with (a fixed list: nothing from the URL is
/// shown as such).
fn notice(t: &Catalog, key: Option<&str>) -> Option<String> {
    match key? {
        "otp_void" => Some(t.get("login.notice.otp_void")),
        "otp_expired" => Some(t.get("login.notice.otp_expired")),
        "otp_locked" => Some(t.get("login.notice.otp_locked")),
        "cancelled" => Some(t.get("login.notice.cancelled")),
        "logged_out" => Some(t.get("login.notice.logged_out")),
        "logged_out_everywhere" => Some(t.get("login.notice.logged_out_everywhere")),
        "signed_out" => Some(t.get("login.notice.signed_out")),
        _ => None,
    }
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Result<Response, AppError> {
    let (session, cookie) = session::load_or_pre(&state, &headers).await?;
    if session.account_id.is_some() {
        return Ok(page::see_other("/mypage"));
    }
    let t = catalog(request_lang());
    let page = LoginPage {
        t,
        csrf: session.csrf,
        email: String::new(),
        errors: Errors::default(),
        notice: notice(t, query.notice.as_deref()),
        lock_hint: lock_hint(&state, t),
        passkeys_offered: state.webauthn.is_some(),
    };
    Ok(page::with_cookie(page::html(page.render()?, false), cookie))
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn submit(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let t = catalog(request_lang());
    let mut errors = Errors::default();
    let mut session = match session::for_pre_session_post(&state, &headers, &form.csrf).await? {
        Ok(session) => session,
        Err(refused) => {
            errors.add("password", t.get("form.refused"));
            let lock_hint = lock_hint(&state, t);
            let page = LoginPage {
                t,
                csrf: refused.session.csrf,
                email: echo(&form.email),
                errors,
                notice: None,
                lock_hint,
                passkeys_offered: state.webauthn.is_some(),
            };
            let response = page::with_status(page.render()?, StatusCode::FORBIDDEN);
            return Ok(page::with_cookie(response, refused.cookie));
        }
    };
    if form.email.trim().is_empty() {
        errors.add("email", t.get("login.error.email_empty"));
    }
    if form.password.is_empty() {
        errors.add("password", t.get("login.error.password_empty"));
    }
    let rerender = |session: session::Session, errors: Errors, notice: Option<String>| {
        let lock_hint = lock_hint(&state, t);
        let passkeys_offered = state.webauthn.is_some();
        let page =
            LoginPage { t, csrf: session.csrf, email: echo(&form.email), errors, notice, lock_hint, passkeys_offered };
        page.render().map(|body| page::html(body, true))
    };
    if !errors.is_empty() {
        return Ok(rerender(session, errors, None)?);
    }
    let password = Secret::new(form.password.chars().take(256).collect());
    let ua = user_agent(&headers);
    let remembered = session::remembered_token(&state, &headers);
    let (task_state, email, lang) = (state.clone(), form.email.clone(), request_lang());
    // Runs to the end even if the client disconnects: a hash that was paid for is always
    // counted, so dropping connections cannot dodge the failure counters.
    let outcome = page::to_completion(async move {
        let origin = Origin { client: &client, user_agent: &ua };
        login::check_password(&task_state, &email, &password, remembered.as_deref(), &origin, lang).await
    })
    .await??;
    match outcome {
        PasswordOutcome::Rejected => {
            errors.add("email", t.get("login.error.rejected"));
            Ok(rerender(session, errors, None)?)
        }
        PasswordOutcome::ClientLimited => Ok(rerender(session, errors, Some(t.get("login.notice.client_limited")))?),
        PasswordOutcome::OtpLimited => Ok(rerender(session, errors, Some(t.get("login.notice.otp_limited")))?),
        PasswordOutcome::OtpSent(pending) => {
            let cookie = session.keep(&state, |d| d.pending_login = Some(pending.clone())).await?;
            Ok(page::with_cookie(page::see_other("/login/otp"), cookie))
        }
        PasswordOutcome::LoggedIn { account_id } => {
            // A new session ID at login; the pre-login session is discarded.
            session.destroy(&state).await?;
            let (_, cookie) = session::start_for(&state, Some(account_id), FlowData::default()).await?;
            Ok(page::with_cookie(page::see_other("/mypage"), Some(cookie)))
        }
    }
}
