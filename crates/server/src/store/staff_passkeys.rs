//! The staff members' rows of `passkeys` and `webauthn_ceremonies` (the `staff_id` owner); the
//! job seekers' are in `store::passkeys`, whose ceremony rules these follow.

use sqlx::{Any, Executor, FromRow};

use super::Result;
pub use super::passkeys::PasskeyRow;

/// Keeps a registration ceremony of the staff member, bound to their console session.
pub async fn insert_ceremony<'e>(
    ex: impl Executor<'e, Database = Any>,
    id_hash: &str,
    binding: &str,
    staff_id: i64,
    name: &str,
    state: &str,
    (created_at, expires_at): (i64, i64),
) -> Result<()> {
    sqlx::query(
        "INSERT INTO webauthn_ceremonies (id_hash, purpose, binding, staff_id, name, state, created_at, expires_at) \
         VALUES ($1, 'register', $2, $3, $4, $5, $6, $7)",
    )
    .bind(id_hash)
    .bind(binding)
    .bind(staff_id)
    .bind(name)
    .bind(state)
    .bind(created_at)
    .bind(expires_at)
    .execute(ex)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct TakenCeremony {
    pub name: String,
    pub state: String,
}

/// Marks the staff member's registration ceremony used, if it is this session's, unused and
/// unexpired (one guarded statement: at most one finish).
pub async fn take_ceremony<'e>(
    ex: impl Executor<'e, Database = Any>,
    id_hash: &str,
    binding: &str,
    staff_id: i64,
    now_ms: i64,
) -> Result<Option<TakenCeremony>> {
    Ok(sqlx::query_as(
        "UPDATE webauthn_ceremonies SET used_at = $4 \
         WHERE id_hash = $1 AND purpose = 'register' AND binding = $2 AND staff_id = $3 \
         AND used_at IS NULL AND expires_at > $4 RETURNING name, state",
    )
    .bind(id_hash)
    .bind(binding)
    .bind(staff_id)
    .bind(now_ms)
    .fetch_optional(ex)
    .await?)
}

pub struct NewPasskey<'a> {
    pub credential_id: &'a str,
    pub user_handle: &'a str,
    pub staff_id: i64,
    pub passkey: &'a str,
    pub name: &'a str,
    pub created_at: i64,
}

/// Adds a passkey; a credential ID already registered is a unique violation.
pub async fn insert<'e>(ex: impl Executor<'e, Database = Any>, p: &NewPasskey<'_>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO passkeys (credential_id, user_handle, staff_id, passkey, sign_count, name, created_at) \
         VALUES ($1, $2, $3, $4, 0, $5, $6) RETURNING id",
    )
    .bind(p.credential_id)
    .bind(p.user_handle)
    .bind(p.staff_id)
    .bind(p.passkey)
    .bind(p.name)
    .bind(p.created_at)
    .fetch_one(ex)
    .await?)
}

/// The user handle the member's passkeys carry, if they have any.
pub async fn user_handle<'e>(ex: impl Executor<'e, Database = Any>, staff_id: i64) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT user_handle FROM passkeys WHERE staff_id = $1 ORDER BY id LIMIT 1")
        .bind(staff_id)
        .fetch_optional(ex)
        .await?)
}

/// How many passkeys the member has.
pub async fn count<'e>(ex: impl Executor<'e, Database = Any>, staff_id: i64) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM passkeys WHERE staff_id = $1").bind(staff_id).fetch_one(ex).await?)
}

/// The member's passkeys, newest first.
pub async fn for_staff<'e>(ex: impl Executor<'e, Database = Any>, staff_id: i64) -> Result<Vec<PasskeyRow>> {
    Ok(sqlx::query_as(
        "SELECT id, name, created_at, last_used_at FROM passkeys WHERE staff_id = $1 ORDER BY created_at DESC, id DESC",
    )
    .bind(staff_id)
    .fetch_all(ex)
    .await?)
}

/// The member's passkeys as stored (so one authenticator is not added twice).
pub async fn passkey_states<'e>(ex: impl Executor<'e, Database = Any>, staff_id: i64) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT passkey FROM passkeys WHERE staff_id = $1").bind(staff_id).fetch_all(ex).await?)
}

/// Removes one passkey of the member; its name when it was there.
pub async fn delete<'e>(ex: impl Executor<'e, Database = Any>, staff_id: i64, id: i64) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("DELETE FROM passkeys WHERE id = $1 AND staff_id = $2 RETURNING name")
        .bind(id)
        .bind(staff_id)
        .fetch_optional(ex)
        .await?)
}

/// Removes every passkey of the member (reset or disabled); how many there were.
pub async fn delete_all<'e>(ex: impl Executor<'e, Database = Any>, staff_id: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM passkeys WHERE staff_id = $1").bind(staff_id).execute(ex).await?.rows_affected())
}

#[derive(Debug, Clone, FromRow)]
pub struct StoredPasskey {
    pub id: i64,
    pub staff_id: Option<i64>,
    pub user_handle: String,
    pub passkey: String,
    pub name: String,
}

pub async fn find_by_credential<'e>(
    ex: impl Executor<'e, Database = Any>,
    credential_id: &str,
) -> Result<Option<StoredPasskey>> {
    Ok(sqlx::query_as("SELECT id, staff_id, user_handle, passkey, name FROM passkeys WHERE credential_id = $1")
        .bind(credential_id)
        .fetch_optional(ex)
        .await?)
}
