//! 「必要な情報の入力(パスワード登録申込)」: email, 求職番号, birth date and the account creation
//! code. Input is parsed at the edge; everything typed except the code is kept on error.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use mypage_domain::account_code::{AccountCode, AccountCodeError};
use mypage_domain::birth_date::{BirthDate, BirthDateError};
use mypage_domain::clock::today_jst;
use mypage_domain::email::{Email, EmailError};
use mypage_domain::job_seeker_number::{JobSeekerNumber, JobSeekerNumberError};
use serde::Deserialize;

use super::Steps;
use crate::flows::opening::{self, Application, ApplyOutcome};
use crate::i18n::{Catalog, catalog, request_lang};
use crate::state::AppState;
use crate::web::client::ClientAddr;
use crate::web::error::AppError;
use crate::web::form::{Form, acceptable};
use crate::web::page::{self, Errors, echo};
use crate::web::session;

#[derive(Deserialize, Default)]
pub struct ApplyForm {
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
    #[serde(default)]
    code: String,
}

#[derive(Template)]
#[template(path = "opening/apply.html")]
struct ApplyPage<'a> {
    t: &'a Catalog,
    steps: Steps,
    csrf: String,
    email: String,
    job_seeker_number: String,
    birth_year: String,
    birth_month: String,
    birth_day: String,
    errors: Errors,
    /// Shown above the form when the code's state needs the counter (expired, void).
    notice: Option<String>,
    already_opened: bool,
}

impl<'a> ApplyPage<'a> {
    fn new(t: &'a Catalog, csrf: String, form: &ApplyForm, errors: Errors) -> Self {
        Self {
            t,
            steps: Steps { current: 2 },
            csrf,
            email: echo(&form.email),
            job_seeker_number: echo(&form.job_seeker_number),
            birth_year: echo(&form.birth_year),
            birth_month: echo(&form.birth_month),
            birth_day: echo(&form.birth_day),
            errors,
            notice: None,
            already_opened: false,
        }
    }
}

pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let Some(session) = session::load(&state, &headers).await?.filter(|s| s.data.consent.is_some()) else {
        return Ok(page::see_other("/opening/consent"));
    };
    let page = ApplyPage::new(catalog(request_lang()), session.csrf, &ApplyForm::default(), Errors::default());
    Ok(page::html(page.render()?, false))
}

/// Keeps the parsed value, or records the field's error message.
fn field<T>(errors: &mut Errors, t: &Catalog, id: &'static str, parsed: Result<T, &'static str>) -> Option<T> {
    parsed.map_err(|key| errors.add(id, t.get(key))).ok()
}

/// Parses every field, collecting one error per field in the words of the catalog.
fn parse(t: &Catalog, form: &ApplyForm, today: jiff::civil::Date) -> Result<Application, Errors> {
    let mut errors = Errors::default();
    let email = Email::parse(&form.email).map_err(|e| match e {
        _ if !acceptable(&form.email) => "opening.apply.error.email_invalid",
        EmailError::Empty => "opening.apply.error.email_empty",
        EmailError::TooLong => "opening.apply.error.email_too_long",
        EmailError::Invalid => "opening.apply.error.email_invalid",
    });
    let email = field(&mut errors, t, "email", email);
    let number = JobSeekerNumber::parse(&form.job_seeker_number).map_err(|e| match e {
        JobSeekerNumberError::Empty => "opening.apply.error.number_empty",
        JobSeekerNumberError::LooksLikeInsuranceNumber => "opening.apply.error.number_insurance",
        JobSeekerNumberError::Malformed => "opening.apply.error.number_malformed",
    });
    let number = field(&mut errors, t, "job_seeker_number", number);
    let birth_date =
        BirthDate::parse(&form.birth_year, &form.birth_month, &form.birth_day, today).map_err(|e| match e {
            BirthDateError::Missing => "opening.apply.error.birth_missing",
            BirthDateError::NotANumber => "opening.apply.error.birth_not_number",
            BirthDateError::NotARealDate => "opening.apply.error.birth_not_real",
            BirthDateError::InFuture => "opening.apply.error.birth_future",
            BirthDateError::Implausible => "opening.apply.error.birth_implausible",
        });
    let birth_date = field(&mut errors, t, "birth_year", birth_date);
    let code = match AccountCode::parse(&form.code) {
        Ok(_) if !acceptable(&form.code) => Err("opening.apply.error.code_invalid_character"),
        Ok(code) => Ok(code),
        Err(AccountCodeError::Empty) => Err("opening.apply.error.code_empty"),
        Err(AccountCodeError::WrongLength) => Err("opening.apply.error.code_length"),
        Err(AccountCodeError::InvalidCharacter) => Err("opening.apply.error.code_invalid_character"),
    };
    let code = field(&mut errors, t, "code", code);
    match (email, number, birth_date, code) {
        (Some(email), Some(number), Some(birth_date), Some(code)) => {
            Ok(Application { email, number, birth_date, code })
        }
        _ => Err(errors),
    }
}

pub async fn submit(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<ApplyForm>,
) -> Result<Response, AppError> {
    let mut session = session::for_post(&state, &headers, &form.csrf).await?;
    if session.data.consent.is_none() {
        return Ok(page::see_other("/opening/consent"));
    }
    let t = catalog(request_lang());
    let application = match parse(t, &form, today_jst(state.now())) {
        Ok(app) => app,
        Err(errors) => return Ok(page::html(ApplyPage::new(t, session.csrf, &form, errors).render()?, true)),
    };
    let outcome = opening::apply(&state, &application, &client, request_lang()).await?;
    let mut errors = Errors::default();
    let mut notice = None;
    let mut already_opened = false;
    match outcome {
        ApplyOutcome::KeySent(pending) => {
            session.update(&state, |d| d.pending = Some(pending.clone())).await?;
            return Ok(page::see_other("/opening/password"));
        }
        ApplyOutcome::NoMatch => errors.add("job_seeker_number", t.get("opening.apply.error.no_match")),
        ApplyOutcome::WrongCode { remaining } => {
            errors.add("code", t.fmt("opening.apply.error.wrong_code", &[("remaining", &remaining.to_string())]));
        }
        ApplyOutcome::CodeVoid => notice = Some(t.get("opening.apply.notice.code_void")),
        ApplyOutcome::CodeReplaced => notice = Some(t.get("opening.apply.notice.code_replaced")),
        ApplyOutcome::CodeExpired => notice = Some(t.get("opening.apply.notice.code_expired")),
        ApplyOutcome::AlreadyOpened => already_opened = true,
        ApplyOutcome::NumberPaused => notice = Some(t.get("opening.apply.notice.number_paused")),
        ApplyOutcome::ClientLimited => notice = Some(t.get("opening.apply.notice.client_limited")),
        ApplyOutcome::SendLimited => notice = Some(t.get("opening.apply.notice.send_limited")),
    }
    let mut page = ApplyPage::new(t, session.csrf, &form, errors);
    page.notice = notice;
    page.already_opened = already_opened;
    Ok(page::html(page.render()?, true))
}
