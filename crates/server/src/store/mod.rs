//! The store: every SQL statement of the service, one function per query, grouped by table.
//!
//! One set of SQL runs on SQLite and PostgreSQL through `sqlx::Any` (the portable-SQL contract in
//! `docs/decisions.md`): `$N` placeholders, INTEGER/TEXT columns, instants as integer milliseconds,
//! no database clock. Where the dialects differ (how a write transaction begins), the difference
//! lives here and nowhere else.

/// The guarded statements of every single-use secret (account creation codes, auth keys,
/// one-time passwords, email-change codes). An entry is *reserved* before it is compared: the
/// reservation counts it as wrong, and is refused once `max` entries are counted or the secret is
/// no longer active, so a burst of parallel entries gets no more comparisons than a sequence. A
/// right entry gives its reservation back; the entry that reaches `max` and is wrong voids the
/// secret. Each is one statement whose WHERE re-checks the secret's state, exact on any node.
macro_rules! single_use_statements {
    ($table:literal, $enter:ident, $reserve:ident, $unreserve:ident, $void:ident, $consume:ident) => {
        /// Counts one entry before it is compared. Returns its number (1 for the first), or
        /// `None` when the secret is void, used, expired or has `max` entries counted.
        pub async fn $reserve<'e>(
            ex: impl sqlx::Executor<'e, Database = sqlx::Any>,
            id: i64,
            now_ms: i64,
            max: i64,
        ) -> $crate::store::Result<Option<i64>> {
            Ok(sqlx::query_scalar(concat!(
                "UPDATE ",
                $table,
                " SET failed_attempts = failed_attempts + 1 \
                 WHERE id = $1 AND voided_at IS NULL AND used_at IS NULL AND expires_at > $2 \
                 AND failed_attempts < $3 RETURNING failed_attempts"
            ))
            .bind(id)
            .bind(now_ms)
            .bind(max)
            .fetch_optional(ex)
            .await?)
        }

        /// Gives back the reservation of an entry that was right: only wrong entries count.
        pub async fn $unreserve<'e>(
            ex: impl sqlx::Executor<'e, Database = sqlx::Any>,
            id: i64,
        ) -> $crate::store::Result<()> {
            sqlx::query(concat!(
                "UPDATE ",
                $table,
                " SET failed_attempts = failed_attempts - 1 WHERE id = $1 AND failed_attempts > 0"
            ))
            .bind(id)
            .execute(ex)
            .await?;
            Ok(())
        }

        /// Voids the secret if it is still neither void nor used; true when this call voided it.
        pub async fn $void<'e>(
            ex: impl sqlx::Executor<'e, Database = sqlx::Any>,
            id: i64,
            now_ms: i64,
        ) -> $crate::store::Result<bool> {
            Ok(sqlx::query(concat!(
                "UPDATE ",
                $table,
                " SET voided_at = $2 WHERE id = $1 AND voided_at IS NULL AND used_at IS NULL"
            ))
            .bind(id)
            .bind(now_ms)
            .execute(ex)
            .await?
            .rows_affected()
                == 1)
        }

        /// One entry: reserved, then compared by `right`, then given back (right), counted
        /// (wrong), or counted and the secret voided (the `max`-th wrong entry).
        pub async fn $enter(
            pool: &sqlx::AnyPool,
            id: i64,
            now_ms: i64,
            max: i64,
            right: impl FnOnce() -> bool,
        ) -> $crate::store::Result<$crate::store::Entry> {
            let Some(n) = $reserve(pool, id, now_ms, max).await? else {
                return Ok($crate::store::Entry::Inactive);
            };
            if right() {
                $unreserve(pool, id).await?;
                return Ok($crate::store::Entry::Right);
            }
            if n >= max {
                $void(pool, id, now_ms).await?;
                return Ok($crate::store::Entry::VoidedNow);
            }
            Ok($crate::store::Entry::Wrong { remaining: max - n })
        }

        /// Marks the secret used if it is still active; false when not (or another request won).
        pub async fn $consume<'e>(
            ex: impl sqlx::Executor<'e, Database = sqlx::Any>,
            id: i64,
            now_ms: i64,
        ) -> $crate::store::Result<bool> {
            Ok(sqlx::query(concat!(
                "UPDATE ",
                $table,
                " SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND voided_at IS NULL AND expires_at > $2"
            ))
            .bind(id)
            .bind(now_ms)
            .execute(ex)
            .await?
            .rows_affected()
                == 1)
        }
    };
}

/// What one entry of a single-use secret came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    Right,
    Wrong {
        remaining: i64,
    },
    /// This wrong entry was the last allowed: the secret is now void.
    VoidedNow,
    /// Not compared: the secret is void, used, expired, or its entries are all taken.
    Inactive,
}

pub mod accounts;
pub mod attempts;
pub mod audit;
pub mod auth_keys;
pub mod codes;
pub mod documents;
pub mod job_seekers;
pub mod login;
pub mod offices;
pub mod outbox;
pub mod recovery_requests;
pub mod sessions;
pub mod settings;
pub mod staff;

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Transaction};

use crate::config::DatabaseUrl;

/// Which SQL dialect is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether the error is a UNIQUE constraint refusing a duplicate.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            Self::Database(e) => e.as_database_error().is_some_and(|d| d.is_unique_violation()),
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The database pool. Cloning shares it.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

static MIGRATOR_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static MIGRATOR_POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Connects (creating a SQLite file and its folder when missing). Does not migrate.
    pub async fn connect(url: &DatabaseUrl) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let (backend, url, max) = if url.is_sqlite() {
            (Backend::Sqlite, sqlite_url(url.expose())?, 4)
        } else {
            (Backend::Postgres, url.expose().to_owned(), 16)
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the one writer; busy_timeout makes writers
                        // queue instead of failing; foreign keys are off by default in SQLite.
                        sqlx::raw_sql(
                            "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=10000; \
                             PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;",
                        )
                        .execute(conn)
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Self { pool, backend })
    }

    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => MIGRATOR_SQLITE.run(&self.pool).await?,
            Backend::Postgres => MIGRATOR_POSTGRES.run(&self.pool).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`) so two writers queue on busy_timeout instead of deadlocking when both
    /// try to upgrade a read lock.
    pub async fn begin_write(&self) -> Result<Transaction<'static, Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Adds `mode=rwc` so a missing SQLite file is created, and creates its folder.
fn sqlite_url(url: &str) -> Result<String> {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let file = path.split('?').next().unwrap_or_default();
    let parent = std::path::Path::new(file).parent().filter(|p| !p.as_os_str().is_empty());
    if !file.starts_with("file:")
        && file != ":memory:"
        && let Some(parent) = parent
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| StoreError::Corrupt(format!("cannot create {}: {e}", parent.display())))?;
    }
    Ok(if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

/// Milliseconds since the Unix epoch, the unit of every `…_at` column.
pub fn ms(ts: jiff::Timestamp) -> i64 {
    ts.as_millisecond()
}

/// The instant stored as milliseconds.
pub fn ts(ms: i64) -> Result<jiff::Timestamp> {
    jiff::Timestamp::from_millisecond(ms).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_backends_have_the_same_migrations() {
        let names =
            |m: &sqlx::migrate::Migrator| m.iter().map(|m| (m.version, m.description.to_string())).collect::<Vec<_>>();
        assert_eq!(names(&super::MIGRATOR_SQLITE), names(&super::MIGRATOR_POSTGRES));
        assert!(super::MIGRATOR_SQLITE.iter().count() >= 3);
    }
}
