//! The staff console's security rules: a burst of parallel logins never gets more done than the
//! same logins one at a time (on both databases, across nodes), locks that cannot be extended
//! or raced, unlocking, the password change, the counter's change of a job seeker's email
//! ending everything tied to the old address, and the TOTP secret shown only to its owner.

use std::sync::Arc;
use std::time::Duration;

use mypage::flows::staff::Role;
use mypage::flows::staff_lock;
use tokio::sync::Barrier;

use crate::both_databases;
use crate::helpers::browser::Page;
use crate::helpers::{Browser, TestApp};
use crate::staff::{add_office, code_now, staff_browser, staff_login};

/// Like `both_databases!`, with the password lock lasting `$lock`.
macro_rules! both_databases_with_lock {
    ($name:ident, $lock:expr) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::helpers::Db::Sqlite;
                let app = $crate::helpers::spawn_app_with(db, |s| s.login_lock = $lock).await;
                super::$name(&app).await;
                app.finish().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = $crate::helpers::Db::postgres().await else { return };
                let app = $crate::helpers::spawn_app_with(db, |s| s.login_lock = $lock).await;
                super::$name(&app).await;
                app.finish().await;
            }
        }
    };
}

const PASSWORD: &str = "Counter#2026pw";

fn now_ms(app: &TestApp) -> i64 {
    mypage_domain::clock::Clock::now(&app.clock).as_millisecond()
}

/// Staff logins (`login_id`, password, TOTP code) posted all at once, alternating between the
/// first node and `other`: each browser loads the form first, then all wait at one barrier.
async fn burst(app: &TestApp, other: &str, logins: Vec<(String, String, String)>) -> Vec<Page> {
    let mut ready = Vec::new();
    for (i, login) in logins.into_iter().enumerate() {
        let browser = Browser::new(if i % 2 == 0 { &app.base } else { other });
        let csrf = browser.get("/staff/login").await.csrf();
        ready.push((browser, csrf, login));
    }
    let barrier = Arc::new(Barrier::new(ready.len()));
    let tasks: Vec<_> = ready
        .into_iter()
        .map(|(browser, csrf, (id, password, code))| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                browser
                    .post(
                        "/staff/login",
                        &[("csrf", &csrf), ("login_id", &id), ("password", &password), ("totp", &code)],
                    )
                    .await
            })
        })
        .collect();
    let mut pages = Vec::new();
    for task in tasks {
        pages.push(task.await.unwrap());
    }
    pages
}

fn wrong(n: usize) -> Vec<(String, String, String)> {
    (0..n).map(|i| ("admin".to_owned(), format!("Wrong#pass{i}"), "000000".to_owned())).collect()
}

async fn a_burst_of_wrong_passwords_across_two_nodes_counts_like_a_sequence_and_locks_once(app: &TestApp) {
    add_office(app, "01010", "ハローワーク釧路").await;
    let (_, secret) = staff_browser(app, "admin", Role::Admin, "01010").await;
    let node = app.add_node().await;
    let locked_at = now_ms(app);

    let pages = burst(app, &node.base, wrong(30)).await;
    assert!(pages.iter().all(|p| p.status == 422), "{:?}", pages.iter().map(|p| p.status).collect::<Vec<_>>());
    assert!(pages.iter().all(|p| p.contains("職員ID、パスワード、または認証コードが正しくありません")));

    // One at a time, the tenth failure locks and the other twenty find it locked.
    assert_eq!(app.scalar("SELECT failed_logins FROM staff WHERE login_id = 'admin'").await, 10);
    let until = locked_at + 30 * 60 * 1000;
    assert_eq!(app.scalar("SELECT locked_until FROM staff WHERE login_id = 'admin'").await, until);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'staff.locked'").await, 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'staff.login_failed'").await, 30);
    let counted = "SELECT COUNT(*) FROM audit_events WHERE kind = 'staff.login_failed' AND detail LIKE 'attempt %'";
    assert_eq!(app.scalar(counted).await, 10);
    let refused = "SELECT COUNT(*) FROM audit_events WHERE kind = 'staff.login_failed' \
                   AND detail = 'not counted: locked' AND actor = 'staff:admin' AND client_addr = '127.0.0.1'";
    assert_eq!(app.scalar(refused).await, 20);

    // Locked means locked: the right password and a fresh code change nothing.
    app.advance(Duration::from_secs(30));
    let browser = app.browser();
    staff_login(&browser, "admin", &code_now(app, &secret)).await.assert_contains("正しくありません");
    assert_eq!(app.scalar("SELECT locked_until FROM staff WHERE login_id = 'admin'").await, until);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'staff.login'").await, 0);
}
both_databases!(a_burst_of_wrong_passwords_across_two_nodes_counts_like_a_sequence_and_locks_once);

