//! 「再送」 at the counter: a mail whose code is still valid is sent again.
//!
//! The code itself cannot be sent again: it is stored only as a keyed hash, and the mail's
//! sealed body is blanked once settled. So a resend gives the *same* secret row a fresh code and
//! a new mail, in one guarded statement: the person's waiting screen (which holds the row, not
//! the code) keeps working and now follows the new mail; the expiry and the wrong entries stay,
//! so a resend buys neither time nor guesses; the old code stops working, and an old mail not
//! yet sent is withdrawn. Capped per job seeker, audited (`docs/decisions.md`).

use std::time::Duration;

use super::FlowError;
use super::limits::Limit;
use super::staff::StaffMember;
use crate::i18n::Lang;
use crate::mail::{self, Message};
use crate::state::AppState;
use crate::store::mail_links::{self, Waiter};
use crate::store::outbox::{self, Delivery, MailLogRow};
use crate::store::{self, accounts, audit, login};
use crate::tokens::{self, Purpose};

/// Counter resends per job seeker: enough for a few tries at the counter, not a mail cannon.
pub const COUNTER_RESENDS: Limit = Limit { scope: "mail.counter_resend", max: 3, window: Duration::from_secs(3600) };

/// Which secret table a code mail's kind belongs to; `None` for notices.
fn waiter_of(kind: &str) -> Option<fn(i64) -> Waiter> {
    match kind {
        "auth_key.v1" => Some(Waiter::AuthKey),
        "one_time_password.v1" => Some(Waiter::Challenge),
        "recovery_key.v1" => Some(Waiter::Recovery),
        "email_change_code.v1" => Some(Waiter::EmailChange),
        _ => None,
    }
}

/// Which table holds the secret of a mail that may be sent again: a code mail the mail server did
/// not refuse (a refused address needs fixing, not another try).
fn resendable_kind(mail: &MailLogRow) -> Option<fn(i64) -> Waiter> {
    waiter_of(&mail.kind).filter(|_| !matches!(mail.delivery(), Delivery::Refused { .. }))
}

/// Whether `mail` may be resent now: a code mail, not refused, whose secret is still valid and
/// still carried by this mail (not by a later resend).
pub async fn is_resendable(state: &AppState, mail: &MailLogRow) -> Result<bool, FlowError> {
    let Some(kind) = resendable_kind(mail) else { return Ok(false) };
    let now = store::ms(state.now());
    Ok(mail_links::live_by_mail(state.store.pool(), kind, mail.id, now).await?.is_some())
}

#[derive(Debug, PartialEq, Eq)]
pub enum ResendOutcome {
    Sent,
    /// The code was used, voided, replaced or expired meanwhile: nothing to resend.
    NotResendable,
    /// The counter's resends for this job seeker within the hour are used up.
    Limited,
}

/// Resends the code mail `mail_id` of job seeker `job_seeker_id`; `None` when the job seeker is
/// outside the staff member's office scope (answered "not found").
pub async fn resend(
    state: &AppState,
    staff: &StaffMember,
    job_seeker_id: i64,
    mail_id: i64,
    client: &str,
) -> Result<Option<ResendOutcome>, FlowError> {
    if super::console::seeker(state, staff, job_seeker_id).await?.is_none() {
        return Ok(None);
    }
    Ok(Some(resend_in_scope(state, staff, job_seeker_id, mail_id, client).await?))
}

async fn resend_in_scope(
    state: &AppState,
    staff: &StaffMember,
    job_seeker_id: i64,
    mail_id: i64,
    client: &str,
) -> Result<ResendOutcome, FlowError> {
    let pool = state.store.pool();
    let Some(mail) = outbox::find(pool, mail_id).await? else { return Ok(ResendOutcome::NotResendable) };
    let belongs = outbox::for_job_seeker(pool, job_seeker_id).await?.iter().any(|m| m.id == mail_id);
    let Some(kind) = resendable_kind(&mail).filter(|_| belongs) else { return Ok(ResendOutcome::NotResendable) };
    let now = state.now();
    let Some((waiter, expires_ms)) = mail_links::live_by_mail(pool, kind, mail_id, store::ms(now)).await? else {
        return Ok(ResendOutcome::NotResendable);
    };
    // In the account's language once there is one; the opening's mail is in Japanese, the default.
    let account = accounts::find_by_job_seeker(pool, job_seeker_id).await?;
    let lang = match account {
        Some(a) => login::find_by_id(pool, a.id).await?.and_then(|l| Lang::parse(&l.lang)).unwrap_or(Lang::Ja),
        None => Lang::Ja,
    };
    let code = tokens::random_six_digits()?;
    let purpose = if matches!(waiter, Waiter::Challenge(_)) { Purpose::OneTimePassword } else { Purpose::AuthKey };
    let hash = state.keys.hash(purpose, code.as_str());
    let expires_at = store::ts(expires_ms)?;
    let ttl_minutes = match waiter {
        Waiter::Challenge(_) => state.settings.otp_ttl.as_secs() / 60,
        _ => state.settings.auth_key_ttl.as_secs() / 60,
    };
    let message = match waiter {
        Waiter::AuthKey(_) => Message::AuthKeyV1 { key: &code, expires_at, ttl_minutes },
        Waiter::Challenge(_) => Message::OneTimePasswordV1 { otp: &code, expires_at, ttl_minutes },
        Waiter::Recovery(_) => Message::RecoveryKeyV1 { key: &code, expires_at, ttl_minutes },
        Waiter::EmailChange(_) => Message::EmailChangeCodeV1 { key: &code, expires_at, ttl_minutes },
    };
    let mut tx = state.store.begin_write().await?;
    if COUNTER_RESENDS.reserve_in(&mut tx, now, &job_seeker_id.to_string(), None).await?.is_err() {
        return Ok(ResendOutcome::Limited);
    }
    let t = crate::i18n::catalog(lang);
    let base = state.settings.base_url.as_str();
    let new_mail = mail::enqueue(&mut tx, t, base, &mail.to_addr, Some(job_seeker_id), &message, now).await?;
    // Of two parallel resends of one mail, the second finds the mail replaced and rolls back.
    if !mail_links::rotate(&mut *tx, waiter, mail_id, &hash, new_mail, store::ms(now)).await? {
        return Ok(ResendOutcome::NotResendable);
    }
    outbox::withdraw(&mut *tx, mail_id, store::ms(now)).await?;
    let event = audit::Event {
        actor: &staff.actor(),
        kind: "mail.resent",
        job_seeker_id: Some(job_seeker_id),
        detail: &format!("{} #{mail_id} → #{new_mail}", mail.kind),
        client_addr: Some(client),
    };
    audit::record(&mut *tx, &event, store::ms(now)).await?;
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(ResendOutcome::Sent)
}
