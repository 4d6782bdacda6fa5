//! My Page after login (SPEC §3.10): what the home page shows, re-consent to new document
//! versions, and the account settings (email, password, remembered browsers, sessions).

mod email_change;

use mypage_domain::password::NewPassword;
use mypage_domain::secret::Secret;

pub use self::email_change::{
    EMAIL_CHANGE_PER_ADDRESS, EMAIL_CHANGE_SENDS, EMAIL_CODE_MAX_FAILURES, EmailChangeStart, EmailConfirm,
    confirm_email_change, start_email_change,
};
use super::FlowError;
use super::limits::CURRENT_PASSWORD_FAILURES;
use super::login::LOGIN_FAILURES_PER_CLIENT;
use super::opening::DocumentKind;
use crate::i18n::Lang;
use crate::mail::{self, Message};
use crate::state::AppState;
use crate::store::{self, accounts, audit, documents, job_seekers, login, offices, settings};

/// What the home page shows.
#[derive(Debug)]
pub struct Home {
    pub account: accounts::AccountRow,
    pub seeker: job_seekers::JobSeekerRow,
    pub office: String,
    /// The job-seeking registration's last valid day, when known.
    pub valid_until: Option<jiff::civil::Date>,
    pub lapsed: bool,
    /// A newer privacy policy or terms of use waits for consent.
    pub consent_due: bool,
}

pub async fn home(state: &AppState, account_id: i64) -> Result<Option<Home>, FlowError> {
    let pool = state.store.pool();
    let Some(account) = accounts::find(pool, account_id).await? else { return Ok(None) };
    let Some(seeker) = job_seekers::find(pool, account.job_seeker_id).await? else { return Ok(None) };
    let office = offices::find(pool, seeker.office_id).await?.map(|o| o.name).unwrap_or_default();
    let valid_until = seeker.valid_until.as_deref().and_then(|d| d.parse::<jiff::civil::Date>().ok());
    let today = mypage_domain::clock::today_jst(state.now());
    let lapsed = valid_until.is_some_and(|d| d < today);
    let consent_due = consent_due(state, &account).await?;
    Ok(Some(Home { account, seeker, office, valid_until, lapsed, consent_due }))
}

async fn consent_due(state: &AppState, account: &accounts::AccountRow) -> Result<bool, FlowError> {
    let privacy = documents::current(state.store.pool(), DocumentKind::Privacy.as_str()).await?;
    let terms = documents::current(state.store.pool(), DocumentKind::Terms.as_str()).await?;
    Ok(privacy.is_some_and(|d| d.version > account.privacy_version)
        || terms.is_some_and(|d| d.version > account.terms_version))
}

