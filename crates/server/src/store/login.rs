//! Login state: password failures on `accounts`, one-time password challenges, remembered
//! browsers and the record of logins. Counters and single-use values are guarded statements.

use sqlx::{Any, Executor, FromRow};

use super::Result;

#[derive(Debug, Clone, FromRow)]
pub struct LoginAccount {
    pub id: i64,
    pub job_seeker_id: i64,
    pub email: String,
    pub password_hash: String,
    pub locked_until: Option<i64>,
    pub disabled_at: Option<i64>,
    /// The language of the account's mail.
    pub lang: String,
}

/// The login lookup: the account of a login ID (`$1`).
pub const FIND_BY_EMAIL: &str =
    "SELECT id, job_seeker_id, email, password_hash, locked_until, disabled_at, lang FROM accounts WHERE email = $1";

pub async fn find_by_email<'e>(ex: impl Executor<'e, Database = Any>, email: &str) -> Result<Option<LoginAccount>> {
    Ok(sqlx::query_as(FIND_BY_EMAIL).bind(email).fetch_optional(ex).await?)
}

pub async fn find_by_id<'e>(ex: impl Executor<'e, Database = Any>, id: i64) -> Result<Option<LoginAccount>> {
    Ok(sqlx::query_as(
        "SELECT id, job_seeker_id, email, password_hash, locked_until, disabled_at, lang FROM accounts WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(ex)
    .await?)
}

/// Reserves one password attempt before the hash is checked, counting it as a failure. Refused
/// (`None`) while password login is locked or the account disabled (or there is no such account:
/// the statement still runs, so unknown addresses take the same time); refused attempts count
/// nothing, so failures during a lock neither extend it nor start a new one. The attempt that
/// reaches `threshold` sets the lock itself, before its hash is checked, so no attempt decided
/// after it can log in. An expired lock starts the count over. Returns the attempt's number.
pub async fn reserve_password_attempt<'e>(
    ex: impl Executor<'e, Database = Any>,
    account_id: i64,
    now_ms: i64,
    lock_until_ms: i64,
    threshold: i64,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "UPDATE accounts SET \
         failed_logins = CASE WHEN locked_until IS NULL THEN failed_logins + 1 ELSE 1 END, \
         locked_until = CASE WHEN (CASE WHEN locked_until IS NULL THEN failed_logins + 1 ELSE 1 END) >= $4 \
           THEN $3 ELSE NULL END \
         WHERE id = $1 AND disabled_at IS NULL AND (locked_until IS NULL OR locked_until <= $2) \
         RETURNING failed_logins",
    )
    .bind(account_id)
    .bind(now_ms)
    .bind(lock_until_ms)
    .bind(threshold)
    .fetch_optional(ex)
    .await?)
}

/// A right password: the consecutive-failure count starts over. Refused (false) when another
/// attempt's failure locked password login after this attempt was reserved; `own_lock` says
/// this attempt's own reservation set the lock (it was the `threshold`-th), which it may lift.
pub async fn accept_password<'e>(
    ex: impl Executor<'e, Database = Any>,
    account_id: i64,
    own_lock: bool,
    threshold: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE accounts SET failed_logins = 0, locked_until = NULL \
         WHERE id = $1 AND disabled_at IS NULL AND (locked_until IS NULL OR ($2 = 1 AND failed_logins >= $3))",
    )
    .bind(account_id)
    .bind(i64::from(own_lock))
    .bind(threshold)
    .execute(ex)
    .await?
    .rows_affected()
        == 1)
}

/// Locks password login until `until_ms` unless it already is locked; true when this call
/// locked it (so exactly one notice goes out per lock).
pub async fn lock<'e>(
    ex: impl Executor<'e, Database = Any>,
    account_id: i64,
    now_ms: i64,
    until_ms: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE accounts SET locked_until = $3, failed_logins = 0 \
         WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2)",
    )
    .bind(account_id)
    .bind(now_ms)
    .bind(until_ms)
    .execute(ex)
    .await?
    .rows_affected()
        == 1)
}

