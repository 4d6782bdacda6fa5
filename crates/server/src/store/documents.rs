//! `policy_documents`: versioned privacy policy and terms of use. The first versions ship with
//! the product and are inserted on first start.

use sqlx::{Any, Executor, FromRow};

use super::Result;

#[derive(Debug, Clone, FromRow)]
pub struct DocumentRow {
    pub kind: String,
    pub version: i64,
    pub title: String,
    pub body: String,
}

/// The current (highest) version of one kind of document.
pub async fn current<'e>(ex: impl Executor<'e, Database = Any>, kind: &str) -> Result<Option<DocumentRow>> {
    Ok(sqlx::query_as(
        "SELECT kind, version, title, body FROM policy_documents WHERE kind = $1 ORDER BY version DESC LIMIT 1",
    )
    .bind(kind)
    .fetch_optional(ex)
    .await?)
}

/// Inserts version 1 of a document unless some version exists.
pub async fn insert_first<'e>(
    ex: impl Executor<'e, Database = Any>,
    kind: &str,
    title: &str,
    body: &str,
    now_ms: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO policy_documents (kind, version, title, body, published_at) \
         SELECT $1, 1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM policy_documents WHERE kind = $1) \
         ON CONFLICT (kind, version) DO NOTHING",
    )
    .bind(kind)
    .bind(title)
    .bind(body)
    .bind(now_ms)
    .execute(ex)
    .await?;
    Ok(())
}

/// Publishes the next version of a document. Two admins publishing at once: one of them gets a
/// unique violation (the version is the primary key) and nothing is written twice.
pub async fn publish<'e>(
    ex: impl Executor<'e, Database = Any>,
    kind: &str,
    title: &str,
    body: &str,
    now_ms: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO policy_documents (kind, version, title, body, published_at) \
         SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4 FROM policy_documents WHERE kind = $1 \
         RETURNING version",
    )
    .bind(kind)
    .bind(title)
    .bind(body)
    .bind(now_ms)
    .fetch_one(ex)
    .await?)
}
