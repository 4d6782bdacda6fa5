//! `outbox`: mail written in the same transaction as the state change that causes it. Workers on
//! any node claim a row with one guarded UPDATE (the claim condition is re-checked in the outer
//! WHERE, so two PostgreSQL workers never both win), send it, then mark it sent or schedule a
//! retry. Each claim carries a fresh token, and every statement that settles, renews or releases
//! a mail names it: a worker whose claim lapsed and was taken over can change nothing.
//!
//! The body may hold a one-time secret, so it is never written in clear: it is sealed
//! ([`crate::seal`]) bound to its row's id and recipient, since a blanked clear body would live on
//! in the SQLite WAL and free pages. It is still blanked once the mail is settled.

use sqlx::{Any, AnyConnection, Executor, FromRow};

use super::Result;
use crate::seal::Sealer;

/// What a sealed body is bound to: its row and its recipient.
pub fn body_binding(id: i64, to_addr: &str) -> Vec<u8> {
    format!("outbox body {id} {to_addr}").into_bytes()
}

#[derive(Debug)]
pub struct NewMail<'a> {
    pub kind: &'a str,
    pub to_addr: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub job_seeker_id: Option<i64>,
    /// When the code the mail carries stops working (ms); `None` for a notice.
    pub expires_at: Option<i64>,
}

/// Writes the mail with its body sealed under `sealer`. The row is inserted first with an empty
/// body, because the seal binds the row's id; the caller's transaction hides it until commit.
pub async fn enqueue(conn: &mut AnyConnection, sealer: &Sealer, mail: &NewMail<'_>, now_ms: i64) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO outbox (kind, to_addr, subject, body, job_seeker_id, created_at, next_attempt_at, expires_at) \
         VALUES ($1, $2, $3, '', $4, $5, $5, $6) RETURNING id",
    )
    .bind(mail.kind)
    .bind(mail.to_addr)
    .bind(mail.subject)
    .bind(mail.job_seeker_id)
    .bind(now_ms)
    .bind(mail.expires_at)
    .fetch_one(&mut *conn)
    .await?;
    let sealed = sealer.seal(&body_binding(id, mail.to_addr), mail.body.as_bytes())?;
    sqlx::query("UPDATE outbox SET body = $2 WHERE id = $1").bind(id).bind(sealed).execute(&mut *conn).await?;
    Ok(id)
}

#[derive(Debug, Clone, FromRow)]
pub struct ClaimedMail {
    pub id: i64,
    pub kind: String,
    pub to_addr: String,
    pub subject: String,
    pub body: String,
    pub attempts: i64,
    pub created_at: i64,
    /// When the code the mail carries stops working (ms); `None` for a notice.
    pub expires_at: Option<i64>,
    /// The claim's fence: only a statement that names it can settle, renew or release the mail.
    pub claim_token: String,
}

/// Claims the oldest due mail until `lock_until_ms` under a fresh `token`, counting the attempt.
pub async fn claim_next<'e>(
    ex: impl Executor<'e, Database = Any>,
    now_ms: i64,
    lock_until_ms: i64,
    token: &str,
) -> Result<Option<ClaimedMail>> {
    Ok(sqlx::query_as(
        "UPDATE outbox SET locked_until = $2, attempts = attempts + 1, claim_token = $3 \
         WHERE id = (SELECT id FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 \
                     AND (locked_until IS NULL OR locked_until < $1) ORDER BY id LIMIT 1) \
         AND sent_at IS NULL AND failed_at IS NULL AND (locked_until IS NULL OR locked_until < $1) \
         RETURNING id, kind, to_addr, subject, body, attempts, created_at, expires_at, claim_token",
    )
    .bind(now_ms)
    .bind(lock_until_ms)
    .bind(token)
    .fetch_optional(ex)
    .await?)
}

/// Extends a claim that has not lapsed; `false` when it lapsed or another worker holds the mail
/// now (the holder must then stop: the mail is no longer its to send).
pub async fn renew<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: i64,
    token: &str,
    now_ms: i64,
    lock_until_ms: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE outbox SET locked_until = $4 WHERE id = $1 AND claim_token = $2 AND locked_until >= $3 \
         AND sent_at IS NULL AND failed_at IS NULL",
    )
    .bind(id)
    .bind(token)
    .bind(now_ms)
    .bind(lock_until_ms)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives a claim back unsettled (a send cut short by shutdown): the mail is due again at once.
pub async fn release<'e>(ex: impl Executor<'e, Database = Any>, id: i64, token: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE outbox SET locked_until = NULL, claim_token = NULL WHERE id = $1 AND claim_token = $2 \
         AND sent_at IS NULL AND failed_at IS NULL",
    )
    .bind(id)
    .bind(token)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives back every unsettled claim of `node` (tokens `{node}-…`): a restarted node's own
/// claims, held by a process that no longer runs. `node` is hex, so it holds no LIKE wildcard.
pub async fn release_claims_of<'e>(ex: impl Executor<'e, Database = Any>, node: &str) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE outbox SET locked_until = NULL, claim_token = NULL \
         WHERE sent_at IS NULL AND failed_at IS NULL AND locked_until IS NOT NULL AND claim_token LIKE $1",
    )
    .bind(format!("{node}-%"))
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}

/// Marks the mail sent if `token` still holds it; `false` when the claim was taken over.
pub async fn mark_sent<'e>(ex: impl Executor<'e, Database = Any>, id: i64, token: &str, now_ms: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE outbox SET sent_at = $3, locked_until = NULL, claim_token = NULL, body = '', last_error = NULL \
         WHERE id = $1 AND claim_token = $2 AND sent_at IS NULL AND failed_at IS NULL",
    )
    .bind(id)
    .bind(token)
    .bind(now_ms)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Schedules the next attempt if `token` still holds the mail; `false` when it was taken over.
