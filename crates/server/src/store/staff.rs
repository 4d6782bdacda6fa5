//! `staff`: counter staff and admins. A password attempt is reserved (counted) before the hash is
//! checked and a login decided by a guarded update, so a burst can neither outrun the lock nor
//! log in past it; the last accepted TOTP step is advanced the same way, so a code works once.
//! TOTP secrets are sealed here for the row's login ID and read back bound to it (see `totp`).

use sqlx::{Any, AnyConnection, Executor, FromRow};

use super::Result;
use crate::totp::{SealedTotp, Sealing};

#[derive(Debug, Clone)]
pub struct StaffRow {
    pub id: i64,
    pub login_id: String,
    pub name: String,
    pub role: String,
    pub office_id: i64,
    pub password_hash: String,
    pub must_change_password: i64,
    pub totp_secret: SealedTotp,
    pub totp_confirmed_at: Option<i64>,
    pub totp_last_step: i64,
    pub locked_until: Option<i64>,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
    /// The member's office requires passkeys (an admin's setting of the office).
    pub passkeys_required: bool,
}

/// A row as stored; its TOTP secret gets its login ID attached on the way out.
#[derive(FromRow)]
struct Stored {
    id: i64,
    login_id: String,
    name: String,
    role: String,
    office_id: i64,
    password_hash: String,
    must_change_password: i64,
    totp_secret: String,
    totp_confirmed_at: Option<i64>,
    totp_last_step: i64,
    locked_until: Option<i64>,
    disabled_at: Option<i64>,
    created_at: i64,
    passkeys_required: i64,
}

impl From<Stored> for StaffRow {
    fn from(r: Stored) -> Self {
        let totp_secret = SealedTotp { text: r.totp_secret, login_id: r.login_id.clone() };
        Self {
            id: r.id,
            login_id: r.login_id,
            name: r.name,
            role: r.role,
            office_id: r.office_id,
            password_hash: r.password_hash,
            must_change_password: r.must_change_password,
            totp_secret,
            totp_confirmed_at: r.totp_confirmed_at,
            totp_last_step: r.totp_last_step,
            locked_until: r.locked_until,
            disabled_at: r.disabled_at,
            created_at: r.created_at,
            passkeys_required: r.passkeys_required == 1,
        }
    }
}

macro_rules! columns {
    () => {
        "id, login_id, name, role, office_id, password_hash, must_change_password, totp_secret, \
         totp_confirmed_at, totp_last_step, locked_until, disabled_at, created_at, \
         (SELECT o.staff_passkeys_required FROM offices o WHERE o.id = staff.office_id) AS passkeys_required"
    };
}

#[derive(Debug)]
pub struct NewStaff<'a> {
    pub login_id: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub office_id: i64,
    pub password_hash: &'a str,
    pub totp_secret: &'a Sealing,
}

pub async fn insert<'e>(ex: impl Executor<'e, Database = Any>, new: &NewStaff<'_>, now_ms: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO staff (login_id, name, role, office_id, password_hash, must_change_password, totp_secret, \
         created_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $7) RETURNING id",
    )
    .bind(new.login_id)
    .bind(new.name)
    .bind(new.role)
    .bind(new.office_id)
    .bind(new.password_hash)
    .bind(new.totp_secret.for_login(new.login_id)?)
    .bind(now_ms)
    .fetch_one(ex)
    .await?)
}

pub async fn find_by_login<'e>(ex: impl Executor<'e, Database = Any>, login_id: &str) -> Result<Option<StaffRow>> {
    let row: Option<Stored> = sqlx::query_as(concat!("SELECT ", columns!(), " FROM staff WHERE login_id = $1"))
        .bind(login_id)
        .fetch_optional(ex)
        .await?;
    Ok(row.map(StaffRow::from))
}

pub async fn find<'e>(ex: impl Executor<'e, Database = Any>, id: i64) -> Result<Option<StaffRow>> {
    let row: Option<Stored> =
        sqlx::query_as(concat!("SELECT ", columns!(), " FROM staff WHERE id = $1")).bind(id).fetch_optional(ex).await?;
    Ok(row.map(StaffRow::from))
}

pub async fn list<'e>(ex: impl Executor<'e, Database = Any>) -> Result<Vec<StaffRow>> {
    let rows: Vec<Stored> = sqlx::query_as(concat!("SELECT ", columns!(), " FROM staff ORDER BY office_id, login_id"))
        .fetch_all(ex)
        .await?;
    Ok(rows.into_iter().map(StaffRow::from).collect())
}

