//! The store: every SQL statement of the service, one function per query, grouped by table.
//!
//! One set of SQL runs on SQLite and PostgreSQL through `sqlx::Any` (the portable-SQL contract in
//! `docs/decisions.md`): `$N` placeholders, INTEGER/TEXT columns, instants as integer milliseconds,
//! no database clock. Where the dialects differ (how a write transaction begins), the difference
//! lives here and nowhere else.

/// The two guarded statements of every single-use secret (auth keys, one-time passwords,
/// email-change codes): count a wrong entry, voiding at `max`; and consume. Each is one
/// statement whose WHERE re-checks that the secret is still active, so both stay exact under
/// concurrent requests on any number of nodes.
macro_rules! single_use_statements {
    ($table:literal, $record_failure:ident, $consume:ident) => {
        /// Counts a wrong entry, voiding at `max`. Returns (failures, voided_at), or `None` when
        /// the secret was no longer active (void, used or expired): nothing was counted.
        pub async fn $record_failure<'e>(
            ex: impl sqlx::Executor<'e, Database = sqlx::Any>,
            id: i64,
            now_ms: i64,
            max: i64,
        ) -> $crate::store::Result<Option<(i64, Option<i64>)>> {
            Ok(sqlx::query_as(concat!(
                "UPDATE ",
                $table,
                " SET failed_attempts = failed_attempts + 1, \
                 voided_at = CASE WHEN failed_attempts + 1 >= $3 THEN $2 ELSE voided_at END \
                 WHERE id = $1 AND voided_at IS NULL AND used_at IS NULL AND expires_at > $2 \
                 RETURNING failed_attempts, voided_at"
            ))
            .bind(id)
            .bind(now_ms)
            .bind(max)
            .fetch_optional(ex)
            .await?)
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
pub mod server_facts;
pub mod sessions;
pub mod settings;
pub mod staff;

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyConnection, AnyPool, Transaction};

use crate::config::DatabaseUrl;
use crate::seal::Sealer;

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
    #[error(transparent)]
    Randomness(#[from] crate::tokens::RandomnessUnavailable),
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
    /// Seals outbox bodies; every write transaction carries it (see [`WriteTx`]).
    outbox_sealer: Option<Sealer>,
}

/// A write transaction. It dereferences to its connection for every store function, and carries
/// the outbox sealer, so that mail written in it (`mail::enqueue`) is always sealed and no flow
/// has to hand the key along.
pub struct WriteTx {
    tx: Transaction<'static, Any>,
    outbox_sealer: Option<Sealer>,
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }

    /// The sealer for outbox bodies; `None` only on a store opened without one (`migrate`).
    pub fn outbox_sealer(&self) -> Option<&Sealer> {
        self.outbox_sealer.as_ref()
    }
}

impl std::ops::Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
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
        Ok(Self { pool, backend, outbox_sealer: None })
    }

    /// The store with the sealer for outbox bodies; mail can only be written through one.
    pub fn with_outbox_sealer(mut self, sealer: Sealer) -> Self {
        self.outbox_sealer = Some(sealer);
        self
    }

    pub fn outbox_sealer(&self) -> Option<&Sealer> {
        self.outbox_sealer.as_ref()
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
    pub async fn begin_write(&self) -> Result<WriteTx> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(WriteTx { tx, outbox_sealer: self.outbox_sealer.clone() })
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Adds `mode=rwc` so a missing SQLite file is created, and creates it and its folder privately
/// (0600 in a 0700 folder; SQLite gives `-wal` and `-shm` the database file's mode).
fn sqlite_url(url: &str) -> Result<String> {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let file = path.split('?').next().unwrap_or_default();
    if !file.starts_with("file:") && file != ":memory:" && !file.is_empty() {
        let file = std::path::Path::new(file);
        if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::private_fs::create_dir(parent)
                .map_err(|e| StoreError::Corrupt(format!("cannot create {}: {e}", parent.display())))?;
        }
        crate::private_fs::prepare_sqlite_file(file)
            .map_err(|e| StoreError::Corrupt(format!("cannot create {}: {e}", file.display())))?;
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
