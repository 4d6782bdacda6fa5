//! My Page after login (SPEC §3.10): the home page and logging out.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use crate::i18n::{Catalog, Lang, catalog};
use crate::state::AppState;
use crate::store::{accounts, job_seekers, offices};
use crate::web::error::AppError;
use crate::web::form::Form;
use crate::web::page;
use crate::web::session;

pub fn routes() -> Router<AppState> {
    Router::new().route("/mypage", get(home)).route("/logout", post(logout))
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
}

pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let Some(session) = session::load(&state, &headers).await? else {
        return Ok(page::see_other("/login?notice=signed_out"));
    };
    let Some(account_id) = session.account_id else { return Ok(page::see_other("/login")) };
    let account = accounts::find(state.store.pool(), account_id).await?.ok_or(AppError::NotFound)?;
    let seeker = job_seekers::find(state.store.pool(), account.job_seeker_id).await?.ok_or(AppError::NotFound)?;
    let office = offices::find(state.store.pool(), seeker.office_id).await?.map(|o| o.name).unwrap_or_default();
    let t = catalog(Lang::Ja);
    let page = HomePage {
        t,
        csrf: session.csrf,
        welcome: t.fmt("mypage.home.welcome", &[("name", &seeker.name)]),
        number: seeker.number,
        office,
        email: account.email,
    };
    Ok(page::html(page.render()?, false))
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// 「ログアウト」: the session ends server-side and its cookie is cleared.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Result<Response, AppError> {
    let session = session::for_post(&state, &headers, &form.csrf).await?;
    session.destroy(&state).await?;
    Ok(page::with_cookie(
        page::see_other("/login?notice=logged_out"),
        Some(session::clear_cookie(&state, session::Realm::Public)?),
    ))
}
