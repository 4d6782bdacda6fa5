//! 「パスワードをお忘れの方」 and the pre-2026-03-22 path (SPEC §3.8–3.9): a reset ends every
//! session, remembered browser and one-time password, and a request that matched nothing looks,
//! counts and expires exactly like one that did. Bursts, caps and timing: `account_security.rs`.

use std::time::Duration;

use crate::both_databases;
use crate::helpers::browser::Page;
use crate::helpers::{Browser, TestApp};

const NUMBER: &str = "60049-58004503";
const BIRTH: (&str, &str, &str) = ("1990", "4", "15");
const EMAIL: &str = "taro@example.jp";
const PASSWORD: &str = "Kushiro#2026x";
const NEW_PASSWORD: &str = "Akan!Lake2027";

/// Posts 「パスワードをお忘れの方」 (after loading it for its CSRF token).
pub(crate) async fn ask_for_a_key(browser: &Browser, email: &str, number: &str, birth: (&str, &str, &str)) -> Page {
    let form = browser.get("/login/forgot").await;
    form.assert_contains("パスワードをお忘れの方");
    browser
        .post(
            "/login/forgot",
            &[
                ("csrf", &form.csrf()),
                ("email", email),
                ("job_seeker_number", number),
                ("birth_year", birth.0),
                ("birth_month", birth.1),
                ("birth_day", birth.2),
            ],
        )
        .await
}

/// Posts the new password (twice) and the key on the password step.
pub(crate) async fn reset(browser: &Browser, password: &str, key: &str) -> Page {
    let form = browser.get("/login/forgot/password").await;
    assert_eq!(form.status, 200, "{}", form.body);
    browser
        .post(
            "/login/forgot/password",
            &[("csrf", &form.csrf()), ("password", password), ("password_confirmation", password), ("auth_key", key)],
        )
        .await
}

async fn a_reset_sets_the_password_and_revokes_every_session_and_remembered_browser(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let phone = app.browser();
    phone.login(EMAIL, PASSWORD).await.assert_redirect("/login/otp");
    let otp = app.deliver_mail().await[0].code();
    phone.submit_otp(&otp, true).await.assert_redirect("/mypage");
    assert_eq!(phone.get("/mypage").await.status, 200);

    let pc = app.browser();
    ask_for_a_key(&pc, "ＴＡＲＯ＠example.jp", "60049-58004503", BIRTH).await.assert_redirect("/login/forgot/password");
    let mails = app.deliver_mail().await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].subject.contains("認証キー"));
    let form = pc.get("/login/forgot/password").await;
    form.assert_contains("taro@example.jp あてに【認証キー】を送信しました。");
    form.assert_contains("autocomplete=\"new-password\"");
    reset(&pc, NEW_PASSWORD, &mails[0].code()).await.assert_redirect("/login/forgot/done");
    pc.get("/login/forgot/done").await.assert_contains("パスワードを再設定しました");
    let notice = app.deliver_mail().await;
    assert!(notice[0].subject.contains("パスワードを再設定しました"), "{}", notice[0].subject);

    phone.get("/mypage").await.assert_redirect("/login?notice=signed_out");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM remembered_browsers WHERE revoked_at IS NULL").await, 0);
    // The phone was remembered; after the reset it needs the OTP again.
    phone.login(EMAIL, NEW_PASSWORD).await.assert_redirect("/login/otp");
    app.deliver_mail().await;
    app.browser().login(EMAIL, PASSWORD).await.assert_contains("正しくありません");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'password.reset'").await, 1);
}
both_databases!(a_reset_sets_the_password_and_revokes_every_session_and_remembered_browser);

async fn recovery_answers_the_same_whether_or_not_the_account_exists(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let known = app.browser();
    let unknown = app.browser();
    let a = ask_for_a_key(&known, EMAIL, NUMBER, BIRTH).await;
    let b = ask_for_a_key(&unknown, "nobody@example.jp", NUMBER, BIRTH).await;
    assert_eq!((a.status, a.location.clone()), (b.status, b.location.clone()));
    let cookies = |p: &Page| p.headers.get_all("set-cookie").iter().count();
    assert_eq!(cookies(&a), cookies(&b), "the same cookies (none: the session exists already)");
    let strip = |p: &Page, email: &str| strip(p, email);
    let (pa, pb) = (known.get("/login/forgot/password").await, unknown.get("/login/forgot/password").await);
    assert_eq!(strip(&pa, EMAIL), strip(&pb, "nobody@example.jp"));
    let mails = app.deliver_mail().await;
    assert_eq!(keys_and_notices(&mails), (vec![EMAIL], vec!["nobody@example.jp"]), "a key only for the real account");
    let wrong = reset(&unknown, NEW_PASSWORD, "123456").await;
    wrong.assert_contains("あと4回間違えると");
    for _ in 0..4 {
        reset(&unknown, NEW_PASSWORD, "123456").await;
    }
    reset(&unknown, NEW_PASSWORD, "123456").await.assert_contains("この認証キーは無効になりました");
    // A wrong birth date gets the same too.
    let other = app.browser();
    ask_for_a_key(&other, EMAIL, NUMBER, ("1990", "4", "16")).await.assert_redirect("/login/forgot/password");
    assert_eq!(keys_and_notices(&app.deliver_mail().await), (vec![], vec![EMAIL]), "no key: a notice");
}
both_databases!(recovery_answers_the_same_whether_or_not_the_account_exists);

