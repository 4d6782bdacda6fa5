//! 「パスワード登録」 of the opening: the shared password + 認証キー step (`web::password_step`)
//! with the step indicator and 「認証キーを再送する」.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use super::Steps;
use crate::flows::opening::{self, CompleteOutcome, PendingOpening, ResendOutcome};
use crate::i18n::{Catalog, catalog, request_lang};
use crate::state::AppState;
use crate::web::client::ClientAddr;
use crate::web::delivery::{self, Flow, WaitingMail};
use crate::web::error::AppError;
use crate::web::form::{CsrfForm, Form};
use crate::web::page::{self, Errors};
use crate::web::password_step::{self, PasswordStep, PasswordStepForm};
use crate::web::session::{self, Session};

#[derive(Template)]
#[template(path = "opening/password.html")]
struct PasswordPage<'a> {
    t: &'a Catalog,
    steps: Steps,
    csrf: String,
    step: PasswordStep,
    mail: WaitingMail,
    errors: Errors,
    notice: Option<String>,
    resent: bool,
}

async fn render(
    state: &AppState,
    session: &Session,
    pending: &PendingOpening,
    password: &str,
    errors: Errors,
    notice: Option<String>,
    resent: bool,
) -> Result<Response, AppError> {
    let t = catalog(request_lang());
    let key_expires = opening::key_expiry(state, pending)
        .await?
        .map(|ts| crate::i18n::datetime(request_lang(), ts))
        .unwrap_or_default();
    let has_errors = !errors.is_empty() || notice.is_some();
    let step = PasswordStep {
        sent_to: t.fmt("opening.password.sent_to", &[("email", &pending.email)]),
        key_expires: t.fmt("opening.password.key_expires", &[("expires", &key_expires)]),
        ..PasswordStep::new(t, "/opening/password", "opening.password", &pending.email, password)
    };
    let mail = delivery::waiting_mail(state, &session.data, Flow::Opening, &pending.email, "/opening/password").await?;
    let csrf = session.csrf.clone();
    let page = PasswordPage { t, steps: Steps { current: 3 }, csrf, step, mail, errors, notice, resent };
    Ok(page::html(page.render()?, has_errors))
}

pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let Some(session) = session::load(&state, &headers).await? else {
        return Ok(page::see_other("/opening/consent"));
    };
    let Some(pending) = session.data.pending.clone() else {
        return Ok(page::see_other("/opening/apply"));
    };
    render(&state, &session, &pending, "", Errors::default(), None, false).await
}

pub async fn submit(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<PasswordStepForm>,
) -> Result<Response, AppError> {
    let mut session = session::for_post(&state, &headers, &form.csrf).await?;
    let (Some(pending), Some(consent)) = (session.data.pending.clone(), session.data.consent) else {
        return Ok(page::see_other("/opening/apply"));
    };
    let t = catalog(request_lang());
    let mut errors = Errors::default();
    let (password, confirmation) = form.passwords();
    let policy = opening::check_password(&state, &pending, password, &confirmation).await?;
    let Some((new_password, key)) = form.parse(t, policy, &mut errors) else {
        return render(&state, &session, &pending, &form.password, errors, None, false).await;
    };
    let outcome = opening::complete(&state, &pending, consent, &new_password, &key, &client, request_lang()).await?;
    let notice = match outcome {
        CompleteOutcome::Opened { .. } => {
            session.update(&state, |d| *d = session::FlowData { just_opened: true, ..Default::default() }).await?;
            return Ok(page::see_other("/opening/done"));
        }
        CompleteOutcome::WrongKey { remaining } => {
            password_step::wrong_key(&mut errors, t, remaining);
            None
        }
        CompleteOutcome::KeyVoid => Some(t.get("opening.password.notice.key_void")),
        CompleteOutcome::KeyExpired => Some(t.get("opening.password.notice.key_expired")),
        CompleteOutcome::CodeInvalid => Some(t.get("opening.password.notice.code_invalid")),
        CompleteOutcome::CodeExpired => Some(t.get("opening.apply.notice.code_expired")),
        CompleteOutcome::AlreadyOpened => Some(t.get("opening.password.notice.already_opened")),
        CompleteOutcome::AddressUnavailable => Some(t.get("opening.password.notice.address_unavailable")),
    };
    render(&state, &session, &pending, &form.password, errors, notice, false).await
}

pub async fn resend(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let mut session = session::for_post(&state, &headers, &form.csrf).await?;
    let Some(pending) = session.data.pending.clone() else {
        return Ok(page::see_other("/opening/apply"));
    };
    let t = catalog(request_lang());
    match opening::resend(&state, &pending, &client, request_lang()).await? {
        ResendOutcome::Sent(new_pending) => {
            session.update(&state, |d| d.pending = Some(new_pending.clone())).await?;
            render(&state, &session, &new_pending, "", Errors::default(), None, true).await
        }
        ResendOutcome::Cooldown { seconds } => {
            let notice = t.fmt("opening.password.notice.resend_cooldown", &[("seconds", &seconds.to_string())]);
            render(&state, &session, &pending, "", Errors::default(), Some(notice), false).await
        }
        ResendOutcome::SendLimited => {
            let notice = t.get("opening.apply.notice.send_limited");
            render(&state, &session, &pending, "", Errors::default(), Some(notice), false).await
        }
        ResendOutcome::CodeExpired => {
            let notice = t.get("opening.apply.notice.code_expired");
            render(&state, &session, &pending, "", Errors::default(), Some(notice), false).await
        }
        ResendOutcome::CodeInvalid => {
            let notice = t.get("opening.password.notice.code_invalid");
            render(&state, &session, &pending, "", Errors::default(), Some(notice), false).await
        }
    }
}
