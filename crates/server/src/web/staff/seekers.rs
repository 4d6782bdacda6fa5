//! Job seekers at the counter: search, register, correct a registration.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use mypage_domain::birth_date::BirthDate;
use mypage_domain::clock::today_jst;
use mypage_domain::email::Email;
use mypage_domain::job_seeker_number::JobSeekerNumber;
use serde::Deserialize;

use super::{CurrentStaff, Nav};
use crate::flows::console::{self, RegisterRefusal};
use crate::i18n::{Catalog, catalog, request_lang};
use crate::state::AppState;
use crate::store::{job_seekers, offices};
use crate::web::client::ClientAddr;
use crate::web::error::AppError;
use crate::web::form::Form;
use crate::web::page::{self, Errors, echo};
use crate::web::session::{self, Realm};

#[derive(Template)]
#[template(path = "staff/home.html")]
struct HomePage<'a> {
    t: &'a Catalog,
    nav: Nav,
    q: String,
    searched: bool,
    results: Vec<job_seekers::JobSeekerRow>,
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// The console's home: one search box for 求職番号, kana or email.
pub async fn home(
    State(state): State<AppState>,
    current: CurrentStaff,
    Query(query): Query<SearchQuery>,
) -> Result<Response, AppError> {
    let q = mypage_domain::text::normalize(&query.q);
    let results = if q.is_empty() {
        Vec::new()
    } else {
        let number = JobSeekerNumber::parse(&q).ok();
        let email = Email::parse(&q).ok();
        let search = match (&number, &email) {
            (Some(n), _) => job_seekers::Search::Number(n.as_str()),
            (None, Some(e)) => job_seekers::Search::Email(e.as_str()),
            (None, None) => job_seekers::Search::KanaPrefix(&q),
        };
        job_seekers::search(state.store.pool(), search, current.member.scope()).await?
    };
    let page =
        HomePage { t: catalog(request_lang()), nav: Nav::of(&current), searched: !q.is_empty(), q: echo(&q), results };
    Ok(page::html(page.render()?, false))
}

#[derive(Template)]
#[template(path = "staff/seeker_new.html")]
struct NewPage<'a> {
    t: &'a Catalog,
    nav: Nav,
    title: String,
    action: String,
    submit: String,
    offices: Vec<offices::OfficeRow>,
    /// Input id, label key, value typed so far, input type.
    fields: Vec<(&'static str, &'static str, String, &'static str)>,
    office_id: String,
    errors: Errors,
}

impl NewPage<'_> {
    fn fields(form: &NewSeekerForm) -> Vec<(&'static str, &'static str, String, &'static str)> {
        vec![
            ("number", "staff.seeker.number", echo(&form.number), "text"),
            ("name", "staff.seeker.name", echo(&form.name), "text"),
            ("name_kana", "staff.seeker.kana", echo(&form.name_kana), "text"),
            ("birth_date", "staff.seeker.birth_date", echo(&form.birth_date), "date"),
            ("email", "staff.seeker.email_optional", echo(&form.email), "email"),
            ("registered_on", "staff.seeker.registered_on", echo(&form.registered_on), "date"),
            ("valid_until", "staff.seeker.valid_until", echo(&form.valid_until), "date"),
        ]
    }
}

#[derive(Deserialize, Default)]
pub struct NewSeekerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    name_kana: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    office_id: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    registered_on: String,
    #[serde(default)]
    valid_until: String,
}

async fn offices_for(state: &AppState, current: &CurrentStaff) -> Result<Vec<offices::OfficeRow>, AppError> {
    let all = offices::list(state.store.pool()).await?;
    Ok(all.into_iter().filter(|o| current.member.may_act_on(o.id)).collect())
}

pub async fn show_new(State(state): State<AppState>, current: CurrentStaff) -> Result<Response, AppError> {
    let form = NewSeekerForm { office_id: current.member.office_id.to_string(), ..Default::default() };
    let t = catalog(request_lang());
    let page = NewPage {
        t,
        title: t.get("staff.new.title"),
        action: "/staff/seekers/new".into(),
        submit: t.get("staff.new.submit"),
        offices: offices_for(&state, &current).await?,
        nav: Nav::of(&current),
        fields: NewPage::fields(&form),
        office_id: form.office_id,
        errors: Errors::default(),
    };
    Ok(page::html(page.render()?, false))
}

fn optional_date(raw: &str) -> Result<Option<String>, ()> {
    let s = mypage_domain::text::normalize(raw);
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<jiff::civil::Date>().map(|d| Some(d.to_string())).map_err(|_| ())
}

