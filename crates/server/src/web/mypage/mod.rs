//! My Page after login (SPEC §3.10): the home page, re-consent to new document versions, the
//! account settings, and logging out.

pub(crate) mod settings;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::flows::opening::{self, DocumentKind};
use crate::flows::settings as flow;
use crate::i18n::{Catalog, catalog, request_lang};
use crate::state::AppState;
use crate::web::client::ClientAddr;
use crate::web::error::AppError;
use crate::web::form::{CsrfForm, Form};
use crate::web::page::{self, Errors};
use crate::web::session::{self, Realm, Session};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/mypage", get(home))
        .route("/mypage/consent", get(show_consent).post(submit_consent))
        .route("/mypage/settings", get(settings::show))
        .route("/mypage/settings/email", post(settings::start_email))
        .route("/mypage/settings/email/confirm", get(settings::show_confirm).post(settings::confirm_email))
        .route("/mypage/settings/password", post(settings::change_password))
        .route("/mypage/settings/browsers/{id}/revoke", post(settings::revoke_browser))
        .route("/mypage/settings/browsers/revoke-all", post(settings::revoke_all))
        .route("/mypage/logout-everywhere", post(settings::logout_everywhere))
        .route("/logout", post(logout))
}

/// The logged-in job seeker's session. Anyone else goes to the login page.
pub struct CurrentAccount {
    pub account_id: i64,
    pub session: Session,
}

impl FromRequestParts<AppState> for CurrentAccount {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = session::load(state, &parts.headers).await.map_err(IntoResponse::into_response)?;
        match session {
            Some(session) => match session.account_id {
                Some(account_id) => Ok(Self { account_id, session }),
                None => Err(page::see_other("/login")),
            },
            None => Err(page::see_other("/login?notice=signed_out")),
        }
    }
}

#[derive(Template)]
#[template(path = "mypage/home.html")]
struct HomePage<'a> {
    t: &'a Catalog,
    csrf: String,
    welcome: String,
    number: String,
    office: String,
    email: String,
    validity: String,
    lapsed: Option<String>,
    consent_due: bool,
}

pub async fn home(State(state): State<AppState>, current: CurrentAccount) -> Result<Response, AppError> {
    let home = flow::home(&state, current.account_id).await?.ok_or(AppError::NotFound)?;
    let t = catalog(request_lang());
    let validity = match home.valid_until {
        Some(d) => t.fmt("mypage.home.valid_until", &[("date", &crate::i18n::date(request_lang(), d))]),
        None => t.get("mypage.home.validity_unknown"),
    };
    let lapsed = home
        .valid_until
        .filter(|_| home.lapsed)
        .map(|d| t.fmt("mypage.home.lapsed", &[("date", &crate::i18n::date(request_lang(), d))]));
    let page = HomePage {
        t,
        csrf: current.session.csrf,
        welcome: t.fmt("mypage.home.welcome", &[("name", &home.seeker.name)]),
        number: home.seeker.number,
        office: home.office,
        email: home.account.email,
        validity,
        lapsed,
        consent_due: home.consent_due,
    };
    Ok(page::html(page.render()?, false))
}

#[derive(Template)]
#[template(path = "mypage/consent.html")]
struct ConsentPage<'a> {
    t: &'a Catalog,
    csrf: String,
    documents: Vec<(&'static str, String, bool)>,
    errors: Errors,
}

async fn consent_page(state: &AppState, session: &Session, errors: Errors) -> Result<Response, AppError> {
    let mut documents = Vec::new();
    for kind in [DocumentKind::Privacy, DocumentKind::Terms] {
        let doc = opening::current_document(state, kind).await?;
        let opened = session.data.has_opened(kind, doc.version);
        documents.push((kind.as_str(), doc.title, opened));
    }
    let has_errors = !errors.is_empty();
    let page = ConsentPage { t: catalog(request_lang()), csrf: session.csrf.clone(), documents, errors };
    Ok(page::html(page.render()?, has_errors))
}

pub async fn show_consent(State(state): State<AppState>, current: CurrentAccount) -> Result<Response, AppError> {
    consent_page(&state, &current.session, Errors::default()).await
}

pub async fn submit_consent(
    State(state): State<AppState>,
    current: CurrentAccount,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let session = session::for_post(&state, &headers, &form.csrf).await?;
    let mut all_opened = true;
    for kind in [DocumentKind::Privacy, DocumentKind::Terms] {
        let doc = opening::current_document(&state, kind).await?;
        all_opened &= session.data.has_opened(kind, doc.version);
    }
    if !all_opened {
        let mut errors = Errors::default();
        errors.add("documents", catalog(request_lang()).get("mypage.consent.not_opened"));
        return consent_page(&state, &session, errors).await;
    }
    flow::accept_current_documents(&state, current.account_id, &client).await?;
    Ok(page::see_other("/mypage"))
}

/// 「ログアウト」: the session ends server-side and its cookie is cleared.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let session = session::for_post(&state, &headers, &form.csrf).await?;
    session.destroy(&state).await?;
    Ok(page::with_cookie(
        page::see_other("/login?notice=logged_out"),
        Some(session::clear_cookie(&state, Realm::Public)?),
    ))
}
