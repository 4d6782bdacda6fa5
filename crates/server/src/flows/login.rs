//! Logging in (SPEC §3.6–3.7): email + password, then an emailed one-time password unless this
//! browser is remembered for the account. Unknown addresses and wrong passwords look the same,
//! in words and in time.

use std::time::Duration;

use mypage_domain::email::Email;
use mypage_domain::secret::Secret;
use mypage_domain::six_digits::SixDigitCode;
use serde::{Deserialize, Serialize};

use super::FlowError;
use super::limits::{Limit, Refusal};
use crate::i18n::Lang;
use crate::mail::{self, Message};
use crate::state::AppState;
use crate::store::mail_links::{self, Waiter};
use crate::store::{self, Entry, audit, login};
use crate::tokens::{self, Purpose};

/// Consecutive wrong passwords that lock password login (for `MYPAGE_LOGIN_LOCK`).
pub const LOCK_THRESHOLD: i64 = 10;
/// Wrong one-time passwords that void the challenge.
pub const OTP_MAX_FAILURES: i64 = 5;
pub const OTP_RESEND_COOLDOWN: Duration = Duration::from_secs(60);

/// Failed logins from one client address (generous: offices share one address). Wrong
/// passwords and wrong one-time passwords both count.
pub const LOGIN_FAILURES_PER_CLIENT: Limit =
    Limit { scope: "login.client", max: 100, window: Duration::from_secs(3600) };
/// One-time password mails per account, at the password step and on resend alike.
pub const OTP_SENDS: Limit = Limit { scope: "otp.send", max: 10, window: Duration::from_secs(3600) };
/// Wrong one-time passwords per account across all its challenges: a new challenge buys no new
/// guesses. The last one locks password login, as ten wrong passwords do.
pub const OTP_FAILURES: Limit = Limit { scope: "otp.failures", max: 10, window: Duration::from_secs(24 * 3600) };

/// A login waiting for its one-time password; kept in the browser's pre-login session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    pub challenge_id: i64,
    pub account_id: i64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum PasswordOutcome {
    /// Wrong address or password, or password login is locked or the account disabled: one
    /// answer for all, so none of them can be told apart.
    Rejected,
    ClientLimited,
    /// The browser is remembered for this account: logged in without a one-time password.
    LoggedIn {
        account_id: i64,
    },
    OtpSent(PendingLogin),
    /// The password was right but the account's one-time password mails are used up.
    OtpLimited,
}

/// Who is logging in from where, for the login record and the audit log.
#[derive(Debug, Clone)]
pub struct Origin<'a> {
    pub client: &'a str,
    pub user_agent: &'a str,
}

