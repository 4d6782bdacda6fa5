//! Server-side sessions. The cookie carries a random token; the database keeps only its keyed
//! hash, the CSRF token and the flow state. Idle timeout 30 minutes, absolute 12 hours.
//!
//! A visitor without one gets a pre-session (`web::presession`): the same `Session` value, not
//! stored, its CSRF token signed instead of kept. It becomes a stored session with
//! [`Session::keep`] at the first POST that has state to keep, so pages shown to new visitors
//! write nothing.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::error::AppError;
use super::presession::{self, Nonce};
use crate::flows::limits::{Limit, Refusal};
use crate::flows::login::PendingLogin;
use crate::flows::opening::{Consent, DocumentKind, PendingOpening};
use crate::flows::recovery::PendingReset;
use crate::state::AppState;
use crate::store::{self, sessions};
use crate::tokens::{self, Purpose};

pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
pub const ABSOLUTE_TIMEOUT: Duration = Duration::from_secs(12 * 3600);
/// How often a session's idle expiry is extended while it is in use.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// What a browser's session remembers between the steps of a flow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowData {
    /// Documents (and their versions) this browser has opened on the consent step.
    #[serde(default)]
    pub opened: Vec<(DocumentKind, i64)>,
    #[serde(default)]
    pub consent: Option<Consent>,
    #[serde(default)]
    pub pending: Option<PendingOpening>,
    /// Set when this browser just opened an account, for the completion page.
    #[serde(default)]
    pub just_opened: bool,
    /// A login waiting for its one-time password.
    #[serde(default)]
    pub pending_login: Option<PendingLogin>,
    /// A staff login that passed the password and still needs enrolment or a new password.
    #[serde(default)]
    pub staff_pending: Option<i64>,
    /// Which credentials that staff login passed (a reissue voids the pending enrolment).
    #[serde(default)]
    pub staff_pending_tag: Option<String>,
    /// This staff session logged in with a passkey or added one: an office that requires
    /// passkeys lets it use the whole console.
    #[serde(default)]
    pub staff_passkey: bool,
    /// A change of login ID waiting for its code: the change's id and the new address.
    #[serde(default)]
    pub email_change: Option<(i64, String)>,
    /// A password recovery waiting for its new password and auth key.
    #[serde(default)]
    pub pending_reset: Option<PendingReset>,
    /// Set when this browser just reset its password (or opened via recovery).
    #[serde(default)]
    pub just_reset: Option<bool>,
}

impl FlowData {
    pub fn has_opened(&self, kind: DocumentKind, version: i64) -> bool {
        self.opened.contains(&(kind, version))
    }
    pub fn mark_opened(&mut self, kind: DocumentKind, version: i64) {
        if !self.has_opened(kind, version) {
            self.opened.push((kind, version));
        }
    }
}

#[derive(Debug)]
pub struct Session {
    /// Empty while `pre` is set.
    id_hash: String,
    /// Set while nothing is stored: the pre-session this visitor's forms are signed for.
    pre: Option<Nonce>,
    realm: Realm,
    pub csrf: String,
    pub account_id: Option<i64>,
    pub staff_id: Option<i64>,
    /// Read as loaded; changed only through [`Session::update`] and [`Session::keep`].
    pub data: FlowData,
    /// The data as stored when loaded (or last stored by this request), for the compare-and-set.
    stored: String,
}

/// How often a change is applied again over a parallel request's change before giving up.
const UPDATE_TRIES: usize = 8;

/// Job seekers' sessions and staff sessions: separate cookies, never valid in each other's realm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Realm {
    Public,
    Staff,
}

impl Realm {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Staff => "staff",
        }
    }
}

/// `__Host-` requires `Secure`, which browsers honour on https and on loopback hosts only.
fn cookie_name(state: &AppState, realm: Realm) -> &'static str {
    match (state.settings.base_url.secure_cookies(), realm) {
        (true, Realm::Public) => "__Host-mypage",
        (true, Realm::Staff) => "__Host-mypage-staff",
        (false, Realm::Public) => "mypage",
        (false, Realm::Staff) => "mypage-staff",
    }
}

fn token_from(headers: &HeaderMap, name: &str) -> Option<String> {
    cookie_value(headers, name).filter(|v| v.len() == 43)
}

/// The value of the cookie `name`, if the request carries it.
pub(crate) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn set_cookie(state: &AppState, realm: Realm, token: &str) -> Result<HeaderValue, AppError> {
    let secure = if state.settings.base_url.secure_cookies() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{}={token}; Path=/; HttpOnly; SameSite=Lax{secure}", cookie_name(state, realm)))
        .map_err(|e| AppError::Internal(e.to_string()))
}