async fn an_address_registered_before_the_cutoff_opens_the_account_through_recovery(app: &TestApp) {
    let csv = "job_seeker_number,name,name_kana,birth_date,office_number,email,email_registered_on\n\
               60049-58004503,釧路 太郎,クシロ タロウ,1990-04-15,01010,taro@example.jp,2026-03-22\n\
               27520-1391873,根室 花子,ネムロ ハナコ,1985-01-02,01010,hanako@example.jp,2026-03-23\n";
    let office = mypage::flows::registry::OfficeNumber::parse("01010").unwrap();
    mypage::flows::registry::add_office(&app.state, &office, "ハローワーク釧路", None, "test").await.unwrap();
    mypage::import::import(&app.state, csv.as_bytes(), "test", None).await.unwrap();

    let browser = app.browser();
    ask_for_a_key(&browser, EMAIL, NUMBER, BIRTH).await.assert_redirect("/login/forgot/password");
    let key = app.deliver_mail().await.pop().expect("key mail").code();
    // No consent recorded yet: the consent step comes first, then back to the password step.
    browser.get("/login/forgot/password").await.assert_redirect("/opening/consent");
    browser.consent_to("/login/forgot/password").await;
    reset(&browser, PASSWORD, &key).await.assert_redirect("/login/forgot/done");
    browser.get("/login/forgot/done").await.assert_contains("求職者マイページが開設されました");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM accounts WHERE email = 'taro@example.jp' AND privacy_version = 1").await,
        1
    );
    assert!(app.deliver_mail().await[0].subject.contains("開設しました"));
    browser.login(EMAIL, PASSWORD).await.assert_redirect("/login/otp");
    app.deliver_mail().await;

    // Registered the day after the cutoff: no key, the same screen.
    let late = app.browser();
    ask_for_a_key(&late, "hanako@example.jp", "27520-1391873", ("1985", "1", "2"))
        .await
        .assert_redirect("/login/forgot/password");
    assert_eq!(keys_and_notices(&app.deliver_mail().await), (vec![], vec!["hanako@example.jp"]));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM accounts").await, 1);
}
both_databases!(an_address_registered_before_the_cutoff_opens_the_account_through_recovery);

/// A page's body with its CSRF token and the echoed address replaced, for comparisons.
pub(crate) fn strip(page: &Page, email: &str) -> String {
    page.body.replace(email, "EMAIL").replace(&page.csrf(), "CSRF")
}

async fn the_password_rules_use_what_was_typed_whether_or_not_it_matched(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let known = app.browser();
    let unknown = app.browser();
    ask_for_a_key(&known, EMAIL, NUMBER, BIRTH).await.assert_redirect("/login/forgot/password");
    // Nothing matches this number, birth date and address; the rules still use them.
    ask_for_a_key(&unknown, "nobody@example.jp", "27520-1391873", ("1985", "1", "2"))
        .await
        .assert_redirect("/login/forgot/password");
    for (rule, mine, theirs) in [
        ("求職番号が含まれています", "Kushiro#58004503", "Kushiro#1391873x"),
        ("生年月日が含まれています", "Kushiro#19900415", "Kushiro#19850102"),
    ] {
        let a = reset(&known, mine, "123456").await;
        let b = reset(&unknown, theirs, "123456").await;
        a.assert_contains(rule);
        assert_eq!((a.status, b.status), (422, 422));
        assert_eq!(strip(&a, EMAIL), strip(&b, "nobody@example.jp"), "the rule fires the same on both paths");
    }
    // Refused by the policy, the key was never compared on either path.
    assert_eq!(app.scalar("SELECT CAST(SUM(failed_attempts) AS BIGINT) FROM recovery_requests").await, 0);
}
both_databases!(the_password_rules_use_what_was_typed_whether_or_not_it_matched);

