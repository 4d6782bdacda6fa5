//! The counter's console (SPEC §4): staff login with TOTP, office scope on every route, codes and
//! the slip, the job seeker's page and its fixes, CSV import, the audit log.

use std::time::Duration;

use mypage::flows::staff::{self, Role};
use mypage::totp::TotpSecret;

use crate::both_databases;
use crate::helpers::browser::Page;
use crate::helpers::{Browser, TestApp};

const NUMBER: &str = "60049-58004503";

/// The TOTP secret of the otpauth URL a page shows, read as an authenticator app would.
pub(crate) fn secret_shown(page: &Page) -> TotpSecret {
    let url = page.body.split("otpauth://").nth(1).unwrap_or_else(|| panic!("no otpauth URL in:\n{}", page.body));
    let secret = url.split("secret=").nth(1).unwrap().split('&').next().unwrap();
    TotpSecret::from_base32(secret).unwrap()
}

/// The code an authenticator app shows now.
pub(crate) fn code_now(app: &TestApp, secret: &TotpSecret) -> String {
    secret.code_at(mypage_domain::clock::Clock::now(&app.clock).as_second() / 30)
}

pub(crate) async fn add_office(app: &TestApp, number: &str, name: &str) {
    let office = mypage::flows::registry::OfficeNumber::parse(number).unwrap();
    mypage::flows::registry::add_office(&app.state, &office, name, Some("館内 Free WiFi: kushiro_anteisyo"), "test")
        .await
        .unwrap();
}

/// Creates a staff member and walks their first login (enrolment, password change).
pub(crate) async fn staff_browser(app: &TestApp, login_id: &str, role: Role, office: &str) -> (Browser, TotpSecret) {
    let credentials = staff::create(&app.state, login_id, login_id, role, office, "test").await.unwrap().unwrap();
    let browser = app.browser();
    let form = browser.get("/staff/login").await;
    let first = browser
        .post(
            "/staff/login",
            &[
                ("csrf", &form.csrf()),
                ("login_id", login_id),
                ("password", credentials.password.expose()),
                ("totp", ""),
            ],
        )
        .await;
    first.assert_redirect("/staff/enroll");
    let enroll = browser.get("/staff/enroll").await;
    enroll.assert_contains("<svg");
    enroll.assert_contains("otpauth://totp/");
    let secret = secret_shown(&enroll);
    let wrong = browser.post("/staff/enroll", &[("csrf", &enroll.csrf()), ("totp", "000000")]).await;
    assert_eq!(wrong.status, 422);
    let enrolled = "SELECT COUNT(*) FROM audit_events WHERE kind = 'staff.enrolled' AND client_addr IS NOT NULL";
    let before = app.scalar(enrolled).await;
    browser
        .post("/staff/enroll", &[("csrf", &enroll.csrf()), ("totp", &code_now(app, &secret))])
        .await
        .assert_redirect("/staff/password");
    assert_eq!(app.scalar(enrolled).await, before + 1, "the new authenticator is audited, once");
    browser.get("/staff").await.assert_redirect("/staff/password");
    let form = browser.get("/staff/password").await;
    browser
        .post(
            "/staff/password",
            &[
                ("csrf", &form.csrf()),
                ("current_password", credentials.password.expose()),
                ("password", "Counter#2026pw"),
                ("password_confirmation", "Counter#2026pw"),
            ],
        )
        .await
        .assert_redirect("/staff");
    assert_eq!(browser.get("/staff").await.status, 200);
    (browser, secret)
}

pub(crate) async fn staff_login(browser: &Browser, login_id: &str, code: &str) -> Page {
    let form = browser.get("/staff/login").await;
    browser
        .post(
            "/staff/login",
            &[("csrf", &form.csrf()), ("login_id", login_id), ("password", "Counter#2026pw"), ("totp", code)],
        )
        .await
}

async fn staff_login_needs_the_totp_and_refuses_a_replayed_code(app: &TestApp) {
    add_office(app, "01010", "ハローワーク釧路").await;
    let (browser, secret) = staff_browser(app, "admin", Role::Admin, "01010").await;
    let home = browser.get("/staff").await;
    browser.post("/staff/logout", &[("csrf", &home.csrf())]).await.assert_redirect("/staff/login");
    browser.get("/staff").await.assert_redirect("/staff/login");

    // The enrolment code's step is used; the next step's code logs in once.
    app.advance(Duration::from_secs(30));
    let code = code_now(app, &secret);
    staff_login(&browser, "admin", "000000").await.assert_contains("認証コードが正しくありません");
    staff_login(&browser, "admin", &code).await.assert_redirect("/staff");
    let replay = app.browser();
    staff_login(&replay, "admin", &code).await.assert_contains("認証コードが正しくありません");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'staff.login'").await, 1);
    // A job seeker's session cookie is no staff session.
    let stranger = app.browser();
    stranger.get("/login").await;
    stranger.get("/staff").await.assert_redirect("/staff/login");
}
both_databases!(staff_login_needs_the_totp_and_refuses_a_replayed_code);