async fn failures_during_a_lock_neither_extend_it_nor_start_a_new_one(app: &TestApp) {
    add_office(app, "01010", "ハローワーク釧路").await;
    let (_, secret) = staff_browser(app, "admin", Role::Admin, "01010").await;
    let node = app.add_node().await;
    let browser = app.browser();
    for i in 0..10 {
        let form = browser.get("/staff/login").await;
        let fields = [("csrf", form.csrf()), ("login_id", "admin".into()), ("password", format!("Wrong#{i}"))];
        let fields: Vec<_> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(browser.post("/staff/login", &fields).await.status, 422);
    }
    let until = now_ms(app) + 60_000;
    assert_eq!(app.scalar("SELECT locked_until FROM staff WHERE login_id = 'admin'").await, until);

    // Half-way through the lock, twenty more failures (ten per node) come in at once.
    app.advance(Duration::from_secs(30));
    burst(app, &node.base, wrong(20)).await;
    assert_eq!(app.scalar("SELECT locked_until FROM staff WHERE login_id = 'admin'").await, until);
    assert_eq!(app.scalar("SELECT failed_logins FROM staff WHERE login_id = 'admin'").await, 10);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'staff.locked'").await, 1);

    // Past the first lock's end the right credentials log in: nothing re-locked it.
    app.advance(Duration::from_secs(31));
    staff_login(&browser, "admin", &code_now(app, &secret)).await.assert_redirect("/staff");
    assert_eq!(app.scalar("SELECT failed_logins FROM staff WHERE login_id = 'admin'").await, 0);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM staff WHERE locked_until IS NOT NULL").await, 0);
}
both_databases_with_lock!(
    failures_during_a_lock_neither_extend_it_nor_start_a_new_one,
    std::time::Duration::from_secs(60)
);

async fn the_right_password_amid_a_burst_is_never_logged_in_past_someone_elses_lock(app: &TestApp) {
    add_office(app, "01010", "ハローワーク釧路").await;
    let (_, secret) = staff_browser(app, "admin", Role::Admin, "01010").await;
    let node = app.add_node().await;
    app.advance(Duration::from_secs(30));
    let mut logins = wrong(40);
    logins.insert(21, ("admin".to_owned(), PASSWORD.to_owned(), code_now(app, &secret)));
    let pages = burst(app, &node.base, logins).await;

    let right = &pages[21];
    let logged_in = right.status == 303;
    assert!(logged_in || right.status == 422, "{right:?}");
    assert!(pages.iter().enumerate().all(|(i, p)| i == 21 || p.status == 422));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'staff.login'").await, i64::from(logged_in));
    let failures = app.scalar("SELECT failed_logins FROM staff WHERE login_id = 'admin'").await;
    let locked = app.scalar("SELECT COUNT(*) FROM staff WHERE locked_until IS NOT NULL").await == 1;
    let lock_events = app.scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'staff.locked'").await;
    let counted = app
        .scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'staff.login_failed' AND detail LIKE 'attempt %'")
        .await;
    // A lock is set exactly when ten failures were counted in a row, and audited once.
    assert_eq!(locked, failures == 10, "failures {failures}");
    assert_eq!(lock_events, i64::from(locked));
    if logged_in {
        // Decided before anyone else's tenth failure: at most nine counted failures came before
        // it (the rest were counted afresh after it cleared the count).
        right.assert_redirect("/staff");
        assert!(counted - failures <= 9, "counted {counted}, failures after the login {failures}");
    } else {
        // Refused: nothing cleared the count, so exactly ten attempts counted and locked.
        assert_eq!((failures, counted, locked), (10, 10, true));
    }
}
both_databases!(the_right_password_amid_a_burst_is_never_logged_in_past_someone_elses_lock);

