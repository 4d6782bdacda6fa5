//! My Page after login (SPEC §3.10): what the home page shows, re-consent to new document
//! versions, and the account settings (email, password, remembered browsers, sessions).

use mypage_domain::email::Email;
use mypage_domain::password::NewPassword;
use mypage_domain::secret::Secret;
use mypage_domain::six_digits::SixDigitCode;

use super::FlowError;
use super::opening::DocumentKind;
use crate::i18n::Lang;
use crate::mail::{self, Message};
use crate::state::AppState;
use crate::store::{self, Entry, accounts, audit, documents, job_seekers, login, offices, settings};
use crate::tokens::{self, Purpose};

/// Wrong entries that void an email-change code.
pub const EMAIL_CODE_MAX_FAILURES: i64 = 5;

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

#[derive(Debug, PartialEq, Eq)]
pub enum PasswordChange {
    Changed,
    WrongCurrent,
}

/// Changes the password; the other sessions and every remembered browser end.
pub async fn change_password(
    state: &AppState,
    account_id: i64,
    session_hash: &str,
    current: &Secret,
    new: &NewPassword,
    lang: Lang,
) -> Result<PasswordChange, FlowError> {
    let stored = settings::password_hash(state.store.pool(), account_id).await?;
    if !state.hasher.verify(current, stored).await? {
        return Ok(PasswordChange::WrongCurrent);
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

/// Mails a code to the new address (or, when it is another account's login ID, a notice that it
/// is in use, with the same screen). Returns the pending change's id.
pub async fn start_email_change(
    state: &AppState,
    account_id: i64,
    new_email: &Email,
    lang: Lang,
) -> Result<i64, FlowError> {
    let key = tokens::random_six_digits()?;
    let now = state.now();
    let ttl = state.settings.auth_key_ttl;
    let expires_at = now + ttl;
    let Some(account) = accounts::find(state.store.pool(), account_id).await? else {
        return Err(FlowError::Store(store::StoreError::Corrupt("no such account".into())));
    };
    let mut tx = state.store.begin_write().await?;
    settings::void_email_changes(&mut *tx, account_id, store::ms(now)).await?;
    let hash = state.keys.hash(Purpose::AuthKey, key.as_str());
    let id = settings::insert_email_change(
        &mut *tx,
        account_id,
        new_email.as_str(),
        &hash,
        store::ms(now),
        store::ms(expires_at),
    )
    .await?;
    let message = if accounts::email_in_use(&mut *tx, new_email.as_str()).await? {
        Message::AddressInUseV1
    } else {
        Message::EmailChangeCodeV1 { key: &key, expires_at, ttl_minutes: ttl.as_secs() / 60 }
    };
    let t = crate::i18n::catalog(lang);
    let base = state.settings.base_url.as_str();
    mail::enqueue(&mut tx, t, base, new_email.as_str(), Some(account.job_seeker_id), &message, now).await?;
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(id)
}

#[derive(Debug, PartialEq, Eq)]
pub enum EmailConfirm {
    Changed,
    Wrong { remaining: u32 },
    Void,
    Expired,
}

/// Confirms the change with the mailed code: the login ID changes and the old address is told.
pub async fn confirm_email_change(
    state: &AppState,
    account_id: i64,
    change_id: i64,
    code: &SixDigitCode,
    lang: Lang,
) -> Result<EmailConfirm, FlowError> {
    let now = state.now();
    let pool = state.store.pool();
    let Some(row) = settings::find_email_change(pool, change_id).await?.filter(|r| r.account_id == account_id) else {
        return Ok(EmailConfirm::Void);
    };
    let right = || state.keys.verify(Purpose::AuthKey, code.as_str(), &row.key_hash);
    match settings::enter_email_change_code(pool, row.id, store::ms(now), EMAIL_CODE_MAX_FAILURES, right).await? {
        Entry::Right => {}
        Entry::Wrong { remaining } => {
            return Ok(EmailConfirm::Wrong { remaining: u32::try_from(remaining).unwrap_or(0) });
        }
        Entry::WrongAndVoid { .. } => return Ok(EmailConfirm::Void),
        Entry::Inactive => {
            let expired = row.used_at.is_none() && row.voided_at.is_none() && store::ms(now) >= row.expires_at;
            return Ok(if expired { EmailConfirm::Expired } else { EmailConfirm::Void });
        }
    }
    let Some(account) = accounts::find(pool, account_id).await? else { return Ok(EmailConfirm::Void) };
    let mut tx = state.store.begin_write().await?;
    if !settings::consume_email_change(&mut *tx, row.id, store::ms(now)).await? {
        return Ok(EmailConfirm::Void);
    }
    match accounts::set_email(&mut *tx, account_id, &row.new_email).await {
        Ok(()) => {}
        Err(e) if e.is_unique_violation() => return Ok(EmailConfirm::Void),
        Err(e) => return Err(e.into()),
    }
    let today = mypage_domain::clock::today_jst(now).to_string();
    job_seekers::set_email(&mut *tx, account.job_seeker_id, Some(&row.new_email), Some(&today), store::ms(now)).await?;
    let t = crate::i18n::catalog(lang);
    let base = state.settings.base_url.as_str();
    let message = Message::EmailChangedV1 { new_email: &row.new_email };
    mail::enqueue(&mut tx, t, base, &account.email, Some(account.job_seeker_id), &message, now).await?;
    let actor = format!("job_seeker:{}", account.job_seeker_id);
    let event = audit::Event {
        actor: &actor,
        kind: "account.email_changed",
        job_seeker_id: Some(account.job_seeker_id),
        detail: "",
        client_addr: None,
    };
    audit::record(&mut *tx, &event, store::ms(now)).await?;
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(EmailConfirm::Changed)
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