/// The browser's live job-seeker session, if it has one.
pub async fn load(state: &AppState, headers: &HeaderMap) -> Result<Option<Session>, AppError> {
    load_in(state, Realm::Public, headers).await
}

/// The browser's live session of `realm`, if it has one.
pub async fn load_in(state: &AppState, realm: Realm, headers: &HeaderMap) -> Result<Option<Session>, AppError> {
    let Some(token) = token_from(headers, cookie_name(state, realm)) else { return Ok(None) };
    let now = state.now();
    let id_hash = state.keys.hash(Purpose::Session, &token);
    let now_ms = store::ms(now);
    let Some(row) = sessions::find_live(state.store.pool(), realm.as_str(), &id_hash, now_ms).await? else {
        return Ok(None);
    };
    // Extending the idle expiry at most once a minute keeps reads from writing (SQLite has one
    // writer); the idle timeout is then between 29 and 30 minutes of inactivity.
    if now_ms - row.last_seen_at >= TOUCH_INTERVAL.as_millis() as i64 {
        sessions::touch(state.store.pool(), &id_hash, now_ms, now_ms + IDLE_TIMEOUT.as_millis() as i64).await?;
    }
    Ok(Some(Session {
        id_hash: row.id_hash,
        pre: None,
        realm,
        csrf: row.csrf_token,
        account_id: row.account_id,
        staff_id: row.staff_id,
        data: parse_data(&row.data),
        stored: row.data,
    }))
}

/// A new session; the returned header sets its cookie.
pub async fn start(state: &AppState, data: FlowData) -> Result<(Session, HeaderValue), AppError> {
    start_for(state, None, data).await
}

/// A new session for `account_id` (a login: the caller discards the pre-login session).
pub async fn start_for(
    state: &AppState,
    account_id: Option<i64>,
    data: FlowData,
) -> Result<(Session, HeaderValue), AppError> {
    start_in(state, Realm::Public, account_id, None, data).await
}

/// A new session of `realm`; the returned header sets its cookie.
pub async fn start_in(
    state: &AppState,
    realm: Realm,
    account_id: Option<i64>,
    staff_id: Option<i64>,
    data: FlowData,
) -> Result<(Session, HeaderValue), AppError> {
    let (session, token) = fresh(state, realm, account_id, staff_id, data)?;
    insert(state, state.store.pool(), &session).await?;
    let cookie = set_cookie(state, realm, &token)?;
    Ok((session, cookie))
}

/// A session not yet stored, and the token its cookie carries.
fn fresh(
    state: &AppState,
    realm: Realm,
    account_id: Option<i64>,
    staff_id: Option<i64>,
    data: FlowData,
) -> Result<(Session, String), AppError> {
    let token = tokens::random_token().map_err(|e| AppError::Internal(e.to_string()))?;
    let csrf = tokens::random_token().map_err(|e| AppError::Internal(e.to_string()))?;
    let id_hash = state.keys.hash(Purpose::Session, &token);
    let stored = serde_json::to_string(&data).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((Session { id_hash, pre: None, realm, csrf, account_id, staff_id, data, stored }, token))
}

/// A session from an older release whose data no longer parses starts its flow again.
fn parse_data(json: &str) -> FlowData {
    serde_json::from_str(json).unwrap_or_default()
}

async fn insert<'e>(
    state: &AppState,
    ex: impl sqlx::Executor<'e, Database = sqlx::Any>,
    session: &Session,
) -> Result<(), AppError> {
    let now = store::ms(state.now());
    let new = sessions::NewSession {
        realm: session.realm.as_str(),
        id_hash: &session.id_hash,
        csrf_token: &session.csrf,
        account_id: session.account_id,
        staff_id: session.staff_id,
        data: &session.stored,
        idle_expires_at: now + IDLE_TIMEOUT.as_millis() as i64,
        abs_expires_at: now + ABSOLUTE_TIMEOUT.as_millis() as i64,
    };
    sessions::insert(ex, &new, now).await?;
    Ok(())
}

/// The live session, or a pre-session (with the cookie to set when the browser had none).
/// Writes nothing for a visitor without a session.
pub async fn load_or_pre(state: &AppState, headers: &HeaderMap) -> Result<(Session, Option<HeaderValue>), AppError> {
    load_or_pre_in(state, Realm::Public, headers).await
}

