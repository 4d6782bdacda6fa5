//! An admin's setting that requires passkeys for the staff of an office: the setting and its
//! audit, the password login it refuses, the one page a member without a passkey may use until
//! they add one, the password sessions it ends, and the last passkey it keeps (also against a
//! burst of removals over two nodes).

use crate::both_databases;
use crate::helpers::burst::{self, Prepared, release_together};
use crate::helpers::{Browser, TestApp};
use crate::staff::{add_office, code_now, staff_browser, staff_login};
use crate::staff_passkeys::{add_passkey, assert_logged_in, events, passkey_login, staff_passkeys};
use mypage::flows::staff::Role;

const OFFICE: &str = "01010";
/// The admins' own office, which never requires passkeys here.
const HEAD_OFFICE: &str = "01020";
const REQUIRED: &str = "この安定所の職員は、パスキーでログインしてください。";
const LAST_HINT: &str = "最後の1つは削除できません";
const DUE: &str = "この安定所では、職員のログインにパスキーが必要です。";

async fn office_id(app: &TestApp, number: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM offices WHERE number = $1")
        .bind(number)
        .fetch_one(app.state.store.pool())
        .await
        .unwrap()
}

/// The admin saves office `number` on 「安定所」 with passkeys required or not.
async fn set_required(app: &TestApp, admin: &Browser, number: &str, required: bool) {
    let id = office_id(app, number).await;
    let csrf = admin.get("/staff/offices").await.csrf();
    let mut form = vec![("csrf", csrf.as_str()), ("name", "ハローワーク釧路"), ("notice", "")];
    if required {
        form.push(("passkeys_required", "on"));
    }
    admin.post(&format!("/staff/offices/{id}"), &form).await.assert_redirect("/staff/offices");
}

/// Two offices, an admin of the head office, and a counter clerk of `OFFICE`.
async fn setting(app: &TestApp) -> (Browser, Browser, mypage::totp::TotpSecret) {
    add_office(app, OFFICE, "ハローワーク釧路").await;
    add_office(app, HEAD_OFFICE, "ハローワーク本部").await;
    let (admin, _) = staff_browser(app, "chief", Role::Admin, HEAD_OFFICE).await;
    let (clerk, secret) = staff_browser(app, "kushiro", Role::Counter, OFFICE).await;
    (admin, clerk, secret)
}

/// A password + TOTP login of `login_id` on a new browser, a TOTP step later than the last.
async fn password_login(
    app: &TestApp,
    login_id: &str,
    secret: &mypage::totp::TotpSecret,
) -> (crate::helpers::browser::Page, Browser) {
    app.advance(std::time::Duration::from_secs(31));
    let browser = app.browser();
    let page = staff_login(&browser, login_id, &code_now(app, secret)).await;
    (page, browser)
}