/// Reserves one password attempt before the password is checked, counting it as a failure
/// until [`accept_login`] says otherwise. One guarded statement, so a burst on any number of
/// nodes counts exactly as the same attempts one at a time: while a lock holds (or the member is
/// disabled) nothing is counted and `None` comes back; after a lock has run out the count starts
/// over at 1. The reservation whose count reaches `threshold` sets the lock itself, until
/// `lock_until_ms`. Every right-hand side sees the old row, on SQLite and PostgreSQL alike.
pub async fn reserve_attempt<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: i64,
    now_ms: i64,
    lock_until_ms: i64,
    threshold: i64,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "UPDATE staff SET \
         failed_logins = CASE WHEN locked_until IS NULL THEN failed_logins + 1 ELSE 1 END, \
         locked_until = CASE WHEN (CASE WHEN locked_until IS NULL THEN failed_logins + 1 ELSE 1 END) >= $4 \
         THEN $3 ELSE NULL END \
         WHERE id = $1 AND disabled_at IS NULL AND (locked_until IS NULL OR locked_until <= $2) \
         RETURNING failed_logins",
    )
    .bind(id)
    .bind(now_ms)
    .bind(lock_until_ms)
    .bind(threshold)
    .fetch_optional(ex)
    .await?)
}

/// Decides a login whose password (and TOTP code, `step`) was right: clears the failure count
/// and the caller's own provisional lock. False when the member was locked meanwhile by another
/// request's failure (a lock the caller did not set and that still holds at `now_ms`), was
/// disabled, or when `step` is not newer than every step used before (a replay): then the login
/// is refused.
///
/// `own_lock_ms` is the lock the caller's reservation set, if its count reached `threshold`: no
/// other reservation can touch the row while that lock holds, so (`locked_until`, count) still
/// being exactly what the caller wrote means the lock is the caller's.
pub async fn accept_login<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: i64,
    step: Option<i64>,
    own_lock_ms: Option<i64>,
    threshold: i64,
    now_ms: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE staff SET failed_logins = 0, locked_until = NULL, totp_last_step = COALESCE($2, totp_last_step) \
         WHERE id = $1 AND disabled_at IS NULL AND ($2 IS NULL OR totp_last_step < $2) \
         AND (locked_until IS NULL OR locked_until <= $5 OR (locked_until = $3 AND failed_logins = $4))",
    )
    .bind(id)
    .bind(step)
    .bind(own_lock_ms)
    .bind(threshold)
    .bind(now_ms)
    .execute(ex)
    .await?
    .rows_affected()
        == 1)
}

/// Lifts a lock and clears the failure count (admin or CLI). False for an unknown id.
pub async fn unlock<'e>(ex: impl Executor<'e, Database = Any>, id: i64) -> Result<bool> {
    Ok(sqlx::query("UPDATE staff SET locked_until = NULL, failed_logins = 0 WHERE id = $1")
        .bind(id)
        .execute(ex)
        .await?
        .rows_affected()
        == 1)
}

/// Accepts TOTP step `step` if it is newer than every step used before; false on a replay
/// (including a concurrent one). Also clears the failure count and confirms enrolment.
pub async fn accept_step<'e>(ex: impl Executor<'e, Database = Any>, id: i64, step: i64, now_ms: i64) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE staff SET totp_last_step = $2, failed_logins = 0, \
         totp_confirmed_at = COALESCE(totp_confirmed_at, $3) WHERE id = $1 AND totp_last_step < $2",
    )
    .bind(id)
    .bind(step)
    .bind(now_ms)
    .execute(ex)
    .await?
    .rows_affected()
        == 1)
}

pub async fn set_password<'e>(ex: impl Executor<'e, Database = Any>, id: i64, hash: &str) -> Result<()> {
    sqlx::query("UPDATE staff SET password_hash = $2, must_change_password = 0 WHERE id = $1")
        .bind(id)
        .bind(hash)
        .execute(ex)
        .await?;
    Ok(())
}

/// A fresh one-time password and TOTP secret: the staff member enrols again at next login.
pub async fn reset(
    mut conn: impl std::ops::DerefMut<Target = AnyConnection> + Send,
    id: i64,
    hash: &str,
    totp_secret: &Sealing,
) -> Result<()> {
    // The secret is sealed for the row's login ID, so read that first (login IDs never change).
    let login_id: Option<String> =
        sqlx::query_scalar("SELECT login_id FROM staff WHERE id = $1").bind(id).fetch_optional(&mut *conn).await?;
    let Some(login_id) = login_id else { return Ok(()) };
    sqlx::query(
        "UPDATE staff SET password_hash = $2, must_change_password = 1, totp_secret = $3, totp_confirmed_at = NULL, \
         totp_last_step = 0, failed_logins = 0, locked_until = NULL WHERE id = $1",
    )
    .bind(id)
    .bind(hash)
    .bind(totp_secret.for_login(&login_id)?)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn set_disabled<'e>(ex: impl Executor<'e, Database = Any>, id: i64, at: Option<i64>) -> Result<()> {
    sqlx::query("UPDATE staff SET disabled_at = $2 WHERE id = $1").bind(id).bind(at).execute(ex).await?;
    Ok(())
}
