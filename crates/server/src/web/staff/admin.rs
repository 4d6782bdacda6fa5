//! Console pages beyond one job seeker: CSV import (every clerk, own office only), and for
//! admins the audit log, offices and the documents (staff members are in `members`).

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use super::{CurrentStaff, Nav};
use crate::flows::opening::DocumentKind;
use crate::flows::registry::{self, AddOffice, OfficeNumber, OfficeUpdate};
use crate::flows::staff;
use crate::i18n::{Catalog, catalog, request_lang};
use crate::import::{self, RowOutcome};
use crate::state::AppState;
use crate::store::{self, audit, offices};
use crate::web::error::AppError;
use crate::web::form::Form;
use crate::web::page::{self, Errors, echo};
use crate::web::session::{self, Realm};

pub(super) fn admin_only(current: &CurrentStaff) -> Result<(), AppError> {
    if current.member.is_admin() { Ok(()) } else { Err(AppError::Forbidden) }
}

#[derive(Template)]
#[template(path = "staff/import.html")]
struct ImportPage<'a> {
    t: &'a Catalog,
    nav: Nav,
    /// Line, 求職番号, outcome, refused?
    rows: Vec<(u64, String, String, bool)>,
    summary: Option<String>,
    error: Option<String>,
}

pub async fn show_import(current: CurrentStaff) -> Result<Response, AppError> {
    let page =
        ImportPage { t: catalog(request_lang()), nav: Nav::of(&current), rows: Vec::new(), summary: None, error: None };
    Ok(page::html(page.render()?, false))
}

/// The CSV upload. Multipart because it is a file; the CSRF token comes as a field before it.
pub async fn submit_import(
    State(state): State<AppState>,
    current: CurrentStaff,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let (mut csrf, mut file) = (String::new(), Vec::new());
    while let Some(field) = multipart.next_field().await.map_err(|_| AppError::BadRequest)? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(|_| AppError::BadRequest)?,
            Some("file") => file = field.bytes().await.map_err(|_| AppError::PayloadTooLarge)?.to_vec(),
            _ => {}
        }
    }
    session::for_post_in(&state, Realm::Staff, &headers, &csrf).await?;
    let t = catalog(request_lang());
    let actor = current.member.actor();
    let (rows, summary, error) = match import::import(&state, &file, &actor, current.member.scope()).await {
        Ok(report) => {
            let rows = report
                .rows
                .iter()
                .map(|r| {
                    let (text, refused) = match &r.outcome {
                        RowOutcome::Added => (t.get("import.outcome.added"), false),
                        RowOutcome::Updated => (t.get("import.outcome.updated"), false),
                        RowOutcome::Unchanged => (t.get("import.outcome.unchanged"), false),
                        RowOutcome::Refused(problems) => (
                            format!(
                                "{}: {}",
                                t.get("import.outcome.refused"),
                                problems.iter().map(|p| t.get(p.key())).collect::<Vec<_>>().join("、")
                            ),
                            true,
                        ),
                    };
                    (r.line, r.number.clone(), text, refused)
                })
                .collect();
            let summary = t.fmt(
                "staff.import.summary",
                &[
                    ("added", &report.count(|o| *o == RowOutcome::Added).to_string()),
                    ("updated", &report.count(|o| *o == RowOutcome::Updated).to_string()),
                    ("unchanged", &report.count(|o| *o == RowOutcome::Unchanged).to_string()),
                    ("refused", &report.count(|o| matches!(o, RowOutcome::Refused(_))).to_string()),
                ],
            );
            (rows, Some(summary), None)
        }
        Err(import::ImportError::Flow(e)) => return Err(e.into()),
        Err(e @ (import::ImportError::Encoding | import::ImportError::Header | import::ImportError::Csv { .. })) => {
            (Vec::new(), None, Some(t.fmt("staff.import.unreadable", &[("reason", &e.to_string())])))
        }
    };
    let has_error = error.is_some();
    let page = ImportPage { t, nav: Nav::of(&current), rows, summary, error };
    Ok(page::html(page.render()?, has_error))
}

#[derive(Template)]
#[template(path = "staff/audit.html")]
struct AuditPage<'a> {
    t: &'a Catalog,
    nav: Nav,
    query: AuditQuery,
    /// Time, actor, kind, job seeker, detail, address.
    events: Vec<(String, String, String, String, String, String)>,
    /// The link to the next (older) page, when there is one.
    older: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    seeker: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// The page: events older than this cursor (`AT.ID`).
    #[serde(default)]
    before: String,
}