pub async fn schedule_retry<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: i64,
    token: &str,
    next_attempt_ms: i64,
    error: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE outbox SET next_attempt_at = $3, locked_until = NULL, claim_token = NULL, last_error = $4 \
         WHERE id = $1 AND claim_token = $2 AND sent_at IS NULL AND failed_at IS NULL",
    )
    .bind(id)
    .bind(token)
    .bind(next_attempt_ms)
    .bind(error)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Why a mail was given up on (the `failure` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The mail server refused it (5xx): the address was not accepted.
    Refused,
    /// Its code expired before it could be sent.
    Expired,
    /// Retried until the policy for its kind gave up.
    GivenUp,
    /// The sealed body does not open.
    Unopenable,
}

impl Failure {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Refused => "refused",
            Self::Expired => "expired",
            Self::GivenUp => "given_up",
            Self::Unopenable => "unopenable",
        }
    }

    /// A stored value; rows given up on before the column existed read as [`Failure::GivenUp`].
    pub fn parse(stored: Option<&str>) -> Self {
        match stored {
            Some("refused") => Self::Refused,
            Some("expired") => Self::Expired,
            Some("unopenable") => Self::Unopenable,
            _ => Self::GivenUp,
        }
    }
}

/// Gives the mail up if `token` still holds it; `false` when it was taken over.
pub async fn mark_failed<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: i64,
    token: &str,
    now_ms: i64,
    failure: Failure,
    error: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE outbox SET failed_at = $3, locked_until = NULL, claim_token = NULL, body = '', last_error = $4, \
         failure = $5 WHERE id = $1 AND claim_token = $2 AND sent_at IS NULL AND failed_at IS NULL",
    )
    .bind(id)
    .bind(token)
    .bind(now_ms)
    .bind(error)
    .bind(failure.as_str())
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Mail not yet sent nor given up on.
pub async fn backlog<'e>(ex: impl Executor<'e, Database = Any>) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL")
        .fetch_one(ex)
        .await?)
}

/// Mail given up on.
pub async fn failed<'e>(ex: impl Executor<'e, Database = Any>) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE failed_at IS NOT NULL").fetch_one(ex).await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct MailLogRow {
    pub id: i64,
    pub kind: String,
    pub to_addr: String,
    pub created_at: i64,
    pub attempts: i64,
    pub sent_at: Option<i64>,
    pub failed_at: Option<i64>,
    pub last_error: Option<String>,
    pub expires_at: Option<i64>,
    pub failure: Option<String>,
}

macro_rules! mail_log_columns {
    () => {
        "id, kind, to_addr, created_at, attempts, sent_at, failed_at, last_error, expires_at, failure"
    };
}

/// A job seeker's mail, newest first (what staff see).
pub async fn for_job_seeker<'e>(ex: impl Executor<'e, Database = Any>, job_seeker_id: i64) -> Result<Vec<MailLogRow>> {
    Ok(sqlx::query_as(FOR_JOB_SEEKER).bind(job_seeker_id).fetch_all(ex).await?)
}

/// The statement of [`for_job_seeker`]: `$1` the job seeker.
pub const FOR_JOB_SEEKER: &str =
    concat!("SELECT ", mail_log_columns!(), " FROM outbox WHERE job_seeker_id = $1 ORDER BY id DESC");

/// One mail's log row (a waiting screen's mail, looked up by the id its session holds).
pub async fn find<'e>(ex: impl Executor<'e, Database = Any>, id: i64) -> Result<Option<MailLogRow>> {
    Ok(sqlx::query_as(concat!("SELECT ", mail_log_columns!(), " FROM outbox WHERE id = $1"))
        .bind(id)
        .fetch_optional(ex)
        .await?)
}

/// Where a mail is on its way, as a waiting screen and the counter tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Not yet handed to the mail server (queued, or being sent right now).
    Waiting,
    /// The mail server did not answer or answered "try later"; it will be tried again.
    Retrying { error: String },
    /// Accepted by the mail server at this instant (ms).
    Handed { at: i64 },
    /// The mail server refused it (5xx), with its answer: the address was not accepted.
    Refused { answer: String },
    /// Not sent: its code expired first.
    Expired,
    /// Given up on after the retries its kind allows (or its body did not open).
    GivenUp { error: String },
}

impl MailLogRow {
    pub fn delivery(&self) -> Delivery {
        let error = || self.last_error.clone().unwrap_or_default();
        match (self.sent_at, self.failed_at) {
            (Some(at), _) => Delivery::Handed { at },
            (None, Some(_)) => match Failure::parse(self.failure.as_deref()) {
                Failure::Refused => Delivery::Refused { answer: error() },
                Failure::Expired => Delivery::Expired,
                Failure::GivenUp | Failure::Unopenable => Delivery::GivenUp { error: error() },
            },
            (None, None) if self.last_error.is_some() => Delivery::Retrying { error: error() },
            (None, None) => Delivery::Waiting,
        }
    }
}

/// Withdraws a mail not yet sent nor being sent: its code was replaced by a resend, so it would
/// only carry a key that no longer works. Returns whether it was withdrawn.
pub async fn withdraw<'e>(ex: impl Executor<'e, Database = Any>, id: i64, now_ms: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE outbox SET failed_at = $2, body = '', last_error = 'replaced by a resend', failure = 'expired', \
         claim_token = NULL WHERE id = $1 AND sent_at IS NULL AND failed_at IS NULL AND (locked_until IS NULL OR locked_until < $2)",
    )
    .bind(id)
    .bind(now_ms)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}
