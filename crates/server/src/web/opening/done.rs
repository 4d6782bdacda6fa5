//! 「パスワード登録完了」.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use super::Steps;
use crate::i18n::{Catalog, catalog, request_lang};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::page;
use crate::web::session;

#[derive(Template)]
#[template(path = "opening/done.html")]
struct DonePage<'a> {
    t: &'a Catalog,
    steps: Steps,
}

pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    match session::load(&state, &headers).await? {
        Some(s) if s.data.just_opened => {
            let page = DonePage { t: catalog(request_lang()), steps: Steps { current: 4 } };
            Ok(page::html(page.render()?, false))
        }
        _ => Ok(page::see_other("/")),
    }
}
