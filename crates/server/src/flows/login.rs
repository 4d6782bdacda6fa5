//! Logging in (SPEC §3.6–3.7): email + password, then an emailed one-time password unless this
//! browser is remembered for the account. Unknown addresses and wrong passwords look the same,
//! in words and in time.

use std::time::Duration;

use mypage_domain::email::Email;
use mypage_domain::secret::Secret;
use mypage_domain::six_digits::SixDigitCode;
use serde::{Deserialize, Serialize};

use super::FlowError;
use super::limits::Limit;
use crate::i18n::Lang;
use crate::mail::{self, Message};
use crate::state::AppState;
use crate::store::{self, audit, login};
use crate::tokens::{self, Purpose};

/// Consecutive wrong passwords that lock password login (and every further ten).
pub const LOCK_THRESHOLD: i64 = 10;
/// Wrong one-time passwords that void the challenge.
pub const OTP_MAX_FAILURES: i64 = 5;
pub const OTP_RESEND_COOLDOWN: Duration = Duration::from_secs(60);

/// Failed logins from one client address (generous: offices share one address).
pub const LOGIN_FAILURES_PER_CLIENT: Limit =
    Limit { scope: "login.client", max: 100, window: Duration::from_secs(3600) };
/// One-time password mails per account.
pub const OTP_SENDS: Limit = Limit { scope: "otp.send", max: 10, window: Duration::from_secs(3600) };

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
}

/// Who is logging in from where, for the login record and the audit log.
#[derive(Debug, Clone)]
pub struct Origin<'a> {
    pub client: &'a str,
    pub user_agent: &'a str,
}

/// Checks email and password. `remembered` is the browser's remembered-browser token, if any.
pub async fn check_password(
    state: &AppState,
    email: &str,
    password: &Secret,
    remembered: Option<&str>,
    origin: &Origin<'_>,
    lang: Lang,
) -> Result<PasswordOutcome, FlowError> {
    if LOGIN_FAILURES_PER_CLIENT.exceeded(state, origin.client).await? {
        return Ok(PasswordOutcome::ClientLimited);
    }
    let account = match Email::parse(email) {
        Ok(email) => login::find_by_email(state.store.pool(), email.as_str()).await?,
        Err(_) => None,
    };
    let stored = account.as_ref().map(|a| a.password_hash.clone());
    let matched = state.hasher.verify(password, stored).await?;
    let now = state.now();
    if !matched {
        // The same statements run for unknown addresses (the UPDATE touches no row), so the
        // response time does not tell them apart.
        let account_id = account.as_ref().map_or(0, |a| a.id);
        let lock_until = now + state.settings.login_lock;
        let mut tx = state.store.begin_write().await?;
        let failures =
            login::record_password_failure(&mut *tx, account_id, store::ms(lock_until), LOCK_THRESHOLD).await?;
        store::attempts::record(&mut *tx, LOGIN_FAILURES_PER_CLIENT.scope, origin.client, store::ms(now)).await?;
        if let (Some(account), Some(failures)) = (&account, failures)
            && failures % LOCK_THRESHOLD == 0
        {
            // The owner reads this notice, not whoever is typing: their language, not the request's.
            let t = crate::i18n::catalog(Lang::parse(&account.lang).unwrap_or(lang));
            let base = state.settings.base_url.as_str();
            let message = Message::LoginLockedV1 { until: lock_until };
            mail::enqueue(&mut tx, t, base, &account.email, Some(account.job_seeker_id), &message, now).await?;
            let detail = format!("password login locked after {failures} consecutive failures");
            let event = audit::Event {
                actor: "system",
                kind: "login.locked",
                job_seeker_id: Some(account.job_seeker_id),
                detail: &detail,
                client_addr: Some(origin.client),
            };
            audit::record(&mut *tx, &event, store::ms(now)).await?;
        }
        tx.commit().await?;
        state.mail_wakeup.notify_one();
        state.metrics.count("mypage_login_failures_total");
        return Ok(PasswordOutcome::Rejected);
    }
    let Some(account) = account else { return Ok(PasswordOutcome::Rejected) };
    let locked = account.locked_until.is_some_and(|until| until > store::ms(now));
    if locked || account.disabled_at.is_some() {
        state.metrics.count("mypage_login_failures_total");
        return Ok(PasswordOutcome::Rejected);
    }
    login::reset_password_failures(state.store.pool(), account.id).await?;
    if let Some(token) = remembered {
        let hash = state.keys.hash(Purpose::RememberedBrowser, token);
        if login::use_remembered(state.store.pool(), account.id, &hash, store::ms(now)).await? {
            record_login(state, account.id, account.job_seeker_id, "remembered", origin).await?;
            return Ok(PasswordOutcome::LoggedIn { account_id: account.id });
        }
    }
    let challenge_id = send_otp(state, account.id, account.job_seeker_id, &account.email, lang).await?;
    Ok(PasswordOutcome::OtpSent(PendingLogin { challenge_id, account_id: account.id }))
}

