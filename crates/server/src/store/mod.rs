//! The store: every SQL statement of the service, one function per query, grouped by table.
//!
//! One set of SQL runs on SQLite and PostgreSQL through `sqlx::Any` (the portable-SQL contract in
//! `docs/decisions.md`): `$N` placeholders, INTEGER/TEXT columns, instants as integer milliseconds,
//! no database clock. Where the dialects differ (how a write transaction begins), the difference
//! lives here and nowhere else.

/// The guarded statements of every single-use secret (account creation codes, auth keys,
/// one-time passwords, email-change codes). The typed entry is compared first (a keyed hash, no
/// database), and its answer is then decided by one statement whose WHERE re-checks the
/// secret's state, exact on any node: a wrong entry is counted (and the `max`-th voids the
/// secret in the same statement), a right one only reads that the secret is still active with
/// fewer than `max` wrong entries. Every entry is thus decided at one point in the order of the
/// others, so a burst of parallel entries gets what the same entries in some sequence get: at
/// most `max` wrong ones answered, and none after the secret is void. A right entry holds no
/// place while it is decided (when it held one, two wrong entries could void a code after nine).
macro_rules! single_use_statements {
    ($table:literal, $enter:ident, $count_wrong:ident, $is_open:ident, $void:ident, $consume:ident) => {
        /// Counts one wrong entry, voiding the secret when it is the `max`-th. Returns its number
        /// (1 for the first), or `None` when the secret is void, used, expired or has `max`
        /// wrong entries counted.
        pub async fn $count_wrong<'e>(
            ex: impl sqlx::Executor<'e, Database = sqlx::Any>,
            id: i64,
            now_ms: i64,
            max: i64,
        ) -> $crate::store::Result<Option<i64>> {
            Ok(sqlx::query_scalar(concat!(
                "UPDATE ",
                $table,
                " SET failed_attempts = failed_attempts + 1, \
                 voided_at = CASE WHEN failed_attempts + 1 >= $3 THEN $2 ELSE NULL END \
                 WHERE id = $1 AND voided_at IS NULL AND used_at IS NULL AND expires_at > $2 \
                 AND failed_attempts < $3 RETURNING failed_attempts"
            ))
            .bind(id)
            .bind(now_ms)
            .bind(max)
            .fetch_optional(ex)
            .await?)
        }

        /// Whether the secret is still active with fewer than `max` wrong entries: what a right
        /// entry needs, read in one statement.
        pub async fn $is_open<'e>(
            ex: impl sqlx::Executor<'e, Database = sqlx::Any>,
            id: i64,
            now_ms: i64,
            max: i64,
        ) -> $crate::store::Result<bool> {
            let open: Option<i64> = sqlx::query_scalar(concat!(
                "SELECT id FROM ",
                $table,
                " WHERE id = $1 AND voided_at IS NULL AND used_at IS NULL AND expires_at > $2 \
                 AND failed_attempts < $3"
            ))
            .bind(id)
            .bind(now_ms)
            .bind(max)
            .fetch_optional(ex)
            .await?;
            Ok(open.is_some())
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

        /// One entry: compared by `right`, then decided (see the macro's doc).
        pub async fn $enter(
            pool: &sqlx::AnyPool,
            id: i64,
            now_ms: i64,
            max: i64,
            right: impl FnOnce() -> bool,
        ) -> $crate::store::Result<$crate::store::Entry> {
            if right() {
                return Ok(if $is_open(pool, id, now_ms, max).await? {
                    $crate::store::Entry::Right
                } else {
                    $crate::store::Entry::Inactive
                });
            }
            Ok(match $count_wrong(pool, id, now_ms, max).await? {
                None => $crate::store::Entry::Inactive,
                Some(n) if n >= max => $crate::store::Entry::WrongAndVoid,
                Some(n) => $crate::store::Entry::Wrong { remaining: max - n },
            })
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
    /// The last wrong entry allowed: it voided the secret.
    WrongAndVoid,
    /// Not compared: the secret is void, used, expired, or its entries are all taken.
    Inactive,
}

pub mod accounts;
pub mod attempts;
pub mod audit;
pub mod auth_keys;
pub mod codes;
pub mod documents;
pub mod health;
pub mod job_seekers;
pub mod login;
pub mod mail_links;
pub mod offices;
pub mod outbox;
pub mod passkeys;
pub mod recovery_requests;
pub mod server_facts;
pub mod sessions;
pub mod settings;
pub mod staff;
pub mod staff_passkeys;

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
    /// Whether the error means the database cannot serve at all (see [`health::is_unavailable`]).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Database(e) if health::is_unavailable(e))
    }

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
    /// Whether the database is known to be down (shared by every clone).
    health: std::sync::Arc<health::DbHealth>,
    /// How long a probe may take before it counts as failed.
    probe_timeout: Duration,
    /// For PostgreSQL probes on a connection of their own (see [`Store::probe`]).
    options: AnyConnectOptions,
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

/// How long a pooled PostgreSQL connection may sit idle before it is pinged on its way out of
/// the pool: a server restart takes longer than this, so a connection that was idle across one
/// is found dead before a request uses it.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