async fn a_clerk_of_another_office_can_neither_see_nor_change_a_job_seeker(app: &TestApp) {
    add_office(app, "01010", "ハローワーク釧路").await;
    add_office(app, "01020", "ハローワーク根室").await;
    let seeker_number = app.register(NUMBER, "1990-04-15", None).await;
    let id = app.scalar("SELECT id FROM job_seekers").await;
    let (other, _) = staff_browser(app, "nemuro", Role::Counter, "01020").await;
    let csrf = other.get("/staff").await.csrf();
    let before_codes = app.scalar("SELECT COUNT(*) FROM account_codes").await;
    let before_events = app.scalar("SELECT COUNT(*) FROM audit_events WHERE job_seeker_id IS NOT NULL").await;

    assert_eq!(other.get(&format!("/staff/seekers/{id}")).await.status, 404);
    assert_eq!(other.post(&format!("/staff/seekers/{id}/code"), &[("csrf", &csrf)]).await.status, 404);
    for action in ["unlock", "revoke-browsers", "disable", "enable"] {
        assert_eq!(other.post(&format!("/staff/seekers/{id}/account/{action}"), &[("csrf", &csrf)]).await.status, 404);
    }
    let email = other.post(&format!("/staff/seekers/{id}/email"), &[("csrf", &csrf), ("email", "x@example.jp")]).await;
    assert_eq!(email.status, 404);
    assert_eq!(other.get(&format!("/staff/seekers/{id}/edit")).await.status, 404);
    let edit = other
        .post(
            &format!("/staff/seekers/{id}/edit"),
            &[
                ("csrf", &csrf),
                ("number", NUMBER),
                ("name", "改ざん"),
                ("name_kana", "カイザン"),
                ("birth_date", "1990-04-15"),
            ],
        )
        .await;
    assert_eq!(edit.status, 404);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM job_seekers WHERE name = '改ざん'").await, 0);
    let found = other.get(&format!("/staff?q={seeker_number}")).await;
    found.assert_contains("該当する求職者はいません");
    for admin_page in ["/staff/audit", "/staff/offices", "/staff/members"] {
        assert_eq!(other.get(admin_page).await.status, 403, "{admin_page}");
    }
    assert_eq!(
        other
            .post(
                "/staff/members",
                &[("csrf", &csrf), ("login_id", "evil"), ("name", "x"), ("role", "admin"), ("office", "01020")]
            )
            .await
            .status,
        403
    );
    let office_a = app.scalar("SELECT id FROM offices WHERE number = '01010'").await.to_string();
    let register = other
        .post(
            "/staff/seekers/new",
            &[
                ("csrf", &csrf),
                ("number", "27520-1"),
                ("name", "x"),
                ("name_kana", "エックス"),
                ("birth_date", "1980-01-01"),
                ("office_id", &office_a),
            ],
        )
        .await;
    assert_eq!(register.status, 422);

    assert_eq!(app.scalar("SELECT COUNT(*) FROM account_codes").await, before_codes);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_events WHERE job_seeker_id IS NOT NULL").await, before_events);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM job_seekers").await, 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM staff WHERE login_id = 'evil'").await, 0);

    // The clerk of the job seeker's own office can.
    let (own, _) = staff_browser(app, "kushiro", Role::Counter, "01010").await;
    own.get(&format!("/staff/seekers/{id}")).await.assert_contains("釧路 太郎");
    own.get(&format!("/staff?q={seeker_number}")).await.assert_contains(&format!("/staff/seekers/{id}"));
    own.get("/staff?q=クシロ").await.assert_contains(&format!("/staff/seekers/{id}"));
}
both_databases!(a_clerk_of_another_office_can_neither_see_nor_change_a_job_seeker);

