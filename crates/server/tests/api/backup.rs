//! `mypage backup FILE` (SQLite): a copy taken while the service writes restores on its own,
//! passes SQLite's integrity check, and an account opened before the backup logs in on it.
//! On PostgreSQL the command refuses and names the tools to use instead.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::Connection as _;

use crate::both_databases;
use crate::helpers::{Browser, TestApp};

const NUMBER: &str = "60049-58004503";
const BIRTH: (&str, &str, &str) = ("1990", "4", "15");
const EMAIL: &str = "taro@example.jp";
const PASSWORD: &str = "Kushiro#2026x";

fn backup_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mypage-backup-{}", mypage::tokens::random_token().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `mypage backup FILE` as an operator would, against the app's database.
async fn run_backup(app: &TestApp, file: &Path, data_dir: &Path) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_mypage"));
    command
        .arg("backup")
        .arg(file)
        .env("MYPAGE_DATABASE_URL", app.db_url.expose())
        .env("MYPAGE_DATA_DIR", data_dir)
        .env("MYPAGE_MAIL", format!("file:{}", data_dir.join("mail").display()));
    tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

async fn a_backup_taken_while_the_service_writes_restores_and_logs_in(app: &TestApp) {
    let dir = backup_dir();
    let file = dir.join("mypage-backup.db");
    if !app.db_url.is_sqlite() {
        let refused = run_backup(app, &file, &dir).await;
        assert!(!refused.status.success());
        let reason = stderr(&refused);
        assert_eq!(reason.lines().count(), 1, "{reason}");
        assert!(reason.contains("pg_dump -Fc") && reason.contains("pg_basebackup"), "{reason}");
        assert!(!file.exists());
        std::fs::remove_dir_all(dir).unwrap();
        return;
    }
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;

    // The service keeps writing: logins (challenge, outbox row, attempt log) from two clients.
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let mut stream = Vec::new();
    for _ in 0..2 {
        let (stop, answered, base, clock) = (stop.clone(), answered.clone(), app.base.clone(), app.clock.clone());
        stream.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let page = Browser::new(&base).login(EMAIL, PASSWORD).await;
                // The clock moves on under the other client, whose form may expire between its
                // load and its post: that answer is fine too, a failure of the service is not.
                assert!(page.status < 500, "{}", page.body);
                // 20 minutes every two logins stays under the hourly cap on OTP mails, so the
                // logins keep writing.
                if answered.fetch_add(1, Ordering::Relaxed) % 2 == 1 {
                    clock.advance(Duration::from_secs(20 * 60));
                }
            }
        }));
    }
    while answered.load(Ordering::Relaxed) < 4 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Two backups to one name, released together: one copy, one refusal, never a mixed file.
    let started = Instant::now();
    let at_start = answered.load(Ordering::Relaxed);
    let (first, second) = tokio::join!(run_backup(app, &file, &dir), run_backup(app, &file, &dir));
    let during = answered.load(Ordering::Relaxed) - at_start;
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for task in stream {
        task.await.unwrap();
    }
    let (done, refused) = if first.status.success() { (first, second) } else { (second, first) };
    assert!(done.status.success(), "{}", stderr(&done));
    assert!(String::from_utf8_lossy(&done.stdout).contains("integrity ok"));
    assert!(!refused.status.success(), "only one backup may write the file");
    assert!(stderr(&refused).contains("already exists"), "{}", stderr(&refused));
    eprintln!("backup: two copies raced in {took:?} while {during} logins were answered");
    assert!(!mypage::private_fs::readable_by_others(&file), "the copy is private (0600)");

    let url = format!("sqlite://{}", file.display());
    let mut copy = sqlx::SqliteConnection::connect(&format!("{url}?mode=ro")).await.unwrap();
    let verdict: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut copy).await.unwrap();
    assert_eq!(verdict, "ok");
    let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts").fetch_one(&mut copy).await.unwrap();
    assert_eq!(accounts, 1);
    copy.close().await.unwrap();

    // A second backup to the same name is refused and leaves the copy as it was.
    let size = std::fs::metadata(&file).unwrap().len();
    let again = run_backup(app, &file, &dir).await;
    assert!(!again.status.success());
    assert!(stderr(&again).contains("already exists"), "{}", stderr(&again));
    assert_eq!(std::fs::metadata(&file).unwrap().len(), size);

    // Restore: a node on the copy (same secret) logs the account in with password and OTP.
    let mut settings = app.node_settings();
    settings.database_url = mypage::config::DatabaseUrl::new(url);
    let state = mypage::startup::build_state(settings, Arc::new(app.clock.clone())).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let running = mypage::startup::start(state.clone(), listener, false).await.unwrap();
    mypage::mail::worker::deliver_due(&state).await.unwrap();
    app.smtp.take(); // the OTP mails of the stream, copied with the outbox
    let browser = Browser::new(&base);
    browser.login(EMAIL, PASSWORD).await.assert_redirect("/login/otp");
    mypage::mail::worker::deliver_due(&state).await.unwrap();
    let otp = app.smtp.take().pop().expect("the restored node sends the OTP");
    browser.submit_otp(&otp.code(), false).await.assert_redirect("/mypage");
    browser.get("/mypage").await.assert_contains(NUMBER);
    let _ = running.shutdown.send(true);
    state.store.close().await;
    std::fs::remove_dir_all(dir).unwrap();
}
both_databases!(a_backup_taken_while_the_service_writes_restores_and_logs_in);
