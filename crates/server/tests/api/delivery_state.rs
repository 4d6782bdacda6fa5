//! Mail that arrives: addresses with carrier-era dots are delivered quoted, the waiting screens
//! state where their own mail is, and the counter sees and resends it (issue 11).

use crate::both_databases;
use crate::helpers::TestApp;

const PASSWORD: &str = "Kushiro#2026x";

async fn addresses_that_break_the_dot_rules_open_an_account_and_are_mailed_quoted(app: &TestApp) {
    for (number, email, quoted) in [
        ("60049-58004503", "Taro.@docomo.ne.jp", "RCPT TO:<\"taro.\"@docomo.ne.jp>"),
        ("60049-58004504", "ta..ro@ezweb.ne.jp", "RCPT TO:<\"ta..ro\"@ezweb.ne.jp>"),
    ] {
        app.open_account(number, ("1990", "4", "15"), email, PASSWORD).await;
        assert!(app.smtp.rcpt_commands().iter().any(|c| c == quoted), "{:?}", app.smtp.rcpt_commands());
        // Shown as typed (lower-cased), and the login ID compares case-insensitively.
        let browser = app.browser();
        browser.login(&email.to_uppercase(), PASSWORD).await.assert_redirect("/login/otp");
        let otp = app.deliver_mail().await.pop().expect("otp mail");
        assert_eq!(otp.to, quoted.trim_start_matches("RCPT TO:<").trim_end_matches('>'));
        browser.submit_otp(&otp.code(), false).await.assert_redirect("/mypage");
        browser.get("/mypage/settings").await.assert_contains(&email.to_lowercase());
    }
    // Other malformed addresses get today's message.
    let number = app.register("60049-58004505", "1990-04-15", None).await;
    let code = app.issue_code(&number).await;
    let browser = app.browser();
    browser.consent().await;
    let page = browser.apply("taro.(x)@docomo.ne.jp", &number, ("1990", "4", "15"), &code).await;
    assert_eq!(page.status, 422);
    page.assert_contains("メールアドレスの形式が正しくありません");
}
both_databases!(addresses_that_break_the_dot_rules_open_an_account_and_are_mailed_quoted);