/// Checks email and password. `remembered` is the browser's remembered-browser token, if any.
///
/// The attempt is reserved before the hash is checked, against the client's failure budget and
/// the account's consecutive-failure count in one transaction; a right password is then accepted
/// only by a guarded statement, so a burst decides no more than a sequence would.
pub async fn check_password(
    state: &AppState,
    email: &str,
    password: &Secret,
    remembered: Option<&str>,
    origin: &Origin<'_>,
    lang: Lang,
) -> Result<PasswordOutcome, FlowError> {
    let account = match Email::parse(email) {
        Ok(email) => login::find_by_email(state.store.pool(), email.as_str()).await?,
        Err(_) => None,
    };
    if LOGIN_FAILURES_PER_CLIENT.is_full(state, origin.client).await? {
        return Ok(PasswordOutcome::ClientLimited);
    }
    // A full hashing queue answers 503 before anything is counted against anyone.
    let admission = state.hasher.admit()?;
    let now = state.now();
    let lock_until = now + state.settings.login_lock;
    // The same statements run for unknown addresses (the UPDATE touches no row), so the
    // response time does not tell them apart.
    let account_id = account.as_ref().map_or(0, |a| a.id);
    let mut tx = state.store.begin_write().await?;
    let Ok(client_slot) = LOGIN_FAILURES_PER_CLIENT.reserve_in(&mut tx, now, origin.client, None).await? else {
        return Ok(PasswordOutcome::ClientLimited);
    };
    let attempt =
        login::reserve_password_attempt(&mut *tx, account_id, store::ms(now), store::ms(lock_until), LOCK_THRESHOLD)
            .await?;
    tx.commit().await?;
    let stored = account.as_ref().map(|a| a.password_hash.clone());
    let matched = admission.verify(password, stored).await?;
    let (Some(account), Some(attempt)) = (account, attempt) else {
        client_slot.keep();
        state.metrics.count("mypage_login_failures_total");
        return Ok(PasswordOutcome::Rejected);
    };
    let own_lock = attempt >= LOCK_THRESHOLD;
    if !matched {
        client_slot.keep();
        if own_lock {
            let detail = format!("password login locked after {attempt} consecutive failures");
            notify_lock(state, &account, Message::LoginLockedV1 { until: lock_until }, &detail, origin, lang).await?;
        }
        state.metrics.count("mypage_login_failures_total");
        return Ok(PasswordOutcome::Rejected);
    }
    if !login::accept_password(state.store.pool(), account.id, own_lock, LOCK_THRESHOLD).await? {
        // Another attempt's failure locked password login before this one was decided.
        client_slot.keep();
        state.metrics.count("mypage_login_failures_total");
        return Ok(PasswordOutcome::Rejected);
    }
    client_slot.release(state).await?;
    if let Some(token) = remembered {
        let hash = state.keys.hash(Purpose::RememberedBrowser, token);
        if login::use_remembered(state.store.pool(), account.id, &hash, store::ms(now)).await? {
            record_login(state, account.id, account.job_seeker_id, "remembered", origin).await?;
            return Ok(PasswordOutcome::LoggedIn { account_id: account.id });
        }
    }
    match send_otp(state, account.id, account.job_seeker_id, &account.email, None, lang).await? {
        Ok(challenge_id) => Ok(PasswordOutcome::OtpSent(PendingLogin { challenge_id, account_id: account.id })),
        Err(_) => Ok(PasswordOutcome::OtpLimited),
    }
}

/// The lock notice (in the owner's language: they read it, not whoever typed) and its audit
/// event, in one transaction.
async fn notify_lock(
    state: &AppState,
    account: &login::LoginAccount,
    message: Message<'_>,
    detail: &str,
    origin: &Origin<'_>,
    lang: Lang,
) -> Result<(), FlowError> {
    let now = state.now();
    let t = crate::i18n::catalog(Lang::parse(&account.lang).unwrap_or(lang));
    let base = state.settings.base_url.as_str();
    let mut tx = state.store.begin_write().await?;
    mail::enqueue(&mut tx, t, base, &account.email, Some(account.job_seeker_id), &message, now).await?;
    let event = audit::Event {
        actor: "system",
        kind: "login.locked",
        job_seeker_id: Some(account.job_seeker_id),
        detail,
        client_addr: Some(origin.client),
    };
    audit::record(&mut *tx, &event, store::ms(now)).await?;
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(())
}

/// A new one-time password (voiding earlier ones) and its mail, in one transaction with the
/// reservation of the account's send cap (and, on resend, its cooldown). The cap's lock row
/// also serializes sends per account, so an account never has two live challenges.
async fn send_otp(
    state: &AppState,
    account_id: i64,
    job_seeker_id: i64,
    email: &str,
    cooldown: Option<Duration>,
    lang: Lang,
) -> Result<Result<i64, Refusal>, FlowError> {
    let otp = tokens::random_six_digits()?;
    let now = state.now();
    let ttl = state.settings.otp_ttl;
    let expires_at = now + ttl;
    let mut tx = state.store.begin_write().await?;
    if let Err(refusal) = OTP_SENDS.reserve_in(&mut tx, now, &account_id.to_string(), cooldown).await? {
        return Ok(Err(refusal));
    }
    login::void_challenges(&mut *tx, account_id, store::ms(now)).await?;
    let hash = state.keys.hash(Purpose::OneTimePassword, otp.as_str());
    let id = login::insert_challenge(&mut *tx, account_id, &hash, store::ms(now), store::ms(expires_at)).await?;
    let message = Message::OneTimePasswordV1 { otp: &otp, expires_at, ttl_minutes: ttl.as_secs() / 60 };
    let t = crate::i18n::catalog(lang);
    let mail_id =
        mail::enqueue(&mut tx, t, state.settings.base_url.as_str(), email, Some(job_seeker_id), &message, now).await?;
    mail_links::link(&mut *tx, Waiter::Challenge(id), mail_id).await?;
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(Ok(id))
}