pub async fn load_or_pre_in(
    state: &AppState,
    realm: Realm,
    headers: &HeaderMap,
) -> Result<(Session, Option<HeaderValue>), AppError> {
    match load_in(state, realm, headers).await? {
        Some(session) => Ok((session, None)),
        None => {
            let (nonce, cookie) = presession::nonce_or_new(state, headers)?;
            Ok((pre_session(state, realm, headers, nonce), cookie))
        }
    }
}

fn pre_session(state: &AppState, realm: Realm, headers: &HeaderMap, nonce: Nonce) -> Session {
    let opened = if realm == Realm::Public { presession::opened(state, headers, &nonce) } else { Vec::new() };
    Session {
        id_hash: String::new(),
        csrf: presession::csrf(state, realm, &nonce),
        pre: Some(nonce),
        realm,
        account_id: None,
        staff_id: None,
        data: FlowData { opened, ..FlowData::default() },
        stored: String::new(),
    }
}

/// The session of a form post, with its CSRF token checked. A post without a live session
/// (expired, or cookies blocked) gets the "session expired" page.
pub async fn for_post(state: &AppState, headers: &HeaderMap, submitted_csrf: &str) -> Result<Session, AppError> {
    for_post_in(state, Realm::Public, headers, submitted_csrf).await
}

pub async fn for_post_in(
    state: &AppState,
    realm: Realm,
    headers: &HeaderMap,
    submitted_csrf: &str,
) -> Result<Session, AppError> {
    let session = load_in(state, realm, headers).await?.ok_or(AppError::SessionExpired)?;
    if bool::from(session.csrf.as_bytes().ct_eq(submitted_csrf.as_bytes())) {
        Ok(session)
    } else {
        tracing::warn!("form post with a wrong CSRF token refused");
        Err(AppError::Forbidden)
    }
}

/// A refused post of a form that new visitors see: the form is shown again, with what was typed
/// and a token that works, for this session or pre-session.
pub struct Refused {
    pub session: Session,
    pub cookie: Option<HeaderValue>,
}

/// The session or pre-session of a post from a form new visitors see (login, consent, recovery,
/// staff login). The token is the live session's, or this browser's signed pre-session token
/// (the page may have been shown before the session started, in another tab).
pub async fn for_pre_session_post_in(
    state: &AppState,
    realm: Realm,
    headers: &HeaderMap,
    submitted_csrf: &str,
) -> Result<Result<Session, Refused>, AppError> {
    let live = match load_in(state, realm, headers).await? {
        Some(session) if bool::from(session.csrf.as_bytes().ct_eq(submitted_csrf.as_bytes())) => {
            return Ok(Ok(session));
        }
        other => other,
    };
    let nonce = presession::nonce(state, headers);
    if let Some(nonce) = &nonce
        && presession::csrf_matches(state, realm, nonce, submitted_csrf)
    {
        return Ok(Ok(match live {
            Some(session) => session,
            None => pre_session(state, realm, headers, nonce.clone()),
        }));
    }
    tracing::warn!("form post with a missing or wrong CSRF token refused");
    Ok(Err(match live {
        Some(session) => Refused { session, cookie: None },
        None => {
            let (nonce, cookie) = match nonce {
                Some(nonce) => (nonce, None),
                None => presession::nonce_or_new(state, headers)?,
            };
            Refused { session: pre_session(state, realm, headers, nonce), cookie }
        }
    }))
}

pub async fn for_pre_session_post(
    state: &AppState,
    headers: &HeaderMap,
    submitted_csrf: &str,
) -> Result<Result<Session, Refused>, AppError> {
    for_pre_session_post_in(state, Realm::Public, headers, submitted_csrf).await
}

/// The cookie that removes the session cookie (logout).
pub fn clear_cookie(state: &AppState, realm: Realm) -> Result<HeaderValue, AppError> {
    let secure = if state.settings.base_url.secure_cookies() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}", cookie_name(state, realm)))
        .map_err(|e| AppError::Internal(e.to_string()))
}

/// The remembered-browser cookie: its name, and the token it holds (if any).
fn remember_name(state: &AppState) -> &'static str {
    if state.settings.base_url.secure_cookies() { "__Host-mypage-remember" } else { "mypage-remember" }
}

pub fn remembered_token(state: &AppState, headers: &HeaderMap) -> Option<String> {
    token_from(headers, remember_name(state))
}

/// Sets the remembered-browser token for `max_age`.
pub fn remember_cookie(state: &AppState, token: &str, max_age: Duration) -> Result<HeaderValue, AppError> {
    let secure = if state.settings.base_url.secure_cookies() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        remember_name(state),
        max_age.as_secs()
    ))
    .map_err(|e| AppError::Internal(e.to_string()))
}

