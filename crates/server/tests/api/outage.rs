//! The database goes away and comes back (issue 9 §3). PostgreSQL: a private cluster the test
//! stops and starts. Once the database is known down, pages answer 503 with Retry-After and the
//! "temporarily unavailable" page within a second, `/readyz` fails within a second, the mail
//! worker waits with the mail in the outbox, and the same node serves again by itself.

use std::time::{Duration, Instant};

use sqlx::Connection as _;

use crate::helpers::procs::PrivatePostgres;
use crate::helpers::{Db, spawn_app};

const NUMBER: &str = "60049-58004503";
const BIRTH: (&str, &str, &str) = ("1990", "4", "15");
const EMAIL: &str = "taro@example.jp";
const PASSWORD: &str = "Kushiro#2026x";

/// What a page must never show: SQL, driver or connection details.
fn assert_no_internals(body: &str) {
    for leak in ["sqlx", "SELECT", "INSERT", "database error", "Connection refused", "pool timed out", "panicked"] {
        assert!(!body.contains(leak), "the page shows {leak:?}:\n{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_answers_503_fast_and_the_node_recovers_by_itself() {
    let Some(pg) = PrivatePostgres::start() else { return };
    let app = spawn_app(Db::postgres_at(pg.url()).await.unwrap()).await;
    app.register(NUMBER, "1990-04-15", None).await;
    let code = app.issue_code(NUMBER).await;
    let browser = app.browser();
    browser.consent().await;
    browser.apply(EMAIL, NUMBER, BIRTH, &code).await.assert_redirect("/opening/password");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").await, 1, "the auth key mail waits");
    assert_eq!(browser.get("/login").await.status, 200);
    let csrf = browser.get("/opening/password").await.csrf();

    pg.stop();
    let stopped = Instant::now();
    // The worker starts while the database is down: it must wait, not spin and not drop mail.
    let (stop_worker, worker_stop) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(mypage::mail::worker::run(app.state.clone(), worker_stop));

    // A request already waiting for a connection may wait the acquire timeout (and then gets
    // the 503 too); it also asks for a probe, and from the moment the probe fails every answer
    // is a fast 503.
    let limit = app.state.settings.db_acquire_timeout + Duration::from_secs(1);
    let waiting = {
        let browser = crate::helpers::Browser::new(&app.base);
        tokio::spawn(async move {
            let started = Instant::now();
            // A document page reads the database (a form page for a new visitor writes nothing,
            // the login page touches no database and the consent page keeps the versions in
            // memory).
            let page = browser.get("/opening/documents/privacy").await;
            (page.status, started.elapsed())
        })
    };
    while !app.state.store.health().is_down() {
        assert!(stopped.elapsed() < limit, "the node never learned the database is down");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let known_down = stopped.elapsed();
    let mut slowest = Duration::ZERO;
    for path in ["/login", "/opening/consent", "/", "/mypage", "/staff/login"] {
        let started = Instant::now();
        let page = browser.get(path).await;
        slowest = slowest.max(started.elapsed());
        assert_eq!(page.status, 503, "{path}: {}", page.body);
        assert_eq!(page.headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("5"), "{path}");
        page.assert_contains("ただいまご利用いただけません");
        page.assert_contains("この操作の内容は保存されていません");
        assert_no_internals(&page.body);
    }
    let english = browser.get_with_headers("/login", &[("accept-language", "en")]).await;
    assert_eq!(english.status, 503);
    english.assert_contains("The service is temporarily unavailable");
    assert_no_internals(&english.body);
    // A form post while down is refused the same way and writes nothing (checked below).
    let started = Instant::now();
    let form =
        [("csrf", csrf.as_str()), ("password", PASSWORD), ("password_confirmation", PASSWORD), ("auth_key", "123456")];
    let post = browser.post("/opening/password", &form).await;
    slowest = slowest.max(started.elapsed());
    assert_eq!(post.status, 503, "{}", post.body);
    let started = Instant::now();
    let ready = browser.get("/readyz").await;
    let readyz_took = started.elapsed();
    assert_eq!(ready.status, 503);
    assert!(readyz_took < Duration::from_secs(1), "/readyz took {readyz_took:?}");
    assert_eq!(browser.get("/healthz").await.status, 200, "the process itself is up");
    assert!(slowest < Duration::from_secs(1), "a page took {slowest:?} while the database was known down");
    assert!(app.smtp.take().is_empty(), "nothing can be sent while the outbox is out of reach");
    assert!(!worker.is_finished(), "the worker waits for the database");
    let (status, waited) = waiting.await.unwrap();
    assert_eq!(status, 503, "the request that waited for a connection");
    assert!(waited < limit, "it waited {waited:?}");

    pg.start_again();
    let restarted = Instant::now();
    loop {
        if browser.get("/login").await.status == 200 {
            break;
        }
        assert!(restarted.elapsed() < Duration::from_secs(5), "the node did not serve again within 5 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let recovered = restarted.elapsed();
    assert_eq!(browser.get("/readyz").await.status, 200);

    // The waiting mail goes out once, soon, and the opening finishes with its key.
    let mut mails = Vec::new();
    while mails.is_empty() && restarted.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        mails = app.smtp.take();
    }
    let mail_after = restarted.elapsed();
    assert_eq!(mails.len(), 1, "{mails:?}");
    browser.register_password(PASSWORD, PASSWORD, &mails[0].code()).await.assert_redirect("/opening/done");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM accounts").await, 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM auth_keys WHERE failed_attempts > 0").await,
        0,
        "the refused post counted nothing"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.smtp.take().len(), 1, "the account-opened notice, once");

    eprintln!(
        "outage figures (PostgreSQL): known down {known_down:?} after the stop, slowest page while down {slowest:?}, \
         /readyz {readyz_took:?}, a request caught waiting {waited:?}, serving {recovered:?} after the restart, waiting mail sent {mail_after:?} after it"
    );
    let _ = stop_worker.send(true);
    app.finish().await;
}

/// SQLite on a full disk (a small tmpfs the test fills): a write that cannot be committed is
/// answered 503 with the same page, leaves nothing half-written (an auth key exists exactly when
/// its mail does), and once space is freed the node serves again by itself. A read-only file
/// cannot be simulated here: root ignores file modes, and a filesystem with the database open
/// refuses to be remounted read-only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_on_a_full_disk_answers_503_and_recovers_when_space_is_freed() {
    let Some(disk) = crate::helpers::procs::TinyDisk::mount("4m") else { return };
    let url = mypage::config::DatabaseUrl::new(format!("sqlite://{}", disk.path.join("mypage.db").display()));
    let app = crate::helpers::spawn_app_with(Db::Sqlite, move |s| s.database_url = url).await;
    app.register(NUMBER, "1990-04-15", None).await;
    let code = app.issue_code(NUMBER).await;
    let browser = app.browser();
    browser.consent().await;
    let csrf = browser.get("/opening/apply").await.csrf();

    let filler = disk.fill();
    let filled = Instant::now();
    // The application may still fit in space the database had already; either way the key and
    // its mail are written together or not at all.
    let form = [
        ("csrf", csrf.as_str()),
        ("email", EMAIL),
        ("job_seeker_number", NUMBER),
        ("birth_year", BIRTH.0),
        ("birth_month", BIRTH.1),
        ("birth_day", BIRTH.2),
        ("code", code.as_str()),
    ];
    let applied = browser.post("/opening/apply", &form).await;
    assert!(matches!(applied.status, 303 | 503), "{}", applied.body);
    // Consents are writes (each starts a session row): one of them soon meets the full disk.
    let mut refused = None;
    for _ in 0..500 {
        let visitor = crate::helpers::Browser::new(&app.base);
        let page = visitor.get("/opening/consent").await;
        if page.status == 503 {
            refused = Some(page);
            break;
        }
        assert_eq!(page.status, 200, "{}", page.body);
        visitor.get("/opening/documents/privacy").await;
        visitor.get("/opening/documents/terms").await;
        let agreed = visitor
            .post("/opening/consent", &[("csrf", &page.csrf()), ("agree_privacy", "yes"), ("agree_terms", "yes")])
            .await;
        if agreed.status == 503 {
            refused = Some(agreed);
            break;
        }
        agreed.assert_redirect("/opening/apply");
    }
    let refused = refused.expect("no write failed on the full disk");
    assert_eq!(refused.headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("5"));
    refused.assert_contains("ただいまご利用いただけません");
    assert_no_internals(&refused.body);
    let first_refusal = filled.elapsed();
    // The failed write asked for a probe. The probe is a small write of its own, and it may
    // still fit in the blocks the failed transaction had claimed before the disk ran out; then
    // the node is not marked down, and every write that does not fit keeps getting this 503.
    let marked = Instant::now();
    while !app.state.store.health().is_down() && marked.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let known_down = app.state.store.health().is_down();
    if known_down {
        let started = Instant::now();
        assert_eq!(browser.get("/login").await.status, 503);
        assert_eq!(browser.get("/readyz").await.status, 503);
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    std::fs::remove_file(&filler).unwrap();
    let freed = Instant::now();
    // Serving again means a write goes through again.
    loop {
        let visitor = crate::helpers::Browser::new(&app.base);
        let page = visitor.get("/opening/consent").await;
        if page.status == 200 {
            visitor.get("/opening/documents/privacy").await;
            visitor.get("/opening/documents/terms").await;
            let agreed = visitor
                .post("/opening/consent", &[("csrf", &page.csrf()), ("agree_privacy", "yes"), ("agree_terms", "yes")])
                .await;
            if agreed.status == 303 {
                break;
            }
        }
        assert!(freed.elapsed() < Duration::from_secs(5), "the node did not serve again within 5 s of freeing space");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let recovered = freed.elapsed();
    let keys = app.scalar("SELECT COUNT(*) FROM auth_keys").await;
    let mails = app.scalar("SELECT COUNT(*) FROM outbox WHERE kind LIKE '%auth_key%'").await;
    assert_eq!(keys, mails, "an auth key exists exactly when its mail does");
    assert_eq!(keys, i64::from(applied.status == 303));
    eprintln!(
        "outage figures (SQLite, full disk): application answered {}, first 503 {first_refusal:?} after filling, \
         node marked down by its probe: {known_down}, serving {recovered:?} after freeing space",
        applied.status
    );
    app.finish().await;
}

/// The pool checks a PostgreSQL connection only when it has been idle long enough to have gone
/// stale (not before every checkout): every pooled connection is dropped by the server while
/// idle, and after that idle second the next requests that read the database are served, not
/// answered 503 on a dead connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_the_server_dropped_while_idle_are_not_handed_to_requests() {
    let Some(db) = Db::postgres().await else { return };
    let Db::Postgres { admin_url, .. } = &db else { unreachable!() };
    let admin_url = admin_url.clone();
    let app = spawn_app(db).await;
    // Open a few connections at once, so more than one sits idle in the pool.
    let pool = app.state.store.pool();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(pool.acquire().await.unwrap());
    }
    let mut pids = Vec::new();
    for conn in &mut held {
        pids.push(sqlx::query_scalar::<_, i32>("SELECT pg_backend_pid()").fetch_one(&mut **conn).await.unwrap());
    }
    drop(held);
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    // Only these backends: other tests share the server.
    let dropped: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FILTER (WHERE pg_terminate_backend(pid)) FROM unnest($1::int4[]) AS pid")
            .bind(&pids)
            .fetch_one(&mut admin)
            .await
            .unwrap();
    assert_eq!(dropped, 3, "the server dropped every connection the pool held");
    tokio::time::sleep(Duration::from_millis(1200)).await;

    let browser = app.browser();
    for _ in 0..3 {
        // The document page reads the database on every request.
        let page = browser.get("/opening/documents/privacy").await;
        assert_eq!(page.status, 200, "{}", page.body);
    }
    assert!(!app.state.store.health().is_down(), "a stale connection is not an outage");
    app.finish().await;
}