/// Parses the registration form; every field's error in the catalog's words.
fn parse_form(
    t: &Catalog,
    current: &CurrentStaff,
    form: &NewSeekerForm,
    today: jiff::civil::Date,
) -> Result<job_seekers::NewJobSeeker, Errors> {
    let mut errors = Errors::default();
    let number = JobSeekerNumber::parse(&form.number).ok();
    if number.is_none() {
        errors.add("number", t.get("opening.apply.error.number_malformed"));
    }
    let name = mypage_domain::text::normalize(&form.name);
    let kana = mypage_domain::text::normalize(&form.name_kana);
    if name.is_empty() || name.chars().count() > 100 {
        errors.add("name", t.get("import.problem.missing_name"));
    }
    if kana.is_empty() || kana.chars().count() > 100 {
        errors.add("name_kana", t.get("import.problem.missing_kana"));
    }
    let birth = mypage_domain::text::normalize(&form.birth_date);
    let birth_date = birth
        .split_once('-')
        .and_then(|(y, rest)| rest.split_once('-').map(|(m, d)| (y, m, d)))
        .and_then(|(y, m, d)| BirthDate::parse(y, m, d, today).ok());
    if birth_date.is_none() {
        errors.add("birth_date", t.get("import.problem.bad_birth_date"));
    }
    let office_id = form.office_id.parse::<i64>().ok().filter(|id| current.member.may_act_on(*id));
    if office_id.is_none() {
        errors.add("office_id", t.get("import.problem.other_office"));
    }
    let email = match mypage_domain::text::normalize(&form.email) {
        e if e.is_empty() => Ok(None),
        e => Email::parse(&e).map(Some).map_err(|_| errors.add("email", t.get("opening.apply.error.email_invalid"))),
    };
    let registered_on =
        optional_date(&form.registered_on).map_err(|()| errors.add("registered_on", t.get("staff.seeker.error.date")));
    let valid_until =
        optional_date(&form.valid_until).map_err(|()| errors.add("valid_until", t.get("staff.seeker.error.date")));
    match (number, birth_date, office_id, email, registered_on, valid_until) {
        (Some(number), Some(birth_date), Some(office_id), Ok(email), Ok(registered_on), Ok(valid_until))
            if errors.is_empty() =>
        {
            Ok(job_seekers::NewJobSeeker {
                number: number.as_str().to_owned(),
                name,
                name_kana: kana,
                birth_date: birth_date.to_iso(),
                office_id,
                email_registered_on: email.as_ref().map(|_| today.to_string()),
                email: email.map(|e| e.as_str().to_owned()),
                registered_on,
                valid_until,
            })
        }
        _ => Err(errors),
    }
}

pub async fn submit_new(
    State(state): State<AppState>,
    current: CurrentStaff,
    ClientAddr(client): ClientAddr,
    headers: axum::http::HeaderMap,
    Form(form): Form<NewSeekerForm>,
) -> Result<Response, AppError> {
    session::for_post_in(&state, Realm::Staff, &headers, &form.csrf).await?;
    let t = catalog(request_lang());
    let new = match parse_form(t, &current, &form, today_jst(state.now())) {
        Ok(new) => new,
        Err(errors) => return rerender(&state, current, form, errors, None).await,
    };
    match console::register(&state, &current.member, &new, &client).await? {
        Ok(id) => Ok(page::see_other(&format!("/staff/seekers/{id}"))),
        Err(refusal) => {
            let key = match refusal {
                RegisterRefusal::NumberTaken => "staff.seeker.error.number_taken",
                RegisterRefusal::OtherOffice => "import.problem.other_office",
            };
            let mut errors = Errors::default();
            errors.add("number", t.get(key));
            rerender(&state, current, form, errors, None).await
        }
    }
}

pub async fn show_edit(
    State(state): State<AppState>,
    current: CurrentStaff,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let seeker = console::seeker(&state, &current.member, id).await?.ok_or(AppError::NotFound)?;
    let row = seeker.row;
    let form = NewSeekerForm {
        csrf: String::new(),
        number: row.number,
        name: row.name,
        name_kana: row.name_kana,
        birth_date: row.birth_date,
        office_id: row.office_id.to_string(),
        email: row.email.unwrap_or_default(),
        registered_on: row.registered_on.unwrap_or_default(),
        valid_until: row.valid_until.unwrap_or_default(),
    };
    rerender(&state, current, form, Errors::default(), Some(id)).await
}

pub async fn submit_edit(
    State(state): State<AppState>,
    current: CurrentStaff,
    ClientAddr(client): ClientAddr,
    headers: axum::http::HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<NewSeekerForm>,
) -> Result<Response, AppError> {
    session::for_post_in(&state, Realm::Staff, &headers, &form.csrf).await?;
    let t = catalog(request_lang());
    let existing = console::seeker(&state, &current.member, id).await?.ok_or(AppError::NotFound)?;
    let mut new = match parse_form(t, &current, &form, today_jst(state.now())) {
        Ok(new) => new,
        Err(errors) => return rerender(&state, current, form, errors, Some(id)).await,
    };
    // The 求職番号 identifies the registration; the registered email's date moves only with it.
    new.number = existing.row.number.clone();
    if new.email == existing.row.email {
        new.email_registered_on = existing.row.email_registered_on.clone();
    }
    match console::edit(&state, &current.member, id, &new, &client).await?.ok_or(AppError::NotFound)? {
        Ok(()) => Ok(page::see_other(&format!("/staff/seekers/{id}?done=edit"))),
        Err(_) => {
            let mut errors = Errors::default();
            errors.add("office_id", t.get("import.problem.other_office"));
            rerender(&state, current, form, errors, Some(id)).await
        }
    }
}

/// The registration form (`editing` the job seeker with that id, or a new one).
async fn rerender(
    state: &AppState,
    current: CurrentStaff,
    form: NewSeekerForm,
    errors: Errors,
    editing: Option<i64>,
) -> Result<Response, AppError> {
    let t = catalog(request_lang());
    let has_errors = !errors.is_empty();
    let (title, action, submit) = match editing {
        Some(id) => (t.get("staff.edit.title"), format!("/staff/seekers/{id}/edit"), t.get("staff.edit.submit")),
        None => (t.get("staff.new.title"), "/staff/seekers/new".to_owned(), t.get("staff.new.submit")),
    };
    let page = NewPage {
        t,
        title,
        action,
        submit,
        offices: offices_for(state, &current).await?,
        nav: Nav::of(&current),
        fields: NewPage::fields(&form),
        office_id: echo(&form.office_id),
        errors,
    };
    Ok(page::html(page.render()?, has_errors))
}
