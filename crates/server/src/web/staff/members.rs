//! The admins' staff page (SPEC §4): the list with each member's state, adding a member and
//! reissuing their one-time password (shown once; never their TOTP secret, which only the member
//! sees when enrolling), disabling, and lifting a password lock.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use super::admin::admin_only;
use super::{CurrentStaff, Nav};
use crate::flows::staff::{self, CreateRefusal, Credentials, Role};
use crate::flows::staff_lock;
use crate::i18n::{Catalog, catalog, request_lang};
use crate::state::AppState;
use crate::store::{self, offices};
use crate::web::error::AppError;
use crate::web::form::{CsrfForm, Form};
use crate::web::page::{self, Errors};
use crate::web::session::{self, Realm};

/// One staff member as the list shows them.
struct MemberLine {
    id: i64,
    login_id: String,
    name: String,
    role: String,
    office: String,
    disabled: bool,
    /// "Locked until …" while a password lock holds, with the unlock button.
    locked: Option<String>,
}

#[derive(Template)]
#[template(path = "staff/members.html")]
struct MembersPage<'a> {
    t: &'a Catalog,
    nav: Nav,
    members: Vec<MemberLine>,
    offices: Vec<offices::OfficeRow>,
    errors: Errors,
    /// The staff ID and one-time password just issued (never the TOTP secret: see
    /// [`Credentials`]).
    credentials: Option<(String, String)>,
    notice: Option<String>,
}

async fn members_page(
    state: &AppState,
    current: &CurrentStaff,
    errors: Errors,
    credentials: Option<(String, Credentials)>,
    notice: Option<String>,
) -> Result<Response, AppError> {
    let t = catalog(request_lang());
    let all_offices = offices::list(state.store.pool()).await?;
    let office_name = |id: i64| all_offices.iter().find(|o| o.id == id).map(|o| o.name.clone()).unwrap_or_default();
    let now = store::ms(state.now());
    let members = store::staff::list(state.store.pool())
        .await?
        .into_iter()
        .map(|m| MemberLine {
            id: m.id,
            role: t.get(&format!("staff.role.{}", m.role)),
            office: office_name(m.office_id),
            disabled: m.disabled_at.is_some(),
            locked: m
                .locked_until
                .filter(|until| *until > now)
                .map(|until| t.fmt("staff.members.locked_until", &[("until", &crate::i18n::datetime_ms(until))])),
            login_id: m.login_id,
            name: m.name,
        })
        .collect();
    let has_errors = !errors.is_empty();
    let credentials = credentials.map(|(login_id, c)| (login_id, c.password.expose().to_owned()));
    let page = MembersPage { t, nav: Nav::of(current), members, offices: all_offices, errors, credentials, notice };
    Ok(page::html(page.render()?, has_errors))
}

#[derive(Deserialize, Default)]
pub struct MembersQuery {
    #[serde(default)]
    done: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    current: CurrentStaff,
    Query(query): Query<MembersQuery>,
) -> Result<Response, AppError> {
    admin_only(&current)?;
    let t = catalog(request_lang());
    let notice = (query.done.as_deref() == Some("unlock")).then(|| t.get("staff.members.unlocked"));
    members_page(&state, &current, Errors::default(), None, notice).await
}

#[derive(Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    office: String,
}

pub async fn create(
    State(state): State<AppState>,
    current: CurrentStaff,
    headers: HeaderMap,
    Form(form): Form<MemberForm>,
) -> Result<Response, AppError> {
    session::for_post_in(&state, Realm::Staff, &headers, &form.csrf).await?;
    admin_only(&current)?;
    let t = catalog(request_lang());
    let mut errors = Errors::default();
    let name = mypage_domain::text::normalize(&form.name);
    let role = Role::parse(&form.role);
    if name.is_empty() {
        errors.add("name", t.get("staff.members.name_missing"));
    }
    let Some(role) = role.filter(|_| errors.is_empty()) else {
        if role.is_none() {
            errors.add("role", t.get("staff.members.role_missing"));
        }
        return members_page(&state, &current, errors, None, None).await;
    };
    match staff::create(&state, &form.login_id, &name, role, form.office.trim(), &current.member.actor()).await? {
        Ok(credentials) => {
            let login_id = staff::parse_login_id(&form.login_id).unwrap_or_default();
            members_page(&state, &current, errors, Some((login_id, credentials)), None).await
        }
        Err(refusal) => {
            let key = match refusal {
                CreateRefusal::BadLoginId => "staff.members.bad_login_id",
                CreateRefusal::LoginIdTaken => "staff.members.taken",
                CreateRefusal::UnknownOffice => "staff.offices.bad_number",
            };
            errors.add("login_id", t.get(key));
            members_page(&state, &current, errors, None, None).await
        }
    }
}

pub async fn action(
    State(state): State<AppState>,
    current: CurrentStaff,
    headers: HeaderMap,
    Path((id, action)): Path<(i64, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    session::for_post_in(&state, Realm::Staff, &headers, &form.csrf).await?;
    admin_only(&current)?;
    let actor = current.member.actor();
    match action.as_str() {
        "reset" => {
            let row = store::staff::find(state.store.pool(), id).await?.ok_or(AppError::NotFound)?;
            let credentials = staff::reset(&state, id, &actor).await?.ok_or(AppError::NotFound)?;
            members_page(&state, &current, Errors::default(), Some((row.login_id, credentials)), None).await
        }
        "unlock" => {
            if !staff_lock::unlock(&state, id, &actor).await? {
                return Err(AppError::NotFound);
            }
            Ok(page::see_other("/staff/members?done=unlock"))
        }
        "disable" | "enable" if id != current.member.id => {
            staff::set_disabled(&state, id, action == "disable", &actor).await?;
            Ok(page::see_other("/staff/members"))
        }
        _ => Err(AppError::NotFound),
    }
}
