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
use crate::store::{staff, staff_passkeys};
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

/// The logged-in staff member and their session. Anyone else is sent to the staff login; a
/// member who still has to add the passkey their office requires, to 「パスキー」.
pub struct CurrentStaff {
    pub member: StaffMember,
    pub session: Session,
    /// The office requires passkeys and this session has none yet (logged in by password, by a
    /// member without one): only 「パスキー」 and the logout are open to it.
    pub passkey_due: bool,
}

impl FromRequestParts<AppState> for CurrentStaff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let current = PasskeyEnrolment::from_request_parts(parts, state).await?.0;
        if current.passkey_due {
            return Err(page::see_other("/staff/passkeys"));
        }
        Ok(current)
    }
}

/// A logged-in member on 「パスキー」: also one whose passkey is due.
pub struct PasskeyEnrolment(pub CurrentStaff);

impl FromRequestParts<AppState> for PasskeyEnrolment {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let to_login = || page::see_other("/staff/login");
        let internal = |e: crate::store::StoreError| crate::web::error::AppError::from(e).into_response();
        let session =
            session::load_in(state, Realm::Staff, &parts.headers).await.map_err(IntoResponse::into_response)?;
        let Some(session) = session else { return Err(to_login()) };
        let Some(staff_id) = session.staff_id else { return Err(to_login()) };
        let row = staff::find(state.store.pool(), staff_id).await.map_err(internal)?;
        let Some(row) = row.filter(|r| r.disabled_at.is_none()) else { return Err(to_login()) };
        if row.must_change_password == 1 {
            return Err(page::see_other("/staff/password"));
        }
        let member = StaffMember::from_row(&row).ok_or_else(to_login)?;
        let passkey_due =
            crate::flows::staff_passkeys::required(state, member.passkeys_required) && !session.data.staff_passkey;
        // A password session of a member who has a passkey, in an office that now requires
        // one (the rule was turned on meanwhile): it ends, and the login says why.
        if passkey_due && staff_passkeys::count(state.store.pool(), member.id).await.map_err(internal)? > 0 {
            session.destroy(state).await.map_err(IntoResponse::into_response)?;
            let cookie = session::clear_cookie(state, Realm::Staff).map_err(IntoResponse::into_response)?;
            return Err(page::with_cookie(page::see_other("/staff/login?passkey=required"), Some(cookie)));
        }
        Ok(Self(CurrentStaff { member, session, passkey_due }))
    }
}

/// The navigation every console page shows (admins see the admin pages).
pub struct Nav {
    pub name: String,
    pub admin: bool,
    pub csrf: String,
    /// Only 「パスキー」 and the logout lead anywhere yet (see [`CurrentStaff::passkey_due`]).
    pub passkey_due: bool,
}

impl Nav {
    pub fn of(current: &CurrentStaff) -> Self {
        Self {
            name: current.member.name.clone(),
            admin: current.member.is_admin(),
            csrf: current.session.csrf.clone(),
            passkey_due: current.passkey_due,
        }
    }
}
