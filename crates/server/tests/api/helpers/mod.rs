//! Test support: `spawn_app` per test (own database, port, SMTP sink and clock), a browser-like
//! client, and the `both_databases!` macro that runs one test body on SQLite and PostgreSQL.

pub mod authenticator;
pub mod browser;
pub mod burst;
pub mod procs;
pub mod smtp;

use std::sync::Arc;
use std::time::Duration;

use mypage::config::{BaseUrl, DatabaseUrl, Layers, MailTransport, Secret, SmtpSecurity, SmtpSettings};
use mypage::flows::codes;
use mypage::startup::{self, Running};
use mypage::state::AppState;
use mypage_domain::clock::FixedClock;
use mypage_domain::job_seeker_number::JobSeekerNumber;
use sqlx::Connection as _;

pub use browser::Browser;
pub use smtp::{Received, SmtpSink};

/// Runs `$name(&TestApp)` as two tests, `$name::sqlite` and `$name::postgres`.
#[macro_export]
macro_rules! both_databases {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::helpers::spawn_app($crate::helpers::Db::Sqlite).await;
                super::$name(&app).await;
                app.finish().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = $crate::helpers::Db::postgres().await else { return };
                let app = $crate::helpers::spawn_app(db).await;
                super::$name(&app).await;
                app.finish().await;
            }
        }
    };
}

/// `both_databases!` with settings changed for both runs.
#[macro_export]
macro_rules! both_databases_with {
    ($name:ident, $adjust:expr) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::helpers::spawn_app_with($crate::helpers::Db::Sqlite, $adjust).await;
                super::$name(&app).await;
                app.finish().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = $crate::helpers::Db::postgres().await else { return };
                let app = $crate::helpers::spawn_app_with(db, $adjust).await;
                super::$name(&app).await;
                app.finish().await;
            }
        }
    };
}

/// The instant every test starts at: 2026-11-25 10:00 JST.
pub fn start_time() -> jiff::Timestamp {
    "2026-11-25T01:00:00Z".parse().unwrap()
}

pub enum Db {
    Sqlite,
    Postgres { admin_url: String, schema: String },
}

fn postgres_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

impl Db {
    /// Drops the test's own PostgreSQL schema (nothing to do for SQLite, whose file goes with
    /// the test's folder).
    pub async fn drop_schema(&self) {
        if let Db::Postgres { admin_url, schema } = self {
            let mut conn = sqlx::PgConnection::connect(admin_url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }

    /// A fresh schema on the test PostgreSQL, or `None` (said loudly) when there is none to
    /// reach. Under `CI=true` an unreachable PostgreSQL fails the test instead.
    pub async fn postgres() -> Option<Self> {
        Self::postgres_at(postgres_url()).await
    }

    /// A fresh schema on the PostgreSQL at `admin_url` (the shared one, or a test's own cluster).
    pub async fn postgres_at(admin_url: String) -> Option<Self> {
        let mut conn = match sqlx::PgConnection::connect(&admin_url).await {
            Ok(c) => c,
            Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("PostgreSQL at {admin_url} is unreachable under CI=true: {e}")
            }
            Err(e) => {
                eprintln!("!!! SKIPPED on PostgreSQL: {admin_url} is unreachable ({e}); set TEST_POSTGRES_URL");
                return None;
            }
        };
        let stamp = jiff::Timestamp::now().as_second();
        let schema = format!("t_{stamp}_{}", &random_suffix()[..10].to_ascii_lowercase());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&mut conn).await.unwrap();
        drop_stale_schemas(&mut conn, stamp).await;
        Some(Self::Postgres { admin_url, schema })
    }
}

/// Schemas left by tests that panicked more than an hour ago.
async fn drop_stale_schemas(conn: &mut sqlx::PgConnection, now: i64) {
    let names: Vec<(String,)> = sqlx::query_as("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 't\\_%'")
        .fetch_all(&mut *conn)
        .await
        .unwrap_or_default();
    for (name,) in names {
        let stamp = name.split('_').nth(1).and_then(|s| s.parse::<i64>().ok());
        if stamp.is_some_and(|s| s < now - 3600) {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {name} CASCADE")))
                .execute(&mut *conn)
                .await;
        }
    }
}

pub fn random_suffix() -> String {
    mypage::tokens::random_token().unwrap().replace(['-', '_'], "x")
}

/// Another app node; stops when dropped.
pub struct Node {
    pub base: String,
    pub state: AppState,
    running: Running,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.running.shutdown.send(true);
    }
}

pub struct TestApp {
    pub state: AppState,
    pub clock: FixedClock,
    pub smtp: SmtpSink,
    pub base: String,
    pub db_url: DatabaseUrl,
    secret: String,
    running: Running,
    dir: std::path::PathBuf,
    db: Db,
}

/// Starts the app on its own database, port, SMTP sink and clock.
pub async fn spawn_app(db: Db) -> TestApp {
    spawn_app_with(db, |_| {}).await
}