async fn a_right_password_decided_after_another_failure_locked_is_refused(app: &TestApp) {
    add_office(app, "01010", "ハローワーク釧路").await;
    staff_browser(app, "admin", Role::Admin, "01010").await;
    let id = app.scalar("SELECT id FROM staff WHERE login_id = 'admin'").await;
    let now = mypage_domain::clock::Clock::now(&app.clock);
    // The right attempt reserves first; nine wrong ones follow while its hash runs.
    let right = staff_lock::reserve(&app.state, id, now).await.unwrap().unwrap();
    let mut last = None;
    for _ in 0..9 {
        last = staff_lock::reserve(&app.state, id, now).await.unwrap();
    }
    let tenth = last.unwrap();
    assert_eq!((right.count, right.own_lock), (1, None));
    assert_eq!(tenth.count, 10);
    assert!(tenth.own_lock.is_some(), "the tenth reservation sets the lock itself");
    assert_eq!(staff_lock::reserve(&app.state, id, now).await.unwrap(), None, "locked: not counted");
    // The right one is decided after the lock: refused, and the lock stays.
    assert!(!staff_lock::accept(&app.state, id, &right, None, now).await.unwrap());
    assert_eq!(app.scalar("SELECT failed_logins FROM staff").await, 10);
    // The lock's own reservation, had its password been right, lifts its provisional lock.
    assert!(staff_lock::accept(&app.state, id, &tenth, None, now).await.unwrap());
    assert_eq!(app.scalar("SELECT COUNT(*) FROM staff WHERE locked_until IS NULL AND failed_logins = 0").await, 1);
}
both_databases!(a_right_password_decided_after_another_failure_locked_is_refused);

async fn unknown_staff_ids_are_audited_shortened_and_printable(app: &TestApp) {
    add_office(app, "01010", "ハローワーク釧路").await;
    let browser = app.browser();
    let typed = format!("nobody\u{7}{}", "x".repeat(40));
    let form = browser.get("/staff/login").await;
    let page = browser
        .post("/staff/login", &[("csrf", &form.csrf()), ("login_id", &typed), ("password", "x"), ("totp", "1")])
        .await;
    assert_eq!(page.status, 422);
    let (actor, detail, addr): (String, String, String) =
        sqlx::query_as("SELECT actor, detail, client_addr FROM audit_events WHERE kind = 'staff.login_failed'")
            .fetch_one(app.state.store.pool())
            .await
            .unwrap();
    assert_eq!(actor, "staff:?");
    assert_eq!(addr, "127.0.0.1");
    assert_eq!(detail, format!("unknown staff ID \"nobody?{}…\"", "x".repeat(25)));
}
both_databases!(unknown_staff_ids_are_audited_shortened_and_printable);

/// The one-time password a members page shows after creating or reissuing.
fn one_time_password_shown(page: &Page) -> String {
    let after = page.body.split("一時パスワード: <code>").nth(1).unwrap_or_else(|| panic!("{}", page.body));
    // One-time passwords are URL-safe characters and `#`: nothing the HTML escapes.
    after.split("</code>").next().unwrap().to_owned()
}

/// The member's TOTP secret as stored (sealed), in the base32 an authenticator app shows.
async fn stored_totp_base32(app: &TestApp, login_id: &str) -> String {
    let sealed: String = sqlx::query_scalar("SELECT totp_secret FROM staff WHERE login_id = $1")
        .bind(login_id)
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    let sealed = mypage::totp::SealedTotp { text: sealed, login_id: login_id.to_owned() };
    mypage::totp::TotpSecret::open(&sealed, &app.state.keys).unwrap().base32()
}

#[track_caller]
fn assert_no_totp_secret(page: &Page, base32: &str) {
    assert!(!page.contains("otpauth://"), "no otpauth URL for the admin:\n{}", page.body);
    assert!(!page.contains(base32), "no TOTP secret for the admin:\n{}", page.body);
    assert!(!page.contains("<svg"), "no QR code for the admin:\n{}", page.body);
}

