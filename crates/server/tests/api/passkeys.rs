//! Passkeys of job seekers: adding one in アカウント設定, logging in with it straight to My Page,
//! and every way a ceremony can be refused: replayed, expired, another browser's, another
//! account's credential, a counter gone back, a burst of finishes, a second node, the counter's
//! revocation and the account's disabling.

use std::time::Duration;

use serde_json::Value;

use crate::both_databases;
use crate::helpers::authenticator::SoftKey;
use crate::helpers::browser::Page;
use crate::helpers::burst::{self, Prepared, release_together};
use crate::helpers::{Browser, TestApp};
use crate::staff::staff_browser;
use mypage::flows::staff::Role;

const NUMBER: &str = "60049-58004503";
const BIRTH: (&str, &str, &str) = ("1990", "4", "15");
const EMAIL: &str = "taro@example.jp";
const PASSWORD: &str = "Kushiro#2026x";

fn json(page: &Page) -> Value {
    serde_json::from_str(&page.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}), status {}:\n{}", page.status, page.body))
}

/// Opens an account and logs in with the one-time password.
async fn logged_in(app: &TestApp, number: &str, email: &str) -> Browser {
    app.open_account(number, BIRTH, email, PASSWORD).await;
    let browser = app.browser();
    browser.login(email, PASSWORD).await.assert_redirect("/login/otp");
    let otp = app.deliver_mail().await.pop().expect("otp").code();
    browser.submit_otp(&otp, false).await.assert_redirect("/mypage");
    browser
}

/// Begins adding a passkey called `name`: the ceremony ID and the options.
async fn begin_add(browser: &Browser, name: &str) -> (String, String, Value) {
    let csrf = browser.get("/mypage/settings").await.csrf();
    let form = [("csrf", csrf.as_str()), ("name", name), ("current_password", PASSWORD)];
    let page = browser.post("/mypage/settings/passkeys/options", &form).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = json(&page);
    (csrf, body["ceremony"].as_str().unwrap().to_owned(), body["options"].clone())
}

