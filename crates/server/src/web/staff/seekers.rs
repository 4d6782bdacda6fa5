//! Job seekers at the counter: search, register, the job seeker's page (why are they stuck?),
//! issuing a code with its printable slip, and the fixes.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use mypage_domain::birth_date::BirthDate;
use mypage_domain::clock::today_jst;
use mypage_domain::code_state::CodeState;
use mypage_domain::email::Email;
use mypage_domain::job_seeker_number::JobSeekerNumber;
use serde::Deserialize;

use super::{CurrentStaff, Nav};
use crate::flows::codes::IssueRefusal;
use crate::flows::console::{self, AccountAction, EmailChange, RegisterRefusal};
use crate::i18n::{Catalog, catalog, request_lang};
use crate::state::AppState;
use crate::store::{self, job_seekers, offices};
use crate::web::client::ClientAddr;
use crate::web::error::AppError;
use crate::web::form::Form;
use crate::web::page::{self, Errors, echo};
use crate::web::session::{self, Realm};

/// An instant as the counter reads it.
fn when(ms: i64) -> String {
    store::ts(ms).map(|ts| crate::i18n::datetime(request_lang(), ts)).unwrap_or_default()
}

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
        let number = JobSeekerNumber::parse(&q).ok().map(|n| n.as_str().to_owned());
        let email = Email::parse(&q).ok().map(|e| e.as_str().to_owned());
        let kana = (number.is_none() && email.is_none()).then(|| q.clone());
        let scope = current.member.scope();
        job_seekers::search(state.store.pool(), number.as_deref(), kana.as_deref(), email.as_deref(), scope).await?
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

/// One line of the job seeker's page: a label and what to show.
pub struct Fact {
    pub label: String,
    pub value: String,
    /// Marks a value that explains why someone is stuck (void, expired, locked, failing mail).
    pub alert: bool,
}

#[derive(Template)]
#[template(path = "staff/seeker.html")]
struct SeekerPage<'a> {
    t: &'a Catalog,
    nav: Nav,
    id: i64,
    name: String,
    person: Vec<Fact>,
    code: Vec<Fact>,
    account: Vec<Fact>,
    opened: bool,
    disabled: bool,
    mails: Vec<Fact>,
    events: Vec<Fact>,
    notice: Option<String>,
    email: String,
}

#[derive(Deserialize)]
pub struct DetailQuery {
    #[serde(default)]
    done: Option<String>,
}

fn fact(label: String, value: String, alert: bool) -> Fact {
    Fact { label, value, alert }
}

