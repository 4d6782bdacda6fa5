//! `job_seekers`: people registered at the counter, keyed by their 求職番号.

use sqlx::{Any, Executor, FromRow};

use super::Result;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct JobSeekerRow {
    pub id: i64,
    pub number: String,
    pub name: String,
    pub name_kana: String,
    pub birth_date: String,
    pub office_id: i64,
    pub email: Option<String>,
    pub email_registered_on: Option<String>,
    pub registered_on: Option<String>,
    pub valid_until: Option<String>,
}

/// The registration data of one job seeker, as the counter enters or imports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJobSeeker {
    pub number: String,
    pub name: String,
    pub name_kana: String,
    pub birth_date: String,
    pub office_id: i64,
    pub email: Option<String>,
    pub email_registered_on: Option<String>,
    /// Registration date and validity of the job-seeking registration; `None` keeps what is stored.
    pub registered_on: Option<String>,
    pub valid_until: Option<String>,
}

macro_rules! columns {
    () => {
        "id, number, name, name_kana, birth_date, office_id, email, email_registered_on, registered_on, valid_until"
    };
}

pub async fn find_by_number<'e>(ex: impl Executor<'e, Database = Any>, number: &str) -> Result<Option<JobSeekerRow>> {
    Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM job_seekers WHERE number = $1"))
        .bind(number)
        .fetch_optional(ex)
        .await?)
}

pub async fn find<'e>(ex: impl Executor<'e, Database = Any>, id: i64) -> Result<Option<JobSeekerRow>> {
    Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM job_seekers WHERE id = $1"))
        .bind(id)
        .fetch_optional(ex)
        .await?)
}

pub async fn insert<'e>(ex: impl Executor<'e, Database = Any>, new: &NewJobSeeker, now_ms: i64) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO job_seekers (number, name, name_kana, birth_date, office_id, email, email_registered_on, \
         created_at, updated_at, registered_on, valid_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10) \
         RETURNING id",
    )
    .bind(&new.number)
    .bind(&new.name)
    .bind(&new.name_kana)
    .bind(&new.birth_date)
    .bind(new.office_id)
    .bind(new.email.as_deref())
    .bind(new.email_registered_on.as_deref())
    .bind(now_ms)
    .bind(new.registered_on.as_deref())
    .bind(new.valid_until.as_deref())
    .fetch_one(ex)
    .await?;
    Ok(id)
}

pub async fn update<'e>(ex: impl Executor<'e, Database = Any>, id: i64, new: &NewJobSeeker, now_ms: i64) -> Result<()> {
    sqlx::query(
        "UPDATE job_seekers SET name = $2, name_kana = $3, birth_date = $4, office_id = $5, email = $6, \
         email_registered_on = $7, updated_at = $8, registered_on = COALESCE($9, registered_on), \
         valid_until = COALESCE($10, valid_until) WHERE id = $1",
    )
    .bind(id)
    .bind(&new.name)
    .bind(&new.name_kana)
    .bind(&new.birth_date)
    .bind(new.office_id)
    .bind(new.email.as_deref())
    .bind(new.email_registered_on.as_deref())
    .bind(now_ms)
    .bind(new.registered_on.as_deref())
    .bind(new.valid_until.as_deref())
    .execute(ex)
    .await?;
    Ok(())
}

/// Job seekers matching a 求職番号, kana or email (at most 50), within `office_id` when given.
pub async fn search<'e>(
    ex: impl Executor<'e, Database = Any>,
    number: Option<&str>,
    kana: Option<&str>,
    email: Option<&str>,
    office_id: Option<i64>,
) -> Result<Vec<JobSeekerRow>> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM job_seekers WHERE ($1 IS NULL OR number = $1) AND ($2 IS NULL OR name_kana LIKE $2) \
         AND ($3 IS NULL OR email = $3 OR id IN (SELECT job_seeker_id FROM accounts WHERE email = $3)) \
         AND ($4 IS NULL OR office_id = $4) ORDER BY name_kana, number LIMIT 50"
    ))
    .bind(number)
    .bind(kana.map(|k| format!("%{}%", k.replace(['%', '_'], ""))))
    .bind(email)
    .bind(office_id)
    .fetch_all(ex)
    .await?)
}

pub async fn set_email<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: i64,
    email: Option<&str>,
    registered_on: Option<&str>,
    now_ms: i64,
) -> Result<()> {
    sqlx::query("UPDATE job_seekers SET email = $2, email_registered_on = $3, updated_at = $4 WHERE id = $1")
        .bind(id)
        .bind(email)
        .bind(registered_on)
        .bind(now_ms)
        .execute(ex)
        .await?;
    Ok(())
}
