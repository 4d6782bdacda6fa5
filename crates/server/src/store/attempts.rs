//! `attempt_log` and `limit_subjects`: the sliding-window log behind every rate limit, cap and
//! cooldown, and the per-subject lock rows that make a reservation atomic on every node.
//!
//! A reservation runs in one write transaction: lock the subject's row (an upsert: a row lock on
//! PostgreSQL, held to commit; SQLite's `BEGIN IMMEDIATE` already serializes writers), count the
//! subject's attempts in the window, and insert the new attempt only while within the cap. A
//! concurrent reservation of the same subject waits for the lock and then counts the committed
//! row, so N parallel reservations are granted exactly as N sequential ones would be.

use sqlx::{Any, AnyConnection, AssertSqlSafe, Executor};

use super::{Backend, Result, Store};

/// The limiter's statements: the subject's lock row (`$1` scope, `$2` subject, `$3` now), then
/// its last attempt and its count after `$3`, then the new attempt.
pub const LOCK_SUBJECT: &str = "INSERT INTO limit_subjects (scope, subject, touched_at) VALUES ($1, $2, $3) \
     ON CONFLICT (scope, subject) DO UPDATE SET touched_at = excluded.touched_at";
pub const LAST_SINCE: &str = "SELECT MAX(at) FROM attempt_log WHERE scope = $1 AND subject = $2 AND at > $3";
pub const COUNT_SINCE: &str = "SELECT COUNT(*) FROM attempt_log WHERE scope = $1 AND subject = $2 AND at > $3";
pub const INSERT: &str = "INSERT INTO attempt_log (scope, subject, at) VALUES ($1, $2, $3) RETURNING id";

/// Takes the subject's lock row for the rest of the transaction. Also what serializes "void the
/// previous secret, insert a new one" per owner, so an owner never has two live secrets.
pub async fn lock_subject<'e>(
    ex: impl Executor<'e, Database = Any>,
    scope: &str,
    subject: &str,
    now_ms: i64,
) -> Result<()> {
    sqlx::query(LOCK_SUBJECT).bind(scope).bind(subject).bind(now_ms).execute(ex).await?;
    Ok(())
}

/// What a reservation asks for: at most `max` attempts after `since_ms`, and (for a cooldown) none
/// after `quiet_since_ms`.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    pub scope: &'a str,
    pub subject: &'a str,
    pub now_ms: i64,
    pub since_ms: i64,
    pub max: i64,
    pub quiet_since_ms: Option<i64>,
}

/// Why a reservation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `max` attempts are already in the window.
    Full,
    /// An attempt happened within the cooldown; this one may follow at `next_ms`.
    Cooldown { next_ms: i64 },
}

/// A granted attempt: its row id (to release it) and its place in the window, counting itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted {
    pub id: i64,
    pub position: i64,
}

/// Reserves one attempt inside the caller's write transaction (see the module doc).
pub async fn reserve(conn: &mut AnyConnection, ask: &Ask<'_>) -> Result<Result<Granted, Refused>> {
    lock_subject(&mut *conn, ask.scope, ask.subject, ask.now_ms).await?;
    if let Some(quiet) = ask.quiet_since_ms {
        let last: Option<i64> =
            sqlx::query_scalar(LAST_SINCE).bind(ask.scope).bind(ask.subject).bind(quiet).fetch_one(&mut *conn).await?;
        if let Some(last) = last {
            return Ok(Err(Refused::Cooldown { next_ms: last + (ask.now_ms - quiet) }));
        }
    }
    let used: i64 = sqlx::query_scalar(COUNT_SINCE)
        .bind(ask.scope)
        .bind(ask.subject)
        .bind(ask.since_ms)
        .fetch_one(&mut *conn)
        .await?;
    if used >= ask.max {
        return Ok(Err(Refused::Full));
    }
    let id: i64 =
        sqlx::query_scalar(INSERT).bind(ask.scope).bind(ask.subject).bind(ask.now_ms).fetch_one(&mut *conn).await?;
    Ok(Ok(Granted { id, position: used + 1 }))
}

/// Gives a granted attempt back (the attempt turned out not to count, e.g. a right password), in
/// one round trip. On PostgreSQL that is a bookkeeping transaction ([`Store::begin_bookkeeping`])
/// sent as one simple query: its only value is the row id, an integer, so writing it into the
/// text cannot inject anything. On SQLite one statement commits by itself without a disk flush
/// (WAL with `synchronous=NORMAL`).
pub async fn release(store: &Store, id: i64) -> Result<()> {
    match store.backend() {
        Backend::Postgres => {
            let sql =
                format!("BEGIN; SET LOCAL synchronous_commit = off; DELETE FROM attempt_log WHERE id = {id}; COMMIT");
            sqlx::raw_sql(AssertSqlSafe(sql)).execute(store.pool()).await?
        }
        Backend::Sqlite => sqlx::query("DELETE FROM attempt_log WHERE id = $1").bind(id).execute(store.pool()).await?,
    };
    Ok(())
}

/// Forgets every attempt of the subject (a password reset clears the one-time password budget).
pub async fn clear<'e>(ex: impl Executor<'e, Database = Any>, scope: &str, subject: &str) -> Result<()> {
    sqlx::query("DELETE FROM attempt_log WHERE scope = $1 AND subject = $2")
        .bind(scope)
        .bind(subject)
        .execute(ex)
        .await?;
    Ok(())
}

/// Attempts recorded after `since_ms`. Enough to refuse (an over-the-cap count only shrinks as
/// the window slides); never enough to grant, which takes `reserve`.
pub async fn count_since<'e>(
    ex: impl Executor<'e, Database = Any>,
    scope: &str,
    subject: &str,
    since_ms: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(COUNT_SINCE).bind(scope).bind(subject).bind(since_ms).fetch_one(ex).await?)
}

/// Old attempts and idle lock rows, for the maintenance task.
pub async fn purge_before<'e, E>(ex: E, before_ms: i64) -> Result<u64>
where
    E: Executor<'e, Database = Any> + Copy,
{
    let attempts = sqlx::query("DELETE FROM attempt_log WHERE at < $1").bind(before_ms).execute(ex).await?;
    let locks = sqlx::query("DELETE FROM limit_subjects WHERE touched_at < $1").bind(before_ms).execute(ex).await?;
    Ok(attempts.rows_affected() + locks.rows_affected())
}
