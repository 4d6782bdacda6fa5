//! `mypage backup FILE`: a consistent copy of a live SQLite database, taken with `VACUUM INTO`
//! while the service keeps running (readers and the writer are not stopped; the copy is one
//! snapshot). PostgreSQL has its own tools for this, which the refusal names.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use crate::config::DatabaseUrl;
use crate::private_fs;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "backup copies SQLite databases only; for PostgreSQL run `pg_dump -Fc` (a logical copy) or \
         `pg_basebackup` with WAL archiving (point-in-time recovery), see README \"Backups\""
    )]
    Postgres,
    #[error("{0} is an in-memory database: there is no file to back up")]
    InMemory(String),
    #[error("no database at {0} (check MYPAGE_DATABASE_URL)")]
    NoDatabase(PathBuf),
    #[error("{0} already exists; a backup never overwrites a file, choose a new name")]
    Exists(PathBuf),
    #[error("the backup must be a file other than the database itself")]
    SameFile,
    #[error("cannot create {path}: {reason}")]
    Create { path: PathBuf, reason: String },
    #[error("copying the database into {path} failed (nothing was kept): {reason}")]
    Copy { path: PathBuf, reason: String },
    #[error("the copy in {path} fails its integrity check (it was removed): {reason}")]
    Integrity { path: PathBuf, reason: String },
}

/// What was written.
#[derive(Debug)]
pub struct Backup {
    pub file: PathBuf,
    pub bytes: u64,
}

/// Copies the SQLite database at `url` into the new file `target` (mode 0600). A failure leaves
/// no file behind; an existing `target` is never touched.
pub async fn backup(url: &DatabaseUrl, target: &Path) -> Result<Backup, BackupError> {
    if !url.is_sqlite() {
        return Err(BackupError::Postgres);
    }
    let options = SqliteConnectOptions::from_str(url.expose())
        .map_err(|e| BackupError::Copy { path: target.to_owned(), reason: e.to_string() })?
        .create_if_missing(false)
        // The writer holds its lock only per transaction; wait for it rather than fail.
        .busy_timeout(Duration::from_secs(30));
    let source = options.get_filename().to_owned();
    let raw = url.expose();
    if source.as_os_str().is_empty() || raw.contains(":memory:") || raw.contains("mode=memory") {
        return Err(BackupError::InMemory(url.redacted()));
    }
    if !source.is_file() {
        return Err(BackupError::NoDatabase(source));
    }
    if target.exists() {
        return Err(BackupError::Exists(target.to_owned()));
    }
    // Reserved empty with mode 0600 (SQLite keeps the mode of a file it fills); `create_new`
    // makes two backups racing for one name end with one copy and one refusal.
    private_fs::file_options().write(true).create_new(true).open(target).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => BackupError::Exists(target.to_owned()),
        _ => BackupError::Create { path: target.to_owned(), reason: e.to_string() },
    })?;
    if same_file(&source, target) {
        let _ = std::fs::remove_file(target);
        return Err(BackupError::SameFile);
    }
    match copy_and_check(options, target).await {
        Ok(()) => {
            let bytes = std::fs::metadata(target).map(|m| m.len()).unwrap_or(0);
            Ok(Backup { file: target.to_owned(), bytes })
        }
        Err(e) => {
            let _ = std::fs::remove_file(target);
            Err(e)
        }
    }
}

async fn copy_and_check(options: SqliteConnectOptions, target: &Path) -> Result<(), BackupError> {
    let copy_error = |e: sqlx::Error| BackupError::Copy { path: target.to_owned(), reason: e.to_string() };
    let mut conn = SqliteConnection::connect_with(&options).await.map_err(copy_error)?;
    let into = target.to_string_lossy().into_owned();
    sqlx::query("VACUUM INTO $1").bind(into).execute(&mut conn).await.map_err(copy_error)?;
    conn.close().await.map_err(copy_error)?;

    let check_error = |e: sqlx::Error| BackupError::Integrity { path: target.to_owned(), reason: e.to_string() };
    let copy = SqliteConnectOptions::new().filename(target).read_only(true).create_if_missing(false);
    let mut conn = SqliteConnection::connect_with(&copy).await.map_err(check_error)?;
    let verdict: String =
        sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut conn).await.map_err(check_error)?;
    conn.close().await.map_err(check_error)?;
    if verdict != "ok" {
        return Err(BackupError::Integrity { path: target.to_owned(), reason: verdict });
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn postgres_and_in_memory_databases_are_refused_with_what_to_do() {
        let dir = std::env::temp_dir().join(format!("mypage-backup-unit-{}", std::process::id()));
        let target = dir.join("copy.db");
        let pg = backup(&DatabaseUrl::new("postgres://app:pw@db/mypage"), &target).await;
        assert!(matches!(pg, Err(BackupError::Postgres)), "{pg:?}");
        assert!(pg.unwrap_err().to_string().contains("pg_dump -Fc"));
        let memory = backup(&DatabaseUrl::new("sqlite::memory:"), &target).await;
        assert!(matches!(memory, Err(BackupError::InMemory(_))), "{memory:?}");
        let missing = backup(&DatabaseUrl::new(format!("sqlite://{}", dir.join("none.db").display())), &target).await;
        assert!(matches!(missing, Err(BackupError::NoDatabase(_))), "{missing:?}");
        assert!(!target.exists(), "no refusal leaves a file");
    }
}