pub async fn set_password<'e>(
    ex: impl Executor<'e, Database = Any>,
    account_id: i64,
    password_hash: &str,
    now_ms: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE accounts SET password_hash = $2, password_changed_at = $3, failed_logins = 0, locked_until = NULL \
         WHERE id = $1",
    )
    .bind(account_id)
    .bind(password_hash)
    .bind(now_ms)
    .execute(ex)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct ChallengeRow {
    pub id: i64,
    pub account_id: i64,
    pub otp_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub failed_attempts: i64,
    pub voided_at: Option<i64>,
    pub used_at: Option<i64>,
}

/// Voids every pending one-time password challenge of the account; returns how many.
pub async fn void_challenges<'e>(ex: impl Executor<'e, Database = Any>, account_id: i64, now_ms: i64) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE login_challenges SET voided_at = $2 WHERE account_id = $1 AND used_at IS NULL AND voided_at IS NULL",
    )
    .bind(account_id)
    .bind(now_ms)
    .execute(ex)
    .await?
    .rows_affected())
}

pub async fn insert_challenge<'e>(
    ex: impl Executor<'e, Database = Any>,
    account_id: i64,
    otp_hash: &str,
    now_ms: i64,
    expires_at: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO login_challenges (account_id, otp_hash, created_at, expires_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(account_id)
    .bind(otp_hash)
    .bind(now_ms)
    .bind(expires_at)
    .fetch_one(ex)
    .await?)
}

pub async fn find_challenge<'e>(ex: impl Executor<'e, Database = Any>, id: i64) -> Result<Option<ChallengeRow>> {
    Ok(sqlx::query_as(
        "SELECT id, account_id, otp_hash, created_at, expires_at, failed_attempts, voided_at, used_at \
         FROM login_challenges WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(ex)
    .await?)
}

single_use_statements!(
    "login_challenges",
    enter_otp,
    count_wrong_challenge_entry,
    challenge_is_open,
    void_challenge,
    consume_challenge
);

pub async fn insert_remembered<'e>(
    ex: impl Executor<'e, Database = Any>,
    account_id: i64,
    token_hash: &str,
    user_agent: &str,
    now_ms: i64,
    expires_at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO remembered_browsers (account_id, token_hash, user_agent, created_at, last_used_at, expires_at) \
         VALUES ($1, $2, $3, $4, $4, $5)",
    )
    .bind(account_id)
    .bind(token_hash)
    .bind(user_agent)
    .bind(now_ms)
    .bind(expires_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// Marks a live remembered browser of this account as used now; false when there is none.
pub async fn use_remembered<'e>(
    ex: impl Executor<'e, Database = Any>,
    account_id: i64,
    token_hash: &str,
    now_ms: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE remembered_browsers SET last_used_at = $3 \
         WHERE account_id = $1 AND token_hash = $2 AND revoked_at IS NULL AND expires_at > $3",
    )
    .bind(account_id)
    .bind(token_hash)
    .bind(now_ms)
    .execute(ex)
    .await?
    .rows_affected()
        == 1)
}

pub async fn revoke_remembered<'e>(ex: impl Executor<'e, Database = Any>, account_id: i64, now_ms: i64) -> Result<u64> {
    Ok(sqlx::query("UPDATE remembered_browsers SET revoked_at = $2 WHERE account_id = $1 AND revoked_at IS NULL")
        .bind(account_id)
        .bind(now_ms)
        .execute(ex)
        .await?
        .rows_affected())
}

pub async fn record_login<'e>(
    ex: impl Executor<'e, Database = Any>,
    account_id: i64,
    now_ms: i64,
    method: &str,
    user_agent: &str,
    client_addr: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO logins (account_id, at, method, user_agent, client_addr) VALUES ($1, $2, $3, $4, $5)")
        .bind(account_id)
        .bind(now_ms)
        .bind(method)
        .bind(user_agent)
        .bind(client_addr)
        .execute(ex)
        .await?;
    Ok(())
}
