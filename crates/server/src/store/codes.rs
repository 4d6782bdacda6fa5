//! `account_codes`: アカウント作成コード, stored only as keyed hashes. Entries are decided
//! one statement each and consumption is guarded (`single_use_statements!`), so both stay
//! exact under concurrent requests on any number of nodes; a code is consumed only before it
//! expires.

use sqlx::{Any, Executor, FromRow};

use super::Result;

#[derive(Debug, Clone, FromRow)]
pub struct CodeRow {
    pub id: i64,
    pub job_seeker_id: i64,
    pub code_hash: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub failed_attempts: i64,
    pub voided_at: Option<i64>,
    pub used_at: Option<i64>,
}

macro_rules! columns {
    () => {
        "id, job_seeker_id, code_hash, issued_at, expires_at, failed_attempts, voided_at, used_at"
    };
}

/// The job seeker's most recently issued code.
pub async fn latest<'e>(ex: impl Executor<'e, Database = Any>, job_seeker_id: i64) -> Result<Option<CodeRow>> {
    Ok(sqlx::query_as(LATEST).bind(job_seeker_id).fetch_optional(ex).await?)
}

/// The statement of [`latest`]: `$1` the job seeker.
pub const LATEST: &str =
    concat!("SELECT ", columns!(), " FROM account_codes WHERE job_seeker_id = $1 ORDER BY id DESC LIMIT 1");

pub async fn find<'e>(ex: impl Executor<'e, Database = Any>, id: i64) -> Result<Option<CodeRow>> {
    Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM account_codes WHERE id = $1"))
        .bind(id)
        .fetch_optional(ex)
        .await?)
}

/// The keyed hashes of the job seeker's codes older than `before_id` (replaced by reissues).
pub async fn earlier_hashes<'e>(
    ex: impl Executor<'e, Database = Any>,
    job_seeker_id: i64,
    before_id: i64,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT code_hash FROM account_codes WHERE job_seeker_id = $1 AND id < $2")
        .bind(job_seeker_id)
        .bind(before_id)
        .fetch_all(ex)
        .await?)
}

/// Voids every code of the job seeker that is neither used nor void (a reissue).
pub async fn void_unused<'e>(ex: impl Executor<'e, Database = Any>, job_seeker_id: i64, now_ms: i64) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE account_codes SET voided_at = $2 WHERE job_seeker_id = $1 AND used_at IS NULL AND voided_at IS NULL",
    )
    .bind(job_seeker_id)
    .bind(now_ms)
    .execute(ex)
    .await?
    .rows_affected())
}

pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    job_seeker_id: i64,
    code_hash: &str,
    issued_at: i64,
    expires_at: i64,
    issued_by: &str,
) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO account_codes (job_seeker_id, code_hash, issued_at, expires_at, issued_by) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(job_seeker_id)
    .bind(code_hash)
    .bind(issued_at)
    .bind(expires_at)
    .bind(issued_by)
    .fetch_one(ex)
    .await?;
    Ok(id)
}

single_use_statements!("account_codes", enter, count_wrong_entry, is_open, void, consume);
