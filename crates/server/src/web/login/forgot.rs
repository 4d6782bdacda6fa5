//! 「パスワードをお忘れの方」: email, 求職番号 and birth date; then the same screen whatever they
//! matched: the shared password + 認証キー step (`web::password_step`).

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mypage_domain::birth_date::BirthDate;
use mypage_domain::clock::today_jst;
use mypage_domain::email::Email;
use mypage_domain::job_seeker_number::JobSeekerNumber;
use serde::Deserialize;

use super::user_agent;
use crate::flows::login::Origin;
use crate::flows::recovery::{self, PendingView, RecoveryRequest, ResetOutcome, StartOutcome};
use crate::i18n::{Catalog, catalog, request_lang};
use crate::state::AppState;
use crate::web::client::ClientAddr;
use crate::web::delivery::{self, Flow, WaitingMail};
use crate::web::error::AppError;
use crate::web::form::{Form, acceptable};
use crate::web::page::{self, Errors, echo};
use crate::web::password_step::{self, PasswordStep, PasswordStepForm};
use crate::web::session::{self, FlowData, Session};

#[derive(Template)]
#[template(path = "login/forgot.html")]
struct ForgotPage<'a> {
    t: &'a Catalog,
    csrf: String,
    email: String,
    job_seeker_number: String,
    birth_year: String,
    birth_month: String,
    birth_day: String,
    errors: Errors,
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct ForgotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    job_seeker_number: String,
    #[serde(default)]
    birth_year: String,
    #[serde(default)]
    birth_month: String,
    #[serde(default)]
    birth_day: String,
}

fn forgot_page<'a>(
    t: &'a Catalog,
    csrf: String,
    form: &ForgotForm,
    errors: Errors,
    notice: Option<String>,
) -> ForgotPage<'a> {
    ForgotPage {
        t,
        csrf,
        email: echo(&form.email),
        job_seeker_number: echo(&form.job_seeker_number),
        birth_year: echo(&form.birth_year),
        birth_month: echo(&form.birth_month),
        birth_day: echo(&form.birth_day),
        errors,
        notice,
    }
}

pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let (session, cookie) = session::load_or_pre(&state, &headers).await?;
    let page = forgot_page(catalog(request_lang()), session.csrf, &ForgotForm::default(), Errors::default(), None);
    Ok(page::with_cookie(page::html(page.render()?, false), cookie))
}

pub async fn submit(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Result<Response, AppError> {
    let t = catalog(request_lang());
    let mut errors = Errors::default();
    let mut session = match session::for_pre_session_post(&state, &headers, &form.csrf).await? {
        Ok(session) => session,
        Err(refused) => {
            errors.add("email", t.get("form.refused"));
            let body = forgot_page(t, refused.session.csrf, &form, errors, None).render()?;
            return Ok(page::with_cookie(page::with_status(body, StatusCode::FORBIDDEN), refused.cookie));
        }
    };
    let email = Email::parse(&form.email).ok().filter(|_| acceptable(&form.email));
    let email = noted(&mut errors, "email", t.get("opening.apply.error.email_invalid"), email);
    let number = JobSeekerNumber::parse(&form.job_seeker_number).ok();
    let number = noted(&mut errors, "job_seeker_number", t.get("opening.apply.error.number_malformed"), number);
    let today = today_jst(state.now());
    let birth_date = BirthDate::parse(&form.birth_year, &form.birth_month, &form.birth_day, today).ok();
    let birth_date = noted(&mut errors, "birth_year", t.get("login.forgot.error.birth_date"), birth_date);
    let (Some(email), Some(number), Some(birth_date)) = (email, number, birth_date) else {
        return Ok(page::html(forgot_page(t, session.csrf, &form, errors, None).render()?, true));
    };
    let request = RecoveryRequest { email, number, birth_date };
    match recovery::start(&state, &request, &client, request_lang()).await? {
        StartOutcome::ClientLimited => {
            let notice = Some(t.get("login.notice.client_limited"));
            Ok(page::html(forgot_page(t, session.csrf, &form, errors, notice).render()?, true))
        }
        StartOutcome::Pending(pending) => {
            let cookie = session.keep(&state, |d| d.pending_reset = Some(pending.clone())).await?;
            Ok(page::with_cookie(page::see_other("/login/forgot/password"), cookie))
        }
    }
}

/// The value, or `None` with `message` recorded against the field.
fn noted<T>(errors: &mut Errors, field: &'static str, message: String, value: Option<T>) -> Option<T> {
    if value.is_none() {
        errors.add(field, message);
    }
    value
}

#[derive(Template)]
#[template(path = "login/reset.html")]
struct ResetPage<'a> {
    t: &'a Catalog,
    csrf: String,
    step: PasswordStep,
    mail: WaitingMail,
    errors: Errors,
    notice: Option<String>,
}