/// `spawn_app` with some settings changed.
pub async fn spawn_app_with(db: Db, adjust: impl FnOnce(&mut mypage::config::Settings)) -> TestApp {
    let dir = std::env::temp_dir().join(format!("mypage-test-{}", random_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let db_url = match &db {
        Db::Sqlite => DatabaseUrl::new(format!("sqlite://{}", dir.join("test.db").display())),
        Db::Postgres { admin_url, schema } => DatabaseUrl::new(format!("{admin_url}?options[search_path]={schema}")),
    };
    let smtp = SmtpSink::start().await;
    let clock = FixedClock::new(start_time());
    let secret = random_suffix();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let base = format!("http://localhost:{port}");
    let mut settings = test_settings(&db_url, &base, &smtp, &dir, &secret);
    adjust(&mut settings);
    let state = startup::build_state(settings, Arc::new(clock.clone())).await.unwrap();
    let running = startup::start(state.clone(), listener, false).await.unwrap();
    TestApp { state, clock, smtp, base, db_url, secret, running, dir, db }
}

fn test_settings(
    db_url: &DatabaseUrl,
    base: &str,
    smtp: &SmtpSink,
    dir: &std::path::Path,
    secret: &str,
) -> mypage::config::Settings {
    let mut s = Layers::defaults().settings().unwrap();
    s.database_url = db_url.clone();
    s.base_url = BaseUrl::parse(base).unwrap();
    s.mail = MailTransport::Smtp(SmtpSettings {
        host: "127.0.0.1".into(),
        port: smtp.port(),
        security: SmtpSecurity::Opportunistic,
        credentials: None,
    });
    s.mail_from = "求職者マイページ <no-reply@mypage.example.jp>".into();
    s.data_dir = dir.to_path_buf();
    s.secret = Some(Secret(secret.to_owned()));
    s
}

impl TestApp {
    /// A browser with its own cookie jar, talking to the first node.
    pub fn browser(&self) -> Browser {
        Browser::new(&self.base)
    }

    /// The settings another node on the same database would start with (same secret).
    pub fn node_settings(&self) -> mypage::config::Settings {
        test_settings(&self.db_url, &self.base, &self.smtp, &self.dir, &self.secret)
    }

    /// Starts another stateless node on the same database (same secret, same clock).
    pub async fn add_node(&self) -> Node {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
        let settings = self.node_settings();
        let state = startup::build_state(settings, Arc::new(self.clock.clone())).await.unwrap();
        let running = startup::start(state.clone(), listener, false).await.unwrap();
        Node { base, running, state }
    }

    /// The environment for `mypage serve` (the binary) as another node of this app: same database,
    /// secret and SMTP server, listening on `port`, its own data folder `data_dir`.
    pub fn binary_env(&self, port: u16, data_dir: &std::path::Path) -> Vec<(String, String)> {
        [
            ("MYPAGE_DATABASE_URL", self.db_url.expose().to_owned()),
            ("MYPAGE_SECRET", self.secret.clone()),
            ("MYPAGE_MAIL", format!("smtp://127.0.0.1:{}", self.smtp.port())),
            ("MYPAGE_MAIL_FROM", "求職者マイページ <no-reply@mypage.example.jp>".to_owned()),
            ("MYPAGE_BIND", format!("127.0.0.1:{port}")),
            ("MYPAGE_BASE_URL", format!("http://localhost:{port}")),
            ("MYPAGE_DATA_DIR", data_dir.display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// A folder inside this test's own temporary folder (removed with it).
    pub fn temp_path(&self, name: &str) -> std::path::PathBuf {
        self.dir.join(name)
    }

    /// Runs the outbox worker until nothing is due, then returns every mail the SMTP server
    /// accepted since the last call.
    pub async fn deliver_mail(&self) -> Vec<Received> {
        mypage::mail::worker::deliver_due(&self.state).await.unwrap();
        self.smtp.take()
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Registers office 01010 (once) and a job seeker; returns the 求職番号.
    pub async fn register(&self, number: &str, birth_date: &str, email: Option<&str>) -> String {
        let csv = format!(
            "job_seeker_number,name,name_kana,birth_date,office_number,email,email_registered_on\n\
             {number},釧路 太郎,クシロ タロウ,{birth_date},01010,{},\n",
            email.unwrap_or("")
        );
        let office = mypage::flows::registry::OfficeNumber::parse("01010").unwrap();
        let _ =
            mypage::flows::registry::add_office(&self.state, &office, "ハローワーク釧路", None, "test").await.unwrap();
        let report = mypage::import::import(&self.state, csv.as_bytes(), "test", None).await.unwrap();
        assert!(!matches!(report.rows[0].outcome, mypage::import::RowOutcome::Refused(_)), "{:?}", report.rows);
        number.to_owned()
    }

    /// Issues a code as the counter would; returns it as printed (grouped).
    pub async fn issue_code(&self, number: &str) -> String {
        let number = JobSeekerNumber::parse(number).unwrap();
        codes::issue(&self.state, &number, "test", None).await.unwrap().unwrap().code.grouped()
    }

    /// Registers a job seeker and opens their account through the real flow; returns the browser
    /// that did it (now on the completion page).
    pub async fn open_account(&self, number: &str, birth: (&str, &str, &str), email: &str, password: &str) -> Browser {
        self.register(number, &format!("{}-{:0>2}-{:0>2}", birth.0, birth.1, birth.2), None).await;
        let code = self.issue_code(number).await;
        let browser = self.browser();
        browser.consent().await;
        browser.apply(email, number, birth, &code).await.assert_redirect("/opening/password");
        let key = self.deliver_mail().await.pop().expect("auth key mail").code();
        browser.register_password(password, password, &key).await.assert_redirect("/opening/done");
        self.deliver_mail().await;
        browser
    }

    /// One row's integer column, for assertions on stored state.
    pub async fn scalar(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql).fetch_one(self.state.store.pool()).await.unwrap()
    }

    pub async fn finish(self) {
        let _ = self.running.shutdown.send(true);
        self.state.store.close().await;
        self.db.drop_schema().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