async fn an_admin_sees_only_the_one_time_password_and_the_member_enrols_their_own_totp(app: &TestApp) {
    add_office(app, "01010", "ハローワーク釧路").await;
    let (admin, _) = staff_browser(app, "admin", Role::Admin, "01010").await;
    let csrf = admin.get("/staff/members").await.csrf();
    let created = admin
        .post(
            "/staff/members",
            &[
                ("csrf", &csrf),
                ("login_id", "kushiro2"),
                ("name", "釧路 次郎"),
                ("role", "counter"),
                ("office", "01010"),
            ],
        )
        .await;
    assert_eq!(created.status, 200);
    let first_secret = stored_totp_base32(app, "kushiro2").await;
    assert_no_totp_secret(&created, &first_secret);

    // The member's own first login shows the QR code of the stored secret.
    let member = app.browser();
    let form = member.get("/staff/login").await;
    let password = one_time_password_shown(&created);
    let fields = [("csrf", form.csrf()), ("login_id", "kushiro2".into()), ("password", password), ("totp", "".into())];
    let fields: Vec<_> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    member.post("/staff/login", &fields).await.assert_redirect("/staff/enroll");
    let enroll = member.get("/staff/enroll").await;
    enroll.assert_contains("<svg");
    assert_eq!(crate::staff::secret_shown(&enroll).base32(), first_secret);

    // A reissue: a new one-time password only, and a fresh secret the member enrols again.
    let id = app.scalar("SELECT id FROM staff WHERE login_id = 'kushiro2'").await;
    let reset = admin.post(&format!("/staff/members/{id}/reset"), &[("csrf", &csrf)]).await;
    assert_eq!(reset.status, 200);
    let second_secret = stored_totp_base32(app, "kushiro2").await;
    assert_ne!(first_secret, second_secret);
    assert_no_totp_secret(&reset, &second_secret);
    assert_no_totp_secret(&reset, &first_secret);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM staff WHERE login_id = 'kushiro2' AND totp_confirmed_at IS NULL").await,
        1
    );
    member.get("/staff/enroll").await.assert_redirect("/staff/login");
    let form = member.get("/staff/login").await;
    let password = one_time_password_shown(&reset);
    let fields = [("csrf", form.csrf()), ("login_id", "kushiro2".into()), ("password", password), ("totp", "".into())];
    let fields: Vec<_> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    member.post("/staff/login", &fields).await.assert_redirect("/staff/enroll");
    assert_eq!(crate::staff::secret_shown(&member.get("/staff/enroll").await).base32(), second_secret);
}
both_databases!(an_admin_sees_only_the_one_time_password_and_the_member_enrols_their_own_totp);

/// Posts the staff login form with `password` and `code`.
async fn login_with(browser: &Browser, login_id: &str, password: &str, code: &str) -> Page {
    let form = browser.get("/staff/login").await;
    browser
        .post("/staff/login", &[("csrf", &form.csrf()), ("login_id", login_id), ("password", password), ("totp", code)])
        .await
}

async fn lock(app: &TestApp, login_id: &str) {
    let browser = app.browser();
    for i in 0..10 {
        assert_eq!(login_with(&browser, login_id, &format!("Wrong#{i}"), "000000").await.status, 422);
    }
    let sql = "SELECT COUNT(*) FROM staff WHERE locked_until IS NOT NULL";
    assert_eq!(app.scalar(sql).await, 1);
}

