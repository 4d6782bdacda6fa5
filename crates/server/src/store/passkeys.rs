//! `passkeys` and `webauthn_ceremonies`: the WebAuthn credentials of accounts (and staff), and
//! the ceremonies in progress, whose state lives only here so any node finishes what another
//! began. A ceremony is taken by one guarded statement, so it is finished at most once.

use sqlx::{Any, Executor, FromRow};

use super::Result;

/// What a ceremony is for (the `purpose` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Register,
    Login,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Login => "login",
        }
    }
}

pub struct NewCeremony<'a> {
    pub id_hash: &'a str,
    pub purpose: Purpose,
    pub binding: &'a str,
    pub account_id: Option<i64>,
    pub name: &'a str,
    pub state: &'a str,
    pub created_at: i64,
    pub expires_at: i64,
}

pub async fn insert_ceremony<'e>(ex: impl Executor<'e, Database = Any>, c: &NewCeremony<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO webauthn_ceremonies (id_hash, purpose, binding, account_id, name, state, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(c.id_hash)
    .bind(c.purpose.as_str())
    .bind(c.binding)
    .bind(c.account_id)
    .bind(c.name)
    .bind(c.state)
    .bind(c.created_at)
    .bind(c.expires_at)
    .execute(ex)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct TakenCeremony {
    pub account_id: Option<i64>,
    pub name: String,
    pub state: String,
}

/// Marks the ceremony used if it is this browser's, of this purpose, unused and unexpired, and
/// returns its state; `None` otherwise (another request took it first, or it never was this
/// browser's). A ceremony of another browser is left as it is.
pub async fn take_ceremony<'e>(
    ex: impl Executor<'e, Database = Any>,
    id_hash: &str,
    purpose: Purpose,
    binding: &str,
    now_ms: i64,
) -> Result<Option<TakenCeremony>> {
    Ok(sqlx::query_as(
        "UPDATE webauthn_ceremonies SET used_at = $4 \
         WHERE id_hash = $1 AND purpose = $2 AND binding = $3 AND used_at IS NULL AND expires_at > $4 \
         RETURNING account_id, name, state",
    )
    .bind(id_hash)
    .bind(purpose.as_str())
    .bind(binding)
    .bind(now_ms)
    .fetch_optional(ex)
    .await?)
}

/// Ceremonies that expired before `before_ms`, for the maintenance task.
pub async fn purge_ceremonies_before<'e>(ex: impl Executor<'e, Database = Any>, before_ms: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at < $1")
        .bind(before_ms)
        .execute(ex)
        .await?
        .rows_affected())
}

pub struct NewPasskey<'a> {
    pub credential_id: &'a str,
    pub user_handle: &'a str,
    pub account_id: i64,
    pub passkey: &'a str,
    pub sign_count: i64,
    pub name: &'a str,
    pub created_at: i64,
}

/// Adds a passkey; a credential ID already registered is a unique violation.
pub async fn insert<'e>(ex: impl Executor<'e, Database = Any>, p: &NewPasskey<'_>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO passkeys (credential_id, user_handle, account_id, passkey, sign_count, name, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(p.credential_id)
    .bind(p.user_handle)
    .bind(p.account_id)
    .bind(p.passkey)
    .bind(p.sign_count)
    .bind(p.name)
    .bind(p.created_at)
    .fetch_one(ex)
    .await?)
}

/// The user handle the account's passkeys carry, if it has any.
pub async fn user_handle<'e>(ex: impl Executor<'e, Database = Any>, account_id: i64) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT user_handle FROM passkeys WHERE account_id = $1 ORDER BY id LIMIT 1")
        .bind(account_id)
        .fetch_optional(ex)
        .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct PasskeyRow {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// The account's passkeys, newest first.
pub async fn for_account<'e>(ex: impl Executor<'e, Database = Any>, account_id: i64) -> Result<Vec<PasskeyRow>> {
    Ok(sqlx::query_as(
        "SELECT id, name, created_at, last_used_at FROM passkeys WHERE account_id = $1 ORDER BY created_at DESC, id DESC",
    )
    .bind(account_id)
    .fetch_all(ex)
    .await?)
}

/// The account's passkeys as stored (so one authenticator is not added twice).
pub async fn passkey_states<'e>(ex: impl Executor<'e, Database = Any>, account_id: i64) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT passkey FROM passkeys WHERE account_id = $1").bind(account_id).fetch_all(ex).await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct StoredPasskey {
    pub id: i64,
    pub account_id: Option<i64>,
    pub user_handle: String,
    pub passkey: String,
    pub sign_count: i64,
    pub name: String,
}

pub async fn find_by_credential<'e>(
    ex: impl Executor<'e, Database = Any>,
    credential_id: &str,
) -> Result<Option<StoredPasskey>> {
    Ok(sqlx::query_as(
        "SELECT id, account_id, user_handle, passkey, sign_count, name FROM passkeys WHERE credential_id = $1",
    )
    .bind(credential_id)
    .fetch_optional(ex)
    .await?)
}

/// Records a login with the passkey: its new sign counter and state. Guarded on the counter, so
/// of two assertions with the same counter (a cloned authenticator, or a replay racing the
/// first) only one is accepted; an authenticator that keeps no counter always reports 0.
pub async fn record_use<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: i64,
    counter: i64,
    passkey: &str,
    now_ms: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE passkeys SET sign_count = $2, passkey = $3, last_used_at = $4 \
         WHERE id = $1 AND (sign_count < $2 OR ($2 = 0 AND sign_count = 0))",
    )
    .bind(id)
    .bind(counter)
    .bind(passkey)
    .bind(now_ms)
    .execute(ex)
    .await?
    .rows_affected()
        == 1)
}

/// Removes one passkey of the account; its name when it was there.
pub async fn delete<'e>(ex: impl Executor<'e, Database = Any>, account_id: i64, id: i64) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("DELETE FROM passkeys WHERE id = $1 AND account_id = $2 RETURNING name")
        .bind(id)
        .bind(account_id)
        .fetch_optional(ex)
        .await?)
}

/// Removes every passkey of the account (it is disabled); how many there were.
pub async fn delete_all<'e>(ex: impl Executor<'e, Database = Any>, account_id: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM passkeys WHERE account_id = $1").bind(account_id).execute(ex).await?.rows_affected())
}

pub async fn count<'e>(ex: impl Executor<'e, Database = Any>, account_id: i64) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM passkeys WHERE account_id = $1").bind(account_id).fetch_one(ex).await?)
}
