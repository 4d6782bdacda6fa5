//! Which outbox row carries a secret's mail (`mail_id` on auth keys, one-time password
//! challenges, recovery requests and email changes): the screen waiting for a secret asks for
//! that mail's state through the secret its session holds, never by a mail id from the browser.

use sqlx::{Any, Executor};

use super::Result;

/// A secret that someone waits for by mail, by its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiter {
    /// An opening's 認証キー (`auth_keys`).
    AuthKey(i64),
    /// A login's one-time password (`login_challenges`).
    Challenge(i64),
    /// A 「パスワードをお忘れの方」 request (`recovery_requests`).
    Recovery(i64),
    /// A change of login ID waiting for its code (`email_changes`).
    EmailChange(i64),
}

/// One SQL text per table: the table name cannot be a bound parameter.
macro_rules! per_table {
    (@ $table:literal, $hash:literal, "link") => {
        concat!("UPDATE ", $table, " SET mail_id = $2 WHERE id = $1")
    };
    (@ $table:literal, $hash:literal, "mail_of") => {
        concat!("SELECT mail_id FROM ", $table, " WHERE id = $1")
    };
    (@ $table:literal, $hash:literal, "live_by_mail") => {
        concat!(
            "SELECT id, expires_at FROM ", $table,
            " WHERE mail_id = $1 AND used_at IS NULL AND voided_at IS NULL AND expires_at > $2"
        )
    };
    (@ $table:literal, $hash:literal, "rotate") => {
        concat!(
            "UPDATE ", $table, " SET ", $hash, " = $3, mail_id = $4 WHERE id = $1 AND mail_id = $2 ",
            "AND used_at IS NULL AND voided_at IS NULL AND expires_at > $5 RETURNING id"
        )
    };
    ($waiter:expr, $sql:tt) => {
        match $waiter {
            Waiter::AuthKey(id) => (id, per_table!(@ "auth_keys", "key_hash", $sql)),
            Waiter::Challenge(id) => (id, per_table!(@ "login_challenges", "otp_hash", $sql)),
            Waiter::Recovery(id) => (id, per_table!(@ "recovery_requests", "key_hash", $sql)),
            Waiter::EmailChange(id) => (id, per_table!(@ "email_changes", "key_hash", $sql)),
        }
    };
}

/// Records that `mail_id` carries the waiter's secret.
pub async fn link<'e>(ex: impl Executor<'e, Database = Any>, waiter: Waiter, mail_id: i64) -> Result<()> {
    let (id, sql) = per_table!(waiter, "link");
    sqlx::query(sql).bind(id).bind(mail_id).execute(ex).await?;
    Ok(())
}

/// The mail that carries the waiter's secret, if one was written.
pub async fn mail_of<'e>(ex: impl Executor<'e, Database = Any>, waiter: Waiter) -> Result<Option<i64>> {
    let (id, sql) = per_table!(waiter, "mail_of");
    let row: Option<Option<i64>> = sqlx::query_scalar(sql).bind(id).fetch_optional(ex).await?;
    Ok(row.flatten())
}

/// The still-valid secret whose current mail is `mail_id`, with its expiry (ms). `kind` says
/// which table: the waiter's id in the answer is the secret's row.
pub async fn live_by_mail<'e>(
    ex: impl Executor<'e, Database = Any>,
    kind: fn(i64) -> Waiter,
    mail_id: i64,
    now_ms: i64,
) -> Result<Option<(Waiter, i64)>> {
    let (_, sql) = per_table!(kind(0), "live_by_mail");
    let row: Option<(i64, i64)> = sqlx::query_as(sql).bind(mail_id).bind(now_ms).fetch_optional(ex).await?;
    Ok(row.map(|(id, expires_at)| (kind(id), expires_at)))
}

/// Gives the still-valid secret a new hash and a new mail, only while `old_mail_id` is its mail:
/// of two parallel resends one wins. Its expiry and wrong entries stay: a resend buys no time
/// and no guesses. Returns whether it did.
pub async fn rotate<'e>(
    ex: impl Executor<'e, Database = Any>,
    waiter: Waiter,
    old_mail_id: i64,
    new_hash: &str,
    new_mail_id: i64,
    now_ms: i64,
) -> Result<bool> {
    let (id, sql) = per_table!(waiter, "rotate");
    let row: Option<i64> = sqlx::query_scalar(sql)
        .bind(id)
        .bind(old_mail_id)
        .bind(new_hash)
        .bind(new_mail_id)
        .bind(now_ms)
        .fetch_optional(ex)
        .await?;
    Ok(row.is_some())
}