async fn an_admin_lifts_a_members_lock_from_the_staff_list(app: &TestApp) {
    add_office(app, "01010", "ハローワーク釧路").await;
    let (admin, _) = staff_browser(app, "admin", Role::Admin, "01010").await;
    let (clerk, secret) = staff_browser(app, "kushiro", Role::Counter, "01010").await;
    let id = app.scalar("SELECT id FROM staff WHERE login_id = 'kushiro'").await;
    lock(app, "kushiro").await;

    // 10:00 JST plus the 30-minute lock.
    let list = admin.get("/staff/members").await;
    list.assert_contains("2026年11月25日(水) 10:30までログイン停止中");
    list.assert_contains(&format!("action=\"/staff/members/{id}/unlock\""));
    let csrf = list.csrf();
    // Only admins, and only with the form's CSRF token.
    let clerk_csrf = clerk.get("/staff").await.csrf();
    assert_eq!(clerk.post(&format!("/staff/members/{id}/unlock"), &[("csrf", &clerk_csrf)]).await.status, 403);
    assert_eq!(admin.post(&format!("/staff/members/{id}/unlock"), &[("csrf", "forged")]).await.status, 403);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM staff WHERE locked_until IS NOT NULL").await, 1);

    admin
        .post(&format!("/staff/members/{id}/unlock"), &[("csrf", &csrf)])
        .await
        .assert_redirect("/staff/members?done=unlock");
    let after = admin.get("/staff/members?done=unlock").await;
    after.assert_contains("ログイン停止を解除しました。");
    assert!(!after.contains("ログイン停止中"), "no lock shown any more");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM staff WHERE locked_until IS NULL AND failed_logins = 0").await, 2);
    let by_admin = "SELECT COUNT(*) FROM audit_events WHERE kind = 'staff.unlocked' AND actor = 'staff:admin' \
                    AND detail = 'staff kushiro'";
    assert_eq!(app.scalar(by_admin).await, 1);
    app.advance(Duration::from_secs(30));
    login_with(&app.browser(), "kushiro", PASSWORD, &code_now(app, &secret)).await.assert_redirect("/staff");
}
both_databases!(an_admin_lifts_a_members_lock_from_the_staff_list);

