//! Passkeys of staff members: adding one on the console's パスキー page, the list, removing one,
//! an admin's reset or disabling removing them all, and the refusals of a registration ceremony
//! (replayed, another member's, a burst of finishes over two nodes).

use serde_json::Value;

use crate::both_databases;
use crate::helpers::authenticator::SoftKey;
use crate::helpers::browser::Page;
use crate::helpers::burst::{self, Prepared, release_together};
use crate::helpers::{Browser, TestApp};
use crate::staff::{add_office, staff_browser};
use mypage::flows::staff::Role;

const OFFICE: &str = "01010";
/// The password `staff_browser` gives its member.
pub(crate) const STAFF_PASSWORD: &str = "Counter#2026pw";

pub(crate) fn json(page: &Page) -> Value {
    serde_json::from_str(&page.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}), status {}:\n{}", page.status, page.body))
}

/// Begins adding a passkey called `name`: the page's CSRF token, the ceremony ID and options.
pub(crate) async fn begin_add(browser: &Browser, name: &str) -> (String, String, Value) {
    let csrf = browser.get("/staff/passkeys").await.csrf();
    let form = [("csrf", csrf.as_str()), ("name", name), ("current_password", STAFF_PASSWORD)];
    let page = browser.post("/staff/passkeys/options", &form).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = json(&page);
    (csrf, body["ceremony"].as_str().unwrap().to_owned(), body["options"].clone())
}

pub(crate) async fn finish_add(browser: &Browser, csrf: &str, ceremony: &str, credential: &Value) -> Page {
    browser
        .post("/staff/passkeys", &[("csrf", csrf), ("ceremony", ceremony), ("credential", &credential.to_string())])
        .await
}

/// Adds a passkey called `name` for the logged-in member of `browser`; its key.
pub(crate) async fn add_passkey(app: &TestApp, browser: &Browser, name: &str) -> SoftKey {
    let (csrf, ceremony, options) = begin_add(browser, name).await;
    let (key, credential) = SoftKey::create(&options, &app.base);
    let done = finish_add(browser, &csrf, &ceremony, &credential).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(json(&done)["redirect"], "/staff/passkeys?done=added");
    key
}

#[track_caller]
fn assert_refused(page: &Page) {
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(json(page)["error"].as_str().unwrap().contains("パスキーを追加できませんでした"), "{}", page.body);
}

pub(crate) async fn events(app: &TestApp, kind: &str) -> Vec<(String, String)> {
    sqlx::query_as("SELECT actor, detail FROM audit_events WHERE kind = $1 ORDER BY id")
        .bind(kind)
        .fetch_all(app.state.store.pool())
        .await
        .unwrap()
}

pub(crate) async fn staff_passkeys(app: &TestApp, login_id: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM passkeys p JOIN staff s ON s.id = p.staff_id WHERE s.login_id = $1")
        .bind(login_id)
        .fetch_one(app.state.store.pool())
        .await
        .unwrap()
}

