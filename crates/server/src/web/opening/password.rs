//! 「パスワード登録」: the new password (policy stated before typing, each unmet rule named), its
//! confirmation, and the mailed 認証キー. The markup lets a password manager save the email and
//! password, never the auth key.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use mypage_domain::password::PasswordRule;
use mypage_domain::secret::Secret;
use mypage_domain::six_digits::SixDigitCode;
use serde::Deserialize;

use super::Steps;
use crate::flows::opening::{self, CompleteOutcome, PendingOpening, ResendOutcome};
use crate::i18n::{Catalog, catalog, request_lang};
use crate::state::AppState;
use crate::web::client::ClientAddr;
use crate::web::error::AppError;
use crate::web::form::{CsrfForm, Form, acceptable};
use crate::web::page::{self, Errors};
use crate::web::session::{self, Session};

#[derive(Template)]
#[template(path = "opening/password.html")]
struct PasswordPage<'a> {
    t: &'a Catalog,
    steps: Steps,
    csrf: String,
    email: String,
    sent_to: String,
    key_expires: String,
    domain_filter: String,
    /// Every rule with whether the last submission met it (all false before typing).
    rules: Vec<(&'static str, String, bool)>,
    errors: Errors,
    notice: Option<String>,
    resent: bool,
}

/// The character rules as listed on the screen, in catalog words.
fn sender_domain(state: &AppState) -> String {
    let from = &state.settings.mail_from;
    let addr = from.rsplit_once('<').map_or(from.as_str(), |(_, a)| a.trim_end_matches('>'));
    addr.rsplit_once('@').map_or_else(String::new, |(_, d)| d.to_owned())
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
    let page = PasswordPage {
        t,
        steps: Steps { current: 3 },
        csrf: session.csrf.clone(),
        email: pending.email.clone(),
        sent_to: t.fmt("opening.password.sent_to", &[("email", &pending.email)]),
        key_expires: t.fmt("opening.password.key_expires", &[("expires", &key_expires)]),
        domain_filter: t.fmt("opening.password.domain_filter", &[("domain", &sender_domain(state))]),
        rules: page::password_rules(t, password),
        errors,
        notice,
        resent,
    };
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

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
    #[serde(default)]
    auth_key: String,
}

pub async fn submit(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let mut session = session::for_post(&state, &headers, &form.csrf).await?;
    let (Some(pending), Some(consent)) = (session.data.pending.clone(), session.data.consent) else {
        return Ok(page::see_other("/opening/apply"));
    };
    let t = catalog(request_lang());
    let mut errors = Errors::default();
    let password = Secret::new(form.password.chars().take(256).collect());
    let confirmation = Secret::new(form.password_confirmation.chars().take(256).collect());
    let new_password = match opening::check_password(&state, &pending, password, &confirmation).await? {
        Ok(p) => Some(p),
        Err(unmet) => {
            for rule in unmet {
                let field =
                    if rule == PasswordRule::ConfirmationMismatch { "password_confirmation" } else { "password" };
                errors.add(field, t.get(&format!("password.error.{}", rule.key())));
            }
            None
        }
    };
    let key = match SixDigitCode::parse(&form.auth_key) {
        Ok(key) if acceptable(&form.auth_key) => Some(key),
        Ok(_) | Err(mypage_domain::six_digits::SixDigitCodeError::Malformed) => {
            errors.add("auth_key", t.get("opening.password.error.key_malformed"));
            None
        }
        Err(mypage_domain::six_digits::SixDigitCodeError::Empty) => {
            errors.add("auth_key", t.get("opening.password.error.key_empty"));
            None
        }
    };
    let (Some(new_password), Some(key)) = (new_password, key) else {
        return render(&state, &session, &pending, &form.password, errors, None, false).await;
    };
    let outcome = opening::complete(&state, &pending, consent, &new_password, &key, &client, request_lang()).await?;
    let notice = match outcome {
        CompleteOutcome::Opened { .. } => {
            session.data = session::FlowData { just_opened: true, ..Default::default() };
            session.save(&state).await?;
            return Ok(page::see_other("/opening/done"));
        }
        CompleteOutcome::WrongKey { remaining } => {
            errors.add("auth_key", t.fmt("opening.password.error.key_wrong", &[("remaining", &remaining.to_string())]));
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
            session.data.pending = Some(new_pending.clone());
            session.save(&state).await?;
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