pub async fn detail(
    State(state): State<AppState>,
    current: CurrentStaff,
    ClientAddr(client): ClientAddr,
    Path(id): Path<i64>,
    Query(query): Query<DetailQuery>,
) -> Result<Response, AppError> {
    let t = catalog(request_lang());
    let view = console::view(&state, &current.member, id).await?.ok_or(AppError::NotFound)?;
    console::record_view(&state, &current.member, id, &client).await?;
    let s = &view.seeker.row;
    let person = vec![
        fact(t.get("staff.seeker.number"), s.number.clone(), false),
        fact(t.get("staff.seeker.kana"), s.name_kana.clone(), false),
        fact(t.get("staff.seeker.birth_date"), s.birth_date.clone(), false),
        fact(t.get("staff.seeker.office"), format!("{} {}", view.seeker.office.number, view.seeker.office.name), false),
        fact(
            t.get("staff.seeker.email"),
            match (&s.email, &s.email_registered_on) {
                (Some(e), Some(on)) => format!("{e} ({on})"),
                (Some(e), None) => e.clone(),
                _ => t.get("staff.none"),
            },
            false,
        ),
        fact(
            t.get("staff.seeker.validity"),
            match (&s.registered_on, &s.valid_until) {
                (Some(from), Some(to)) => format!("{from} 〜 {to}"),
                (None, Some(to)) => format!("〜 {to}"),
                (Some(from), None) => format!("{from} 〜"),
                (None, None) => t.get("staff.none"),
            },
            false,
        ),
    ];
    let code = match &view.code {
        None => vec![fact(t.get("staff.code.state"), t.get("staff.code.none"), true)],
        Some((row, code_state)) => {
            let (key, alert) = match code_state {
                CodeState::Active { .. } => ("staff.code.active", false),
                CodeState::Expired => ("staff.code.expired", true),
                CodeState::Void => ("staff.code.void", true),
                CodeState::Used => ("staff.code.used", false),
            };
            vec![
                fact(t.get("staff.code.state"), t.get(key), alert),
                fact(
                    t.get("staff.code.failures"),
                    format!("{} / {}", row.failed_attempts, state.settings.code_max_failures),
                    row.failed_attempts > 0,
                ),
                fact(t.get("staff.code.issued"), when(row.issued_at), false),
                fact(t.get("staff.code.expires"), when(row.expires_at), false),
            ]
        }
    };
    let now = store::ms(state.now());
    let account = match &view.account {
        None => vec![fact(t.get("staff.account.state"), t.get("staff.account.not_opened"), false)],
        Some((a, login)) => vec![
            fact(
                t.get("staff.account.state"),
                t.get(if a.disabled_at.is_some() { "staff.account.disabled" } else { "staff.account.opened" }),
                a.disabled_at.is_some(),
            ),
            fact(t.get("staff.account.login_id"), a.email.clone(), false),
            fact(t.get("staff.account.opened_at"), when(a.created_at), false),
            fact(
                t.get("staff.account.consent"),
                format!("v{} / v{} ({})", a.privacy_version, a.terms_version, when(a.consented_at)),
                false,
            ),
            fact(
                t.get("staff.account.last_login"),
                login.last_login.map(when).unwrap_or_else(|| t.get("staff.none")),
                false,
            ),
            fact(
                t.get("staff.account.locked_until"),
                login.locked_until.filter(|u| *u > now).map(when).unwrap_or_else(|| t.get("staff.none")),
                login.locked_until.is_some_and(|u| u > now),
            ),
            fact(t.get("staff.account.failed_logins"), login.failed_logins.to_string(), login.failed_logins > 0),
            fact(t.get("staff.account.remembered"), login.remembered.to_string(), false),
        ],
    };
    let mails = view
        .mails
        .iter()
        .map(|m| {
            let status = match (m.sent_at, m.failed_at) {
                (Some(at), _) => t.fmt("staff.mail.sent", &[("at", &when(at))]),
                (None, Some(_)) => t.fmt("staff.mail.failed", &[("error", m.last_error.as_deref().unwrap_or(""))]),
                (None, None) if m.attempts > 0 => t.fmt(
                    "staff.mail.retrying",
                    &[("attempts", &m.attempts.to_string()), ("error", m.last_error.as_deref().unwrap_or(""))],
                ),
                (None, None) => t.get("staff.mail.queued"),
            };
            let kind = t.get(&format!("staff.mail.kind.{}", m.kind.split('.').next().unwrap_or("")));
            fact(
                format!("{} {kind} → {}", when(m.created_at), m.to_addr),
                status,
                m.sent_at.is_none() && m.attempts > 0,
            )
        })
        .collect();
    let events = view
        .events
        .iter()
        .take(50)
        .map(|e| {
            let label = t.try_get(&format!("staff.event.{}", e.kind)).unwrap_or_else(|| t.get("staff.event.other"));
            fact(when(e.at), format!("{label} ({}) {}", e.actor, e.detail), false)
        })
        .collect();
    let notice = query.done.as_deref().and_then(|d| match d {
        "unlock" | "revoke-browsers" | "disable" | "enable" | "email" | "email_invalid" | "email_in_use" | "edit" => {
            Some(t.get(&format!("staff.done.{d}")))
        }
        _ => None,
    });
    let page = SeekerPage {
        t,
        nav: Nav::of(&current),
        id,
        name: s.name.clone(),
        person,
        code,
        opened: view.account.is_some(),
        disabled: view.account.as_ref().is_some_and(|(a, _)| a.disabled_at.is_some()),
        account,
        mails,
        events,
        notice,
        email: view.account.as_ref().map(|(a, _)| a.email.clone()).or_else(|| s.email.clone()).unwrap_or_default(),
    };
    Ok(page::html(page.render()?, false))
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Template)]
#[template(path = "staff/slip.html")]
struct SlipPage<'a> {
    t: &'a Catalog,
    office: String,
    notice: Option<String>,
    name: String,
    code: String,
    expires: String,
    qr_svg: String,
    url: String,
    issued: String,
    id: i64,
}

