//! `offices`: the public employment offices (安定所).

use sqlx::{Any, Executor, FromRow};

use super::Result;

#[derive(Debug, Clone, FromRow)]
pub struct OfficeRow {
    pub id: i64,
    pub number: String,
    pub name: String,
    pub slip_notice: Option<String>,
    /// 1 when the office's staff must log in with a passkey.
    pub staff_passkeys_required: i64,
}

/// Adds an office; a duplicate number is a unique violation.
pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    number: &str,
    name: &str,
    slip_notice: Option<&str>,
    now_ms: i64,
) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO offices (number, name, slip_notice, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(number)
    .bind(name)
    .bind(slip_notice)
    .bind(now_ms)
    .fetch_one(ex)
    .await?;
    Ok(id)
}

pub async fn find_by_number<'e>(ex: impl Executor<'e, Database = Any>, number: &str) -> Result<Option<OfficeRow>> {
    Ok(sqlx::query_as("SELECT id, number, name, slip_notice, staff_passkeys_required FROM offices WHERE number = $1")
        .bind(number)
        .fetch_optional(ex)
        .await?)
}

pub async fn find<'e>(ex: impl Executor<'e, Database = Any>, id: i64) -> Result<Option<OfficeRow>> {
    Ok(sqlx::query_as("SELECT id, number, name, slip_notice, staff_passkeys_required FROM offices WHERE id = $1")
        .bind(id)
        .fetch_optional(ex)
        .await?)
}

pub async fn list<'e>(ex: impl Executor<'e, Database = Any>) -> Result<Vec<OfficeRow>> {
    Ok(sqlx::query_as("SELECT id, number, name, slip_notice, staff_passkeys_required FROM offices ORDER BY number")
        .fetch_all(ex)
        .await?)
}

pub async fn update<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: i64,
    name: &str,
    notice: Option<&str>,
) -> Result<()> {
    sqlx::query("UPDATE offices SET name = $2, slip_notice = $3 WHERE id = $1")
        .bind(id)
        .bind(name)
        .bind(notice)
        .execute(ex)
        .await?;
    Ok(())
}

/// Sets whether the office's staff must log in with a passkey; true when that changed it.
pub async fn set_passkeys_required<'e>(ex: impl Executor<'e, Database = Any>, id: i64, required: bool) -> Result<bool> {
    Ok(sqlx::query("UPDATE offices SET staff_passkeys_required = $2 WHERE id = $1 AND staff_passkeys_required <> $2")
        .bind(id)
        .bind(i64::from(required))
        .execute(ex)
        .await?
        .rows_affected()
        == 1)
}

/// For each office with any, how many of its active staff members have no passkey yet.
pub async fn staff_without_passkey<'e>(ex: impl Executor<'e, Database = Any>) -> Result<Vec<(i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT s.office_id, COUNT(*) FROM staff s WHERE s.disabled_at IS NULL \
         AND NOT EXISTS (SELECT 1 FROM passkeys p WHERE p.staff_id = s.id) GROUP BY s.office_id",
    )
    .fetch_all(ex)
    .await?)
}
