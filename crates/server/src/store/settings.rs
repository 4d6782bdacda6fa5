//! What an account holder manages on My Page: remembered browsers, recent logins, consent,
//! language, password and pending changes of login ID.

use sqlx::{Any, Executor, FromRow};

use super::Result;

#[derive(Debug, Clone, FromRow)]
pub struct RememberedRow {
    pub id: i64,
    pub user_agent: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
}

/// The account's live remembered browsers, most recently used first.
pub async fn remembered<'e>(
    ex: impl Executor<'e, Database = Any>,
    account_id: i64,
    now_ms: i64,
) -> Result<Vec<RememberedRow>> {
    Ok(sqlx::query_as(
        "SELECT id, user_agent, created_at, last_used_at, expires_at FROM remembered_browsers \
         WHERE account_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY last_used_at DESC",
    )
    .bind(account_id)
    .bind(now_ms)
    .fetch_all(ex)
    .await?)
}

/// Revokes one remembered browser of this account; false if it is not the account's.
pub async fn revoke_remembered<'e>(
    ex: impl Executor<'e, Database = Any>,
    account_id: i64,
    id: i64,
    now_ms: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE remembered_browsers SET revoked_at = $3 WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(account_id)
    .bind(now_ms)
    .execute(ex)
    .await?
    .rows_affected()
        == 1)
}

#[derive(Debug, Clone, FromRow)]
pub struct LoginRow {
    pub at: i64,
    pub method: String,
    pub user_agent: String,
    pub client_addr: String,
}

pub async fn recent_logins<'e>(ex: impl Executor<'e, Database = Any>, account_id: i64) -> Result<Vec<LoginRow>> {
    Ok(sqlx::query_as(
        "SELECT at, method, user_agent, client_addr FROM logins WHERE account_id = $1 ORDER BY at DESC, id DESC LIMIT 10",
    )
    .bind(account_id)
    .fetch_all(ex)
    .await?)
}

pub async fn password_hash<'e>(ex: impl Executor<'e, Database = Any>, account_id: i64) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT password_hash FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_optional(ex)
        .await?)
}

pub async fn set_consent<'e>(
    ex: impl Executor<'e, Database = Any>,
    account_id: i64,
    privacy_version: i64,
    terms_version: i64,
    now_ms: i64,
) -> Result<()> {
    sqlx::query("UPDATE accounts SET privacy_version = $2, terms_version = $3, consented_at = $4 WHERE id = $1")
        .bind(account_id)
        .bind(privacy_version)
        .bind(terms_version)
        .bind(now_ms)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn set_lang<'e>(ex: impl Executor<'e, Database = Any>, account_id: i64, lang: &str) -> Result<()> {
    sqlx::query("UPDATE accounts SET lang = $2 WHERE id = $1").bind(account_id).bind(lang).execute(ex).await?;
    Ok(())
}

pub async fn lang<'e>(ex: impl Executor<'e, Database = Any>, account_id: i64) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT lang FROM accounts WHERE id = $1").bind(account_id).fetch_optional(ex).await?)
}

/// Ends the account's sessions except `keep_hash` (the one making the change).
pub async fn end_other_sessions<'e>(
    ex: impl Executor<'e, Database = Any>,
    account_id: i64,
    keep_hash: &str,
) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND id_hash <> $2")
        .bind(account_id)
        .bind(keep_hash)
        .execute(ex)
        .await?
        .rows_affected())
}

#[derive(Debug, Clone, FromRow)]
pub struct EmailChangeRow {
    pub id: i64,
    pub account_id: i64,
    pub new_email: String,
    pub key_hash: String,
    pub expires_at: i64,
    pub failed_attempts: i64,
    pub voided_at: Option<i64>,
    pub used_at: Option<i64>,
}

/// Voids every pending change of login ID of the account; returns how many.
pub async fn void_email_changes<'e>(
    ex: impl Executor<'e, Database = Any>,
    account_id: i64,
    now_ms: i64,
) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE email_changes SET voided_at = $2 WHERE account_id = $1 AND used_at IS NULL AND voided_at IS NULL",
    )
    .bind(account_id)
    .bind(now_ms)
    .execute(ex)
    .await?
    .rows_affected())
}

pub async fn insert_email_change<'e>(
    ex: impl Executor<'e, Database = Any>,
    account_id: i64,
    new_email: &str,
    key_hash: &str,
    now_ms: i64,
    expires_at: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO email_changes (account_id, new_email, key_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(account_id)
    .bind(new_email)
    .bind(key_hash)
    .bind(now_ms)
    .bind(expires_at)
    .fetch_one(ex)
    .await?)
}

pub async fn find_email_change<'e>(ex: impl Executor<'e, Database = Any>, id: i64) -> Result<Option<EmailChangeRow>> {
    Ok(sqlx::query_as(
        "SELECT id, account_id, new_email, key_hash, expires_at, failed_attempts, voided_at, used_at \
         FROM email_changes WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(ex)
    .await?)
}

single_use_statements!(
    "email_changes",
    enter_email_change_code,
    count_wrong_email_change_entry,
    email_change_is_open,
    void_email_change,
    consume_email_change
);