impl AuditQuery {
    /// This search's link with the page starting before `cursor`.
    fn older_link(&self, cursor: audit::Cursor) -> String {
        let cursor = cursor.to_string();
        let pairs = [
            ("seeker", self.seeker.as_str()),
            ("actor", &self.actor),
            ("kind", &self.kind),
            ("from", &self.from),
            ("to", &self.to),
            ("before", &cursor),
        ];
        let query: Vec<String> =
            pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", percent(v))).collect();
        format!("/staff/audit?{}", query.join("&"))
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn day_start_ms(raw: &str, plus_days: i64) -> Option<i64> {
    let date: jiff::civil::Date = raw.trim().parse().ok()?;
    let start = jiff::tz::offset(9).to_timestamp(jiff::civil::DateTime::from(date)).ok()?;
    Some(start.as_millisecond() + plus_days * 86_400_000)
}

pub async fn audit(
    State(state): State<AppState>,
    current: CurrentStaff,
    Query(query): Query<AuditQuery>,
) -> Result<Response, AppError> {
    admin_only(&current)?;
    let seeker_id = match query.seeker.trim() {
        "" => None,
        number => match mypage_domain::job_seeker_number::JobSeekerNumber::parse(number) {
            Ok(n) => {
                store::job_seekers::find_by_number(state.store.pool(), n.as_str()).await?.map(|s| s.id).or(Some(-1))
            }
            Err(_) => Some(-1),
        },
    };
    let actor = query.actor.trim();
    let kind = query.kind.trim();
    let filter = audit::Filter {
        job_seeker_id: seeker_id,
        actor: (!actor.is_empty()).then_some(actor),
        kind: (!kind.is_empty()).then_some(kind),
        from_ms: day_start_ms(&query.from, 0),
        to_ms: day_start_ms(&query.to, 1),
        before: audit::Cursor::parse(&query.before),
    };
    let page = audit::search(state.store.pool(), &filter).await?;
    let older = page.older.map(|cursor| query.older_link(cursor));
    let events = page
        .events
        .into_iter()
        .map(|e| {
            (
                crate::i18n::datetime_ms(e.at),
                e.actor,
                e.kind,
                e.job_seeker_id.map(|i| i.to_string()).unwrap_or_default(),
                e.detail,
                e.client_addr.unwrap_or_default(),
            )
        })
        .collect();
    let query = AuditQuery {
        seeker: echo(&query.seeker),
        actor: echo(&query.actor),
        kind: echo(&query.kind),
        from: echo(&query.from),
        to: echo(&query.to),
        before: String::new(),
    };
    let page = AuditPage { t: catalog(request_lang()), nav: Nav::of(&current), query, events, older };
    Ok(page::html(page.render()?, false))
}

#[derive(Template)]
#[template(path = "staff/offices.html")]
struct OfficesPage<'a> {
    t: &'a Catalog,
    nav: Nav,
    /// Each office, with how many of its active staff have no passkey yet.
    offices: Vec<(offices::OfficeRow, i64)>,
    /// Whether passkeys can be required (the base URL makes a relying party).
    passkeys_offered: bool,
    errors: Errors,
}

impl OfficesPage<'_> {
    fn without_passkey(&self, count: &i64) -> String {
        self.t.fmt("staff.offices.without_passkey", &[("count", &count.to_string())])
    }
}

async fn offices_page<'a>(
    state: &AppState,
    t: &'a Catalog,
    current: &CurrentStaff,
    errors: Errors,
) -> Result<OfficesPage<'a>, AppError> {
    let pool = state.store.pool();
    let without: std::collections::HashMap<i64, i64> =
        offices::staff_without_passkey(pool).await?.into_iter().collect();
    let list = offices::list(pool).await?.into_iter().map(|o| {
        let n = without.get(&o.id).copied().unwrap_or(0);
        (o, n)
    });
    let offices = list.collect();
    Ok(OfficesPage { t, nav: Nav::of(current), offices, passkeys_offered: state.webauthn.is_some(), errors })
}

pub async fn offices(State(state): State<AppState>, current: CurrentStaff) -> Result<Response, AppError> {
    admin_only(&current)?;
    let page = offices_page(&state, catalog(request_lang()), &current, Errors::default()).await?;
    Ok(page::html(page.render()?, false))
}

#[derive(Deserialize)]
pub struct OfficeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    notice: String,
    /// The checkbox 「職員のログインにパスキーを必須にする」 (present when checked).
    #[serde(default)]
    passkeys_required: Option<String>,
}

pub async fn add_office(
    State(state): State<AppState>,
    current: CurrentStaff,
    headers: HeaderMap,
    Form(form): Form<OfficeForm>,
) -> Result<Response, AppError> {
    session::for_post_in(&state, Realm::Staff, &headers, &form.csrf).await?;
    admin_only(&current)?;
    let t = catalog(request_lang());
    let mut errors = Errors::default();
    let name = mypage_domain::text::normalize(&form.name);
    let notice = mypage_domain::text::normalize(&form.notice);
    match OfficeNumber::parse(&form.number) {
        Err(_) => errors.add("number", t.get("staff.offices.bad_number")),
        Ok(_) if name.is_empty() => errors.add("name", t.get("staff.offices.name_missing")),
        Ok(number) => {
            let notice = (!notice.is_empty()).then_some(notice.as_str());
            if registry::add_office(&state, &number, &name, notice, &current.member.actor()).await?
                == AddOffice::NumberTaken
            {
                errors.add("number", t.get("staff.offices.taken"));
            }
        }
    }
    if errors.is_empty() {
        return Ok(page::see_other("/staff/offices"));
    }
    Ok(page::html(offices_page(&state, t, &current, errors).await?.render()?, true))
}