/// Records consent to the current versions of both documents.
pub async fn accept_current_documents(state: &AppState, account_id: i64, client: &str) -> Result<(), FlowError> {
    let pool = state.store.pool();
    let privacy = documents::current(pool, DocumentKind::Privacy.as_str()).await?.map_or(1, |d| d.version);
    let terms = documents::current(pool, DocumentKind::Terms.as_str()).await?.map_or(1, |d| d.version);
    let now = store::ms(state.now());
    let Some(account) = accounts::find(pool, account_id).await? else { return Ok(()) };
    let mut tx = state.store.begin_write().await?;
    settings::set_consent(&mut *tx, account_id, privacy, terms, now).await?;
    let detail = format!("privacy v{privacy} terms v{terms}");
    let event = audit::Event {
        actor: &format!("job_seeker:{}", account.job_seeker_id),
        kind: "consent.renewed",
        job_seeker_id: Some(account.job_seeker_id),
        detail: &detail,
        client_addr: Some(client),
    };
    audit::record(&mut *tx, &event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// What the current password, asked for before a change of login ID or password, came to.
#[derive(Debug, PartialEq, Eq)]
pub enum CurrentPassword {
    Right,
    Wrong,
    /// Too many wrong current passwords for the account, or failures from this client.
    Limited,
}

/// Verifies the account's current password on the hashing pool. The attempt is reserved before
/// the hash (against the client's login-failure budget and the account's own), as at login, so a
/// burst of guesses gets no more hashes than a sequence; a right password gives both back.
pub(crate) async fn verify_current(
    state: &AppState,
    account_id: i64,
    current: &Secret,
    client: &str,
) -> Result<CurrentPassword, FlowError> {
    let now = state.now();
    let mut tx = state.store.begin_write().await?;
    let Ok(client_slot) = LOGIN_FAILURES_PER_CLIENT.reserve_in(&mut tx, now, client, None).await? else {
        return Ok(CurrentPassword::Limited);
    };
    // A refusal drops the transaction, and the client's reservation with it.
    let Ok(account_slot) = CURRENT_PASSWORD_FAILURES.reserve_in(&mut tx, now, &account_id.to_string(), None).await?
    else {
        return Ok(CurrentPassword::Limited);
    };
    tx.commit().await?;
    let stored = settings::password_hash(state.store.pool(), account_id).await?;
    if state.hasher.verify(current, stored).await? {
        client_slot.release(state).await?;
        account_slot.release(state).await?;
        Ok(CurrentPassword::Right)
    } else {
        client_slot.keep();
        account_slot.keep();
        Ok(CurrentPassword::Wrong)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum PasswordChange {
    Changed,
    WrongCurrent,
    CurrentLimited,
}

/// Changes the password; the other sessions and every remembered browser end.
pub async fn change_password(
    state: &AppState,
    account_id: i64,
    session_hash: &str,
    current: &Secret,
    new: &NewPassword,
    client: &str,
    lang: Lang,
) -> Result<PasswordChange, FlowError> {
    match verify_current(state, account_id, current, client).await? {
        CurrentPassword::Right => {}
        CurrentPassword::Wrong => return Ok(PasswordChange::WrongCurrent),
        CurrentPassword::Limited => return Ok(PasswordChange::CurrentLimited),
    }
    let hash = state.hasher.hash(new.secret()).await?;
    let now = state.now();
    let Some(account) = accounts::find(state.store.pool(), account_id).await? else {
        return Ok(PasswordChange::WrongCurrent);
    };
    let mut tx = state.store.begin_write().await?;
    login::set_password(&mut *tx, account_id, &hash, store::ms(now)).await?;
    settings::end_other_sessions(&mut *tx, account_id, session_hash).await?;
    login::revoke_remembered(&mut *tx, account_id, store::ms(now)).await?;
    let t = crate::i18n::catalog(lang);
    let base = state.settings.base_url.as_str();
    let job_seeker_id = Some(account.job_seeker_id);
    mail::enqueue(&mut tx, t, base, &account.email, job_seeker_id, &Message::PasswordChangedV1, now).await?;
    let actor = format!("job_seeker:{}", account.job_seeker_id);
    let event = audit::Event { actor: &actor, kind: "password.changed", job_seeker_id, detail: "", client_addr: None };
    audit::record(&mut *tx, &event, store::ms(now)).await?;
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(PasswordChange::Changed)
}

/// Revokes one remembered browser (`Some`) or all of them (`None`).
pub async fn revoke_browsers(state: &AppState, account_id: i64, which: Option<i64>) -> Result<(), FlowError> {
    let now = store::ms(state.now());
    match which {
        Some(id) => {
            settings::revoke_remembered(state.store.pool(), account_id, id, now).await?;
        }
        None => {
            login::revoke_remembered(state.store.pool(), account_id, now).await?;
        }
    }
    Ok(())
}

/// Ends every session of the account, this one included.
pub async fn logout_everywhere(state: &AppState, account_id: i64) -> Result<(), FlowError> {
    store::sessions::delete_for_account(state.store.pool(), account_id).await?;
    Ok(())
}

pub async fn set_lang(state: &AppState, account_id: i64, lang: Lang) -> Result<(), FlowError> {
    settings::set_lang(state.store.pool(), account_id, lang.code()).await?;
    Ok(())
}
