//! 「求職者マイページ利用規約確認」: each checkbox can be ticked only after its document was opened,
//! and the server refuses a post that skips opening them.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::Steps;
use crate::flows::limits::NEW_SESSIONS_PER_CLIENT;
use crate::flows::opening::{self, Consent, DocumentKind};
use crate::i18n::{Catalog, catalog, request_lang};
use crate::state::AppState;
use crate::store;
use crate::web::client::ClientAddr;
use crate::web::error::AppError;
use crate::web::form::Form;
use crate::web::page::{self, Errors};
use crate::web::{presession, session};

#[derive(Template)]
#[template(path = "opening/consent.html")]
struct ConsentPage<'a> {
    t: &'a Catalog,
    steps: Steps,
    csrf: String,
    privacy_version_label: String,
    terms_version_label: String,
    privacy_opened: bool,
    terms_opened: bool,
    privacy_checked: bool,
    terms_checked: bool,
    errors: Errors,
}

pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let (session, cookie) = session::load_or_pre(&state, &headers).await?;
    // From memory (fresh for a second): the post reads the database again before it records.
    let mut current = state.documents.get(&state).await?;
    if session.data.opened.iter().any(|&(kind, version)| version > current.of(kind)) {
        // This browser has opened a version published since (on another node): read again.
        state.documents.invalidate();
        current = state.documents.get(&state).await?;
    }
    let page = ConsentPage {
        t: catalog(request_lang()),
        steps: Steps { current: 1 },
        privacy_opened: session.data.has_opened(DocumentKind::Privacy, current.privacy),
        terms_opened: session.data.has_opened(DocumentKind::Terms, current.terms),
        privacy_checked: session.data.consent.is_some(),
        terms_checked: session.data.consent.is_some(),
        csrf: session.csrf,
        privacy_version_label: version_label(current.privacy),
        terms_version_label: version_label(current.terms),
        errors: Errors::default(),
    };
    Ok(page::with_cookie(page::html(page.render()?, false), cookie))
}

#[derive(Deserialize)]
pub struct DocumentQuery {
    #[serde(default)]
    partial: Option<String>,
    /// `mypage` when opened from the re-consent page of My Page.
    #[serde(default, rename = "return")]
    back: Option<String>,
}

fn version_label(version: i64) -> String {
    catalog(request_lang()).fmt("opening.consent.version", &[("version", &version.to_string())])
}

#[derive(Template)]
#[template(path = "opening/document.html")]
struct DocumentPage<'a> {
    t: &'a Catalog,
    title: String,
    version: i64,
    version_label: String,
    paragraphs: Vec<String>,
    back_href: &'static str,
    back_label: String,
}

/// The same document without the page around it, for the dialog the script opens.
#[derive(Template)]
#[template(path = "opening/document_partial.html")]
struct DocumentPartial {
    version: i64,
    title: String,
    version_label: String,
    paragraphs: Vec<String>,
}

/// Shows a document and records in the session that this browser opened this version.
pub async fn document(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    Query(query): Query<DocumentQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let kind = DocumentKind::parse(&kind).ok_or(AppError::NotFound)?;
    let doc = opening::current_document(&state, kind).await?;
    let (mut session, pre_cookie) = session::load_or_pre(&state, &headers).await?;
    // A visitor without a session keeps the mark in a signed cookie: opening a document writes nothing.
    let docs_cookie = match session.pre_session().cloned() {
        Some(nonce) => {
            session.data.mark_opened(kind, doc.version);
            Some(presession::opened_cookie(&state, &nonce, &session.data.opened)?)
        }
        None => {
            if !session.data.has_opened(kind, doc.version) {
                session.update(&state, |d| d.mark_opened(kind, doc.version)).await?;
            }
            None
        }
    };
    let paragraphs = doc.body.split("\n\n").map(str::to_owned).collect();
    let version_label = version_label(doc.version);
    let body = if query.partial.is_some() {
        DocumentPartial { version: doc.version, title: doc.title, version_label, paragraphs }.render()?
    } else {
        let t = catalog(request_lang());
        let (back_href, back_key) = match query.back.as_deref() {
            Some("mypage") => ("/mypage/consent", "mypage.consent.title"),
            _ => ("/opening/consent", "opening.document.back"),
        };
        let back_label = t.get(back_key);
        DocumentPage { t, title: doc.title, version: doc.version, version_label, paragraphs, back_href, back_label }
            .render()?
    };
    Ok(page::with_cookie(page::with_cookie(page::html(body, false), pre_cookie), docs_cookie))
}

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    agree_privacy: Option<String>,
    #[serde(default)]
    agree_terms: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<ConsentForm>,
) -> Result<Response, AppError> {
    let t = catalog(request_lang());
    let privacy = opening::current_document(&state, DocumentKind::Privacy).await?;
    let terms = opening::current_document(&state, DocumentKind::Terms).await?;
    let mut errors = Errors::default();
    let (mut session, refused_cookie) = match session::for_pre_session_post(&state, &headers, &form.csrf).await? {
        Ok(session) => (session, None),
        Err(refused) => {
            errors.add("agree_privacy", t.get("form.refused"));
            (refused.session, Some(refused.cookie))
        }
    };
    let privacy_opened = session.data.has_opened(DocumentKind::Privacy, privacy.version);
    let terms_opened = session.data.has_opened(DocumentKind::Terms, terms.version);
    // A refused post only says so; the ticks it carried are kept below.
    if refused_cookie.is_none() {
        if !privacy_opened {
            errors.add("privacy_link", t.get("opening.consent.error.privacy_not_opened"));
        } else if form.agree_privacy.is_none() {
            errors.add("agree_privacy", t.get("opening.consent.error.privacy_not_agreed"));
        }
        if !terms_opened {
            errors.add("terms_link", t.get("opening.consent.error.terms_not_opened"));
        } else if form.agree_terms.is_none() {
            errors.add("agree_terms", t.get("opening.consent.error.terms_not_agreed"));
        }
    }
    if !errors.is_empty() {
        let page = ConsentPage {
            t,
            steps: Steps { current: 1 },
            csrf: session.csrf,
            privacy_version_label: version_label(privacy.version),
            terms_version_label: version_label(terms.version),
            privacy_opened,
            terms_opened,
            privacy_checked: privacy_opened && form.agree_privacy.is_some(),
            terms_checked: terms_opened && form.agree_terms.is_some(),
            errors,
        };
        return Ok(match refused_cookie {
            Some(cookie) => page::with_cookie(page::with_status(page.render()?, StatusCode::FORBIDDEN), cookie),
            None => page::html(page.render()?, true),
        });
    }
    let consent =
        Consent { privacy_version: privacy.version, terms_version: terms.version, at_ms: store::ms(state.now()) };
    // The first state this visitor has to keep: a pre-session becomes a stored session here,
    // within the client's budget of new sessions.
    let Ok(cookie) =
        session.keep_within(&state, &NEW_SESSIONS_PER_CLIENT, &client, |d| d.consent = Some(consent)).await?
    else {
        return Err(AppError::TooManySessions);
    };
    // The pre-cutoff path (SPEC §3.9) consents on its way to the recovery password step.
    let legacy = session.data.pending_reset.as_ref().is_some_and(|p| p.legacy);
    Ok(page::with_cookie(page::see_other(if legacy { "/login/forgot/password" } else { "/opening/apply" }), cookie))
}
