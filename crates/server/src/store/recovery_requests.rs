//! `recovery_requests`: a 「パスワードをお忘れの方」 request waiting for its new password and
//! 認証キー. Every request has a row of the same shape, matched or not, so the next screen counts
//! wrong entries, expires and voids in the database the same way for both; only a matched row
//! has a job seeker (and only its key was mailed).

use sqlx::{Any, Executor, FromRow};

use super::Result;

#[derive(Debug, Clone, FromRow)]
pub struct RecoveryRequestRow {
    pub id: i64,
    pub job_seeker_id: Option<i64>,
    pub legacy: i64,
    pub email: String,
    pub job_seeker_number: String,
    pub birth_date: String,
    pub key_hash: String,
    pub expires_at: i64,
    pub failed_attempts: i64,
    pub voided_at: Option<i64>,
    pub used_at: Option<i64>,
}

pub async fn find<'e>(ex: impl Executor<'e, Database = Any>, id: i64) -> Result<Option<RecoveryRequestRow>> {
    Ok(sqlx::query_as(
        "SELECT id, job_seeker_id, legacy, email, job_seeker_number, birth_date, key_hash, expires_at, \
         failed_attempts, voided_at, used_at FROM recovery_requests WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(ex)
    .await?)
}

/// Voids the live request for the same typed data (a new request replaces it, as a new key
/// replaces the previous one).
pub async fn void_live<'e>(ex: impl Executor<'e, Database = Any>, subject: &str, now_ms: i64) -> Result<()> {
    sqlx::query(
        "UPDATE recovery_requests SET voided_at = $2 WHERE subject = $1 AND used_at IS NULL AND voided_at IS NULL",
    )
    .bind(subject)
    .bind(now_ms)
    .execute(ex)
    .await?;
    Ok(())
}

/// Voids every live request of the job seeker (their login ID changed); how many.
pub async fn void_for_job_seeker<'e>(
    ex: impl Executor<'e, Database = Any>,
    job_seeker_id: i64,
    now_ms: i64,
) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE recovery_requests SET voided_at = $2 WHERE job_seeker_id = $1 AND used_at IS NULL AND voided_at IS NULL",
    )
    .bind(job_seeker_id)
    .bind(now_ms)
    .execute(ex)
    .await?
    .rows_affected())
}

#[derive(Debug)]
pub struct NewRecoveryRequest<'a> {
    pub subject: &'a str,
    pub job_seeker_id: Option<i64>,
    pub legacy: bool,
    pub email: &'a str,
    pub job_seeker_number: &'a str,
    pub birth_date: &'a str,
    pub key_hash: &'a str,
    pub expires_at: i64,
}

pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    new: &NewRecoveryRequest<'_>,
    now_ms: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO recovery_requests (subject, job_seeker_id, legacy, email, job_seeker_number, birth_date, \
         key_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(new.subject)
    .bind(new.job_seeker_id)
    .bind(i64::from(new.legacy))
    .bind(new.email)
    .bind(new.job_seeker_number)
    .bind(new.birth_date)
    .bind(new.key_hash)
    .bind(now_ms)
    .bind(new.expires_at)
    .fetch_one(ex)
    .await?)
}

/// Requests made before `before_ms` (long expired), for the maintenance task: what was typed is
/// not kept longer than the limits need it.
pub async fn purge_before<'e>(ex: impl Executor<'e, Database = Any>, before_ms: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM recovery_requests WHERE created_at < $1")
        .bind(before_ms)
        .execute(ex)
        .await?
        .rows_affected())
}

single_use_statements!("recovery_requests", enter, count_wrong_entry, is_open, void, consume);
