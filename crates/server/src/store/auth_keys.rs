//! `auth_keys`: the 認証キー mailed during account opening (recovery keeps its own in
//! `recovery_requests`). A new key voids the previous ones of the same job seeker; entries and
//! use are guarded updates.

use sqlx::{Any, Executor, FromRow};

use super::Result;

#[derive(Debug, Clone, FromRow)]
pub struct AuthKeyRow {
    pub id: i64,
    pub purpose: String,
    pub job_seeker_id: i64,
    pub code_id: Option<i64>,
    pub email: String,
    pub key_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub failed_attempts: i64,
    pub voided_at: Option<i64>,
    pub used_at: Option<i64>,
}

macro_rules! columns {
    () => {
        "id, purpose, job_seeker_id, code_id, email, key_hash, created_at, expires_at, failed_attempts, voided_at, used_at"
    };
}

pub async fn find<'e>(ex: impl Executor<'e, Database = Any>, id: i64) -> Result<Option<AuthKeyRow>> {
    Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM auth_keys WHERE id = $1"))
        .bind(id)
        .fetch_optional(ex)
        .await?)
}

/// Voids every pending key of the job seeker (a new key, or the counter changed the address);
/// returns how many. Keys of the retired `reset` purpose go too.
pub async fn void_for_job_seeker<'e>(
    ex: impl Executor<'e, Database = Any>,
    job_seeker_id: i64,
    now_ms: i64,
) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE auth_keys SET voided_at = $2 WHERE job_seeker_id = $1 AND used_at IS NULL AND voided_at IS NULL",
    )
    .bind(job_seeker_id)
    .bind(now_ms)
    .execute(ex)
    .await?
    .rows_affected())
}

#[derive(Debug)]
pub struct NewAuthKey<'a> {
    pub purpose: &'a str,
    pub job_seeker_id: i64,
    pub code_id: Option<i64>,
    pub email: &'a str,
    pub key_hash: &'a str,
    pub expires_at: i64,
}

pub async fn insert<'e>(ex: impl Executor<'e, Database = Any>, new: &NewAuthKey<'_>, now_ms: i64) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO auth_keys (purpose, job_seeker_id, code_id, email, key_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(new.purpose)
    .bind(new.job_seeker_id)
    .bind(new.code_id)
    .bind(new.email)
    .bind(new.key_hash)
    .bind(now_ms)
    .bind(new.expires_at)
    .fetch_one(ex)
    .await?;
    Ok(id)
}

single_use_statements!("auth_keys", enter, count_wrong_entry, is_open, void, consume);