async fn the_slip_shows_the_code_and_its_exact_expiry_and_a_reissue_voids_it(app: &TestApp) {
    add_office(app, "01010", "ハローワーク釧路").await;
    app.register(NUMBER, "1990-04-15", None).await;
    let id = app.scalar("SELECT id FROM job_seekers").await;
    let (clerk, _) = staff_browser(app, "kushiro", Role::Counter, "01010").await;
    let csrf = clerk.get("/staff").await.csrf();
    let slip = clerk.post(&format!("/staff/seekers/{id}/code"), &[("csrf", &csrf)]).await;
    assert_eq!(slip.status, 200);
    assert_eq!(slip.headers.get("cache-control").unwrap(), "no-store");
    slip.assert_contains("2026年11月30日(月) 10:00まで有効");
    slip.assert_contains("館内 Free WiFi: kushiro_anteisyo");
    slip.assert_contains("釧路 太郎</span> 様");
    slip.assert_contains("10回間違えて入力すると無効");
    slip.assert_contains("<svg");
    let code = slip.body.split("<p class=\"code\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert_eq!(code.len(), 11, "{code}");

    let second = clerk.post(&format!("/staff/seekers/{id}/code"), &[("csrf", &csrf)]).await;
    let new_code = second.body.split("<p class=\"code\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert_ne!(code, new_code);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM account_codes WHERE voided_at IS NOT NULL").await, 1);

    // The job seeker opens the account with the slip; the counter then sees it and the mail log.
    let browser = app.browser();
    browser.consent().await;
    browser.apply("taro@example.jp", NUMBER, ("1990", "4", "15"), &new_code).await.assert_redirect("/opening/password");
    let key = app.deliver_mail().await[0].code();
    browser.register_password("Kushiro#2026x", "Kushiro#2026x", &key).await.assert_redirect("/opening/done");
    let page = clerk.get(&format!("/staff/seekers/{id}")).await;
    page.assert_contains("使用済み(開設済み)");
    page.assert_contains("開設済み");
    page.assert_contains("taro@example.jp");
    page.assert_contains("認証キー → taro@example.jp");
    page.assert_contains("送信済み");
    page.assert_contains("開設のお知らせ");
    assert!(!page.contains("アカウント作成コードを発行して用紙を印刷"), "no code for an opened account");
}
both_databases!(the_slip_shows_the_code_and_its_exact_expiry_and_a_reissue_voids_it);

async fn the_counter_unlocks_disables_and_changes_the_email_of_an_account(app: &TestApp) {
    add_office(app, "01010", "ハローワーク釧路").await;
    let seeker = app.open_account(NUMBER, ("1990", "4", "15"), "taro@example.jp", "Kushiro#2026x").await;
    drop(seeker);
    let id = app.scalar("SELECT id FROM job_seekers").await;
    let (clerk, _) = staff_browser(app, "kushiro", Role::Counter, "01010").await;
    let csrf = clerk.get("/staff").await.csrf();

    let browser = app.browser();
    for _ in 0..10 {
        browser.login("taro@example.jp", "Wrong#pass1").await;
    }
    app.deliver_mail().await;
    clerk.get(&format!("/staff/seekers/{id}")).await.assert_contains("ログイン停止の解除");
    clerk
        .post(&format!("/staff/seekers/{id}/account/unlock"), &[("csrf", &csrf)])
        .await
        .assert_redirect(&format!("/staff/seekers/{id}?done=unlock"));
    browser.login("taro@example.jp", "Kushiro#2026x").await.assert_redirect("/login/otp");
    let otp = app.deliver_mail().await[0].code();
    browser.submit_otp(&otp, true).await.assert_redirect("/mypage");

    clerk.post(&format!("/staff/seekers/{id}/account/disable"), &[("csrf", &csrf)]).await;
    browser.get("/mypage").await.assert_redirect("/login?notice=signed_out");
    browser.login("taro@example.jp", "Kushiro#2026x").await.assert_contains("正しくありません");
    clerk.post(&format!("/staff/seekers/{id}/account/enable"), &[("csrf", &csrf)]).await;

    let changed =
        clerk.post(&format!("/staff/seekers/{id}/email"), &[("csrf", &csrf), ("email", "taro.new@example.jp")]).await;
    changed.assert_redirect(&format!("/staff/seekers/{id}?done=email"));
    browser.login("taro.new@example.jp", "Kushiro#2026x").await.assert_redirect("/login/otp");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM remembered_browsers WHERE revoked_at IS NULL").await, 0);
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM audit_events WHERE actor = 'staff:kushiro' ORDER BY id")
            .fetch_all(app.state.store.pool())
            .await
            .unwrap();
    for kind in
        ["account.unlocked", "account.disabled", "account.enabled", "job_seeker.email_changed", "job_seeker.viewed"]
    {
        assert!(kinds.iter().any(|k| k == kind), "{kind} missing from {kinds:?}");
    }
}
both_databases!(the_counter_unlocks_disables_and_changes_the_email_of_an_account);

