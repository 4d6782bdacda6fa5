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

/// The apply step's lookup of a 求職番号 (`$1`).
pub const FIND_BY_NUMBER: &str = concat!("SELECT ", columns!(), " FROM job_seekers WHERE number = $1");
pub const FIND: &str = concat!("SELECT ", columns!(), " FROM job_seekers WHERE id = $1");

pub async fn find_by_number<'e>(ex: impl Executor<'e, Database = Any>, number: &str) -> Result<Option<JobSeekerRow>> {
    Ok(sqlx::query_as(FIND_BY_NUMBER).bind(number).fetch_optional(ex).await?)
}

pub async fn find<'e>(ex: impl Executor<'e, Database = Any>, id: i64) -> Result<Option<JobSeekerRow>> {
    Ok(sqlx::query_as(FIND).bind(id).fetch_optional(ex).await?)
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

/// What the counter searches by: exactly one of these, each answered by an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search<'a> {
    /// A canonical 求職番号.
    Number(&'a str),
    /// The start of the kana name (family name first).
    KanaPrefix(&'a str),
    /// The registered email or the account's login ID.
    Email(&'a str),
}

/// The search statements (at most 50 results, ordered by kana then 求職番号), one per kind of
/// search and scope (all offices, or the office as the last parameter).
/// Each has its own SQL so that every one is planned as an index scan; the `EXPLAIN` test runs
/// these same strings.
pub mod search_sql {
    pub const NUMBER: &str = concat!("SELECT ", columns!(), " FROM job_seekers WHERE number = $1");
    pub const NUMBER_IN_OFFICE: &str =
        concat!("SELECT ", columns!(), " FROM job_seekers WHERE number = $1 AND office_id = $2");
    /// `$1` the prefix, `$2` its [`super::prefix_end`]: the range of every text starting with it.
    pub const KANA: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM job_seekers WHERE name_kana >= $1 AND name_kana < $2 ORDER BY name_kana, number LIMIT 50"
    );
    pub const KANA_IN_OFFICE: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM job_seekers WHERE office_id = $3 AND name_kana >= $1 AND name_kana < $2 \
         ORDER BY name_kana, number LIMIT 50"
    );
    /// The registered email, or the login ID of the job seeker's account (unique, so at most one).
    pub const EMAIL: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM job_seekers WHERE email = $1 UNION SELECT ",
        columns!(),
        " FROM job_seekers WHERE id = (SELECT job_seeker_id FROM accounts WHERE email = $1) \
         ORDER BY name_kana, number LIMIT 50"
    );
    pub const EMAIL_IN_OFFICE: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM job_seekers WHERE email = $1 AND office_id = $2 UNION SELECT ",
        columns!(),
        " FROM job_seekers WHERE id = (SELECT job_seeker_id FROM accounts WHERE email = $1) AND office_id = $2 \
         ORDER BY name_kana, number LIMIT 50"
    );
}

impl Search<'_> {
    /// The statement for this search within `office_id` (or all offices).
    pub fn sql(&self, office_id: Option<i64>) -> &'static str {
        use search_sql::*;
        match (self, office_id.is_some()) {
            (Self::Number(_), false) => NUMBER,
            (Self::Number(_), true) => NUMBER_IN_OFFICE,
            (Self::KanaPrefix(_), false) => KANA,
            (Self::KanaPrefix(_), true) => KANA_IN_OFFICE,
            (Self::Email(_), false) => EMAIL,
            (Self::Email(_), true) => EMAIL_IN_OFFICE,
        }
    }

    /// The typed text, the first parameter of every search statement.
    pub fn text(&self) -> &str {
        match self {
            Self::Number(t) | Self::KanaPrefix(t) | Self::Email(t) => t,
        }
    }
}

/// The end of the range of texts starting with `prefix`: every such text sorts below it by code
/// point (SQLite's BINARY, PostgreSQL's "C" collation of `name_kana`).
pub fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// Job seekers matching the search (at most [`SEARCH_LIMIT`]), within `office_id` when given.
pub async fn search<'e>(
    ex: impl Executor<'e, Database = Any>,
    search: Search<'_>,
    office_id: Option<i64>,
) -> Result<Vec<JobSeekerRow>> {
    let mut query = sqlx::query_as(search.sql(office_id)).bind(search.text());
    if let Search::KanaPrefix(prefix) = search {
        query = query.bind(prefix_end(prefix));
    }
    if let Some(office_id) = office_id {
        query = query.bind(office_id);
    }
    Ok(query.fetch_all(ex).await?)
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
