//! `sessions`: server-side sessions. The cookie holds a random token; only its keyed hash is a key
//! here. Expiry (idle and absolute) is checked in the query against the caller's clock.

use sqlx::{Any, Executor, FromRow};

use super::Result;

#[derive(Debug, Clone, FromRow)]
pub struct SessionRow {
    pub id_hash: String,
    pub csrf_token: String,
    pub account_id: Option<i64>,
    pub staff_id: Option<i64>,
    pub data: String,
    pub created_at: i64,
    pub abs_expires_at: i64,
    pub last_seen_at: i64,
}

#[derive(Debug)]
pub struct NewSession<'a> {
    /// `public` (job seekers) or `staff`: a session of one realm is never valid in the other.
    pub realm: &'a str,
    pub id_hash: &'a str,
    pub csrf_token: &'a str,
    pub account_id: Option<i64>,
    pub staff_id: Option<i64>,
    pub data: &'a str,
    pub idle_expires_at: i64,
    pub abs_expires_at: i64,
}

pub async fn insert<'e>(ex: impl Executor<'e, Database = Any>, new: &NewSession<'_>, now_ms: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, csrf_token, account_id, data, created_at, last_seen_at, \
         idle_expires_at, abs_expires_at, realm, staff_id) VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9)",
    )
    .bind(new.id_hash)
    .bind(new.csrf_token)
    .bind(new.account_id)
    .bind(new.data)
    .bind(now_ms)
    .bind(new.idle_expires_at)
    .bind(new.abs_expires_at)
    .bind(new.realm)
    .bind(new.staff_id)
    .execute(ex)
    .await?;
    Ok(())
}

/// The session load of every request with a session cookie: `$1` id hash, `$2` now, `$3` realm.
pub const FIND_LIVE: &str = "SELECT id_hash, csrf_token, account_id, staff_id, data, created_at, abs_expires_at, \
     last_seen_at FROM sessions WHERE id_hash = $1 AND idle_expires_at > $2 AND abs_expires_at > $2 AND realm = $3";

/// A live session of `realm`, or `None` when it is unknown or expired.
pub async fn find_live<'e>(
    ex: impl Executor<'e, Database = Any>,
    realm: &str,
    id_hash: &str,
    now_ms: i64,
) -> Result<Option<SessionRow>> {
    Ok(sqlx::query_as(FIND_LIVE).bind(id_hash).bind(now_ms).bind(realm).fetch_optional(ex).await?)
}

/// Extends the idle expiry (the caller does this only when the last extension is a while ago, so
/// a busy session does not write on every request).
pub async fn touch<'e>(
    ex: impl Executor<'e, Database = Any>,
    id_hash: &str,
    now_ms: i64,
    idle_expires_at: i64,
) -> Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $2, idle_expires_at = $3 WHERE id_hash = $1")
        .bind(id_hash)
        .bind(now_ms)
        .bind(idle_expires_at)
        .execute(ex)
        .await?;
    Ok(())
}

/// Stores `data` only over `loaded`, the data the caller read: false when another request of the
/// same browser stored its own change in between (or the session ended).
pub async fn replace_data<'e>(
    ex: impl Executor<'e, Database = Any>,
    id_hash: &str,
    loaded: &str,
    data: &str,
) -> Result<bool> {
    Ok(sqlx::query("UPDATE sessions SET data = $3 WHERE id_hash = $1 AND data = $2")
        .bind(id_hash)
        .bind(loaded)
        .bind(data)
        .execute(ex)
        .await?
        .rows_affected()
        == 1)
}

/// The flow data stored now, or `None` when the session ended.
pub async fn data_of<'e>(ex: impl Executor<'e, Database = Any>, id_hash: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT data FROM sessions WHERE id_hash = $1").bind(id_hash).fetch_optional(ex).await?)
}

pub async fn delete<'e>(ex: impl Executor<'e, Database = Any>, id_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash).execute(ex).await?;
    Ok(())
}

/// Removes expired sessions; returns how many.
pub async fn purge_expired<'e>(ex: impl Executor<'e, Database = Any>, now_ms: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE idle_expires_at <= $1 OR abs_expires_at <= $1")
        .bind(now_ms)
        .execute(ex)
        .await?
        .rows_affected())
}

/// Ends every session of an account (password reset or change, disabling).
pub async fn delete_for_account<'e>(ex: impl Executor<'e, Database = Any>, account_id: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE account_id = $1").bind(account_id).execute(ex).await?.rows_affected())
}

/// Ends every session of a staff member (disabling, reset).
pub async fn delete_for_staff<'e>(ex: impl Executor<'e, Database = Any>, staff_id: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE staff_id = $1").bind(staff_id).execute(ex).await?.rows_affected())
}

/// Ends every session of a staff member but `keep_id_hash` (their own password change).
pub async fn delete_other_for_staff<'e>(
    ex: impl Executor<'e, Database = Any>,
    staff_id: i64,
    keep_id_hash: &str,
) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE staff_id = $1 AND id_hash <> $2")
        .bind(staff_id)
        .bind(keep_id_hash)
        .execute(ex)
        .await?
        .rows_affected())
}