const CSV: &str = "job_seeker_number,name,name_kana,birth_date,office_number,email,email_registered_on\n\
60049-58004503,釧路 太郎,クシロ タロウ,1990-04-15,01010,taro@example.jp,2026-03-01\n\
01020-77,根室 花子,ネムロ ハナコ,1985-01-02,01020,,\n\
1234-567890-1,誤り,ゴ,1985-01-02,01010,,\n";

async fn console_import_reports_each_row_and_is_idempotent_in_both_encodings(app: &TestApp) {
    add_office(app, "01010", "ハローワーク釧路").await;
    add_office(app, "01020", "ハローワーク根室").await;
    let (clerk, _) = staff_browser(app, "kushiro", Role::Counter, "01010").await;
    let csrf = clerk.get("/staff/import").await.csrf();
    let upload = |bytes: Vec<u8>| {
        let boundary = "XBOUNDARYX";
        let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"seekers.csv\"\r\nContent-Type: text/csv\r\n\r\n").into_bytes();
        body.extend(bytes);
        body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
        (format!("multipart/form-data; boundary={boundary}"), body)
    };
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(CSV);
    let (ct, body) = upload(sjis.into_owned());
    let first = clerk.post_raw("/staff/import", &ct, body).await;
    first.assert_contains("追加 1件、更新 0件、変更なし 0件、取込不可 2件");
    first.assert_contains("他の安定所の求職者は取り込めません");
    first.assert_contains("求職番号の形式が正しくありません");
    let (ct, body) = upload(CSV.as_bytes().to_vec());
    clerk.post_raw("/staff/import", &ct, body).await.assert_contains("追加 0件、更新 0件、変更なし 1件、取込不可 2件");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM job_seekers").await, 1);
    // A whole office's file is far larger than any form (the form limit is 64 KiB).
    let mut big = String::from("job_seeker_number,name,name_kana,birth_date,office_number,email,email_registered_on\n");
    for i in 0..3000 {
        big.push_str(&format!("01010-{i},釧路 {i},クシロ,1980-01-01,01010,,\n"));
    }
    assert!(big.len() > 100 * 1024);
    let (ct, body) = upload(big.into_bytes());
    clerk.post_raw("/staff/import", &ct, body).await.assert_contains("追加 3000件");
    let (ct, body) = upload(b"not,a,header\n".to_vec());
    clerk.post_raw("/staff/import", &ct, body).await.assert_contains("ファイルを読み取れませんでした");
}
both_databases!(console_import_reports_each_row_and_is_idempotent_in_both_encodings);

async fn admins_search_the_audit_log_and_manage_staff(app: &TestApp) {
    add_office(app, "01010", "ハローワーク釧路").await;
    app.register(NUMBER, "1990-04-15", None).await;
    let id = app.scalar("SELECT id FROM job_seekers").await;
    let (admin, _) = staff_browser(app, "admin", Role::Admin, "01010").await;
    let csrf = admin.get("/staff").await.csrf();
    admin.post(&format!("/staff/seekers/{id}/code"), &[("csrf", &csrf)]).await;
    let log = admin.get(&format!("/staff/audit?seeker={NUMBER}&kind=code.issued")).await;
    log.assert_contains("code.issued");
    log.assert_contains("staff:admin");
    assert!(!log.contains("job_seeker.viewed"), "the kind filter applies");
    admin.get("/staff/audit?kind=code.issued&from=2026-11-26").await.assert_contains("<tbody></tbody>");

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
    created.assert_contains("一時パスワード");
    assert!(!created.contains("otpauth://"), "the member's TOTP secret is theirs alone");
    let staff_id = app.scalar("SELECT id FROM staff WHERE login_id = 'kushiro2'").await;
    admin
        .post(&format!("/staff/members/{staff_id}/disable"), &[("csrf", &csrf)])
        .await
        .assert_redirect("/staff/members");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM staff WHERE disabled_at IS NOT NULL").await, 1);
    let offices = admin
        .post("/staff/offices", &[("csrf", &csrf), ("number", "01020"), ("name", "ハローワーク根室"), ("notice", "")])
        .await;
    offices.assert_redirect("/staff/offices");
    admin.get("/staff/offices").await.assert_contains("ハローワーク根室");
}
both_databases!(admins_search_the_audit_log_and_manage_staff);