pub async fn update_office(
    State(state): State<AppState>,
    current: CurrentStaff,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<OfficeForm>,
) -> Result<Response, AppError> {
    session::for_post_in(&state, Realm::Staff, &headers, &form.csrf).await?;
    admin_only(&current)?;
    let name = mypage_domain::text::normalize(&form.name);
    if name.is_empty() {
        return Err(AppError::BadRequest);
    }
    let notice = mypage_domain::text::normalize(&form.notice);
    let update = OfficeUpdate {
        name: &name,
        notice: (!notice.is_empty()).then_some(notice.as_str()),
        // Only where passkeys can be offered at all; the form then has the checkbox.
        staff_passkeys_required: state.webauthn.is_some().then_some(form.passkeys_required.is_some()),
    };
    registry::update_office(&state, id, &update, &current.member.actor()).await?;
    Ok(page::see_other("/staff/offices"))
}

#[derive(Template)]
#[template(path = "staff/documents.html")]
struct DocumentsPage<'a> {
    t: &'a Catalog,
    nav: Nav,
    /// kind, label, current version, current title
    current: Vec<(&'static str, String, i64, String)>,
    errors: Errors,
    form_kind: String,
    form_title: String,
    form_body: String,
    notice: Option<String>,
}

async fn documents_page(
    state: &AppState,
    current: &CurrentStaff,
    errors: Errors,
    form: Option<&DocumentForm>,
    notice: Option<String>,
) -> Result<Response, AppError> {
    let t = catalog(request_lang());
    let mut docs = Vec::new();
    for kind in [DocumentKind::Privacy, DocumentKind::Terms] {
        let doc = crate::flows::opening::current_document(state, kind).await?;
        docs.push((kind.as_str(), t.get(&format!("staff.documents.kinds.{}", kind.as_str())), doc.version, doc.title));
    }
    let has_errors = !errors.is_empty();
    let page = DocumentsPage {
        t,
        nav: Nav::of(current),
        current: docs,
        errors,
        form_kind: form.map(|f| echo(&f.kind)).unwrap_or_default(),
        form_title: form.map(|f| echo(&f.title)).unwrap_or_default(),
        form_body: form.map(|f| f.body.chars().filter(|c| !c.is_control() || *c == '\n').collect()).unwrap_or_default(),
        notice,
    };
    Ok(page::html(page.render()?, has_errors))
}

pub async fn documents(State(state): State<AppState>, current: CurrentStaff) -> Result<Response, AppError> {
    admin_only(&current)?;
    documents_page(&state, &current, Errors::default(), None, None).await
}

#[derive(Deserialize)]
pub struct DocumentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
}

/// Longest document text accepted.
const MAX_DOCUMENT: usize = 20_000;

pub async fn publish_document(
    State(state): State<AppState>,
    current: CurrentStaff,
    headers: HeaderMap,
    Form(form): Form<DocumentForm>,
) -> Result<Response, AppError> {
    session::for_post_in(&state, Realm::Staff, &headers, &form.csrf).await?;
    admin_only(&current)?;
    let t = catalog(request_lang());
    let mut errors = Errors::default();
    let kind = DocumentKind::parse(&form.kind);
    if kind.is_none() {
        errors.add("kind", t.get("staff.documents.kind_missing"));
    }
    let title = mypage_domain::text::normalize(&form.title);
    if title.is_empty() || title.chars().count() > 200 {
        errors.add("title", t.get("staff.documents.title_missing"));
    }
    let body = form.body.replace("\r\n", "\n");
    let body_ok = !body.trim().is_empty()
        && body.chars().count() <= MAX_DOCUMENT
        && body.chars().all(|c| !c.is_control() || c == '\n' || c == '\t');
    if !body_ok {
        errors.add("body", t.get("staff.documents.body_invalid"));
    }
    let Some(kind) = kind.filter(|_| errors.is_empty()) else {
        return documents_page(&state, &current, errors, Some(&form), None).await;
    };
    let notice = match staff::publish_document(&state, kind, &title, body.trim(), &current.member.actor()).await? {
        staff::Publish::Published { version } => {
            t.fmt("staff.documents.published", &[("version", &version.to_string())])
        }
        staff::Publish::Conflict => t.get("staff.documents.conflict"),
    };
    documents_page(&state, &current, Errors::default(), None, Some(notice)).await
}