async fn a_request_that_matched_nothing_expires_with_the_real_key(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let known = app.browser();
    let unknown = app.browser();
    ask_for_a_key(&known, EMAIL, NUMBER, BIRTH).await;
    ask_for_a_key(&unknown, "nobody@example.jp", NUMBER, BIRTH).await;
    let mails = app.deliver_mail().await;
    let key = mails.iter().find(|m| m.to == EMAIL).expect("the real key").code();
    let wrong = if key == "000000" { "111111" } else { "000000" };
    let (pa, pb) = (known.get("/login/forgot/password").await, unknown.get("/login/forgot/password").await);
    pa.assert_contains("認証キーの有効期限: 2026年11月25日(水) 10:30まで(30分間)");
    assert_eq!(strip(&pa, EMAIL), strip(&pb, "nobody@example.jp"), "the same expiry on both");
    app.advance(Duration::from_secs(30 * 60 - 1));
    reset(&known, NEW_PASSWORD, wrong).await.assert_contains("あと4回間違えると");
    reset(&unknown, NEW_PASSWORD, wrong).await.assert_contains("あと4回間違えると");
    app.advance(Duration::from_secs(1));
    let (a, b) = (reset(&known, NEW_PASSWORD, &key).await, reset(&unknown, NEW_PASSWORD, &key).await);
    a.assert_contains("認証キーの有効期限(30分)が切れました");
    assert_eq!(strip(&a, EMAIL), strip(&b, "nobody@example.jp"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'password.reset'").await, 0);
}
both_databases!(a_request_that_matched_nothing_expires_with_the_real_key);

async fn a_new_request_replaces_the_previous_one_on_both_paths(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let mut pages = Vec::new();
    for email in [EMAIL, "nobody@example.jp"] {
        let (first, second) = (app.browser(), app.browser());
        ask_for_a_key(&first, email, NUMBER, BIRTH).await;
        ask_for_a_key(&second, email, NUMBER, BIRTH).await;
        let replaced = reset(&first, NEW_PASSWORD, "000000").await;
        replaced.assert_contains("この認証キーは無効になりました");
        pages.push(strip(&replaced, email));
    }
    assert_eq!(pages[0], pages[1].replace("nobody@example.jp", "EMAIL"));
    let mails = app.deliver_mail().await;
    let (keys, notices) = keys_and_notices(&mails);
    assert_eq!(
        (keys, notices),
        (vec![EMAIL; 2], vec!["nobody@example.jp"; 2]),
        "two keys for the real account, none for nobody"
    );
}
both_databases!(a_new_request_replaces_the_previous_one_on_both_paths);

async fn a_reset_clears_the_one_time_password_failures_and_voids_pending_ones(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    // Nine wrong one-time passwords over three logins: one more would lock password login.
    let browser = app.browser();
    for _ in 0..3 {
        browser.login(EMAIL, PASSWORD).await.assert_redirect("/login/otp");
        app.deliver_mail().await;
        for _ in 0..3 {
            browser.submit_otp("000000", false).await;
        }
        app.advance(Duration::from_secs(61));
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM attempt_log WHERE scope = 'otp.failures'").await, 9);
    let pending = app.browser();
    pending.login(EMAIL, PASSWORD).await.assert_redirect("/login/otp");
    let otp = app.deliver_mail().await.pop().unwrap().code();

    let pc = app.browser();
    ask_for_a_key(&pc, EMAIL, NUMBER, BIRTH).await;
    let key = app.deliver_mail().await.pop().unwrap().code();
    reset(&pc, NEW_PASSWORD, &key).await.assert_redirect("/login/forgot/done");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM attempt_log WHERE scope = 'otp.failures'").await, 0);
    let live = "SELECT COUNT(*) FROM login_challenges WHERE used_at IS NULL AND voided_at IS NULL";
    assert_eq!(app.scalar(live).await, 0, "the pending one-time password is void");
    pending.submit_otp(&otp, false).await.assert_redirect("/login?notice=otp_void");
    app.deliver_mail().await;

    // The budget starts over: a wrong one-time password now leaves four tries, it does not lock.
    let after = app.browser();
    after.login(EMAIL, NEW_PASSWORD).await.assert_redirect("/login/otp");
    app.deliver_mail().await;
    after.submit_otp("000000", false).await.assert_contains("あと4回");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM accounts WHERE locked_until IS NOT NULL").await, 0);
}
both_databases!(a_reset_clears_the_one_time_password_failures_and_voids_pending_ones);

/// The recipients of recovery keys and of "nothing matched" notices among `mails`: a request that
/// mails no key tells the typed address so, in a mail with no code.
pub(crate) fn keys_and_notices(mails: &[crate::helpers::Received]) -> (Vec<&str>, Vec<&str>) {
    let mut keys = Vec::new();
    let mut notices = Vec::new();
    for mail in mails {
        if mail.subject.contains("認証キー") {
            keys.push(mail.to.as_str());
        } else {
            assert!(mail.subject.contains("パスワード再設定のお手続きについて"), "{}", mail.subject);
            assert!(!mail.body.lines().any(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit())), "no code");
            notices.push(mail.to.as_str());
        }
    }
    (keys, notices)
}
