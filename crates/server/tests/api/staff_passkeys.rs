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

fn json(page: &Page) -> Value {
    serde_json::from_str(&page.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}), status {}:\n{}", page.status, page.body))
}

/// Begins adding a passkey called `name`: the page's CSRF token, the ceremony ID and options.
async fn begin_add(browser: &Browser, name: &str) -> (String, String, Value) {
    let csrf = browser.get("/staff/passkeys").await.csrf();
    let page = browser.post("/staff/passkeys/options", &[("csrf", &csrf), ("name", name)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = json(&page);
    (csrf, body["ceremony"].as_str().unwrap().to_owned(), body["options"].clone())
}

async fn finish_add(browser: &Browser, csrf: &str, ceremony: &str, credential: &Value) -> Page {
    browser
        .post("/staff/passkeys", &[("csrf", csrf), ("ceremony", ceremony), ("credential", &credential.to_string())])
        .await
}

/// Adds a passkey called `name` for the logged-in member of `browser`; its key.
async fn add_passkey(app: &TestApp, browser: &Browser, name: &str) -> SoftKey {
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

async fn events(app: &TestApp, kind: &str) -> Vec<(String, String)> {
    sqlx::query_as("SELECT actor, detail FROM audit_events WHERE kind = $1 ORDER BY id")
        .bind(kind)
        .fetch_all(app.state.store.pool())
        .await
        .unwrap()
}

async fn staff_passkeys(app: &TestApp, login_id: &str) -> i64 {
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