/// Adds a passkey called `name` on the logged-in `browser`; its key.
async fn add_passkey(app: &TestApp, browser: &Browser, name: &str) -> SoftKey {
    let (csrf, ceremony, options) = begin_add(browser, name).await;
    let (key, credential) = SoftKey::create(&options, &app.base);
    let done = browser
        .post(
            "/mypage/settings/passkeys",
            &[("csrf", &csrf), ("ceremony", &ceremony), ("credential", &credential.to_string())],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(json(&done)["redirect"], "/mypage/settings?done=passkey_added");
    key
}

/// Begins a passkey login on the login page: the CSRF token, ceremony ID and options.
async fn begin_login(browser: &Browser) -> (String, String, Value) {
    let csrf = browser.get("/login").await.csrf();
    let page = browser.post("/login/passkey/options", &[("csrf", &csrf)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = json(&page);
    (csrf, body["ceremony"].as_str().unwrap().to_owned(), body["options"].clone())
}

async fn finish_login(browser: &Browser, csrf: &str, ceremony: &str, credential: &Value) -> Page {
    browser
        .post("/login/passkey", &[("csrf", csrf), ("ceremony", ceremony), ("credential", &credential.to_string())])
        .await
}

/// A whole passkey login on a new browser; the finish's answer and the browser.
async fn passkey_login(app: &TestApp, key: &mut SoftKey) -> (Page, Browser) {
    let browser = app.browser();
    let (csrf, ceremony, options) = begin_login(&browser).await;
    let assertion = key.assert(&options, &app.base);
    (finish_login(&browser, &csrf, &ceremony, &assertion).await, browser)
}

#[track_caller]
fn assert_logged_in(page: &Page) {
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(json(page)["redirect"], "/mypage");
}

#[track_caller]
fn assert_rejected(page: &Page) {
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(json(page)["error"].as_str().unwrap().contains("パスキーでログインできませんでした"), "{}", page.body);
}

async fn events(app: &TestApp, kind: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT detail FROM audit_events WHERE kind = $1 ORDER BY id")
        .bind(kind)
        .fetch_all(app.state.store.pool())
        .await
        .unwrap()
}

async fn a_passkey_is_added_and_logs_in_straight_to_my_page(app: &TestApp) {
    let browser = logged_in(app, NUMBER, EMAIL).await;
    let settings = browser.get("/mypage/settings").await;
    settings.assert_contains("登録したパスキーはありません。");
    settings.assert_contains("data-passkey=\"register\"");
    let mut key = add_passkey(app, &browser, "iPhone").await;
    let mail = app.deliver_mail().await;
    assert_eq!(mail.len(), 1);
    assert!(mail[0].subject.contains("パスキーを登録しました"), "{}", mail[0].subject);
    assert!(mail[0].body.contains("名前: iPhone"), "{}", mail[0].body);
    let listed = browser.get("/mypage/settings?done=passkey_added").await;
    listed.assert_contains("パスキーを登録しました。");
    listed.assert_contains("<td role=\"cell\" data-label=\"名前\">iPhone</td>");
    listed.assert_contains("まだ使っていません");
    assert_eq!(events(app, "passkey.added").await, ["iPhone"]);

    app.advance(Duration::from_secs(60));
    let (page, phone) = passkey_login(app, &mut key).await;
    assert_logged_in(&page);
    // A session of its own, as the password path makes: My Page at once, no one-time password.
    assert_eq!(phone.get("/mypage").await.status, 200);
    assert!(app.deliver_mail().await.is_empty(), "a passkey login mails nothing");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM logins WHERE method = 'passkey'").await, 1);
    let settings = phone.get("/mypage/settings").await;
    settings.assert_contains("<td role=\"cell\" data-label=\"方法\">パスキー</td>");
    assert!(!settings.contains("まだ使っていません"), "last use is shown");
    assert!(events(app, "login.succeeded").await.contains(&"passkey".to_owned()));
    // The password path is unchanged beside it.
    let other = app.browser();
    other.login(EMAIL, PASSWORD).await.assert_redirect("/login/otp");
}
both_databases!(a_passkey_is_added_and_logs_in_straight_to_my_page);

async fn the_device_name_is_required_and_kept_without_the_script(app: &TestApp) {
    let browser = logged_in(app, NUMBER, EMAIL).await;
    let csrf = browser.get("/mypage/settings").await.csrf();
    let empty = browser.post("/mypage/settings/passkeys/options", &[("csrf", &csrf), ("name", "  ")]).await;
    assert_eq!(empty.status, 422);
    assert!(json(&empty)["error"].as_str().unwrap().contains("端末の名前を入力してください"));
    let long = "あ".repeat(41);
    let too_long = browser.post("/mypage/settings/passkeys/options", &[("csrf", &csrf), ("name", &long)]).await;
    assert_eq!(too_long.status, 422);
    // Posted without the script: the page again, with the name as typed.
    let page = browser.post("/mypage/settings/passkeys", &[("csrf", &csrf), ("name", "自宅のパソコン")]).await;
    assert_eq!(page.status, 422);
    page.assert_contains("JavaScriptを有効にしたブラウザが必要です");
    assert_eq!(page.input_value("name").as_deref(), Some("自宅のパソコン"));
    let wrong_csrf = browser.post("/mypage/settings/passkeys/options", &[("csrf", "x"), ("name", "iPhone")]).await;
    assert_eq!(wrong_csrf.status, 403);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM webauthn_ceremonies").await, 0);
}
both_databases!(the_device_name_is_required_and_kept_without_the_script);

async fn adding_a_passkey_needs_the_current_password(app: &TestApp) {
    let browser = logged_in(app, NUMBER, EMAIL).await;
    let csrf = browser.get("/mypage/settings").await.csrf();
    let options = "/mypage/settings/passkeys/options";
    // A borrowed session without the password begins nothing.
    let missing = browser.post(options, &[("csrf", &csrf), ("name", "iPhone")]).await;
    assert_eq!(missing.status, 422);
    assert_eq!(json(&missing)["field"], "current_password");
    assert!(json(&missing)["error"].as_str().unwrap().contains("現在のパスワードを入力してください"));
    let wrong =
        browser.post(options, &[("csrf", &csrf), ("name", "iPhone"), ("current_password", "Wrong#2026x")]).await;
    assert_eq!(wrong.status, 422);
    assert!(json(&wrong)["error"].as_str().unwrap().contains("現在のパスワードが正しくありません"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM webauthn_ceremonies").await, 0);
    // Its guesses share the account's budget of wrong current passwords (ten an hour).
    for _ in 1..10 {
        let form = [("csrf", csrf.as_str()), ("name", "iPhone"), ("current_password", "Wrong#2026x")];
        assert_eq!(browser.post(options, &form).await.status, 422);
    }
    let form = [("csrf", csrf.as_str()), ("name", "iPhone"), ("current_password", PASSWORD)];
    let limited = browser.post(options, &form).await;
    assert_eq!(limited.status, 429);
    assert!(json(&limited)["error"].as_str().unwrap().contains("一時的に停止"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM webauthn_ceremonies").await, 0);
}
both_databases!(adding_a_passkey_needs_the_current_password);

async fn a_replayed_or_expired_challenge_is_refused(app: &TestApp) {
    let browser = logged_in(app, NUMBER, EMAIL).await;
    let mut key = add_passkey(app, &browser, "iPhone").await;
    let visitor = app.browser();
    let (csrf, ceremony, options) = begin_login(&visitor).await;
    let assertion = key.assert(&options, &app.base);
    assert_logged_in(&finish_login(&visitor, &csrf, &ceremony, &assertion).await);
    // The same answer again, from a browser with the same cookies before it was logged out.
    let replay = app.browser();
    let (csrf, _, _) = begin_login(&replay).await;
    assert_rejected(&finish_login(&replay, &csrf, &ceremony, &assertion).await);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM logins WHERE method = 'passkey'").await, 1);

    let late = app.browser();
    let (csrf, ceremony, options) = begin_login(&late).await;
    let assertion = key.assert(&options, &app.base);
    app.advance(Duration::from_secs(5 * 60 + 1));
    assert_rejected(&finish_login(&late, &csrf, &ceremony, &assertion).await);
    // An expired ceremony of adding a passkey is refused too.
    let (csrf, ceremony, options) = begin_add(&browser, "iPad").await;
    let (_, credential) = SoftKey::create(&options, &app.base);
    app.advance(Duration::from_secs(5 * 60 + 1));
    let refused = browser
        .post(
            "/mypage/settings/passkeys",
            &[("csrf", &csrf), ("ceremony", &ceremony), ("credential", &credential.to_string())],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM passkeys").await, 1);
    let refusals = events(app, "passkey.login_refused").await;
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    assert!(refusals.iter().all(|d| d.contains("ceremony used, expired")), "{refusals:?}");
    assert_eq!(events(app, "passkey.add_refused").await.len(), 1);
}
both_databases!(a_replayed_or_expired_challenge_is_refused);

async fn another_browser_cannot_finish_a_ceremony(app: &TestApp) {
    let browser = logged_in(app, NUMBER, EMAIL).await;
    let mut key = add_passkey(app, &browser, "iPhone").await;
    let victim = app.browser();
    let (csrf, ceremony, options) = begin_login(&victim).await;
    let assertion = key.assert(&options, &app.base);
    let thief = app.browser();
    let thief_csrf = thief.get("/login").await.csrf();
    assert_rejected(&finish_login(&thief, &thief_csrf, &ceremony, &assertion).await);
    // The ceremony is still the victim's to finish.
    assert_logged_in(&finish_login(&victim, &csrf, &ceremony, &assertion).await);
}
both_databases!(another_browser_cannot_finish_a_ceremony);

async fn an_assertion_for_another_accounts_credential_is_refused(app: &TestApp) {
    let taro = logged_in(app, NUMBER, EMAIL).await;
    let taro_key = add_passkey(app, &taro, "iPhone").await;
    let hanako = logged_in(app, "01020-77", "hanako@example.jp").await;
    let hanako_key = add_passkey(app, &hanako, "Android").await;
    // Taro's credential presented under Hanako's user handle: the signature is Taro's, the
    // account it claims is Hanako's.
    let mut forged = taro_key.with_user_handle(hanako_key.user_handle.clone());
    let (page, browser) = passkey_login(app, &mut forged).await;
    assert_rejected(&page);
    assert_eq!(browser.get("/mypage").await.status, 303);
    let refusals = events(app, "passkey.login_refused").await;
    assert!(refusals.iter().any(|d| d.contains("user handle is not the credential owner's")), "{refusals:?}");
    // A key that was never registered.
    let options =
        serde_json::json!({"publicKey": {"rp": {"id": "localhost"}, "user": {"id": "AAAA"}, "challenge": "AAAA"}});
    let (mut stranger, _) = SoftKey::create(&options, &app.base);
    assert_rejected(&passkey_login(app, &mut stranger).await.0);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM logins WHERE method = 'passkey'").await, 0);
}
both_databases!(an_assertion_for_another_accounts_credential_is_refused);

async fn a_sign_counter_that_goes_back_is_refused_and_audited(app: &TestApp) {
    let browser = logged_in(app, NUMBER, EMAIL).await;
    let mut key = add_passkey(app, &browser, "iPhone").await;
    assert_logged_in(&passkey_login(app, &mut key).await.0);
    assert_logged_in(&passkey_login(app, &mut key).await.0);
    // A copy of the authenticator that is one use behind.
    let clone = app.browser();
    let (csrf, ceremony, options) = begin_login(&clone).await;
    let assertion = key.assert_with_counter(&options, &app.base, 1);
    assert_rejected(&finish_login(&clone, &csrf, &ceremony, &assertion).await);
    let regressions = events(app, "passkey.counter_regressed").await;
    assert_eq!(regressions.len(), 1, "{regressions:?}");
    assert_eq!(app.scalar("SELECT sign_count FROM passkeys").await, 2);
    // An authenticator that keeps no counter (always 0) is accepted every time.
    let mut synced = add_passkey(app, &browser, "同期パスキー").await;
    synced.counter = None;
    assert_logged_in(&passkey_login(app, &mut synced).await.0);
    assert_logged_in(&passkey_login(app, &mut synced).await.0);
}
both_databases!(a_sign_counter_that_goes_back_is_refused_and_audited);

async fn a_burst_of_finishes_with_one_challenge_logs_in_once(app: &TestApp) {
    let browser = logged_in(app, NUMBER, EMAIL).await;
    let mut key = add_passkey(app, &browser, "iPhone").await;
    let node = app.add_node().await;
    let visitor = app.browser();
    let (csrf, ceremony, options) = begin_login(&visitor).await;
    let credential = key.assert(&options, &app.base).to_string();
    let form = [("csrf", csrf.as_str()), ("ceremony", ceremony.as_str()), ("credential", credential.as_str())];
    // The same browser's finish, eight times at once, half of them on the second node.
    let requests = (0..8)
        .map(|i| {
            let at = if i % 2 == 0 { visitor.at(&app.base) } else { visitor.at(&node.base) };
            Prepared::new(at, "/login/passkey", &form)
        })
        .collect();
    let pages = release_together(requests).await;
    assert_eq!(burst::count(&pages, |p| p.status == 200), 1, "{pages:?}");
    assert_eq!(burst::count(&pages, |p| p.status == 422), 7);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM logins WHERE method = 'passkey'").await, 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions WHERE account_id IS NOT NULL").await, 2);
}
both_databases!(a_burst_of_finishes_with_one_challenge_logs_in_once);

async fn a_ceremony_begun_on_one_node_finishes_on_another(app: &TestApp) {
    let browser = logged_in(app, NUMBER, EMAIL).await;
    let node = app.add_node().await;
    // Adding: begun on the first node, finished on the second.
    let (csrf, ceremony, options) = begin_add(&browser, "iPhone").await;
    let (mut key, credential) = SoftKey::create(&options, &app.base);
    let done = browser
        .at(&node.base)
        .post(
            "/mypage/settings/passkeys",
            &[("csrf", &csrf), ("ceremony", &ceremony), ("credential", &credential.to_string())],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    // Logging in: begun on the second node, finished on the first.
    let visitor = Browser::new(&node.base);
    let (csrf, ceremony, options) = begin_login(&visitor).await;
    let assertion = key.assert(&options, &app.base);
    let first = visitor.at(&app.base);
    assert_logged_in(&finish_login(&first, &csrf, &ceremony, &assertion).await);
    assert_eq!(first.get("/mypage").await.status, 200);
}
both_databases!(a_ceremony_begun_on_one_node_finishes_on_another);

async fn failed_assertions_count_against_the_client_login_budget(app: &TestApp) {
    let browser = logged_in(app, NUMBER, EMAIL).await;
    let mut key = add_passkey(app, &browser, "iPhone").await;
    // 96 failures of this client are already in the window (of 100).
    let now = mypage::store::ms(mypage_domain::clock::Clock::now(&app.clock));
    for _ in 0..96 {
        sqlx::query("INSERT INTO attempt_log (scope, subject, at) VALUES ('login.client', '127.0.0.1', $1)")
            .bind(now)
            .execute(app.state.store.pool())
            .await
            .unwrap();
    }
    // Eight assertions at once, each for a ceremony of its own, each with a bad signature.
    let mut requests = Vec::new();
    for _ in 0..8 {
        let b = app.browser();
        let (csrf, ceremony, options) = begin_login(&b).await;
        let mut assertion = key.assert(&options, &app.base);
        assertion["response"]["signature"] =
            "MEQCIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAiAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into();
        let credential = assertion.to_string();
        requests.push(Prepared::new(
            b,
            "/login/passkey",
            &[("csrf", &csrf), ("ceremony", &ceremony), ("credential", &credential)],
        ));
    }
    let pages = release_together(requests).await;
    assert_eq!(burst::count(&pages, |p| p.status == 422), 4, "{pages:?}");
    assert_eq!(burst::count(&pages, |p| p.status == 429), 4);
    // The budget is used up: a passkey login does not even begin, nor is a password tried.
    let late = app.browser();
    let csrf = late.get("/login").await.csrf();
    let refused = late.post("/login/passkey/options", &[("csrf", &csrf)]).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert!(json(&refused)["error"].as_str().unwrap().contains("一時的に停止しています"));
    app.browser().login(EMAIL, PASSWORD).await.assert_contains("一時的に停止しています");
}
both_databases!(failed_assertions_count_against_the_client_login_budget);

async fn the_holder_and_the_counter_remove_passkeys_and_disabling_removes_them_all(app: &TestApp) {
    let browser = logged_in(app, NUMBER, EMAIL).await;
    let mut home = add_passkey(app, &browser, "自宅のパソコン").await;
    let mut phone = add_passkey(app, &browser, "iPhone").await;
    let mut tablet = add_passkey(app, &browser, "iPad").await;
    // The holder removes one.
    let settings = browser.get("/mypage/settings").await;
    let id: i64 = app.scalar("SELECT id FROM passkeys WHERE name = '自宅のパソコン'").await;
    browser
        .post(&format!("/mypage/settings/passkeys/{id}/remove"), &[("csrf", &settings.csrf())])
        .await
        .assert_redirect("/mypage/settings?done=passkey_removed");
    assert_rejected(&passkey_login(app, &mut home).await.0);
    // The counter revokes another (a lost phone).
    let seeker = app.scalar("SELECT id FROM job_seekers").await;
    let (clerk, _) = staff_browser(app, "kushiro", Role::Counter, "01010").await;
    let page = clerk.get(&format!("/staff/seekers/{seeker}")).await;
    page.assert_contains("iPhone");
    let id: i64 = app.scalar("SELECT id FROM passkeys WHERE name = 'iPhone'").await;
    clerk
        .post(&format!("/staff/seekers/{seeker}/passkeys/{id}/revoke"), &[("csrf", &page.csrf())])
        .await
        .assert_redirect(&format!("/staff/seekers/{seeker}?done=passkey_revoked"));
    assert_rejected(&passkey_login(app, &mut phone).await.0);
    assert_logged_in(&passkey_login(app, &mut tablet).await.0);
    // Disabling the account removes the rest.
    clerk.post(&format!("/staff/seekers/{seeker}/account/disable"), &[("csrf", &page.csrf())]).await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM passkeys").await, 0);
    assert_rejected(&passkey_login(app, &mut tablet).await.0);
    let removed: Vec<(String, String)> =
        sqlx::query_as("SELECT actor, detail FROM audit_events WHERE kind = 'passkey.removed' ORDER BY id")
            .fetch_all(app.state.store.pool())
            .await
            .unwrap();
    assert_eq!(removed.len(), 2, "{removed:?}");
    assert!(removed[0].0.starts_with("job_seeker:") && removed[0].1 == "自宅のパソコン", "{removed:?}");
    assert_eq!(removed[1], ("staff:kushiro".to_owned(), "iPhone".to_owned()));
}
both_databases!(the_holder_and_the_counter_remove_passkeys_and_disabling_removes_them_all);

async fn a_password_reset_keeps_the_passkeys_and_its_notice_says_so(app: &TestApp) {
    let browser = logged_in(app, NUMBER, EMAIL).await;
    let mut key = add_passkey(app, &browser, "iPhone").await;
    app.deliver_mail().await;
    let pc = app.browser();
    crate::recovery::ask_for_a_key(&pc, EMAIL, NUMBER, BIRTH).await.assert_redirect("/login/forgot/password");
    let code = app.deliver_mail().await[0].code();
    crate::recovery::reset(&pc, "Akan!Lake2027", &code).await.assert_redirect("/login/forgot/done");
    let notice = app.deliver_mail().await;
    assert!(notice[0].subject.contains("パスワードを再設定しました"), "{}", notice[0].subject);
    assert!(notice[0].body.contains("登録済みのパスキー(1件)は削除していない"), "{}", notice[0].body);
    // The reset ended every session, but the passkey still logs in.
    browser.get("/mypage").await.assert_redirect("/login?notice=signed_out");
    assert_logged_in(&passkey_login(app, &mut key).await.0);
}
both_databases!(a_password_reset_keeps_the_passkeys_and_its_notice_says_so);

async fn a_burst_of_finishes_of_one_registration_adds_one_passkey(app: &TestApp) {
    let browser = logged_in(app, NUMBER, EMAIL).await;
    let node = app.add_node().await;
    let (csrf, ceremony, options) = begin_add(&browser, "iPhone").await;
    let (_, credential) = SoftKey::create(&options, &app.base);
    let credential = credential.to_string();
    let form = [("csrf", csrf.as_str()), ("ceremony", ceremony.as_str()), ("credential", credential.as_str())];
    let requests = (0..6)
        .map(|i| {
            let at = if i % 2 == 0 { browser.at(&app.base) } else { browser.at(&node.base) };
            Prepared::new(at, "/mypage/settings/passkeys", &form)
        })
        .collect();
    let pages = release_together(requests).await;
    assert_eq!(burst::count(&pages, |p| p.status == 200), 1, "{pages:?}");
    assert_eq!(burst::count(&pages, |p| p.status == 422), 5);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM passkeys").await, 1);
    assert_eq!(app.deliver_mail().await.len(), 1, "one notice");
    assert_eq!(events(app, "passkey.added").await.len(), 1);
}
both_databases!(a_burst_of_finishes_of_one_registration_adds_one_passkey);