async fn an_admin_requires_passkeys_for_an_office_and_it_is_audited(app: &TestApp) {
    let (admin, _clerk, _) = setting(app).await;
    let page = admin.get("/staff/offices").await;
    let id = office_id(app, OFFICE).await;
    page.assert_contains(&format!("id=\"passkeys-{id}\" name=\"passkeys_required\""));
    page.assert_contains("この安定所の職員のログインにパスキーを必須にする");
    page.assert_contains("いま、パスキーを登録していない職員は1人です。");
    set_required(app, &admin, OFFICE, true).await;
    let page = admin.get("/staff/offices").await;
    assert!(page.contains(&format!("id=\"passkeys-{id}\" name=\"passkeys_required\" value=\"on\" aria-describedby=\"passkeys-{id}-hint\" checked")), "{}", page.body);
    assert_eq!(
        events(app, "office.staff_passkeys_required").await,
        [("staff:chief".into(), "ハローワーク釧路".into())]
    );
    // Saving it again as it is changes nothing and records no second change.
    set_required(app, &admin, OFFICE, true).await;
    assert_eq!(events(app, "office.staff_passkeys_required").await.len(), 1);
    set_required(app, &admin, OFFICE, false).await;
    assert_eq!(events(app, "office.staff_passkeys_optional").await.len(), 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM offices WHERE staff_passkeys_required = 1").await, 0);
    // A counter clerk may not change it.
    let (other, _) = staff_browser(app, "akan", Role::Counter, OFFICE).await;
    let csrf = other.get("/staff").await.csrf();
    let refused = other
        .post(&format!("/staff/offices/{id}"), &[("csrf", &csrf), ("name", "x"), ("passkeys_required", "on")])
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM offices WHERE staff_passkeys_required = 1").await, 0);
}
both_databases!(an_admin_requires_passkeys_for_an_office_and_it_is_audited);

async fn a_member_with_a_passkey_must_log_in_with_it(app: &TestApp) {
    let (admin, clerk, secret) = setting(app).await;
    let mut key = add_passkey(app, &clerk, "職員PC").await;
    set_required(app, &admin, OFFICE, true).await;
    // The right password and code: no session, and the page says how to log in.
    let (page, browser) = password_login(app, "kushiro", &secret).await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_contains(REQUIRED);
    page.assert_contains("value=\"kushiro\"");
    browser.get("/staff").await.assert_redirect("/staff/login");
    assert_eq!(events(app, "staff.login_needs_passkey").await, [("staff:kushiro".into(), String::new())]);
    // The right password counted as no failure.
    assert_eq!(app.scalar("SELECT failed_logins FROM staff WHERE login_id = 'kushiro'").await, 0);
    // A wrong password is the one answer of every failure, and says nothing about passkeys.
    let form = browser.get("/staff/login").await;
    let wrong = browser
        .post("/staff/login", &[("csrf", &form.csrf()), ("login_id", "kushiro"), ("password", "wrong"), ("totp", "")])
        .await;
    wrong.assert_contains("職員ID、パスワード、または認証コードが正しくありません。");
    assert!(!wrong.contains(REQUIRED));
    // The passkey logs in, to the whole console.
    let (done, console) = passkey_login(app, "kushiro", &mut key).await;
    assert_logged_in(&done);
    assert_eq!(console.get("/staff/seekers/new").await.status, 200);
    // It stays a passkey session across a change of password (a new session ID).
    let form = console.get("/staff/password").await;
    let new_password = "Kushiro#2026pw";
    let changed = console
        .post(
            "/staff/password",
            &[
                ("csrf", &form.csrf()),
                ("current_password", crate::staff_passkeys::STAFF_PASSWORD),
                ("password", new_password),
                ("password_confirmation", new_password),
            ],
        )
        .await;
    changed.assert_redirect("/staff");
    assert_eq!(console.get("/staff").await.status, 200);
    // The admins' office requires nothing: password and code as before.
    let (admin_again, admin_secret) = staff_browser(app, "second", Role::Admin, HEAD_OFFICE).await;
    drop(admin_again);
    password_login(app, "second", &admin_secret).await.0.assert_redirect("/staff");
}
both_databases!(a_member_with_a_passkey_must_log_in_with_it);

async fn a_member_without_a_passkey_may_only_add_one_and_then_uses_the_console(app: &TestApp) {
    let (admin, _clerk, secret) = setting(app).await;
    set_required(app, &admin, OFFICE, true).await;
    let (page, browser) = password_login(app, "kushiro", &secret).await;
    page.assert_redirect("/staff");
    browser.get("/staff").await.assert_redirect("/staff/passkeys");
    browser.get("/staff/seekers/new").await.assert_redirect("/staff/passkeys");
    browser.get("/staff/import").await.assert_redirect("/staff/passkeys");
    let csrf = browser.get("/staff/passkeys").await.csrf();
    let posted = browser.post("/staff/seekers/new", &[("csrf", &csrf), ("name", "x")]).await;
    posted.assert_redirect("/staff/passkeys");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM job_seekers").await, 0);
    let due = browser.get("/staff/passkeys").await;
    assert_eq!(due.status, 200);
    due.assert_contains(DUE);
    // No menu that leads nowhere: only the logout beside the page.
    assert!(!due.contains("href=\"/staff/seekers/new\""), "{}", due.body);
    assert!(!due.contains("href=\"/staff/password\""), "{}", due.body);
    due.assert_contains("action=\"/staff/logout\"");
    // Adding one opens the console, under a new session ID.
    let before = browser.cookie_header();
    add_passkey(app, &browser, "職員PC").await;
    assert_ne!(browser.cookie_header(), before, "the session ID changes with the privilege");
    let old = app.browser().get_with_headers("/staff/passkeys", &[("cookie", &before)]).await;
    old.assert_redirect("/staff/login");
    assert_eq!(browser.get("/staff").await.status, 200);
    assert!(!browser.get("/staff/passkeys?done=added").await.contains(DUE));
    // From now on the password path refuses this member.
    let (page, _) = password_login(app, "kushiro", &secret).await;
    assert_eq!(page.status, 422);
    page.assert_contains(REQUIRED);
}
both_databases!(a_member_without_a_passkey_may_only_add_one_and_then_uses_the_console);

async fn a_password_session_ends_when_its_office_comes_to_require_passkeys(app: &TestApp) {
    let (admin, clerk, secret) = setting(app).await;
    let mut key = add_passkey(app, &clerk, "職員PC").await;
    // A passkey session and a password session of the same member, both before the rule.
    let (done, by_passkey) = passkey_login(app, "kushiro", &mut key).await;
    assert_logged_in(&done);
    let (page, by_password) = password_login(app, "kushiro", &secret).await;
    page.assert_redirect("/staff");
    let sessions = "SELECT COUNT(*) FROM sessions WHERE staff_id IS NOT NULL";
    let before = app.scalar(sessions).await;
    set_required(app, &admin, OFFICE, true).await;
    by_password.get("/staff").await.assert_redirect("/staff/login?passkey=required");
    assert_eq!(app.scalar(sessions).await, before - 1, "the password session is gone, not only refused");
    by_password.get("/staff").await.assert_redirect("/staff/login");
    let login = by_password.get("/staff/login?passkey=required").await;
    login.assert_contains(REQUIRED);
    // The passkey session goes on.
    assert_eq!(by_passkey.get("/staff").await.status, 200);
    // So does the password session in which the passkey was added (its device proved itself).
    assert_eq!(clerk.get("/staff").await.status, 200);
}
both_databases!(a_password_session_ends_when_its_office_comes_to_require_passkeys);

async fn the_last_passkey_stays_even_against_a_burst_of_removals(app: &TestApp) {
    let (admin, clerk, _) = setting(app).await;
    let mut key = add_passkey(app, &clerk, "職員PC").await;
    add_passkey(app, &clerk, "セキュリティキー").await;
    set_required(app, &admin, OFFICE, true).await;
    let (done, console) = passkey_login(app, "kushiro", &mut key).await;
    assert_logged_in(&done);
    assert!(!console.get("/staff/passkeys").await.contains(LAST_HINT), "two passkeys: either may go");
    // Both removed at once, over two nodes: one of them stays.
    let node = app.add_node().await;
    let csrf = console.get("/staff/passkeys").await.csrf();
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM passkeys ORDER BY id").fetch_all(app.state.store.pool()).await.unwrap();
    let requests = (0..6)
        .map(|i| {
            let at = if i % 2 == 0 { console.at(&app.base) } else { console.at(&node.base) };
            Prepared::new(at, &format!("/staff/passkeys/{}/remove", ids[i % 2]), &[("csrf", &csrf)])
        })
        .collect();
    let pages = release_together(requests).await;
    assert_eq!(staff_passkeys(app, "kushiro").await, 1, "{pages:?}");
    assert_eq!(events(app, "staff.passkey_removed").await.len(), 1);
    // The other passkey's three are refused; of the removed one's, one removed it.
    assert_eq!(burst::count(&pages, |p| p.status == 422), 3, "{pages:?}");
    console.get("/staff/passkeys").await.assert_contains(LAST_HINT);
    // The last one, alone: refused with a reason, and it stays.
    let last: i64 = app.scalar("SELECT id FROM passkeys").await;
    let refused = console.post(&format!("/staff/passkeys/{last}/remove"), &[("csrf", &csrf)]).await;
    assert_eq!(refused.status, 422);
    refused.assert_contains("最後のパスキーは削除できません。");
    assert_eq!(staff_passkeys(app, "kushiro").await, 1);
    // Where the office no longer requires them, it can go.
    set_required(app, &admin, OFFICE, false).await;
    console
        .post(&format!("/staff/passkeys/{last}/remove"), &[("csrf", &csrf)])
        .await
        .assert_redirect("/staff/passkeys?done=removed");
    assert_eq!(staff_passkeys(app, "kushiro").await, 0);
}
both_databases!(the_last_passkey_stays_even_against_a_burst_of_removals);
