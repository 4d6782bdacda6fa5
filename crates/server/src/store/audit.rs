//! `audit_events`: every security event and staff action, with who, when, what and from where.

use sqlx::{Any, Executor, FromRow};

use super::Result;

/// One event to record. `actor` is `system`, `job_seeker:<id>` or `staff:<id>`.
#[derive(Debug)]
pub struct Event<'a> {
    pub actor: &'a str,
    pub kind: &'a str,
    pub job_seeker_id: Option<i64>,
    pub detail: &'a str,
    pub client_addr: Option<&'a str>,
}

pub async fn record<'e>(ex: impl Executor<'e, Database = Any>, event: &Event<'_>, now_ms: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_events (at, actor, kind, job_seeker_id, detail, client_addr) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(now_ms)
    .bind(event.actor)
    .bind(event.kind)
    .bind(event.job_seeker_id)
    .bind(event.detail)
    .bind(event.client_addr)
    .execute(ex)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct EventRow {
    pub at: i64,
    pub actor: String,
    pub kind: String,
    pub job_seeker_id: Option<i64>,
    pub detail: String,
    pub client_addr: Option<String>,
}

pub async fn for_job_seeker<'e>(ex: impl Executor<'e, Database = Any>, job_seeker_id: i64) -> Result<Vec<EventRow>> {
    Ok(sqlx::query_as(
        "SELECT at, actor, kind, job_seeker_id, detail, client_addr FROM audit_events \
         WHERE job_seeker_id = $1 ORDER BY id",
    )
    .bind(job_seeker_id)
    .fetch_all(ex)
    .await?)
}
