//! The password + 認証キー step of recovery: the entry is counted on the request's row on every
//! path (decided by one guarded statement, five wrong entries void it, it expires with the key),
//! and only a right key of a request that named a job seeker resets the password or opens the
//! account, in one transaction.

use mypage_domain::password::NewPassword;
use mypage_domain::six_digits::SixDigitCode;

use super::PendingReset;
use crate::flows::FlowError;
use crate::flows::auth_key::MAX_FAILURES;
use crate::flows::login::{OTP_FAILURES, Origin};
use crate::flows::opening::Consent;
use crate::i18n::Lang;
use crate::mail::{self, Message};
use crate::state::AppState;
use crate::store::{self, Entry, accounts, audit, login, recovery_requests, sessions};
use crate::tokens::Purpose;

#[derive(Debug, PartialEq, Eq)]
pub enum ResetOutcome {
    /// The password was reset; every session and remembered browser of the account is revoked.
    Reset,
    /// The account was opened (legacy path).
    Opened,
    WrongKey {
        remaining: u32,
    },
    KeyVoid,
    KeyExpired,
    /// The legacy path needs the consent step first.
    NeedsConsent,
}

/// Sets the new password with the mailed key. `consent` is needed on the legacy path.
pub async fn complete(
    state: &AppState,
    pending: &PendingReset,
    consent: Option<Consent>,
    password: &NewPassword,
    key: &SixDigitCode,
    origin: &Origin<'_>,
    lang: Lang,
) -> Result<ResetOutcome, FlowError> {
    let pool = state.store.pool();
    let now = store::ms(state.now());
    let Some(row) = recovery_requests::find(pool, pending.request_id).await? else {
        return Ok(ResetOutcome::KeyVoid);
    };
    if row.legacy != 0 && consent.is_none() {
        return Ok(ResetOutcome::NeedsConsent);
    }
    // Compared on every row; a row whose key was never mailed can never be right.
    let right = || state.keys.verify(Purpose::AuthKey, key.as_str(), &row.key_hash) && row.job_seeker_id.is_some();
    match recovery_requests::enter(pool, row.id, now, MAX_FAILURES, right).await? {
        Entry::Right => {}
        Entry::Wrong { remaining } => {
            state.metrics.count("mypage_auth_key_failures_total");
            return Ok(ResetOutcome::WrongKey { remaining: u32::try_from(remaining).unwrap_or(0) });
        }
        Entry::WrongAndVoid => {
            state.metrics.count("mypage_auth_key_failures_total");
            return Ok(ResetOutcome::KeyVoid);
        }
        // Read again: the row read above may predate a parallel entry that used or voided it.
        Entry::Inactive => {
            let expired = recovery_requests::find(pool, row.id).await?.is_some_and(|r| {
                r.used_at.is_none() && r.voided_at.is_none() && r.failed_attempts < MAX_FAILURES && now >= r.expires_at
            });
            return Ok(if expired { ResetOutcome::KeyExpired } else { ResetOutcome::KeyVoid });
        }
    }
    let Some(job_seeker_id) = row.job_seeker_id else { return Ok(ResetOutcome::KeyVoid) };
    let password_hash = state.hasher.hash(password.secret()).await?;
    let now = state.now();
    let t = crate::i18n::catalog(lang);
    let base = state.settings.base_url.as_str();
    let legacy = row.legacy != 0;
    let mut tx = state.store.begin_write().await?;
    if !recovery_requests::consume(&mut *tx, row.id, store::ms(now)).await? {
        return Ok(ResetOutcome::KeyVoid);
    }
    let (kind, outcome) = match (legacy, consent) {
        (true, Some(consent)) => {
            let new = accounts::NewAccount {
                job_seeker_id,
                email: &row.email,
                password_hash: &password_hash,
                privacy_version: consent.privacy_version,
                terms_version: consent.terms_version,
                consented_at: consent.at_ms,
                lang: lang.code(),
            };
            match accounts::insert(&mut *tx, &new, store::ms(now)).await {
                Ok(_) => {}
                Err(e) if e.is_unique_violation() => return Ok(ResetOutcome::KeyVoid),
                Err(e) => return Err(e.into()),
            }
            mail::enqueue(&mut tx, t, base, &row.email, Some(job_seeker_id), &Message::AccountOpenedV1, now).await?;
            ("account.opened", ResetOutcome::Opened)
        }
        _ => {
            let account = accounts::find_by_job_seeker(&mut *tx, job_seeker_id).await?;
            let Some(account) = account.filter(|a| a.disabled_at.is_none()) else {
                return Ok(ResetOutcome::KeyVoid);
            };
            login::set_password(&mut *tx, account.id, &password_hash, store::ms(now)).await?;
            sessions::delete_for_account(&mut *tx, account.id).await?;
            login::revoke_remembered(&mut *tx, account.id, store::ms(now)).await?;
            login::void_challenges(&mut *tx, account.id, store::ms(now)).await?;
            // Whoever proved the address and the key owns the account: its one-time password
            // failures (which lock password login) start over with the new password.
            OTP_FAILURES.clear(&mut *tx, &account.id.to_string()).await?;
            // Passkeys stay (they prove the device, not the password); the notice says so.
            let passkeys = store::passkeys::count(&mut *tx, account.id).await?;
            let message = if passkeys > 0 {
                Message::PasswordResetKeepsPasskeysV1 { passkeys }
            } else {
                Message::PasswordResetV1
            };
            mail::enqueue(&mut tx, t, base, &account.email, Some(job_seeker_id), &message, now).await?;
            ("password.reset", ResetOutcome::Reset)
        }
    };
    let event = audit::Event {
        actor: &format!("job_seeker:{job_seeker_id}"),
        kind,
        job_seeker_id: Some(job_seeker_id),
        detail: if legacy { "via recovery (registered before the legacy cutoff)" } else { "via recovery" },
        client_addr: Some(origin.client),
    };
    audit::record(&mut *tx, &event, store::ms(now)).await?;
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(outcome)
}
