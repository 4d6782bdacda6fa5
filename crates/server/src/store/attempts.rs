//! `attempt_log`: a sliding-window log behind every rate limit and throttle. It lives in the
//! database so a limit holds across all nodes; old rows are purged by the maintenance task.

use sqlx::{Any, Executor};

use super::Result;

pub async fn record<'e>(ex: impl Executor<'e, Database = Any>, scope: &str, subject: &str, now_ms: i64) -> Result<()> {
    sqlx::query("INSERT INTO attempt_log (scope, subject, at) VALUES ($1, $2, $3)")
        .bind(scope)
        .bind(subject)
        .bind(now_ms)
        .execute(ex)
        .await?;
    Ok(())
}

/// Attempts recorded after `since_ms`.
pub async fn count_since<'e>(
    ex: impl Executor<'e, Database = Any>,
    scope: &str,
    subject: &str,
    since_ms: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM attempt_log WHERE scope = $1 AND subject = $2 AND at > $3")
        .bind(scope)
        .bind(subject)
        .bind(since_ms)
        .fetch_one(ex)
        .await?)
}

/// The newest attempt after `since_ms`, if any (for cooldowns).
pub async fn latest_since<'e>(
    ex: impl Executor<'e, Database = Any>,
    scope: &str,
    subject: &str,
    since_ms: i64,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT MAX(at) FROM attempt_log WHERE scope = $1 AND subject = $2 AND at > $3")
        .bind(scope)
        .bind(subject)
        .bind(since_ms)
        .fetch_one(ex)
        .await?)
}

pub async fn purge_before<'e>(ex: impl Executor<'e, Database = Any>, before_ms: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM attempt_log WHERE at < $1").bind(before_ms).execute(ex).await?.rows_affected())
}