/// A new one-time password (voiding earlier ones) and its mail, in one transaction.
async fn send_otp(
    state: &AppState,
    account_id: i64,
    job_seeker_id: i64,
    email: &str,
    lang: Lang,
) -> Result<i64, FlowError> {
    let otp = tokens::random_six_digits()?;
    let now = state.now();
    let ttl = state.settings.otp_ttl;
    let expires_at = now + ttl;
    let mut tx = state.store.begin_write().await?;
    login::void_challenges(&mut *tx, account_id, store::ms(now)).await?;
    let hash = state.keys.hash(Purpose::OneTimePassword, otp.as_str());
    let id = login::insert_challenge(&mut *tx, account_id, &hash, store::ms(now), store::ms(expires_at)).await?;
    let message = Message::OneTimePasswordV1 { otp: &otp, expires_at, ttl_minutes: ttl.as_secs() / 60 };
    let t = crate::i18n::catalog(lang);
    mail::enqueue(&mut tx, t, state.settings.base_url.as_str(), email, Some(job_seeker_id), &message, now).await?;
    store::attempts::record(&mut *tx, OTP_SENDS.scope, &account_id.to_string(), store::ms(now)).await?;
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(id)
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
}

/// Checks the one-time password; on success consumes it and, if asked, remembers the browser.
pub async fn verify_otp(
    state: &AppState,
    pending: &PendingLogin,
    otp: &SixDigitCode,
    remember: bool,
    origin: &Origin<'_>,
) -> Result<OtpOutcome, FlowError> {
    let now = state.now();
    let Some(row) = login::find_challenge(state.store.pool(), pending.challenge_id).await? else {
        return Ok(OtpOutcome::Void);
    };
    if row.account_id != pending.account_id || row.used_at.is_some() || row.voided_at.is_some() {
        return Ok(OtpOutcome::Void);
    }
    if store::ms(now) >= row.expires_at {
        return Ok(OtpOutcome::Expired);
    }
    if !state.keys.verify(Purpose::OneTimePassword, otp.as_str(), &row.otp_hash) {
        state.metrics.count("mypage_login_failures_total");
        return Ok(
            match login::record_challenge_failure(state.store.pool(), row.id, store::ms(now), OTP_MAX_FAILURES).await? {
                Some((_, Some(_))) | None => OtpOutcome::Void,
                Some((failed, None)) => {
                    OtpOutcome::Wrong { remaining: u32::try_from(OTP_MAX_FAILURES - failed).unwrap_or(0) }
                }
            },
        );
    }
    let Some(account) = store::accounts::find(state.store.pool(), row.account_id).await? else {
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
    let now = state.now();
    let Some(row) = login::find_challenge(state.store.pool(), pending.challenge_id).await? else {
        return Ok(OtpResend::Gone);
    };
    if row.used_at.is_some() || row.voided_at.is_some() {
        return Ok(OtpResend::Gone);
    }
    let next = store::ts(row.created_at)? + OTP_RESEND_COOLDOWN;
    if now < next {
        return Ok(OtpResend::Cooldown { seconds: now.duration_until(next).as_secs().max(1) as u64 });
    }
    if OTP_SENDS.exceeded(state, &pending.account_id.to_string()).await? {
        return Ok(OtpResend::Limited);
    }
    let Some(account) = store::accounts::find(state.store.pool(), pending.account_id).await? else {
        return Ok(OtpResend::Gone);
    };
    let challenge_id = send_otp(state, account.id, account.job_seeker_id, &account.email, lang).await?;
    Ok(OtpResend::Sent(PendingLogin { challenge_id, account_id: account.id }))
}