async fn the_counter_registers_and_corrects_a_job_seeker_keeping_what_was_typed(app: &TestApp) {
    add_office(app, "01010", "ハローワーク釧路").await;
    let (clerk, _) = staff_browser(app, "kushiro", Role::Counter, "01010").await;
    let form = clerk.get("/staff/seekers/new").await;
    let office = app.scalar("SELECT id FROM offices").await.to_string();
    let bad = clerk
        .post(
            "/staff/seekers/new",
            &[
                ("csrf", &form.csrf()),
                ("number", "1234-567890-1"),
                ("name", "釧路 四郎"),
                ("name_kana", "クシロ シロウ"),
                ("birth_date", "1980-02-30"),
                ("office_id", &office),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    bad.assert_contains("value=\"釧路 四郎\"");
    bad.assert_contains("生年月日が正しくありません");
    let created = clerk
        .post(
            "/staff/seekers/new",
            &[
                ("csrf", &form.csrf()),
                ("number", "01010-4004"),
                ("name", "釧路 四郎"),
                ("name_kana", "クシロ シロウ"),
                ("birth_date", "1980-02-28"),
                ("office_id", &office),
                ("valid_until", "2027-03-31"),
            ],
        )
        .await;
    let id = app.scalar("SELECT id FROM job_seekers").await;
    created.assert_redirect(&format!("/staff/seekers/{id}"));
    let edit = clerk.get(&format!("/staff/seekers/{id}/edit")).await;
    edit.assert_contains("value=\"2027-03-31\"");
    clerk
        .post(
            &format!("/staff/seekers/{id}/edit"),
            &[
                ("csrf", &form.csrf()),
                ("number", "99999-9"),
                ("name", "釧路 四郎"),
                ("name_kana", "クシロ シロウ"),
                ("birth_date", "1980-02-28"),
                ("office_id", &office),
                ("valid_until", "2027-09-30"),
            ],
        )
        .await
        .assert_redirect(&format!("/staff/seekers/{id}?done=edit"));
    let page = clerk.get(&format!("/staff/seekers/{id}?done=edit")).await;
    page.assert_contains("〜 2027-09-30");
    page.assert_contains("01010-4004");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'job_seeker.edited'").await, 1);
}
both_databases!(the_counter_registers_and_corrects_a_job_seeker_keeping_what_was_typed);

async fn an_admin_publishes_new_terms_and_account_holders_must_accept_them(app: &TestApp) {
    add_office(app, "01010", "ハローワーク釧路").await;
    app.open_account(NUMBER, ("1990", "4", "15"), "taro@example.jp", "Kushiro#2026x").await;
    let (admin, _) = staff_browser(app, "admin", Role::Admin, "01010").await;
    let page = admin.get("/staff/documents").await;
    page.assert_contains("求職者マイページ利用規約");
    let csrf = page.csrf();
    let empty = admin
        .post("/staff/documents", &[("csrf", &csrf), ("kind", "terms"), ("title", "利用規約 第2版"), ("body", "  ")])
        .await;
    assert_eq!(empty.status, 422);
    empty.assert_contains("value=\"利用規約 第2版\"");
    let published = admin
        .post(
            "/staff/documents",
            &[("csrf", &csrf), ("kind", "terms"), ("title", "利用規約 第2版"), ("body", "第1条\r\n改定しました。")],
        )
        .await;
    published.assert_contains("第2版を公開しました");
    assert_eq!(app.scalar("SELECT MAX(version) FROM policy_documents WHERE kind = 'terms'").await, 2);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'document.published'").await, 1);

    let (clerk, _) = staff_browser(app, "kushiro", Role::Counter, "01010").await;
    assert_eq!(clerk.get("/staff/documents").await.status, 403);
    let clerk_csrf = clerk.get("/staff").await.csrf();
    let refused = clerk
        .post("/staff/documents", &[("csrf", &clerk_csrf), ("kind", "terms"), ("title", "x"), ("body", "y")])
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(app.scalar("SELECT MAX(version) FROM policy_documents WHERE kind = 'terms'").await, 2);

    let browser = app.browser();
    browser.login("taro@example.jp", "Kushiro#2026x").await.assert_redirect("/login/otp");
    let otp = app.deliver_mail().await.pop().unwrap().code();
    browser.submit_otp(&otp, false).await.assert_redirect("/mypage");
    browser.get("/mypage").await.assert_contains("改定内容を確認して同意する");
    browser.get("/mypage/settings").await.assert_redirect("/mypage/consent");
    browser.get("/opening/documents/terms?return=mypage").await.assert_contains("改定しました。");
}
both_databases!(an_admin_publishes_new_terms_and_account_holders_must_accept_them);

/// The audit log pages by (time, id), newest first: following "older" links visits every
/// matching event once, in order, including events that share an instant across a page edge.
async fn the_audit_log_pages_through_every_event_once(app: &TestApp) {
    add_office(app, "01010", "ハローワーク釧路").await;
    let (admin, _) = staff_browser(app, "admin", Role::Admin, "01010").await;
    // 450 events, three to an instant, written in time order; and some of another kind.
    sqlx::raw_sql(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 450) \
         INSERT INTO audit_events (at, actor, kind, job_seeker_id, detail, client_addr) \
         SELECT 1764032400000 + 1000 * ((i - 1) / 3), 'system', 'test.paged', NULL, 'paged-' || CAST(i AS TEXT) || '.', NULL \
         FROM n; \
         INSERT INTO audit_events (at, actor, kind, job_seeker_id, detail, client_addr) \
         VALUES (1764032400000, 'system', 'test.other', NULL, 'other-1.', NULL)",
    )
    .execute(app.state.store.pool())
    .await
    .unwrap();
    let mut seen: Vec<String> = Vec::new();
    let mut path = "/staff/audit?kind=test.paged".to_owned();
    let mut pages = 0;
    loop {
        let page = admin.get(&path).await;
        assert_eq!(page.status, 200);
        assert!(!page.contains("other-1."), "the kind filter holds on every page");
        let on_page: Vec<String> =
            page.body.split("paged-").skip(1).map(|rest| rest.split('.').next().unwrap().to_owned()).collect();
        assert!(on_page.len() <= 200, "a page has at most 200 events");
        seen.extend(on_page);
        pages += 1;
        let Some(link) = page.body.split("href=\"/staff/audit?").nth(1) else { break };
        let query = link.split('"').next().unwrap().replace("&#38;", "&").replace("&amp;", "&");
        assert!(query.contains("kind=test.paged"), "the next page keeps the filter: {query}");
        path = format!("/staff/audit?{query}");
        assert!(pages < 5, "paging ends: {path}");
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (1..=450).rev().map(|i| i.to_string()).collect();
    assert_eq!(seen, expected, "every event once, newest first");
    // A cursor that is not one shows the first page.
    let odd = admin.get("/staff/audit?kind=test.paged&before=nonsense").await;
    assert!(odd.contains("paged-450."));
}
both_databases!(the_audit_log_pages_through_every_event_once);

/// Kana is matched from its start (family name first), in kana order then 求職番号, within the
/// counter's own office.
async fn the_search_matches_kana_from_the_start(app: &TestApp) {
    add_office(app, "01010", "ハローワーク釧路").await;
    add_office(app, "01020", "ハローワーク根室").await;
    let csv = "job_seeker_number,name,name_kana,birth_date,office_number,email,email_registered_on\n\
               01010-3,佐藤 花子,サトウ ハナコ,1990-01-01,01010,,\n\
               01010-2,佐藤 一郎,サトウ イチロウ,1990-01-02,01010,,\n\
               01010-1,佐藤 一郎,サトウ イチロウ,1990-01-03,01010,,\n\
               01010-4,加藤 悟,カトウ サトル,1990-01-04,01010,,\n\
               01020-1,佐藤 次郎,サトウ ジロウ,1990-01-05,01020,,\n";
    mypage::import::import(&app.state, csv.as_bytes(), "test", None).await.unwrap();
    let (counter, _) = staff_browser(app, "kushiro", Role::Counter, "01010").await;
    let found = counter.get("/staff?q=サトウ").await;
    let order: Vec<&str> = found.body.split("\">010").skip(1).map(|rest| rest.split('<').next().unwrap()).collect();
    assert_eq!(order, ["10-1", "10-2", "10-3"], "kana order, then 求職番号; own office only");
    assert!(!found.contains("カトウ"), "a match starts at the start");
    counter.get("/staff?q=サ").await.assert_contains("サトウ ハナコ");
    counter.get("/staff?q=ハナコ").await.assert_contains("該当する求職者はいません");
    let (admin, _) = staff_browser(app, "admin", Role::Admin, "01010").await;
    admin.get("/staff?q=サトウ").await.assert_contains("サトウ ジロウ");
}
both_databases!(the_search_matches_kana_from_the_start);
