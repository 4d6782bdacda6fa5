//! 「ワンタイムパスワード」: the emailed six digits, the box that remembers this browser for 90 days,
//! 「キャンセル」 and 「送信」.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use mypage_domain::six_digits::SixDigitCode;
use serde::Deserialize;

use super::user_agent;
use crate::flows::login::{self, Origin, OtpOutcome, OtpResend};
use crate::i18n::{Catalog, catalog, request_lang};
use crate::state::AppState;
use crate::store;
use crate::web::client::ClientAddr;
use crate::web::delivery::{self, Flow, WaitingMail};
use crate::web::error::AppError;
use crate::web::form::{CsrfForm, Form, acceptable};
use crate::web::page::{self, Errors};
use crate::web::session::{self, FlowData, Session};

#[derive(Template)]
#[template(path = "login/otp.html")]
struct OtpPage<'a> {
    t: &'a Catalog,
    csrf: String,
    email: String,
    expires: String,
    remember_hint: String,
    remember_label: String,
    remember_checked: bool,
    mail: WaitingMail,
    errors: Errors,
    notice: Option<String>,
    resent: bool,
}

async fn render(
    state: &AppState,
    session: &Session,
    errors: Errors,
    notice: Option<String>,
    resent: bool,
    remember_checked: bool,
) -> Result<Response, AppError> {
    let t = catalog(request_lang());
    let Some(pending) = &session.data.pending_login else { return Ok(page::see_other("/login")) };
    let challenge = store::login::find_challenge(state.store.pool(), pending.challenge_id).await?;
    let account = store::accounts::find(state.store.pool(), pending.account_id).await?;
    let expires = challenge
        .and_then(|c| store::ts(c.expires_at).ok())
        .map(|ts| crate::i18n::datetime(request_lang(), ts))
        .unwrap_or_default();
    let days = state.settings.remember_ttl.as_secs() / 86400;
    let has_errors = !errors.is_empty() || notice.is_some();
    let email = account.map(|a| a.email).unwrap_or_default();
    let mail = delivery::waiting_mail(state, &session.data, Flow::Login, &email, "/login/otp").await?;
    let page = OtpPage {
        t,
        csrf: session.csrf.clone(),
        email,
        expires: t.fmt("login.otp.expires", &[("expires", &expires)]),
        remember_hint: t.fmt("login.otp.remember_hint", &[("days", &days.to_string())]),
        remember_label: t.get("login.otp.remember"),
        remember_checked,
        mail,
        errors,
        notice,
        resent,
    };
    Ok(page::html(page.render()?, has_errors))
}

pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    match session::load(&state, &headers).await? {
        Some(session) if session.data.pending_login.is_some() => {
            render(&state, &session, Errors::default(), None, false, false).await
        }
        _ => Ok(page::see_other("/login")),
    }
}

#[derive(Deserialize)]
pub struct OtpForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    otp: String,
    #[serde(default)]
    remember: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<OtpForm>,
) -> Result<Response, AppError> {
    let session = session::for_post(&state, &headers, &form.csrf).await?;
    let Some(pending) = session.data.pending_login.clone() else { return Ok(page::see_other("/login")) };
    let t = catalog(request_lang());
    let remember = form.remember.is_some();
    let otp = match SixDigitCode::parse(&form.otp) {
        Ok(otp) if acceptable(&form.otp) => otp,
        Ok(_) | Err(_) => {
            let mut errors = Errors::default();
            errors.add("otp", t.get("login.otp.error.malformed"));
            return render(&state, &session, errors, None, false, remember).await;
        }
    };
    let ua = user_agent(&headers);
    let origin = Origin { client: &client, user_agent: &ua };
    match login::verify_otp(&state, &pending, &otp, remember, &origin).await? {
        OtpOutcome::LoggedIn { account_id, remember_token } => {
            session.destroy(&state).await?;
            let (_, cookie) = session::start_for(&state, Some(account_id), FlowData::default()).await?;
            let mut response = page::with_cookie(page::see_other("/mypage"), Some(cookie));
            if let Some(token) = remember_token {
                let remember = session::remember_cookie(&state, &token, state.settings.remember_ttl)?;
                response = page::with_cookie(response, Some(remember));
            }
            Ok(response)
        }
        OtpOutcome::Wrong { remaining } => {
            let mut errors = Errors::default();
            errors.add("otp", t.fmt("login.otp.error.wrong", &[("remaining", &remaining.to_string())]));
            render(&state, &session, errors, None, false, remember).await
        }
        OtpOutcome::Void => back_to_login(&state, session, "otp_void").await,
        OtpOutcome::Expired => back_to_login(&state, session, "otp_expired").await,
        OtpOutcome::Locked => back_to_login(&state, session, "otp_locked").await,
        OtpOutcome::ClientLimited => {
            render(&state, &session, Errors::default(), Some(t.get("login.notice.client_limited")), false, remember)
                .await
        }
    }
}

async fn back_to_login(state: &AppState, mut session: Session, notice: &str) -> Result<Response, AppError> {
    session.update(state, |d| d.pending_login = None).await?;
    Ok(page::see_other(&format!("/login?notice={notice}")))
}

/// 「キャンセル」: voids the one-time password and returns to the login page.
pub async fn cancel(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let session = session::for_post(&state, &headers, &form.csrf).await?;
    if let Some(pending) = &session.data.pending_login {
        login::cancel(&state, pending).await?;
    }
    back_to_login(&state, session, "cancelled").await
}

pub async fn resend(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let mut session = session::for_post(&state, &headers, &form.csrf).await?;
    let Some(pending) = session.data.pending_login.clone() else { return Ok(page::see_other("/login")) };
    let t = catalog(request_lang());
    match login::resend_otp(&state, &pending, request_lang()).await? {
        OtpResend::Sent(new) => {
            session.update(&state, |d| d.pending_login = Some(new.clone())).await?;
            render(&state, &session, Errors::default(), None, true, false).await
        }
        OtpResend::Cooldown { seconds } => {
            let notice = t.fmt("login.otp.resend_cooldown", &[("seconds", &seconds.to_string())]);
            render(&state, &session, Errors::default(), Some(notice), false, false).await
        }
        OtpResend::Limited => {
            render(&state, &session, Errors::default(), Some(t.get("login.otp.resend_limited")), false, false).await
        }
        OtpResend::Gone => back_to_login(&state, session, "otp_void").await,
    }
}