/// Issues (or reissues) a code and answers with the printable slip: the only moment the code
/// exists in clear, so reprinting means reissuing.
pub async fn issue_code(
    State(state): State<AppState>,
    current: CurrentStaff,
    ClientAddr(client): ClientAddr,
    headers: axum::http::HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    session::for_post_in(&state, Realm::Staff, &headers, &form.csrf).await?;
    let t = catalog(request_lang());
    let (seeker, issued) = match console::issue_code(&state, &current.member, id, &client).await? {
        None => return Err(AppError::NotFound),
        Some(Err(IssueRefusal::AlreadyOpened | IssueRefusal::UnknownJobSeeker)) => {
            return Ok(page::see_other(&format!("/staff/seekers/{id}")));
        }
        Some(Ok(done)) => done,
    };
    let url = format!("{}/", state.settings.base_url.as_str());
    let page = SlipPage {
        t,
        office: seeker.office.name.clone(),
        notice: seeker.office.slip_notice.clone(),
        name: seeker.row.name.clone(),
        code: issued.code.grouped(),
        expires: t.fmt("staff.slip.expires", &[("expires", &crate::i18n::datetime(request_lang(), issued.expires_at))]),
        qr_svg: super::auth::qr_svg(&url),
        url,
        issued: crate::i18n::datetime(request_lang(), state.now()),
        id,
    };
    Ok(page::html(page.render()?, false))
}

pub async fn account_action(
    State(state): State<AppState>,
    current: CurrentStaff,
    ClientAddr(client): ClientAddr,
    headers: axum::http::HeaderMap,
    Path((id, action)): Path<(i64, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    session::for_post_in(&state, Realm::Staff, &headers, &form.csrf).await?;
    let action_kind = match action.as_str() {
        "unlock" => AccountAction::Unlock,
        "revoke-browsers" => AccountAction::RevokeBrowsers,
        "disable" => AccountAction::Disable,
        "enable" => AccountAction::Enable,
        _ => return Err(AppError::NotFound),
    };
    console::account_action(&state, &current.member, id, action_kind, &client).await?.ok_or(AppError::NotFound)?;
    Ok(page::see_other(&format!("/staff/seekers/{id}?done={action}")))
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

pub async fn change_email(
    State(state): State<AppState>,
    current: CurrentStaff,
    ClientAddr(client): ClientAddr,
    headers: axum::http::HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<EmailForm>,
) -> Result<Response, AppError> {
    session::for_post_in(&state, Realm::Staff, &headers, &form.csrf).await?;
    let Ok(email) = Email::parse(&form.email) else {
        return Ok(page::see_other(&format!("/staff/seekers/{id}?done=email_invalid")));
    };
    let today = today_jst(state.now());
    let done = match console::change_email(&state, &current.member, id, &email, today, &client)
        .await?
        .ok_or(AppError::NotFound)?
    {
        EmailChange::Changed => "email",
        EmailChange::InUse => "email_in_use",
    };
    Ok(page::see_other(&format!("/staff/seekers/{id}?done={done}")))
}
