//! `server_facts`: named values the whole deployment shares, written once by whichever node gets
//! there first (`INSERT … ON CONFLICT DO NOTHING`, then read back, so racing nodes agree).

use sqlx::{Any, Executor};

use super::Result;

/// The fingerprint of the server secret the database was first used with.
pub const SECRET_FINGERPRINT: &str = "secret_fingerprint";
/// The first outbox id whose body is sealed (set by migration 0008).
pub const OUTBOX_SEALED_FROM: &str = "outbox_sealed_from";

/// The row the health probe writes (a counter: every probe changes a page, so a full or
/// read-only database fails it).
pub const HEALTH_PROBE: &str = "health_probe";

/// One small write for the health probe (`Store::probe`).
pub async fn touch_probe<'e>(ex: impl Executor<'e, Database = Any>) -> Result<()> {
    sqlx::query(
        "INSERT INTO server_facts (name, value) VALUES ($1, '1') ON CONFLICT (name) \
         DO UPDATE SET value = CAST(CAST(server_facts.value AS BIGINT) + 1 AS TEXT)",
    )
    .bind(HEALTH_PROBE)
    .execute(ex)
    .await?;
    Ok(())
}

/// Records `value` under `name` unless a value is there already; false when one was.
pub async fn insert_if_absent<'e>(ex: impl Executor<'e, Database = Any>, name: &str, value: &str) -> Result<bool> {
    Ok(sqlx::query("INSERT INTO server_facts (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(value)
        .execute(ex)
        .await?
        .rows_affected()
        == 1)
}

pub async fn get<'e>(ex: impl Executor<'e, Database = Any>, name: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT value FROM server_facts WHERE name = $1").bind(name).fetch_optional(ex).await?)
}
