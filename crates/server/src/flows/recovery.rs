//! 「パスワードをお忘れの方」 (SPEC §3.8) and the pre-2026-03-22 path (SPEC §3.9).
//!
//! The job seeker gives email, 求職番号 and birth date. Whatever they match, the next screen is
//! the same password + 認証キー form; a key is mailed only when they identify an account (reset)
//! or a counter-registered address from before the legacy cutoff with no account yet (opening).

use mypage_domain::birth_date::BirthDate;
use mypage_domain::email::Email;
use mypage_domain::job_seeker_number::JobSeekerNumber;
use mypage_domain::password::NewPassword;
use mypage_domain::six_digits::SixDigitCode;
use serde::{Deserialize, Serialize};

use super::FlowError;
use super::auth_key::{self, KeyCheck, KeyPurpose};
use super::limits::Limit;
use super::login::Origin;
use super::opening::Consent;
use crate::i18n::Lang;
use crate::mail::{self, Message};
use crate::state::AppState;
use crate::store::{self, accounts, audit, job_seekers, login, sessions};

/// Recovery requests from one client address (each may send mail).
pub const RECOVERY_PER_CLIENT: Limit =
    Limit { scope: "recovery.client", max: 30, window: std::time::Duration::from_secs(3600) };

#[derive(Debug)]
pub struct RecoveryRequest {
    pub email: Email,
    pub number: JobSeekerNumber,
    pub birth_date: BirthDate,
}

/// What the browser's session remembers between the request and the new password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingReset {
    /// `None` when nothing matched: no key exists, and every entry is answered as wrong.
    pub auth_key_id: Option<i64>,
    pub job_seeker_id: Option<i64>,
    pub email: String,
    /// Opening an account through recovery (SPEC §3.9) rather than resetting a password.
    pub legacy: bool,
    /// Wrong entries answered when there is no key, so the screen counts down the same way.
    #[serde(default)]
    pub decoy_failures: u32,
}

#[derive(Debug, PartialEq, Eq)]
pub enum StartOutcome {
    Pending(PendingReset),
    ClientLimited,
}

pub async fn start(
    state: &AppState,
    req: &RecoveryRequest,
    client: &str,
    lang: Lang,
) -> Result<StartOutcome, FlowError> {
    let Ok(client_slot) = RECOVERY_PER_CLIENT.reserve(state, client).await? else {
        return Ok(StartOutcome::ClientLimited);
    };
    client_slot.keep();
    let decoy = PendingReset {
        auth_key_id: None,
        job_seeker_id: None,
        email: req.email.as_str().to_owned(),
        legacy: false,
        decoy_failures: 0,
    };
    let seeker = job_seekers::find_by_number(state.store.pool(), req.number.as_str()).await?;
    let Some(seeker) = seeker.filter(|s| s.birth_date == req.birth_date.to_iso()) else {
        return Ok(StartOutcome::Pending(decoy));
    };
    let account = accounts::find_by_job_seeker(state.store.pool(), seeker.id).await?;
    let legacy = match &account {
        Some(a) if a.email == req.email.as_str() && a.disabled_at.is_none() => false,
        Some(_) => return Ok(StartOutcome::Pending(decoy)),
        None if is_legacy(state, &seeker, &req.email) => true,
        None => return Ok(StartOutcome::Pending(decoy)),
    };
    let sent = auth_key::send(state, seeker.id, None, &req.email, KeyPurpose::Reset, None, client, lang).await?;
    let Ok(key_id) = sent else { return Ok(StartOutcome::Pending(decoy)) };
    Ok(StartOutcome::Pending(PendingReset {
        auth_key_id: Some(key_id),
        job_seeker_id: Some(seeker.id),
        email: req.email.as_str().to_owned(),
        legacy,
        decoy_failures: 0,
    }))
}

/// A counter-registered address from on or before the cutoff, with no account yet.
fn is_legacy(state: &AppState, seeker: &job_seekers::JobSeekerRow, email: &Email) -> bool {
    let registered_on = seeker.email_registered_on.as_deref().and_then(|d| d.parse::<jiff::civil::Date>().ok());
    seeker.email.as_deref() == Some(email.as_str()) && registered_on.is_some_and(|d| d <= state.settings.legacy_cutoff)
}

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
    pending: &mut PendingReset,
    consent: Option<Consent>,
    password: &NewPassword,
    key: &SixDigitCode,
    origin: &Origin<'_>,
    lang: Lang,
) -> Result<ResetOutcome, FlowError> {
    let Some(auth_key_id) = pending.auth_key_id else {
        pending.decoy_failures += 1;
        let max = u32::try_from(auth_key::MAX_FAILURES).unwrap_or(5);
        return Ok(match max.saturating_sub(pending.decoy_failures) {
            0 => ResetOutcome::KeyVoid,
            remaining => ResetOutcome::WrongKey { remaining },
        });
    };
    if pending.legacy && consent.is_none() {
        return Ok(ResetOutcome::NeedsConsent);
    }
    let row = match auth_key::check(state, auth_key_id, key).await? {
        KeyCheck::Valid(row) => row,
        KeyCheck::Wrong { remaining } => return Ok(ResetOutcome::WrongKey { remaining }),
        KeyCheck::Void | KeyCheck::Used => return Ok(ResetOutcome::KeyVoid),
        KeyCheck::Expired => return Ok(ResetOutcome::KeyExpired),
    };
    let password_hash = state.hasher.hash(password.secret()).await?;
    let now = state.now();
    let t = crate::i18n::catalog(lang);
    let base = state.settings.base_url.as_str();
    let mut tx = state.store.begin_write().await?;
    if !store::auth_keys::consume(&mut *tx, row.id, store::ms(now)).await? {
        return Ok(ResetOutcome::KeyVoid);
    }
    let (kind, outcome) = match (pending.legacy, consent) {
        (true, Some(consent)) => {
            let new = accounts::NewAccount {
                job_seeker_id: row.job_seeker_id,
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
            mail::enqueue(&mut tx, t, base, &row.email, Some(row.job_seeker_id), &Message::AccountOpenedV1, now)
                .await?;
            ("account.opened", ResetOutcome::Opened)
        }
        _ => {
            let Some(account) = accounts::find_by_job_seeker(&mut *tx, row.job_seeker_id).await? else {
                return Ok(ResetOutcome::KeyVoid);
            };
            login::set_password(&mut *tx, account.id, &password_hash, store::ms(now)).await?;
            sessions::delete_for_account(&mut *tx, account.id).await?;
            login::revoke_remembered(&mut *tx, account.id, store::ms(now)).await?;
            login::void_challenges(&mut *tx, account.id, store::ms(now)).await?;
            mail::enqueue(&mut tx, t, base, &row.email, Some(row.job_seeker_id), &Message::PasswordResetV1, now)
                .await?;
            ("password.reset", ResetOutcome::Reset)
        }
    };
    let event = audit::Event {
        actor: &format!("job_seeker:{}", row.job_seeker_id),
        kind,
        job_seeker_id: Some(row.job_seeker_id),
        detail: if pending.legacy { "via recovery (registered before the legacy cutoff)" } else { "via recovery" },
        client_addr: Some(origin.client),
    };
    audit::record(&mut *tx, &event, store::ms(now)).await?;
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(outcome)
}
