//! `offices`: the public employment offices (安定所).

use sqlx::{Any, Executor, FromRow};

use super::Result;

#[derive(Debug, Clone, FromRow)]
pub struct OfficeRow {
    pub id: i64,
    pub number: String,
    pub name: String,
    pub slip_notice: Option<String>,
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
    Ok(sqlx::query_as("SELECT id, number, name, slip_notice FROM offices WHERE number = $1")
        .bind(number)
        .fetch_optional(ex)
        .await?)
}

pub async fn find<'e>(ex: impl Executor<'e, Database = Any>, id: i64) -> Result<Option<OfficeRow>> {
    Ok(sqlx::query_as("SELECT id, number, name, slip_notice FROM offices WHERE id = $1")
        .bind(id)
        .fetch_optional(ex)
        .await?)
}

pub async fn list<'e>(ex: impl Executor<'e, Database = Any>) -> Result<Vec<OfficeRow>> {
    Ok(sqlx::query_as("SELECT id, number, name, slip_notice FROM offices ORDER BY number").fetch_all(ex).await?)
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
