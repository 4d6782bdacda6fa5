//! `accounts`: opened My Page accounts; the login ID is the email address.

use sqlx::{Any, Executor, FromRow};

use super::Result;

#[derive(Debug, Clone, FromRow)]
pub struct AccountRow {
    pub id: i64,
    pub job_seeker_id: i64,
    pub email: String,
    pub privacy_version: i64,
    pub terms_version: i64,
    pub consented_at: i64,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
}

macro_rules! columns {
    () => {
        "id, job_seeker_id, email, privacy_version, terms_version, consented_at, created_at, disabled_at"
    };
}

/// The account of a job seeker (`$1`), if opened.
pub const FIND_BY_JOB_SEEKER: &str = concat!("SELECT ", columns!(), " FROM accounts WHERE job_seeker_id = $1");

pub async fn find_by_job_seeker<'e>(
    ex: impl Executor<'e, Database = Any>,
    job_seeker_id: i64,
) -> Result<Option<AccountRow>> {
    Ok(sqlx::query_as(FIND_BY_JOB_SEEKER).bind(job_seeker_id).fetch_optional(ex).await?)
}

pub async fn find<'e>(ex: impl Executor<'e, Database = Any>, id: i64) -> Result<Option<AccountRow>> {
    Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM accounts WHERE id = $1"))
        .bind(id)
        .fetch_optional(ex)
        .await?)
}

pub async fn find_by_email<'e>(ex: impl Executor<'e, Database = Any>, email: &str) -> Result<Option<AccountRow>> {
    Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM accounts WHERE email = $1"))
        .bind(email)
        .fetch_optional(ex)
        .await?)
}

pub async fn email_in_use<'e>(ex: impl Executor<'e, Database = Any>, email: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE email = $1").bind(email).fetch_one(ex).await?;
    Ok(n > 0)
}

/// A new account with the consent it was opened under.
#[derive(Debug)]
pub struct NewAccount<'a> {
    pub job_seeker_id: i64,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub privacy_version: i64,
    pub terms_version: i64,
    pub consented_at: i64,
    /// The language of the account's mail (`ja`, `en`).
    pub lang: &'a str,
}

pub async fn insert<'e>(ex: impl Executor<'e, Database = Any>, new: &NewAccount<'_>, now_ms: i64) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO accounts (job_seeker_id, email, password_hash, privacy_version, terms_version, \
         consented_at, created_at, password_changed_at, lang) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) RETURNING id",
    )
    .bind(new.job_seeker_id)
    .bind(new.email)
    .bind(new.password_hash)
    .bind(new.privacy_version)
    .bind(new.terms_version)
    .bind(new.consented_at)
    .bind(now_ms)
    .bind(new.lang)
    .fetch_one(ex)
    .await?;
    Ok(id)
}

pub async fn count<'e>(ex: impl Executor<'e, Database = Any>) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM accounts").fetch_one(ex).await?)
}

/// Lifts a password-login lock and clears the failure count (staff action).
pub async fn unlock<'e>(ex: impl Executor<'e, Database = Any>, id: i64) -> Result<()> {
    sqlx::query("UPDATE accounts SET locked_until = NULL, failed_logins = 0 WHERE id = $1")
        .bind(id)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn set_disabled<'e>(ex: impl Executor<'e, Database = Any>, id: i64, at: Option<i64>) -> Result<()> {
    sqlx::query("UPDATE accounts SET disabled_at = $2 WHERE id = $1").bind(id).bind(at).execute(ex).await?;
    Ok(())
}

/// Changes the login ID; a unique violation when another account has it.
pub async fn set_email<'e>(ex: impl Executor<'e, Database = Any>, id: i64, email: &str) -> Result<()> {
    sqlx::query("UPDATE accounts SET email = $2 WHERE id = $1").bind(id).bind(email).execute(ex).await?;
    Ok(())
}

/// What the counter sees of an account's login state.
#[derive(Debug, Clone, FromRow)]
pub struct LoginState {
    pub failed_logins: i64,
    pub locked_until: Option<i64>,
    pub last_login: Option<i64>,
    pub remembered: i64,
}

/// An account's (`$1`) login state at `$2`.
pub const LOGIN_STATE: &str = "SELECT failed_logins, locked_until, \
     (SELECT MAX(at) FROM logins WHERE account_id = $1) AS last_login, \
     (SELECT COUNT(*) FROM remembered_browsers WHERE account_id = $1 AND revoked_at IS NULL AND expires_at > $2) \
       AS remembered \
     FROM accounts WHERE id = $1";

pub async fn login_state<'e>(ex: impl Executor<'e, Database = Any>, id: i64, now_ms: i64) -> Result<LoginState> {
    Ok(sqlx::query_as(LOGIN_STATE).bind(id).bind(now_ms).fetch_one(ex).await?)
}
