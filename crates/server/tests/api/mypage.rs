//! My Page after login (SPEC §3.10) and English (SPEC §8).

use std::time::Duration;

use crate::both_databases;
use crate::helpers::{Browser, TestApp};

const NUMBER: &str = "60049-58004503";
const BIRTH: (&str, &str, &str) = ("1990", "4", "15");
const EMAIL: &str = "taro@example.jp";
const PASSWORD: &str = "Kushiro#2026x";

/// Logs in on `browser` with the OTP (optionally remembering the browser).
async fn logged_in(app: &TestApp, browser: &Browser, email: &str, password: &str, remember: bool) {
    browser.login(email, password).await.assert_redirect("/login/otp");
    let otp = app.deliver_mail().await.pop().expect("otp").code();
    browser.submit_otp(&otp, remember).await.assert_redirect("/mypage");
}

async fn the_home_page_shows_the_registration_and_says_when_it_has_lapsed(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    sqlx::query("UPDATE job_seekers SET valid_until = '2026-12-31'").execute(app.state.store.pool()).await.unwrap();
    let browser = app.browser();
    logged_in(app, &browser, EMAIL, PASSWORD, false).await;
    let home = browser.get("/mypage").await;
    home.assert_contains("2026年12月31日まで");
    home.assert_contains("ハローワーク釧路");
    home.assert_contains("href=\"/mypage/settings\"");
    assert!(!home.contains("有効期限(2026年12月31日)が過ぎています"));
    app.advance(Duration::from_secs(37 * 86400));
    let later = app.browser();
    logged_in(app, &later, EMAIL, PASSWORD, false).await;
    later.get("/mypage").await.assert_contains("有効期限(2026年12月31日)が過ぎています");
}
both_databases!(the_home_page_shows_the_registration_and_says_when_it_has_lapsed);

async fn a_new_terms_version_must_be_accepted_before_the_settings(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    sqlx::query(
        "INSERT INTO policy_documents (kind, version, title, body, published_at) VALUES ('terms', 2, '利用規約 第2版', '改定しました。', 0)",
    )
    .execute(app.state.store.pool())
    .await
    .unwrap();
    let browser = app.browser();
    logged_in(app, &browser, EMAIL, PASSWORD, false).await;
    browser.get("/mypage").await.assert_contains("改定内容を確認して同意する");
    browser.get("/mypage/settings").await.assert_redirect("/mypage/consent");
    let page = browser.get("/mypage/consent").await;
    page.assert_contains("利用規約 第2版");
    let refused = browser.post("/mypage/consent", &[("csrf", &page.csrf())]).await;
    assert_eq!(refused.status, 422);
    refused.assert_contains("改定された文書をすべて開いて");
    browser.get("/opening/documents/privacy?return=mypage").await.assert_contains("href=\"/mypage/consent\"");
    browser.get("/opening/documents/terms?return=mypage").await;
    browser.post("/mypage/consent", &[("csrf", &page.csrf())]).await.assert_redirect("/mypage");
    assert_eq!(app.scalar("SELECT terms_version FROM accounts").await, 2);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'consent.renewed'").await, 1);
    assert_eq!(browser.get("/mypage/settings").await.status, 200);
}
both_databases!(a_new_terms_version_must_be_accepted_before_the_settings);

async fn documents_opened_in_parallel_tabs_are_all_remembered(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let browser = app.browser();
    logged_in(app, &browser, EMAIL, PASSWORD, false).await;
    let node = app.add_node().await;
    let cookie = browser.cookie_header();
    // Each round publishes new versions of both documents, which are then opened at once in
    // several tabs over two nodes: each request loads the session before the others store their
    // mark, and none may store over another's (a lost mark refuses the consent).
    for version in 2..8 {
        for kind in ["privacy", "terms"] {
            sqlx::query(
                "INSERT INTO policy_documents (kind, version, title, body, published_at) VALUES ($1, $2, $1, 'x', 0)",
            )
            .bind(kind)
            .bind(version)
            .execute(app.state.store.pool())
            .await
            .unwrap();
        }
        let csrf = browser.get("/mypage/consent").await.csrf();
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(16));
        let tabs: Vec<_> = (0..16)
            .map(|i| {
                let base = if i % 2 == 0 { app.base.clone() } else { node.base.clone() };
                let kind = if i % 4 < 2 { "privacy" } else { "terms" };
                let (cookie, barrier) = (cookie.clone(), barrier.clone());
                tokio::spawn(async move {
                    let tab = Browser::new(&base);
                    // Connected before the barrier, so the requests meet at the server together.
                    tab.get("/healthz").await;
                    barrier.wait().await;
                    tab.get_with_headers(&format!("/opening/documents/{kind}?return=mypage"), &[("cookie", &cookie)])
                        .await
                        .status
                })
            })
            .collect();
        for tab in tabs {
            assert_eq!(tab.await.unwrap(), 200);
        }
        browser.post("/mypage/consent", &[("csrf", &csrf)]).await.assert_redirect("/mypage");
    }
    assert_eq!(app.scalar("SELECT terms_version FROM accounts").await, 7);
}
both_databases!(documents_opened_in_parallel_tabs_are_all_remembered);

