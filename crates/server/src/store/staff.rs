//! `staff`: counter staff and admins. Password failures lock like job seekers' logins; the last
//! accepted TOTP step is advanced by a guarded update, so a code cannot be used twice. TOTP
//! secrets are sealed here for the row's login ID and read back bound to it (see `totp`).

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
        }
    }
}

macro_rules! columns {
    () => {
        "id, login_id, name, role, office_id, password_hash, must_change_password, totp_secret, \
         totp_confirmed_at, totp_last_step, locked_until, disabled_at, created_at"
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

/// Counts a failed login; every `threshold`-th consecutive failure locks until `lock_until_ms`.
pub async fn record_failure<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: i64,
    lock_until_ms: i64,
    threshold: i64,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "UPDATE staff SET failed_logins = failed_logins + 1, \
         locked_until = CASE WHEN (failed_logins + 1) % $3 = 0 THEN $2 ELSE locked_until END \
         WHERE id = $1 RETURNING failed_logins",
    )
    .bind(id)
    .bind(lock_until_ms)
    .bind(threshold)
    .fetch_optional(ex)
    .await?)
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