async fn record_login(
    state: &AppState,
    account_id: i64,
    job_seeker_id: i64,
    method: &str,
    origin: &Origin<'_>,
) -> Result<(), FlowError> {
    let now = store::ms(state.now());
    let mut tx = state.store.begin_write().await?;
    let user_agent: String = origin.user_agent.chars().take(300).collect();
    login::record_login(&mut *tx, account_id, now, method, &user_agent, origin.client).await?;
    let event = audit::Event {
        actor: &format!("job_seeker:{job_seeker_id}"),
        kind: "login.succeeded",
        job_seeker_id: Some(job_seeker_id),
        detail: method,
        client_addr: Some(origin.client),
    };
    audit::record(&mut *tx, &event, now).await?;
    tx.commit().await?;
    state.metrics.count("mypage_logins_total");
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
pub enum OtpOutcome {
    /// Logged in; with a remembered-browser token to set when the box was ticked.
    LoggedIn {
        account_id: i64,
        remember_token: Option<String>,
    },
    Wrong {
        remaining: u32,
    },
    /// Five wrong entries (or a newer one-time password): back to the login page.
    Void,
    Expired,
    /// Too many wrong one-time passwords for this account: password login is locked.
    Locked,
    ClientLimited,
}

/// Checks the one-time password; on success consumes it and, if asked, remembers the browser.
///
/// Before the entry is compared it is reserved twice over, against the client's failure budget
/// and the account's budget across challenges; the challenge's own five entries then decide it.
pub async fn verify_otp(
    state: &AppState,
    pending: &PendingLogin,
    otp: &SixDigitCode,
    remember: bool,
    origin: &Origin<'_>,
) -> Result<OtpOutcome, FlowError> {
    let now = state.now();
    let pool = state.store.pool();
    let Some(row) = login::find_challenge(pool, pending.challenge_id).await? else {
        return Ok(OtpOutcome::Void);
    };
    if row.account_id != pending.account_id {
        return Ok(OtpOutcome::Void);
    }
    if LOGIN_FAILURES_PER_CLIENT.is_full(state, origin.client).await? {
        return Ok(OtpOutcome::ClientLimited);
    }
    let right = state.keys.verify(Purpose::OneTimePassword, otp.as_str(), &row.otp_hash);
    // Both budgets are decided in one transaction serialized with the other entries: a wrong
    // entry takes a place in each and keeps it, a right one needs a place free in each and
    // leaves nothing, so it never holds the account's last place while a wrong one is refused.
    let mut tx = state.store.begin_write().await?;
    let Ok(client_slot) = LOGIN_FAILURES_PER_CLIENT.reserve_in(&mut tx, now, origin.client, None).await? else {
        return Ok(OtpOutcome::ClientLimited);
    };
    // The budget is used up: the challenge is left alone, so a parallel entry that got the
    // budget's last place is still decided (and locks if wrong).
    let Ok(account_slot) = OTP_FAILURES.reserve_in(&mut tx, now, &row.account_id.to_string(), None).await? else {
        return Ok(OtpOutcome::Locked);
    };
    if right {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    let entry = login::enter_otp(pool, row.id, store::ms(now), OTP_MAX_FAILURES, || right).await?;
    let wrong = match entry {
        Entry::Right => None,
        Entry::Wrong { remaining } => Some(OtpOutcome::Wrong { remaining: u32::try_from(remaining).unwrap_or(0) }),
        Entry::WrongAndVoid => Some(OtpOutcome::Void),
        Entry::Inactive => {
            // Not decided: nothing counts.
            if !right {
                client_slot.release(state).await?;
                account_slot.release(state).await?;
            }
            let expired = login::find_challenge(pool, row.id)
                .await?
                .is_some_and(|r| r.used_at.is_none() && r.voided_at.is_none() && r.failed_attempts < OTP_MAX_FAILURES);
            return Ok(if expired { OtpOutcome::Expired } else { OtpOutcome::Void });
        }
    };
    if let Some(outcome) = wrong {
        client_slot.keep();
        account_slot.keep();
        state.metrics.count("mypage_login_failures_total");
        if account_slot.position() >= OTP_FAILURES.max {
            lock_after_otp_failures(state, row.account_id, origin).await?;
            return Ok(OtpOutcome::Locked);
        }
        return Ok(outcome);
    }
    // Nothing to give back: a right entry's places went with its rolled-back transaction.
    let Some(account) = store::accounts::find(pool, row.account_id).await? else {
        return Ok(OtpOutcome::Void);
    };
    if account.disabled_at.is_some() {
        return Ok(OtpOutcome::Void);
    }
    let mut tx = state.store.begin_write().await?;
    if !login::consume_challenge(&mut *tx, row.id, store::ms(now)).await? {
        return Ok(OtpOutcome::Void);
    }
    let remember_token = if remember {
        let token = tokens::random_token()?;
        let hash = state.keys.hash(Purpose::RememberedBrowser, &token);
        let expires = now + state.settings.remember_ttl;
        let user_agent: String = origin.user_agent.chars().take(300).collect();
        login::insert_remembered(&mut *tx, account.id, &hash, &user_agent, store::ms(now), store::ms(expires)).await?;
        Some(token)
    } else {
        None
    };
    tx.commit().await?;
    record_login(state, account.id, account.job_seeker_id, "otp", origin).await?;
    Ok(OtpOutcome::LoggedIn { account_id: account.id, remember_token })
}

/// The account's last allowed wrong one-time password: password login locks (unless it already
/// is), every pending challenge is void, and the owner is told once.
async fn lock_after_otp_failures(state: &AppState, account_id: i64, origin: &Origin<'_>) -> Result<(), FlowError> {
    let now = state.now();
    let until = now + state.settings.login_lock;
    let pool = state.store.pool();
    login::void_challenges(pool, account_id, store::ms(now)).await?;
    if !login::lock(pool, account_id, store::ms(now), store::ms(until)).await? {
        return Ok(());
    }
    let Some(account) = login::find_by_id(pool, account_id).await? else { return Ok(()) };
    let detail = format!("password login locked after {} wrong one-time passwords", OTP_FAILURES.max);
    let lang = Lang::parse(&account.lang).unwrap_or(Lang::Ja);
    notify_lock(state, &account, Message::OtpLockedV1 { until }, &detail, origin, lang).await
}

/// 「キャンセル」: the pending login ends and its one-time password is void.
pub async fn cancel(state: &AppState, pending: &PendingLogin) -> Result<(), FlowError> {
    login::void_challenge(state.store.pool(), pending.challenge_id, store::ms(state.now())).await?;
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
pub enum OtpResend {
    Sent(PendingLogin),
    Cooldown {
        seconds: u64,
    },
    Limited,
    /// The pending login is no longer valid: log in again.
    Gone,
}

/// Sends a new one-time password for the pending login, after a cooldown.
pub async fn resend_otp(state: &AppState, pending: &PendingLogin, lang: Lang) -> Result<OtpResend, FlowError> {
    let Some(row) = login::find_challenge(state.store.pool(), pending.challenge_id).await? else {
        return Ok(OtpResend::Gone);
    };
    if row.used_at.is_some() || row.voided_at.is_some() || row.account_id != pending.account_id {
        return Ok(OtpResend::Gone);
    }
    let Some(account) = store::accounts::find(state.store.pool(), pending.account_id).await? else {
        return Ok(OtpResend::Gone);
    };
    let cooldown = Some(OTP_RESEND_COOLDOWN);
    Ok(match send_otp(state, account.id, account.job_seeker_id, &account.email, cooldown, lang).await? {
        Ok(challenge_id) => OtpResend::Sent(PendingLogin { challenge_id, account_id: account.id }),
        Err(Refusal::Cooldown { seconds }) => OtpResend::Cooldown { seconds },
        Err(Refusal::Full) => OtpResend::Limited,
    })
}