/// The same page for every request, matched or not: the typed address, the key's expiry.
async fn render_reset(
    state: &AppState,
    session: &Session,
    view: &PendingView,
    password: &str,
    errors: Errors,
    notice: Option<String>,
) -> Result<Response, AppError> {
    let t = catalog(request_lang());
    let email = view.email.as_str();
    let expires = crate::i18n::datetime(request_lang(), view.expires_at);
    let has_errors = !errors.is_empty() || notice.is_some();
    let step = PasswordStep {
        sent_to: t.fmt("login.reset.sent_to", &[("email", email)]),
        key_expires: t.fmt("opening.password.key_expires", &[("expires", &expires)]),
        hint: t.get("login.reset.not_received"),
        ..PasswordStep::new(t, "/login/forgot/password", "login.reset", email, password)
    };
    let mail = delivery::waiting_mail(state, &session.data, Flow::Reset, email, "/login/forgot/password").await?;
    let page = ResetPage { t, csrf: session.csrf.clone(), step, mail, errors, notice };
    Ok(page::html(page.render()?, has_errors))
}

pub async fn show_password(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let Some(session) = session::load(&state, &headers).await? else { return Ok(page::see_other("/login/forgot")) };
    let Some(pending) = session.data.pending_reset.clone() else { return Ok(page::see_other("/login/forgot")) };
    if pending.legacy && session.data.consent.is_none() {
        return Ok(page::see_other("/opening/consent"));
    }
    match recovery::pending(&state, &pending).await? {
        Some(view) => render_reset(&state, &session, &view, "", Errors::default(), None).await,
        None => Ok(page::see_other("/login/forgot")),
    }
}

pub async fn submit_password(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<PasswordStepForm>,
) -> Result<Response, AppError> {
    let mut session = session::for_post(&state, &headers, &form.csrf).await?;
    let Some(pending) = session.data.pending_reset.clone() else {
        return Ok(page::see_other("/login/forgot"));
    };
    let Some(view) = recovery::pending(&state, &pending).await? else {
        return Ok(page::see_other("/login/forgot"));
    };
    let t = catalog(request_lang());
    let mut errors = Errors::default();
    let (password, confirmation) = form.passwords();
    let policy = view.check_password(password, &confirmation);
    let Some((new_password, key)) = form.parse(t, policy, &mut errors) else {
        return render_reset(&state, &session, &view, &form.password, errors, None).await;
    };
    let ua = user_agent(&headers);
    let origin = Origin { client: &client, user_agent: &ua };
    let consent = session.data.consent;
    let outcome = recovery::complete(&state, &pending, consent, &new_password, &key, &origin, request_lang()).await?;
    let notice = match outcome {
        ResetOutcome::Reset | ResetOutcome::Opened => {
            let opened = outcome == ResetOutcome::Opened;
            session.update(&state, |d| *d = FlowData { just_reset: Some(opened), ..Default::default() }).await?;
            return Ok(page::see_other("/login/forgot/done"));
        }
        ResetOutcome::NeedsConsent => return Ok(page::see_other("/opening/consent")),
        ResetOutcome::WrongKey { remaining } => {
            password_step::wrong_key(&mut errors, t, remaining);
            None
        }
        ResetOutcome::KeyVoid => Some(t.get("login.reset.key_void")),
        ResetOutcome::KeyExpired => Some(t.get("login.reset.key_expired")),
    };
    render_reset(&state, &session, &view, &form.password, errors, notice).await
}

#[derive(Template)]
#[template(path = "login/reset_done.html")]
struct DonePage<'a> {
    t: &'a Catalog,
    opened: bool,
}

pub async fn done(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    match session::load(&state, &headers).await?.and_then(|s| s.data.just_reset) {
        Some(opened) => Ok(page::html(DonePage { t: catalog(request_lang()), opened }.render()?, false)),
        None => Ok(page::see_other("/login")),
    }
}
