//! Everything tied to an old address, voided when the counter changes a job seeker's email (the
//! person lost the mailbox): pending auth keys, one-time password challenges and email changes.
//! Each runs inside the caller's transaction, with the change itself.

use sqlx::{Any, Executor};

use super::Result;

/// Voids every pending 認証キー (opening and recovery) of a job seeker; returns how many.
pub async fn void_auth_keys<'e>(ex: impl Executor<'e, Database = Any>, job_seeker_id: i64, now_ms: i64) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE auth_keys SET voided_at = $2 WHERE job_seeker_id = $1 AND used_at IS NULL AND voided_at IS NULL",
    )
    .bind(job_seeker_id)
    .bind(now_ms)
    .execute(ex)
    .await?
    .rows_affected())
}

/// Voids every pending one-time password challenge of an account; returns how many.
pub async fn void_login_challenges<'e>(
    ex: impl Executor<'e, Database = Any>,
    account_id: i64,
    now_ms: i64,
) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE login_challenges SET voided_at = $2 WHERE account_id = $1 AND used_at IS NULL AND voided_at IS NULL",
    )
    .bind(account_id)
    .bind(now_ms)
    .execute(ex)
    .await?
    .rows_affected())
}

/// Voids every pending change of login ID of an account; returns how many.
pub async fn void_email_changes<'e>(
    ex: impl Executor<'e, Database = Any>,
    account_id: i64,
    now_ms: i64,
) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE email_changes SET voided_at = $2 WHERE account_id = $1 AND used_at IS NULL AND voided_at IS NULL",
    )
    .bind(account_id)
    .bind(now_ms)
    .execute(ex)
    .await?
    .rows_affected())
}