async fn a_staff_member_adds_lists_and_removes_passkeys(app: &TestApp) {
    add_office(app, OFFICE, "ハローワーク釧路").await;
    let (clerk, _) = staff_browser(app, "kushiro", Role::Counter, OFFICE).await;
    let home = clerk.get("/staff").await;
    home.assert_contains("href=\"/staff/passkeys\"");
    let page = clerk.get("/staff/passkeys").await;
    page.assert_contains("登録したパスキーはありません。");
    page.assert_contains("data-passkey=\"register\"");
    add_passkey(app, &clerk, "職員PC").await;
    add_passkey(app, &clerk, "セキュリティキー").await;
    let listed = clerk.get("/staff/passkeys?done=added").await;
    listed.assert_contains("パスキーを登録しました。");
    listed.assert_contains("<td role=\"cell\" data-label=\"名前\">職員PC</td>");
    listed.assert_contains("<td role=\"cell\" data-label=\"名前\">セキュリティキー</td>");
    listed.assert_contains("まだ使っていません");
    // A staff member's passkey, not a job seeker's: the owner column is the member.
    assert_eq!(staff_passkeys(app, "kushiro").await, 2);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM passkeys WHERE account_id IS NOT NULL").await, 0);
    let added = events(app, "staff.passkey_added").await;
    assert_eq!(added, [("staff:kushiro".into(), "職員PC".into()), ("staff:kushiro".into(), "セキュリティキー".into())]);

    // Another member cannot remove it, even by its ID.
    let id: i64 = app.scalar("SELECT id FROM passkeys WHERE name = '職員PC'").await;
    let (other, _) = staff_browser(app, "akan", Role::Counter, OFFICE).await;
    let csrf = other.get("/staff/passkeys").await.csrf();
    other.post(&format!("/staff/passkeys/{id}/remove"), &[("csrf", &csrf)]).await;
    assert_eq!(staff_passkeys(app, "kushiro").await, 2);
    assert!(!other.get("/staff/passkeys").await.contains("職員PC"), "another member's list is their own");

    // The member removes it.
    let csrf = clerk.get("/staff/passkeys").await.csrf();
    clerk
        .post(&format!("/staff/passkeys/{id}/remove"), &[("csrf", &csrf)])
        .await
        .assert_redirect("/staff/passkeys?done=removed");
    let after = clerk.get("/staff/passkeys?done=removed").await;
    after.assert_contains("パスキーを削除しました。");
    assert!(!after.contains("職員PC"), "removed from the list");
    assert_eq!(staff_passkeys(app, "kushiro").await, 1);
    assert_eq!(events(app, "staff.passkey_removed").await, [("staff:kushiro".into(), "職員PC".into())]);
    // Without the CSRF token nothing is removed.
    let id: i64 = app.scalar("SELECT id FROM passkeys WHERE name = 'セキュリティキー'").await;
    let refused = clerk.post(&format!("/staff/passkeys/{id}/remove"), &[("csrf", "forged")]).await;
    assert_ne!(refused.status, 303);
    assert_eq!(staff_passkeys(app, "kushiro").await, 1);
}
both_databases!(a_staff_member_adds_lists_and_removes_passkeys);

async fn the_name_is_required_and_kept_without_the_script(app: &TestApp) {
    add_office(app, OFFICE, "ハローワーク釧路").await;
    let (clerk, _) = staff_browser(app, "kushiro", Role::Counter, OFFICE).await;
    let csrf = clerk.get("/staff/passkeys").await.csrf();
    let empty = clerk.post("/staff/passkeys/options", &[("csrf", &csrf), ("name", "  ")]).await;
    assert_eq!(empty.status, 422);
    assert!(json(&empty)["error"].as_str().unwrap().contains("端末の名前を入力してください"));
    let no_script = clerk.post("/staff/passkeys", &[("csrf", &csrf), ("name", "職員PC")]).await;
    assert_eq!(no_script.status, 422);
    no_script.assert_contains("JavaScriptを有効にしたブラウザが必要です");
    no_script.assert_contains("value=\"職員PC\"");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM passkeys").await, 0);
}
both_databases!(the_name_is_required_and_kept_without_the_script);

