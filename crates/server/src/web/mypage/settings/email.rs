//! The change of login ID on 「アカウント設定」: the new address and the current password, then
//! the code mailed to the new address on its own page.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use mypage_domain::email::Email;
use mypage_domain::six_digits::SixDigitCode;
use serde::Deserialize;

use super::{current_password, render};
use crate::flows::settings::{self as flow, EmailChangeStart, EmailConfirm};
use crate::i18n::{Catalog, catalog, request_lang};
use crate::state::AppState;
use crate::store::accounts;
use crate::web::client::ClientAddr;
use crate::web::delivery::{self, Flow, WaitingMail};
use crate::web::error::AppError;
use crate::web::form::{Form, acceptable};
use crate::web::mypage::CurrentAccount;
use crate::web::page::{self, Errors};
use crate::web::session::{self, Session};

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    email_password: String,
}

pub async fn start_email(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    current: CurrentAccount,
    headers: HeaderMap,
    Form(form): Form<EmailForm>,
) -> Result<Response, AppError> {
    let mut session = session::for_post(&state, &headers, &form.csrf).await?;
    let t = catalog(request_lang());
    let account = accounts::find(state.store.pool(), current.account_id).await?.ok_or(AppError::NotFound)?;
    let mut errors = Errors::default();
    let email = match Email::parse(&form.email) {
        Ok(e) if acceptable(&form.email) && e.as_str() == account.email => {
            errors.add("email", t.get("mypage.settings.email_same"));
            None
        }
        Ok(e) if acceptable(&form.email) => Some(e),
        _ => {
            errors.add("email", t.get("mypage.settings.email_invalid"));
            None
        }
    };
    let password = current_password(&form.email_password, "email_password", t, &mut errors);
    let (Some(email), Some(password)) = (email, password) else {
        return render(&state, &current, &form.email, errors, None).await;
    };
    let lang = request_lang();
    let (field, message) =
        match flow::start_email_change(&state, current.account_id, &password, &email, &client, lang).await? {
            EmailChangeStart::Sent(change_id) => {
                session.update(&state, |d| d.email_change = Some((change_id, email.as_str().to_owned()))).await?;
                return Ok(page::see_other("/mypage/settings/email/confirm"));
            }
            EmailChangeStart::WrongPassword => ("email_password", "mypage.settings.password_wrong_current"),
            EmailChangeStart::PasswordLimited => ("email_password", "mypage.settings.password_limited"),
            EmailChangeStart::AccountLimited => ("email", "mypage.settings.email_account_limited"),
            EmailChangeStart::AddressLimited => ("email", "mypage.settings.email_address_limited"),
        };
    errors.add(field, t.get(message));
    render(&state, &current, &form.email, errors, None).await
}

#[derive(Template)]
#[template(path = "mypage/email_confirm.html")]
struct ConfirmPage<'a> {
    t: &'a Catalog,
    csrf: String,
    sent: String,
    mail: WaitingMail,
    errors: Errors,
}

async fn confirm_page(state: &AppState, session: &Session, email: &str, errors: Errors) -> Result<Response, AppError> {
    let t = catalog(request_lang());
    let has_errors = !errors.is_empty();
    let reload = "/mypage/settings/email/confirm";
    let mail = delivery::waiting_mail(state, &session.data, Flow::Email, email, reload).await?;
    let page = ConfirmPage {
        t,
        csrf: session.csrf.clone(),
        sent: t.fmt("mypage.settings.email_confirm_sent", &[("email", email)]),
        mail,
        errors,
    };
    Ok(page::html(page.render()?, has_errors))
}

pub async fn show_confirm(State(state): State<AppState>, current: CurrentAccount) -> Result<Response, AppError> {
    match current.session.data.email_change.clone() {
        Some((_, email)) => confirm_page(&state, &current.session, &email, Errors::default()).await,
        None => Ok(page::see_other("/mypage/settings")),
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

pub async fn confirm_email(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    current: CurrentAccount,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    let mut session = session::for_post(&state, &headers, &form.csrf).await?;
    let Some((change_id, email)) = session.data.email_change.clone() else {
        return Ok(page::see_other("/mypage/settings"));
    };
    let t = catalog(request_lang());
    let mut errors = Errors::default();
    let Ok(code) = SixDigitCode::parse(&form.code) else {
        errors.add("code", t.get("opening.password.error.key_malformed"));
        return confirm_page(&state, &session, &email, errors).await;
    };
    let outcome = flow::confirm_email_change(
        &state,
        current.account_id,
        session.id_hash(),
        change_id,
        &code,
        &client,
        request_lang(),
    )
    .await?;
    let message = match outcome {
        EmailConfirm::Changed => {
            session.update(&state, |d| d.email_change = None).await?;
            return Ok(page::see_other("/mypage/settings?done=email"));
        }
        EmailConfirm::Wrong { remaining } => {
            errors.add("code", t.fmt("mypage.settings.email_code_wrong", &[("remaining", &remaining.to_string())]));
            return confirm_page(&state, &session, &email, errors).await;
        }
        EmailConfirm::Void => t.get("mypage.settings.email_code_void"),
        EmailConfirm::Expired => t.get("mypage.settings.email_code_expired"),
    };
    session.update(&state, |d| d.email_change = None).await?;
    let mut errors = Errors::default();
    errors.add("email", message);
    render(&state, &current, &email, errors, None).await
}
