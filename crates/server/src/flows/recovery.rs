//! 「パスワードをお忘れの方」 (SPEC §3.8) and the pre-2026-03-22 path (SPEC §3.9).
//!
//! The job seeker types email, 求職番号 and birth date. Whatever they match, the request becomes
//! a row of the same shape in `recovery_requests` (what was typed, a key's hash, its expiry, a
//! guarded failure count), written by the same statements, and the next screen is the same
//! password + 認証キー form. Only when the typed data identify an account (reset) or a
//! counter-registered address from before the legacy cutoff with no account yet (opening) does
//! the row name the job seeker, and only then is its key mailed (`docs/decisions.md`).

mod complete;

use std::time::Duration;

use jiff::Timestamp;
use mypage_domain::birth_date::BirthDate;
use mypage_domain::email::Email;
use mypage_domain::job_seeker_number::JobSeekerNumber;
use mypage_domain::password::{NewPassword, PasswordContext, PasswordRule};
use mypage_domain::secret::Secret;
use serde::{Deserialize, Serialize};

pub use self::complete::{ResetOutcome, complete};
use super::FlowError;
use super::limits::{BIRTH_DATE_MISMATCHES, Limit, RECOVERY_KEY_SENDS};
use crate::i18n::Lang;
use crate::mail::{self, Message};
use crate::state::AppState;
use crate::store::mail_links::{self, Waiter};
use crate::store::{self, accounts, attempts, audit, job_seekers, recovery_requests};
use crate::tokens::{self, Purpose};

/// Recovery requests from one client address (each may send mail).
pub const RECOVERY_PER_CLIENT: Limit = Limit { scope: "recovery.client", max: 30, window: Duration::from_secs(3600) };

/// What a request that mails no key reserves instead of `RECOVERY_KEY_SENDS`, with the typed data
/// as its subject: the same statements run on both paths. It bounds the "nothing matched"
/// notices to the typed address as the other bounds the keys.
pub const UNMATCHED_SENDS: Limit =
    Limit { scope: "recovery.unmatched", max: RECOVERY_KEY_SENDS.max, window: RECOVERY_KEY_SENDS.window };

/// The lock that serializes "void the live request, insert the new one" per typed data.
const REQUEST_LOCK: &str = "recovery.request";

#[derive(Debug)]
pub struct RecoveryRequest {
    pub email: Email,
    pub number: JobSeekerNumber,
    pub birth_date: BirthDate,
}

/// What the browser's session remembers between the request and the new password: which
/// request. Everything a decision depends on (the key, its expiry and failure count, whether
/// anything matched) is in the request's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingReset {
    pub request_id: i64,
    /// Opening an account through recovery (SPEC §3.9): the consent step comes first. Only routes
    /// the browser; the row decides at completion.
    pub legacy: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum StartOutcome {
    Pending(PendingReset),
    ClientLimited,
}

/// Who the typed data identify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The account's login ID, 求職番号 and birth date: a password reset.
    Reset(i64),
    /// A counter-registered address from before the cutoff, no account yet (SPEC §3.9).
    Open(i64),
    /// Nothing matched.
    Nobody,
    /// Too many birth-date mismatches for this 求職番号: nothing was compared.
    Paused,
}

/// Records the request and, when it identifies someone, mails the key. The answer is the same
/// either way; only a full client budget is said (it reveals nothing about the account).
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
    let target = identify(state, req).await?;
    Ok(StartOutcome::Pending(record(state, req, target, client, lang).await?))
}

/// Matches the typed data. A mismatch takes a place in the 求職番号's birth-date budget and a
/// match needs one free (as in the opening), so no client can try more than ten birth dates a
/// day against one number; while it is full no key is mailed and nothing tells a match apart.
async fn identify(state: &AppState, req: &RecoveryRequest) -> Result<Target, FlowError> {
    let pool = state.store.pool();
    let number = req.number.as_str();
    let seeker = job_seekers::find_by_number(pool, number).await?.filter(|s| s.birth_date == req.birth_date.to_iso());
    // A mismatch, or an unknown number, counted the same; a match needs a free place only.
    if BIRTH_DATE_MISMATCHES.decide(state, number, seeker.is_none()).await?.is_err() {
        return Ok(Target::Paused);
    }
    // Looked up on every path (no job seeker has id 0), so a mismatch costs what a match does.
    let account = accounts::find_by_job_seeker(pool, seeker.as_ref().map_or(0, |s| s.id)).await?;
    Ok(match (seeker, account) {
        (Some(s), Some(a)) if a.email == req.email.as_str() && a.disabled_at.is_none() => Target::Reset(s.id),
        (Some(s), None) if is_legacy(state, &s, &req.email) => Target::Open(s.id),
        _ => Target::Nobody,
    })
}

/// A counter-registered address from on or before the cutoff, with no account yet.
fn is_legacy(state: &AppState, seeker: &job_seekers::JobSeekerRow, email: &Email) -> bool {
    let registered_on = seeker.email_registered_on.as_deref().and_then(|d| d.parse::<jiff::civil::Date>().ok());
    seeker.email.as_deref() == Some(email.as_str()) && registered_on.is_some_and(|d| d <= state.settings.legacy_cutoff)
}

/// The keyed hash that names the typed data (no address or birth date in the lock table).
fn subject(state: &AppState, req: &RecoveryRequest) -> String {
    let typed =
        format!("recovery-request\n{}\n{}\n{}", req.email.as_str(), req.number.as_str(), req.birth_date.to_iso());
    state.keys.hash(Purpose::AuthKey, &typed)
}

