//! Hostile and broken input gets a clear page, never a panic, a SQL error or lost form data.

use crate::both_databases;
use crate::helpers::TestApp;

async fn ready_to_apply(app: &TestApp) -> (crate::helpers::Browser, String) {
    app.register("60049-58004503", "1990-04-15", None).await;
    app.issue_code("60049-58004503").await;
    let browser = app.browser();
    browser.consent().await;
    let csrf = browser.get("/opening/apply").await.csrf();
    (browser, csrf)
}

async fn very_long_fields_and_nul_bytes_get_field_errors_and_keep_the_rest(app: &TestApp) {
    let (browser, csrf) = ready_to_apply(app).await;
    let long = "あ".repeat(5000);
    let page = browser
        .post(
            "/opening/apply",
            &[
                ("csrf", &csrf),
                ("email", &long),
                ("job_seeker_number", "60049-\u{0}58004503"),
                ("birth_year", "1990"),
                ("birth_month", "4"),
                ("birth_day", "15"),
                ("code", "ABCDE\u{0}FGHJK"),
            ],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_contains("入力内容に問題があります");
    page.assert_contains("求職番号");
    assert!(!page.body.contains('\u{0}'));
    assert_eq!(page.input_value("birth_year").as_deref(), Some("1990"));
    assert_eq!(page.input_value("job_seeker_number").as_deref(), Some("60049-58004503"));
}
both_databases!(very_long_fields_and_nul_bytes_get_field_errors_and_keep_the_rest);

async fn malformed_encodings_and_huge_bodies_get_error_pages(app: &TestApp) {
    let (browser, csrf) = ready_to_apply(app).await;
    let bad_percent = browser
        .post_raw(
            "/opening/apply",
            "application/x-www-form-urlencoded",
            format!("csrf={csrf}&email=%E3%81&code=%ZZ").into_bytes(),
        )
        .await;
    assert!(matches!(bad_percent.status, 400 | 422), "{}", bad_percent.status);
    assert!(bad_percent.contains("<html lang=\"ja\">"));
    assert!(!bad_percent.body.to_lowercase().contains("sqlx"));

    let invalid_utf8 = browser
        .post_raw(
            "/opening/apply",
            "application/x-www-form-urlencoded",
            [b"csrf=".as_slice(), csrf.as_bytes(), b"&email=\xff\xfe"].concat(),
        )
        .await;
    assert!(matches!(invalid_utf8.status, 400 | 422), "{}", invalid_utf8.status);

    let json = browser.post_raw("/opening/apply", "application/json", b"{}".to_vec()).await;
    assert_eq!(json.status, 400);
    json.assert_contains("送信内容を読み取れませんでした");
    // Just over the 64 KiB cap: the "too large" page.
    let over = browser
        .post_raw(
            "/opening/apply",
            "application/x-www-form-urlencoded",
            format!("csrf={csrf}&email={}", "a".repeat(70 * 1024)).into_bytes(),
        )
        .await;
    assert_eq!(over.status, 413);
    over.assert_contains("送信内容が大きすぎます");
    // A 1 MB body is refused as soon as its size is known; the server may close the connection
    // before the client has finished sending, which the client then sees as a reset.
    let body = format!("csrf={csrf}&email={}", "a".repeat(1024 * 1024)).into_bytes();
    if let Some(huge) = browser.try_post_raw("/opening/apply", "application/x-www-form-urlencoded", body).await {
        assert_eq!(huge.status, 413);
        huge.assert_contains("送信内容が大きすぎます");
    }
    assert_eq!(crate::helpers::Browser::new(&app.base).get("/healthz").await.status, 200);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM auth_keys").await, 0);
}
both_databases!(malformed_encodings_and_huge_bodies_get_error_pages);

async fn a_post_without_the_csrf_token_or_from_another_site_is_refused(app: &TestApp) {
    let (browser, csrf) = ready_to_apply(app).await;
    let form = [("email", "taro@example.jp"), ("job_seeker_number", "60049-58004503"), ("code", "ZZZZZ-ZZZZZ")];
    let without = browser.post("/opening/apply", &form).await;
    assert_eq!(without.status, 403);
    let mut with_token = form.to_vec();
    with_token.push(("csrf", &csrf));
    let cross = browser.post_with_headers("/opening/apply", &[("origin", "https://evil.example")], &with_token).await;
    assert_eq!(cross.status, 403);
    let cross_site =
        browser.post_with_headers("/opening/apply", &[("sec-fetch-site", "cross-site")], &with_token).await;
    assert_eq!(cross_site.status, 403);
    let same = browser.post_with_headers("/opening/apply", &[("origin", &app.base)], &with_token).await;
    assert_eq!(same.status, 422);
    assert_eq!(app.scalar("SELECT failed_attempts FROM account_codes").await, 0, "refused posts count nothing");
    // A post without any session (cookies blocked or expired) says so.
    let stranger = crate::helpers::Browser::new(&app.base);
    let expired = stranger.post("/opening/apply", &with_token).await;
    expired.assert_contains("操作の有効期限が切れました");
}
both_databases!(a_post_without_the_csrf_token_or_from_another_site_is_refused);

async fn a_session_idles_out_after_thirty_minutes(app: &TestApp) {
    let (browser, csrf) = ready_to_apply(app).await;
    app.advance(std::time::Duration::from_secs(30 * 60));
    let page = browser.post("/opening/apply", &[("csrf", &csrf), ("email", "taro@example.jp")]).await;
    page.assert_contains("操作の有効期限が切れました");
    browser.get("/opening/apply").await.assert_redirect("/opening/consent");
}
both_databases!(a_session_idles_out_after_thirty_minutes);
