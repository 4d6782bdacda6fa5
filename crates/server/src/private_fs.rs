//! Files and folders the service creates are private to the user it runs as: folders 0700,
//! files 0600. They hold the server secret, the SQLite database (with its `-wal` and `-shm`) and
//! delivered mail, none of which another local user should read.
//!
//! SQLite creates `-wal` and `-shm` itself, giving them the permissions of the database file, so
//! creating (or tightening) the database file first is enough; no process umask is changed.

use std::io;
use std::path::Path;

/// Creates `dir` and any missing parents with mode 0700. Existing folders keep their mode.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Options that create a file with mode 0600 (on systems with Unix modes).
pub fn file_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Makes sure the SQLite database at `file` exists with mode 0600, before SQLite opens it; an
/// existing database and its `-wal` / `-shm` / `-journal` are narrowed to 0600 as well.
pub fn prepare_sqlite_file(file: &Path) -> io::Result<()> {
    match file_options().write(true).create_new(true).open(file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut name = file.as_os_str().to_owned();
                name.push(suffix);
                restrict(Path::new(&name))?;
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Narrows an existing file to mode 0600; a missing one is left missing.
fn restrict(file: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(file) {
            Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
            }
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        Ok(())
    }
}

/// Whether group or other users may read `file` (false where there are no Unix modes).
pub fn readable_by_others(file: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(file).is_ok_and(|m| m.permissions().mode() & 0o044 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        false
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn folders_are_created_0700_and_a_database_file_0600_or_narrowed_to_it() {
        let root = std::env::temp_dir().join(format!("mypage-fs-{}", crate::tokens::random_token().unwrap()));
        let dir = root.join("a/b");
        create_dir(&dir).unwrap();
        assert_eq!((mode(&root), mode(&root.join("a")), mode(&dir)), (0o700, 0o700, 0o700));
        let db = dir.join("x.db");
        prepare_sqlite_file(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        let wal = dir.join("x.db-wal");
        std::fs::write(&wal, b"").unwrap();
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(readable_by_others(&db));
        prepare_sqlite_file(&db).unwrap();
        assert_eq!((mode(&db), mode(&wal)), (0o600, 0o600));
        assert!(!readable_by_others(&db));
        std::fs::remove_dir_all(root).unwrap();
    }
}