async fn changing_the_email_needs_the_code_sent_to_the_new_address(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let browser = app.browser();
    logged_in(app, &browser, EMAIL, PASSWORD, false).await;
    let settings = browser.get("/mypage/settings").await;
    let csrf = settings.csrf();
    browser
        .post("/mypage/settings/email", &[("csrf", &csrf), ("email", "taro@"), ("email_password", PASSWORD)])
        .await
        .assert_contains("形式が正しくありません");
    browser
        .post(
            "/mypage/settings/email",
            &[("csrf", &csrf), ("email", "ＴＡＲＯ２@example.jp"), ("email_password", PASSWORD)],
        )
        .await
        .assert_redirect("/mypage/settings/email/confirm");
    let mail = app.deliver_mail().await.pop().unwrap();
    assert_eq!(mail.to, "taro2@example.jp");
    // Not changed until confirmed.
    assert_eq!(app.scalar("SELECT COUNT(*) FROM accounts WHERE email = 'taro@example.jp'").await, 1);
    let wrong = if mail.code() == "000000" { "111111" } else { "000000" };
    browser
        .post("/mypage/settings/email/confirm", &[("csrf", &csrf), ("code", wrong)])
        .await
        .assert_contains("あと4回");
    browser
        .post("/mypage/settings/email/confirm", &[("csrf", &csrf), ("code", &mail.code())])
        .await
        .assert_redirect("/mypage/settings?done=email");
    let notice = app.deliver_mail().await.pop().unwrap();
    assert_eq!(notice.to, EMAIL, "the old address is told");
    assert!(notice.body.contains("taro2@example.jp"));
    let fresh = app.browser();
    fresh.login(EMAIL, PASSWORD).await.assert_contains("正しくありません");
    fresh.login("taro2@example.jp", PASSWORD).await.assert_redirect("/login/otp");
}
both_databases!(changing_the_email_needs_the_code_sent_to_the_new_address);

async fn a_password_change_ends_the_other_sessions_and_remembered_browsers(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let phone = app.browser();
    logged_in(app, &phone, EMAIL, PASSWORD, true).await;
    let pc = app.browser();
    logged_in(app, &pc, EMAIL, PASSWORD, false).await;
    let csrf = pc.get("/mypage/settings").await.csrf();
    let wrong = pc
        .post(
            "/mypage/settings/password",
            &[
                ("csrf", &csrf),
                ("current_password", "Nope#1234"),
                ("password", "Akan!Lake2027"),
                ("password_confirmation", "Akan!Lake2027"),
            ],
        )
        .await;
    wrong.assert_contains("現在のパスワードが正しくありません");
    let weak = pc
        .post(
            "/mypage/settings/password",
            &[
                ("csrf", &csrf),
                ("current_password", PASSWORD),
                ("password", "akanlake"),
                ("password_confirmation", "akanlake"),
            ],
        )
        .await;
    weak.assert_contains("記号が含まれていません");
    pc.post(
        "/mypage/settings/password",
        &[
            ("csrf", &csrf),
            ("current_password", PASSWORD),
            ("password", "Akan!Lake2027"),
            ("password_confirmation", "Akan!Lake2027"),
        ],
    )
    .await
    .assert_redirect("/mypage/settings?done=password");
    pc.get("/mypage/settings?done=password").await.assert_contains("パスワードを変更しました");
    phone.get("/mypage").await.assert_redirect("/login?notice=signed_out");
    phone.login(EMAIL, "Akan!Lake2027").await.assert_redirect("/login/otp");
    let mails = app.deliver_mail().await;
    assert!(mails.iter().any(|m| m.subject.contains("パスワードを変更しました")), "{mails:?}");
}
both_databases!(a_password_change_ends_the_other_sessions_and_remembered_browsers);

async fn remembered_browsers_and_recent_logins_are_listed_and_revocable(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let phone = app.browser();
    logged_in(app, &phone, EMAIL, PASSWORD, true).await;
    let settings = phone.get("/mypage/settings").await;
    settings.assert_contains("2026年11月25日(水) 10:00");
    settings.assert_contains("2027年2月23日(火) 10:00");
    settings.assert_contains("127.0.0.x");
    let id = app.scalar("SELECT id FROM remembered_browsers").await;
    phone
        .post(&format!("/mypage/settings/browsers/{id}/revoke"), &[("csrf", &settings.csrf())])
        .await
        .assert_redirect("/mypage/settings?done=revoked");
    phone.get("/mypage/settings").await.assert_contains("省略している端末はありません");
    let home = phone.get("/mypage").await;
    phone.post("/logout", &[("csrf", &home.csrf())]).await;
    phone.login(EMAIL, PASSWORD).await.assert_redirect("/login/otp");
    app.deliver_mail().await;

    // Log out everywhere ends every session, this one too.
    let a = app.browser();
    logged_in(app, &a, EMAIL, PASSWORD, false).await;
    let b = app.browser();
    logged_in(app, &b, EMAIL, PASSWORD, false).await;
    let csrf = a.get("/mypage/settings").await.csrf();
    a.post("/mypage/logout-everywhere", &[("csrf", &csrf)])
        .await
        .assert_redirect("/login?notice=logged_out_everywhere");
    a.get("/mypage").await.assert_redirect("/login?notice=signed_out");
    b.get("/mypage").await.assert_redirect("/login?notice=signed_out");
}
both_databases!(remembered_browsers_and_recent_logins_are_listed_and_revocable);

