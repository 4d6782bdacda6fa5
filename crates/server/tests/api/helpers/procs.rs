//! Real processes for the operations tests: a private PostgreSQL cluster on a free port, the
//! `mypage` binary as an operator runs it, and Debian's nginx in front. Each lives in its own
//! temporary folder and is stopped when dropped. Everything listens on 127.0.0.1 only.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Whether a tool the test needs is missing: said loudly and skipped, but a failure under CI.
pub fn missing(what: &str, path: &Path) -> bool {
    if path.exists() {
        return false;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what} ({}) is not installed under CI=true (.ci/run installs it)", path.display());
    }
    eprintln!("!!! SKIPPED: {what} ({}) is not installed", path.display());
    true
}

fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", super::random_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A PostgreSQL 15 cluster of its own, so a test can stop and start it. `initdb` refuses to run
/// as root, so when the test runs as root the cluster belongs to the `postgres` OS user.
pub struct PrivatePostgres {
    dir: PathBuf,
    pub port: u16,
    as_postgres: bool,
}

impl PrivatePostgres {
    /// Creates and starts the cluster, or `None` (skipped loudly) when `initdb` is missing.
    pub fn start() -> Option<Self> {
        if missing("PostgreSQL's initdb", &Path::new(PG_BIN).join("initdb")) {
            return None;
        }
        let dir = temp_dir("mypage-pg");
        let as_postgres = is_root();
        if as_postgres {
            let status = Command::new("chown").args(["postgres:postgres"]).arg(&dir).status().unwrap();
            assert!(status.success(), "cannot give {} to the postgres user", dir.display());
        }
        let pg = Self { dir, port: free_port(), as_postgres };
        let data = pg.dir.join("data");
        pg.run("initdb", &["-D", &data.display().to_string(), "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
        pg.start_again();
        Some(pg)
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let bin = Path::new(PG_BIN).join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&bin);
            c
        } else {
            Command::new(&bin)
        };
        let out = cmd.args(args).stdin(Stdio::null()).output().unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.dir.join("data").display().to_string();
        let mut all = vec!["-D", data.as_str()];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all);
    }

    /// (Re)starts the server and waits until it accepts connections.
    pub fn start_again(&self) {
        let log = self.dir.join("server.log").display().to_string();
        let opts = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir.display());
        self.pg_ctl(&["-o", &opts, "-l", &log, "-w", "start"]);
    }

    /// Stops the server (fast: sessions are ended, as when an operator stops it).
    pub fn stop(&self) {
        self.pg_ctl(&["-m", "fast", "-w", "stop"]);
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        let bin = Path::new(PG_BIN).join("pg_ctl");
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&bin);
            c
        } else {
            Command::new(&bin)
        };
        let _ = cmd.args(["-D", &data, "-m", "immediate", "stop"]).stdout(Stdio::null()).stderr(Stdio::null()).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}
