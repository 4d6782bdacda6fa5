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

/// Filters of the audit log search; each `None` matches everything.
#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub job_seeker_id: Option<i64>,
    pub actor: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

/// The newest 200 events matching `filter`.
pub async fn search<'e>(ex: impl Executor<'e, Database = Any>, filter: &Filter<'_>) -> Result<Vec<EventRow>> {
    Ok(sqlx::query_as(
        "SELECT at, actor, kind, job_seeker_id, detail, client_addr FROM audit_events \
         WHERE ($1 IS NULL OR job_seeker_id = $1) AND ($2 IS NULL OR actor = $2) AND ($3 IS NULL OR kind = $3) \
         AND ($4 IS NULL OR at >= $4) AND ($5 IS NULL OR at < $5) ORDER BY id DESC LIMIT 200",
    )
    .bind(filter.job_seeker_id)
    .bind(filter.actor)
    .bind(filter.kind)
    .bind(filter.from_ms)
    .bind(filter.to_ms)
    .fetch_all(ex)
    .await?)
}
