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
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub kind: String,
    pub job_seeker_id: Option<i64>,
    pub detail: String,
    pub client_addr: Option<String>,
}

/// A job seeker's events, oldest first (what the counter sees on the job seeker's page).
pub const FOR_JOB_SEEKER: &str = "SELECT id, at, actor, kind, job_seeker_id, detail, client_addr FROM audit_events \
     WHERE job_seeker_id = $1 ORDER BY id";

pub async fn for_job_seeker<'e>(ex: impl Executor<'e, Database = Any>, job_seeker_id: i64) -> Result<Vec<EventRow>> {
    Ok(sqlx::query_as(FOR_JOB_SEEKER).bind(job_seeker_id).fetch_all(ex).await?)
}

/// Events on one page of the audit log.
pub const PAGE_SIZE: usize = 200;

/// Where a page of the audit log starts: just older than this event (newest first is by `at`,
/// then `id`). Keyset paging: the next page is an index range, however far back it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub at: i64,
    pub id: i64,
}

impl Cursor {
    /// As it travels in a link: `AT.ID`.
    pub fn parse(text: &str) -> Option<Self> {
        let (at, id) = text.trim().split_once('.')?;
        Some(Self { at: at.parse().ok()?, id: id.parse().ok()? })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.at, self.id)
    }
}

/// Filters of the audit log search; each `None` matches everything.
#[derive(Debug, Default, Clone)]
pub struct Filter<'a> {
    pub job_seeker_id: Option<i64>,
    pub actor: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// The page: events older than this; `None` for the newest.
    pub before: Option<Cursor>,
}

/// The statement of a search with exactly `filter`'s conditions and nothing for the absent
/// ones (a `$n IS NULL OR …` condition would keep both databases from using an index). The
/// parameters are bound in the order of [`Filter`]'s fields; one more row than a page is read
/// to tell whether an older page exists. The `EXPLAIN` test runs these same statements.
pub fn search_sql(filter: &Filter<'_>) -> String {
    let mut conditions: Vec<String> = Vec::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    if filter.job_seeker_id.is_some() {
        conditions.push(format!("job_seeker_id = ${}", next()));
    }
    if filter.actor.is_some() {
        conditions.push(format!("actor = ${}", next()));
    }
    if filter.kind.is_some() {
        conditions.push(format!("kind = ${}", next()));
    }
    if filter.from_ms.is_some() {
        conditions.push(format!("at >= ${}", next()));
    }
    if filter.to_ms.is_some() {
        conditions.push(format!("at < ${}", next()));
    }
    if filter.before.is_some() {
        // `at <= $a` bounds the index range; the rest breaks ties within one instant.
        let (at, id) = (next(), next());
        conditions.push(format!("at <= ${at} AND (at < ${at} OR id < ${id})"));
    }
    let mut sql = String::from("SELECT id, at, actor, kind, job_seeker_id, detail, client_addr FROM audit_events");
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    sql.push_str(&format!(" ORDER BY at DESC, id DESC LIMIT {}", PAGE_SIZE + 1));
    sql
}

/// One page of the audit log, newest first, and where the next (older) page starts.
#[derive(Debug, Clone)]
pub struct Page {
    pub events: Vec<EventRow>,
    pub older: Option<Cursor>,
}

/// A page of the events matching `filter`.
pub async fn search<'e>(ex: impl Executor<'e, Database = Any>, filter: &Filter<'_>) -> Result<Page> {
    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(search_sql(filter)));
    if let Some(id) = filter.job_seeker_id {
        query = query.bind(id);
    }
    if let Some(actor) = filter.actor {
        query = query.bind(actor);
    }
    if let Some(kind) = filter.kind {
        query = query.bind(kind);
    }
    if let Some(from) = filter.from_ms {
        query = query.bind(from);
    }
    if let Some(to) = filter.to_ms {
        query = query.bind(to);
    }
    if let Some(before) = filter.before {
        query = query.bind(before.at).bind(before.id);
    }
    let mut events: Vec<EventRow> = query.fetch_all(ex).await?;
    let older = if events.len() > PAGE_SIZE {
        events.truncate(PAGE_SIZE);
        events.last().map(|e| Cursor { at: e.at, id: e.id })
    } else {
        None
    };
    Ok(Page { events, older })
}