/// One transaction of the same statements on every path: lock the typed data, reserve a send
/// (the recovery cap of the job seeker, or its unmatched mirror), void the live request for the
/// same data, insert this one with a fresh key's hash, and record the audit event. Only a
/// granted send for someone it identified names the job seeker and writes the key's mail.
async fn record(
    state: &AppState,
    req: &RecoveryRequest,
    target: Target,
    client: &str,
    lang: Lang,
) -> Result<PendingReset, FlowError> {
    let key = tokens::random_six_digits()?;
    let key_hash = state.keys.hash(Purpose::AuthKey, key.as_str());
    let now = state.now();
    let ttl = state.settings.auth_key_ttl;
    let expires_at = now + ttl;
    let subject = subject(state, req);
    let (sends, cap_subject, identified) = match target {
        Target::Reset(id) | Target::Open(id) => (RECOVERY_KEY_SENDS, id.to_string(), Some(id)),
        Target::Nobody | Target::Paused => (UNMATCHED_SENDS, subject.clone(), None),
    };
    let mut tx = state.store.begin_write().await?;
    attempts::lock_subject(&mut *tx, REQUEST_LOCK, &subject, store::ms(now)).await?;
    let granted = sends.reserve_in(&mut tx, now, &cap_subject, None).await?.is_ok();
    let mailed_to = identified.filter(|_| granted);
    let legacy = mailed_to.is_some() && matches!(target, Target::Open(_));
    recovery_requests::void_live(&mut *tx, &subject, store::ms(now)).await?;
    let new = recovery_requests::NewRecoveryRequest {
        subject: &subject,
        job_seeker_id: mailed_to,
        legacy,
        email: req.email.as_str(),
        job_seeker_number: req.number.as_str(),
        birth_date: &req.birth_date.to_iso(),
        key_hash: &key_hash,
        expires_at: store::ms(expires_at),
    };
    let request_id = recovery_requests::insert(&mut *tx, &new, store::ms(now)).await?;
    let t = crate::i18n::catalog(lang);
    let base = state.settings.base_url.as_str();
    // Whether the address is a login ID: a sign for the counter that someone tried an account
    // that is not theirs. Asked on every path, so both cost the same.
    let login_id = accounts::email_in_use(&mut *tx, req.email.as_str()).await?;
    // Where no key goes out, the typed address is told that nothing matched: a real mail, so the
    // waiting screen follows a real delivery on both paths (`docs/decisions.md`).
    let key_message = Message::RecoveryKeyV1 { key: &key, expires_at, ttl_minutes: ttl.as_secs() / 60 };
    let mail = match (mailed_to, granted) {
        (Some(job_seeker_id), _) => Some((Some(job_seeker_id), key_message)),
        (None, true) => Some((None, Message::RecoveryNoMatchV1)),
        (None, false) => None,
    };
    if let Some((job_seeker_id, message)) = mail {
        let mail_id = mail::enqueue(&mut tx, t, base, req.email.as_str(), job_seeker_id, &message, now).await?;
        mail_links::link(&mut *tx, Waiter::Recovery(request_id), mail_id).await?;
    }
    let detail = match (target, granted, login_id) {
        (Target::Reset(_), true, _) => "key mailed (password reset)",
        (Target::Open(_), true, _) => "key mailed (opening, registered before the legacy cutoff)",
        (Target::Reset(_) | Target::Open(_), false, _) => "no key: the recovery key mails of the hour are used up",
        (Target::Nobody, _, true) => "no key: the address is a login ID, but the 求職番号 or birth date did not match",
        (Target::Nobody, _, false) => "no key: nothing matched",
        (Target::Paused, _, _) => "no key: birth-date entry for this number is paused",
    };
    // Only a match names the job seeker, for the counter's view of them.
    let event = audit::Event {
        actor: "system",
        kind: "recovery.requested",
        job_seeker_id: identified,
        detail,
        client_addr: Some(client),
    };
    audit::record(&mut *tx, &event, store::ms(now)).await?;
    tx.commit().await?;
    // Woken on both paths; with nothing due the worker goes back to sleep.
    state.mail_wakeup.notify_one();
    Ok(PendingReset { request_id, legacy })
}

/// A pending request as the password step sees it: what was typed, and the key's expiry.
#[derive(Debug)]
pub struct PendingView {
    pub email: Email,
    pub number: Option<JobSeekerNumber>,
    pub birth_date: Option<BirthDate>,
    pub expires_at: Timestamp,
}

impl PendingView {
    /// The password policy with what was typed on the forgot form as context, on every path:
    /// the rules never tell a matched request from another.
    pub fn check_password(&self, password: Secret, confirmation: &Secret) -> Result<NewPassword, Vec<PasswordRule>> {
        let context = PasswordContext {
            email: Some(&self.email),
            number: self.number.as_ref(),
            birth_date: self.birth_date.as_ref(),
        };
        NewPassword::parse(password, confirmation, &context)
    }
}

/// The pending request, or `None` when its row is gone (purged long after it expired).
pub async fn pending(state: &AppState, pending: &PendingReset) -> Result<Option<PendingView>, FlowError> {
    let Some(row) = recovery_requests::find(state.store.pool(), pending.request_id).await? else {
        return Ok(None);
    };
    let corrupt = |e: String| FlowError::Store(store::StoreError::Corrupt(e));
    Ok(Some(PendingView {
        email: Email::parse(&row.email).map_err(|e| corrupt(e.to_string()))?,
        number: JobSeekerNumber::parse(&row.job_seeker_number).ok(),
        birth_date: BirthDate::from_iso(&row.birth_date).ok(),
        expires_at: store::ts(row.expires_at)?,
    }))
}