async fn adding_a_staff_passkey_needs_the_current_password(app: &TestApp) {
    add_office(app, OFFICE, "ハローワーク釧路").await;
    let (clerk, _) = staff_browser(app, "kushiro", Role::Counter, OFFICE).await;
    let csrf = clerk.get("/staff/passkeys").await.csrf();
    let missing = clerk.post("/staff/passkeys/options", &[("csrf", &csrf), ("name", "職員PC")]).await;
    assert_eq!((missing.status, json(&missing)["field"].as_str()), (422, Some("current_password")));
    let form = [("csrf", csrf.as_str()), ("name", "職員PC"), ("current_password", "Wrong#2026pw")];
    let wrong = clerk.post("/staff/passkeys/options", &form).await;
    assert_eq!(wrong.status, 422);
    assert!(json(&wrong)["error"].as_str().unwrap().contains("現在のパスワードが正しくありません"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM webauthn_ceremonies").await, 0);
    let counted = "SELECT COUNT(*) FROM attempt_log WHERE scope = 'settings.current_password'";
    assert_eq!(app.scalar(counted).await, 1, "the wrong one counts against the member's budget");
}
both_databases!(adding_a_staff_passkey_needs_the_current_password);

async fn a_replayed_or_another_members_ceremony_is_refused(app: &TestApp) {
    add_office(app, OFFICE, "ハローワーク釧路").await;
    let (clerk, _) = staff_browser(app, "kushiro", Role::Counter, OFFICE).await;
    let (other, _) = staff_browser(app, "akan", Role::Counter, OFFICE).await;
    let (csrf, ceremony, options) = begin_add(&clerk, "職員PC").await;
    let (_, credential) = SoftKey::create(&options, &app.base);
    // Another member's session cannot finish it (and it stays usable for its own).
    let other_csrf = other.get("/staff/passkeys").await.csrf();
    assert_refused(&finish_add(&other, &other_csrf, &ceremony, &credential).await);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM passkeys").await, 0);
    assert_eq!(finish_add(&clerk, &csrf, &ceremony, &credential).await.status, 200);
    // The same answer again: the ceremony is used.
    assert_refused(&finish_add(&clerk, &csrf, &ceremony, &credential).await);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM passkeys").await, 1);
    // An answer for another challenge does not verify.
    let (csrf, ceremony, _) = begin_add(&clerk, "別の端末").await;
    let (_, stranger) = SoftKey::create(&options, &app.base);
    assert_refused(&finish_add(&clerk, &csrf, &ceremony, &stranger).await);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM passkeys").await, 1);
    assert_eq!(events(app, "staff.passkey_add_refused").await.len(), 3);
}
both_databases!(a_replayed_or_another_members_ceremony_is_refused);

async fn a_burst_of_finishes_of_one_registration_adds_one_passkey(app: &TestApp) {
    add_office(app, OFFICE, "ハローワーク釧路").await;
    let (clerk, _) = staff_browser(app, "kushiro", Role::Counter, OFFICE).await;
    let node = app.add_node().await;
    let (csrf, ceremony, options) = begin_add(&clerk, "職員PC").await;
    let (_, credential) = SoftKey::create(&options, &app.base);
    let credential = credential.to_string();
    let form = [("csrf", csrf.as_str()), ("ceremony", ceremony.as_str()), ("credential", credential.as_str())];
    let requests = (0..6)
        .map(|i| {
            let at = if i % 2 == 0 { clerk.at(&app.base) } else { clerk.at(&node.base) };
            Prepared::new(at, "/staff/passkeys", &form)
        })
        .collect();
    let pages = release_together(requests).await;
    assert_eq!(burst::count(&pages, |p| p.status == 200), 1, "{pages:?}");
    assert_eq!(burst::count(&pages, |p| p.status == 422), 5);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM passkeys").await, 1);
    assert_eq!(events(app, "staff.passkey_added").await.len(), 1);
}
both_databases!(a_burst_of_finishes_of_one_registration_adds_one_passkey);

async fn an_admins_reset_or_disabling_removes_the_members_passkeys(app: &TestApp) {
    add_office(app, OFFICE, "ハローワーク釧路").await;
    let (admin, _) = staff_browser(app, "chief", Role::Admin, OFFICE).await;
    add_office(app, OFFICE, "ハローワーク釧路").await;
    let (clerk, _) = staff_browser(app, "kushiro", Role::Counter, OFFICE).await;
    let (other, _) = staff_browser(app, "akan", Role::Counter, OFFICE).await;
    add_passkey(app, &clerk, "職員PC").await;
    add_passkey(app, &clerk, "セキュリティキー").await;
    add_passkey(app, &other, "窓口PC").await;
    let id_of = |login_id: &'static str| async move {
        sqlx::query_scalar::<_, i64>("SELECT id FROM staff WHERE login_id = $1")
            .bind(login_id)
            .fetch_one(app.state.store.pool())
            .await
            .unwrap()
    };
    let csrf = admin.get("/staff/members").await.csrf();
    let reset = admin.post(&format!("/staff/members/{}/reset", id_of("kushiro").await), &[("csrf", &csrf)]).await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert_eq!(staff_passkeys(app, "kushiro").await, 0);
    assert_eq!(staff_passkeys(app, "akan").await, 1, "only the member's own");
    let resets = events(app, "staff.reset").await;
    assert!(resets.last().unwrap().1.contains("2 passkeys removed"), "{resets:?}");
    admin
        .post(&format!("/staff/members/{}/disable", id_of("akan").await), &[("csrf", &csrf)])
        .await
        .assert_redirect("/staff/members");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM passkeys").await, 0);
    let disabled = events(app, "staff.disabled").await;
    assert!(disabled.last().unwrap().1.contains("1 passkeys removed"), "{disabled:?}");
}
both_databases!(an_admins_reset_or_disabling_removes_the_members_passkeys);

/// Begins a staff ID + passkey login on the staff login page: the CSRF token, ceremony, options.
async fn begin_login(browser: &Browser, login_id: &str) -> (String, String, Value) {
    let csrf = browser.get("/staff/login").await.csrf();
    let page = browser.post("/staff/login/passkey/options", &[("csrf", &csrf), ("login_id", login_id)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = json(&page);
    (csrf, body["ceremony"].as_str().unwrap().to_owned(), body["options"].clone())
}

async fn finish_login(browser: &Browser, csrf: &str, ceremony: &str, credential: &Value) -> Page {
    browser
        .post(
            "/staff/login/passkey",
            &[("csrf", csrf), ("ceremony", ceremony), ("credential", &credential.to_string())],
        )
        .await
}

/// A whole staff ID + passkey login on a new browser; the finish's answer and the browser.
pub(crate) async fn passkey_login(app: &TestApp, login_id: &str, key: &mut SoftKey) -> (Page, Browser) {
    let browser = app.browser();
    let (csrf, ceremony, options) = begin_login(&browser, login_id).await;
    let assertion = key.assert(&options, &app.base);
    (finish_login(&browser, &csrf, &ceremony, &assertion).await, browser)
}

#[track_caller]
pub(crate) fn assert_logged_in(page: &Page) {
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(json(page)["redirect"], "/staff");
}

#[track_caller]
fn assert_rejected(page: &Page) {
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(json(page)["error"].as_str().unwrap().contains("パスキーでログインできませんでした"), "{}", page.body);
}

/// The options with the challenge left out: what would tell one staff ID from another.
fn shape(options: &Value) -> Value {
    let mut options = options.clone();
    options["publicKey"]["challenge"] = Value::Null;
    options
}

async fn a_member_logs_in_with_staff_id_and_passkey(app: &TestApp) {
    add_office(app, OFFICE, "ハローワーク釧路").await;
    let (clerk, _) = staff_browser(app, "kushiro", Role::Counter, OFFICE).await;
    let login = clerk.get("/staff/login").await;
    assert_eq!(login.status, 303, "a logged-in member is sent to the console");
    let page = app.browser().get("/staff/login").await;
    page.assert_contains("data-passkey=\"login\"");
    page.assert_contains("/static/passkey.js");
    let mut key = add_passkey(app, &clerk, "職員PC").await;
    let (done, console) = passkey_login(app, "kushiro", &mut key).await;
    assert_logged_in(&done);
    assert_eq!(console.get("/staff").await.status, 200, "a console session, without password or TOTP");
    assert_eq!(events(app, "staff.login").await.last().unwrap(), &("staff:kushiro".into(), "passkey".into()));
    assert!(!console.get("/staff/passkeys").await.contains("まだ使っていません"), "last use is shown");
    // The options say nothing about the staff ID: the same for an unknown one.
    let (_, _, known) = begin_login(&app.browser(), "kushiro").await;
    let (_, _, unknown) = begin_login(&app.browser(), "nobody").await;
    assert_eq!(shape(&known), shape(&unknown));
    assert!(known["publicKey"]["allowCredentials"].as_array().is_none_or(Vec::is_empty), "{known}");
    // A staff ID is needed.
    let browser = app.browser();
    let csrf = browser.get("/staff/login").await.csrf();
    let empty = browser.post("/staff/login/passkey/options", &[("csrf", &csrf), ("login_id", "")]).await;
    assert_eq!(empty.status, 422);
    // The key under a mistyped or unknown staff ID: the one answer.
    assert_rejected(&passkey_login(app, "nobody", &mut key).await.0);
    // The password path is unchanged beside it.
    let (other, secret) = staff_browser(app, "akan", Role::Counter, OFFICE).await;
    drop(other);
    app.advance(std::time::Duration::from_secs(31));
    let code = crate::staff::code_now(app, &secret);
    crate::staff::staff_login(&app.browser(), "akan", &code).await.assert_redirect("/staff");
}
both_databases!(a_member_logs_in_with_staff_id_and_passkey);

async fn a_replayed_challenge_another_members_credential_and_a_removed_passkey_are_refused(app: &TestApp) {
    add_office(app, OFFICE, "ハローワーク釧路").await;
    let (clerk, _) = staff_browser(app, "kushiro", Role::Counter, OFFICE).await;
    let (other, _) = staff_browser(app, "akan", Role::Counter, OFFICE).await;
    let mut key = add_passkey(app, &clerk, "職員PC").await;
    let mut others = add_passkey(app, &other, "窓口PC").await;
    // Replayed: the same answer to a used challenge.
    let browser = app.browser();
    let (csrf, ceremony, options) = begin_login(&browser, "kushiro").await;
    let assertion = key.assert(&options, &app.base);
    assert_logged_in(&finish_login(&browser, &csrf, &ceremony, &assertion).await);
    let again = app.browser();
    let csrf = again.get("/staff/login").await.csrf();
    assert_rejected(&finish_login(&again, &csrf, &ceremony, &assertion).await);
    // Another member's credential under this staff ID.
    assert_rejected(&passkey_login(app, "kushiro", &mut others).await.0);
    assert_logged_in(&passkey_login(app, "akan", &mut others).await.0);
    // An expired challenge.
    let late = app.browser();
    let (csrf, ceremony, options) = begin_login(&late, "kushiro").await;
    app.advance(std::time::Duration::from_secs(6 * 60));
    assert_rejected(&finish_login(&late, &csrf, &ceremony, &key.assert(&options, &app.base)).await);
    // Removed: the key no longer logs in.
    let csrf = clerk.get("/staff/passkeys").await.csrf();
    let id: i64 = app.scalar("SELECT id FROM passkeys WHERE name = '職員PC'").await;
    clerk.post(&format!("/staff/passkeys/{id}/remove"), &[("csrf", &csrf)]).await;
    assert_rejected(&passkey_login(app, "kushiro", &mut key).await.0);
    let refused = events(app, "staff.passkey_login_refused").await;
    assert_eq!(refused.len(), 4, "{refused:?}");
    assert!(refused.iter().any(|(_, d)| d == "not this member's passkey"), "{refused:?}");
    assert_eq!(events(app, "staff.login_failed").await.len(), 4);
}
both_databases!(a_replayed_challenge_another_members_credential_and_a_removed_passkey_are_refused);

async fn a_burst_of_finishes_of_one_challenge_logs_in_once(app: &TestApp) {
    add_office(app, OFFICE, "ハローワーク釧路").await;
    let (clerk, _) = staff_browser(app, "kushiro", Role::Counter, OFFICE).await;
    let mut key = add_passkey(app, &clerk, "職員PC").await;
    let node = app.add_node().await;
    let browser = app.browser();
    let (csrf, ceremony, options) = begin_login(&browser, "kushiro").await;
    let assertion = key.assert(&options, &app.base).to_string();
    let form = [("csrf", csrf.as_str()), ("ceremony", ceremony.as_str()), ("credential", assertion.as_str())];
    let requests = (0..8)
        .map(|i| {
            let at = if i % 2 == 0 { browser.at(&app.base) } else { browser.at(&node.base) };
            Prepared::new(at, "/staff/login/passkey", &form)
        })
        .collect();
    let pages = release_together(requests).await;
    assert_eq!(burst::count(&pages, |p| p.status == 200), 1, "{pages:?}");
    assert_eq!(burst::count(&pages, |p| p.status == 422), 7);
    let logins = events(app, "staff.login").await;
    assert_eq!(logins.iter().filter(|(_, d)| d == "passkey").count(), 1);
}
both_databases!(a_burst_of_finishes_of_one_challenge_logs_in_once);

async fn failed_assertions_lock_the_member_and_a_locked_or_disabled_member_cannot_use_a_passkey(app: &TestApp) {
    add_office(app, OFFICE, "ハローワーク釧路").await;
    let (admin, _) = staff_browser(app, "chief", Role::Admin, OFFICE).await;
    let (clerk, secret) = staff_browser(app, "kushiro", Role::Counter, OFFICE).await;
    let mut key = add_passkey(app, &clerk, "職員PC").await;
    let (other, _) = staff_browser(app, "akan", Role::Counter, OFFICE).await;
    let mut stranger = add_passkey(app, &other, "窓口PC").await;
    // Ten failed assertions under this staff ID lock it, as ten wrong passwords do.
    for _ in 0..10 {
        assert_rejected(&passkey_login(app, "kushiro", &mut stranger).await.0);
    }
    assert_eq!(events(app, "staff.locked").await.len(), 1);
    // Locked: neither the right passkey nor the right password and code.
    assert_rejected(&passkey_login(app, "kushiro", &mut key).await.0);
    app.advance(std::time::Duration::from_secs(31));
    let code = crate::staff::code_now(app, &secret);
    assert_eq!(crate::staff::staff_login(&app.browser(), "kushiro", &code).await.status, 422);
    // Unlocked by the admin, the passkey logs in (and clears the count).
    let id: i64 = app.scalar("SELECT id FROM staff WHERE login_id = 'kushiro'").await;
    let csrf = admin.get("/staff/members").await.csrf();
    admin.post(&format!("/staff/members/{id}/unlock"), &[("csrf", &csrf)]).await;
    assert_logged_in(&passkey_login(app, "kushiro", &mut key).await.0);
    assert_eq!(app.scalar("SELECT failed_logins FROM staff WHERE login_id = 'kushiro'").await, 0);
    // Disabled: the passkeys are gone, and the answer is the same.
    let akan: i64 = app.scalar("SELECT id FROM staff WHERE login_id = 'akan'").await;
    admin.post(&format!("/staff/members/{akan}/disable"), &[("csrf", &csrf)]).await;
    assert_rejected(&passkey_login(app, "akan", &mut stranger).await.0);
}
both_databases!(failed_assertions_lock_the_member_and_a_locked_or_disabled_member_cannot_use_a_passkey);

async fn failed_assertions_count_against_the_clients_staff_budget(app: &TestApp) {
    add_office(app, OFFICE, "ハローワーク釧路").await;
    let (clerk, _) = staff_browser(app, "kushiro", Role::Counter, OFFICE).await;
    let mut key = add_passkey(app, &clerk, "職員PC").await;
    let used: i64 = app.scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'staff.login_failed'").await;
    // Unknown staff IDs spend the budget as wrong passwords do (50 an hour per client).
    for i in 0..(50 - used) {
        assert_rejected(&passkey_login(app, &format!("nobody{i}"), &mut key).await.0);
    }
    let browser = app.browser();
    let csrf = browser.get("/staff/login").await.csrf();
    let refused = browser.post("/staff/login/passkey/options", &[("csrf", &csrf), ("login_id", "kushiro")]).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    let limited = crate::staff::staff_login(&app.browser(), "kushiro", "000000").await;
    limited.assert_contains("一時的に停止しています");
}
both_databases!(failed_assertions_count_against_the_clients_staff_budget);
