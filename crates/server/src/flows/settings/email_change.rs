//! Changing the login ID (SPEC §3.10): the current password first, then a code to the new
//! address, within a cap per account and a cap per address; the confirmed change ends every other
//! session, remembered browser and pending login of the account, and tells the old address.

use std::time::Duration;

use mypage_domain::email::Email;
use mypage_domain::secret::Secret;
use mypage_domain::six_digits::SixDigitCode;

use super::{CurrentPassword, verify_current};
use crate::flows::FlowError;
use crate::flows::limits::Limit;
use crate::i18n::Lang;
use crate::mail::{self, Message};
use crate::state::AppState;
use crate::store::mail_links::{self, Waiter};
use crate::store::{self, Entry, accounts, audit, job_seekers, login, recovery_requests, settings};
use crate::tokens::{self, Purpose};

/// Wrong entries that void an email-change code.
pub const EMAIL_CODE_MAX_FAILURES: i64 = 5;

/// Change-of-login-ID mails per account. Reserved in the send's transaction, whose lock row also
/// serializes "void the pending change, insert the new one" per account.
pub const EMAIL_CHANGE_SENDS: Limit =
    Limit { scope: "email_change.account", max: 5, window: Duration::from_secs(3600) };

/// Change-of-login-ID mails to one address, from any account: the form cannot mail-bomb anyone.
pub const EMAIL_CHANGE_PER_ADDRESS: Limit =
    Limit { scope: "email_change.address", max: 3, window: Duration::from_secs(24 * 3600) };

#[derive(Debug, PartialEq, Eq)]
pub enum EmailChangeStart {
    /// A code (or an address-in-use notice) was mailed; the pending change's id.
    Sent(i64),
    WrongPassword,
    /// Too many wrong current passwords: nothing is checked for a while.
    PasswordLimited,
    /// The account's change mails of the hour are used up.
    AccountLimited,
    /// The new address has had its change mails of the day.
    AddressLimited,
}

/// The limit's subject for an address: a keyed hash, so the attempt log holds no addresses.
fn address_subject(state: &AppState, email: &Email) -> String {
    state.keys.hash(Purpose::AuthKey, &format!("email-change-address\n{}", email.as_str()))
}

/// Checks the current password and mails a code to the new address (or, when it is another
/// account's login ID, a notice that it is in use, with the same screen).
pub async fn start_email_change(
    state: &AppState,
    account_id: i64,
    current: &Secret,
    new_email: &Email,
    client: &str,
    lang: Lang,
) -> Result<EmailChangeStart, FlowError> {
    match verify_current(state, account_id, current, client).await? {
        CurrentPassword::Right => {}
        CurrentPassword::Wrong => return Ok(EmailChangeStart::WrongPassword),
        CurrentPassword::Limited => return Ok(EmailChangeStart::PasswordLimited),
    }
    let Some(account) = accounts::find(state.store.pool(), account_id).await? else {
        return Err(FlowError::Store(store::StoreError::Corrupt("no such account".into())));
    };
    let key = tokens::random_six_digits()?;
    let now = state.now();
    let ttl = state.settings.auth_key_ttl;
    let expires_at = now + ttl;
    let mut tx = state.store.begin_write().await?;
    // Account first, then address, in every transaction: the locks are always taken in one order.
    if EMAIL_CHANGE_SENDS.reserve_in(&mut tx, now, &account_id.to_string(), None).await?.is_err() {
        return Ok(EmailChangeStart::AccountLimited);
    }
    // A refusal drops the transaction, so the account's reservation is not spent either.
    if EMAIL_CHANGE_PER_ADDRESS.reserve_in(&mut tx, now, &address_subject(state, new_email), None).await?.is_err() {
        return Ok(EmailChangeStart::AddressLimited);
    }
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
    let mail_id =
        mail::enqueue(&mut tx, t, base, new_email.as_str(), Some(account.job_seeker_id), &message, now).await?;
    mail_links::link(&mut *tx, Waiter::EmailChange(id), mail_id).await?;
    let event = audit::Event {
        actor: &format!("job_seeker:{}", account.job_seeker_id),
        kind: "account.email_change_started",
        job_seeker_id: Some(account.job_seeker_id),
        detail: message.kind(),
        client_addr: Some(client),
    };
    audit::record(&mut *tx, &event, store::ms(now)).await?;
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(EmailChangeStart::Sent(id))
}

#[derive(Debug, PartialEq, Eq)]
pub enum EmailConfirm {
    Changed,
    Wrong { remaining: u32 },
    Void,
    Expired,
}

/// Confirms the change with the mailed code. In one transaction the login ID changes, every
/// other session of the account ends (`session_hash` is the one confirming), every remembered
/// browser is revoked, pending one-time passwords and recoveries are void, and the old address
/// is told.
pub async fn confirm_email_change(
    state: &AppState,
    account_id: i64,
    session_hash: &str,
    change_id: i64,
    code: &SixDigitCode,
    client: &str,
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
        Entry::WrongAndVoid => return Ok(EmailConfirm::Void),
        Entry::Inactive => {
            let expired = row.used_at.is_none() && row.voided_at.is_none() && store::ms(now) >= row.expires_at;
            return Ok(if expired { EmailConfirm::Expired } else { EmailConfirm::Void });
        }
    }
    let Some(account) = accounts::find(pool, account_id).await? else { return Ok(EmailConfirm::Void) };
    let now_ms = store::ms(now);
    let mut tx = state.store.begin_write().await?;
    if !settings::consume_email_change(&mut *tx, row.id, now_ms).await? {
        return Ok(EmailConfirm::Void);
    }
    match accounts::set_email(&mut *tx, account_id, &row.new_email).await {
        Ok(()) => {}
        Err(e) if e.is_unique_violation() => return Ok(EmailConfirm::Void),
        Err(e) => return Err(e.into()),
    }
    let today = mypage_domain::clock::today_jst(now).to_string();
    job_seekers::set_email(&mut *tx, account.job_seeker_id, Some(&row.new_email), Some(&today), now_ms).await?;
    // Whoever else holds a session, a remembered browser, a pending one-time password or a
    // recovery key of the old login ID loses it with the change.
    settings::end_other_sessions(&mut *tx, account_id, session_hash).await?;
    login::revoke_remembered(&mut *tx, account_id, now_ms).await?;
    login::void_challenges(&mut *tx, account_id, now_ms).await?;
    recovery_requests::void_for_job_seeker(&mut *tx, account.job_seeker_id, now_ms).await?;
    let t = crate::i18n::catalog(lang);
    let base = state.settings.base_url.as_str();
    let message = Message::EmailChangedV1 { new_email: &row.new_email };
    mail::enqueue(&mut tx, t, base, &account.email, Some(account.job_seeker_id), &message, now).await?;
    let actor = format!("job_seeker:{}", account.job_seeker_id);
    let event = audit::Event {
        actor: &actor,
        kind: "account.email_changed",
        job_seeker_id: Some(account.job_seeker_id),
        detail: "other sessions ended, remembered browsers revoked",
        client_addr: Some(client),
    };
    audit::record(&mut *tx, &event, now_ms).await?;
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(EmailConfirm::Changed)
}
