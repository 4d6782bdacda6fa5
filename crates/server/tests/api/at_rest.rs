//! Data at rest and the secret nodes share: what the service leaves on disk and in the database
//! holds no code in clear and is private to its user; a node with another secret refuses to start.

use std::sync::Arc;

use mypage::config::Secret;
use mypage::startup;

use crate::both_databases;
use crate::helpers::TestApp;

const OTHER_SECRET: &str = "another-server-secret-that-is-long-enough";

async fn a_node_with_another_secret_refuses_to_start_and_one_with_the_same_secret_starts(app: &TestApp) {
    let mut settings = app.node_settings();
    settings.secret = Some(Secret(OTHER_SECRET.to_owned()));
    let Err(refused) = startup::build_state(settings, Arc::new(app.clock.clone())).await else {
        panic!("a node with another secret started");
    };
    let reason = format!("{refused:#}");
    assert!(reason.contains("MYPAGE_SECRET") && reason.contains("every node"), "{reason}");
    assert_eq!(reason.lines().count(), 1, "{reason}");
    let node = app.add_node().await;
    assert_eq!(reqwest::get(format!("{}/readyz", node.base)).await.unwrap().status(), 200);
}
both_databases!(a_node_with_another_secret_refuses_to_start_and_one_with_the_same_secret_starts);

async fn nodes_starting_together_with_different_secrets_agree_on_one(app: &TestApp) {
    // As on a fresh database: no fingerprint yet, two nodes racing to record theirs.
    sqlx::query("DELETE FROM server_facts WHERE name = 'secret_fingerprint'")
        .execute(app.state.store.pool())
        .await
        .unwrap();
    let mut other = app.node_settings();
    other.secret = Some(Secret(OTHER_SECRET.to_owned()));
    let (a, b) = tokio::join!(
        startup::build_state(app.node_settings(), Arc::new(app.clock.clone())),
        startup::build_state(other, Arc::new(app.clock.clone())),
    );
    assert!(a.is_ok() != b.is_ok(), "exactly one of the two starts: {:?} / {:?}", a.err(), b.err());
    let facts = app.scalar("SELECT COUNT(*) FROM server_facts WHERE name = 'secret_fingerprint'").await;
    assert_eq!(facts, 1);
    for state in [a, b].into_iter().flatten() {
        state.store.close().await;
    }
}
both_databases!(nodes_starting_together_with_different_secrets_agree_on_one);

const NUMBER: &str = "60049-58004503";
const BIRTH: (&str, &str, &str) = ("1990", "4", "15");
const EMAIL: &str = "taro@example.jp";
const PASSWORD: &str = "Kushiro#2026x";

/// Whether `code` stands in `bytes` as ASCII on its own (not inside a longer run of hex digits,
/// where a keyed hash or a token might hold it by chance).
fn shows_in_clear(bytes: &[u8], code: &str) -> bool {
    let code = code.as_bytes();
    bytes.windows(code.len()).enumerate().any(|(at, w)| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + code.len()).copied();
        w == code && !before.is_some_and(|b| b.is_ascii_hexdigit()) && !after.is_some_and(|b| b.is_ascii_hexdigit())
    })
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_auth_key_or_one_time_password_is_readable_in_the_sqlite_files() {
    let app = crate::helpers::spawn_app(crate::helpers::Db::Sqlite).await;
    app.register(NUMBER, "1990-04-15", None).await;
    let code = app.issue_code(NUMBER).await;
    let browser = app.browser();
    browser.consent().await;
    browser.apply(EMAIL, NUMBER, BIRTH, &code).await.assert_redirect("/opening/password");
    let key = app.deliver_mail().await.pop().expect("auth key mail").code();
    browser.register_password(PASSWORD, PASSWORD, &key).await.assert_redirect("/opening/done");
    app.deliver_mail().await;
    let pc = app.browser();
    pc.login(EMAIL, PASSWORD).await.assert_redirect("/login/otp");
    let otp = app.deliver_mail().await.pop().expect("one-time password mail").code();
    // One mail is left unsent, as a crash before delivery would leave it.
    let phone = app.browser();
    phone.login(EMAIL, PASSWORD).await.assert_redirect("/login/otp");
    let pending = app.scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").await;
    assert_eq!(pending, 1);
    let unsent = app.deliver_mail().await.pop().expect("second one-time password mail").code();

    let db = std::path::PathBuf::from(app.db_url.expose().trim_start_matches("sqlite://"));
    let files: Vec<_> = ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| std::path::PathBuf::from(format!("{}{suffix}", db.display())))
        .collect();
    let mut all = Vec::new();
    for file in &files {
        all.extend(std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display())));
        #[cfg(unix)]
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    assert!(all.len() > 4096, "the files were read");
    assert!(shows_in_clear(&all, NUMBER), "the search finds what is stored in clear");
    for (what, code) in [("auth key", &key), ("one-time password", &otp), ("unsent one-time password", &unsent)] {
        assert!(!shows_in_clear(&all, code), "the {what} {code} is readable in the database files");
    }
    app.finish().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_creates_its_folders_0700_and_its_files_0600() {
    let mut root = std::path::PathBuf::new();
    let app = crate::helpers::spawn_app_with(crate::helpers::Db::Sqlite, |s| {
        root = s.data_dir.clone();
        s.data_dir = root.join("data");
        s.secret = None;
        s.database_url = mypage::config::DatabaseUrl::new(format!("sqlite://{}", root.join("db/mypage.db").display()));
        s.mail = mypage::config::MailTransport::File(root.join("mail"));
    })
    .await;
    app.register(NUMBER, "1990-04-15", None).await;
    let code = app.issue_code(NUMBER).await;
    let browser = app.browser();
    browser.consent().await;
    browser.apply(EMAIL, NUMBER, BIRTH, &code).await.assert_redirect("/opening/password");
    assert_eq!(mypage::mail::worker::deliver_due(&app.state).await.unwrap(), 1);

    for dir in ["data", "db", "mail"] {
        assert_eq!(mode(&root.join(dir)), 0o700, "{dir}");
    }
    for file in ["data/secret.key", "db/mypage.db", "db/mypage.db-wal", "db/mypage.db-shm"] {
        assert_eq!(mode(&root.join(file)), 0o600, "{file}");
    }
    let mails: Vec<_> = std::fs::read_dir(root.join("mail")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].extension().is_some_and(|e| e == "eml"));
    assert_eq!(mode(&mails[0]), 0o600);
    app.finish().await;
}
