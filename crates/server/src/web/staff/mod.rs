//! The staff console (`/staff`, SPEC §4): its own session cookie, staff ID + password + TOTP,
//! and every route behind [`CurrentStaff`], which also enforces the office scope's first half
//! (who is logged in); the flows check the job seeker's office on every action.

pub(crate) mod admin;
pub(crate) mod auth;
pub(crate) mod members;
pub(crate) mod passkeys;
pub(crate) mod seeker_page;
pub(crate) mod seekers;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::flows::staff::StaffMember;
use crate::state::AppState;
use crate::store::staff;
use crate::web::page;
use crate::web::session::{self, Realm, Session};

/// The largest CSV upload accepted (tens of thousands of rows).
pub const MAX_IMPORT: usize = 8 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/login", get(auth::show_login).post(auth::submit_login))
        .route("/staff/enroll", get(auth::show_enroll).post(auth::submit_enroll))
        .route("/staff/password", get(auth::show_password).post(auth::submit_password))
        .route("/staff/logout", post(auth::logout))
        .route("/staff/login/passkey/options", post(passkeys::login_options))
        .route("/staff/login/passkey", post(passkeys::login_finish))
        .route("/staff/passkeys", get(passkeys::show).post(passkeys::finish))
        .route("/staff/passkeys/options", post(passkeys::options))
        .route("/staff/passkeys/{id}/remove", post(passkeys::remove))
        .route("/staff", get(seekers::home))
        .route("/staff/seekers/new", get(seekers::show_new).post(seekers::submit_new))
        .route("/staff/seekers/{id}", get(seeker_page::detail))
        .route("/staff/seekers/{id}/edit", get(seekers::show_edit).post(seekers::submit_edit))
        .route("/staff/seekers/{id}/code", post(seeker_page::issue_code))
        .route("/staff/seekers/{id}/account/{action}", post(seeker_page::account_action))
        .route("/staff/seekers/{id}/email", post(seeker_page::change_email))
        .route("/staff/seekers/{id}/passkeys/{passkey_id}/revoke", post(seeker_page::revoke_passkey))
        .route("/staff/seekers/{id}/mail/{mail_id}/resend", post(seeker_page::resend_mail))
        .route(
            "/staff/import",
            get(admin::show_import)
                .post(admin::submit_import)
                // A whole office's CSV is far more than a form: allow it here only.
                .layer(axum::extract::DefaultBodyLimit::max(MAX_IMPORT)),
        )
        .route("/staff/audit", get(admin::audit))
        .route("/staff/documents", get(admin::documents).post(admin::publish_document))
        .route("/staff/offices", get(admin::offices).post(admin::add_office))
        .route("/staff/offices/{id}", post(admin::update_office))
        .route("/staff/members", get(members::show).post(members::create))
        .route("/staff/members/{id}/{action}", post(members::action))
}

/// The logged-in staff member and their session. Anyone else is sent to the staff login.
pub struct CurrentStaff {
    pub member: StaffMember,
    pub session: Session,
}

impl FromRequestParts<AppState> for CurrentStaff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let to_login = || page::see_other("/staff/login");
        let session =
            session::load_in(state, Realm::Staff, &parts.headers).await.map_err(IntoResponse::into_response)?;
        let Some(session) = session else { return Err(to_login()) };
        let Some(staff_id) = session.staff_id else { return Err(to_login()) };
        let row = staff::find(state.store.pool(), staff_id)
            .await
            .map_err(|e| crate::web::error::AppError::from(e).into_response())?;
        let Some(row) = row.filter(|r| r.disabled_at.is_none()) else { return Err(to_login()) };
        if row.must_change_password == 1 {
            return Err(page::see_other("/staff/password"));
        }
        let member = StaffMember::from_row(&row).ok_or_else(to_login)?;
        Ok(Self { member, session })
    }
}

/// The navigation every console page shows (admins see the admin pages).
pub struct Nav {
    pub name: String,
    pub admin: bool,
    pub csrf: String,
}

impl Nav {
    pub fn of(current: &CurrentStaff) -> Self {
        Self { name: current.member.name.clone(), admin: current.member.is_admin(), csrf: current.session.csrf.clone() }
    }
}