async fn english_follows_the_browser_and_the_switch_sticks_and_mail_follows(app: &TestApp) {
    app.register(NUMBER, "1990-04-15", None).await;
    let code = app.issue_code(NUMBER).await;
    let browser = app.browser();
    let english = Browser::new(&app.base);
    let page = english.get_with_headers("/", &[("accept-language", "en-GB,en;q=0.9,ja;q=0.5")]).await;
    page.assert_contains("<html lang=\"en\">");
    assert_eq!(page.headers.get("content-language").unwrap(), "en");
    assert!(!page.contains("アカウント作成コードをハローワークで発行済みの求職者"));

    // The switch: a Japanese browser chooses English and keeps it.
    let ja = browser.get("/opening/consent").await;
    ja.assert_contains("<html lang=\"ja\">");
    let switched = browser.get_with_headers("/lang/en", &[("referer", &format!("{}/opening/consent", app.base))]).await;
    switched.assert_redirect("/opening/consent");
    // Never back to another site, whatever the Referer says.
    for referer in
        ["https://evil.example/x", &format!("{}//evil.example", app.base), &format!("{}/\\evil.example", app.base)]
    {
        Browser::new(&app.base).get_with_headers("/lang/en", &[("referer", referer)]).await.assert_redirect("/");
    }
    browser.get("/opening/consent").await.assert_contains("<html lang=\"en\">");
    browser.consent().await;
    browser.apply(EMAIL, NUMBER, ("1990", "4", "15"), &code).await.assert_redirect("/opening/password");
    let key_mail = app.deliver_mail().await.pop().unwrap();
    assert!(!key_mail.subject.contains("認証キー"), "an English mail: {}", key_mail.subject);
    browser.register_password(PASSWORD, PASSWORD, &key_mail.code()).await.assert_redirect("/opening/done");
    let opened = app.deliver_mail().await.pop().unwrap();
    assert!(opened.body.is_ascii() || !opened.body.contains("開設が完了しました"), "{}", opened.body);
    let lang: String = sqlx::query_scalar("SELECT lang FROM accounts").fetch_one(app.state.store.pool()).await.unwrap();
    assert_eq!(lang, "en");
    browser.get("/lang/ja").await;
    browser.get("/").await.assert_contains("<html lang=\"ja\">");
    // The lock notice is for the owner: in the account's language, whoever typed the passwords.
    let stranger = app.browser();
    for _ in 0..10 {
        stranger.login(EMAIL, "Wrong#pass1").await;
    }
    let lock = app.deliver_mail().await.pop().unwrap();
    assert!(!lock.subject.contains("ログインを一時的に停止しました"), "{}", lock.subject);
}
both_databases!(english_follows_the_browser_and_the_switch_sticks_and_mail_follows);

async fn no_page_shows_a_missing_message_in_either_language(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    for lang in ["ja", "en"] {
        let browser = app.browser();
        browser.get(&format!("/lang/{lang}")).await;
        let mut pages = Vec::new();
        for path in [
            "/",
            "/opening/consent",
            "/opening/documents/privacy",
            "/login",
            "/login/forgot",
            "/staff/login",
            "/no-such-page",
        ] {
            pages.push((path.to_owned(), browser.get(path).await));
        }
        browser.login(EMAIL, PASSWORD).await;
        pages.push(("/login/otp".into(), browser.get("/login/otp").await));
        let otp = app.deliver_mail().await.pop().unwrap().code();
        browser.submit_otp(&otp, true).await;
        for path in ["/mypage", "/mypage/settings", "/mypage/consent"] {
            pages.push((path.to_owned(), browser.get(path).await));
        }
        for (path, page) in pages {
            assert!(
                !page.contains(mypage::i18n::MISSING_MARKER),
                "{lang} {path} shows a missing message:\n{}",
                page.body
            );
            assert!(page.contains(&format!("<html lang=\"{lang}\">")), "{lang} {path}");
        }
        let home = browser.get("/mypage").await;
        browser.post("/logout", &[("csrf", &home.csrf())]).await;
    }
}
both_databases!(no_page_shows_a_missing_message_in_either_language);
