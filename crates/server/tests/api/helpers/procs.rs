//! Real processes for the operations tests: a private PostgreSQL cluster on a free port, the
//! `mypage` binary as an operator runs it, and Debian's nginx in front. Each lives in its own
//! temporary folder and is stopped when dropped. Everything listens on 127.0.0.1 only.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::{Db, SmtpSink, TestApp};

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

/// A child process stopped (SIGTERM, then SIGKILL after 5 s) when dropped, unless it was before.
pub struct Proc {
    pub child: Option<Child>,
    pub name: String,
    pub log: PathBuf,
}

impl Proc {
    /// Starts `cmd` with its output appended to `log` (a restarted process keeps the first log).
    pub fn spawn(name: &str, mut cmd: Command, log: PathBuf) -> Self {
        let out = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = cmd.stdin(Stdio::null()).stdout(out).stderr(err).spawn().unwrap();
        Self { child: Some(child), name: name.to_owned(), log }
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.as_ref().unwrap().id()).unwrap()
    }

    /// SIGKILL: the process gets no chance to finish anything.
    pub fn kill(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM, as an init system or orchestrator stops a service; does not wait.
    pub fn signal_term(&self) {
        let status = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// The exit status if the process ends within `bound`.
    pub async fn wait_exit(&mut self, bound: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < bound {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// Sends SIGTERM and waits (at most `bound`) for the process to exit; returns how long it took.
    pub fn terminate(&mut self, bound: Duration) -> Duration {
        let started = Instant::now();
        self.signal_term();
        let mut child = self.child.take().unwrap();
        loop {
            if child.try_wait().unwrap().is_some() {
                return started.elapsed();
            }
            if started.elapsed() > bound {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{} did not exit within {bound:?} of SIGTERM; log:\n{}", self.name, self.log_text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// `mypage serve`, the binary as an operator runs it, started by a test on a free port against
/// the test's database and SMTP server; killed with SIGKILL or stopped with SIGTERM.
pub struct Served {
    pub proc: Proc,
    pub base: String,
}

impl Served {
    /// Starts the binary with the app's settings plus `extra`, and waits until `/healthz` answers.
    pub async fn start(app: &TestApp, port: u16, data_dir: &Path, extra: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mypage"));
        cmd.arg("serve").env_clear().envs(app.binary_env(port, data_dir));
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let proc = Proc::spawn(&format!("mypage serve on {port}"), cmd, app.temp_path(&format!("serve-{port}.log")));
        let base = format!("http://localhost:{port}");
        wait_ready(&format!("{base}/healthz"), Duration::from_secs(30), &proc).await;
        Self { proc, base }
    }
}

impl Drop for Proc {
    /// SIGTERM first: a SIGKILLed nginx master leaves its workers running (and listening).
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(5) {
                if child.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits until `url` answers 200 (a node's `/readyz`), at most `bound`.
pub async fn wait_ready(url: &str, bound: Duration, proc: &Proc) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    while started.elapsed() < bound {
        if client.get(url).send().await.is_ok_and(|r| r.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} not ready at {url} within {bound:?}; log:\n{}", proc.name, proc.log_text());
}

const NGINX: &str = "/usr/sbin/nginx";

/// Two (or more) `mypage serve` processes over one PostgreSQL schema, behind Debian's nginx
/// (round robin, one worker process, so consecutive requests alternate between nodes). nginx
/// names the node that answered in `X-Upstream` (test config only, not a product header).
pub struct Cluster {
    dir: PathBuf,
    db: Db,
    pub db_url: String,
    pub smtp: SmtpSink,
    pub port: u16,
    node_ports: Vec<u16>,
    nodes: Vec<Option<Proc>>,
    _nginx: Proc,
    secret: String,
}

impl Cluster {
    /// Starts nginx and `n` nodes, or `None` (skipped loudly) without nginx or PostgreSQL.
    pub async fn start(n: usize) -> Option<Self> {
        if missing("nginx (nginx-light)", Path::new(NGINX)) {
            return None;
        }
        let db = Db::postgres().await?;
        let Db::Postgres { admin_url, schema } = &db else { unreachable!() };
        let db_url = format!("{admin_url}?options[search_path]={schema}");
        let dir = temp_dir("mypage-cluster");
        let port = free_port();
        let node_ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let servers: String =
            node_ports.iter().map(|p| format!("        server 127.0.0.1:{p} max_fails=0;\n")).collect();
        let d = dir.display();
        let conf = format!(
            "daemon off;\nuser root;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n    access_log {d}/access.log;\n\
             client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;\n\
             uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
             upstream mypage {{\n{servers}    }}\n\
             server {{\n        listen 127.0.0.1:{port};\n        location / {{\n\
             proxy_pass http://mypage;\n            proxy_set_header Host $http_host;\n\
             proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
             proxy_next_upstream error timeout;\n            proxy_connect_timeout 1s;\n\
             add_header X-Upstream $upstream_addr always;\n        }}\n    }}\n}}\n"
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let mut cmd = Command::new(NGINX);
        cmd.arg("-p").arg(&dir).arg("-c").arg(dir.join("nginx.conf")).arg("-e").arg(dir.join("error.log"));
        let nginx = Proc::spawn("nginx", cmd, dir.join("nginx.out"));
        let smtp = SmtpSink::start().await;
        let mut cluster = Self {
            dir,
            db,
            db_url,
            smtp,
            port,
            node_ports,
            nodes: (0..n).map(|_| None).collect(),
            _nginx: nginx,
            secret: super::random_suffix(),
        };
        for i in 0..n {
            cluster.start_node(i).await;
        }
        Some(cluster)
    }

    /// The public URL, through nginx. `localhost` (not 127.0.0.1) so that the test client sends
    /// the `Secure` session cookie over plain http.
    pub fn base(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// `127.0.0.1:PORT` of node `i`, as nginx names it in `X-Upstream`.
    pub fn node(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.node_ports[i])
    }

    fn command(&self, data: &str) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mypage"));
        cmd.env_clear()
            .env("MYPAGE_DATABASE_URL", &self.db_url)
            .env("MYPAGE_BASE_URL", self.base())
            .env("MYPAGE_MAIL", format!("smtp://127.0.0.1:{}", self.smtp.port()))
            .env("MYPAGE_MAIL_FROM", "求職者マイページ <no-reply@mypage.example.jp>")
            .env("MYPAGE_SECRET", &self.secret)
            .env("MYPAGE_TRUSTED_PROXY", "127.0.0.1")
            // The machines CI runs on are shared and often saturated; these tests are about
            // nodes sharing a database, not about how long a request waits for a connection.
            .env("MYPAGE_DB_ACQUIRE_TIMEOUT", "20s")
            .env("MYPAGE_DATA_DIR", self.dir.join(data));
        cmd
    }

    /// Starts (or restarts) node `i` and waits until it is ready.
    pub async fn start_node(&mut self, i: usize) {
        let mut cmd = self.command(&format!("node{i}"));
        cmd.arg("serve").env("MYPAGE_BIND", self.node(i));
        let proc = Proc::spawn(&format!("node {i}"), cmd, self.dir.join(format!("node{i}.log")));
        wait_ready(&format!("http://{}/readyz", self.node(i)), Duration::from_secs(20), &proc).await;
        self.nodes[i] = Some(proc);
    }

    /// SIGTERM to node `i`; returns how long it took to exit (at most 30 s, or the test fails).
    pub fn stop_node(&mut self, i: usize) -> Duration {
        let mut proc = self.nodes[i].take().unwrap();
        proc.terminate(Duration::from_secs(30))
    }

    /// Runs an operator command (`mypage offices add …`) on the cluster's database; its stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = self.command("cli").args(args).output().unwrap();
        assert!(out.status.success(), "mypage {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Every node's log, for failure messages.
    pub fn logs(&self) -> String {
        (0..self.node_ports.len())
            .map(|i| std::fs::read_to_string(self.dir.join(format!("node{i}.log"))).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n----\n")
    }

    pub async fn finish(mut self) {
        for node in &mut self.nodes {
            node.take();
        }
        self.db.drop_schema().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A small tmpfs of its own (root only), so a test can fill the disk under a SQLite database.
pub struct TinyDisk {
    pub path: PathBuf,
}

impl TinyDisk {
    /// Mounts `size` (like "4m"), or `None` (skipped loudly) when this process may not mount.
    pub fn mount(size: &str) -> Option<Self> {
        let path = temp_dir("mypage-disk");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(&path)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            let _ = std::fs::remove_dir(&path);
            if std::env::var("CI").as_deref() == Ok("true") && is_root() {
                panic!("cannot mount a tmpfs as root under CI=true");
            }
            eprintln!("!!! SKIPPED: mounting a small tmpfs needs root (the full-disk test)");
            return None;
        }
        Some(Self { path })
    }

    /// Fills the disk with a file; returns its path.
    pub fn fill(&self) -> PathBuf {
        use std::io::Write as _;
        let filler = self.path.join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 4096];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.sync_all();
        filler
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        let _ = std::fs::remove_dir(&self.path);
    }
}
