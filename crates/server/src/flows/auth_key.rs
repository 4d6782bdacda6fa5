//! The opening's 認証キー: sending a new one (voiding the earlier ones, mail in the same
//! transaction) and checking an entered one (5 wrong entries void it). Recovery keeps its keys
//! with its requests (`flows/recovery.rs`), with the same rules.

use mypage_domain::email::Email;
use mypage_domain::six_digits::SixDigitCode;

use super::FlowError;
use super::limits::{OPENING_KEY_SENDS, Refusal};
use crate::i18n::Lang;
use crate::mail::{self, Message};
use crate::state::AppState;
use crate::store::mail_links::{self, Waiter};
use crate::store::{self, Entry, accounts, audit, auth_keys};
use crate::tokens::{self, Purpose};

/// Wrong auth key entries that void the key.
pub const MAX_FAILURES: i64 = 5;

/// The purpose stored with the opening's keys (recovery keys live in `recovery_requests`).
const PURPOSE: &str = "open";

/// Creates a new key for `email` and writes its mail in one transaction; returns the key's id,
/// or the refusal of the flow's send cap (`cooldown`: also the least time since the last mail).
/// When opening with an address that is already another account's login ID, the mail says so
/// instead and carries no key, while everything on screen stays the same.
pub async fn send(
    state: &AppState,
    job_seeker_id: i64,
    code_id: Option<i64>,
    email: &Email,
    cooldown: Option<std::time::Duration>,
    client: &str,
    lang: Lang,
) -> Result<Result<i64, Refusal>, FlowError> {
    let key = tokens::random_six_digits()?;
    let now = state.now();
    let ttl = state.settings.auth_key_ttl;
    let expires_at = now + ttl;
    let subject = job_seeker_id.to_string();
    let mut tx = state.store.begin_write().await?;
    // The cap's lock row also serializes "void the previous key, insert a new one" per job
    // seeker and flow, so two parallel sends never leave two live keys.
    if let Err(refusal) = OPENING_KEY_SENDS.reserve_in(&mut tx, now, &subject, cooldown).await? {
        return Ok(Err(refusal));
    }
    auth_keys::void_for_job_seeker(&mut *tx, job_seeker_id, store::ms(now)).await?;
    let new = auth_keys::NewAuthKey {
        purpose: PURPOSE,
        job_seeker_id,
        code_id,
        email: email.as_str(),
        key_hash: &state.keys.hash(Purpose::AuthKey, key.as_str()),
        expires_at: store::ms(expires_at),
    };
    let auth_key_id = auth_keys::insert(&mut *tx, &new, store::ms(now)).await?;
    let ttl_minutes = ttl.as_secs() / 60;
    let message = if accounts::email_in_use(&mut *tx, email.as_str()).await? {
        Message::AddressInUseV1
    } else {
        Message::AuthKeyV1 { key: &key, expires_at, ttl_minutes }
    };
    let t = crate::i18n::catalog(lang);
    let mail_id =
        mail::enqueue(&mut tx, t, state.settings.base_url.as_str(), email.as_str(), Some(job_seeker_id), &message, now)
            .await?;
    mail_links::link(&mut *tx, Waiter::AuthKey(auth_key_id), mail_id).await?;
    let event = audit::Event {
        actor: "system",
        kind: "auth_key.sent",
        job_seeker_id: Some(job_seeker_id),
        detail: message.kind(),
        client_addr: Some(client),
    };
    audit::record(&mut *tx, &event, store::ms(now)).await?;
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(Ok(auth_key_id))
}

#[derive(Debug)]
pub enum KeyCheck {
    Valid(auth_keys::AuthKeyRow),
    Wrong {
        remaining: u32,
    },
    /// Five wrong entries, or a newer key was sent.
    Void,
    Expired,
    Used,
}

/// Checks an entered key. Each entry is decided by one guarded statement, so parallel entries
/// get no more answers than five in a row would.
pub async fn check(state: &AppState, auth_key_id: i64, key: &SixDigitCode) -> Result<KeyCheck, FlowError> {
    let now = store::ms(state.now());
    let pool = state.store.pool();
    let Some(row) = auth_keys::find(pool, auth_key_id).await? else {
        return Ok(KeyCheck::Void);
    };
    let entry = auth_keys::enter(pool, row.id, now, MAX_FAILURES, || {
        state.keys.verify(Purpose::AuthKey, key.as_str(), &row.key_hash)
    })
    .await?;
    Ok(match entry {
        Entry::Right => KeyCheck::Valid(row),
        Entry::Wrong { remaining } => {
            state.metrics.count("mypage_auth_key_failures_total");
            KeyCheck::Wrong { remaining: u32::try_from(remaining).unwrap_or(0) }
        }
        Entry::WrongAndVoid => {
            state.metrics.count("mypage_auth_key_failures_total");
            KeyCheck::Void
        }
        // Read again: the row read above may predate a parallel entry that used or voided it.
        Entry::Inactive => match auth_keys::find(pool, row.id).await? {
            Some(r) if r.used_at.is_some() => KeyCheck::Used,
            Some(r) if r.voided_at.is_none() && r.failed_attempts < MAX_FAILURES && now >= r.expires_at => {
                KeyCheck::Expired
            }
            _ => KeyCheck::Void,
        },
    })
}