impl Session {
    pub fn realm(&self) -> Realm {
        self.realm
    }

    /// The keyed hash that identifies this session in the store (never the token itself).
    pub fn id_hash(&self) -> &str {
        &self.id_hash
    }

    /// What a WebAuthn ceremony begun by this browser is bound to (its stored session, or its
    /// pre-session), so that no other browser can finish it.
    pub fn ceremony_binding(&self, state: &AppState) -> String {
        let subject = match &self.pre {
            Some(nonce) => format!("pre\0{}", nonce.as_str()),
            None => format!("session\0{}", self.id_hash),
        };
        state.keys.hash(Purpose::CeremonyBinding, &subject)
    }

    /// The pre-session of a visitor who has no stored session yet.
    pub fn pre_session(&self) -> Option<&Nonce> {
        self.pre.as_ref()
    }

    /// Ends this session server-side (a pre-session has nothing stored to end).
    pub async fn destroy(self, state: &AppState) -> Result<(), AppError> {
        if self.pre.is_none() {
            sessions::delete(state.store.pool(), &self.id_hash).await?;
        }
        Ok(())
    }

    /// Changes the flow data with `change` and stores it: a pre-session becomes a stored session
    /// here, with a new token and CSRF token, and the cookie to set is returned.
    pub async fn keep(
        &mut self,
        state: &AppState,
        change: impl Fn(&mut FlowData),
    ) -> Result<Option<HeaderValue>, AppError> {
        if self.pre.is_none() {
            self.update(state, change).await?;
            return Ok(None);
        }
        change(&mut self.data);
        let (stored, cookie) =
            start_in(state, self.realm, self.account_id, self.staff_id, std::mem::take(&mut self.data)).await?;
        *self = stored;
        Ok(Some(cookie))
    }

    /// [`Session::keep`], where a new stored session takes a place in `limit`'s budget for
    /// `client`: refused by a plain read once the budget is used up, so a flood of refused posts
    /// writes nothing, and otherwise reserved in the transaction that inserts the row, so N posts
    /// at once on any nodes store no more sessions than the budget. A stored session only updates.
    pub async fn keep_within(
        &mut self,
        state: &AppState,
        limit: &Limit,
        client: &str,
        change: impl Fn(&mut FlowData),
    ) -> Result<Result<Option<HeaderValue>, Refusal>, AppError> {
        if self.pre.is_none() {
            self.update(state, change).await?;
            return Ok(Ok(None));
        }
        if limit.is_full(state, client).await? {
            return Ok(Err(Refusal::Full));
        }
        let mut data = self.data.clone();
        change(&mut data);
        let (stored, token) = fresh(state, self.realm, self.account_id, self.staff_id, data)?;
        let mut tx = state.store.begin_write().await?;
        if let Err(refusal) = limit.reserve_in(&mut tx, state.now(), client, None).await? {
            tx.rollback().await.map_err(store::StoreError::from)?;
            return Ok(Err(refusal));
        }
        insert(state, &mut *tx, &stored).await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        let cookie = set_cookie(state, stored.realm, &token)?;
        *self = stored;
        Ok(Ok(Some(cookie)))
    }

    /// Changes the flow data of a stored session with `change` and stores it (see
    /// [`Session::keep`] for a pre-session). Another request of the same browser may have stored
    /// its own change since this one loaded the session (two tabs opening the two documents): the
    /// data is stored only over what this request loaded, and otherwise `change` is applied again
    /// to what is stored now, so neither change is lost.
    pub async fn update(&mut self, state: &AppState, change: impl Fn(&mut FlowData)) -> Result<(), AppError> {
        if self.pre.is_some() {
            return Err(AppError::Internal("update of a pre-session: use keep".into()));
        }
        let pool = state.store.pool();
        change(&mut self.data);
        for _ in 0..UPDATE_TRIES {
            let json = serde_json::to_string(&self.data).map_err(|e| AppError::Internal(e.to_string()))?;
            if sessions::replace_data(pool, &self.id_hash, &self.stored, &json).await? {
                self.stored = json;
                return Ok(());
            }
            let Some(now) = sessions::data_of(pool, &self.id_hash).await? else {
                return Err(AppError::SessionExpired);
            };
            self.data = parse_data(&now);
            self.stored = now;
            change(&mut self.data);
        }
        Err(AppError::Internal("the session's data kept changing under parallel requests".into()))
    }
}