static MIGRATOR_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static MIGRATOR_POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Connects (creating a SQLite file and its folder when missing). Does not migrate. A request
    /// waits at most `acquire_timeout` for a connection.
    pub async fn connect(url: &DatabaseUrl, acquire_timeout: Duration) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let (backend, url, max) = if url.is_sqlite() {
            (Backend::Sqlite, sqlite_url(url.expose())?, 4)
        } else {
            (Backend::Postgres, url.expose().to_owned(), 16)
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(acquire_timeout)
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
            // sqlx pings every connection it hands out: one more round trip before each query
            // of a request. It also pings each one it takes back (off the request's path: the
            // pool returns it in a task of its own), so one broken mid-request is closed, not
            // handed out again. What is left to check on the way out is a PostgreSQL connection
            // idle long enough for the server to have restarted meanwhile. A SQLite connection
            // is a file handle in this process: nothing to ping.
            .test_before_acquire(false)
            .before_acquire(move |conn, meta| {
                Box::pin(async move {
                    if backend == Backend::Postgres && meta.idle_for >= IDLE_BEFORE_PING {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            // SQLite may end a transaction by itself when a write fails (a full disk); sqlx then
            // still counts it as open, and every later `BEGIN IMMEDIATE` on that connection would
            // fail. Such a connection (or one whose rollback is still queued) is closed, not
            // reused: it only happens after a transaction was dropped unfinished.
            .after_release(move |conn, _meta| {
                Box::pin(async move { Ok(backend != Backend::Sqlite || !sqlx::Connection::is_in_transaction(conn)) })
            })
            .connect_with(options.clone())
            .await?;
        let health = Default::default();
        Ok(Self { pool, backend, outbox_sealer: None, health, probe_timeout: acquire_timeout, options })
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
        self.begin_writing("BEGIN").await
    }

    /// A write transaction of bookkeeping alone: the attempt log's reservations and their
    /// release, nothing a person is shown or mailed. It locks as [`Store::begin_write`] does; on
    /// PostgreSQL its commit does not wait for the WAL to reach the disk
    /// (`synchronous_commit = off`, for this transaction only). A crash of the database server
    /// can then forget the last fraction of a second of such commits (a few attempts a limit
    /// would have counted), never anything else; in return an application's limiter does not
    /// wait for two disk flushes (docs/decisions.md, "Bookkeeping commits").
    pub async fn begin_bookkeeping(&self) -> Result<WriteTx> {
        // One round trip: the simple-query protocol takes both statements.
        self.begin_writing("BEGIN; SET LOCAL synchronous_commit = off").await
    }

    /// A write transaction begun on PostgreSQL with `postgres_begin`, on SQLite with
    /// `BEGIN IMMEDIATE` (see [`Store::begin_write`]).
    async fn begin_writing(&self, postgres_begin: &'static str) -> Result<WriteTx> {
        let begin = match self.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => postgres_begin,
        };
        Ok(WriteTx { tx: self.pool.begin_with(begin).await?, outbox_sealer: self.outbox_sealer.clone() })
    }

    /// Whether the database answers within the probe timeout (for `/readyz`).
    pub async fn ping(&self) -> bool {
        let ping = sqlx::query("SELECT 1").execute(&self.pool);
        matches!(tokio::time::timeout(self.probe_timeout, ping).await, Ok(Ok(_)))
    }

    /// Whether the database is known to be down.
    pub fn health(&self) -> &health::DbHealth {
        &self.health
    }

    /// One write the service depends on, bounded in time: a read-only or full SQLite file and a
    /// PostgreSQL that is gone all fail it. `Ok(false)` when it failed for another reason (such
    /// as a busy pool), which says nothing about the database.
    /// On PostgreSQL the probe opens a connection of its own, so a refused connection is known at
    /// once rather than after the pool's acquire timeout; on SQLite it uses the pool, whose
    /// connections wait out a busy writer.
    pub async fn probe(&self) -> Result<bool> {
        let write = async {
            match self.backend {
                Backend::Postgres => {
                    use sqlx::Connection as _;
                    let mut conn = AnyConnection::connect_with(&self.options).await?;
                    server_facts::touch_probe(&mut conn).await?;
                    let _ = conn.close().await;
                }
                Backend::Sqlite => {
                    let mut tx = self.begin_write().await?;
                    server_facts::touch_probe(&mut *tx).await?;
                    tx.commit().await?;
                }
            }
            Ok::<_, StoreError>(())
        };
        match tokio::time::timeout(self.probe_timeout, write).await {
            Ok(Ok(())) => Ok(true),
            Ok(Err(e)) if e.is_unavailable() => Err(e),
            Ok(Err(_)) => Ok(false),
            Err(_) => Err(StoreError::Database(sqlx::Error::PoolTimedOut)),
        }
    }

    /// Probes when asked (a request saw a suspicious error) and every half second while the
    /// database is down, until `shutdown`; records each outcome in [`Store::health`].
    pub async fn run_prober(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            let wait = async {
                if self.health.is_down() {
                    tokio::time::sleep(health::PROBE_INTERVAL).await;
                } else {
                    tokio::time::sleep(health::SUSPECT_INTERVAL).await;
                    self.health.suspected().await;
                }
            };
            tokio::select! {
                () = wait => {}
                _ = shutdown.changed() => return,
            }
            match self.probe().await {
                Ok(true) => self.health.set_down(false, ""),
                Ok(false) => {}
                Err(e) => self.health.set_down(true, &e.to_string()),
            }
        }
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