async fn a_password_change_needs_the_current_password_and_ends_the_other_sessions(app: &TestApp) {
    add_office(app, "01010", "ハローワーク釧路").await;
    let (here, secret) = staff_browser(app, "kushiro", Role::Counter, "01010").await;
    app.advance(Duration::from_secs(30));
    let elsewhere = app.browser();
    login_with(&elsewhere, "kushiro", PASSWORD, &code_now(app, &secret)).await.assert_redirect("/staff");

    let form = here.get("/staff/password").await;
    form.assert_contains("現在のパスワード");
    let wrong = here
        .post(
            "/staff/password",
            &[
                ("csrf", &form.csrf()),
                ("current_password", "Not#theCurrent1"),
                ("password", "Kushiro#2027pw"),
                ("password_confirmation", "Kushiro#2027pw"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422);
    wrong.assert_contains(
        "<div class=\"error-message\" id=\"current_password-error\"><p>現在のパスワードが正しくありません。",
    );
    wrong.assert_contains("aria-invalid=\"true\"");
    assert!(!wrong.contains("Not#theCurrent1") && !wrong.contains("Kushiro#2027pw"), "passwords are never echoed");
    assert_eq!(elsewhere.get("/staff").await.status, 200, "nothing changed yet");

    let changed = here
        .post(
            "/staff/password",
            &[
                ("csrf", &form.csrf()),
                ("current_password", PASSWORD),
                ("password", "Kushiro#2027pw"),
                ("password_confirmation", "Kushiro#2027pw"),
            ],
        )
        .await;
    changed.assert_redirect("/staff");
    assert_eq!(here.get("/staff").await.status, 200, "this session stays");
    elsewhere.get("/staff").await.assert_redirect("/staff/login");
    let audited = "SELECT COUNT(*) FROM audit_events WHERE kind = 'staff.password_changed' AND actor = 'staff:kushiro' \
                   AND detail = 'other sessions ended: 1' AND client_addr = '127.0.0.1'";
    assert_eq!(app.scalar(audited).await, 1);

    app.advance(Duration::from_secs(30));
    login_with(&app.browser(), "kushiro", PASSWORD, &code_now(app, &secret)).await.assert_contains("正しくありません");
    app.advance(Duration::from_secs(30));
    login_with(&app.browser(), "kushiro", "Kushiro#2027pw", &code_now(app, &secret)).await.assert_redirect("/staff");
}
both_databases!(a_password_change_needs_the_current_password_and_ends_the_other_sessions);

async fn the_forced_first_change_needs_the_one_time_password_too(app: &TestApp) {
    add_office(app, "01010", "ハローワーク釧路").await;
    let credentials = mypage::flows::staff::create(&app.state, "kushiro", "釧路", Role::Counter, "01010", "test")
        .await
        .unwrap()
        .unwrap();
    let one_time = credentials.password.expose().to_owned();
    let browser = app.browser();
    login_with(&browser, "kushiro", &one_time, "").await.assert_redirect("/staff/enroll");
    let enroll = browser.get("/staff/enroll").await;
    let secret = crate::staff::secret_shown(&enroll);
    browser
        .post("/staff/enroll", &[("csrf", &enroll.csrf()), ("totp", &code_now(app, &secret))])
        .await
        .assert_redirect("/staff/password");
    let form = browser.get("/staff/password").await;
    form.assert_contains("管理者から渡された一時パスワード");
    let fields = |current: &'static str| {
        [("current_password", current), ("password", "Kushiro#2027pw"), ("password_confirmation", "Kushiro#2027pw")]
    };
    for current in ["", "Kushiro#2027pw"] {
        let mut form_fields = vec![("csrf", form.csrf())];
        form_fields.extend(fields(current).iter().map(|(k, v)| (*k, (*v).to_owned())));
        let refs: Vec<_> = form_fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let refused = browser.post("/staff/password", &refs).await;
        assert_eq!(refused.status, 422, "current password {current:?} accepted");
        refused.assert_contains("現在のパスワードが正しくありません。");
    }
    browser.get("/staff").await.assert_redirect("/staff/password");
    let ok = [
        ("csrf", form.csrf()),
        ("current_password", one_time),
        ("password", "Kushiro#2027pw".into()),
        ("password_confirmation", "Kushiro#2027pw".into()),
    ];
    let refs: Vec<_> = ok.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post("/staff/password", &refs).await.assert_redirect("/staff");
    assert_eq!(browser.get("/staff").await.status, 200);
}
both_databases!(the_forced_first_change_needs_the_one_time_password_too);

/// Runs the `mypage` binary on the SQLite database in `dir`.
fn mypage_cli(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_mypage"))
        .args(args)
        .env("MYPAGE_DATABASE_URL", format!("sqlite://{}", dir.join("db.sqlite").display()))
        .env("MYPAGE_DATA_DIR", dir)
        .env("MYPAGE_MAIL", format!("file:{}", dir.join("mail").display()))
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_cli_creates_the_first_admin_with_its_totp_url_and_unlocks_staff() {
    use sqlx::Connection as _;
    let dir = std::env::temp_dir().join(format!("mypage-cli-{}", mypage::tokens::random_token().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    let stderr = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(mypage_cli(&dir, &["offices", "add", "--number", "01010", "--name", "ハローワーク釧路"]).status.success());
    let created = mypage_cli(&dir, &["admin", "create", "--id", "admin", "--office", "01010", "--json"]);
    assert!(created.status.success(), "{}", stderr(&created));
    let json: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    assert!(json["otpauth_url"].as_str().unwrap().starts_with("otpauth://totp/"), "{json}");
    assert_eq!(json["password"].as_str().unwrap().len(), 16);

    let url = format!("sqlite://{}", dir.join("db.sqlite").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("UPDATE staff SET failed_logins = 10, locked_until = 9999999999999").execute(&mut db).await.unwrap();
    let unlocked = mypage_cli(&dir, &["staff", "unlock", "admin"]);
    assert!(unlocked.status.success(), "{}", stderr(&unlocked));
    let (failures, until): (i64, Option<i64>) =
        sqlx::query_as("SELECT failed_logins, locked_until FROM staff").fetch_one(&mut db).await.unwrap();
    assert_eq!((failures, until), (0, None));
    let audited: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'staff.unlocked' AND actor = 'cli'")
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!(audited, 1);

    let unknown = mypage_cli(&dir, &["staff", "unlock", "nobody"]);
    assert!(!unknown.status.success());
    assert_eq!(stderr(&unknown).lines().count(), 1, "{}", stderr(&unknown));
    assert!(stderr(&unknown).contains("no staff member with staff ID \"nobody\""), "{}", stderr(&unknown));
    db.close().await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

const SEEKER: &str = "60049-58004503";
const SEEKER_PASSWORD: &str = "Kushiro#2026x";

/// Logs a job seeker in through the one-time password (the latest mail).
async fn seeker_logged_in(app: &TestApp, browser: &Browser, email: &str, remember: bool) {
    browser.login(email, SEEKER_PASSWORD).await.assert_redirect("/login/otp");
    let otp = app.deliver_mail().await.pop().unwrap().code();
    browser.submit_otp(&otp, remember).await.assert_redirect("/mypage");
}

async fn the_counters_email_change_ends_everything_tied_to_the_old_address_and_tells_both(app: &TestApp) {
    add_office(app, "01010", "ハローワーク釧路").await;
    app.open_account(SEEKER, ("1990", "4", "15"), "taro@example.jp", SEEKER_PASSWORD).await;
    let seeker_id = app.scalar("SELECT id FROM job_seekers").await;
    let account_id = app.scalar("SELECT id FROM accounts").await;

    // A remembered phone, logged in; the token works (a second login skips the OTP).
    let phone = app.browser();
    seeker_logged_in(app, &phone, "taro@example.jp", true).await;
    let csrf = phone.get("/mypage").await.csrf();
    phone.post("/logout", &[("csrf", &csrf)]).await.assert_redirect("/login?notice=logged_out");
    phone.login("taro@example.jp", SEEKER_PASSWORD).await.assert_redirect("/mypage");
    // On it, a pending change of login ID with its code mailed.
    let csrf = phone.get("/mypage/settings").await.csrf();
    phone
        .post(
            "/mypage/settings/email",
            &[("csrf", &csrf), ("email", "taro.pending@example.jp"), ("email_password", SEEKER_PASSWORD)],
        )
        .await
        .assert_redirect("/mypage/settings/email/confirm");
    let change_code = app.deliver_mail().await.pop().unwrap().code();
    let change_id = app.scalar("SELECT id FROM email_changes").await;
    // A second browser waits for its one-time password.
    let pc = app.browser();
    pc.login("taro@example.jp", SEEKER_PASSWORD).await.assert_redirect("/login/otp");
    let otp = app.deliver_mail().await.pop().unwrap().code();
    // A third has asked for a recovery key.
    let tablet = app.browser();
    let form = tablet.get("/login/forgot").await;
    let forgot = [
        ("csrf", form.csrf()),
        ("email", "taro@example.jp".into()),
        ("job_seeker_number", SEEKER.into()),
        ("birth_year", "1990".into()),
        ("birth_month", "4".into()),
        ("birth_day", "15".into()),
    ];
    let forgot: Vec<_> = forgot.iter().map(|(k, v)| (*k, v.as_str())).collect();
    tablet.post("/login/forgot", &forgot).await.assert_redirect("/login/forgot/password");
    let key = app.deliver_mail().await.pop().unwrap().code();

    // The counter changes the address: the person lost the old mailbox.
    let (clerk, _) = staff_browser(app, "kushiro", Role::Counter, "01010").await;
    let csrf = clerk.get("/staff").await.csrf();
    clerk
        .post(&format!("/staff/seekers/{seeker_id}/email"), &[("csrf", &csrf), ("email", "taro.new@example.jp")])
        .await
        .assert_redirect(&format!("/staff/seekers/{seeker_id}?done=email"));

    // Both addresses are told, in the account's language; the old one does not learn the new one.
    let mut mails = app.deliver_mail().await;
    mails.sort_by(|a, b| a.to.cmp(&b.to));
    assert_eq!(mails.iter().map(|m| m.to.as_str()).collect::<Vec<_>>(), ["taro.new@example.jp", "taro@example.jp"]);
    assert!(mails[0].subject.contains("ログインIDがこのメールアドレスになりました"), "{}", mails[0].subject);
    assert!(mails[0].body.contains("ハローワーク釧路") && mails[0].body.contains("/login/forgot"), "{}", mails[0].body);
    assert!(mails[1].subject.contains("窓口でログインIDを変更しました"), "{}", mails[1].subject);
    assert!(mails[1].body.contains("ハローワーク釧路の窓口"), "{}", mails[1].body);
    assert!(!mails[1].body.contains("taro.new"), "{}", mails[1].body);

    // In the same transaction: nothing of the old address is left alive.
    for sql in [
        "SELECT COUNT(*) FROM sessions WHERE account_id IS NOT NULL",
        "SELECT COUNT(*) FROM remembered_browsers WHERE revoked_at IS NULL",
        "SELECT COUNT(*) FROM auth_keys WHERE used_at IS NULL AND voided_at IS NULL",
        "SELECT COUNT(*) FROM login_challenges WHERE used_at IS NULL AND voided_at IS NULL",
        "SELECT COUNT(*) FROM email_changes WHERE used_at IS NULL AND voided_at IS NULL",
    ] {
        assert_eq!(app.scalar(sql).await, 0, "{sql}");
    }
    // The logged-in phone is logged out; its remembered token no longer skips the OTP.
    phone.get("/mypage").await.assert_redirect("/login?notice=signed_out");
    phone.login("taro.new@example.jp", SEEKER_PASSWORD).await.assert_redirect("/login/otp");
    app.deliver_mail().await;
    // The waiting one-time password, the recovery key and the email-change code are void.
    pc.submit_otp(&otp, false).await.assert_redirect("/login?notice=otp_void");
    let form = tablet.get("/login/forgot/password").await;
    let reset = [
        ("csrf", form.csrf()),
        ("password", "Akan!Lake2027".into()),
        ("password_confirmation", "Akan!Lake2027".into()),
        ("auth_key", key),
    ];
    let reset: Vec<_> = reset.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_ne!(tablet.post("/login/forgot/password", &reset).await.location.as_deref(), Some("/login/forgot/done"));
    let code = mypage_domain::six_digits::SixDigitCode::parse(&change_code).unwrap();
    let confirm = mypage::flows::settings::confirm_email_change(
        &app.state,
        account_id,
        "no-such-session",
        change_id,
        &code,
        "127.0.0.1",
        mypage::i18n::Lang::Ja,
    )
    .await
    .unwrap();
    assert_eq!(confirm, mypage::flows::settings::EmailConfirm::Void);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM accounts WHERE email = 'taro.new@example.jp'").await, 1);
    app.browser().login("taro@example.jp", SEEKER_PASSWORD).await.assert_contains("正しくありません");

    let detail: String = sqlx::query_scalar("SELECT detail FROM audit_events WHERE kind = 'job_seeker.email_changed'")
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    assert!(detail.contains("from taro@example.jp to taro.new@example.jp"), "{detail}");
}
both_databases!(the_counters_email_change_ends_everything_tied_to_the_old_address_and_tells_both);

async fn a_burst_of_wrong_current_passwords_checks_ten_and_then_none(app: &TestApp) {
    add_office(app, "01010", "ハローワーク釧路").await;
    let (here, _) = staff_browser(app, "kushiro", Role::Counter, "01010").await;
    let csrf = here.get("/staff/password").await.csrf();
    let cookie = here.cookie_header();
    let node = app.add_node().await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(15));
    let tasks: Vec<_> = (0..15)
        .map(|i| {
            let base = if i % 2 == 0 { app.base.clone() } else { node.base.clone() };
            let (cookie, csrf, barrier) = (cookie.clone(), csrf.clone(), barrier.clone());
            tokio::spawn(async move {
                let fields = [
                    ("csrf", csrf.as_str()),
                    ("current_password", "Not#theCurrent1"),
                    ("password", "Kushiro#2027pw"),
                    ("password_confirmation", "Kushiro#2027pw"),
                ];
                barrier.wait().await;
                Browser::new(&base).post_with_headers("/staff/password", &[("cookie", &cookie)], &fields).await
            })
        })
        .collect();
    let mut pages = Vec::new();
    for t in tasks {
        pages.push(t.await.unwrap());
    }
    let checked = pages.iter().filter(|p| p.contains("現在のパスワードが正しくありません")).count();
    let limited = pages.iter().filter(|p| p.contains("パスワードの変更を一時的に停止")).count();
    assert_eq!((checked, limited), (10, 5), "ten current passwords checked per hour, then none");
    let right = [
        ("csrf", csrf.as_str()),
        ("current_password", PASSWORD),
        ("password", "Kushiro#2027pw"),
        ("password_confirmation", "Kushiro#2027pw"),
    ];
    here.post("/staff/password", &right).await.assert_contains("パスワードの変更を一時的に停止");
    // An hour later (the session kept alive meanwhile) the right one is checked and works.
    for _ in 0..3 {
        app.advance(Duration::from_secs(20 * 60 + 1));
        assert_eq!(here.get("/staff").await.status, 200);
    }
    here.post("/staff/password", &right).await.assert_redirect("/staff");
}
both_databases!(a_burst_of_wrong_current_passwords_checks_ten_and_then_none);
