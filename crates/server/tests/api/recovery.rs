//! 「パスワードをお忘れの方」 and the pre-2026-03-22 path (SPEC §3.8–3.9).

use crate::both_databases;
use crate::helpers::{Browser, TestApp};

const NUMBER: &str = "60049-58004503";
const BIRTH: (&str, &str, &str) = ("1990", "4", "15");
const EMAIL: &str = "taro@example.jp";
const PASSWORD: &str = "Kushiro#2026x";
const NEW_PASSWORD: &str = "Akan!Lake2027";

async fn ask_for_a_key(
    browser: &Browser,
    email: &str,
    number: &str,
    birth: (&str, &str, &str),
) -> crate::helpers::browser::Page {
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

async fn reset(browser: &Browser, password: &str, key: &str) -> crate::helpers::browser::Page {
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
    let strip =
        |p: &crate::helpers::browser::Page, email: &str| p.body.replace(email, "EMAIL").replace(&p.csrf(), "CSRF");
    let (pa, pb) = (known.get("/login/forgot/password").await, unknown.get("/login/forgot/password").await);
    assert_eq!(strip(&pa, EMAIL), strip(&pb, "nobody@example.jp"));
    assert_eq!(app.deliver_mail().await.len(), 1, "a key only for the real account");
    let wrong = reset(&unknown, NEW_PASSWORD, "123456").await;
    wrong.assert_contains("あと4回間違えると");
    for _ in 0..4 {
        reset(&unknown, NEW_PASSWORD, "123456").await;
    }
    reset(&unknown, NEW_PASSWORD, "123456").await.assert_contains("この認証キーは無効になりました");
    // A wrong birth date gets the same too.
    let other = app.browser();
    ask_for_a_key(&other, EMAIL, NUMBER, ("1990", "4", "16")).await.assert_redirect("/login/forgot/password");
    assert!(app.deliver_mail().await.is_empty());
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
    assert!(app.deliver_mail().await.is_empty());
    assert_eq!(app.scalar("SELECT COUNT(*) FROM accounts").await, 1);
}
both_databases!(an_address_registered_before_the_cutoff_opens_the_account_through_recovery);
